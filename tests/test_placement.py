"""Placement of shared models on fleets (serving/placement.py): deterministic, stable, and clear when nothing fits.
Pure config tests: no plan is captured here."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from serving.config import ConfigError, parse_platform
from serving.placement import place

from .conftest import platform_of
from .fleet_stack import FLEET, TEAM, fleet_stack, tabular_model

SOURCE = "Pulumi.fleet.yaml"


def placed(platform: dict[str, Any]) -> dict[str, str]:
    return place(parse_platform(platform, SOURCE)).fleet_of


def errors(platform: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform, SOURCE)
    return exc.value.errors


@pytest.fixture
def two_fleets() -> dict[str, Any]:
    """Fleets `a` (1Gi, no overcommit) and `b` (2Gi), both MLServer; five 300Mi models."""
    p = platform_of(fleet_stack(0))
    p["fleets"] = [
        {"name": "a", "team": TEAM, "runtime": "mlserver", "replicas": 1, "memory": "1Gi", "cpu": "1"},
        {"name": "b", "team": TEAM, "runtime": "mlserver", "replicas": 1, "memory": "2Gi", "cpu": "1"},
    ]
    p["models"] = [tabular_model(i, shared={"memory": "300Mi"}) for i in range(5)]
    return p


def test_twenty_models_fit_one_fleet_in_declaration_order() -> None:
    p = platform_of(fleet_stack())
    cfg = parse_platform(p, SOURCE)
    placement = place(cfg)
    assert set(placement.fleet_of.values()) == {FLEET} and len(placement.fleet_of) == 20
    assert placement.models_on(FLEET) == [m["name"] for m in p["models"]]
    # 20 x 200Mi of 4Gi x 1.25
    assert placement.loads[FLEET].used == 20 * 200 * 2**20 and placement.loads[FLEET].capacity == 5 * 2**30


def test_first_fit_fills_the_first_fleet_then_the_next(two_fleets: dict[str, Any]) -> None:
    assert placed(two_fleets) == {"tab-00": "a", "tab-01": "a", "tab-02": "a", "tab-03": "b", "tab-04": "b"}


def test_appending_a_model_moves_no_other(two_fleets: dict[str, Any]) -> None:
    before = placed(two_fleets)
    grown = copy.deepcopy(two_fleets)
    grown["models"].append(tabular_model(9, shared={"memory": "100Mi"}))  # would fit in `a`'s last 124Mi
    after = placed(grown)
    assert {k: after[k] for k in before} == before
    assert after["tab-09"] == "a"


def test_removing_a_model_frees_its_share(two_fleets: dict[str, Any]) -> None:
    smaller = copy.deepcopy(two_fleets)
    smaller["models"] = [m for m in smaller["models"] if m["name"] != "tab-04"]
    smaller["models"].append(tabular_model(9, shared={"memory": "1700Mi"}))  # b had 1448Mi free: now 1748Mi
    assert placed(smaller)["tab-09"] == "b"


def test_only_a_model_declared_after_a_removed_one_may_move_and_pinning_holds_it(two_fleets: dict[str, Any]) -> None:
    """The documented limit of stateless placement: tab-03 overflowed to `b`; removing tab-01 (before it) frees room
    in `a`, its first choice. Pinned with shared.fleet it stays."""
    smaller = copy.deepcopy(two_fleets)
    smaller["models"] = [m for m in smaller["models"] if m["name"] != "tab-01"]
    assert placed(smaller)["tab-03"] == "a"
    smaller["models"][2]["shared"]["fleet"] = "b"
    assert placed(smaller)["tab-03"] == "b"


def test_placement_is_deterministic(two_fleets: dict[str, Any]) -> None:
    assert placed(two_fleets) == placed(copy.deepcopy(two_fleets))


def test_pinned_model_goes_to_its_fleet(two_fleets: dict[str, Any]) -> None:
    two_fleets["models"][0]["shared"]["fleet"] = "b"
    assert placed(two_fleets)["tab-00"] == "b"


def test_requirements_select_capable_fleets(two_fleets: dict[str, Any]) -> None:
    two_fleets["fleets"][0]["capabilities"] = ["xgboost"]  # `a` cannot load sklearn models
    out = placed(two_fleets)
    assert {n: f for n, f in out.items() if int(n[-2:]) % 2 == 0} == {"tab-00": "b", "tab-02": "b", "tab-04": "b"}
    assert out["tab-01"] == "a"


def test_a_model_that_fits_nowhere_names_itself_the_fleets_and_the_shortfall(two_fleets: dict[str, Any]) -> None:
    two_fleets["models"].append(tabular_model(7, shared={"memory": "1500Mi"}))
    (line,) = errors(two_fleets)
    assert line.startswith(f"{SOURCE}: serving:platform.models[5].shared.memory: model 'tab-07' fits on no fleet")
    assert "a (124Mi free of 1Gi)" in line and "b (1.41Gi free of 2Gi)" in line
    assert "it needs 1.46Gi" in line and "short by 52Mi" in line


def test_no_capable_fleet_is_an_error(two_fleets: dict[str, Any]) -> None:
    two_fleets["models"][0]["runtime"] = "triton"
    two_fleets["models"][0]["artifact"] = {"uri": "s3://example-models-dev/onnx/1"}
    (line,) = errors(two_fleets)
    assert line == (f"{SOURCE}: serving:platform.models[0].shared: model 'tab-00' fits on no fleet: no fleet of team "
                    f"'{TEAM}' runs triton (declare one under fleets, or drop shared) (models[0] is tab-00)")


def test_shared_models_cannot_ask_for_dedicated_settings(two_fleets: dict[str, Any]) -> None:
    two_fleets["models"][0]["scaling"] = {"minReplicas": 1, "maxReplicas": 3}
    two_fleets["models"][1]["canary"] = {"version": "2", "weight": 10}
    lines = errors(two_fleets)
    assert any("models[0]" in line and "scaling apply to dedicated serving" in line for line in lines)
    assert any("models[1]" in line and "canary apply to dedicated serving" in line for line in lines)


def test_unknown_fleet_and_runtime_without_shared_server(two_fleets: dict[str, Any]) -> None:
    two_fleets["models"][0]["shared"]["fleet"] = "nope"
    two_fleets["models"][1].update(runtime="tfserving")
    lines = errors(two_fleets)
    assert f"{SOURCE}: serving:platform.models[0].shared.fleet: unknown fleet 'nope' (fleets: a, b) (models[0] is tab-00)" in lines
    assert any(line.startswith(f"{SOURCE}: serving:platform.models[1].shared: runtime 'tfserving' has no shared server")
               for line in lines)


def test_the_fleet_counts_in_the_team_quota_not_its_models(two_fleets: dict[str, Any]) -> None:
    two_fleets["teams"][0]["quota"]["pods"] = 3  # 2 fleets x (1 replica + 1 surge pod) = 4 pods
    (line,) = errors(two_fleets)
    assert "teams[0].quota.pods" in line and "fleet a, fleet b" in line and "4 pods" in line
