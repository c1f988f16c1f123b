"""The cost estimate: from what the plan deploys, with dated prices, unknowns listed and never guessed."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from serving.catalog import prices
from serving.plan import capture_plan, render_tree
from serving.plan.compute.cost import estimate
from serving.plan.present.cost import method_note, signed
from serving.plan.compute.diff import diff_plans
from serving.plan.present.diff import render_text
from serving.plan.present.markdown import render_markdown
from serving.plan.model import ResourceState
from tests.conftest import REPO, copy_program, platform_of, repo_stack

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def _root(path: Path, doc: dict) -> Path:
    path.mkdir(parents=True)
    copy_program(path)
    (path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _node_group(types: list[str], capacity: str = "ON_DEMAND", min_size: int = 1, desired: int = 2, disk: int = 50,
                pool: str = "p") -> ResourceState:
    return ResourceState(
        urn=f"urn:pulumi:dev::serving::aws:eks/nodeGroup:NodeGroup::{pool}", type=NODE_GROUP, name=pool, custom=True,
        inputs={"instanceTypes": types, "capacityType": capacity, "diskSize": disk, "region": "us-east-1",
                "scalingConfig": {"minSize": min_size, "desiredSize": desired, "maxSize": 5},
                "labels": {"serving.platform/pool": pool}},
    )


def test_pool_resize_shows_its_cost_delta(tmp_path: Path) -> None:
    base = repo_stack("dev")
    system = platform_of(base)["nodePools"]["system"]
    size = max(int(system.get("minSize", 2)), int(system.get("desiredSize") or 0))
    system["minSize"] = system["desiredSize"] = size
    system["maxSize"] = max(int(system.get("maxSize", size)), size + 2)
    head = copy.deepcopy(base)
    platform_of(head)["nodePools"]["system"]["minSize"] = size + 2
    platform_of(head)["nodePools"]["system"]["desiredSize"] = size + 2

    diff = diff_plans(capture_plan("dev", _root(tmp_path / "b", base)), capture_plan("dev", _root(tmp_path / "h", head)))

    [group] = [s for s in diff.head.by_type(NODE_GROUP) if s.inputs["labels"].get("serving.platform/pool") == "system"]
    region = platform_of(base)["cluster"]["eks"]["region"]
    node = prices.instance_hourly(group.inputs["instanceTypes"][0], region)
    assert node is not None, "the system pool's instance type must be in the price table"
    disk = platform_of(base)["nodePools"]["system"].get("diskSizeGib", 50)
    per_node = node + disk * prices.gp3_gib_hourly(region)
    assert diff.cost.hourly_desired == pytest.approx(2 * per_node, abs=1e-3)
    assert diff.cost.hourly_min == pytest.approx(2 * per_node, abs=1e-3)
    assert diff.cost.monthly_desired == pytest.approx(2 * per_node * 730, abs=0.5)
    text = render_text(diff)
    assert f"Cost: {signed(diff.cost.hourly_desired)}" in text
    assert "node pool system:" in text and f"as of {prices.AS_OF}" in text
    assert f"+${diff.cost.monthly_desired:,.2f}/mo" in render_markdown([diff])


def test_unknown_instance_type_is_listed_unpriced_never_guessed() -> None:
    report = estimate([_node_group(["m7i.large"], pool="known"), _node_group(["x99.enormous"], pool="mystery")])
    known, mystery = report.lines
    assert known.priced and known.hourly_desired == pytest.approx(2 * (0.1008 + 50 * 0.08 / 730), abs=1e-4)
    assert not mystery.priced and mystery.hourly_desired is None
    assert "x99.enormous" in mystery.unpriced
    assert report.hourly_desired == pytest.approx(known.hourly_desired)
    assert [l.label for l in report.unpriced] == ["node pool mystery"]


def test_unknown_region_is_unpriced() -> None:
    state = _node_group(["m7i.large"])
    state = dataclasses.replace(state, inputs={**state.inputs, "region": "ap-nowhere-9"})
    [line] = estimate([state]).lines
    assert not line.priced and "ap-nowhere-9" in line.unpriced


def test_spot_pool_is_an_upper_bound_at_the_dearest_on_demand_price() -> None:
    [line] = estimate([_node_group(["g5.xlarge", "g5.2xlarge"], capacity="SPOT", min_size=0, desired=1, disk=100)]).lines
    assert line.upper_bound and line.hourly_min == 0
    assert line.hourly_desired == pytest.approx(prices.instance_hourly("g5.2xlarge", "us-east-1") + 100 * 0.08 / 730, abs=1e-4)
    report = estimate([_node_group(["g5.xlarge"], capacity="SPOT", min_size=0, desired=1)])
    assert report.upper_bound


def test_on_demand_pool_is_priced_at_its_first_instance_type() -> None:
    [line] = estimate([_node_group(["g6.xlarge", "g5.xlarge"], min_size=1, desired=1, disk=20)]).lines
    assert line.hourly_desired == pytest.approx(prices.instance_hourly("g6.xlarge", "us-east-1") + 20 * 0.08 / 730, abs=1e-4)


def test_cost_comes_from_the_plan_nat_gateways_and_load_balancers() -> None:
    doc = repo_stack("prod")
    plan = capture_plan("prod", REPO)
    report = estimate(plan.resources)
    nats = [l for l in report.lines if l.kind == "nat-gateway"]
    assert len(nats) == len(plan.by_type("aws:ec2/natGateway:NatGateway")) >= 1
    assert all(l.hourly_desired == prices.NAT_GATEWAY.usd for l in nats)
    assert [l.kind for l in report.lines].count("control-plane") == 1
    if platform_of(doc)["cluster"]["eks"].get("natGateways") == "perAz":
        assert len(nats) == platform_of(doc)["cluster"]["eks"].get("availabilityZones", 2)


def test_plain_plan_output_has_a_cost_section() -> None:
    plan = capture_plan("dev", REPO)
    text = render_tree(plan)
    section = text.split("Cost estimate", 1)[1]
    assert "node pool system" in section and "total" in section
    assert f"as of {prices.AS_OF}" in section


def test_every_price_row_says_what_it_was_checked_against() -> None:
    rows = prices.rows()
    assert set(prices.known_instance_types()) <= set(rows)
    assert [name for name, p in rows.items() if not (p.checked or p.unverified)] == []


def test_unverified_region_prices_are_flagged_in_the_estimate() -> None:
    report = estimate([_node_group(["g5.xlarge"], min_size=1, desired=1)])
    assert "NOT VERIFIED" not in method_note(report)  # us-east-1: every row checked
    west = dataclasses.replace(report, region="us-west-2")
    assert "NOT VERIFIED: us-west-2 prices" in method_note(west)
