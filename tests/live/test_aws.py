"""The AWS collector against moto over real HTTP: Terraform's shapes, max_connections,
faults (each kind's own), and proof that it only reads."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

import auditor.live.aws as aws_live
from auditor.config import Config, load
from auditor.live.aws import api as aws_api
from auditor.live.base import LiveCollected
from auditor.models import Resource
from auditor.sources import terraform
from auditor.unknown import Unknown
from tests.conftest import REPO
from tests.live.aws_fixtures import (  # fixtures come through tests/live/conftest.py
    CERT_NOT_AFTER,
    CHESS_TF,
    REGION,
    SECRET_VALUE,
    FaultServer,
    Stack,
    build_chess_ai,
    client,
    free_port,
)

# The Terraform attributes each kind is compared on (docs/live-model.md), plus the exact
# mappings the collector adds on top of the contract.
COMPARED = {
    "SecurityGroup": ("name", "description", "vpc_id", "ingress", "egress"),
    "DBInstance": ("identifier", "engine", "engine_version", "instance_class", "port",
                   "multi_az", "backup_retention_period", "deletion_protection",
                   "publicly_accessible", "storage_encrypted", "parameter_group_name",
                   "vpc_security_group_ids"),
    "DBParameterGroup": ("name", "family", "parameters"),
    "Nodegroup": ("cluster_name", "node_group_name", "instance_types", "scaling_config"),
    "TargetGroup": ("name", "port", "protocol", "target_type", "vpc_id", "health_check"),
    "LoadBalancer": ("name", "load_balancer_type", "internal", "access_logs", "web_acl",
                     "enable_deletion_protection", "drop_invalid_header_fields"),
    "ACMCertificate": ("domain_name", "validation_method"),
    "MetricAlarm": ("alarm_name", "namespace", "metric_name", "threshold",
                    "comparison_operator", "dimensions", "extended_statistic", "period",
                    "evaluation_periods", "datapoints_to_alarm", "treat_missing_data"),
    "SecretsManagerSecret": ("name", "rotation_enabled", "rotation_rules"),
}

def _config(project: Callable[[dict[str, str]], Path], stack: Stack | None,
            aws_yaml: str = "{region: us-east-1, certificates: [chess-ai.example.com]}",
            ) -> Config:
    variables = (f"{{vpc_id: {stack.vpc_id}, web_acl_arn: '{stack.web_acl_arn}', "
                 f"lb_suffix: {stack.lb_suffix}}}") if stack else "{}"
    root = project({
        "tf/main.tf": CHESS_TF if stack else "",
        "auditor.yaml": f"""
            service: chess-ai
            environments:
              prod:
                terraform:
                  dirs: [tf]
                  vars: {variables}
                aws: {aws_yaml}
            """,
    })
    return load(str(root))


def _collect(config: Config) -> tuple[list[Resource], LiveCollected]:
    env = config.environments["prod"]
    declared = terraform.collect(config, "prod", env).resources
    return declared, aws_live.collect(config, "prod", env, declared)


def _live(found: LiveCollected, kind: str, name: str) -> Resource:
    matches = [r for r in found.resources if r.kind == kind and r.name == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} live objects"
    return matches[0]


def _comparable(value: Any) -> Any:
    """Rules in a stable order: their order in AWS and in HCL means nothing."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return sorted(value, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


@pytest.fixture
def chess(aws: str) -> Stack:
    return build_chess_ai()


def test_live_bodies_match_what_terraform_declares(
        chess: Stack, project: Callable[[dict[str, str]], Path]) -> None:
    declared, found = _collect(_config(project, chess))
    assert found.unavailable == {}
    compared = 0
    for res in declared:
        if res.kind not in COMPARED:
            continue
        live = _live(found, res.kind, res.name)
        for key in COMPARED[res.kind]:
            want = res.body.get(key)
            if key not in res.body or isinstance(want, Unknown):
                continue
            assert _comparable(live.body.get(key)) == _comparable(want), (res.ident, key)
            compared += 1
    assert compared >= 50  # the comparison really ran over the whole stack
    # The collected SG-to-SG rules name groups, the way Terraform's references do.
    app = _live(found, "SecurityGroup", "chess-ai-prod-app")
    assert app.body["ingress"][0]["security_groups"] == ["chess-ai-prod-alb"]
    assert app.body["id"] == chess.groups["app"]
    bastion = _live(found, "SecurityGroup", "chess-ai-prod-bastion")
    assert bastion.body["ingress"][0]["cidr_blocks"] == ["0.0.0.0/0"]


