"""The local CloudTrail of cloudtrail_fixture.py against an unmodified boto3 client over real
HTTP: if these pass, botocore parses its answers and errors as it parses AWS's."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.live.aws_fixtures import REGION, isolate
from tests.live.cloudtrail_fixture import CloudTrailServer, event
from tests.live.cloudtrail_fixture import cloudtrail_server as cloudtrail_server  # fixture

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:sts::123456789012:assumed-role/deployer/alice"
USER = "arn:aws:iam::123456789012:user/bob"
SG = {"groupId": "sg-0123456789abcdef0"}

Client = Callable[..., Any]


@pytest.fixture
def cloudtrail(cloudtrail_server: CloudTrailServer, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> Client:
    """Makes boto3 cloudtrail clients of the server, routed as a user's would be: through
    AWS_ENDPOINT_URL_CLOUDTRAIL, with dummy credentials and nothing else of the machine's."""
    for var in list(os.environ):
        if var.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cloudtrail_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    isolate(monkeypatch, tmp_path)

    def make(**retries: Any) -> Any:
        config = Config(retries=retries or {"mode": "standard", "total_max_attempts": 1},
                        connect_timeout=2, read_timeout=5)
        return boto3.Session().client("cloudtrail", config=config)

    return make


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_paginator_returns_every_event_newest_first(
        cloudtrail_server: CloudTrailServer, cloudtrail: Client) -> None:
    times = [T0 + timedelta(minutes=m) for m in (5, 1, 3, 0, 6, 2, 4)]
    cloudtrail_server.events += [event("AuthorizeSecurityGroupIngress", t, actor_arn=ROLE,
                                       request_parameters=SG) for t in times]
    cloudtrail_server.page_size_cap = 3

    pages = list(cloudtrail().get_paginator("lookup_events").paginate())

    assert [len(p["Events"]) for p in pages] == [3, 3, 1]
    got = [e["EventTime"] for p in pages for e in p["Events"]]
    assert got == sorted(times, reverse=True)  # botocore parsed epoch seconds into datetimes
    assert len({e["EventId"] for p in pages for e in p["Events"]}) == 7
    bodies = [r.body for r in cloudtrail_server.requests]
    assert "NextToken" not in bodies[0] and all("NextToken" in b for b in bodies[1:])
    assert [r.status for r in cloudtrail_server.requests] == [200, 200, 200]


