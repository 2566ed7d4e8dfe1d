"""RDS DB clusters (Aurora, and Multi-AZ DB clusters) with their member instances.

A cluster takes the Terraform shape of ``aws_rds_cluster``, its security groups named,
plus ``multi_az`` as RDS reports it (a replica in another zone) and its newest cluster
snapshot; each member takes the shape of ``aws_rds_cluster_instance`` (its public
endpoint is set per instance). Clusters, their snapshots and their members are described
by identifier filters (RDS.IDS at a time): no listing of the account, no call per object.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws.api import Api, read
from auditor.live.aws.rds import (
    described,
    group_names_of,
    newest_snapshots,
    ordered,
    security_groups,
)
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource
from auditor.unknown import Unknown

KINDS = ("DBCluster", "DBClusterInstance")
SERVICES = ("rds", "ec2")


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.db_clusters else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    members: list[str] = []
    read(out, ("DBCluster",), lambda: _clusters(api, t.db_clusters, members))
    if "DBCluster" in out.unavailable:  # the members are not known either
        out.unavailable["DBClusterInstance"] = out.unavailable["DBCluster"]
        return out
    read(out, ("DBClusterInstance",), lambda: _members(api, members))
    return out


def _clusters(api: Api, identifiers: list[str], members: list[str]) -> list[Resource]:
    dbs = ordered(described(api, "describe_db_clusters", "DBClusters", "db-cluster-id",
                            identifiers), "DBClusterIdentifier", identifiers)
    names = group_names_of(api, dbs)
    newest = newest_snapshots(api, "describe_db_cluster_snapshots", "DBClusterSnapshots",
                              "db-cluster-id", "DBClusterIdentifier",
                              [d["DBClusterIdentifier"] for d in dbs])
    found = []
    for db in dbs:
        members += [m["DBInstanceIdentifier"] for m in db.get("DBClusterMembers") or []
                    if m.get("DBInstanceIdentifier")]
        found.append(api.resource("DBCluster", db["DBClusterIdentifier"],
                                  _cluster(db, names, newest)))
    return found


def _cluster(db: dict[str, Any], names: dict[str, str] | Unknown,
             newest: dict[str, str]) -> dict[str, Any]:
    name = db["DBClusterIdentifier"]
    body: dict[str, Any] = {
        "cluster_identifier": name, "engine": db.get("Engine"),
        "engine_version": db.get("EngineVersion"), "port": db.get("Port"),
        "multi_az": bool(db.get("MultiAZ")),
        "backup_retention_period": db.get("BackupRetentionPeriod"),
        "deletion_protection": bool(db.get("DeletionProtection")),
        "storage_encrypted": bool(db.get("StorageEncrypted")),
        "db_cluster_parameter_group_name": db.get("DBClusterParameterGroup"),
        "vpc_security_group_ids": security_groups(db, names),
        "status": db.get("Status"),
        "latest_snapshot_time": newest.get(name),
        "members": len(db.get("DBClusterMembers") or []),
    }
    if db.get("DBClusterInstanceClass"):  # a Multi-AZ DB cluster: endpoints are its own
        body["db_cluster_instance_class"] = db["DBClusterInstanceClass"]
        body["publicly_accessible"] = bool(db.get("PubliclyAccessible"))
    return body


def _members(api: Api, identifiers: list[str]) -> list[Resource]:
    dbs = ordered(described(api, "describe_db_instances", "DBInstances", "db-instance-id",
                            identifiers), "DBInstanceIdentifier", identifiers)
    return [api.resource("DBClusterInstance", db["DBInstanceIdentifier"], {
        "identifier": db["DBInstanceIdentifier"],
        "cluster_identifier": db.get("DBClusterIdentifier"),
        "instance_class": db.get("DBInstanceClass"),
        "availability_zone": db.get("AvailabilityZone"),
        "publicly_accessible": bool(db.get("PubliclyAccessible")),
        "status": db.get("DBInstanceStatus"),
    }) for db in dbs]