def test_live_only_facts_are_collected(chess: Stack,
                                       project: Callable[[dict[str, str]], Path]) -> None:
    _, found = _collect(_config(project, chess))
    db = _live(found, "DBInstance", "chess-ai-prod")
    assert db.body["status"] == "available"
    assert db.body["latest_snapshot_time"].endswith("Z")  # moto takes an automated snapshot
    assert db.body["instance_memory_bytes"] == 16 * 2**30  # r6g.large, from EC2
    assert db.body["max_connections"] == 200  # the parameter group's number
    node = _live(found, "Nodegroup", "general")
    # m6i.xlarge: 4 vCPU, 16 GiB, 4 ENIs x 15 IPv4 -> 4 x 14 + 2 pods
    assert node.body["instance_capacity"] == {"cpu": 4, "memory": "16384Mi", "pods": 58}
    assert node.body["status"] == "ACTIVE"
    tg = _live(found, "TargetGroup", "chess-ai-prod-tg")
    assert sorted((t["id"], t["port"], t["state"]) for t in tg.body["targets"]) == [
        ("10.40.1.10", 8000, "healthy"), ("10.40.2.11", 8000, "healthy")]
    lb = _live(found, "LoadBalancer", "chess-ai-prod-alb")
    assert lb.body["web_acl"] == chess.web_acl_arn and lb.body["arn"] == chess.lb_arn
    cert = _live(found, "ACMCertificate", "chess-ai.example.com")
    # Of two imports for the domain, the later-expiring one counts.
    assert cert.body["not_after"] == "2027-03-01T12:00:00Z" == CERT_NOT_AFTER.strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert cert.body["status"] == "ISSUED" and cert.body["validation_method"] is None
    alarms = {r.name for r in found.resources if r.kind == "MetricAlarm"}
    assert alarms == {"chess-ai-prod-alb-latency-p95", "oncall-5xx"}  # not the billing one
    secret = _live(found, "SecretsManagerSecret", "chess-ai/prod/database")
    assert secret.body == {"name": "chess-ai/prod/database", "rotation_enabled": True,
                           "rotation_rules": {"automatically_after_days": 30}}
    account = _live(found, "AWSAccount", REGION)
    assert account.body["guardduty_detectors"] == [{"id": chess.ids["detector"],
                                                    "status": "ENABLED"}]
    assert account.body["trails"] == [{"name": "org-trail", "is_multi_region_trail": True,
                                       "is_logging": True}]
    assert found.names == {"db_identifier": "chess-ai-prod", "parameter_group":
                           "chess-ai-params", "nodegroup": "general", "cluster": "chess-ai-prod",
                           "target_group": "chess-ai-prod-tg", "load_balancer":
                           "chess-ai-prod-alb"}
    assert all(r.source == f"aws {REGION}" for r in found.resources)
    assert SECRET_VALUE not in json.dumps([r.body for r in found.resources], default=str)


