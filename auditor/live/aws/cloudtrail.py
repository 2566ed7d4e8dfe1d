"""CloudTrail: who last changed an AWS resource that drifted, from the management events of
the last 90 days (``LookupEvents``, read-only).

Asked only about resources that drifted (:mod:`auditor.drift.trail` finds them), so an
audit where nothing drifted makes no call, and only for the calls that make such a drift:
an ingress rule only live is an ``AuthorizeSecurityGroupIngress`` (or
``ModifySecurityGroupRules``), a changed parameter a ``ModifyDBParameterGroup``, and so
on. One lookup attribute per call is all the API takes, so events are looked up by name,
newest first, page by page, at most 2 calls a second (the API's limit per account and
region; a throttled call is retried by botocore's standard mode), and filtered here to the
drifted resources before anything is kept. Of an event only the call, its time, the caller
(ARN, else user name), the resource it names and, for a parameter group, the parameter
names are kept: no other request parameter, no response. Everything is one
``CloudTrailEvents`` resource; a lookup that is not permitted makes that kind unavailable
with the reason, and the drift findings say so and keep their status.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from auditor.live.base import iso
from auditor.models import Resource

if TYPE_CHECKING:  # (boto3 is imported only when a lookup runs)
    from auditor.live.aws.api import Api

KIND = "CloudTrailEvents"
SERVICES = ("cloudtrail",)
WINDOW = timedelta(days=90)  # what LookupEvents holds
CALLS_PER_SECOND = 2.0
MAX_PAGES = 10  # per event name: the 500 latest calls of it
MAX_PER_TARGET = 20  # events kept per resource and call (the latest matter)
MAX_EVENTS = 2000  # read from a snapshot's CloudTrailEvents (what lookup keeps is fewer)
MAX_TEXT = 300  # characters of any kept string
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
_TG_ARN = re.compile(r":targetgroup/([^/]+)/")


@dataclass(frozen=True)
class Target:
    """A drifted resource: the calls that could have made its drift, and what an event
    may call it (lowercased names, ids, ARNs); ``scope`` the EKS cluster of a node group."""

    kind: str
    names: frozenset[str]
    calls: tuple[str, ...]
    scope: str | None = None


def lookup(api: Api, targets: Iterable[Target],
           now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Resource:
    """The events about ``targets``, newest first, as one ``CloudTrailEvents`` resource
    (a failed call raises CallFailed: the caller makes the kind unavailable)."""
    wanted = list(targets)
    end = now()
    pace = _Pace(CALLS_PER_SECOND)
    kept: list[dict[str, Any]] = []
    complete = True
    for name in sorted({c for t in wanted for c in t.calls}):
        mine = [t for t in wanted if name in t.calls]
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
            kept += [e for raw in page.get("Events") or []
                     if (e := _kept(raw, mine)) is not None]
            token = page.get("NextToken")
            if not token:
                break
        complete = complete and not token
    kept.sort(key=lambda e: e["at"], reverse=True)
    per_target: dict[tuple[str, str, str], int] = {}
    events = []
    for e in kept:
        key = (e["call"], e["target_kind"], e["target"])
        per_target[key] = per_target.get(key, 0) + 1
        if per_target[key] <= MAX_PER_TARGET:
            events.append(e)
    return api.resource(KIND, "cloudtrail", {
        "window_days": WINDOW.days, "complete": complete, "events": events})



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


def _kept(raw: Any, targets: list[Target]) -> dict[str, Any] | None:
    """What is kept of one event about one of ``targets``: the call, when, who, what it
    changed. None for any other event."""
    if not isinstance(raw, dict) or raw.get("EventName") not in EVENTS:
        return None
    kind, via, field = EVENTS[raw["EventName"]]
    try:
        record = json.loads(raw.get("CloudTrailEvent") or "{}")
    except (ValueError, RecursionError):
        record = {}
    record = record if isinstance(record, dict) else {}
    params = record.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    named, scope = _target(kind, params)
    at = raw.get("EventTime")
    target = next((t for t in targets if t.kind == kind and named is not None
                   and named.lower() in t.names and (t.scope is None or scope is None
                                                     or t.scope == scope)), None)
    if target is None or not isinstance(at, datetime):
        return None
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    actor = identity.get("arn") or raw.get("Username") or identity.get("principalId")
    return {"call": raw["EventName"], "via": via, "at": iso(at), "target_kind": kind,
            "target": named[:MAX_TEXT] if named else named, "scope": scope,
            "actor": _printable(actor), "fields": _fields(field, params)}


def _printable(value: Any) -> str | None:
    """A caller's name as recorded, if it is one: printable, bounded."""
    if not isinstance(value, str) or not value.isprintable():
        return None
    return value[:MAX_TEXT]


def _target(kind: str, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the resource the call changed, as the collector names it; its cluster)."""
    scope = None
    if kind == "SecurityGroup":
        nested = params.get("ModifySecurityGroupRulesRequest")
        value = (nested.get("GroupId") if isinstance(nested, dict) else None) or \
            params.get("groupId") or params.get("groupName")
    elif kind == "DBParameterGroup":
        value = params.get("dBParameterGroupName")
    elif kind == "Nodegroup":
        value, scope = params.get("nodegroupName"), params.get("name")
    else:  # a target group's ARN ends in targetgroup/NAME/ID
        arn = params.get("targetGroupArn")
        match = _TG_ARN.search(arn) if isinstance(arn, str) else None
        value = match.group(1) if match else None
    return (value if isinstance(value, str) and value else None,
            scope if isinstance(scope, str) else None)


def _fields(field: str | None, params: dict[str, Any]) -> list[str]:
    """The drift fields the call changed; [] when it could be any of the resource's."""
    if field == "parameters":
        listed = params.get("parameters")
        names = [p.get("parameterName") for p in listed if isinstance(p, dict)] \
            if isinstance(listed, list) else []
        return [f"parameters.{n}"[:MAX_TEXT] for n in names if isinstance(n, str)][:100]
    if field == "scaling_config" and "scalingConfig" not in params:
        return ["nodegroup_config"]  # labels, taints, update config: not the scaling
    if field == "health_check" and not any(k.startswith(("healthCheck", "healthy",
                                                         "unhealthy", "matcher"))
                                           for k in params):
        return ["target_group_attributes"]
    return [field] if field else []
