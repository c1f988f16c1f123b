"""Safe canaries: traffic only after the candidate's rollout, per-track series, autoscalers and alerts."""

from __future__ import annotations

import re

from serving.observability import metrics
from serving.observability.alerts import model_alert_rules

from .conftest import repo_stack
from .test_model import model_entry, objects, plan_of, repo_config

NS = "team-tabular"


def _cluster_regex(ref: metrics.ModelRef) -> re.Pattern[str]:
    (pattern,) = re.findall(r'envoy_cluster_name=~"([^"]+)"', ref.envoy())
    return re.compile(pattern)


def test_each_track_counts_only_its_own_envoy_cluster() -> None:
    ref = metrics.ModelRef(NS, "churn")
    # Cluster names Envoy Gateway v1.9.0 gives a route with one backend, per-backendRef clusters, and a mirror.
    whole, primary, canary, mirror = (f"httproute/{NS}/churn/rule/0", f"httproute/{NS}/churn/rule/0/backend/0",
                                      f"httproute/{NS}/churn/rule/0/backend/1", f"httproute/{NS}/churn/rule/0-mirror-1")
    match = {t: _cluster_regex(ref.for_track(t)) for t in (None, "primary", "canary", "shadow")}
    assert [bool(match[None].fullmatch(n)) for n in (whole, primary, canary, mirror)] == [True, True, True, False]
    assert [bool(match["primary"].fullmatch(n)) for n in (whole, primary, canary, mirror)] == [True, True, False, False]
    assert [bool(match["canary"].fullmatch(n)) for n in (whole, primary, canary, mirror)] == [False, False, True, False]
    assert [bool(match["shadow"].fullmatch(n)) for n in (whole, primary, canary, mirror)] == [False, False, False, True]


def test_canary_gets_traffic_after_its_rollout_and_separate_clusters(dev) -> None:
    (route_state,) = [s for s in dev.resources if s.name == "dev-model-churn-route" and s.type.endswith("HTTPRoute")]
    deps = {d.rsplit("::", 1)[-1] for d in route_state.dependencies}
    assert "dev-model-churn-canary-deployment" in deps, "weights change only once the canary is rolled out"
    (route,) = objects(dev, "churn", "HTTPRoute").values()
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("churn", 80), ("churn-canary", 20)]
    # A filter per backendRef: Envoy Gateway gives each its own cluster (rule/0/backend/0 and /1).
    tracks = [b["filters"][0]["requestHeaderModifier"]["set"][-1]["value"] for b in backends]
    assert tracks == ["primary", "canary"]


def test_canary_autoscales_on_its_own_share(stack_root) -> None:
    doc = repo_stack("dev")
    churn_doc = model_entry(doc, "churn")
    churn_doc["canary"]["weight"] = 50  # half of maxReplicas 3: up to 2 canary replicas
    plan = plan_of(stack_root, doc)
    autoscalers = {**objects(plan, "churn", "HorizontalPodAutoscaler"), **objects(plan, "churn", "ScaledObject")}
    assert set(autoscalers) == {"churn", "churn-canary"}
    canary = autoscalers["churn-canary"]["spec"]
    assert canary["scaleTargetRef"]["name"] == "churn-canary"
    assert (canary["minReplicas"], canary["maxReplicas"]) == (1, 2)
    assert "replicas" not in objects(plan, "churn", "Deployment")["churn-canary"]["spec"], "the autoscaler owns it"
    # At 20% of 3 replicas the canary's share rounds to its own single replica: a fixed size, no autoscaler.
    dev = repo_config("dev").model("churn")
    assert dev.candidate_max_replicas(dev.canary) == 1


def test_primary_slo_and_alerts_count_only_its_backend_and_a_canary_pages_as_itself() -> None:
    churn = repo_config("dev").model("churn")
    groups = model_alert_rules(churn, NS)
    records = groups[0]["rules"]
    assert {r["labels"]["track"] for r in records} == {"primary", "canary"}
    primary = [r["expr"] for r in records if r["labels"]["track"] == "primary"]
    assert all("(/backend/0)?" in e and "/backend/1" not in e for e in primary)
    canary_alerts = [a for a in groups[1]["rules"] if a["labels"].get("track") == "canary"]
    assert canary_alerts and all('track="canary"' in a["expr"] for a in canary_alerts)
    assert all(a["annotations"]["summary"].startswith("Model the canary of churn") for a in canary_alerts)
    # The primary's autoscaler signal is the primary's own traffic too.
    queries = metrics.queries(metrics.ModelRef(NS, "churn", track="primary"))
    assert "(/backend/0)?" in queries["requestRate"]
