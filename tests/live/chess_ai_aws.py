"""The chess-ai example's AWS side in moto, built once for every user of it.

``build`` leaves moto as ``terraform apply`` of examples/chess-ai/infrastructure/terraform/aws
would leave AWS, in everything the collectors read (names, rules, sizes, health checks,
alarms; tests/live/test_aws.py compares the collected bodies with that Terraform). What no
collector reads is left out (listeners, tags, deregistration delay) or made up where moto
needs it (subnets, roles); the EKS cluster, GuardDuty and the trail belong to other stacks.
``apply_runbook_fixes`` runs the runbook's AWS emergency commands on top, as on-call ran
them. The AWS collector's tests and scripts/record_example_snapshot.py (the example's
recorded prod) both build it from here.

Everything is relative to ``moment``, the caller's "now": nothing here is a calendar date.
``stable_ids`` maps the ids moto draws at random to ids derived from the names, so a recording
does not depend on moto's random numbers (its seed, its version, what ran before).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.live.aws_fixtures import REGION, client

VPC_ID = "vpc-0a1b2c3d4e5f67890"  # var.vpc_id's default in the example's Terraform
VPC_CIDR = "10.40.0.0/16"
POD_IPS = ("10.40.1.23", "10.40.2.47", "10.40.3.12", "10.40.1.88", "10.40.3.105")
SNAPSHOT_AGE = timedelta(days=3, hours=4, minutes=33)  # the last backup, 03:12 three days ago
CERT_AGE = timedelta(days=120)  # the ACM certificate was issued four months ago
DOMAIN = "chess-ai.example.com"
DB_PASSWORD = "s3cr3t-db-password-never-recorded"  # planted: no collector may read it
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:chess-ai-prod-alerts"
GROUPS = {"alb": "Public HTTPS entry point of chess-ai",
          "app": "chess-ai application pods", "db": "chess-ai PostgreSQL",
          "bastion": "Break-glass SSH bastion"}


@dataclass(frozen=True)
class Stack:
    """What moto assigned: the ids a test or the recording refers to."""

    vpc_id: str
    groups: dict[str, str]  # "alb" | "app" | "db" | "bastion" -> group id
    lb_arn: str
    target_group_arn: str
    cert_arn: str
    detector_id: str

    @property
    def lb_suffix(self) -> str:
        """The load balancer's ARN suffix (``app/<name>/<id>``), CloudWatch's dimension."""
        return self.lb_arn.split(":loadbalancer/", 1)[1]

    def stable_ids(self) -> dict[str, str]:
        """moto's random id -> an id of the same shape derived from the object's name."""
        ids = {gid: "sg-" + _hex(f"security-group/{name}", 17)
               for name, gid in self.groups.items()}
        ids[self.lb_arn.rsplit("/", 1)[1]] = _hex("load-balancer", 16)
        ids[self.target_group_arn.rsplit("/", 1)[1]] = _hex("target-group", 16)
        ids[self.cert_arn.rsplit("/", 1)[1]] = str(uuid.uuid5(uuid.NAMESPACE_DNS, DOMAIN))
        ids[self.detector_id] = _hex("guardduty-detector", 32)
        return ids


def _hex(name: str, length: int) -> str:
    return hashlib.sha256(f"chess-ai-prod/{name}".encode()).hexdigest()[:length]


def build(moment: datetime) -> Stack:
    """The example's Terraform as applied; ``moment`` is now (aware, UTC)."""
    ec2 = client("ec2")
    ec2.describe_vpcs()  # moto makes the region's default VPC on its first EC2 request
    with moto_vpc_id(VPC_ID):
        vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    private = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"), (3, "c"))]
    public = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{100 + i}.0/24",
                                AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
              for i, z in ((1, "a"), (2, "b"), (3, "c"))]
    sg = {name: ec2.create_security_group(GroupName=f"chess-ai-prod-{name}", Description=text,
                                          VpcId=vpc)["GroupId"]
          for name, text in GROUPS.items()}
    for gid in sg.values():  # Terraform removes AWS's default allow-all egress
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    _security_group_rules(sg)
    _database(private, sg["db"], moment)

    eks = client("eks")
    eks.create_cluster(name="chess-ai-prod",
                       roleArn="arn:aws:iam::123456789012:role/chess-ai-prod-eks-cluster",
                       resourcesVpcConfig={"subnetIds": private})
    eks.create_nodegroup(clusterName="chess-ai-prod", nodegroupName="general",
                         nodeRole="arn:aws:iam::123456789012:role/chess-ai-prod-eks-node",
                         subnets=private, instanceTypes=["m6i.xlarge"],
                         capacityType="ON_DEMAND", diskSize=100,
                         scalingConfig={"minSize": 3, "maxSize": 6, "desiredSize": 6},
                         labels={"workload": "general"})

    lb_arn, tg_arn = _load_balancer(vpc, public, sg["alb"])
    with moto_clock("acm", moment - CERT_AGE):  # long past moto's wait for DNS validation
        cert_arn = client("acm").request_certificate(
            DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    _alarms(lb_arn.split(":loadbalancer/", 1)[1])

    sm = client("secretsmanager")
    sm.create_secret(Name="chess-ai/prod/database",
                     Description="chess-ai application database credentials",
                     SecretString=json.dumps({"username": "chessai_app",
                                              "password": DB_PASSWORD}))
    # moto would invoke a rotation Lambda named here; the rules are what is audited.
    sm.rotate_secret(SecretId="chess-ai/prod/database",
                     RotationRules={"AutomaticallyAfterDays": 30})

    detector = client("guardduty").create_detector(Enable=True)["DetectorId"]
    client("s3").create_bucket(Bucket="org-cloudtrail-123456789012")
    trail = client("cloudtrail")
    trail.create_trail(Name="org-trail", S3BucketName="org-cloudtrail-123456789012",
                       IsMultiRegionTrail=True)
    trail.start_logging(Name="org-trail")
    return Stack(vpc_id=vpc, groups=sg, lb_arn=lb_arn, target_group_arn=tg_arn,
                 cert_arn=cert_arn, detector_id=detector)


def _security_group_rules(sg: dict[str, str]) -> None:
    ec2 = client("ec2")

    def rule(way: str, group: str, port: int, proto: str = "tcp", **peer: Any) -> None:
        call = getattr(ec2, f"authorize_security_group_{way}")
        ports = {} if proto == "-1" else {"FromPort": port, "ToPort": port}
        call(GroupId=sg[group], IpPermissions=[{"IpProtocol": proto, **ports, **peer}])

    def cidr(block: str, text: str) -> dict[str, Any]:
        return {"IpRanges": [{"CidrIp": block, "Description": text}]}

    rule("ingress", "alb", 443, **cidr("0.0.0.0/0", "HTTPS from the internet"))
    rule("ingress", "alb", 80, **cidr("0.0.0.0/0",
                                      "HTTP from the internet (redirected to HTTPS)"))
    rule("egress", "alb", 8000, **cidr(VPC_CIDR, "Forward to targets inside the VPC"))
    rule("ingress", "app", 8000, UserIdGroupPairs=[
        {"GroupId": sg["alb"], "Description": "Application port from the ALB"}])
    rule("egress", "app", 0, "-1", **cidr("0.0.0.0/0", "All outbound"))
    rule("ingress", "db", 5432, UserIdGroupPairs=[
        {"GroupId": sg["app"], "Description": "PostgreSQL from the application pods only"}])
    rule("ingress", "bastion", 22, **cidr("0.0.0.0/0", "SSH to the bastion"))
    rule("egress", "bastion", 0, "-1", **cidr(VPC_CIDR, "Bastion to anything inside the VPC"))


def _database(subnets: list[str], group: str, moment: datetime) -> None:
    rds = client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName="chess-ai-prod-db", SubnetIds=subnets,
                               DBSubnetGroupDescription="Private subnets of the chess-ai database")
    rds.create_db_parameter_group(DBParameterGroupName="chess-ai-params",
                                  DBParameterGroupFamily="postgres15",
                                  Description="chess-ai PostgreSQL 15 parameters")
    rds.modify_db_parameter_group(DBParameterGroupName="chess-ai-params", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "200",
         "ApplyMethod": "pending-reboot"},
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "500",
         "ApplyMethod": "immediate"}])
    with moto_clock("rds", moment - SNAPSHOT_AGE):  # created, and last backed up, back then
        rds.create_db_instance(
            DBInstanceIdentifier="chess-ai-prod", DBInstanceClass="db.r6g.large",
            Engine="postgres", EngineVersion="15.7", DBName="chessai", Port=5432,
            MasterUsername="chessai_admin", ManageMasterUserPassword=True,
            AllocatedStorage=100, MaxAllocatedStorage=500, StorageType="gp3",
            StorageEncrypted=True, DBSubnetGroupName="chess-ai-prod-db",
            VpcSecurityGroupIds=[group], DBParameterGroupName="chess-ai-params",
            PubliclyAccessible=False, MultiAZ=True, BackupRetentionPeriod=3,
            PreferredBackupWindow="03:00-04:00",
            PreferredMaintenanceWindow="sun:04:30-sun:05:30", CopyTagsToSnapshot=True,
            DeletionProtection=True, AutoMinorVersionUpgrade=True)


