"""What a plan would cost to run: node pools, NAT gateways, load balancers and the EKS control plane.

Computed from the captured resources' inputs (what would be deployed), not from the stack config, with the prices
of `serving.catalog.prices`. Methods, stated in every report:

- Node pool (`aws:eks/nodeGroup:NodeGroup`): nodes x (instance price + its gp3 volumes: the launch template's
  `blockDeviceMappings`, else `diskSize`), at the
  pool's `scalingConfig.minSize` and `desiredSize`. On-demand pools with several instance types are priced at the
  first type (EKS managed node groups use the `prioritized` on-demand allocation strategy, in list order). Spot pools
  are an upper bound: the on-demand price of their most expensive type (the default maximum spot price).
- NAT gateway: one gateway-hour per `aws:ec2/natGateway:NatGateway` (data processing not included).
- Load balancer: a Kubernetes `Service` of type LoadBalancer, and every Gateway API `Gateway` of an Envoy Gateway
  class (Envoy Gateway gives each Gateway a LoadBalancer Service unless its EnvoyProxy says otherwise). An NLB when
  the Service annotations ask for one (`service.beta.kubernetes.io/aws-load-balancer-type: nlb|external`), else a
  Classic LB (what the in-tree AWS cloud provider makes). LCU / traffic charges not included. Only priced on a
  stack that creates its AWS cluster (otherwise the load balancer is not this stack's to price).
- EKS control plane: per cluster-hour, standard support.

Anything the price table does not know is listed as unpriced, never guessed. Printing: `serving.plan.present.cost`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from ...catalog import prices
from ..model import ResourceState
from ..values import Secret, lookup

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
SERVICE = "kubernetes:core/v1:Service"
GATEWAY_TYPES = ("kubernetes:gateway.networking.k8s.io/v1:Gateway", "kubernetes:gateway.networking.k8s.io/v1beta1:Gateway")
GATEWAY_CLASS_TYPES = (
    "kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "kubernetes:gateway.networking.k8s.io/v1beta1:GatewayClass",
)
ENVOY_PROXY_TYPE = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
#: Envoy Gateway's controller name (https://gateway.envoyproxy.io/docs/tasks/quickstart/).
ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
AWS_PROVIDER = "pulumi:providers:aws"
#: Annotation of the AWS Load Balancer Controller / in-tree provider choosing the load balancer kind.
LB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"

POOL_LABEL = "serving.platform/pool"  # serving.conventions.POOL_LABEL (kept literal: plans from other revisions)
GPU_NODE_LABEL = "nvidia.com/gpu.present"


@dataclass(frozen=True)
class CostLine:
    """One priced (or unpriced) thing. Hourly USD at the minimum and at the desired (initial) size."""

    key: str
    kind: str  # "node-pool" | "nat-gateway" | "load-balancer" | "control-plane"
    label: str
    detail: str
    hourly_min: Optional[float]
    hourly_desired: Optional[float]
    #: True for spot: the figures are an upper bound.
    upper_bound: bool = False
    #: Why there is no price ("" when priced).
    unpriced: str = ""

    @property
    def priced(self) -> bool:
        return not self.unpriced


@dataclass(frozen=True)
class CostReport:
    region: str
    lines: tuple[CostLine, ...]
    as_of: str = prices.AS_OF
    source: str = prices.SOURCE

    def _total(self, attr: str) -> float:
        return round(sum(getattr(line, attr) or 0.0 for line in self.lines if line.priced), 6)

    @property
    def hourly_min(self) -> float:
        return self._total("hourly_min")

    @property
    def hourly_desired(self) -> float:
        return self._total("hourly_desired")

    @property
    def upper_bound(self) -> bool:
        return any(line.upper_bound and (line.hourly_min or line.hourly_desired) for line in self.lines if line.priced)

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if not line.priced]

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "pricesAsOf": self.as_of,
            "source": self.source,
            "hourly": {"min": self.hourly_min, "desired": self.hourly_desired},
            "monthly": {"min": monthly(self.hourly_min), "desired": monthly(self.hourly_desired)},
            "upperBound": self.upper_bound,
            "lines": [
                {
                    "key": l.key, "kind": l.kind, "label": l.label, "detail": l.detail,
                    "hourly": {"min": l.hourly_min, "desired": l.hourly_desired},
                    "upperBound": l.upper_bound, **({"unpriced": l.unpriced} if l.unpriced else {}),
                }
                for l in self.lines
            ],
        }


def monthly(hourly: Optional[float]) -> Optional[float]:
    return None if hourly is None else round(hourly * prices.HOURS_PER_MONTH, 2)


# -- reading the plan ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Secret markers unwrapped for arithmetic (a size or an instance type is needed, never shown)."""
    return value.reveal() if isinstance(value, Secret) else value


