"""Node pools and scale from zero: node groups from config, labels/taints from `conventions`, launch templates,
cluster-autoscaler (IAM, node-template tags, chart values), and the config errors of bad pools."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from serving import conventions as cv
from serving.catalog import charts
from serving.catalog import eks as eks_catalog
from serving.config import parse_platform
from serving.plan import Plan

from .cluster_plans import dependency_names, helm_values, named, of_type, plain, plan_with, platform_errors
from .conftest import platform_of, repo_stack
from .schemas import chart_defaults, unknown_chart_values

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG_TAG = "aws:autoscaling/tag:Tag"
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def launch_template_of(plan: Plan, group) -> dict:
    lt_id = plain(group)["launchTemplate"]["id"]
    return plain(next(lt for lt in of_type(plan, LAUNCH_TEMPLATE) if lt.id == lt_id))


def asg_tags(plan: Plan, group) -> dict[str, str]:
    asg = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    return {plain(t)["tag"]["key"]: plain(t)["tag"]["value"] for t in of_type(plan, ASG_TAG)
            if plain(t)["autoscalingGroupName"] == asg}


# -- node groups from config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_node_group_per_configured_pool(stack: str, dev: Plan, prod: Plan) -> None:
    plan = {"dev": dev, "prod": prod}[stack]
    cfg = parse_platform(platform_of(repo_stack(stack)), f"Pulumi.{stack}.yaml")
    groups = {plain(g)["labels"][cv.POOL_LABEL]: g for g in of_type(plan, NODE_GROUP)}
    assert set(groups) == {p.name for p in cfg.node_pools.all}
    for pool in cfg.node_pools.all:
        inputs = plain(groups[pool.name])
        assert inputs["instanceTypes"] == pool.instance_types
        assert inputs["capacityType"] == {"on-demand": "ON_DEMAND", "spot": "SPOT"}[pool.capacity_type]
        assert inputs["scalingConfig"] == {"minSize": pool.min_size, "maxSize": pool.max_size, "desiredSize": pool.initial_size}
        assert inputs["amiType"] == pool.ami_type
        assert inputs["version"] == cfg.cluster.eks.kubernetes_version
        assert "remoteAccess" not in inputs  # no SSH
        assert "diskSize" not in inputs  # the launch template carries the disk
        assert inputs["nodeRepairConfig"] == {"enabled": True}  # auto repair on by default, GPU pools included


def test_node_groups_are_replaced_create_before_delete(dev: Plan) -> None:
    for group in of_type(dev, NODE_GROUP):
        # Autonamed (no fixed name) and not delete-before-replace: a new instance type brings up the new group first.
        assert "nodeGroupName" not in plain(group) and "nodeGroupNamePrefix" not in plain(group)
        assert group.delete_before_replace is False
        # The autoscaler owns the size.
        assert group.ignore_changes == ("scalingConfig.desiredSize",)


def test_gpu_pool_is_tainted_and_labelled_from_conventions(dev: Plan) -> None:
    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    pool = cfg.node_pools.gpu[0]
    group = named(dev, NODE_GROUP, f"-{pool.name}")
    inputs = plain(group)
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in inputs["taints"]
    assert inputs["labels"] == cv.pool_labels(pool)
    assert inputs["labels"][cv.GPU_NODE_LABEL] == "true"
    assert inputs["labels"][cv.ACCELERATOR_LABEL] == "nvidia-a10g"
    system = plain(named(dev, NODE_GROUP, "-system"))
    assert "taints" not in system or system["taints"] == []


def test_gpu_models_select_and_tolerate_exactly_their_pool(dev: Plan) -> None:
    """A GPU model's pods: every nodeSelector label is a label of the pool's node group, every taint of the node
    group is tolerated; a CPU model does not tolerate the GPU taint."""
    groups = {plain(g)["labels"][cv.POOL_LABEL]: plain(g) for g in of_type(dev, NODE_GROUP)}
    checked = 0
    for deploy in dev.by_type("kubernetes:apps/v1:Deployment"):
        spec = plain(deploy)["spec"]["template"]["spec"]
        wants_gpu = any(
            cv.GPU_RESOURCE in (c.get("resources", {}).get("limits") or {}) for c in spec.get("containers", [])
        )
        tolerations = spec.get("tolerations", [])
        if not wants_gpu:
            if plain(deploy)["metadata"].get("namespace", "").startswith("team-"):
                assert not any(t.get("key") == cv.GPU_RESOURCE for t in tolerations)
            continue
        group = groups[spec["nodeSelector"][cv.POOL_LABEL]]
        assert spec["nodeSelector"].items() <= group["labels"].items()
        for taint in group["taints"]:
            effect = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}[taint["effect"]]
            assert any(
                t["key"] == taint["key"] and t.get("effect") == effect
                and (t["operator"] == "Exists" or t.get("value") == taint.get("value"))
                for t in tolerations
            ), (deploy.name, taint)
        checked += 1
    assert checked >= 1, "the dev stack serves at least one GPU model"


# -- launch templates ----------------------------------------------------------------------------------------------


def test_launch_templates_require_imdsv2_without_ssh(dev: Plan) -> None:
    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    for pool in cfg.node_pools.all:
        group = named(dev, NODE_GROUP, f"-{pool.name}")
        lt = launch_template_of(dev, group)
        assert lt["metadataOptions"]["httpTokens"] == "required"
        assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert "keyName" not in lt and "imageId" not in lt and "iamInstanceProfile" not in lt
        (disk,) = lt["blockDeviceMappings"]
        assert disk["deviceName"] == "/dev/xvda"
        assert disk["ebs"] == {"volumeSize": pool.disk_size_gib, "volumeType": "gp3", "encrypted": "true",
                               "deleteOnTermination": "true"}
        assert str(plain(group)["launchTemplate"]["version"]) == "1"


def test_time_sliced_bottlerocket_pool(tmp_path: Path) -> None:
    def change(p: dict) -> None:
        p["nodePools"]["gpu"][0].update(amiType="BOTTLEROCKET_x86_64_NVIDIA", timeSlicing={"replicas": 4}, diskSizeGib=150)
        p["models"] = [m for m in p["models"] if m["runtime"] != "vllm"]  # an LLM never shares a GPU by slices
    plan = plan_with(tmp_path, change)
    group = named(plan, NODE_GROUP, "-gpu-a10")
    lt = launch_template_of(plan, group)
    # Bottlerocket keeps images on its data volume.
    assert lt["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"
    assert lt["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 150
    settings = base64.b64decode(lt["userData"]).decode()
    assert 'device-sharing-strategy = "time-slicing"' in settings and "replicas = 4" in settings
    assert plain(group)["labels"][cv.DEVICE_PLUGIN_LABEL] == "host"
    # Four slices per A10G: what the autoscaler expects a new node to offer.
    assert asg_tags(plan, group)[f"{NODE_TEMPLATE}/resources/nvidia.com/gpu"] == "4"


# -- scale from zero: cluster-autoscaler ---------------------------------------------------------------------------


def test_gpu_pool_at_zero_advertises_labels_taints_and_gpus_to_the_autoscaler(dev: Plan) -> None:
    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    pool = cfg.node_pools.gpu[0]
    assert pool.min_size == 0
    group = named(dev, NODE_GROUP, f"-{pool.name}")
    tags = asg_tags(dev, group)
    for key, value in cv.pool_labels(pool).items():
        assert tags[f"{NODE_TEMPLATE}/label/{key}"] == value
    assert tags[f"{NODE_TEMPLATE}/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags[f"{NODE_TEMPLATE}/resources/nvidia.com/gpu"] == "1"
    assert tags[f"{NODE_TEMPLATE}/resources/ephemeral-storage"] == f"{pool.disk_size_gib}Gi"
    assert all(not plain(t)["tag"]["propagateAtLaunch"] for t in of_type(dev, ASG_TAG))


def test_autoscaler_has_scoped_iam_through_pod_identity(dev: Plan) -> None:
    assoc = next(a for a in of_type(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                 if plain(a)["serviceAccount"] == "cluster-autoscaler")
    assert plain(assoc)["namespace"] == "kube-system"
    role = next(r for r in of_type(dev, "aws:iam/role:Role") if r.outputs["arn"] == plain(assoc)["roleArn"])
    policy = next(p for p in of_type(dev, "aws:iam/rolePolicy:RolePolicy") if plain(p)["role"] == role.outputs["name"])
    statements = {s["Sid"]: s for s in json.loads(plain(policy)["policy"])["Statement"]}
    # Labels/taints of a group at zero, only of this cluster's node groups.
    assert statements["DescribeOwnNodegroups"] == {
        "Sid": "DescribeOwnNodegroups", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"],
        "Resource": "arn:aws:eks:*:*:nodegroup/ml-dev/*/*"}
    scale = statements["ScaleOwnGroups"]
    assert set(scale["Action"]) == {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    assert scale["Resource"].endswith(":autoScalingGroupName/eks-*")  # EKS names a node group's ASG eks-<group>-<id>
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/ml-dev": "owned"}}


def test_autoscaler_chart_is_pinned_and_matches_the_cluster(dev: Plan) -> None:
    values = helm_values(dev, "cluster-autoscaler")
    assert (values["chart"], values["version"], values["repositoryOpts"]["repo"]) == (
        charts.CLUSTER_AUTOSCALER.chart, charts.CLUSTER_AUTOSCALER.version, charts.CLUSTER_AUTOSCALER.repo)
    v = values["values"]
    assert v["autoDiscovery"]["clusterName"] == "ml-dev"
    assert v["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert v["image"]["tag"] == eks_catalog.CLUSTER_AUTOSCALER_TAGS["1.34"]
    assert v["awsRegion"] == "us-east-1"
    assert "--skip-nodes-with-local-storage=false" in v["customArgs"]
    assert "--scale-down-unneeded-time=5m" in v["customArgs"]  # from the dev stack
    assert v["nodeSelector"] == {cv.POOL_LABEL: "system"}
    release = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if plain(r)["name"] == "cluster-autoscaler")
    deps = dependency_names(dev, release)
    assert any(d.endswith("-association") for d in deps)


def test_autoscaler_values_exist_in_the_chart() -> None:
    from serving.components.autoscaler import autoscaler_values

    cfg = parse_platform(platform_of(repo_stack("prod")), "Pulumi.prod.yaml")
    values = autoscaler_values(cfg, "us-east-1")
    assert unknown_chart_values(values, charts.CLUSTER_AUTOSCALER.reference) == []
    # On the system pool: the chart's nodeSelector default is empty, so ours is the whole selector.
    assert chart_defaults(charts.CLUSTER_AUTOSCALER.reference)["nodeSelector"] == {}
    assert values["nodeSelector"] == cv.pool_node_selector(cfg.node_pools.system)
    assert values["tolerations"] == cv.pool_tolerations(cfg.node_pools.system)


# -- GPUs per node -------------------------------------------------------------------------------------------------


def test_gpus_per_node_comes_from_the_instance_type() -> None:
    raw = platform_of(repo_stack("dev"))
    raw["nodePools"]["gpu"] = [
        {"name": "big", "instanceTypes": ["g5.12xlarge", "g6.12xlarge"], "maxSize": 1},
        {"name": "shared", "instanceTypes": ["g6.xlarge"], "maxSize": 1, "timeSlicing": {"replicas": 3}},
    ]
    for m in raw["models"]:
        m.get("resources", {}).pop("gpuPool", None)
        if m.get("resources", {}).get("gpus"):
            m["resources"]["gpuPool"] = "big"
    cfg = parse_platform(raw, "Pulumi.dev.yaml")
    big, shared = cfg.node_pools.gpu_pool("big"), cfg.node_pools.gpu_pool("shared")
    assert (big.gpus_per_node, big.allocatable_gpus_per_node, big.gpu_memory_gib) == (4, 4, 24)
    assert (shared.gpus_per_node, shared.allocatable_gpus_per_node) == (1, 3)
    # A time-sliced pool gives a pod one slice at most (failRequestsGreaterThanOne in its plugin config).
    assert (big.max_gpus_per_pod, shared.max_gpus_per_pod) == (4, 1)


# -- bad input -----------------------------------------------------------------------------------------------------


def gpu_pool_errors(**changes) -> list[str]:
    return platform_errors(lambda p: p["nodePools"]["gpu"][0].update(**changes))


def test_gpu_pool_without_a_gpu_is_an_error() -> None:
    (err,) = gpu_pool_errors(instanceTypes=["g5.2xlarge", "m7i.large"])
    assert err.startswith("Pulumi.dev.yaml: serving:platform.nodePools.gpu[0].instanceTypes[1]: this value has no NVIDIA GPU")


def test_unknown_size_of_a_gpu_family_is_an_error() -> None:
    (err,) = gpu_pool_errors(instanceTypes=["g5.3xlarge"])
    assert "nodePools.gpu[0].instanceTypes[0]: this value is not a known size of the g5 GPU family" in err


def test_instance_types_of_different_shapes_are_an_error() -> None:
    (err,) = gpu_pool_errors(instanceTypes=["g5.xlarge", "g5.2xlarge"])
    assert err.startswith("Pulumi.dev.yaml: serving:platform.nodePools.gpu[0].instanceTypes: instance types of one pool must")


@pytest.mark.parametrize(
    "changes, location, words",
    [
        ({"minSize": 3, "maxSize": 2}, "nodePools.gpu[0]", "minSize (3) must be <= maxSize (2)"),
        ({"desiredSize": 5}, "nodePools.gpu[0]", "desiredSize (5) must be within [minSize, maxSize] = [0, 4]"),
        ({"amiType": "AL2_x86_64_GPU"}, "nodePools.gpu[0].amiType", "AL2023_x86_64_NVIDIA"),
        ({"migStrategy": "single"}, "nodePools.gpu[0].migStrategy", "does not support MIG"),
        ({"timeSlicing": {"replicas": 1}}, "nodePools.gpu[0].timeSlicing.replicas", "greater than or equal to 2"),
        ({"labels": {"serving.platform/pool": "other"}}, "nodePools.gpu[0].labels.serving.platform/pool", "set by the platform"),
        ({"taints": [{"key": "nvidia.com/gpu", "value": "x"}]}, "nodePools.gpu[0].taints[0].key", "added by the platform"),
        ({"labels": {"kubernetes.io/role": "gpu"}}, "nodePools.gpu[0].labels", "reserved for Kubernetes"),
        ({"capacityType": "reserved"}, "nodePools.gpu[0].capacityType", "on-demand"),
    ],
)
def test_bad_pool_input_names_the_key(changes: dict, location: str, words: str) -> None:
    errors = gpu_pool_errors(**changes)
    assert any(e.startswith(f"Pulumi.dev.yaml: serving:platform.{location}") and words in e for e in errors), errors


def test_mig_and_time_slicing_together_are_an_error() -> None:
    errors = gpu_pool_errors(instanceTypes=["p4d.24xlarge"], migStrategy="mixed", timeSlicing={"replicas": 2})
    assert "Pulumi.dev.yaml: serving:platform.nodePools.gpu[0].timeSlicing: choose MIG or time-slicing for a pool, not both (nodePools.gpu[0] is gpu-a10)" in errors


def test_system_pool_sizes_are_checked_too() -> None:
    errors = platform_errors(lambda p: p["nodePools"]["system"].update(minSize=5, maxSize=4))
    assert errors == ["Pulumi.dev.yaml: serving:platform.nodePools.system: minSize (5) must be <= maxSize (4)"]


def test_new_gpu_instance_type_replaces_only_that_pool_create_before_delete(dev: Plan, tmp_path: Path) -> None:
    from serving.plan.compute.diff import diff_plans

    head = plan_with(tmp_path, lambda p: p["nodePools"]["gpu"][0].update(instanceTypes=["g6.2xlarge"]))
    diff = diff_plans(dev, head)
    by_name = {c.state.name: c for c in diff.changes}
    gpu, system = by_name["dev-cluster-nodepools-gpu-a10"], by_name["dev-cluster-nodepools-system"]
    assert gpu.op == "replace" and any(r.path == "instanceTypes" for r in gpu.replacements)
    # Replaced create-before-delete: the new group exists before the old one is drained and deleted.
    assert gpu.state.delete_before_replace is False
    assert system.op == "same"
    assert [c.state.name for c in diff.by_op("replace") if c.state.type == NODE_GROUP] == [gpu.state.name]


def test_auto_repair_can_be_turned_off_per_pool_in_place(dev: Plan, tmp_path: Path) -> None:
    from serving.plan.compute.diff import diff_plans

    head = plan_with(tmp_path, lambda p: p["nodePools"]["gpu"][0].update(autoRepair=False))
    groups = {plain(g)["labels"][cv.POOL_LABEL]: plain(g) for g in of_type(head, NODE_GROUP)}
    assert groups["gpu-a10"]["nodeRepairConfig"] == {"enabled": False}
    assert groups["system"]["nodeRepairConfig"] == {"enabled": True}
    by_name = {c.state.name: c for c in diff_plans(dev, head).changes}
    change = by_name["dev-cluster-nodepools-gpu-a10"]
    assert change.op == "update" and not change.replacements  # EKS UpdateNodegroupConfig: no new group
