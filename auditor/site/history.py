"""The history page: a trend of failing findings per report, drawn as inline SVG at build
time (no script, nothing fetched), a table of the reports, and the failing findings new
or fixed since each environment's previous report (matched by fingerprint, side and
environment).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.models import SEVERITIES, Report
from auditor.site import md
from auditor.site.dashboard import Section, finding_row
from auditor.site.reports import SiteData, changes

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 700, 16, 228  # the plot area
MAX_LABELS = 8  # date labels under the axis; every point has a tooltip


def render(data: SiteData, sections: list[Section]) -> str:
    env = md.markdown_env()
    context: dict[str, Any] = {"reports": []}
    if data.has_report:
        new, fixed = changes(data)
        context.update(
            chart=md.Md(trend_svg(data.reports)),
            reports=[_summary(r) for r in reversed(data.reports)],
            compared=any(len(data.history_of(e)) > 1 for e in data.environments),
            new=[finding_row(data, f, sections) for f in new],
            fixed=[finding_row(data, f, sections) for f in fixed],
        )
    return env.get_template("history.md.j2").render(context)


def _failing(report: Report) -> int:
    return sum(f.status == "fail" for f in report.findings)


def _when(report: Report) -> str:
    return report.generated_at.strftime("%Y-%m-%d %H:%M UTC")


def _summary(report: Report) -> dict[str, Any]:
    by_severity = Counter(f.severity for f in report.findings if f.status == "fail")
    return {"at": _when(report), "envs": ", ".join(report.environments) or "none",
            "fail": _failing(report),
            "by_severity": [by_severity.get(s, 0) for s in reversed(SEVERITIES)],
            "error": sum(f.status == "error" for f in report.findings),
            "unknown": sum(f.status == "unknown" for f in report.findings),
            "gate": report.gate.status if report.gate else "not gated"}


def trend_svg(reports: list[Report]) -> str:
    """One point per report (oldest left), y = failing findings; autoescaped template."""
    counts = [_failing(r) for r in reports]
    top = _nice_max(max(counts, default=0))
    step = (RIGHT - LEFT) / (len(reports) - 1) if len(reports) > 1 else 0.0
    every = max(1, -(-len(reports) // MAX_LABELS))  # ceil: at most MAX_LABELS labels

    def y(value: int) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * value / top, 1)

    points = []
    for i, (report, count) in enumerate(zip(reports, counts, strict=True)):
        x = round(LEFT + step * i if len(reports) > 1 else (LEFT + RIGHT) / 2, 1)
        last = i == len(reports) - 1
        points.append({"x": x, "y": y(count),
                       "tooltip": f"{_when(report)}: {count} failing",
                       "label": report.generated_at.strftime("%m-%d")
                       if i % every == 0 or last else ""})
    ticks = [{"y": y(v), "label": v} for v in range(0, top + 1, max(1, top // 4))]
    return md.html_env().get_template("trend.svg.j2").render(
        width=WIDTH, height=HEIGHT, left=LEFT, right=RIGHT, points=points, ticks=ticks)


def _nice_max(value: int) -> int:
    """A round top for the y axis (at least 4, so the ticks are whole numbers)."""
    for top in (4, 8, 12, 20, 40, 60, 100, 200, 400, 1000):
        if value <= top:
            return top
    return -(-value // 1000) * 1000