def test_names_from_the_config_where_terraform_is_absent(
        chess: Stack, project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, None, (
        "{region: us-east-1, security_groups: [chess-ai-prod-db, " + chess.groups["alb"]
        + ", no-such-group], db_instances: [chess-ai-prod, gone], eks_cluster: chess-ai-prod,"
        " target_groups: [chess-ai-prod-tg], load_balancers: [chess-ai-prod-alb],"
        f" certificates: ['{chess.cert_arn}'], secrets: [chess-ai/prod/api-key, nope]}}"))
    _, found = _collect(config)
    assert found.unavailable == {}
    kinds = sorted((r.kind, r.name) for r in found.resources if r.kind != "MetricAlarm")
    assert kinds == [
        ("ACMCertificate", "chess-ai.example.com"), ("AWSAccount", REGION),
        ("DBInstance", "chess-ai-prod"), ("DBParameterGroup", "chess-ai-params"),
        ("LoadBalancer", "chess-ai-prod-alb"), ("Nodegroup", "general"),
        ("SecretsManagerSecret", "chess-ai/prod/api-key"),
        ("SecurityGroup", "chess-ai-prod-alb"), ("SecurityGroup", "chess-ai-prod-db"),
        ("TargetGroup", "chess-ai-prod-tg")]
    # A secret that never rotated has no RotationEnabled in AWS: it reads as false.
    assert _live(found, "SecretsManagerSecret", "chess-ai/prod/api-key").body[
        "rotation_enabled"] is False


def test_unknown_names_are_not_looked_up(aws: str) -> None:
    declared = [Resource("SecurityGroup", "aws_security_group.x", {"name": Unknown("later")},
                         "terraform tf"),
                Resource("DBInstance", "aws_db_instance.x", {"identifier": Unknown("later")},
                         "terraform tf")]
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], declared)
    assert [r.kind for r in found.resources] == ["AWSAccount"] and not found.unavailable


# ---- max_connections ---------------------------------------------------------------------

def _db(identifier: str, instance_class: str, group: str | None, engine: str = "postgres"
        ) -> None:
    extra = {"DBParameterGroupName": group} if group else {}
    client("rds").create_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass=instance_class, Engine=engine,
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password-123",
        **extra)


def _group(name: str, family: str, parameters: dict[str, str]) -> None:
    rds = client("rds")
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family,
                                  Description=name)
    rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=[
        {"ParameterName": k, "ParameterValue": v, "ApplyMethod": "pending-reboot"}
        for k, v in parameters.items()])


def test_max_connections_formula_is_evaluated_from_the_class_memory(aws: str) -> None:
    _group("no-max", "postgres15", {"log_min_duration_statement": "500"})
    _group("formula", "postgres15",
           {"max_connections": "LEAST({DBInstanceClassMemory/9531392},50)"})
    _group("mysql-default", "mysql8.0", {"slow_query_log": "1"})
    _db("pg-default", "db.r6g.large", "no-max")  # 16 GiB: RDS's default formula
    _db("pg-formula", "db.r6g.large", "formula")  # the group's own formula
    _db("my-default", "db.m6g.large", "mysql-default", engine="mysql")  # 8 GiB
    _db("pg-unknown-class", "db.q9x.large", "no-max")
    _db("pg-gone-group", "db.r6g.large", None)  # moto's default.* group, not readable
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_instances": [
            "pg-default", "pg-formula", "my-default", "pg-unknown-class", "pg-gone-group"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    value = {r.name: r.body["max_connections"] for r in found.resources
             if r.kind == "DBInstance"}
    assert value["pg-default"] == 16 * 2**30 // 9531392 == 1802
    assert value["pg-formula"] == 50
    assert value["my-default"] == 8 * 2**30 // 12582880 == 682
    assert value["pg-gone-group"] == 1802  # a default group sets nothing: RDS's formula
    unknown = value["pg-unknown-class"]
    assert isinstance(unknown, Unknown)
    assert "DescribeInstanceTypes does not know q9x.large" in unknown.reason
    assert "LEAST({DBInstanceClassMemory/9531392},5000)" in unknown.reason
    groups = {r.name: r.body for r in found.resources if r.kind == "DBParameterGroup"}
    assert groups["formula"]["parameters"] == {
        "max_connections": "LEAST({DBInstanceClassMemory/9531392},50)"}  # stays a string


# ---- faults: each costs only its own kinds ---------------------------------------------

def _small_stack() -> None:
    client("ec2").create_security_group(GroupName="chess-ai-prod-db", Description="db")
    client("secretsmanager").create_secret(Name="chess-ai/prod/database", SecretString="x")
    _group("chess-ai-params", "postgres15", {"max_connections": "200"})


