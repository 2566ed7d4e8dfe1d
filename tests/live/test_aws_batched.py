"""The AWS reads are batched the way each API allows, and the calls that take one object
each run a few at a time: counted at a relay in front of moto that adds a round trip."""

from __future__ import annotations

from collections import Counter

import pytest

from auditor.config import Config
from auditor.live import aws as aws_live
from auditor.live.aws import api as aws_api
from tests.live.aws_fixtures import REGION, FaultServer, client

TGS, DBS, GROUPS = 45, 60, 6


def _estate() -> list[str]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sg = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    for i in range(TGS):
        client("elbv2").create_target_group(Name=f"tg-{i:02d}", Protocol="HTTP", Port=80,
                                            VpcId=vpc)
    rds = client("rds")
    for g in range(GROUPS):
        rds.create_db_parameter_group(DBParameterGroupName=f"pg-{g}",
                                      DBParameterGroupFamily="postgres15", Description="p")
        rds.modify_db_parameter_group(DBParameterGroupName=f"pg-{g}", Parameters=[{
            "ParameterName": "max_connections", "ParameterValue": str(100 + g),
            "ApplyMethod": "immediate"}])
    for i in range(DBS):
        rds.create_db_instance(DBInstanceIdentifier=f"db-{i:02d}", Engine="postgres",
                               DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                               MasterUsername="u", MasterUserPassword="p" * 12,
                               DBParameterGroupName=f"pg-{i % GROUPS}",
                               VpcSecurityGroupIds=[sg])
        rds.create_db_snapshot(DBSnapshotIdentifier=f"snap-{i:02d}",
                               DBInstanceIdentifier=f"db-{i:02d}")
    return [f"tg-{i:02d}" for i in range(TGS)]


def test_reads_are_batched_and_per_object_calls_overlap(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    names = _estate()
    relays = {}
    for service in ("ELASTIC_LOAD_BALANCING_V2", "RDS"):  # one each: they run at once
        relays[service] = relay = fault_server("500", only=set(), upstream=aws)  # relays all
        relay.latency = 0.02
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", relay.url)
    # An unknown name in the last batch of target groups: only that batch goes one by one.
    wanted = [*names, "tg-missing"]
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {
            "region": REGION, "target_groups": wanted,
            "db_instances": [f"db-{i:02d}" for i in reversed(range(DBS))]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert found.unavailable == {}
    calls = Counter(op for relay in relays.values() for op in relay.operations)
    # 45 + 1 names, 20 a call: 3 calls, and the batch of 6 with the unknown one again.
    assert calls["DescribeTargetGroups"] == 3 + 6
    assert calls["DescribeTargetHealth"] == TGS  # one group per call: unavoidable
    assert calls["DescribeDBInstances"] == 2  # 60 identifiers, 50 a filter
    assert calls["DescribeDBSnapshots"] == 2  # one filtered listing, not one per instance
    assert calls["DescribeDBParameterGroups"] == 1  # the account's groups, kept by name
    assert calls["DescribeDBParameters"] == GROUPS
    # The one-object calls ran a few at a time, never more than the pool.
    assert 2 <= relays["ELASTIC_LOAD_BALANCING_V2"].max_in_flight <= aws_api.PER_OBJECT
    assert 2 <= relays["RDS"].max_in_flight <= aws_api.PER_OBJECT
    # Everything was read, in the order asked for.
    groups = [r.name for r in found.resources if r.kind == "TargetGroup"]
    assert groups == names
    dbs = [r for r in found.resources if r.kind == "DBInstance"]
    assert [r.name for r in dbs] == [f"db-{i:02d}" for i in reversed(range(DBS))]
    assert all(r.body["latest_snapshot_time"] for r in dbs)
    assert all(r.body["vpc_security_group_ids"] == ["db"] for r in dbs)
    assert {r.name: r.body["max_connections"] for r in dbs}["db-07"] == 101
    assert any("tg-missing" in p.message for p in found.problems)


def test_instance_types_are_described_together_and_an_unknown_one_alone(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    classes = ["db.t3.micro", "db.r6g.large", "db.m5.xlarge", "db.t3.micro", "db.serverless"]
    for i, cls in enumerate(classes):
        client("rds").create_db_instance(
            DBInstanceIdentifier=f"db-{i}", Engine="postgres", DBInstanceClass=cls,
            AllocatedStorage=20, MasterUsername="u", MasterUserPassword="p" * 12)
    eks = client("eks")
    eks.create_cluster(name="c", roleArn="arn:aws:iam::123456789012:role/c",
                       resourcesVpcConfig={"subnetIds": [subnet]})
    node_types = {"a": ["m5.large"], "b": ["m5.large", "c6i.2xlarge"], "c": ["t3.medium"]}
    for name, types in node_types.items():
        eks.create_nodegroup(clusterName="c", nodegroupName=name, subnets=[subnet],
                             nodeRole="arn:aws:iam::123456789012:role/n", instanceTypes=types,
                             scalingConfig={"minSize": 1, "maxSize": 2, "desiredSize": 1})
    relay = fault_server("500", only=set(), upstream=aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", relay.url)
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {
            "region": REGION, "eks_cluster": "c",
            "db_instances": [f"db-{i}" for i in range(len(classes))]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    assert found.unavailable == {}
    described = Counter(relay.operations)["DescribeInstanceTypes"]
    # Node groups: one call for three types. Databases: one call that fails on the type
    # EC2 does not know (serverless), then each of its four types alone.
    assert described == 1 + 1 + 4
    dbs = {r.name: r.body for r in found.resources if r.kind == "DBInstance"}
    assert dbs["db-0"]["instance_memory_bytes"] == dbs["db-3"]["instance_memory_bytes"] == 2**30
    assert dbs["db-1"]["instance_memory_bytes"] == 16 * 2**30
    assert "does not know serverless" in str(dbs["db-4"]["max_connections"])
    nodes = {r.name: r.body["instance_capacity"] for r in found.resources
             if r.kind == "Nodegroup"}
    assert nodes["a"] == {"cpu": 2, "memory": "8192Mi", "pods": 29}
    assert nodes["c"]["cpu"] == 2 and len(nodes) == 3


def test_a_denied_instance_type_read_fails_only_the_classes_it_was_for(
        aws: str, fault_server: type[FaultServer], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, cls in (("db-a", "db.t3.micro"), ("db-b", "custom-class")):
        client("rds").create_db_instance(
            DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass=cls,
            AllocatedStorage=20, MasterUsername="u", MasterUserPassword="p" * 12)
    fault = fault_server("403", only={"DescribeInstanceTypes"}, upstream=aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", fault.url)
    config = Config.model_validate({"service": "s", "environments": {"prod": {
        "manifests": ["m.yaml"], "aws": {"region": REGION, "db_instances": ["db-a", "db-b"]}}}})
    found = aws_live.collect(config, "prod", config.environments["prod"], [])
    dbs = {r.name: r.body["max_connections"] for r in found.resources if r.kind == "DBInstance"}
    assert dbs["db-a"].failed and "DescribeInstanceTypes: AccessDenied" in dbs["db-a"].reason
    # A class with no EC2 type needed no call: it is unknown offline, not a failed read.
    assert not dbs["db-b"].failed and "has no EC2 instance type" in dbs["db-b"].reason
