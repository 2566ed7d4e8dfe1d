"""Whether the load balancer has the CloudWatch alarms the runbook relies on.

The runbook's "High latency" and "5xx spike" sections start from an alarm firing; these
checks make sure the alarm exists (and, for latency, fires early enough).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from auditor.checks.base import CheckContext, Outcome, flag
from auditor.models import Resource
from auditor.quantities import parse_quantity
from auditor.unknown import Unknown

NAMESPACE = "AWS/ApplicationELB"


def alb_alarm(ctx: CheckContext) -> list[Outcome]:
    """Per application load balancer: pass when an alarm watches one of ``metrics`` on it
    (and, with ``max_threshold``, fires at or below that value); fail otherwise."""
    metrics = {str(m) for m in ctx.params["metrics"]}
    ceiling = ctx.params.get("max_threshold")
    limit = parse_quantity(ceiling) if ceiling is not None else None
    if ceiling is not None and limit is None:
        raise ValueError(f"max_threshold {ceiling!r} is not a number")
    out: list[Outcome] = []
    lbs = []
    for lb in ctx.inventory.of_kind("LoadBalancer"):
        lb_type = lb.body.get("load_balancer_type", "application")
        if isinstance(lb_type, Unknown):
            out.append(Outcome(lb, "unknown", path=("load_balancer_type",),
                               reason=lb_type))
        elif lb_type == "application":
            lbs.append(lb)
    watched = [a for a in ctx.inventory.of_kind("MetricAlarm") if _metric(a, metrics)]
    alarms = [a for a in watched if not _on_drop(a)]
    dropping = [a for a in watched if _on_drop(a)]
    for lb in lbs:
        watching = [(a, _watches(a, lb, single=len(lbs) == 1)) for a in alarms]
        mine = [a for a, w in watching if w is True]
        heard = [(a, _notifies(a)) for a in mine]
        if mine and not any(n is True for _, n in heard):
            # The alarm whose actions are not known is the one to look at.
            unsure = next(((a, n) for a, n in heard if isinstance(n, Unknown)), None)
            out.append(Outcome(unsure[0], "unknown", path=("alarm_actions",), reason=unsure[1])
                       if unsure is not None else Outcome(
                           mine[0], "fail", path=("alarm_actions",), vars={
                               **_names(lb), "problem": f"alarm {mine[0].name} watches load "
                               f"balancer {lb.name} but notifies nobody (no alarm_actions, or "
                               "actions_enabled = false)"}))
            continue
        mine = [a for a, n in heard if n is True]
        if not mine:
            doubt = next((w for _, w in watching if isinstance(w, Unknown)), None)
            if doubt is not None:
                out.append(Outcome(lb, "unknown", reason=doubt))
            else:
                problem = "no CloudWatch alarm on " + " or ".join(sorted(metrics))
                # One that fires when the value drops is there but cannot page on a spike:
                # name it, or the reader finds it and distrusts the finding.
                low = [a for a in dropping if _watches(a, lb, single=len(lbs) == 1) is True]
                if low:
                    problem += (f" that fires when it rises (alarm {low[0].name} fires only "
                                f"when it drops: {low[0].body.get('comparison_operator')})")
                out.append(Outcome(lb, "fail", vars={**_names(lb), "problem": problem}))
            continue
        if limit is None:
            out.append(Outcome(mine[0], "pass"))
            continue
        out.append(_threshold(mine, lb, limit, ceiling))
    return out


def _threshold(mine: list[Resource], lb: Resource, limit: Decimal, ceiling: Any) -> Outcome:
    """Pass on the first alarm that fires at or below ``limit``; else unknown when some
    threshold is not known, else fail on the alarm with the lowest threshold."""
    known: list[tuple[Decimal, Resource]] = []
    doubt: tuple[Resource, str] | None = None
    for alarm in mine:
        raw = alarm.body.get("threshold")
        if isinstance(raw, Unknown):
            doubt = doubt or (alarm, raw.reason)
            continue
        value = parse_quantity(raw)
        if value is None:
            band = alarm.body.get("threshold_metric_id") is not None
            doubt = doubt or (alarm, f"alarm {alarm.name} " + (
                "compares with an anomaly detection band, not a fixed threshold" if band
                else f"has no numeric threshold ({raw!r})"))
            continue
        if value <= limit:
            return Outcome(alarm, "pass")
        known.append((value, alarm))
    if doubt is not None:
        return Outcome(doubt[0], "unknown", path=("threshold",), reason=doubt[1])
    value, alarm = min(known, key=lambda pair: pair[0])
    return Outcome(alarm, "fail", path=("threshold",), vars={
        **_names(lb), "threshold": f"{value:f}",
        "problem": f"watches load balancer {lb.name} but fires only above {value:f} s, "
                   f"later than the runbook's {ceiling} s"})


def _notifies(alarm: Resource) -> bool | Unknown:
    """Whether the alarm tells anyone when it fires: actions enabled (the default) and at
    least one alarm action."""
    enabled = alarm.body.get("actions_enabled")
    if isinstance(enabled, Unknown):
        return enabled
    if flag(enabled) is False:
        return False
    actions = alarm.body.get("alarm_actions")
    if isinstance(actions, Unknown):
        return actions
    return isinstance(actions, list) and len(actions) > 0


def _names(lb: Resource) -> dict[str, str]:
    """The load balancer's name for commands, when it has one of its own (a Terraform
    resource without ``name`` is named by its address, which no CLI accepts)."""
    return {"load_balancer": lb.name} if lb.name != lb.address else {}


def _on_drop(alarm: Resource) -> bool:
    """Whether the alarm fires when the value drops: not an alarm on a spike."""
    operator = alarm.body.get("comparison_operator")
    return isinstance(operator, str) and operator.startswith("LessThan") \
        and "Greater" not in operator


def _metric(alarm: Resource, metrics: set[str]) -> bool:
    """Whether the alarm watches one of ``metrics`` in the ALB namespace, directly or in a
    metric_query (metric math)."""
    if alarm.body.get("namespace") == NAMESPACE and alarm.body.get("metric_name") in metrics:
        return True
    queries = alarm.body.get("metric_query")
    for query in queries if isinstance(queries, list) else []:
        for metric in _blocks(query.get("metric") if isinstance(query, dict) else None):
            if metric.get("namespace") == NAMESPACE and metric.get("metric_name") in metrics:
                return True
    return False


def _blocks(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, dict)]


def _dimension(alarm: Resource) -> Any:
    dims = alarm.body.get("dimensions")
    if isinstance(dims, dict) and "LoadBalancer" in dims:
        return dims["LoadBalancer"]
    queries = alarm.body.get("metric_query")
    for query in queries if isinstance(queries, list) else []:
        for metric in _blocks(query.get("metric") if isinstance(query, dict) else None):
            inner = metric.get("dimensions")
            if isinstance(inner, dict) and "LoadBalancer" in inner:
                return inner["LoadBalancer"]
    return dims if isinstance(dims, Unknown) else None


def _watches(alarm: Resource, lb: Resource, single: bool) -> bool | Unknown:
    """An alarm watches ``lb`` when its LoadBalancer dimension names it: a Terraform
    reference to it (``aws_lb.main.arn_suffix``) or its ARN suffix ``app/NAME/ID``. With a
    single load balancer, a dimension that cannot be resolved offline counts too."""
    target = _dimension(alarm)
    if isinstance(target, str) and target:
        if lb.address and target.startswith(f"{lb.address}."):
            return True
        parts = target.split("/")
        return (len(parts) >= 2 and parts[-2] == lb.name) or target in (lb.name, lb.address)
    if isinstance(target, Unknown) and target.ref and lb.address:
        # aws_lb.main.arn_suffix is only known after apply, but it names aws_lb.main.
        return target.ref.startswith(f"{lb.address}.")
    if isinstance(target, Unknown):
        return True if single else Unknown(
            f"alarm {alarm.name} watches a load balancer not known offline: {target.reason}")
    return single if target is None else False
