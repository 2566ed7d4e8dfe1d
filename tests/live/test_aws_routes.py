"""Routes to the runbook's causes the AWS side did not see (issue 11, point 9): Aurora
clusters on both sides (declared members decide Multi-AZ offline; the live collector reads
clusters and their instances from moto over real HTTP), and a private CA's certificate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import auditor.live.aws as aws_live
from auditor.cli import cli
from auditor.config import Config, load
from auditor.pipeline import declared_inventory
from auditor.unknown import Unknown
from tests.live.aws_fixtures import REGION, FaultServer, client

CLUSTER_TF = """
resource "aws_rds_cluster" "main" {
  cluster_identifier          = "shop-prod"
  engine                      = "aurora-postgresql"
  master_username             = "app"
  manage_master_user_password = true
  backup_retention_period     = 7
  deletion_protection         = true
}

resource "aws_rds_cluster_instance" "main" {
  count              = var.instances
  identifier         = "shop-prod-${count.index}"
  cluster_identifier = aws_rds_cluster.main.id
  instance_class     = "db.r6g.large"
  engine             = aws_rds_cluster.main.engine
%(zone)s
}

variable "instances" {
  default = %(count)s
}
"""


def _project(tmp_path: Path, count: str = "2", zone: str = "") -> Config:
    (tmp_path / "main.tf").write_text(CLUSTER_TF % {"count": count, "zone": zone})
    (tmp_path / "auditor.yaml").write_text(
        "service: shop\nenvironments:\n  prod:\n    terraform: {dirs: [.]}\n"
        f"    aws: {{region: {REGION}}}\n")
    return load(tmp_path / "auditor.yaml")


def _cluster(config: Config) -> Any:
    inventory = declared_inventory(config, "prod")
    return next(r for r in inventory.resources if r.kind == "DBCluster")


@pytest.mark.parametrize(("count", "zone", "expected"), [
    ("2", "", True),
    ("1", "", False),
    ("2", '  availability_zone = "us-east-1a"', False),  # both in one zone
    ("null", "", Unknown),  # count not known offline
])
def test_declared_members_decide_multi_az(tmp_path: Path, count: str, zone: str,
                                          expected: Any) -> None:
    cluster = _cluster(_project(tmp_path, count, zone))
    multi_az = cluster.body["multi_az"]
    if expected is Unknown:
        assert isinstance(multi_az, Unknown)
    else:
        assert multi_az is expected
    # The finding points at the instances' count, where the fix is made.
    assert cluster.field_locations[("multi_az",)].line == 12


def test_a_cluster_without_declared_instances_is_not_judged_single_az(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CLUSTER_TF.split('resource "aws_rds_cluster_instance"')[0])
    (tmp_path / "auditor.yaml").write_text(
        "service: shop\nenvironments:\n  prod:\n    terraform: {dirs: [.]}\n")
    report = _scan(tmp_path)
    finding = _one(report, "rds-multi-az", "declared")
    assert finding["status"] == "unknown"
    assert "declared elsewhere" in finding["message"]


def _scan(project: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["scan", "--config", str(project / "auditor.yaml"),
                                      "--format", "json"], catch_exceptions=False)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _one(report: dict[str, Any], policy: str, side: str) -> dict[str, Any]:
    """The one result of ``policy`` on ``side``; a pass has status "pass"."""
    found = [f for f in report["findings"] if f["policy"] == policy and f["side"] == side]
    found += [{**p, "status": "pass"} for p in report["passed"]
              if p["policy"] == policy and p["side"] == side]
    assert len(found) == 1, found
    return found[0]


def test_a_one_instance_cluster_fails_rds_multi_az_with_a_fix_for_clusters(
        tmp_path: Path) -> None:
    _project(tmp_path, count="1")
    finding = _one(_scan(tmp_path), "rds-multi-az", "declared")
    assert finding["status"] == "fail"
    assert "Aurora cluster shop-prod" in finding["message"]
    assert finding["location"]["line"] == 12
    assert finding["remediation"]["commands"] == [
        "aws rds create-db-instance --db-cluster-identifier shop-prod --db-instance-identifier "
        "shop-prod-replica --engine aurora-postgresql --db-instance-class <instance-class>"]


# ---- live: moto over HTTP -----------------------------------------------------------------

def _live_cluster(members: dict[str, str]) -> None:
    rds = client("rds")
    rds.create_db_cluster(DBClusterIdentifier="shop-prod", Engine="aurora-postgresql",
                          MasterUsername="app", MasterUserPassword="password-123",
                          BackupRetentionPeriod=7, DeletionProtection=True)
    for name, zone in members.items():
        rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="shop-prod",
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
                               AvailabilityZone=zone)


def test_clusters_and_their_instances_are_read(aws: str) -> None:
    _live_cluster({"shop-prod-0": "us-east-1a"})
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_clusters": ["shop-prod"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert not found.unavailable and not found.problems
    cluster = next(r for r in found.resources if r.kind == "DBCluster")
    assert cluster.body["cluster_identifier"] == "shop-prod"
    assert cluster.body["multi_az"] is False
    assert cluster.body["members"] == 1
    assert cluster.body["backup_retention_period"] == 7
    assert cluster.body["deletion_protection"] is True
    assert cluster.body["status"] == "available"
    [member] = [r for r in found.resources if r.kind == "DBClusterInstance"]
    assert member.body["cluster_identifier"] == "shop-prod"
    assert member.body["availability_zone"] == "us-east-1a"
    assert member.body["publicly_accessible"] is False


def test_a_configured_cluster_that_does_not_exist_is_an_error_at_its_line(
        aws: str, tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text(
        "service: s\nenvironments:\n  prod:\n    manifests: [m.yaml]\n    aws:\n"
        f"      region: {REGION}\n      db_clusters:\n        - gone\n")
    config = load(tmp_path / "auditor.yaml")
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    [problem] = found.problems
    assert "db_clusters gone was not found" in problem.message
    assert problem.location is not None and problem.location.line == 8


def test_a_failing_rds_costs_clusters_and_their_instances(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    _live_cluster({"shop-prod-0": "us-east-1a"})
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", fault_server("403").url)
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_clusters": ["shop-prod"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert set(found.unavailable) == {"DBCluster", "DBClusterInstance"}
    assert "DescribeDBClusters" in found.unavailable["DBCluster"]
    assert not [r for r in found.resources if r.kind.startswith("DBCluster")]


def _audit(project: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["audit", "--config", str(project / "auditor.yaml"),
                                      "--format", "json"], catch_exceptions=False)
    assert result.stdout.startswith("{"), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_replica_deleted_by_hand_is_single_az_live_and_drift(
        aws: str, tmp_path: Path) -> None:
    """Terraform declares two instances; one was deleted outside it."""
    _project(tmp_path, count="2")
    _live_cluster({"shop-prod-0": "us-east-1a"})
    report = _audit(tmp_path)
    live = _one(report, "rds-multi-az", "live")
    assert live["status"] == "fail"
    assert live["resource"]["name"] == "shop-prod"
    assert _one(report, "rds-multi-az", "declared")["status"] == "pass"
    drift = [f for f in report["findings"] if f["policy"] == "terraform-drift"
             and f["resource"]["kind"] == "DBCluster" and f["status"] == "fail"]
    assert [f["item"] for f in drift] == ["multi_az"], drift
    assert not [f for f in report["findings"] if f["policy"] == "db-instance-available"]
    available = [p for p in report["passed"] if p["policy"] == "db-instance-available"]
    assert {(p["resource"]["kind"], p["resource"]["name"]) for p in available} == {
        ("DBCluster", "shop-prod"), ("DBClusterInstance", "shop-prod-0")}


# ---- ACM: a private CA's certificate is no imported one -----------------------------------

def test_a_private_ca_certificate_is_read_as_one_and_passes(aws: str) -> None:
    from auditor import engine
    from auditor.models import Inventory
    from auditor.policies import load_all

    client("acm").request_certificate(
        DomainName="internal.shop.example.com",
        CertificateAuthorityArn="arn:aws:acm-pca:us-east-1:123456789012:"
                                "certificate-authority/abc")
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION,
                                         "certificates": ["internal.shop.example.com"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    [cert] = [r for r in found.resources if r.kind == "ACMCertificate"]
    assert cert.body["certificate_authority_arn"].endswith("certificate-authority/abc")
    assert cert.body["validation_method"] is None  # which read as "imported" before
    [policy] = [p for p in load_all([]) if p.id == "acm-cert-issued"]
    [result] = engine.evaluate([policy], Inventory("prod", "live", found.resources), {})
    assert result.status == "pass", result


# ---- terraform-drift: a security group put on the database by hand ------------------------

DB_TF = """
resource "aws_security_group" "db" {
  name        = "shop-db"
  description = "db"
}

