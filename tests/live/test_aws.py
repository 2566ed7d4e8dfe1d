"""The AWS collector against moto over real HTTP: Terraform's shapes, max_connections,
faults (each kind's own), and proof that it only reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme

import auditor.live.aws as aws_live
from auditor.config import Config, load
from auditor.live.aws import api as aws_api
from auditor.live.base import LiveCollected
from auditor.models import Location, Resource
from auditor.sources import terraform
from auditor.unknown import Unknown
from tests.conftest import EXAMPLE, REPO
from tests.live.aws_fixtures import (  # fixtures come through tests/live/conftest.py
    REGION,
    FaultServer,
    client,
)
from tests.live.chess_ai_aws import (
    DB_PASSWORD,
    POD_IPS,
    Stack,
    build,
    pending_reboot,
)
from tests.live.ports import refused_port

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

EXAMPLE_TF = EXAMPLE / "infrastructure" / "terraform" / "aws"
LEGACY = "legacy.chess-ai.example.com"  # a domain with two imported certificates

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


@dataclass(frozen=True)
class Chess:
    """The example's stack as built for the recording, plus what these tests add to it."""

    stack: Stack
    web_acl_arn: str  # a WAF web ACL on the load balancer
    legacy_not_after: datetime  # the later of the two imported certificates' expiry


@pytest.fixture
def chess(aws: str) -> Chess:
    now = datetime.now(UTC).replace(microsecond=0)
    stack = build(now)
    return Chess(stack, _web_acl(stack), _extras(now))


def _web_acl(stack: Stack) -> str:
    waf = client("wafv2")
    acl = waf.create_web_acl(Name="chess-ai", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=[], VisibilityConfig={
                                 "SampledRequestsEnabled": False,
                                 "CloudWatchMetricsEnabled": False, "MetricName": "chess"})
    waf.associate_web_acl(WebACLArn=acl["Summary"]["ARN"], ResourceArn=stack.lb_arn)
    return str(acl["Summary"]["ARN"])


