"""A local AWS for the AWS collector's tests: moto's server over real HTTP, the chess-ai
stack built in it with boto3, and a fault server that fails the way AWS fails.

moto runs once per session (its first EC2 call takes seconds) on 127.0.0.1 at a free port.
Every test starts from an empty account (``POST /moto-api/reset``), with dummy credentials,
``AWS_ENDPOINT_URL`` pointing at moto, no shared config files and no instance metadata, so
nothing can reach a real account. The fault server answers in each protocol's own error
format (query XML, EC2 XML, JSON, CBOR) so botocore parses the error code as it would from
AWS; a test routes one service to it with ``AWS_ENDPOINT_URL_<SERVICE>``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
import trustme
from moto.server import ThreadedMotoServer

# What tests/live/conftest.py re-exports: the fixtures (helpers are imported by name).
__all__ = ["aws", "fault_server", "moto_server"]

REGION = "us-east-1"
CERT_NOT_AFTER = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
SECRET_VALUE = "s3cr3t-db-password-never-read"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in reports
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with eks_answers_like_aws():
        yield f"http://127.0.0.1:{port}"
    server.stop()


@contextmanager
def eks_answers_like_aws() -> Iterator[None]:
    """EKS answers ListNodegroups for a cluster that does not exist with
    ResourceNotFoundException; moto fails with a 500 (a KeyError)."""
    from moto.eks.exceptions import ResourceNotFoundException
    from moto.eks.models import CLUSTER_NOT_FOUND_MSG, EKSBackend

    original = EKSBackend.list_nodegroups

    def list_nodegroups(self: EKSBackend, cluster_name: str, **kwargs: Any) -> Any:
        if cluster_name not in self.clusters:
            raise ResourceNotFoundException(
                clusterName=cluster_name, nodegroupName=None, fargateProfileName=None,
                addonName=None, message=CLUSTER_NOT_FOUND_MSG.format(clusterName=cluster_name))
        return original(self, cluster_name, **kwargs)

    EKSBackend.list_nodegroups = list_nodegroups  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        EKSBackend.list_nodegroups = original  # type: ignore[method-assign]


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An empty moto account, reachable only through the environment, as a user's would be."""
    for var in list(os.environ):
        if var.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    isolate(monkeypatch, tmp_path)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return moto_server


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ~/.aws, no ~/.boto, no instance metadata: only what the test sets counts."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("BOTO_CONFIG", str(tmp_path / "no-boto-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# ---- the chess-ai stack, as the runbook's Terraform describes it ---------------------------

@dataclass
class Stack:
    vpc_id: str
    groups: dict[str, str]  # name -> id
    lb_arn: str
    lb_suffix: str
    web_acl_arn: str
    cert_arn: str
    ids: dict[str, Any] = field(default_factory=dict)


def client(service: str) -> Any:
    """A client of moto itself (never of a fault server), made once per session."""
    return _client(service, os.environ["AWS_ENDPOINT_URL"])