SMALL = Config.model_validate({"service": "s", "environments": {"prod": {
    "manifests": ["m.yaml"], "aws": {
        "region": REGION, "security_groups": ["chess-ai-prod-db"],
        "parameter_groups": ["chess-ai-params"], "secrets": ["chess-ai/prod/database"],
        "target_groups": ["chess-ai-prod-tg"], "eks_cluster": "chess-ai-prod",
        "nodegroups": ["general"]}}}})


def _collect_small() -> LiveCollected:
    return aws_live.collect(SMALL, "prod", SMALL.environments["prod"], [])


@pytest.mark.parametrize(("service_env", "mode", "kinds", "expected"), [
    ("RDS", "500", {"DBParameterGroup"},
     "rds DescribeDBParameterGroups: InternalError (HTTP 500, after 3 attempts)"),
    ("SECRETS_MANAGER", "throttle", {"SecretsManagerSecret"},
     "secretsmanager DescribeSecret: ThrottlingException (HTTP 400, after 3 attempts)"),
    ("ELASTIC_LOAD_BALANCING_V2", "403", {"TargetGroup"},
     "elbv2 DescribeTargetGroups: AccessDenied (HTTP 403)"),
    ("GUARDDUTY", "403", {"AWSAccount"},
     "guardduty ListDetectors: AccessDeniedException (HTTP 403)"),
])
def test_a_failing_service_costs_only_its_kinds(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        service_env: str, mode: str, kinds: set[str], expected: str) -> None:
    _small_stack()
    fault = fault_server(mode)
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service_env}", fault.url)
    found = _collect_small()
    assert set(found.unavailable) == kinds
    for kind in kinds:
        assert found.unavailable[kind].startswith(expected), found.unavailable[kind]
        assert "\n" not in found.unavailable[kind]
        assert not any(r.kind == kind for r in found.resources)  # never a half-read pass
    # Errors worth retrying were retried (standard mode: 3 attempts); a 403 is not.
    assert len(fault.requests) == (1 if mode == "403" else 3)
    assert {"SecurityGroup", "AWSAccount", "SecretsManagerSecret", "DBParameterGroup"} - kinds \
        <= {r.kind for r in found.resources}


