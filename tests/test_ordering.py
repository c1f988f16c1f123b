"""Ordering (serving check --only ordering): an object needing a CRD, webhook or API another release installs waits
for that release; derived from the release's rendered objects."""

from __future__ import annotations

import dataclasses
from typing import Any

from serving.check import run_checks
from serving.plan.model import HELM_RELEASE_TYPE, ResourceState, make_urn

from .check_helpers import added, context
from .conftest import repo_plan

PLATFORM = "serving:platform:Platform"


def _state(type_: str, name: str, parent: str, inputs: dict[str, Any], deps: tuple[str, ...] = (), custom: bool = True) -> ResourceState:
    return ResourceState(urn=make_urn("dev", "ml-serving", parent, type_, name), type=type_, name=name, custom=custom,
                         parent=parent, inputs=inputs, dependencies=deps)


def _release_with_crd_and_webhook(parent: str, deps: tuple[str, ...] = ()) -> list[ResourceState]:
    release = _state(HELM_RELEASE_TYPE, "widgets", parent, {"name": "widgets", "namespace": "widgets"}, deps)
    crd = _state("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "widgets:widgets.example.com", release.urn, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "storage": True}]}})
    hook = _state("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", "widgets:gadget-check", release.urn, {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "gadget-check"},
        "webhooks": [{"name": "g.example.com", "rules": [{"apiGroups": ["example.org"], "apiVersions": ["v1"],
                                                           "resources": ["gadgets"], "operations": ["CREATE"]}]}]})
    return [release, crd, hook]


def _cr(api_version: str, kind: str, name: str, parent: str, deps: tuple[str, ...] = ()) -> ResourceState:
    group, version = api_version.split("/")
    return _state(f"kubernetes:{api_version}:{kind}", name, parent, {
        "apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "default"}}, deps)


def test_the_shipped_stacks_wait_for_every_api_they_use() -> None:
    for stack in ("dev", "prod", "local"):
        assert run_checks(context(stack), ["ordering"]).findings == []


def test_an_object_using_a_release_s_crd_or_webhook_must_wait_for_the_release() -> None:
    plan = repo_plan("dev")
    platform = plan.by_type(PLATFORM)[0].urn
    release, crd, hook = _release_with_crd_and_webhook(platform)
    widget = _cr("example.com/v1", "Widget", "w", platform)
    gadget = _cr("example.org/v1", "Gadget", "g", platform)
    report = run_checks(context("dev", added(plan, release, crd, hook, widget, gadget)), ["ordering"])
    found = {(f.resource, f.message) for f in report.findings}
    assert ("Widget default/w", "needs CRD Widget.example.com from release widgets but does not wait for it (add a dependency)") in found
    assert any(r == "Gadget default/g" and "webhook gadget-check" in m for r, m in found)
    # Waiting on the release, or on a component that holds it, is enough.
    ok = dataclasses.replace(widget, dependencies=(release.urn,))
    ok_gadget = dataclasses.replace(gadget, dependencies=(platform,))
    report = run_checks(context("dev", added(plan, release, crd, hook, ok, ok_gadget)), ["ordering"])
    assert report.findings == []


def test_a_release_whose_chart_uses_another_release_s_crd_must_wait_for_it() -> None:
    plan = repo_plan("dev")
    platform = plan.by_type(PLATFORM)[0].urn
    release, crd, hook = _release_with_crd_and_webhook(platform)
    other = _state(HELM_RELEASE_TYPE, "consumer", platform, {"name": "consumer", "namespace": "c"})
    widget = _cr("example.com/v1", "Widget", "consumer:w", other.urn)
    (finding,) = run_checks(context("dev", added(plan, release, crd, hook, other, widget)), ["ordering"]).findings
    assert finding.resource == "release consumer" and "release widgets" in finding.message