@functools.cache
def _client(service: str, endpoint: str) -> Any:
    return boto3.Session(region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing").client(service, endpoint_url=endpoint)


def build_chess_ai() -> Stack:
    """The runbook's service in moto: three security groups chained ALB -> app -> db (and a
    world-open SSH rule on a bastion), RDS with its parameter group, the EKS node group,
    the ALB with target group, access logs and WAF, certificates (two imported for one
    domain, one requested with DNS validation), alarms, a
    rotating secret, GuardDuty and a multi-region trail."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    groups = {name: ec2.create_security_group(GroupName=f"chess-ai-prod-{name}",
                                              Description=f"chess-ai {name}",
                                              VpcId=vpc)["GroupId"]
              for name in ("alb", "app", "db", "bastion")}
    for gid in groups.values():  # Terraform removes AWS's default allow-all egress
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    world = [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS from the internet"}]
    ec2.authorize_security_group_ingress(GroupId=groups["alb"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": world}])
    ec2.authorize_security_group_egress(GroupId=groups["alb"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000,
         "IpRanges": [{"CidrIp": "10.40.0.0/16", "Description": "Forward to targets"}]}])
    ec2.authorize_security_group_ingress(GroupId=groups["app"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [
            {"GroupId": groups["alb"], "Description": "Application port from the ALB"}]}])
    ec2.authorize_security_group_egress(GroupId=groups["app"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0",
                                           "Description": "All outbound"}]}])
    ec2.authorize_security_group_ingress(GroupId=groups["db"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [
            {"GroupId": groups["app"], "Description": "PostgreSQL from the pods only"}]}])
    ec2.authorize_security_group_ingress(GroupId=groups["bastion"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "SSH to the bastion"}]}])

    rds = client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="chess-ai-params",
                                  DBParameterGroupFamily="postgres15", Description="chess-ai")
    rds.modify_db_parameter_group(DBParameterGroupName="chess-ai-params", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "200",
         "ApplyMethod": "pending-reboot"},
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "500",
         "ApplyMethod": "immediate"}])
    rds.create_db_instance(
        DBInstanceIdentifier="chess-ai-prod", DBInstanceClass="db.r6g.large",
        Engine="postgres", EngineVersion="15.7", AllocatedStorage=100, Port=5432,
        MasterUsername="chessai_admin", MasterUserPassword=SECRET_VALUE,
        DBParameterGroupName="chess-ai-params", VpcSecurityGroupIds=[groups["db"]],
        MultiAZ=True, BackupRetentionPeriod=3, DeletionProtection=True,
        StorageEncrypted=True, PubliclyAccessible=False)

    eks = client("eks")
    eks.create_cluster(name="chess-ai-prod", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": subnets})
    eks.create_nodegroup(clusterName="chess-ai-prod", nodegroupName="general",
                         nodeRole="arn:aws:iam::123456789012:role/node", subnets=subnets,
                         instanceTypes=["m6i.xlarge"],
                         scalingConfig={"minSize": 3, "maxSize": 6, "desiredSize": 6})

    elb = client("elbv2")
    lb = elb.create_load_balancer(Name="chess-ai-prod-alb", Subnets=subnets,
                                  SecurityGroups=[groups["alb"]], Scheme="internet-facing",
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
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[
        {"Id": "10.40.1.10", "Port": 8000}, {"Id": "10.40.2.11", "Port": 8000}])
    waf = client("wafv2")
    acl = waf.create_web_acl(Name="chess-ai", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=[], VisibilityConfig={
                                 "SampledRequestsEnabled": False,
                                 "CloudWatchMetricsEnabled": False, "MetricName": "chess"})
    waf.associate_web_acl(WebACLArn=acl["Summary"]["ARN"], ResourceArn=lb["LoadBalancerArn"])

    ca = trustme.CA()
    acm = client("acm")
    for not_after in (datetime(2026, 12, 1, tzinfo=UTC), CERT_NOT_AFTER):  # old, then new
        leaf = ca.issue_cert("chess-ai.example.com", not_after=not_after)
        cert_arn = acm.import_certificate(
            Certificate=leaf.cert_chain_pems[0].bytes(), PrivateKey=leaf.private_key_pem.bytes(),
            CertificateChain=ca.cert_pem.bytes())["CertificateArn"]

    acm.request_certificate(DomainName="api.chess-ai.example.com", ValidationMethod="DNS")

    suffix = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    cw = client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="chess-ai-prod-alb-latency-p95", Namespace="AWS/ApplicationELB",
        MetricName="TargetResponseTime", ExtendedStatistic="p95", Period=60,
        EvaluationPeriods=5, DatapointsToAlarm=3, ComparisonOperator="GreaterThanThreshold",
        Threshold=1.0, TreatMissingData="notBreaching",
        Dimensions=[{"Name": "LoadBalancer", "Value": suffix}])
    cw.put_metric_alarm(  # added in the console during an incident: not in Terraform
        AlarmName="oncall-5xx", Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=300,
        EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=50,
        Dimensions=[{"Name": "LoadBalancer", "Value": suffix}])
    cw.put_metric_alarm(  # another team's: neither declared nor on the load balancer
        AlarmName="billing", Namespace="AWS/Billing", MetricName="EstimatedCharges",
        Statistic="Maximum", Period=21600, EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold", Threshold=1000)

    sm = client("secretsmanager")
    sm.create_secret(Name="chess-ai/prod/database", SecretString=SECRET_VALUE)
    sm.rotate_secret(SecretId="chess-ai/prod/database",
                     RotationRules={"AutomaticallyAfterDays": 30})
    sm.create_secret(Name="chess-ai/prod/api-key", SecretString=SECRET_VALUE)

    detector = client("guardduty").create_detector(Enable=True)["DetectorId"]
    client("s3").create_bucket(Bucket="chess-ai-trail")
    trail = client("cloudtrail")
    trail.create_trail(Name="org-trail", S3BucketName="chess-ai-trail", IsMultiRegionTrail=True)
    trail.start_logging(Name="org-trail")
    return Stack(vpc_id=vpc, groups=groups, lb_arn=lb["LoadBalancerArn"], lb_suffix=suffix,
                 web_acl_arn=acl["Summary"]["ARN"], cert_arn=cert_arn,
                 ids={"detector": detector, "target_group_arn": tg["TargetGroupArn"]})


# The same stack as Terraform declares it (literal names where Terraform would read them
# from other stacks), for comparing the collected bodies with the Terraform source's.
CHESS_TF = """
variable "vpc_id" {}
variable "web_acl_arn" {}
variable "lb_suffix" {}

resource "aws_security_group" "alb" {
  name        = "chess-ai-prod-alb"
  description = "chess-ai alb"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS from the internet"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "Forward to targets"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = ["10.40.0.0/16"]
  }
}
resource "aws_security_group" "app" {
  name        = "chess-ai-prod-app"
  description = "chess-ai app"
  vpc_id      = var.vpc_id
  ingress {
    description     = "Application port from the ALB"
    from_port       = 8000
    to_port         = 8000
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }
  egress {
    description = "All outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "db" {
  name        = "chess-ai-prod-db"
  description = "chess-ai db"
  vpc_id      = var.vpc_id
  ingress {
    description     = "PostgreSQL from the pods only"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
}
resource "aws_security_group" "bastion" {
  name        = "chess-ai-prod-bastion"
  description = "chess-ai bastion"
  vpc_id      = var.vpc_id
}
resource "aws_security_group_rule" "bastion_ssh" {
  type              = "ingress"
  description       = "SSH to the bastion"
  security_group_id = aws_security_group.bastion.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_db_parameter_group" "main" {
  name   = "chess-ai-params"
  family = "postgres15"
  parameter {
    name         = "max_connections"
    value        = "200"
    apply_method = "pending-reboot"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
}
resource "aws_db_instance" "main" {
  identifier              = "chess-ai-prod"
  engine                  = "postgres"
  engine_version          = "15.7"
  instance_class          = "db.r6g.large"
  port                    = 5432
  multi_az                = true
  backup_retention_period = 3
  deletion_protection     = true
  publicly_accessible     = false
  storage_encrypted       = true
  parameter_group_name    = "chess-ai-params"
  vpc_security_group_ids  = [aws_security_group.db.id]
}
resource "aws_eks_node_group" "general" {
  cluster_name    = "chess-ai-prod"
  node_group_name = "general"
  instance_types  = ["m6i.xlarge"]
  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 6
  }
}
resource "aws_lb" "main" {
  name                       = "chess-ai-prod-alb"
  internal                   = false
  load_balancer_type         = "application"
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  access_logs {
    bucket  = "chess-ai-alb-logs"
    prefix  = "prod"
    enabled = true
  }
}
resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = aws_lb.main.arn
  web_acl_arn  = var.web_acl_arn
}
resource "aws_lb_target_group" "app" {
  name        = "chess-ai-prod-tg"
  port        = 8000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    enabled             = true
    path                = "/health"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}
resource "aws_acm_certificate" "api" {
  domain_name       = "api.chess-ai.example.com"
  validation_method = "DNS"
}
resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name          = "chess-ai-prod-alb-latency-p95"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 1.0
  treat_missing_data  = "notBreaching"
  dimensions = {
    LoadBalancer = var.lb_suffix
  }
}
resource "aws_secretsmanager_secret" "db" {
  name = "chess-ai/prod/database"
}
resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id           = aws_secretsmanager_secret.db.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
  rotation_rules {
    automatically_after_days = 30
  }
}
"""


# ---- what moto cannot be asked for over HTTP ----------------------------------------------

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


# ---- a server that fails like AWS -------------------------------------------------------

# mode -> (HTTP status, error code for JSON protocols, error code for query protocols)
FAULTS = {
    "500": (500, "InternalFailure", "InternalError"),
    "throttle": (400, "ThrottlingException", "Throttling"),
    "403": (403, "AccessDeniedException", "AccessDenied"),
}


class FaultServer:
    """Answers every request with the fault ``mode`` (see FAULTS), or, in mode "hang",
    answers only after ``delay`` seconds. Counts the requests it received. With ``only``
    (API operation names), other operations are passed on to ``upstream`` (moto) and its
    answer relayed, so one call of a service can fail while the others succeed."""

    def __init__(self, mode: str, delay: float = 3.0, only: set[str] | None = None,
                 upstream: str | None = None) -> None:
        self.mode, self.delay, self.only, self.upstream = mode, delay, only, upstream
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                outer._answer(self)

            def do_GET(self) -> None:  # REST-JSON reads are GETs
                outer._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.only is not None and _operation(handler, raw) not in self.only:
            self._relay(handler, raw)
            return
        self.requests.append(handler.path)
        if self.mode == "hang":
            time.sleep(self.delay)
            return  # closes without an answer, long after the client gave up
        status, json_code, query_code = FAULTS[self.mode]
        kind = handler.headers.get("Content-Type", "")
        headers: dict[str, str] = {}
        if "x-www-form-urlencoded" in kind:  # query protocols: RDS, ELBv2, EC2
            form = parse_qs(raw.decode())
            error = (f"<Error><Code>{query_code}</Code><Message>injected {self.mode}</Message>"
                     "</Error>")
            body = (f"<Response><Errors>{error}</Errors><RequestID>r</RequestID></Response>"
                    if form.get("Version") == ["2016-11-15"] else
                    f"<ErrorResponse>{error}<RequestId>r</RequestId></ErrorResponse>").encode()
            headers["Content-Type"] = "text/xml"
        elif "cbor" in kind:  # smithy RPC v2 CBOR: CloudWatch
            body = _cbor_map({"__type": json_code, "message": f"injected {self.mode}"})
            headers.update({"Content-Type": "application/cbor",
                            "smithy-protocol": "rpc-v2-cbor"})
        else:  # JSON and REST-JSON
            body = json.dumps({"__type": json_code, "message": f"injected {self.mode}"}).encode()
            headers.update({"Content-Type": "application/json", "x-amzn-ErrorType": json_code})
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


    def _relay(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        assert self.upstream, "a FaultServer with `only` needs an upstream"
        request = urllib.request.Request(
            self.upstream + handler.path, data=raw or None, method=handler.command,
            headers={k: v for k, v in handler.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "server", "date"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _operation(handler: BaseHTTPRequestHandler, raw: bytes) -> str:
    """The API operation of a request: the query protocols' Action, or X-Amz-Target's."""
    target = handler.headers.get("X-Amz-Target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    return (parse_qs(raw.decode()).get("Action") or [""])[0]


def _cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (all the error body needs)."""
    def text(value: str) -> bytes:
        data = value.encode()
        return (bytes([0x60 + len(data)]) if len(data) < 24 else bytes([0x78, len(data)])) + data

    return bytes([0xA0 + len(items)]) + b"".join(text(k) + text(v) for k, v in items.items())


@pytest.fixture
def fault_server() -> Iterator[type[FaultServer]]:
    started: list[FaultServer] = []

    class Started(FaultServer):
        def __init__(self, mode: str, delay: float = 3.0, only: set[str] | None = None,
                     upstream: str | None = None) -> None:
            super().__init__(mode, delay, only, upstream)
            started.append(self)

    yield Started
    for server in started:
        server.stop()
