"""Ordering: whatever needs an API another release installs waits for that release (a Pulumi dependency path).

What each release provides is read from its rendered objects, never from a hand-kept list:
- the kinds its CustomResourceDefinitions define (group + kind);
- the objects its admission webhooks intercept (Validating/MutatingWebhookConfiguration rules, failurePolicy Fail:
  while the webhook's service is not up, the API server refuses those objects);
- the API groups its APIServices serve (external.metrics.k8s.io, custom.metrics.k8s.io), which HPAs on External,
  Pods or Object metrics need.

An object (the program's, or another release's: then the release waits) needing one of these must reach the
providing release through dependencies. A dependency on a component counts as one on all its children (Pulumi waits
for a component's whole subtree); a chart object waits for what its release waits for.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Optional

from ..plan import Plan, ResourceState
from .findings import Finding
from .objects import KubeObject, release_name
from .runner import CheckContext

KIND = "ordering"
_METRIC_API = {"External": "external.metrics.k8s.io", "Pods": "custom.metrics.k8s.io", "Object": "custom.metrics.k8s.io"}


def _plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith(("s", "x", "ch")):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


class Graph:
    """Who waits for whom in a plan: dependencies, expanded through components' subtrees, transitively."""

    def __init__(self, plan: Plan):
        self.states = {r.urn: r for r in plan.resources}
        self.children: dict[str, list[str]] = defaultdict(list)
        for r in plan.resources:
            if r.parent:
                self.children[r.parent].append(r.urn)
        self._cache: dict[str, frozenset[str]] = {}

    def subtree(self, urn: str) -> set[str]:
        out, todo = set(), [urn]
        while todo:
            u = todo.pop()
            if u not in out:
                out.add(u)
                todo.extend(self.children.get(u, []))
        return out

    def waits_for(self, urn: str) -> frozenset[str]:
        """Every resource `urn` waits for, directly or not."""
        if urn in self._cache:
            return self._cache[urn]
        self._cache[urn] = frozenset()  # cycles (not expected) end here
        out: set[str] = set()
        state = self.states.get(urn)
        for dep in state.dependencies if state is not None else ():
            for d in self.subtree(dep):
                out.add(d)
                out |= self.waits_for(d)
        self._cache[urn] = frozenset(out)
        return self._cache[urn]


def providers(objects: Iterable[KubeObject]) -> tuple[dict[tuple[str, str], KubeObject], list[tuple[KubeObject, set[tuple[str, str]]]], dict[str, KubeObject]]:
    """(group, kind) -> the CRD defining it; webhooks with the (group, resource) pairs they intercept; API group ->
    the APIService serving it."""
    crds: dict[tuple[str, str], KubeObject] = {}
    webhooks: list[tuple[KubeObject, set[tuple[str, str]]]] = []
    apis: dict[str, KubeObject] = {}
    for o in objects:
        spec = o.obj.get("spec") or {}
        if o.kind == "CustomResourceDefinition":
            crds[(str(spec.get("group")), str((spec.get("names") or {}).get("kind")))] = o
        elif o.kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            intercepted: set[tuple[str, str]] = set()
            for hook in o.obj.get("webhooks") or []:
                if hook.get("failurePolicy", "Fail") != "Fail":
                    continue
                for rule in hook.get("rules") or []:
                    for group in rule.get("apiGroups") or []:
                        for resource in rule.get("resources") or []:
                            if group != "*" and resource != "*":
                                intercepted.add((group, resource.split("/", 1)[0]))
            if intercepted:
                webhooks.append((o, intercepted))
        elif o.kind == "APIService" and spec.get("service") is not None:
            apis[str(spec.get("group"))] = o
    return crds, webhooks, apis


def _owner(o: KubeObject) -> Optional[ResourceState]:
    return o.release


def check_objects(plan: Plan, objects: list[KubeObject]) -> list[Finding]:
    crds, webhooks, apis = providers(objects)
    plurals = {(g, (crd.obj.get("spec") or {}).get("names", {}).get("plural") or _plural(k)): (g, k) for (g, k), crd in crds.items()}
    graph = Graph(plan)
    # (who, provider release URN) -> what is needed; `who` is the object, or the release that installs it.
    missing: dict[tuple[str, str], set[str]] = defaultdict(set)
    labels: dict[str, str] = {}
    for o in objects:
        needs: list[tuple[KubeObject, str]] = []
        crd = crds.get((o.group, o.kind))
        if crd is not None:
            needs.append((crd, f"CRD {o.kind}.{o.group}"))
        for hook, intercepted in webhooks:
            if (o.group, _plural(o.kind)) in intercepted or any(plurals.get(i) == (o.group, o.kind) for i in intercepted):
                needs.append((hook, f"webhook {hook.name}"))
        if o.kind == "HorizontalPodAutoscaler":
            for metric in (o.obj.get("spec") or {}).get("metrics") or []:
                api = _METRIC_API.get(str(metric.get("type")))
                if api is not None and api in apis:
                    needs.append((apis[api], f"API {api}"))
        for provider, what in needs:
            source = provider.release.urn if provider.release is not None else provider.state.urn
            owner = _owner(o)
            if owner is not None and provider.release is not None and owner.urn == provider.release.urn:
                continue  # the release installs both: Helm orders CRDs first, and waits on its own hooks
            waiter = owner.urn if owner is not None else o.state.urn
            if source in graph.waits_for(waiter) or source == waiter:
                continue
            if what.startswith("webhook") and waiter in graph.waits_for(source):
                continue  # created before the webhook is registered: the API server does not call it then
            labels[waiter] = f"release {release_name(owner)}" if owner is not None else o.label
            provider_label = f"release {release_name(provider.release)}" if provider.release is not None else provider.label
            labels[source] = provider_label
            missing[(waiter, source)].add(what)
    return [
        Finding(KIND, labels[waiter], "ordering",
                f"needs {', '.join(sorted(what))} from {labels[source]} but does not wait for it (add a dependency)")
        for (waiter, source), what in sorted(missing.items())
    ]


def check(ctx: CheckContext) -> list[Finding]:
    ctx.checked["ordering"] = len(ctx.objects)
    return check_objects(ctx.plan, ctx.objects)


__all__ = ["Graph", "check", "check_objects", "providers"]
