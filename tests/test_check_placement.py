"""Placement and capacity (serving check --only placement): every pod fits a pool, pools hold their peak at
maxSize, GPU sharing as the device plugin enforces it, platform pods above models."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv
from serving.catalog import eks as eks_catalog
from serving.check import CheckContext, run_checks
from serving.check.addons import ADDON_TYPE, addon_objects
from serving.check.objects import kubernetes_objects, pod_spec
from serving.check.operators import operated_objects
from serving.check.placement import Demand, allocatable, instance_shape, pod_demand, pools, quantity, why_not
from serving.plan import Plan
from serving.plan.compute.charts import chart_source, helm_path
from serving.plan.model import ResourceState, is_kubernetes_object

from .check_helpers import added, context, k8s, mutated
from .conftest import repo_plan


def _deployment(name: str, namespace: str, spec: dict[str, Any], replicas: int = 1, labels: dict[str, str] | None = None) -> ResourceState:
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name, **(labels or {})}}, "spec": spec}},
    }
    return ResourceState(urn=f"urn:pulumi:dev::ml-serving::kubernetes:apps/v1:Deployment::{name}",
                         type="kubernetes:apps/v1:Deployment", name=name, custom=True, inputs=obj)


def _container(cpu: str = "100m", memory: str = "128Mi") -> dict[str, Any]:
    return {"name": "c", "image": "x:1", "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}}


PLATFORM = {"priorityClassName": "system-cluster-critical"}


def _renders_monitoring() -> bool:
    """kube-prometheus-stack's objects (its Prometheus and Alertmanager) are in the plan: Helm and the charts."""
    return helm_path() is not None and chart_source(Path(__file__).parent.parent).charts_dir is not None


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_shipped_stacks_place_every_pod_and_fit_their_pools(stack: str) -> None:
    report = run_checks(context(stack), ["placement"])
    assert [f.line() for f in report.findings] == []
    assert report.checked["placement"] >= 1


def test_a_system_pool_too_small_for_the_platform_fails() -> None:
    ctx = context("dev")
    pools = ctx.cfg.node_pools
    ctx.cfg = ctx.cfg.model_copy(update={"node_pools": pools.model_copy(update={
        "system": pools.system.model_copy(update={"max_size": 1, "instance_types": ["t3.medium"]})})})
    # A controller with a replica per zone, as the platform's charts run them.
    big = _deployment("controller", "platform", {**PLATFORM, "containers": [_container("1500m", "3Gi")]},
                      replicas=2)
    ctx.plan = added(ctx.plan, big)
    (finding,) = run_checks(ctx, ["placement"]).findings
    assert finding.resource == "node pool system" and finding.rule == "capacity" and finding.mandatory
    assert "maxSize 1 x t3.medium" in finding.message and "left over" in finding.message


def test_a_pod_that_fits_no_pool_and_a_gpu_request_the_device_plugin_rejects() -> None:
    lost = _deployment("lost", "platform", {**PLATFORM, "nodeSelector": {cv.POOL_LABEL: "nope"}, "containers": [_container()]})
    greedy = mutated(repo_plan("dev"), k8s("Deployment", "llama-chat", "team-nlp"), lambda i: i["spec"]["template"]["spec"][
        "containers"][0]["resources"]["limits"].update({cv.GPU_RESOURCE: 2}))
    report = run_checks(context("dev", added(greedy, lost)), ["placement"])
    rules = {(f.resource, f.rule) for f in report.findings}
    assert ("Deployment platform/lost", "placement") in rules
    assert ("Deployment team-nlp/llama-chat", "gpu-sharing") in rules


def test_platform_pods_must_outrank_models() -> None:
    plain = _deployment("exporter", "platform", {"containers": [_container()]})
    report = run_checks(context("dev", added(repo_plan("dev"), plain)), ["placement"])
    (finding,) = report.findings
    assert finding.rule == "priority" and "could preempt it" in finding.message


