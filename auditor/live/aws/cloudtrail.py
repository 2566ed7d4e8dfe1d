"""CloudTrail: who last changed what drift compares, from the management events of the
last 90 days (``LookupEvents``, read-only).

The runbook's emergency calls are few (authorize or revoke a security group rule, modify a
DB parameter group, update a node group's scaling, modify a target group's health check),
so the events are looked up by name (one lookup attribute per call is all the API takes),
only for the kinds Terraform declares here, page by page, at most 2 calls a second (the
API's limit per account and region; a throttled call is retried by botocore's standard
mode). Of each event only the call, its time, the caller (ARN, else user name), the
resource it names and, for a parameter group, the parameter names are kept: no other
request parameter, no response. Everything is one ``CloudTrailEvents`` resource, so an
audit of a snapshot knows that CloudTrail was read even where nothing matched. A lookup
that is not permitted makes that kind unavailable with the reason; the drift findings say
so and keep their status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.live.aws.api import Api, iso, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource

KIND = "CloudTrailEvents"
KINDS = (KIND,)
SERVICES = ("cloudtrail",)
WINDOW = timedelta(days=90)  # what LookupEvents holds
CALLS_PER_SECOND = 2.0
MAX_PAGES = 10  # per event name: the 500 latest calls of it are plenty to find the last one
MAX_EVENTS = 1000  # kept in all
# event name -> (the kind it changes, the command that makes it, the field it changes)
EVENTS: dict[str, tuple[str, str, str | None]] = {
    "AuthorizeSecurityGroupIngress": ("SecurityGroup",
                                      "aws ec2 authorize-security-group-ingress", "ingress"),
    "RevokeSecurityGroupIngress": ("SecurityGroup", "aws ec2 revoke-security-group-ingress",
                                   "ingress"),
    "AuthorizeSecurityGroupEgress": ("SecurityGroup", "aws ec2 authorize-security-group-egress",
                                     "egress"),
    "RevokeSecurityGroupEgress": ("SecurityGroup", "aws ec2 revoke-security-group-egress",
                                  "egress"),
    "ModifySecurityGroupRules": ("SecurityGroup", "aws ec2 modify-security-group-rules", None),
    "ModifyDBParameterGroup": ("DBParameterGroup", "aws rds modify-db-parameter-group",
                               "parameters"),
    "ResetDBParameterGroup": ("DBParameterGroup", "aws rds reset-db-parameter-group",
                              "parameters"),
    "UpdateNodegroupConfig": ("Nodegroup", "aws eks update-nodegroup-config", "scaling_config"),
    "ModifyTargetGroup": ("TargetGroup", "aws elbv2 modify-target-group", "health_check"),
}
TRACKED = frozenset(kind for kind, _, _ in EVENTS.values())
_WANTED = {"SecurityGroup": "security_groups", "DBParameterGroup": "parameter_groups",
           "Nodegroup": "nodegroups", "TargetGroup": "target_groups"}


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if _kinds(t) else ()


def _kinds(t: Targets) -> set[str]:
    return {kind for kind, attr in _WANTED.items() if getattr(t, attr)} | (
        {"Nodegroup"} if t.clusters else set())


def collect(api: Api, t: Targets, now: Callable[[], datetime] = lambda: datetime.now(UTC)
            ) -> LiveCollected:
    out = LiveCollected()
    kinds = _kinds(t)
    end = now()
    read(out, KINDS, lambda: [_events(api, [n for n, (k, _, _) in EVENTS.items()
                                            if k in kinds], end)])
    return out


def _events(api: Api, names: list[str], end: datetime) -> Resource:
    pace = _Pace(CALLS_PER_SECOND)
    kept: list[dict[str, Any]] = []
    for name in names:
        token: str | None = None
        for _ in range(MAX_PAGES):
            pace.wait()
            params: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
                "StartTime": end - WINDOW, "EndTime": end, "MaxResults": 50}
            if token:
                params["NextToken"] = token
            try:
                page = api.call("cloudtrail", "lookup_events", **params) or {}
            finally:
                pace.done()
            kept += [e for raw in page.get("Events") or [] if (e := _kept(raw)) is not None]
            token = page.get("NextToken")
            if not token:
                break
    kept.sort(key=lambda e: e["at"], reverse=True)
    return api.resource(KIND, "cloudtrail", {"window_days": WINDOW.days,
                                             "events": kept[:MAX_EVENTS]})


class _Pace:
    """At most ``rate`` calls a second: each call starts a gap after the previous one
    ended, so botocore's retries of a throttled call (which it makes within the call) do
    not crowd the next one into the same second."""

    def __init__(self, rate: float) -> None:
        self.gap, self.last = 1.0 / rate, float("-inf")

    def wait(self) -> None:
        delay = self.last + self.gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def done(self) -> None:
        self.last = time.monotonic()


def _kept(raw: Any) -> dict[str, Any] | None:
    """What is kept of one event: the call, when, who, what it changed. None for an event
    that names no resource of a kind looked up."""
    if not isinstance(raw, dict) or raw.get("EventName") not in EVENTS:
        return None
    kind, via, field = EVENTS[raw["EventName"]]
    try:
        record = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        record = {}
    record = record if isinstance(record, dict) else {}
    params = record.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    target = _target(kind, params)
    at = raw.get("EventTime")
    if target is None or not isinstance(at, datetime):
        return None
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    actor = identity.get("arn") or raw.get("Username") or identity.get("principalId")
    return {"call": raw["EventName"], "via": via, "at": iso(at), "target_kind": kind,
            "target": target, "actor": str(actor)[:300] if actor else None,
            "fields": _fields(raw["EventName"], field, params)}


def _target(kind: str, params: dict[str, Any]) -> str | None:
    """The resource the call changed, as the collector names it (an id or a name)."""
    if kind == "SecurityGroup":
        nested = params.get("ModifySecurityGroupRulesRequest")
        value = (nested.get("GroupId") if isinstance(nested, dict) else None) or \
            params.get("groupId") or params.get("groupName")
    elif kind == "DBParameterGroup":
        value = params.get("dBParameterGroupName")
    elif kind == "Nodegroup":
        value = params.get("nodegroupName")
    else:  # a target group's ARN ends in targetgroup/NAME/ID
        arn = params.get("targetGroupArn")
        value = arn.split(":targetgroup/", 1)[1].split("/", 1)[0] \
            if isinstance(arn, str) and ":targetgroup/" in arn else None
    return value[:255] if isinstance(value, str) and value else None


def _fields(event: str, field: str | None, params: dict[str, Any]) -> list[str]:
    """The drift fields the call changed; [] when it could be any of the resource's."""
    if field == "parameters":
        listed = params.get("parameters")
        names = [p.get("parameterName") for p in listed if isinstance(p, dict)] \
            if isinstance(listed, list) else []
        return [f"parameters.{n}" for n in names if isinstance(n, str)][:100]
    if field == "scaling_config" and "scalingConfig" not in params:
        return ["nodegroup_config"]  # labels, taints, update config: not the scaling
    if field == "health_check" and not any(k.startswith(("healthCheck", "healthy",
                                                         "unhealthy", "matcher"))
                                           for k in params):
        return ["target_group_attributes"]
    return [field] if field else []
