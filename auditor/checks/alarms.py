"""Whether the load balancer has the CloudWatch alarms the runbook relies on.

The runbook's "High latency" and "5xx spike" sections start from an alarm firing; these
checks make sure the alarm exists (and, for latency, fires early enough).
"""

from __future__ import annotations

from decimal import Decimal

from auditor.checks.base import CheckContext, Outcome
from auditor.models import Resource
from auditor.quantities import parse_quantity
from auditor.unknown import Unknown


def alb_alarm(ctx: CheckContext) -> list[Outcome]:
    metrics = {str(m) for m in ctx.params["metrics"]}
    ceiling = ctx.params.get("max_threshold")
    lbs = [lb for lb in ctx.inventory.of_kind("LoadBalancer")
           if lb.body.get("load_balancer_type", "application") == "application"]
    alarms = [a for a in ctx.inventory.of_kind("MetricAlarm")
              if a.body.get("namespace") == "AWS/ApplicationELB"
              and a.body.get("metric_name") in metrics]
    out = []
    for lb in lbs:
        mine = [a for a in alarms if _watches(a, lb, single=len(lbs) == 1)]
        if not mine:
            out.append(Outcome(lb, "fail", vars={"problem": "no alarm on "
                                                 + " or ".join(sorted(metrics))}))
            continue
        if ceiling is None:
            out.append(Outcome(mine[0], "pass"))
            continue
        limit = parse_quantity(ceiling) or Decimal(0)
        thresholds = [a.body.get("threshold") for a in mine]
        if any(isinstance(t, Unknown) for t in thresholds) and not any(
                _at_most(t, limit) for t in thresholds):
            reason = next(t for t in thresholds if isinstance(t, Unknown))
            out.append(Outcome(mine[0], "unknown", path=("threshold",),
                               reason=reason.reason))  # type: ignore[union-attr]
        elif any(_at_most(t, limit) for t in thresholds):
            out.append(Outcome(mine[0], "pass"))
        else:
            out.append(Outcome(mine[0], "fail", path=("threshold",), vars={
                "problem": f"alarm {mine[0].name} fires above {thresholds[0]} s, later than "
                           f"the runbook's {ceiling} s"}))
    return out


def _at_most(threshold: object, limit: Decimal) -> bool:
    value = parse_quantity(threshold)
    return value is not None and value <= limit


def _watches(alarm: Resource, lb: Resource, single: bool) -> bool:
    """An alarm watches ``lb`` when its LoadBalancer dimension names it; with a single load
    balancer, an alarm whose dimension cannot be resolved offline counts too."""
    dims = alarm.body.get("dimensions")
    target = dims.get("LoadBalancer") if isinstance(dims, dict) else None
    if isinstance(target, str) and target:
        return lb.name in target or bool(lb.address and lb.address in target)
    return single