def test_node_sizes_and_requests_as_kubernetes_counts_them() -> None:
    assert instance_shape("m7i.xlarge") == (4, 16384, 0) and instance_shape("c6i.2xlarge") == (8, 16384, 0)
    assert instance_shape("g5.xlarge")[2] == 1 and instance_shape("x9.weird") is None
    node = allocatable("m7i.large", 0)
    assert node is not None and 1.9 < node.cpu < 2 and node.pods == 29
    assert quantity("1536Mi") == 1536 * 2**20 and quantity("250m") == 0.25
    spec = {"initContainers": [_container("2", "1Gi")], "containers": [_container("500m", "2Gi"), _container("500m", "1Gi")]}
    demand = pod_demand(spec)
    assert (demand.cpu, demand.memory) == (2, 3 * 2**30)  # the larger of init (2 CPU) and the sum of containers


# -- EKS managed add-ons: pods AWS creates, which the plan never sees -------------------------------------------


def _without(plan: Plan, drop: Callable[[ResourceState], bool]) -> Plan:
    return dataclasses.replace(plan, steps=tuple(s for s in plan.steps if not drop(s.state)))


def _system_pool(ctx: CheckContext, **update: Any) -> None:
    pools = ctx.cfg.node_pools
    ctx.cfg = ctx.cfg.model_copy(update={"node_pools": pools.model_copy(update={"system": pools.system.model_copy(update=update)})})


def test_the_eks_addons_pods_are_counted_on_the_pools() -> None:
    # The dev plan's AWS side (its add-ons included) with one controller sized to fill one system node after the
    # add-ons' DaemonSet pods, minus 0.1 CPU: it fits with room to spare when the add-ons are not counted, and
    # then leaves no room for CoreDNS and the CSI controllers.
    node = allocatable("m7i.large", 0)
    assert node is not None
    daemons = [a for a in addon_objects(repo_plan("dev").resources) if a.kind == "DaemonSet"]
    assert {a.name for a in daemons} == {"aws-node", "kube-proxy", "eks-pod-identity-agent", "ebs-csi-node", "s3-csi-node"}
    overhead = Demand(pods=0)
    for a in daemons:
        overhead = overhead.plus(pod_demand(pod_spec(a.obj) or {}))
    assert overhead.pods == 5 and round(overhead.cpu, 2) == 0.21  # 50m CNI, 100m kube-proxy, 30m per CSI node plugin
    big = _deployment("controller", "platform", {**PLATFORM, "containers": [
        _container(f"{int((node.cpu - overhead.cpu - 0.1) * 1000)}m", "4Gi")]})
    inputs = copy.deepcopy(dict(big.inputs))
    inputs["spec"]["strategy"] = {"type": "Recreate"}  # no surge pod: one pod at peak
    big = dataclasses.replace(big, inputs=inputs)
    aws_side = _without(repo_plan("dev"), is_kubernetes_object)

    ctx = context("dev", added(_without(aws_side, lambda s: s.type == ADDON_TYPE), big))
    _system_pool(ctx, max_size=1)
    assert run_checks(ctx, ["placement"]).findings == []

    ctx = context("dev", added(aws_side, big))
    _system_pool(ctx, max_size=1)
    (finding,) = run_checks(ctx, ["placement"]).findings
    assert finding.resource == "node pool system" and finding.rule == "capacity" and finding.mandatory
    # Replicas plus the rollout surge: CoreDNS 2 + 1, the EBS CSI controller 2 + 1, the Mountpoint controller 1 + 1.
    assert "(9 pods," in finding.message
    assert "Deployment kube-system/coredns (EKS add-on coredns v1.12.4-eksbuild.1)" in finding.message
    assert "Deployment kube-system/ebs-csi-controller (EKS add-on aws-ebs-csi-driver v1.54.0-eksbuild.1)" in finding.message


def test_the_addons_configuration_from_the_plan_places_their_pods() -> None:
    by_name = {a.name: a for a in addon_objects(repo_plan("dev").resources)}
    # components/cluster.py pins CoreDNS and the EBS CSI controller to the system pool; the Mountpoint controller
    # has no configuration and no toleration (chart 2.7.0): untainted pools only.
    system_selector = cv.pool_node_selector(context("dev").cfg.node_pools.system)
    for name in ("coredns", "ebs-csi-controller"):
        assert system_selector.items() <= (pod_spec(by_name[name].obj) or {})["nodeSelector"].items()
    assert (pod_spec(by_name["s3-csi-controller"].obj) or {})["tolerations"] == []
    assert by_name["coredns"].obj["spec"]["replicas"] == 2 and by_name["ebs-csi-controller"].obj["spec"]["replicas"] == 2
    # Off EKS the platform installs no add-on: nothing is counted.
    assert addon_objects(repo_plan("local").resources) == []


