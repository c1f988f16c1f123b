"""`status`: a model's phase from Kubernetes objects shaped as the API returns them (kubectl get -o json), and the
command's behaviour without a cluster."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest

from serving.cli import main
from serving.lifecycle.phase import (DEGRADED, DEPLOYING, FAILED, READY, SCALED_TO_ZERO, STOPPED, model_status,
                                     pod_problem)

NS = "team-tabular"


def deployment(track: str = "primary", replicas: int = 2, ready: int = 2, updated: Optional[int] = None,
               version: str = "v12", stuck: bool = False) -> dict[str, Any]:
    name = "churn" if track == "primary" else f"churn-{track}"
    progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                   "lastUpdateTime": "2026-11-30T10:00:00Z", "lastTransitionTime": "2026-11-30T09:58:00Z"}
    if stuck:
        progressing = {**progressing, "status": "False", "reason": "ProgressDeadlineExceeded",
                       "message": f'ReplicaSet "{name}-7d9c5b6f4" has timed out progressing.'}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 3,
                     "labels": {"serving.platform/model": "churn", "serving.platform/track": track}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"serving.platform/model": "churn", "serving.platform/track": track}},
                 "template": {"metadata": {"labels": {"serving.platform/model": "churn", "serving.platform/track": track,
                                                      "serving.platform/model-version": version}}}},
        "status": {"observedGeneration": 3, "replicas": replicas, "updatedReplicas": replicas if updated is None else updated,
                   "readyReplicas": ready, "availableReplicas": ready,
                   "conditions": [{"type": "Available", "status": "True" if ready else "False", "reason": "MinimumReplicasAvailable"},
                                  progressing]},
    }


def replica_set(track: str = "primary", revision: int = 3, pod_hash: str = "7d9c5b6f4") -> dict[str, Any]:
    owner = "churn" if track == "primary" else f"churn-{track}"
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{owner}-{pod_hash}", "namespace": NS, "creationTimestamp": f"2026-11-30T09:5{revision}:00Z",
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "labels": {"serving.platform/model": "churn", "serving.platform/track": track, "pod-template-hash": pod_hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner, "uid": f"uid-{owner}",
                                          "controller": True}]},
    }


def pod(track: str = "primary", pod_hash: str = "7d9c5b6f4", *, phase: str = "Running", ready: bool = True,
        waiting: Optional[str] = None, unschedulable: bool = False, started: bool = True) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": "2026-11-30T09:59:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": "Back-off pulling image" if "Image" in waiting else "back-off 5m0s"}}
    conditions = [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True" if ready else "False"}]
    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if unschedulable:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]
    else:
        status["containerStatuses"] = [{"name": "server", "image": "ghcr.io/x/server:1", "ready": ready, "started": started,
                                        "restartCount": 4 if waiting == "CrashLoopBackOff" else 0, "state": state,
                                        "lastState": {"terminated": {"exitCode": 137}} if waiting == "CrashLoopBackOff" else {}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"churn-{pod_hash}-x{len(waiting or '')}{int(ready)}", "namespace": NS,
                         "labels": {"serving.platform/model": "churn", "serving.platform/track": track, "pod-template-hash": pod_hash}},
            "status": status}


def route(weights: Optional[tuple[int, int]] = None, stopped: bool = False, accepted: bool = True) -> dict[str, Any]:
    refs: list[dict[str, Any]] = [{"name": "churn", "port": 80}]
    if weights:
        refs = [{"name": "churn", "port": 80, "weight": weights[0]}, {"name": "churn-canary", "port": 80, "weight": weights[1]}]
    rule: dict[str, Any] = {"backendRefs": refs}
    if stopped:
        rule["filters"] = [{"type": "ExtensionRef", "extensionRef": {"group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "churn-stopped"}}]
    cond = {"type": "Accepted", "status": "True" if accepted else "False", "reason": "Accepted" if accepted else "NotAllowedByListeners",
            "message": "" if accepted else "No listener allows routes from namespace team-tabular"}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "churn", "namespace": NS},
            "spec": {"rules": [rule]},
            "status": {"parents": [{"parentRef": {"name": "platform"}, "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                    "conditions": [cond, {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}]}]}}


def status(deployments, pods=(), **kw):
    return model_status("churn", NS, deployments=deployments, replica_sets=kw.pop("replica_sets", [replica_set()]),
                        pods=pods, route=kw.pop("route", route()), **kw)


def test_ready_model_with_canary_weight_and_last_change() -> None:
    s = status([deployment(), deployment("canary", 1, 1, version="v13")], [pod(), pod()],
               replica_sets=[replica_set(), replica_set("canary", 1, "55f6")], route=route((80, 20)))
    assert (s.phase, s.reason) == (READY, "")
    assert [(t.track, t.ready, t.desired, t.version) for t in s.tracks] == [("primary", 2, 2, "v12"), ("canary", 1, 1, "v13")]
    assert s.canary_weight == 20 and s.last_change == "2026-11-30T10:00:00Z"


@pytest.mark.parametrize(("pods", "ready", "phase", "reason"), [
    ([pod(ready=False, waiting="ImagePullBackOff")], 0, FAILED, "image pull"),
    ([pod(), pod(ready=False, waiting="CrashLoopBackOff")], 1, DEGRADED, "crash loop"),
    ([pod(phase="Pending", ready=False, unschedulable=True)], 0, FAILED, "unschedulable"),
    ([pod(ready=False)], 0, FAILED, "failed probes"),
])
def test_failure_reasons(pods, ready, phase, reason) -> None:
    s = status([deployment(replicas=2, ready=ready)], pods)
    assert s.phase == phase and s.reason.startswith(reason), s


def test_a_starting_pod_is_deploying_not_failed_and_old_revisions_do_not_count() -> None:
    starting = pod(ready=False, started=False)
    old_crash = pod(pod_hash="old111", ready=False, waiting="CrashLoopBackOff")
    s = status([deployment(replicas=2, ready=1, updated=1)], [pod(), starting, old_crash],
               replica_sets=[replica_set(), replica_set(revision=2, pod_hash="old111")])
    assert (s.phase, s.reason) == (DEPLOYING, "rollout in progress")


def test_stuck_rollout_and_unaccepted_route_are_reported() -> None:
    assert status([deployment(ready=0, stuck=True)]).reason.startswith("rollout stuck")
    s = status([deployment()], [pod(), pod()], route=route(accepted=False))
    assert s.phase == DEGRADED and s.reason.startswith("route not accepted: NotAllowedByListeners")


def test_scaled_to_zero_waking_and_stopped() -> None:
    zero = deployment(replicas=0, ready=0)
    assert status([zero]).phase == SCALED_TO_ZERO
    waking = status([deployment(replicas=1, ready=0, updated=1)], [pod(phase="Pending", ready=False, started=False)])
    assert waking.phase == DEPLOYING
    assert status([copy.deepcopy(zero)], route=route(stopped=True)).phase == STOPPED
    paused = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
              "metadata": {"name": "churn", "annotations": {"autoscaling.keda.sh/paused-replicas": "0"}}}
    assert status([zero], scaled_objects=[paused]).phase == STOPPED


def test_no_deployment_is_failed_not_deployed() -> None:
    assert status([]).phase == FAILED
    assert pod_problem(pod()) is None


def test_status_without_a_cluster_says_so(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["status", "--stack", "dev"]) == 1
    err = capsys.readouterr().err
    assert "error: stack dev: cannot read the cluster" in err and "Traceback" not in err
    # A kubeconfig whose API server does not answer.
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {token: t}}]\n")
    assert main(["status", "--stack", "dev", "--kubeconfig", str(kubeconfig), "--context", "c", "--json"]) == 1
    err = capsys.readouterr().err
    assert "error: stack dev: cannot reach the cluster" in err and "Traceback" not in err and " t\n" not in err
