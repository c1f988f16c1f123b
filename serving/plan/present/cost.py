"""Printing plan cost (`serving.plan.compute.cost` computes it): the plan's cost section and a diff's cost delta."""

from __future__ import annotations

from typing import Optional

from ...catalog import prices
from ..compute.cost import CostDelta, CostReport, monthly


def money(value: Optional[float], per: str = "h") -> str:
    if value is None:
        return "unpriced"
    if per == "h":
        return f"${value:,.4f}/h" if value < 1 else f"${value:,.2f}/h"
    return f"${value:,.2f}/{per}"


def signed(value: float, per: str = "h") -> str:
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return f"{sign}{money(abs(value), per)}"


def delta_summary(delta: CostDelta) -> str:
    """One line: the change of the hourly and monthly cost."""
    bound = " (spot: upper bound)" if delta.upper_bound else ""
    return (f"{signed(delta.hourly_desired)} = {signed(delta.monthly_desired, 'mo')} at desired size, "
            f"{signed(delta.monthly_min, 'mo')} at min size{bound}")


def method_note(report: CostReport) -> str:
    unverified = prices.unverified_note(report.region)
    return (f"prices: {report.source}, as of {report.as_of}, {report.region}; 730 h/month; "
            "spot pools at most their on-demand price; traffic-based charges not included"
            + (f"; NOT VERIFIED: {unverified}" if unverified else ""))


def render_cost(report: CostReport) -> list[str]:
    """A short cost section for the plain `plan` output."""
    lines = ["Cost estimate (hourly / monthly, at min size .. desired size):"]
    width = max((len(l.label) for l in report.lines), default=0)
    for l in report.lines:
        if not l.priced:
            figures = f"unpriced: {l.unpriced}"
        else:
            bound = "<= " if l.upper_bound else ""
            figures = (f"{bound}{money(l.hourly_min)} .. {money(l.hourly_desired)}  "
                       f"({bound}{money(monthly(l.hourly_min), 'mo')} .. {money(monthly(l.hourly_desired), 'mo')})")
        lines.append(f"    {l.label:<{width}}  {figures}  [{l.detail}]")
    bound = "<= " if report.upper_bound else ""
    lines.append(
        f"    {'total':<{width}}  {bound}{money(report.hourly_min)} .. {money(report.hourly_desired)}  "
        f"({bound}{money(monthly(report.hourly_min), 'mo')} .. {money(monthly(report.hourly_desired), 'mo')})"
    )
    if report.unpriced:
        lines.append(f"    not in the total: {', '.join(l.label for l in report.unpriced)}")
    lines.append(f"    ({method_note(report)})")
    return lines


__all__ = ["delta_summary", "method_note", "money", "render_cost", "signed"]