def test_the_mountpoint_node_plugin_runs_on_the_gpu_pools_that_serve_mounting_llms() -> None:
    ctx = context("dev")
    (s3_node,) = [a for a in addon_objects(ctx.plan.resources) if a.name == "s3-csi-node"]
    gpu_pools = [p for p in pools(ctx) if p.name != ctx.cfg.node_pools.system.name]
    assert gpu_pools and all(why_not(pod_spec(s3_node.obj) or {}, p) is None for p in gpu_pools)

    # Were it to tolerate only its chart's default tolerations, the GPU pool's LLM could never mount its weights.
    narrow = mutated(ctx.plan, lambda s: s.type == ADDON_TYPE and s.inputs.get("addonName") == "aws-mountpoint-s3-csi-driver",
                     lambda i: i.update(configurationValues=json.dumps({"node": {"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}})))
    (finding,) = run_checks(context("dev", narrow), ["placement"]).findings
    assert finding.resource.startswith("DaemonSet kube-system/s3-csi-node (EKS add-on aws-mountpoint-s3-csi-driver")
    assert finding.rule == "placement" and "cannot run on pool gpu-a10" in finding.message
    assert "s3.csi.aws.com" in finding.message and "Deployment team-nlp/llama-chat" in finding.message


def test_the_addon_pod_facts_were_read_at_the_versions_the_stacks_install() -> None:
    # catalog/eks.py reads each add-on's pods from its manifests at `read_at`: moving a pinned version to a new
    # upstream release means reading them again (and updating `read_at`).
    for stack in ("dev", "prod"):
        cfg = context(stack).cfg.cluster.eks
        versions = eks_catalog.addon_versions(cfg.kubernetes_version, cfg.addon_versions)
        for spec in eks_catalog.ADDONS:
            assert spec.workloads and versions[spec.name].startswith(f"{spec.read_at}-"), (stack, spec.name)


def test_a_csi_node_plugin_must_run_where_a_statefulset_claims_its_volumes() -> None:
    # A StatefulSet on the GPU pool whose claim template names no class (the default gp3 class: ebs.csi.aws.com),
    # with the EBS node plugin configured not to tolerate every taint: the claim would never be mounted there.
    ctx = context("dev")
    gpu_pool = ctx.cfg.node_pools.gpu[0]
    obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cache", "namespace": "platform"},
        "spec": {"replicas": 1, "serviceName": "cache", "selector": {"matchLabels": {"app": "cache"}},
                 "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {
                     **PLATFORM, "nodeSelector": cv.pool_node_selector(gpu_pool), "tolerations": cv.pool_tolerations(gpu_pool),
                     "containers": [_container()]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
    }
    cache = ResourceState(urn="urn:pulumi:dev::ml-serving::kubernetes:apps/v1:StatefulSet::cache",
                          type="kubernetes:apps/v1:StatefulSet", name="cache", custom=True, inputs=obj)
    narrow = mutated(ctx.plan, lambda s: s.type == ADDON_TYPE and s.inputs.get("addonName") == "aws-ebs-csi-driver",
                     lambda i: i.update(configurationValues=json.dumps({"node": {"tolerateAllTaints": False}})))
    assert run_checks(context("dev", added(ctx.plan, cache)), ["placement"]).findings == []
    (finding,) = run_checks(context("dev", added(narrow, cache)), ["placement"]).findings
    assert finding.resource.startswith("DaemonSet kube-system/ebs-csi-node (EKS add-on aws-ebs-csi-driver")
    assert f"cannot run on pool {gpu_pool.name}" in finding.message and "StatefulSet platform/cache" in finding.message


# -- pods the Prometheus operator makes ------------------------------------------------------------------------------

PROMETHEUS = k8s("Prometheus", "kube-prometheus-stack-prometheus", "monitoring")
PROMETHEUS_LABEL = ("Prometheus monitoring/kube-prometheus-stack-prometheus (release kube-prometheus-stack): "
                    "StatefulSet prometheus-kube-prometheus-stack-prometheus made by the operator")


def _operated(plan: Any) -> dict[str, tuple[int, Any, dict[str, Any]]]:
    """Kind of the custom resource -> (pods, their requests, pod spec) of the StatefulSet the operator makes."""
    out = {}
    for o in operated_objects(kubernetes_objects(plan)):
        spec = pod_spec(o.obj) or {}
        out[o.label.split(" ", 1)[0]] = (o.obj["spec"]["replicas"], pod_demand(spec), spec)
    return out


def _on_system_pool(cfg: Any, max_size: int) -> Any:
    pools = cfg.node_pools
    return cfg.model_copy(update={"node_pools": pools.model_copy(update={
        "system": pools.system.model_copy(update={"max_size": max_size})})})


@pytest.mark.skipif(not _renders_monitoring(), reason="needs the pinned Helm and ../shared/reference/charts")
def test_prometheus_and_alertmanager_pods_count_as_the_operator_makes_them() -> None:
    plan = repo_plan("dev")
    pods = _operated(plan)
    count, demand, spec = pods["Prometheus"]
    # The program's requests (components/monitoring.py) plus the config-reloader at the operator's flags.
    assert count == 1 and (round(demand.cpu, 3), demand.memory) == (0.51, 2 * 2**30 + 32 * 2**20)
    assert spec["priorityClassName"] == cv.PLATFORM_PRIORITY_CLASS and spec["nodeSelector"] == {cv.POOL_LABEL: "system"}
    assert pods["Alertmanager"][0] == 1 and pods["Alertmanager"][2]["priorityClassName"] == cv.PLATFORM_PRIORITY_CLASS
    # Shards multiply replicas; Alertmanager asking nothing gets the operator's 200Mi; reloader flags at 0 mean none.
    sharded = mutated(plan, PROMETHEUS, lambda i: i["spec"].update({"replicas": 2, "shards": 3}))
    assert _operated(sharded)["Prometheus"][0] == 6
    bare = mutated(plan, k8s("Alertmanager", "kube-prometheus-stack-alertmanager"), lambda i: i["spec"].pop("resources"))
    operator = k8s("Deployment", "kube-prometheus-stack-operator", "monitoring")
    no_reloader = mutated(bare, operator, lambda i: i["spec"]["template"]["spec"]["containers"][0].update(args=[
        a.replace("-request=10m", "-request=0").replace("-request=32Mi", "-request=0")
        for a in i["spec"]["template"]["spec"]["containers"][0]["args"]]))
    demand = _operated(no_reloader)["Alertmanager"][1]
    assert (demand.cpu, demand.memory) == (0, 200 * 2**20)


@pytest.mark.skipif(not _renders_monitoring(), reason="needs the pinned Helm and ../shared/reference/charts")
def test_a_system_pool_that_holds_everything_but_prometheus_fails_once_prometheus_is_counted() -> None:
    without = mutated(repo_plan("dev"), PROMETHEUS, lambda i: i["spec"].update({"replicas": 0}))
    ctx = context("dev", without)
    smallest = next(n for n in range(1, 20) if not run_checks(
        dataclasses.replace(ctx, cfg=_on_system_pool(ctx.cfg, n)), ["placement"]).findings)
    # Two replicas of two shards at 5Gi each: four pods no node can share.
    big = mutated(repo_plan("dev"), PROMETHEUS, lambda i: i["spec"].update({
        "replicas": 2, "shards": 2, "resources": {"requests": {"cpu": "500m", "memory": "5Gi"}, "limits": {"memory": "6Gi"}}}))
    ctx = context("dev", big)
    (finding,) = run_checks(dataclasses.replace(ctx, cfg=_on_system_pool(ctx.cfg, smallest)), ["placement"]).findings
    assert finding.resource == "node pool system" and finding.rule == "capacity" and "left over" in finding.message
    assert f"maxSize {smallest} x m7i.large" in finding.message


@pytest.mark.skipif(not _renders_monitoring(), reason="needs the pinned Helm and ../shared/reference/charts")
def test_prometheus_must_run_above_models() -> None:
    plan = mutated(repo_plan("dev"), PROMETHEUS, lambda i: i["spec"].pop("priorityClassName"))
    (finding,) = run_checks(context("dev", plan), ["placement"]).findings
    assert finding.resource == PROMETHEUS_LABEL and finding.rule == "priority" and "could preempt it" in finding.message
