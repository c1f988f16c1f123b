"""GPU software: the NVIDIA device plugin (or GPU operator) on GPU nodes only, the DCGM exporter and its
ServiceMonitor; every Helm value checked against the chart's real default values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serving import conventions as cv
from serving.catalog import charts
from serving.catalog import gpu as gpu_catalog
from serving.config import parse_platform
from serving.plan import Plan

from .cluster_plans import dependency_names, helm_values, manifest, plain, plan_with
from .conftest import platform_of, repo_stack
from .schemas import chart_defaults, unknown_chart_values, validate_object


@pytest.fixture(scope="module")
def operator_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    def change(p: dict) -> None:
        p["nodePools"]["gpuSoftware"] = {"mode": "gpuOperator"}
        p["nodePools"]["gpu"][0].update(instanceTypes=["p4d.24xlarge"], migStrategy="single")
    return plan_with(tmp_path_factory.mktemp("operator"), change)


@pytest.fixture(scope="module")
def sliced_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    def change(p: dict) -> None:
        p["nodePools"]["gpu"][0]["timeSlicing"] = {"replicas": 4}
        p["models"] = [m for m in p["models"] if m["runtime"] != "vllm"]  # an LLM never shares a GPU by slices
        p["nodePools"]["gpu"].append({"name": "gpu-l4", "instanceTypes": ["g6.xlarge"], "maxSize": 1,
                                      "taints": [{"key": "team", "value": "vision", "effect": "NoSchedule"}]})
        for m in p["models"]:
            if m.get("resources", {}).get("gpus"):
                m["resources"]["gpuPool"] = "gpu-a10"
    return plan_with(tmp_path_factory.mktemp("sliced"), change)


def release(plan: Plan, name: str) -> dict:
    return helm_values(plan, name)


def assert_chart_pinned(rel: dict, pin: charts.ChartPin) -> None:
    assert rel["chart"] == pin.chart and rel["version"] == pin.version
    assert (rel.get("repositoryOpts") or {}).get("repo") == pin.repo


def gpu_affinity_terms(values: dict) -> list[dict]:
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert len(terms) == 1  # one term: all expressions must hold (terms would be ORed)
    return terms[0]["matchExpressions"]


# -- device plugin -------------------------------------------------------------------------------------------------


def test_device_plugin_is_pinned_and_runs_on_gpu_nodes_only(dev: Plan) -> None:
    rel = release(dev, "nvidia-device-plugin")
    assert_chart_pinned(rel, charts.NVIDIA_DEVICE_PLUGIN)
    assert rel["namespace"] == cv.GPU_NAMESPACE
    values = rel["values"]
    expressions = gpu_affinity_terms(values)
    assert {"key": cv.GPU_NODE_LABEL, "operator": "In", "values": ["true"]} in expressions
    # Not on Bottlerocket nodes: their OS runs the plugin.
    assert {"key": cv.DEVICE_PLUGIN_LABEL, "operator": "NotIn", "values": ["host"]} in expressions
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in values["tolerations"]


def test_device_plugin_values_exist_in_the_chart(dev: Plan, sliced_plan: Plan) -> None:
    for plan in (dev, sliced_plan):
        assert unknown_chart_values(release(plan, "nvidia-device-plugin")["values"], charts.NVIDIA_DEVICE_PLUGIN.reference) == []


def test_each_pool_gets_its_plugin_config_by_node_label(sliced_plan: Plan) -> None:
    values = release(sliced_plan, "nvidia-device-plugin")["values"]
    configs = {name: yaml.safe_load(text) for name, text in values["config"]["map"].items()}
    assert values["config"]["default"] in configs
    assert configs["gpu-a10"]["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert configs["gpu-a10"]["flags"]["migStrategy"] == "none"
    assert "sharing" not in configs["gpu-l4"]
    for config in configs.values():
        assert config["version"] == "v1" and set(config) <= {"version", "flags", "sharing"}
    # Each pool's nodes select their config: the node group label names a key of the map.
    groups = {plain(g)["labels"][cv.POOL_LABEL]: plain(g) for g in sliced_plan.by_type("aws:eks/nodeGroup:NodeGroup")}
    for pool in ("gpu-a10", "gpu-l4"):
        assert groups[pool]["labels"][cv.DEVICE_PLUGIN_CONFIG_LABEL] == pool
    # The DaemonSets tolerate every GPU pool's taints.
    assert {"key": "team", "operator": "Equal", "value": "vision", "effect": "NoSchedule"} in values["tolerations"]
    dcgm = release(sliced_plan, "dcgm-exporter")["values"]
    assert {"key": "team", "operator": "Equal", "value": "vision", "effect": "NoSchedule"} in dcgm["tolerations"]


# -- GPU operator --------------------------------------------------------------------------------------------------


def test_gpu_operator_mode_replaces_the_device_plugin(operator_plan: Plan) -> None:
    releases = {plain(r)["name"] for r in operator_plan.by_type("kubernetes:helm.sh/v3:Release")}
    assert "gpu-operator" in releases and "nvidia-device-plugin" not in releases and "dcgm-exporter" in releases
    rel = release(operator_plan, "gpu-operator")
    assert_chart_pinned(rel, charts.GPU_OPERATOR)
    values = rel["values"]
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}  # the EKS AMI has them
    assert values["dcgmExporter"] == {"enabled": False}  # one DCGM exporter: ours
    assert values["mig"] == {"strategy": "single"} and values["migManager"] == {"enabled": True}
    configs = values["devicePlugin"]["config"]
    assert configs["create"] is True and configs["default"] in configs["data"]
    assert unknown_chart_values(values, charts.GPU_OPERATOR.reference) == []


def test_gpu_operator_controllers_run_on_the_system_pool(operator_plan: Plan) -> None:
    """The operator Deployment and NFD's master and gc land on system nodes; Helm merges our nodeSelector into the
    chart's default one (operator: kubernetes.io/os=linux), so the merged selector must match a system node."""
    values = release(operator_plan, "gpu-operator")["values"]
    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    system = cfg.node_pools.system
    # Labels every system node carries: the pool's, plus what the kubelet sets on every Linux node.
    system_node = {**cv.pool_labels(system), "kubernetes.io/os": "linux"}
    defaults = chart_defaults(charts.GPU_OPERATOR.reference)
    merged = {**defaults["operator"]["nodeSelector"], **values["operator"]["nodeSelector"]}
    assert cv.POOL_LABEL in merged and merged.items() <= system_node.items()
    assert values["operator"]["tolerations"] == cv.pool_tolerations(system)
    for part in ("master", "gc"):
        assert values["node-feature-discovery"][part]["nodeSelector"] == cv.pool_node_selector(system)
    # The NFD worker is a DaemonSet: it must still reach the tainted GPU nodes.
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in \
        values["node-feature-discovery"]["worker"]["tolerations"]


