"""The CloudTrail lookup against a local LookupEvents over real HTTP (moto has none)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auditor.drift import trail
from auditor.live.aws import cloudtrail
from auditor.live.aws.api import Api, CallFailed
from auditor.live.aws.cloudtrail import Target
from auditor.live.base import LiveCollected
from auditor.models import Inventory, Resource
from tests.live.cloudtrail_fixture import CloudTrailServer, event

ONCALL = "arn:aws:sts::123456789012:assumed-role/oncall/ana"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # the reader's clock is an input
PARAMS = Target("DBParameterGroup", frozenset({"db-params"}), ("ModifyDBParameterGroup",))


def _lookup(*targets: Target) -> Resource:
    return cloudtrail.lookup(Api(None, "us-east-1", cloudtrail.SERVICES), targets,
                             now=lambda: NOW)


def _params(name: str, value: str, group: str = "db-params") -> dict[str, object]:
    return {"dBParameterGroupName": group, "parameters": [
        {"parameterName": name, "parameterValue": value, "applyMethod": "pending-reboot"}]}


def test_keeps_the_call_the_caller_and_what_changed_of_the_drifted_only(
        aws: str, cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.events += [
        event("ModifyDBParameterGroup", NOW - timedelta(days=2), actor_arn=ONCALL,
              request_parameters=_params("max_connections", "777")),
        event("ModifyDBParameterGroup", NOW - timedelta(days=1), actor_arn=ONCALL,
              request_parameters=_params("work_mem", "9", group="other-teams-params")),
        event("AuthorizeSecurityGroupIngress", NOW - timedelta(days=1), actor_arn=ONCALL,
              request_parameters={"groupId": "sg-0abc", "ipPermissions": {"items": [{
                  "ipRanges": {"items": [{"cidrIp": "203.0.113.9/32"}]}}]}}),
        event("ModifyDBParameterGroup", NOW - timedelta(days=91), actor_arn=ONCALL,
              request_parameters=_params("work_mem", "1")),  # older than the window
    ]
    sg = Target("SecurityGroup", frozenset({"sg-0abc"}), ("AuthorizeSecurityGroupIngress",))
    found = _lookup(PARAMS, sg)
    assert found.kind == "CloudTrailEvents" and found.body["complete"] is True
    assert found.body["events"] == [
        {"call": "AuthorizeSecurityGroupIngress", "via": "aws ec2 authorize-security-group-"
         "ingress", "at": "2026-06-09T12:00:00Z", "target_kind": "SecurityGroup",
         "target": "sg-0abc", "scope": None, "actor": ONCALL, "fields": ["ingress"]},
        {"call": "ModifyDBParameterGroup", "via": "aws rds modify-db-parameter-group",
         "at": "2026-06-08T12:00:00Z", "target_kind": "DBParameterGroup",
         "target": "db-params", "scope": None, "actor": ONCALL,
         "fields": ["parameters.max_connections"]}]
    text = json.dumps(found.body)
    assert "777" not in text and "203.0.113.9" not in text  # no request parameter values
    assert "other-teams-params" not in text  # nor other resources' changes, nor who made them
    # One lookup per call the drift could come from, over the 90 days up to the clock.
    asked = sorted(r.body["LookupAttributes"][0]["AttributeValue"]
                   for r in cloudtrail_server.requests)
    assert asked == ["AuthorizeSecurityGroupIngress", "ModifyDBParameterGroup"]
    assert all(r.body["EndTime"] == NOW.timestamp()
               and r.body["StartTime"] == (NOW - timedelta(days=90)).timestamp()
               for r in cloudtrail_server.requests)


def test_pages_are_followed_and_a_node_group_goes_by_its_cluster(
        aws: str, cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.page_size_cap = 2
    cloudtrail_server.events += [
        event("UpdateNodegroupConfig", NOW - timedelta(hours=h), actor_arn=ONCALL,
              request_parameters={"name": "prod" if h % 2 else "other-cluster",
                                  "nodegroupName": "general", "scalingConfig": {"maxSize": h}})
        for h in range(1, 6)]
    found = _lookup(Target("Nodegroup", frozenset({"general"}), ("UpdateNodegroupConfig",),
                           scope="prod"))
    assert [e["at"] for e in found.body["events"]] == [
        (NOW - timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in (1, 3, 5)]
    assert len(cloudtrail_server.requests) == 3


def test_a_lookup_that_stops_early_says_its_answer_is_not_the_whole_window(
        aws: str, cloudtrail_server: CloudTrailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloudtrail, "MAX_PAGES", 2)
    cloudtrail_server.page_size_cap = 1
    cloudtrail_server.events += [
        event("ModifyDBParameterGroup", NOW - timedelta(hours=h), actor_arn=ONCALL,
              request_parameters=_params("work_mem", str(h), group="busy")) for h in range(5)]
    assert _lookup(PARAMS).body["complete"] is False


def test_two_calls_a_second_at_most_and_a_throttled_call_is_retried(
        aws: str, cloudtrail_server: CloudTrailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloudtrail, "CALLS_PER_SECOND", 2.0)  # as users run it
    cloudtrail_server.rate_limit = 2  # AWS's limit per account and region
    cloudtrail_server.throttle_next = 1  # and one throttled answer anyway
    cloudtrail_server.events.append(event(
        "ModifyTargetGroup", NOW - timedelta(hours=1), actor_arn=ONCALL,
        request_parameters={"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:"
                            "targetgroup/web-tg/0123", "healthCheckPath": "/ready"}))
    sg = Target("SecurityGroup", frozenset({"sg-1"}), tuple(
        n for n, (k, _, _) in cloudtrail.EVENTS.items() if k == "SecurityGroup"))
    tg = Target("TargetGroup", frozenset({"web-tg"}), ("ModifyTargetGroup",))
    found = _lookup(sg, tg)
    assert [e["target"] for e in found.body["events"]] == ["web-tg"]
    assert found.body["events"][0]["fields"] == ["health_check"]
    throttled = cloudtrail_server.calls("ThrottlingException")
    assert len(throttled) == 1  # only the planted one: the pace never exceeded the limit
    answered = [r.at for r in cloudtrail_server.calls()]
    assert len(answered) == 6  # five security group calls and the target group's
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(answered))


def test_a_lookup_not_permitted_is_one_reason(aws: str,
                                              cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.deny = True
    with pytest.raises(CallFailed) as failed:
        _lookup(PARAMS)
    assert str(failed.value).startswith(
        "cloudtrail LookupEvents: AccessDeniedException (HTTP 400): User: ")
    assert "\n" not in str(failed.value)


# ---- what drifted decides what is asked ----------------------------------------------------

def _aws(kind: str, name: str, body: dict[str, Any], source: str) -> Resource:
    return Resource(kind, name, {"name": name, **body}, source)


def _state(declared: list[Resource], live: list[Resource]) -> tuple[Inventory, LiveCollected]:
    return (Inventory("prod", "declared", declared, names={"live_platforms": "aws"}),
            LiveCollected(resources=live))


def test_only_drifted_resources_are_asked_about_with_the_calls_of_their_drift() -> None:
    tf, live = "terraform infra", "aws us-east-1"
    declared, state = _state(
        [_aws("DBParameterGroup", "db-params", {"parameters": {"max_connections": "200"}}, tf),
         _aws("DBParameterGroup", "quiet", {"parameters": {"work_mem": "4"}}, tf),
         _aws("SecurityGroup", "db", {"ingress": [], "egress": []}, tf)],
        [_aws("DBParameterGroup", "db-params", {"parameters": {"max_connections": "500"}}, live),
         _aws("DBParameterGroup", "quiet", {"parameters": {"work_mem": "4"}}, live),
         _aws("SecurityGroup", "db", {"id": "sg-0db", "egress": [], "ingress": [{
             "protocol": "tcp", "from_port": 5432, "to_port": 5432,
             "cidr_blocks": ["10.0.0.0/8"]}]}, live)])
    targets = {t.kind: t for t in trail.drifted(declared, state)}
    assert set(targets) == {"DBParameterGroup", "SecurityGroup"}  # not the quiet group
    assert targets["DBParameterGroup"].names == {"db-params"}
    assert targets["DBParameterGroup"].calls == ("ModifyDBParameterGroup",
                                                 "ResetDBParameterGroup")
    assert targets["SecurityGroup"].names == {"db", "sg-0db"}
    assert targets["SecurityGroup"].calls == ("AuthorizeSecurityGroupIngress",
                                              "ModifySecurityGroupRules")


def test_nothing_drifted_asks_nothing() -> None:
    tf, live = "terraform infra", "aws us-east-1"
    declared, state = _state(
        [_aws("DBParameterGroup", "p", {"parameters": {"a": "1"}}, tf)],
        [_aws("DBParameterGroup", "p", {"parameters": {"a": "1"}}, live)])
    assert trail.drifted(declared, state) == []
