"""The history page: a trend of failing findings per report, one line per environment
(reports of different environments are never mixed in one line) with a legend, drawn as
inline SVG at build time (no script, nothing fetched), a table of the reports, and the
failing findings new or fixed since each environment's previous report (matched by
fingerprint, side and environment; "fixed" only on a side the newer report checked).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.models import SEVERITIES, Report
from auditor.site import md
from auditor.site.dashboard import Section, finding_row
from auditor.site.reports import SiteData, changes

WIDTH, HEIGHT = 720, 276
LEFT, RIGHT, TOP, BOTTOM = 44, 700, 32, 244  # the plot area
LEGEND_Y = 14  # the legend (one entry per environment) above the plot
COLORS = ("#d32f2f", "#1976d2", "#388e3c", "#f57c00", "#7b1fa2", "#455a64")
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
    """One series per environment (each report covering it is a point, y = its failing
    findings in that environment), x by report time (oldest left), a legend naming the
    environments; autoescaped template."""
    envs = sorted({e for r in reports for e in r.environments})
    series = [(env, [(r, sum(f.status == "fail" and f.environment == env for f in r.findings))
                     for r in reports if env in r.environments]) for env in envs]
    top = _nice_max(max((n for _, pts in series for _, n in pts), default=0))
    times = sorted({r.generated_at for r in reports})
    first, span = (times[0], (times[-1] - times[0]).total_seconds()) if times else (None, 0.0)

    def x(report: Report) -> float:
        if first is None or span <= 0:
            return round((LEFT + RIGHT) / 2, 1)
        return round(LEFT + (RIGHT - LEFT) * (report.generated_at - first).total_seconds()
                     / span, 1)

    def y(value: int) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * value / top, 1)

    lines = []
    for i, (env, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        lines.append({
            "env": env, "color": color,
            "legend_x": LEFT + 8 + 130 * i, "legend_y": LEGEND_Y,
            "points": [{"x": x(r), "y": y(n),
                        "tooltip": f"{_when(r)}: {n} failing in {env}"} for r, n in pts]})
    # date labels: one per distinct day (the first report of it), at most MAX_LABELS
    days: dict[str, float] = {}
    for r in sorted(reports, key=lambda r: r.generated_at):
        days.setdefault(r.generated_at.strftime("%m-%d"), x(r))
    every = max(1, -(-len(days) // MAX_LABELS))  # ceil: at most MAX_LABELS labels
    items = list(days.items())
    labels = [{"x": lx, "label": label} for i, (label, lx) in enumerate(items)
              if i % every == 0 or i == len(items) - 1]
    ticks = [{"y": y(v), "label": v} for v in range(0, top + 1, max(1, top // 4))]
    return md.html_env().get_template("trend.svg.j2").render(
        width=WIDTH, height=HEIGHT, left=LEFT, right=RIGHT, series=lines, labels=labels,
        ticks=ticks, reports=len(reports))


def _nice_max(value: int) -> int:
    """A round top for the y axis (at least 4, so the ticks are whole numbers)."""
    for top in (4, 8, 12, 20, 40, 60, 100, 200, 400, 1000):
        if value <= top:
            return top
    return -(-value // 1000) * 1000