resource "aws_db_instance" "main" {
  identifier             = "shop-db"
  engine                 = "postgres"
  instance_class         = "db.t4g.micro"
  username               = "app"
  manage_master_user_password = true
  backup_retention_period = 7
  deletion_protection    = true
  multi_az               = true
  vpc_security_group_ids = [aws_security_group.db.id]
}
"""


def test_a_security_group_added_to_the_database_by_hand_is_drift(
        aws: str, tmp_path: Path) -> None:
    ec2 = client("ec2")
    db_group = ec2.create_security_group(GroupName="shop-db", Description="db")["GroupId"]
    wide = ec2.create_security_group(GroupName="shop-wide-open", Description="x")["GroupId"]
    client("rds").create_db_instance(
        DBInstanceIdentifier="shop-db", DBInstanceClass="db.t4g.micro", Engine="postgres",
        AllocatedStorage=20, MasterUsername="app", MasterUserPassword="password-123",
        BackupRetentionPeriod=7, DeletionProtection=True, MultiAZ=True,
        VpcSecurityGroupIds=[db_group, wide])
    (tmp_path / "main.tf").write_text(DB_TF)
    (tmp_path / "auditor.yaml").write_text(
        "service: shop\nenvironments:\n  prod:\n    terraform: {dirs: [.]}\n"
        f"    aws: {{region: {REGION}}}\n")
    report = _audit(tmp_path)
    drift = [f for f in report["findings"] if f["policy"] == "terraform-drift"
             and f["resource"]["kind"] == "DBInstance"]
    assert len(drift) == 1, drift
    assert drift[0]["status"] == "fail"
    assert "shop-wide-open" in drift[0]["message"]
    assert drift[0]["location"]["line"] == 16
    # The command that most likely did it names the groups by id, as the CLI takes them.
    assert drift[0]["details"]["cause"] == (
        f"aws rds modify-db-instance --db-instance-identifier shop-db --vpc-security-group-ids "
        f"{db_group} <id of shop-wide-open> --apply-immediately")


# ---- terraform-drift: access logs switched off, rotation set up by CLI --------------------

LB_TF = """
resource "aws_lb" "main" {
  name               = "shop-alb"
  load_balancer_type = "application"
  access_logs {
    bucket  = "shop-alb-logs"
    prefix  = "prod"
    enabled = true
  }
}