def _load_balancer(vpc: str, subnets: list[str], group: str) -> tuple[str, str]:
    elb = client("elbv2")
    lb = elb.create_load_balancer(Name="chess-ai-prod-alb", Subnets=subnets,
                                  SecurityGroups=[group], Scheme="internet-facing",
                                  Type="application")["LoadBalancers"][0]
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"},
        {"Key": "access_logs.s3.bucket", "Value": "chess-ai-alb-logs"},
        {"Key": "access_logs.s3.prefix", "Value": "prod"},
        {"Key": "deletion_protection.enabled", "Value": "true"},
        {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}])
    tg = elb.create_target_group(
        Name="chess-ai-prod-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip",
        HealthCheckEnabled=True, HealthCheckPath="/health", HealthCheckPort="traffic-port",
        HealthCheckProtocol="HTTP", HealthCheckIntervalSeconds=15, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=2, UnhealthyThresholdCount=3,
        Matcher={"HttpCode": "200"})["TargetGroups"][0]
    # The AWS Load Balancer Controller registers the pods by IP.
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": ip, "Port": 8000} for ip in POD_IPS])
    return lb["LoadBalancerArn"], tg["TargetGroupArn"]


def _alarms(lb_suffix: str) -> None:
    cw = client("cloudwatch")
    common: dict[str, Any] = {
        "Namespace": "AWS/ApplicationELB", "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching", "AlarmActions": [ALARM_TOPIC],
        "OKActions": [ALARM_TOPIC], "Dimensions": [{"Name": "LoadBalancer",
                                                    "Value": lb_suffix}]}
    cw.put_metric_alarm(
        AlarmName="chess-ai-prod-alb-latency-p95",
        AlarmDescription="p95 target response time is high (runbook: 2. High Latency)",
        MetricName="TargetResponseTime", ExtendedStatistic="p95", Period=60,
        EvaluationPeriods=5, DatapointsToAlarm=3, Threshold=1.0, **common)
    cw.put_metric_alarm(
        AlarmName="chess-ai-prod-alb-target-5xx",
        AlarmDescription="Targets return 5xx (runbook: 1. High Error Rate)",
        MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=50, **common)


