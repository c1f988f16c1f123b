"""`python -m serving status --stack S [--model M] [--json]`: each model's phase on the live cluster.

Reads the cluster with the official Kubernetes client (`kubernetes` on PyPI) through the stack's kubeconfig: for an
`existing` cluster its `kubeconfig`/`context`; for EKS the context `aws eks update-kubeconfig --name <cluster>`
writes (its name ends with `cluster/<name>`). The phase itself comes from `phase.py`, a pure function of the
objects. Without a reachable cluster it says so and exits 1 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

from ..config import ModelConfig, PlatformConfig
from .phase import ModelStatus, model_status

EXIT_OK, EXIT_NO_CLUSTER, EXIT_USAGE = 0, 1, 2
MODEL_LABEL = "serving.platform/model"


class ClusterUnavailable(Exception):
    """No kubeconfig, no context, or the API server does not answer."""


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack whose cluster to read: Pulumi.<STACK>.yaml (default: dev)")
    parser.add_argument("--model", help="only this model")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: the stack's, else $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the stack's cluster)")


def _context(cfg: PlatformConfig, kubeconfig: Optional[str], explicit: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    from kubernetes import config as kconfig

    if cfg.cluster.mode == "existing" and cfg.cluster.existing is not None:
        kubeconfig = kubeconfig or cfg.cluster.existing.kubeconfig
        if explicit is None:
            explicit = cfg.cluster.existing.context
    if explicit is not None:
        return kubeconfig, explicit
    try:
        contexts, _ = kconfig.list_kube_config_contexts(config_file=kubeconfig)
    except (kconfig.ConfigException, OSError) as exc:
        raise ClusterUnavailable(f"no usable kubeconfig ({exc})") from None
    name = cfg.cluster.name
    for ctx in contexts or []:
        cluster = (ctx.get("context") or {}).get("cluster", "")
        if cluster == name or cluster.endswith(f"cluster/{name}") or ctx.get("name") == name:
            return kubeconfig, ctx["name"]
    raise ClusterUnavailable(
        f"no kubeconfig context for cluster {name!r} (run `aws eks update-kubeconfig --name {name}` or pass --context)")


def read_model(api: Any, model: ModelConfig, namespace: str, url: Optional[str]) -> ModelStatus:
    """Fetch one model's objects and compute its status."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apps, core, custom = client.AppsV1Api(api), client.CoreV1Api(api), client.CustomObjectsApi(api)
    sel = f"{MODEL_LABEL}={model.name}"
    plain = api.sanitize_for_serialization

    def items(result: Any) -> list[dict[str, Any]]:
        return [plain(i) for i in result.items]

    def custom_list(group: str, version: str, plural: str) -> list[dict[str, Any]]:
        try:
            found: Any = custom.list_namespaced_custom_object(group, version, namespace, plural, label_selector=sel)
            return list(found["items"])
        except ApiException as exc:
            if exc.status == 404:  # CRD not installed
                return []
            raise

    route: Any = None
    try:
        route = custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace, "httproutes", model.name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    return model_status(
        model.name, namespace,
        deployments=items(apps.list_namespaced_deployment(namespace, label_selector=sel)),
        replica_sets=items(apps.list_namespaced_replica_set(namespace, label_selector=sel)),
        pods=items(core.list_namespaced_pod(namespace, label_selector=sel)),
        scaled_objects=custom_list("keda.sh", "v1alpha1", "scaledobjects"),
        http_scaled_objects=custom_list("http.keda.sh", "v1alpha1", "httpscaledobjects"),
        route=route,
        url=url,
    )


def render_text(statuses: list[ModelStatus]) -> str:
    lines = []
    for s in statuses:
        head = f"{s.model} ({s.namespace}): {s.phase}" + (f" - {s.reason}" if s.reason else "")
        lines.append(head)
        for t in s.tracks:
            version = f" version {t.version}" if t.version else ""
            lines.append(f"  {t.track:<8} {t.ready}/{t.desired} ready{version}")
        if s.canary_weight is not None:
            lines.append(f"  canary weight {s.canary_weight}%")
        if s.url:
            lines.append(f"  url {s.url}")
        if s.last_change:
            lines.append(f"  last change {s.last_change}")
        for p in s.problems[1:]:
            lines.append(f"  also: {p}")
    return "\n".join(lines) + "\n"


def run_status(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from ..config import validate_stack_file
    from ..conventions import team_namespace
    from ..stackfile import read_stack

    cfg = validate_stack_file(read_stack(args.stack))
    models = [m for m in cfg.models if args.model in (None, m.name)]
    if not models:
        raise UsageError(f"Pulumi.{args.stack}.yaml: serving:platform: models: no model named {args.model!r}")
    try:
        from kubernetes import client
        from kubernetes import config as kconfig

        kubeconfig, context = _context(cfg, args.kubeconfig, args.context)
        try:
            api = kconfig.new_client_from_config(config_file=kubeconfig, context=context)
        except (kconfig.ConfigException, OSError) as exc:
            raise ClusterUnavailable(f"kubeconfig context {context!r}: {exc}") from None
        api.configuration.retries = 0
        client.VersionApi(api).get_code(_request_timeout=5)
        statuses = []
        for m in models:
            url = f"https://{m.exposure.host or cfg.gateway.hostname}{'' if m.path == '/' else m.path}"
            statuses.append(read_model(api, m, team_namespace(m.team), url))
    except ClusterUnavailable as exc:
        print(f"error: stack {args.stack}: cannot read the cluster: {exc}", file=sys.stderr)
        return EXIT_NO_CLUSTER
    except Exception as exc:  # connection refused, DNS, TLS, 401/403: the cluster is not there for us
        kind = type(exc).__name__
        detail = str(exc).splitlines()[0][:200] if str(exc) else kind
        print(f"error: stack {args.stack}: cannot reach the cluster ({kind}: {detail})", file=sys.stderr)
        return EXIT_NO_CLUSTER
    sys.stdout.write(json.dumps([s.to_json() for s in statuses], indent=2) + "\n" if args.json else render_text(statuses))
    return EXIT_OK
