"""Placement and capacity (serving check --only placement): every pod fits a pool, pools hold their peak at
maxSize, GPU sharing as the device plugin enforces it, platform pods above models."""

from __future__ import annotations

from typing import Any

import pytest

from serving import conventions as cv
from serving.check import run_checks
from serving.check.placement import allocatable, instance_shape, pod_demand, quantity
from serving.plan.model import ResourceState

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
