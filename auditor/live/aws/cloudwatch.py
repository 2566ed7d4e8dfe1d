"""CloudWatch metric alarms: the ones Terraform declares, and every alarm on a load
balancer metric.

The alarm checks ask whether *some* alarm watches the load balancer, and an on-call
engineer may have added one in the console, so one paginated listing keeps the declared
names and every alarm in the ``AWS/ApplicationELB`` namespace (directly or in metric math).
An alarm takes the Terraform shape of ``aws_cloudwatch_metric_alarm``: dimensions as a
name -> value map, metric math as ``metric_query`` blocks.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws.api import Api, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource

KINDS = ("MetricAlarm",)
SERVICES = ("cloudwatch",)
ALB_NAMESPACE = "AWS/ApplicationELB"
# API field -> Terraform attribute, for the plain values of an alarm.
_FIELDS = {"Namespace": "namespace", "MetricName": "metric_name", "Threshold": "threshold",
           "ComparisonOperator": "comparison_operator", "Statistic": "statistic",
           "ExtendedStatistic": "extended_statistic", "Period": "period",
           "EvaluationPeriods": "evaluation_periods", "DatapointsToAlarm": "datapoints_to_alarm",
           "TreatMissingData": "treat_missing_data", "ThresholdMetricId": "threshold_metric_id",
           # Who hears it: an alarm that notifies nobody does not wake the on-call.
           "ActionsEnabled": "actions_enabled", "AlarmActions": "alarm_actions"}


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.alarms or t.load_balancers else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    read(out, KINDS, lambda: _alarms(api, set(t.alarms)))
    return out


def _alarms(api: Api, names: set[str]) -> list[Resource]:
    alarms = api.pages("cloudwatch", "describe_alarms", "MetricAlarms",
                       AlarmTypes=["MetricAlarm"])
    return [api.resource("MetricAlarm", a["AlarmName"], _body(a)) for a in alarms
            if a.get("AlarmName") in names or _on_load_balancer(a)]


def _on_load_balancer(alarm: dict[str, Any]) -> bool:
    metrics = [(q.get("MetricStat") or {}).get("Metric") or {} for q in alarm.get("Metrics") or []]
    return any(m.get("Namespace") == ALB_NAMESPACE for m in [alarm, *metrics])


def _body(alarm: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"alarm_name": alarm["AlarmName"]}
    body.update({tf: alarm[api] for api, tf in _FIELDS.items() if alarm.get(api) is not None})
    body["dimensions"] = _dimensions(alarm.get("Dimensions"))
    queries = [_query(q) for q in alarm.get("Metrics") or []]
    if queries:
        body["metric_query"] = queries
    return body


def _dimensions(raw: Any) -> dict[str, Any]:
    return {d["Name"]: d.get("Value") for d in raw or [] if "Name" in d}


def _query(q: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.get("Id"), "return_data": q.get("ReturnData", True)}
    if q.get("Expression"):
        out["expression"] = q["Expression"]
    stat = q.get("MetricStat")
    if stat:
        metric = stat.get("Metric") or {}
        out["metric"] = {"namespace": metric.get("Namespace"),
                         "metric_name": metric.get("MetricName"),
                         "dimensions": _dimensions(metric.get("Dimensions")),
                         "period": stat.get("Period"), "stat": stat.get("Stat")}
    return out