def apply_runbook_fixes(stack: Stack) -> None:
    """The runbook's AWS commands, as on-call ran them during the night's incidents."""
    # aws ec2 authorize-security-group-ingress --group-id sg-... --protocol tcp --port 5432
    #   --cidr 10.0.0.0/8
    client("ec2").authorize_security_group_ingress(
        GroupId=stack.groups["db"], IpProtocol="tcp", FromPort=5432, ToPort=5432,
        CidrIp="10.0.0.0/8")
    # aws rds modify-db-parameter-group --db-parameter-group-name chess-ai-params
    #   --parameters "ParameterName=max_connections,ParameterValue=500,ApplyMethod=pending-reboot"
    client("rds").modify_db_parameter_group(DBParameterGroupName="chess-ai-params", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "500",
         "ApplyMethod": "pending-reboot"}])
    # aws eks update-nodegroup-config --cluster-name chess-ai-prod --nodegroup-name general
    #   --scaling-config minSize=3,maxSize=12,desiredSize=8
    client("eks").update_nodegroup_config(clusterName="chess-ai-prod", nodegroupName="general",
                                          scalingConfig={"minSize": 3, "maxSize": 12,
                                                         "desiredSize": 8})
    # aws elbv2 modify-target-group --target-group-arn ... --health-check-path /health/ready
    client("elbv2").modify_target_group(TargetGroupArn=stack.target_group_arn,
                                        HealthCheckPath="/health/ready")


