"""Cross-field checks for mistakes users made that the schema alone lets through.

`checks` returns every `Issue` it finds; `CHECKS` in config/platform.py runs it with the others:
- a pod asking more than one slice of a time-sliced GPU (the device plugin the platform configures refuses it:
  `failRequestsGreaterThanOne`), and an LLM's weights on a slice (no memory isolation between the pods sharing it);
- memory too small for any server to start;
- a version that cannot be a Kubernetes label value (it labels the pods and names the track);
- an s3:// URI with wildcards (the model's IAM grant is built from the prefix: a wildcard widens it);
- a wildcard gateway hostname with models that have no host of their own (their route would match every host);
- `gateway.loadBalancer: internal` on an existing cluster (the platform sets the scheme only on its EKS NLB);
- system-pool instance types the catalog does not know (nothing could size or price them);
- a route's request timeout longer than its pods' drain time (streams would be cut at every rollout).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..catalog import prices
from ..catalog.instances import GPU_INSTANCE_TYPES
from .base import Issue, memory_bytes

if TYPE_CHECKING:
    from .platform import PlatformConfig

#: Below this no server the platform ships starts (the Python servers alone take ~200 MiB).
MIN_MEMORY = "256Mi"
#: A Kubernetes label value: alphanumeric at both ends, '-', '_' and '.' inside, at most 63 characters.
LABEL_VALUE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(duration: str) -> float:
    """Seconds in a gateway duration ("600s", "10m", "1h30m", "500ms")."""
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h)", duration))


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues: list[Issue] = []
    pools = {p.name: p for p in cfg.node_pools.gpu}
    wildcard_gateway = cfg.gateway.hostname.startswith("*.")
    for i, m in enumerate(cfg.models):
        loc: tuple[str | int, ...] = ("models", i)
        pool_name = m.resources.gpu_pool or (cfg.node_pools.gpu[0].name if len(pools) == 1 else None)
        pool = pools.get(pool_name) if m.resources.gpus and pool_name else None
        if pool is not None and pool.time_slicing is not None:
            if m.resources.gpus > 1:
                issues.append(Issue((*loc, "resources", "gpus"),
                                    f"pool {pool.name!r} is time-sliced: a pod gets one slice of a GPU, and the device "
                                    f"plugin refuses a pod asking more (failRequestsGreaterThanOne); ask for 1, or use "
                                    f"a pool without timeSlicing"))
            if m.preset.llm:
                issues.append(Issue((*loc, "resources", "gpuPool"),
                                    f"an LLM on time-sliced pool {pool.name!r}: the pods sharing a GPU share its memory "
                                    f"without isolation, so the weights and KV cache of one can make the others fail; "
                                    f"use a pool without timeSlicing"))
        if memory_bytes(m.memory) < memory_bytes(MIN_MEMORY):
            issues.append(Issue((*loc, "resources", "memory"),
                                f"below {MIN_MEMORY} no model server starts (the container is killed on start): give "
                                f"it at least {MIN_MEMORY}; the runtime's default is {m.preset.default_memory}"))
        for path, version in (("version", m.version), *((f"{k}.version", c.version) for k, c in m.candidates())):
            if not LABEL_VALUE.match(version):
                issues.append(Issue((*loc, *path.split(".")),
                                    "a version labels the model's pods, so it must start and end with a letter or digit "
                                    "(a Kubernetes label value)"))
        artifacts = [("artifact", m.artifact)] + [(f"{k}.artifact", c.artifact) for k, c in m.candidates() if c.artifact]
        for path, artifact in artifacts:
            if artifact.scheme == "s3" and re.search(r"[*?\[\]]", artifact.uri):
                issues.append(Issue((*loc, *path.split("."), "uri"),
                                    "an s3:// URI names one folder: no wildcards (* ? [ ]); the model's read grant is "
                                    "built from it, and a wildcard would widen it to other models' files"))
        if wildcard_gateway and m.exposure.host is None:
            issues.append(Issue((*loc, "exposure", "host"),
                                f"the gateway hostname is a wildcard ({cfg.gateway.hostname}): a model without a host of "
                                f"its own would be routed on every name under it; set exposure.host (e.g. "
                                f"{m.name}.{cfg.gateway.hostname[2:]})"))
        timeout = m.exposure.request_timeout or m.preset.request_timeout
        if seconds(timeout) > m.preset.drain_seconds:
            issues.append(Issue((*loc, "exposure", "requestTimeout"),
                                f"requests may run {seconds(timeout):g} s but a pod of runtime {m.runtime!r} drains for "
                                f"{m.preset.drain_seconds} s when it stops: every rollout would cut the longer ones; "
                                f"set exposure.requestTimeout to at most {m.preset.drain_seconds}s"))
    if cfg.cluster.mode == "existing" and cfg.gateway.load_balancer == "internal":
        issues.append(Issue(("gateway", "loadBalancer"),
                            "'internal' cannot be honoured on an existing cluster: the platform sets the load balancer "
                            "scheme only on the NLB of the EKS clusters it builds, and your cluster's own load balancer "
                            "integration decides here; remove it (and make the Service internal your cluster's way)"))
    if cfg.cluster.mode == "eks":
        known = [t for t in prices.known_instance_types() if t not in GPU_INSTANCE_TYPES]
        for j, t in enumerate(cfg.node_pools.system.instance_types):
            if t not in known:
                issues.append(Issue(("nodePools", "system", "instanceTypes", j),
                                    f"not in the instance catalog (serving/catalog/prices.py), so the platform cannot "
                                    f"size or price it: use one of {', '.join(known)}, or add it to the catalog"))
    return issues