resource "aws_secretsmanager_secret" "db" {
  name = "shop/prod/database"
}
"""


def test_access_logs_switched_off_and_rotation_set_by_cli_are_drift(
        aws: str, tmp_path: Path) -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in enumerate("ab")]
    elb = client("elbv2")
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets,
                                  Type="application")["LoadBalancers"][0]
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "false"},  # by hand, during an incident
        {"Key": "access_logs.s3.bucket", "Value": "shop-alb-logs"},
        {"Key": "access_logs.s3.prefix", "Value": "prod"}])
    sm = client("secretsmanager")
    sm.create_secret(Name="shop/prod/database", SecretString="{}")
    sm.rotate_secret(SecretId="shop/prod/database",  # the runbook's breach step
                     RotationRules={"AutomaticallyAfterDays": 30})
    (tmp_path / "main.tf").write_text(LB_TF)
    (tmp_path / "auditor.yaml").write_text(
        "service: shop\nenvironments:\n  prod:\n    terraform: {dirs: [.]}\n"
        f"    aws: {{region: {REGION}}}\n")
    report = _audit(tmp_path)
    drift = {(f["resource"]["kind"], f["item"]): f for f in report["findings"]
             if f["policy"] == "terraform-drift"}
    logs = drift[("LoadBalancer", "access_logs.enabled")]
    assert logs["location"]["line"] == 8
    assert logs["details"]["cause"] == (
        f"aws elbv2 modify-load-balancer-attributes --load-balancer-arn "
        f"{lb['LoadBalancerArn']} --attributes Key=access_logs.s3.enabled,Value=false")
    rotation = drift[("SecretsManagerSecret", "rotation_enabled")]
    assert rotation["details"]["declared"] == "false" and rotation["details"]["live"] == "true"
    assert rotation["details"]["cause"].startswith(
        "aws secretsmanager rotate-secret --secret-id shop/prod/database")
    assert len(drift) == 2, sorted(drift)
