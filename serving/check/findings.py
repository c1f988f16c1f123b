"""What a check reports: one `Finding` per problem (resource, rule, message), mandatory or advisory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

MANDATORY = "mandatory"
ADVISORY = "advisory"


@dataclass(frozen=True, order=True)
class Finding:
    #: Which check found it: schema, checkov, policy, placement, capacity, ordering.
    kind: str
    #: What it is about: `Kind namespace/name` for a Kubernetes object, `<type token> <name>` otherwise.
    resource: str
    #: The rule broken: a checkov ID, a policy name, `schema`, `placement`, ...
    rule: str
    message: str
    level: str = MANDATORY

    @property
    def mandatory(self) -> bool:
        return self.level == MANDATORY

    def line(self) -> str:
        return f"{self.level:<9} {self.kind:<9} {self.resource}: [{self.rule}] {self.message}"


@dataclass
class Report:
    stack: str
    findings: list[Finding] = field(default_factory=list)
    #: Per check kind, how many things it looked at (objects, resources, pods): a check that saw nothing is no pass.
    checked: dict[str, int] = field(default_factory=dict)
    #: Checks that could not run (a tool missing), with the reason: shown, and a failure.
    unavailable: dict[str, str] = field(default_factory=dict)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.mandatory]

    @property
    def failed(self) -> bool:
        return bool(self.mandatory or self.unavailable)

    def lines(self) -> list[str]:
        out = [f.line() for f in sorted(self.findings, key=lambda f: (f.level != MANDATORY, f.kind, f.resource, f.rule, f.message))]
        out += [f"unavailable {kind}: {reason}" for kind, reason in sorted(self.unavailable.items())]
        return out

    def summary(self) -> str:
        levels = Counter(f.level for f in self.findings)
        seen = ", ".join(f"{kind} {n}" for kind, n in self.checked.items())
        verdict = "FAILED" if self.failed else "ok"
        return (
            f"check {self.stack}: {verdict}: {levels[MANDATORY]} mandatory, {levels[ADVISORY]} advisory finding(s)"
            + (f", {len(self.unavailable)} check(s) unavailable" if self.unavailable else "")
            + f" (checked: {seen})"
        )