def test_endpoint_url_routes_a_client_too(cloudtrail_server: CloudTrailServer) -> None:
    cloudtrail_server.events.append(event("ModifyDBParameterGroup", T0, actor_arn=USER,
                                          user_type="IAMUser", request_parameters={}))
    client = boto3.client("cloudtrail", endpoint_url=cloudtrail_server.url, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    (only,) = client.lookup_events()["Events"]

    assert (only["EventSource"], only["Username"]) == ("rds.amazonaws.com", "bob")


def test_lookup_attributes_filter_by_event_name_and_resource_name(
        cloudtrail_server: CloudTrailServer, cloudtrail: Client) -> None:
    cloudtrail_server.events += [
        event("AuthorizeSecurityGroupIngress", T0, actor_arn=ROLE, request_parameters=SG,
              resources=[("AWS::EC2::SecurityGroup", "sg-0123456789abcdef0")]),
        event("ModifyDBParameterGroup", T0 + timedelta(minutes=1), actor_arn=ROLE,
              request_parameters={"dBParameterGroupName": "chess-pg"},
              resources=[{"ResourceType": "AWS::RDS::DBParameterGroup",
                          "ResourceName": "chess-pg"}]),
        event("RevokeSecurityGroupIngress", T0 + timedelta(minutes=2), actor_arn=ROLE,
              request_parameters=SG, resources=[("AWS::EC2::SecurityGroup", "sg-other")]),
    ]
    client = cloudtrail()

    def names(key: str, value: str) -> list[str]:
        attributes = [{"AttributeKey": key, "AttributeValue": value}]
        return [e["EventName"] for e in client.lookup_events(LookupAttributes=attributes)["Events"]]

    assert names("EventName", "ModifyDBParameterGroup") == ["ModifyDBParameterGroup"]
    assert names("ResourceName", "sg-0123456789abcdef0") == ["AuthorizeSecurityGroupIngress"]
    assert names("ResourceName", "sg-0123") == []  # exact match, as in AWS
    assert names("EventSource", "ec2.amazonaws.com") == ["RevokeSecurityGroupIngress",
                                                         "AuthorizeSecurityGroupIngress"]
    assert names("Username", "alice") == ["RevokeSecurityGroupIngress",
                                          "ModifyDBParameterGroup",
                                          "AuthorizeSecurityGroupIngress"]


def test_time_window_is_inclusive(cloudtrail_server: CloudTrailServer,
                                  cloudtrail: Client) -> None:
    cloudtrail_server.events += [event("ModifyTargetGroup", T0 + timedelta(minutes=m),
                                       actor_arn=ROLE, request_parameters={}) for m in range(5)]

    found = cloudtrail().lookup_events(StartTime=T0 + timedelta(minutes=1),
                                       EndTime=T0 + timedelta(minutes=3))["Events"]

    assert [e["EventTime"] for e in found] == [T0 + timedelta(minutes=m) for m in (3, 2, 1)]
    sent = cloudtrail_server.requests[0].body
    assert sent["StartTime"] == (T0 + timedelta(minutes=1)).timestamp()  # epoch seconds


def test_requests_aws_refuses(cloudtrail_server: CloudTrailServer, cloudtrail: Client) -> None:
    cloudtrail_server.events += [event("UpdateNodegroupConfig", T0 + timedelta(seconds=s),
                                       actor_arn=ROLE, request_parameters={}) for s in range(3)]
    client = cloudtrail()
    two = [{"AttributeKey": "EventName", "AttributeValue": "UpdateNodegroupConfig"},
           {"AttributeKey": "Username", "AttributeValue": "alice"}]

    with pytest.raises(ClientError) as error:
        client.lookup_events(LookupAttributes=two)
    assert code(error) == "InvalidLookupAttributesException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as error:
        client.lookup_events(MaxResults=51)
    assert code(error) == "InvalidMaxResultsException"
    with pytest.raises(ClientError) as error:
        client.lookup_events(StartTime=T0 + timedelta(hours=1), EndTime=T0)
    assert code(error) == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as error:
        client.lookup_events(NextToken="garbled")
    assert code(error) == "InvalidNextTokenException"
    token = client.lookup_events(MaxResults=1)["NextToken"]
    assert client.lookup_events(MaxResults=1, NextToken=token)["Events"]
    with pytest.raises(ClientError) as error:  # a token is only valid for its own query
        client.lookup_events(MaxResults=1, NextToken=token, StartTime=T0)
    assert code(error) == "InvalidNextTokenException"


def test_deny_answers_access_denied(cloudtrail_server: CloudTrailServer,
                                    cloudtrail: Client) -> None:
    cloudtrail_server.deny = True

    with pytest.raises(ClientError) as error:
        cloudtrail().lookup_events()

    assert code(error) == "AccessDeniedException"
    assert "not authorized to perform: cloudtrail:LookupEvents" in str(error.value)
    assert [r.error for r in cloudtrail_server.requests] == ["AccessDeniedException"]


def test_a_retrying_client_gets_through_one_throttle(cloudtrail_server: CloudTrailServer,
                                                     cloudtrail: Client) -> None:
    cloudtrail_server.events.append(event("ModifySecurityGroupRules", T0, actor_arn=ROLE,
                                          request_parameters=SG))
    cloudtrail_server.throttle_next = 1

    found = cloudtrail(mode="standard", total_max_attempts=3).lookup_events()["Events"]

    assert [e["EventName"] for e in found] == ["ModifySecurityGroupRules"]
    assert [(r.status, r.error) for r in cloudtrail_server.requests] == [
        (400, "ThrottlingException"), (200, None)]


def test_rate_limit_throttles_a_burst(cloudtrail_server: CloudTrailServer,
                                      cloudtrail: Client) -> None:
    cloudtrail_server.rate_limit = 2
    client = cloudtrail(mode="standard", total_max_attempts=1)  # no retries
    outcomes = []
    for _ in range(5):
        try:
            client.lookup_events()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    assert outcomes == ["ok", "ok"] + ["ThrottlingException"] * 3
    assert cloudtrail_server.requests[-1].at - cloudtrail_server.requests[0].at < 1.0
    assert len(cloudtrail_server.calls("ThrottlingException")) == 3


def test_rate_limit_lets_a_paced_client_through(cloudtrail_server: CloudTrailServer,
                                                cloudtrail: Client) -> None:
    cloudtrail_server.rate_limit = 2
    client = cloudtrail(mode="standard", total_max_attempts=1)
    last = float("-inf")
    for _ in range(3):  # 2 a second, exactly at the limit
        time.sleep(max(0.0, last + 0.5 - time.monotonic()))
        last = time.monotonic()
        client.lookup_events()

    arrivals = [r.at for r in cloudtrail_server.calls()]
    assert len(arrivals) == 3 and arrivals[2] - arrivals[0] >= 0.95


def test_cloudtrail_event_is_the_full_record(cloudtrail_server: CloudTrailServer,
                                             cloudtrail: Client) -> None:
    cloudtrail_server.events += [
        event("AuthorizeSecurityGroupIngress", T0, actor_arn=ROLE, request_parameters=SG),
        event("ResetDBParameterGroup", T0 + timedelta(minutes=1), actor_arn=USER,
              user_type="IAMUser", request_parameters={"dBParameterGroupName": "chess-pg"},
              event_id="11111111-2222-4333-8444-555555555555", read_only=False),
    ]

    user, role = cloudtrail().lookup_events()["Events"]

    record = json.loads(role["CloudTrailEvent"])
    assert record["userIdentity"]["arn"] == ROLE
    issuer = record["userIdentity"]["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == "arn:aws:iam::123456789012:role/deployer"
    assert (role["Username"], role["ReadOnly"]) == ("alice", "false")
    assert role["AccessKeyId"].startswith("ASIA") and record["requestParameters"] == SG
    assert record["eventTime"] == "2026-11-20T12:00:00Z" and record["readOnly"] is False
    record = json.loads(user["CloudTrailEvent"])
    assert record["userIdentity"]["arn"] == USER and user["Username"] == "bob"
    assert user["EventId"] == record["eventID"] == "11111111-2222-4333-8444-555555555555"
    # Ids derive from the content, so a second build is the same event.
    assert event("AuthorizeSecurityGroupIngress", T0, actor_arn=ROLE,
                 request_parameters=SG) == cloudtrail_server.events[0]


def test_latency_and_unsigned_requests(cloudtrail_server: CloudTrailServer,
                                       cloudtrail: Client) -> None:
    cloudtrail_server.latency = 0.1
    client = cloudtrail()

    started = time.monotonic()
    assert client.lookup_events()["Events"] == []
    assert time.monotonic() - started >= 0.1
    unsigned = boto3.client("cloudtrail", endpoint_url=cloudtrail_server.url,
                            region_name=REGION, config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as error:
        unsigned.lookup_events()
    assert code(error) == "MissingAuthenticationTokenException"
