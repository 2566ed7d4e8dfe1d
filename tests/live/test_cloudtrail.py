"""The CloudTrail reader against a local LookupEvents over real HTTP (moto has none)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from auditor.live.aws import cloudtrail
from auditor.live.aws.api import Api
from auditor.live.aws.targets import Targets
from tests.live.cloudtrail_fixture import CloudTrailServer, event

ONCALL = "arn:aws:sts::123456789012:assumed-role/oncall/ana"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # the reader's clock is an input


def _read(targets: Targets) -> cloudtrail.LiveCollected:
    api = Api(None, "us-east-1", cloudtrail.SERVICES)
    return cloudtrail.collect(api, targets, now=lambda: NOW)


def _params(name: str, value: str, group: str = "db-params") -> dict[str, object]:
    return {"dBParameterGroupName": group, "parameters": [
        {"parameterName": name, "parameterValue": value, "applyMethod": "pending-reboot"}]}


def test_keeps_the_call_the_caller_and_what_changed_nothing_else(
        aws: str, cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.events += [
        event("ModifyDBParameterGroup", NOW - timedelta(days=2), actor_arn=ONCALL,
              request_parameters=_params("max_connections", "777")),
        event("AuthorizeSecurityGroupIngress", NOW - timedelta(days=1), actor_arn=ONCALL,
              request_parameters={"groupId": "sg-0abc", "ipPermissions": {"items": [{
                  "ipRanges": {"items": [{"cidrIp": "203.0.113.9/32"}]}}]}}),
        event("ModifyDBParameterGroup", NOW - timedelta(days=91), actor_arn=ONCALL,
              request_parameters=_params("work_mem", "1")),  # older than the window
    ]
    found = _read(Targets(parameter_groups=["db-params"], security_groups=["sg-0abc"]))
    assert found.unavailable == {}
    [trail] = found.resources
    assert trail.body["events"] == [
        {"call": "AuthorizeSecurityGroupIngress", "via": "aws ec2 authorize-security-group-"
         "ingress", "at": "2026-06-09T12:00:00Z", "target_kind": "SecurityGroup",
         "target": "sg-0abc", "actor": ONCALL, "fields": ["ingress"]},
        {"call": "ModifyDBParameterGroup", "via": "aws rds modify-db-parameter-group",
         "at": "2026-06-08T12:00:00Z", "target_kind": "DBParameterGroup",
         "target": "db-params", "actor": ONCALL, "fields": ["parameters.max_connections"]}]
    text = json.dumps(trail.body)
    assert "777" not in text and "203.0.113.9" not in text  # no request parameter values
    # Only the events of the kinds declared here are asked for, one name per call.
    asked = [r.body["LookupAttributes"][0]["AttributeValue"] for r in cloudtrail_server.requests]
    assert sorted(asked) == sorted(n for n, (k, _, _) in cloudtrail.EVENTS.items()
                                   if k in ("SecurityGroup", "DBParameterGroup"))
    assert all(r.body["EndTime"] == NOW.timestamp()
               and r.body["StartTime"] == (NOW - timedelta(days=90)).timestamp()
               for r in cloudtrail_server.requests)


def test_pages_are_followed(aws: str, cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.page_size_cap = 2
    cloudtrail_server.events += [
        event("UpdateNodegroupConfig", NOW - timedelta(hours=h), actor_arn=ONCALL,
              request_parameters={"name": "c", "nodegroupName": "general",
                                  "scalingConfig": {"maxSize": h}}) for h in range(1, 6)]
    found = _read(Targets(nodegroups=[("c", "general")]))
    assert [e["at"] for e in found.resources[0].body["events"]] == [
        (NOW - timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in range(1, 6)]
    assert len(cloudtrail_server.requests) == 3


def test_two_calls_a_second_at_most_and_a_throttled_call_is_retried(
        aws: str, cloudtrail_server: CloudTrailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloudtrail, "CALLS_PER_SECOND", 2.0)  # as users run it
    cloudtrail_server.rate_limit = 2  # AWS's limit per account and region
    cloudtrail_server.throttle_next = 1  # and one throttled answer anyway
    cloudtrail_server.events.append(event(
        "ModifyTargetGroup", NOW - timedelta(hours=1), actor_arn=ONCALL,
        request_parameters={"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:"
                            "targetgroup/web-tg/0123", "healthCheckPath": "/ready"}))
    found = _read(Targets(security_groups=["sg-1"], target_groups=["web-tg"]))
    assert found.unavailable == {}
    assert [e["target"] for e in found.resources[0].body["events"]] == ["web-tg"]
    throttled = cloudtrail_server.calls("ThrottlingException")
    assert len(throttled) == 1  # only the planted one: the pace never exceeded the limit
    answered = [r.at for r in cloudtrail_server.calls()]
    assert len(answered) == 6  # five security group names and the target group's
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(answered))


def test_a_lookup_not_permitted_is_one_reason(aws: str,
                                              cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.deny = True
    found = _read(Targets(parameter_groups=["db-params"]))
    assert found.resources == []
    assert found.unavailable["CloudTrailEvents"].startswith(
        "cloudtrail LookupEvents: AccessDeniedException (HTTP 400): User: ")
    assert "\n" not in found.unavailable["CloudTrailEvents"]


def test_nothing_declared_that_it_covers_asks_nothing() -> None:
    assert cloudtrail.wanted(Targets(db_instances=["db"])) == ()
    assert cloudtrail.wanted(Targets(clusters=["c"])) == cloudtrail.KINDS