# -- DCGM exporter -------------------------------------------------------------------------------------------------


def test_dcgm_exporter_exports_the_catalog_metrics(dev: Plan) -> None:
    rel = release(dev, "dcgm-exporter")
    assert_chart_pinned(rel, charts.DCGM_EXPORTER)
    values = rel["values"]
    assert unknown_chart_values(values, charts.DCGM_EXPORTER.reference) == []
    assert values["arguments"][0] == "-f"
    path = values["arguments"][1]
    (mount,) = [m for m in values["extraVolumeMounts"] if m["mountPath"] == path]
    (volume,) = [v for v in values["extraConfigMapVolumes"] if v["name"] == mount["name"]]
    configmap = next(r for r in dev.by_type("kubernetes:core/v1:ConfigMap")
                     if plain(r)["metadata"]["name"] == volume["configMap"]["name"])
    doc = manifest(configmap)
    assert doc["metadata"]["namespace"] == cv.GPU_NAMESPACE and validate_object(doc) == []
    (item,) = volume["configMap"]["items"]
    csv = doc["data"][item["key"]]
    fields = {line.split(",")[0].strip() for line in csv.splitlines() if line and not line.startswith("#")}
    assert fields == {m.name for m in gpu_catalog.DCGM_METRICS}
    # Utilisation, memory, power, temperature and XID errors, as the monitoring dashboards and alerts need.
    for name in (gpu_catalog.GPU_UTILIZATION, gpu_catalog.FB_USED, gpu_catalog.FB_FREE, gpu_catalog.POWER_USAGE,
                 gpu_catalog.GPU_TEMP, gpu_catalog.XID_ERRORS):
        assert name in gpu_catalog.DCGM_METRIC_NAMES
    assert {"key": cv.GPU_NODE_LABEL, "operator": "In", "values": ["true"]} in gpu_affinity_terms(values)
    assert values["serviceMonitor"] == {"enabled": False}


def test_dcgm_service_monitor_is_selected_by_the_platform_prometheus(dev: Plan) -> None:
    monitors = [r for r in dev.by_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
                if plain(r)["metadata"]["namespace"] == cv.GPU_NAMESPACE]
    (monitor,) = monitors
    doc = manifest(monitor)
    assert validate_object(doc) == []
    assert cv.MONITORING_SELECTOR.items() <= doc["metadata"]["labels"].items()
    # It selects the chart's Service (dcgm-exporter templates/_helpers.tpl selectorLabels) and its "metrics" port.
    assert doc["spec"]["selector"]["matchLabels"] == {cv.APP_NAME: "dcgm-exporter", cv.APP_INSTANCE: "dcgm-exporter"}
    assert doc["spec"]["namespaceSelector"] == {"matchNames": [cv.GPU_NAMESPACE]}
    (endpoint,) = doc["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["interval"] == "15s"
    # The CRD comes with kube-prometheus-stack: the monitor waits for it.
    prometheus = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if plain(r)["name"] == cv.MONITORING_RELEASE)
    deps = dependency_names(dev, monitor)
    by_urn = {r.urn: r for r in dev.resources}
    monitoring_component = by_urn[prometheus.parent]
    assert monitoring_component.name in deps or prometheus.name in deps


def test_gpu_namespace_allows_the_privileged_daemonsets(dev: Plan) -> None:
    ns = next(r for r in dev.by_type("kubernetes:core/v1:Namespace") if plain(r)["metadata"]["name"] == cv.GPU_NAMESPACE)
    doc = manifest(ns)
    assert validate_object(doc) == []
    assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_no_gpu_pool_no_gpu_software(tmp_path: Path) -> None:
    def change(p: dict) -> None:
        p["nodePools"]["gpu"] = []
        p["models"] = [m for m in p["models"] if not m.get("resources", {}).get("gpus")]
    plan = plan_with(tmp_path, change)
    assert not [r for r in plan.resources if r.type == "serving:gpu:GpuSoftware"]
    assert not [r for r in plan.by_type("aws:eks/nodeGroup:NodeGroup") if "gpu" in r.name]


def test_gpuoperator_and_bottlerocket_do_not_mix() -> None:
    from .cluster_plans import platform_errors

    errors = platform_errors(lambda p: (p["nodePools"].update(gpuSoftware={"mode": "gpuOperator"}),
                                        p["nodePools"]["gpu"][0].update(amiType="BOTTLEROCKET_x86_64_NVIDIA")))
    assert any(e.startswith("Pulumi.dev.yaml: serving:platform.nodePools.gpu[0].amiType: Bottlerocket") for e in errors), errors
    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    assert cfg.node_pools.gpu_software.mode == "devicePlugin"