def _extras(now: datetime) -> datetime:
    """Two certificates imported for one domain (the older one about to expire, both valid
    from a month before ``now``), an alarm added in the console during an incident, another
    team's alarm and a secret that never rotated. Returns the later certificate's expiry."""
    ca, acm = trustme.CA(), client("acm")
    start, later = now - timedelta(days=30), now + timedelta(days=200)
    for not_after in (now + timedelta(days=5), later):  # old, then new
        leaf = ca.issue_cert(LEGACY, not_before=start, not_after=not_after)
        acm.import_certificate(
            Certificate=leaf.cert_chain_pems[0].bytes(), PrivateKey=leaf.private_key_pem.bytes(),
            CertificateChain=ca.cert_pem.bytes())
    cw = client("cloudwatch")
    lb = client("elbv2").describe_load_balancers(Names=["chess-ai-prod-alb"])
    suffix = lb["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    cw.put_metric_alarm(  # added in the console during an incident: not in Terraform
        AlarmName="oncall-5xx", Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_ELB_5XX_Count", Statistic="Sum", Period=300,
        EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=50,
        Dimensions=[{"Name": "LoadBalancer", "Value": suffix}])
    cw.put_metric_alarm(  # another team's: neither declared nor on the load balancer
        AlarmName="billing", Namespace="AWS/Billing", MetricName="EstimatedCharges",
        Statistic="Maximum", Period=21600, EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold", Threshold=1000)
    client("secretsmanager").create_secret(Name="chess-ai/prod/api-key",
                                           SecretString=DB_PASSWORD)
    return later


def _config(project: Callable[[dict[str, str]], Path], with_terraform: bool,
            aws_yaml: str = "{region: us-east-1, certificates: [chess-ai.example.com]}",
            ) -> Config:
    """A service whose Terraform is the example's own (its variables' defaults name the
    VPC the stack is built in), or empty."""
    root = project({
        "tf/empty.tf": "",
        "auditor.yaml": f"""
            service: chess-ai
            environments:
              prod:
                terraform:
                  dirs: [tf]
                aws: {aws_yaml}
            """,
    })
    if with_terraform:
        shutil.copytree(EXAMPLE_TF, root / "tf", dirs_exist_ok=True)
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
    """Rules in a stable order: their order in AWS and in HCL means nothing. A rule
    without prefix lists may leave the key out."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        value = [{"prefix_list_ids": [], **v} if "protocol" in v else v for v in value]
        return sorted(value, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _knows(value: Any) -> bool:
    """No part of the value is unknown offline (an ARN suffix moto makes up, say)."""
    if isinstance(value, dict):
        return all(_knows(v) for v in value.values())
    if isinstance(value, list):
        return all(_knows(v) for v in value)
    return not isinstance(value, Unknown)


def test_live_bodies_match_what_the_examples_terraform_declares(
        chess: Chess, project: Callable[[dict[str, str]], Path]) -> None:
    """The stack the recording is made of is the example's Terraform, applied: every
    compared attribute the Terraform knows offline is what the collector reads back."""
    declared, found = _collect(_config(project, True))
    assert found.unavailable == {} and found.problems == []
    compared = 0
    for res in declared:
        if res.kind not in COMPARED:
            continue
        live = _live(found, res.kind, res.name)
        for key in COMPARED[res.kind]:
            want = res.body.get(key)
            if key not in res.body or not _knows(want):
                continue
            assert _comparable(live.body.get(key)) == _comparable(want), (res.ident, key)
            compared += 1
    assert compared >= 70  # the comparison really ran over the whole stack
    # The collected SG-to-SG rules name groups, the way Terraform's references do.
    app = _live(found, "SecurityGroup", "chess-ai-prod-app")
    assert app.body["ingress"][0]["security_groups"] == ["chess-ai-prod-alb"]
    assert app.body["id"] == chess.stack.groups["app"]
    bastion = _live(found, "SecurityGroup", "chess-ai-prod-bastion")
    assert bastion.body["ingress"][0]["cidr_blocks"] == ["0.0.0.0/0"]


def test_live_only_facts_are_collected(chess: Chess,
                                       project: Callable[[dict[str, str]], Path]) -> None:
    _, found = _collect(_config(project, True, "{region: us-east-1, certificates: "
                                               f"[chess-ai.example.com, {LEGACY}]}}"))
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
    assert sorted((t["id"], t["port"], t["state"]) for t in tg.body["targets"]) == sorted(
        (ip, 8000, "healthy") for ip in POD_IPS)
    lb = _live(found, "LoadBalancer", "chess-ai-prod-alb")
    assert lb.body["web_acl"] == chess.web_acl_arn and lb.body["arn"] == chess.stack.lb_arn
    issued = _live(found, "ACMCertificate", "chess-ai.example.com")
    assert issued.body["status"] == "ISSUED" and issued.body["validation_method"] == "DNS"
    assert issued.body["arn"] == chess.stack.cert_arn
    imported = _live(found, "ACMCertificate", LEGACY)
    # Of two imports for the domain, the later-expiring one counts.
    assert imported.body["not_after"] == chess.legacy_not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert imported.body["status"] == "ISSUED" and imported.body["validation_method"] is None
    alarms = {r.name for r in found.resources if r.kind == "MetricAlarm"}
    assert alarms == {"chess-ai-prod-alb-latency-p95", "chess-ai-prod-alb-target-5xx",
                      "oncall-5xx"}  # not the billing one
    secret = _live(found, "SecretsManagerSecret", "chess-ai/prod/database")
    assert secret.body == {"name": "chess-ai/prod/database", "rotation_enabled": True,
                           "rotation_rules": {"automatically_after_days": 30}}
    account = _live(found, "AWSAccount", REGION)
    assert account.body["guardduty_detectors"] == [{"id": chess.stack.detector_id,
                                                    "status": "ENABLED"}]
    assert account.body["trails"] == [{"name": "org-trail", "is_multi_region_trail": True,
                                       "is_logging": True}]
    assert found.names == {"db_identifier": "chess-ai-prod", "parameter_group":
                           "chess-ai-params", "nodegroup": "general", "cluster": "chess-ai-prod",
                           "target_group": "chess-ai-prod-tg", "load_balancer":
                           "chess-ai-prod-alb"}
    assert all(r.source == f"aws {REGION}" for r in found.resources)
    assert DB_PASSWORD not in json.dumps([r.body for r in found.resources], default=str)


def test_names_from_the_config_where_terraform_is_absent(
        chess: Chess, project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, False, (
        "{region: us-east-1, security_groups: [chess-ai-prod-db, "
        + chess.stack.groups["alb"] + ", no-such-group], db_instances: [chess-ai-prod, gone],"
        " eks_cluster: chess-ai-prod, target_groups: [chess-ai-prod-tg], load_balancers:"
        f" [chess-ai-prod-alb], certificates: ['{chess.stack.cert_arn}'],"
        " secrets: [chess-ai/prod/api-key, nope]}"))
    _, found = _collect(config)
    assert found.unavailable == {}
    # Listed but not there: with no Terraform, nothing else would say so.
    assert [(p.message, p.status, p.location.file) for p in found.problems] == [
        (f"configured {key} {name} was not found in {REGION}", "error", "auditor.yaml")
        for key, name in (("security_groups", "no-such-group"), ("db_instances", "gone"),
                          ("secrets", "nope"))]
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


def test_configured_names_that_do_not_exist_are_errors_at_their_line(
        chess: Chess, project: Callable[[dict[str, str]], Path]) -> None:
    """A typo in auditor.yaml must not leave the RDS and node group checks with nothing
    to look at and the audit complete."""
    config = _config(project, False, "\n".join([
        "", "                  region: us-east-1",
        "                  db_instances: [chess-ai-prod, chess-ai-prdo]",
        "                  parameter_groups: [CHESS-AI-PARAMS]",  # RDS ignores the case
        f"                  secrets: ['{_secret_arn()}']",
        "                  eks_cluster: chess-ai-prdo"]))
    _, found = _collect(config)
    assert found.unavailable == {}
    text = (config.base_dir / "auditor.yaml").read_text(encoding="utf-8").splitlines()
    problems = {p.message: p for p in found.problems}
    assert set(problems) == {
        f"configured db_instances chess-ai-prdo was not found in {REGION}",
        f"configured eks_cluster chess-ai-prdo was not found in {REGION}"}
    for message, p in problems.items():
        assert p.status == "error" and p.location.file == "auditor.yaml"
        assert p.location.line and message.split()[1] in text[p.location.line - 1]
    config = _config(project, False, "{region: us-east-1, eks_cluster: chess-ai-prod, "
                                     "nodegroups: [general, gpu]}")
    assert [p.message for p in _collect(config)[1].problems] == [
        f"configured nodegroups gpu (eks_cluster chess-ai-prod) was not found in {REGION}"]
    # A section triage that reads only parameter groups does not look for the rest: a name
    # of a kind it did not read is not "not found".
    config = _config(project, False, "{region: us-east-1, security_groups: [sg-0nope], "
                                     "parameter_groups: [nope]}")
    env = config.environments["prod"]
    narrowed = aws_live.collect(config, "prod", env, [], frozenset({"DBParameterGroup"}))
    assert [p.message for p in narrowed.problems] == [
        f"configured parameter_groups nope was not found in {REGION}"]
    assert {r.kind for r in narrowed.resources} <= {"DBParameterGroup"}


def _secret_arn() -> str:
    return str(client("secretsmanager").describe_secret(
        SecretId="chess-ai/prod/database")["ARN"])


def test_a_configured_name_of_a_kind_not_read_is_no_problem(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", fault_server("403").url)
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_instances": ["db"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert set(found.unavailable) == {"DBInstance"}
    assert found.problems == []  # the unavailable kind already says why


# ---- security groups: one name, several VPCs; prefix lists -------------------------------

def _twin_groups() -> dict[str, str]:
    """A group named "db" in each of two VPCs (names are unique per VPC only), each
    admitting its own VPC: vpc id -> group id."""
    ec2 = client("ec2")
    groups = {}
    for cidr in ("10.1.0.0/16", "10.2.0.0/16"):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        gid = ec2.create_security_group(GroupName="db", Description="db",
                                        VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "IpRanges": [{"CidrIp": cidr}]}])
        groups[vpc] = gid
    return groups


def _group_config() -> Config:
    return Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION}}}})


def test_a_group_is_looked_up_in_the_vpc_terraform_declares(aws: str) -> None:
    groups = _twin_groups()
    prod = list(groups)[1]
    declared = [Resource("SecurityGroup", "db", {"name": "db", "vpc_id": prod},
                         "terraform tf", address="aws_security_group.db")]
    config = _group_config()
    found = aws_live.collect(config, "prod", config.environments["prod"], declared)
    assert found.problems == [] and found.unavailable == {}
    (group,) = [r for r in found.resources if r.kind == "SecurityGroup"]
    assert (group.body["id"], group.body["vpc_id"]) == (groups[prod], prod)
    assert group.body["ingress"][0]["cidr_blocks"] == ["10.2.0.0/16"]


@pytest.mark.parametrize("vpc", [Unknown("aws_vpc.main.id"), None])
def test_a_name_several_groups_carry_is_not_guessed(aws: str, vpc: Unknown | None) -> None:
    groups = _twin_groups()
    body: dict[str, Any] = {"name": "db"} if vpc is None else {"name": "db", "vpc_id": vpc}
    declared = [Resource("SecurityGroup", "db", body, "terraform tf",
                         location=Location("sg.tf", 3), address="aws_security_group.db")]
    config = _group_config()
    found = aws_live.collect(config, "prod", config.environments["prod"], declared)
    (group,) = [r for r in found.resources if r.kind == "SecurityGroup"]  # not two
    doubt = group.body["ingress"]
    assert isinstance(doubt, Unknown) and doubt.failed  # an error, neither group passes
    assert all(group.body[k] is doubt for k in ("egress", "vpc_id", "description"))
    assert "id" not in group.body  # there is no one group id
    (problem,) = found.problems
    assert problem.status == "error" and problem.location == Location("sg.tf", 3)
    assert problem.message == doubt.reason
    assert problem.message.startswith(f"2 security groups are named db in {REGION} (")
    assert all(f"{gid} in {v}" in problem.message for v, gid in groups.items())


def test_prefix_lists_are_sources_of_a_rule(aws: str) -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    gid = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    pl = ec2.create_managed_prefix_list(
        PrefixListName="corp", AddressFamily="IPv4", MaxEntries=5,
        Entries=[{"Cidr": "0.0.0.0/0"}])["PrefixList"]["PrefixListId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "PrefixListIds": [{"PrefixListId": pl}]}])
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "security_groups": ["db"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    (group,) = [r for r in found.resources if r.kind == "SecurityGroup"]
    assert group.body["ingress"] == [{
        "protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": [],
        "ipv6_cidr_blocks": [], "security_groups": [], "self": False,
        "description": "", "prefix_list_ids": [pl]}]


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
    assert not unknown.failed  # EC2 answered: the class is not known, nothing failed
    assert "DescribeInstanceTypes does not know q9x.large" in unknown.reason
    assert "LEAST({DBInstanceClassMemory/9531392},5000)" in unknown.reason
    groups = {r.name: r.body for r in found.resources if r.kind == "DBParameterGroup"}
    assert groups["formula"]["parameters"] == {
        "max_connections": "LEAST({DBInstanceClassMemory/9531392},50)"}  # stays a string


def test_a_value_waiting_for_a_reboot_is_not_in_effect(aws: str) -> None:
    """`aws rds modify-db-parameter-group ... ApplyMethod=pending-reboot`: the group holds
    500 (what Terraform compares), the instance still runs on the value before, which RDS
    does not report."""
    _group("raised", "postgres15", {"max_connections": "500", "work_mem": "8192"})
    _db("waiting", "db.r6g.large", "raised")
    _db("rebooted", "db.r6g.large", "raised")
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION,
                                         "db_instances": ["waiting", "rebooted"]}}}})
    with pending_reboot("waiting"):
        found = aws_live.collect(config, "prod", config.environments["prod"], [])
    value = {r.name: r.body["max_connections"] for r in found.resources
             if r.kind == "DBInstance"}
    assert value["rebooted"] == 500
    assert value["waiting"] == Unknown("500 pending reboot; the value in effect is not known")
    group = _live(found, "DBParameterGroup", "raised").body
    assert group["parameters"] == {"max_connections": "500", "work_mem": "8192"}
    assert group["pending_reboot"] == ["max_connections", "work_mem"]
    found = aws_live.collect(config, "prod", config.environments["prod"], [])  # rebooted
    assert _live(found, "DBParameterGroup", "raised").body["pending_reboot"] == []
    assert _live(found, "DBInstance", "waiting").body["max_connections"] == 500


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
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", f"http://127.0.0.1:{refused_port()}")
    found = _collect_small()
    assert set(found.unavailable) == {"SecurityGroup"}
    assert found.unavailable["SecurityGroup"].startswith(
        "ec2 DescribeSecurityGroups: EndpointConnectionError after 3 attempts")
    assert {"SecretsManagerSecret", "DBParameterGroup"} <= {r.kind for r in found.resources}


def test_a_failing_waf_call_costs_the_load_balancers_only(
        chess: Chess, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        project: Callable[[dict[str, str]], Path]) -> None:
    """The web ACL is part of what a load balancer is: without it the kind is not read
    (a load balancer without ``web_acl`` would fail waf-on-alb for nothing)."""
    config = _config(project, True)
    monkeypatch.setenv("AWS_ENDPOINT_URL_WAFV2", fault_server("403").url)
    _, found = _collect(config)
    assert set(found.unavailable) == {"LoadBalancer"}
    assert "wafv2 GetWebACLForResource: AccessDeniedException" in found.unavailable[
        "LoadBalancer"]
    assert _live(found, "TargetGroup", "chess-ai-prod-tg")


def test_failing_ec2_lookups_make_only_the_values_they_feed_unknown(
        chess: Chess, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        project: Callable[[dict[str, str]], Path]) -> None:
    """Group names and instance sizes refine other kinds: those values become unknown
    with the reason, the database and the node group still count."""
    config = _config(project, True)
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
    # A read that failed is an error to report, not a value unknown offline.
    assert capacity.failed and db["vpc_security_group_ids"].failed


def test_an_unreadable_parameter_group_is_a_failed_read_of_max_connections(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    _group("chess-ai-params", "postgres15", {"max_connections": "200"})
    _db("chess-ai-prod", "db.r6g.large", "chess-ai-params")
    fault = fault_server("403", only={"DescribeDBParameterGroups"}, upstream=aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", fault.url)  # the rest goes on to moto
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_instances": ["chess-ai-prod"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert set(found.unavailable) == {"DBParameterGroup"}
    value = _live(found, "DBInstance", "chess-ai-prod").body["max_connections"]
    assert isinstance(value, Unknown) and value.failed
    assert value.reason.startswith("parameter group chess-ai-params was not read: rds "
                                   "DescribeDBParameterGroups: AccessDenied (HTTP 403)")


@pytest.mark.parametrize(("setting", "attempts"), [
    ({}, 3),  # standard mode, three attempts in all
    ({"AWS_MAX_ATTEMPTS": "5"}, 5),
    ({"AWS_RETRY_MODE": "legacy", "AWS_MAX_ATTEMPTS": "2"}, 2),
    ({"profile": "max_attempts = 4\nretry_mode = adaptive"}, 4),
])
def test_the_users_retry_settings_are_honoured(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, setting: dict[str, str], attempts: int) -> None:
    _small_stack()
    for name, value in setting.items():
        if name == "profile":  # the aws fixture points AWS_CONFIG_FILE at this path
            (tmp_path / "no-aws-config").write_text(f"[default]\n{value}\n")
        else:
            monkeypatch.setenv(name, value)
    fault = fault_server("500")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", fault.url)
    found = _collect_small()
    assert len(fault.requests) == attempts
    assert found.unavailable["SecretsManagerSecret"].startswith(
        f"secretsmanager DescribeSecret: InternalFailure (HTTP 500, after {attempts} "
        "attempts)")
    mode = {"AWS_RETRY_MODE": "legacy", "profile": "adaptive"}
    expected = next((v for k, v in mode.items() if k in setting), "standard")
    made = aws_api.Api(None, REGION, ["sts"])
    assert made._clients["sts"].meta.config.retries == {"mode": expected,
                                                        "total_max_attempts": attempts}


def test_a_retry_setting_botocore_rejects_makes_every_kind_unavailable(
        aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "eager")
    found = _collect_small()
    assert found.resources == []
    assert all(why.startswith("cannot set up AWS access (InvalidRetryModeError)")
               for why in found.unavailable.values())


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
        chess: Chess, monkeypatch: pytest.MonkeyPatch, aws: str,
        project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, True, "{region: us-east-1, eks_cluster: chess-ai-prod, "
                                    f"certificates: ['{chess.stack.cert_arn}']}}")
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
    # Who changed a drifted resource (asked only when something drifted: asked here).
    from auditor.live.aws import cloudtrail

    cloudtrail.lookup(aws_api.Api(None, REGION, cloudtrail.SERVICES), [cloudtrail.Target(
        "SecurityGroup", frozenset({"sg-1"}), ("AuthorizeSecurityGroupIngress",))])
    assert not found.unavailable
    # AWS_ENDPOINT_URL is honoured by every client; CloudTrail's own by its client
    assert endpoints == {aws, os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"]}
    assert all(c.split(":")[1].startswith(("Describe", "List", "Get", "Lookup"))
               for c in calls), calls
    assert not any("SecretValue" in c for c in calls)
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    actions = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert calls == actions  # every call is allowed, and nothing more is
    assert all("*" not in a and a.split(":")[1].startswith(("Describe", "List", "Get",
                                                            "Lookup")) for a in actions)


def test_importing_the_collector_does_not_import_boto3() -> None:
    code = ("import sys, auditor.live.aws as a; assert a.KINDS; "
            "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