ONCALL = "arn:aws:sts::123456789012:assumed-role/oncall/jdoe"  # who ran the fixes


def runbook_fix_events(stack: Stack, at: datetime) -> list[dict[str, Any]]:
    """What CloudTrail recorded of :func:`apply_runbook_fixes` (moto records nothing): the
    same calls, by the on-call engineer's role session, a minute apart from ``at`` on."""
    from tests.live.cloudtrail_fixture import event

    calls = [
        ("AuthorizeSecurityGroupIngress", {"groupId": stack.groups["db"], "ipPermissions": {
            "items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                       "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}}),
        ("ModifyDBParameterGroup", {"dBParameterGroupName": "chess-ai-params", "parameters": [
            {"parameterName": "max_connections", "parameterValue": "500",
             "applyMethod": "pending-reboot"}]}),
        ("UpdateNodegroupConfig", {"name": "chess-ai-prod", "nodegroupName": "general",
                                   "scalingConfig": {"minSize": 3, "maxSize": 12,
                                                     "desiredSize": 8}}),
        ("ModifyTargetGroup", {"targetGroupArn": stack.target_group_arn,
                               "healthCheckPath": "/health/ready"}),
    ]
    return [event(name, at + timedelta(minutes=i), actor_arn=ONCALL, request_parameters=params)
            for i, (name, params) in enumerate(calls)]


# ---- what moto cannot be asked for over HTTP (it runs in this process) --------------------

@contextmanager
def moto_vpc_id(vpc_id: str) -> Iterator[None]:
    """The next VPC moto makes gets ``vpc_id`` (the one Terraform's var.vpc_id names, so
    the groups are found in the VPC Terraform declares for them)."""
    from moto.ec2.models import vpcs

    original = vpcs.random_vpc_id
    vpcs.random_vpc_id = lambda: vpc_id  # type: ignore[assignment]
    try:
        yield
    finally:
        vpcs.random_vpc_id = original  # type: ignore[assignment]


@contextmanager
def moto_clock(service: str, moment: datetime) -> Iterator[None]:
    """The clock of one moto service set back: what it creates meanwhile is stamped
    ``moment`` (and a certificate it issues runs from then)."""
    models = importlib.import_module(f"moto.{service}.models")
    original = models.utcnow
    models.utcnow = lambda: moment.replace(tzinfo=None)  # moto keeps naive UTC times
    try:
        yield
    finally:
        models.utcnow = original


@contextmanager
def pending_reboot(*identifiers: str) -> Iterator[None]:
    """The named RDS instances report their parameter group ``pending-reboot`` (moto says
    ``in-sync`` always), as RDS does after a static parameter changed until a reboot."""
    from moto.rds.models import DBInstance

    original = DBInstance.db_parameter_group_status_list

    def status_list(self: DBInstance) -> Any:
        groups = self.db_parameter_groups()
        for group in groups:
            status = "pending-reboot" if self.db_instance_identifier in identifiers else (
                "in-sync")
            group.ParameterApplyStatus = status  # type: ignore[attr-defined]
        return groups

    DBInstance.db_parameter_group_status_list = property(  # type: ignore[assignment,method-assign]
        status_list)
    try:
        yield
    finally:
        DBInstance.db_parameter_group_status_list = original  # type: ignore[method-assign]