def test_a_read_timeout_costs_only_its_kinds(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    _small_stack()
    monkeypatch.setattr(aws_api, "READ_TIMEOUT", 0.3)
    fault = fault_server("hang", delay=2.0)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", fault.url)
    found = _collect_small()
    assert set(found.unavailable) == {"Nodegroup"}
    assert found.unavailable["Nodegroup"].startswith(
        "eks DescribeNodegroup: ReadTimeoutError after 3 attempts")
    assert len(fault.requests) == 3
    assert {"SecurityGroup", "SecretsManagerSecret"} <= {r.kind for r in found.resources}


def test_an_unreachable_endpoint_costs_only_its_kinds(
        aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_stack()
    monkeypatch.setattr(aws_api, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", f"http://127.0.0.1:{free_port()}")  # closed
    found = _collect_small()
    assert set(found.unavailable) == {"SecurityGroup"}
    assert found.unavailable["SecurityGroup"].startswith(
        "ec2 DescribeSecurityGroups: EndpointConnectionError after 3 attempts")
    assert {"SecretsManagerSecret", "DBParameterGroup"} <= {r.kind for r in found.resources}


def test_a_failing_waf_call_costs_the_load_balancers_only(
        chess: Stack, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        project: Callable[[dict[str, str]], Path]) -> None:
    """The web ACL is part of what a load balancer is: without it the kind is not read
    (a load balancer without ``web_acl`` would fail waf-on-alb for nothing)."""
    config = _config(project, chess)
    monkeypatch.setenv("AWS_ENDPOINT_URL_WAFV2", fault_server("403").url)
    _, found = _collect(config)
    assert set(found.unavailable) == {"LoadBalancer"}
    assert "wafv2 GetWebACLForResource: AccessDeniedException" in found.unavailable[
        "LoadBalancer"]
    assert _live(found, "TargetGroup", "chess-ai-prod-tg")


def test_failing_ec2_lookups_make_only_the_values_they_feed_unknown(
        chess: Stack, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        project: Callable[[dict[str, str]], Path]) -> None:
    """Group names and instance sizes refine other kinds: those values become unknown
    with the reason, the database and the node group still count."""
    config = _config(project, chess)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", fault_server("403").url)
    _, found = _collect(config)
    assert set(found.unavailable) == {"SecurityGroup"}
    db = _live(found, "DBInstance", "chess-ai-prod").body
    assert db["max_connections"] == 200  # set by the group: no memory needed
    assert "instance_memory_bytes" not in db
    assert isinstance(db["vpc_security_group_ids"], Unknown)
    assert "ec2 DescribeSecurityGroups: AccessDenied (HTTP 403)" in db[
        "vpc_security_group_ids"].reason
    capacity = _live(found, "Nodegroup", "general").body["instance_capacity"]
    assert isinstance(capacity, Unknown)
    assert capacity.reason.startswith("the capacity of m6i.xlarge was not read: ec2 "
                                      "DescribeInstanceTypes: AccessDenied (HTTP 403)")


def test_missing_credentials_make_every_kind_unavailable(
        aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # No keys, no profile, no config files, no instance metadata (see the aws fixture).
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    found = _collect_small()
    assert found.resources == []
    assert set(found.unavailable) == {"SecurityGroup", "DBParameterGroup", "Nodegroup",
                                      "TargetGroup", "SecretsManagerSecret", "AWSAccount"}
    assert all("no AWS credentials found (NoCredentialsError)" in why
               for why in found.unavailable.values())


def test_an_unknown_profile_makes_every_kind_unavailable(aws: str) -> None:
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "profile": "nope"}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert found.unavailable == {
        "AWSAccount": "cannot set up AWS access (ProfileNotFound): The config profile (nope) "
                      "could not be found"}


def test_a_crashing_service_collector_costs_only_its_kinds(
        aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_stack()
    from auditor.live.aws import secrets

    def boom(api: object, wanted: object) -> LiveCollected:
        raise KeyError("Name")

    monkeypatch.setattr(secrets, "collect", boom)
    found = _collect_small()
    assert found.unavailable == {
        "SecretsManagerSecret": "aws secrets collector failed: KeyError('Name')"}


# ---- read-only, least privilege ----------------------------------------------------------

IAM_PREFIX = {"elbv2": "elasticloadbalancing"}  # else the botocore service name


def test_only_reads_and_the_iam_policy_covers_exactly_what_is_called(
        chess: Stack, monkeypatch: pytest.MonkeyPatch, aws: str,
        project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, chess, "{region: us-east-1, eks_cluster: chess-ai-prod, "
                                     f"certificates: ['{chess.cert_arn}']}}")
    calls: set[str] = set()
    endpoints: set[str] = set()
    original = boto3.session.Session.client

    def recording_client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        service = made.meta.service_model.service_name
        endpoints.add(made.meta.endpoint_url)
        made.meta.events.register("before-call", lambda model, **_: calls.add(
            f"{IAM_PREFIX.get(service, service)}:{model.name}"))
        return made

    monkeypatch.setattr(boto3.session.Session, "client", recording_client)
    _, found = _collect(config)
    assert not found.unavailable
    assert endpoints == {aws}  # AWS_ENDPOINT_URL is honoured by every client
    assert all(c.split(":")[1].startswith(("Describe", "List", "Get")) for c in calls), calls
    assert not any("SecretValue" in c for c in calls)
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    actions = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert calls == actions  # every call is allowed, and nothing more is
    assert all("*" not in a and a.split(":")[1].startswith(("Describe", "List", "Get"))
               for a in actions)


def test_importing_the_collector_does_not_import_boto3() -> None:
    code = ("import sys, auditor.live.aws as a; assert a.KINDS; "
            "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