def _get(inputs: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    value = _plain(lookup(inputs, *path))
    return default if value is None else value


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _provider_regions(states: Iterable[ResourceState]) -> dict[str, str]:
    """AWS provider URN -> its region input."""
    out = {}
    for s in states:
        if s.type == AWS_PROVIDER:
            region = _get(s.inputs, "region")
            if isinstance(region, str):
                out[s.urn] = region
    return out


def _region_of(state: ResourceState, regions: Mapping[str, str], default: str) -> str:
    region = _get(state.inputs, "region")
    if isinstance(region, str) and region:
        return region
    provider_urn = state.provider.rsplit("::", 1)[0] if state.provider else ""
    return regions.get(provider_urn, default)


def pool_name(state: ResourceState) -> str:
    """The platform pool a node group is (its pool label), else the node group's name."""
    labels = _get(state.inputs, "labels", default={}) or {}
    return str(labels.get(POOL_LABEL) or _get(state.inputs, "nodeGroupName") or state.name)


def pool_title(state: ResourceState) -> str:
    labels = _get(state.inputs, "labels", default={}) or {}
    return f"{'GPU pool' if GPU_NODE_LABEL in labels else 'node pool'} {pool_name(state)}"


LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _disk_gib(state: ResourceState, launch_templates: Mapping[str, ResourceState]) -> int:
    """GiB of gp3 per node: the node group's launch template's EBS volumes, else its `diskSize`, else EKS's 20."""
    for urn in state.property_dependencies.get("launchTemplate", ()):
        template = launch_templates.get(urn)
        if template is None:
            continue
        sizes = [
            _int(_get(m, "ebs", "volumeSize")) or 0
            for m in (_get(template.inputs, "blockDeviceMappings", default=[]) or [])
            if str(_get(m, "ebs", "volumeType", default="gp3")) == "gp3"
        ]
        if sizes:
            return sum(sizes)
    return _int(_get(state.inputs, "diskSize")) or 20  # EKS default root volume: 20 GiB


def _node_pool(state: ResourceState, region: str, launch_templates: Mapping[str, ResourceState]) -> CostLine:
    inputs = state.inputs
    types = [str(t) for t in (_get(inputs, "instanceTypes", default=[]) or [])]
    capacity = str(_get(inputs, "capacityType", default="ON_DEMAND")).upper()
    spot = capacity == "SPOT"
    scaling = _get(inputs, "scalingConfig", default={}) or {}
    min_size = _int(_plain(scaling.get("minSize"))) or 0
    desired = _int(_plain(scaling.get("desiredSize")))
    desired = min_size if desired is None else desired
    disk = _disk_gib(state, launch_templates)
    title = pool_title(state)
    kind_text = "spot" if spot else "on-demand"
    detail = f"{min_size}..{desired} x {'|'.join(types) or '?'} {kind_text}, {disk} GiB gp3 each"
    unknown = [t for t in types if prices.instance_hourly(t, region) is None]
    if not types:
        return CostLine(state.urn, "node-pool", title, detail, None, None, spot, "no instanceTypes in the plan")
    if spot:
        if unknown:
            return CostLine(state.urn, "node-pool", title, detail, None, None, True,
                            f"no {region} price for {', '.join(unknown)}")
        node = max(prices.instance_hourly(t, region) or 0.0 for t in types)
    else:
        if types[0] in unknown:
            return CostLine(state.urn, "node-pool", title, detail, None, None, False,
                            f"no {region} price for {types[0]}")
        node = prices.instance_hourly(types[0], region) or 0.0
    storage = prices.gp3_gib_hourly(region)
    if storage is None:
        return CostLine(state.urn, "node-pool", title, detail, None, None, spot, f"no {region} price for gp3")
    per_node = node + disk * storage
    return CostLine(state.urn, "node-pool", title, detail, per_node * min_size, per_node * desired, spot)


def _fixed(key: str, kind: str, label: str, detail: str, hourly: Optional[float], region: str) -> CostLine:
    if hourly is None:
        return CostLine(key, kind, label, detail, None, None, False, f"no price for region {region}")
    return CostLine(key, kind, label, detail, hourly, hourly)


def _lb_kind(annotations: Mapping[str, Any]) -> str:
    value = str(_plain(annotations.get(LB_TYPE_ANNOTATION, "")) or "").lower()
    return "nlb" if value in ("nlb", "external", "nlb-ip") else "classic"


def _envoy_proxy_service(states: list[ResourceState], gateway_class: Optional[ResourceState],
                         gateway: ResourceState) -> Mapping[str, Any]:
    """The `envoyService` settings of the EnvoyProxy a Gateway (or its class) points at, {} when none."""
    proxies = {(_get(s.inputs, "metadata", "namespace", default=""), _get(s.inputs, "metadata", "name", default="")): s
               for s in states if s.type == ENVOY_PROXY_TYPE}
    refs = [
        (_get(gateway.inputs, "spec", "infrastructure", "parametersRef", default={}) or {},
         _get(gateway.inputs, "metadata", "namespace", default="")),
    ]
    if gateway_class is not None:
        refs.append((_get(gateway_class.inputs, "spec", "parametersRef", default={}) or {}, None))
    for ref, default_ns in refs:
        if ref.get("kind") != "EnvoyProxy":
            continue
        proxy = proxies.get((ref.get("namespace") or default_ns or "", ref.get("name", "")))
        if proxy is not None:
            return _get(proxy.inputs, "spec", "provider", "kubernetes", "envoyService", default={}) or {}
    return {}


def _load_balancers(states: list[ResourceState], region: str, on_aws: bool) -> list[CostLine]:
    lines: list[CostLine] = []
    found: list[tuple[str, str, str]] = []  # (key, label, kind)
    for s in states:
        if s.type == SERVICE and _get(s.inputs, "spec", "type") == "LoadBalancer":
            name = f"{_get(s.inputs, 'metadata', 'namespace', default='default')}/{_get(s.inputs, 'metadata', 'name', default=s.name)}"
            found.append((s.urn, f"Service {name}", _lb_kind(_get(s.inputs, "metadata", "annotations", default={}) or {})))
    classes = {_get(s.inputs, "metadata", "name"): s for s in states if s.type in GATEWAY_CLASS_TYPES}
    for s in states:
        if s.type not in GATEWAY_TYPES:
            continue
        gateway_class = classes.get(_get(s.inputs, "spec", "gatewayClassName"))
        if gateway_class is None or _get(gateway_class.inputs, "spec", "controllerName") != ENVOY_GATEWAY_CONTROLLER:
            continue
        service = _envoy_proxy_service(states, gateway_class, s)
        if (service.get("type") or "LoadBalancer") != "LoadBalancer":
            continue
        name = f"{_get(s.inputs, 'metadata', 'namespace', default='default')}/{_get(s.inputs, 'metadata', 'name', default=s.name)}"
        found.append((s.urn, f"Gateway {name}", _lb_kind(service.get("annotations") or {})))
    for key, label, kind in found:
        detail = "Network Load Balancer" if kind == "nlb" else "Classic Load Balancer"
        if not on_aws:
            lines.append(CostLine(key, "load-balancer", label, detail, None, None, False,
                                  "not an AWS cluster of this stack (existing cluster)"))
        else:
            lines.append(_fixed(key, "load-balancer", label, detail, prices.load_balancer_hourly(kind, region), region))
    return lines


def estimate(resources: Iterable[ResourceState]) -> CostReport:
    """The cost of what a plan would deploy (see the module docstring for the method)."""
    states = [s for s in resources]
    regions = _provider_regions(states)
    templates = {s.urn: s for s in states if s.type == LAUNCH_TEMPLATE}
    default_region = next(iter(sorted(set(regions.values()))), "")
    lines: list[CostLine] = []
    for s in states:
        if s.type == EKS_CLUSTER:
            region = _region_of(s, regions, default_region)
            lines.append(_fixed(s.urn, "control-plane", f"EKS cluster {_get(s.inputs, 'name', default=s.name)}",
                                "control plane, standard support", prices.eks_control_plane_hourly(region), region))
    for s in sorted((s for s in states if s.type == NODE_GROUP), key=lambda s: (pool_name(s) != "system", pool_name(s))):
        lines.append(_node_pool(s, _region_of(s, regions, default_region), templates))
    nats = [s for s in states if s.type == NAT_GATEWAY]
    for s in nats:
        region = _region_of(s, regions, default_region)
        lines.append(_fixed(s.urn, "nat-gateway", f"NAT gateway {s.name}", "per gateway-hour, data not included",
                            prices.nat_gateway_hourly(region), region))
    on_aws = any(s.type == EKS_CLUSTER for s in states)
    lines.extend(_load_balancers(states, default_region, on_aws))
    return CostReport(region=default_region or "-", lines=tuple(lines))


@dataclass(frozen=True)
class CostDelta:
    base: CostReport
    head: CostReport

    @property
    def hourly_min(self) -> float:
        return round(self.head.hourly_min - self.base.hourly_min, 6)

    @property
    def hourly_desired(self) -> float:
        return round(self.head.hourly_desired - self.base.hourly_desired, 6)

    @property
    def monthly_desired(self) -> float:
        return round(self.hourly_desired * prices.HOURS_PER_MONTH, 2)

    @property
    def monthly_min(self) -> float:
        return round(self.hourly_min * prices.HOURS_PER_MONTH, 2)

    @property
    def upper_bound(self) -> bool:
        return self.base.upper_bound or self.head.upper_bound

    def changed_lines(self) -> list[tuple[Optional[CostLine], Optional[CostLine]]]:
        """(old, new) for every line whose figures changed, appeared or disappeared."""
        old = {l.key: l for l in self.base.lines}
        new = {l.key: l for l in self.head.lines}
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            a, b = old.get(key), new.get(key)
            if a is None or b is None or (a.hourly_min, a.hourly_desired, a.detail, a.unpriced) != (
                b.hourly_min, b.hourly_desired, b.detail, b.unpriced
            ):
                out.append((a, b))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "delta": {
                "hourly": {"min": self.hourly_min, "desired": self.hourly_desired},
                "monthly": {"min": self.monthly_min, "desired": self.monthly_desired},
                "upperBound": self.upper_bound,
            },
        }


__all__ = ["CostDelta", "CostLine", "CostReport", "estimate", "monthly", "pool_name", "pool_title"]
