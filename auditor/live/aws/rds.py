"""RDS instances (with their newest snapshot) and parameter groups.

An instance takes the Terraform shape of ``aws_db_instance``, its security groups named.
Its ``max_connections`` is worked out as RDS does: the number its parameter group sets,
else that group's formula or the engine's default formula, evaluated with the memory of
the instance class as ``ec2 describe-instance-types`` reports it. RDS's
``DBInstanceClassMemory`` is a little less than that memory, so an evaluated formula is an
upper bound; where the class or the formula is not known the value is
:class:`~auditor.unknown.Unknown`, never a guess (marked ``failed`` when an API read is
why). A value set with ``ApplyMethod=pending-reboot`` on an instance whose parameter group
status is ``pending-reboot`` is not in effect yet, and RDS does not say which one is, so
``max_connections`` is unknown then. Parameter groups keep only user-set values
(``Source=user``), as Terraform declares only those, the set value even when it waits for
a reboot (that is what Terraform compares), and list such values under ``pending_reboot``.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.capacity import DEFAULT_MAX_CONNECTIONS, eval_formula
from auditor.live.aws import ec2
from auditor.live.aws.api import Api, CallFailed, read, unique
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected, iso
from auditor.models import Resource
from auditor.unknown import Unknown

KINDS = ("DBInstance", "DBParameterGroup")
SERVICES = ("rds", "ec2")


def wanted(t: Targets) -> tuple[str, ...]:
    # An instance brings its parameter group (max_connections lives there).
    return KINDS if t.db_instances else ("DBParameterGroup",) if t.parameter_groups else ()


PENDING = "pending-reboot"


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    statuses: dict[str, str | None] = {}  # instance -> its parameter group's apply status
    instances = read(out, ("DBInstance",), lambda: _instances(api, t.db_instances, statuses))
    names = unique([*t.parameter_groups, *(i.body["parameter_group_name"] for i in instances
                                           if i.body.get("parameter_group_name"))])
    on_reboot: dict[str, list[str]] = {}  # group -> parameters set to apply on reboot
    read_groups = read(out, ("DBParameterGroup",), lambda: _groups(api, names, on_reboot))
    groups = {g.name: g for g in read_groups}
    for group in read_groups:  # waiting only while an instance of the group waits
        waiting = any(statuses.get(i.name) == PENDING for i in instances
                      if i.body.get("parameter_group_name") == group.name)
        group.body["pending_reboot"] = on_reboot.get(group.name, []) if waiting else []
    why_not = out.unavailable.get("DBParameterGroup")
    memories: dict[str, int | Unknown] = {}
    for instance in instances:
        cls = str(instance.body.get("instance_class"))
        if cls not in memories:
            memories[cls] = _memory(api, cls)
        memory = memories[cls]
        if isinstance(memory, int):
            instance.body["instance_memory_bytes"] = memory
        name = instance.body.get("parameter_group_name")
        pending = (on_reboot.get(name, []) if isinstance(name, str)
                   and statuses.get(instance.name) == PENDING else [])
        instance.body["max_connections"] = _max_connections(instance.body, memory, groups,
                                                            why_not, pending)
    return out


def _instances(api: Api, identifiers: list[str], statuses: dict[str, str | None]
               ) -> list[Resource]:
    found = []
    for identifier in identifiers:
        response = api.call("rds", "describe_db_instances", missing=("DBInstanceNotFound",),
                            DBInstanceIdentifier=identifier)
        for db in (response or {}).get("DBInstances") or []:
            groups = db.get("DBParameterGroups") or [{}]
            statuses[db["DBInstanceIdentifier"]] = groups[0].get("ParameterApplyStatus")
            found.append(api.resource("DBInstance", db["DBInstanceIdentifier"],
                                      _instance(api, db)))
    return found


def _instance(api: Api, db: dict[str, Any]) -> dict[str, Any]:
    groups = [g.get("DBParameterGroupName") for g in db.get("DBParameterGroups") or []]
    return {
        "identifier": db["DBInstanceIdentifier"], "engine": db.get("Engine"),
        "engine_version": db.get("EngineVersion"), "instance_class": db.get("DBInstanceClass"),
        # No endpoint while the instance is being created; DbInstancePort is 0 then.
        "port": (db.get("Endpoint") or {}).get("Port") or db.get("DbInstancePort") or None,
        "multi_az": bool(db.get("MultiAZ")),
        "backup_retention_period": db.get("BackupRetentionPeriod"),
        "deletion_protection": bool(db.get("DeletionProtection")),
        "publicly_accessible": bool(db.get("PubliclyAccessible")),
        "storage_encrypted": bool(db.get("StorageEncrypted")),
        "parameter_group_name": groups[0] if groups else None,
        "vpc_security_group_ids": group_names(api, db),
        "status": db.get("DBInstanceStatus"),
        "latest_snapshot_time": newest_snapshot(api, "describe_db_snapshots", "DBSnapshots",
                                                DBInstanceIdentifier=db["DBInstanceIdentifier"]),
        # A read replica is restored from its source: absent on any other instance.
        **({"replicate_source_db": db["ReadReplicaSourceDBInstanceIdentifier"]}
           if db.get("ReadReplicaSourceDBInstanceIdentifier") else {}),
    }


def group_names(api: Api, db: dict[str, Any]) -> list[str] | Unknown:
    """The names of an instance's or cluster's security groups (Terraform holds names)."""
    ids = [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups") or []
           if g.get("VpcSecurityGroupId")]
    try:
        names = ec2.group_names(api, ids) if ids else {}
    except CallFailed as exc:  # the ids alone would read as drift from Terraform's names
        return Unknown(f"the names of security groups {', '.join(ids)} were not read: {exc}",
                       failed=True)
    return [names.get(i, i) for i in ids]


def newest_snapshot(api: Api, operation: str, key: str, **params: Any) -> str | None:
    """The newest automated or manual snapshot's time (of an instance, or with the
    cluster operation of a cluster); None when there is none."""
    snapshots = api.pages("rds", operation, key, **params)
    times = [s["SnapshotCreateTime"] for s in snapshots if s.get("SnapshotCreateTime")]
    return iso(max(times)) if times else None


def _memory(api: Api, instance_class: str) -> int | Unknown:
    """Bytes of memory of an RDS class (``db.r6g.large`` is EC2's ``r6g.large``)."""
    if not instance_class.startswith("db."):
        return Unknown(f"instance class {instance_class!r} has no EC2 instance type")
    name = instance_class.removeprefix("db.")
    try:
        info = ec2.instance_type(api, name)
    except CallFailed as exc:  # an error to report, not a value unknown offline
        return Unknown(f"the memory of {instance_class} was not read: {exc}", failed=True)
    mib = (info or {}).get("MemoryInfo", {}).get("SizeInMiB")
    if not isinstance(mib, int):
        return Unknown(f"ec2 DescribeInstanceTypes does not know {name}, the EC2 type of "
                       f"{instance_class}")
    return mib * 2**20


def _groups(api: Api, names: list[str], on_reboot: dict[str, list[str]]) -> list[Resource]:
    return [group for name in names if (group := _group(api, name, on_reboot)) is not None]


def _group(api: Api, name: str, on_reboot: dict[str, list[str]]) -> Resource | None:
    response = api.call("rds", "describe_db_parameter_groups",
                        missing=("DBParameterGroupNotFound",), DBParameterGroupName=name)
    found = (response or {}).get("DBParameterGroups") or []
    if not found:
        return None
    params = [p for p in api.pages("rds", "describe_db_parameters", "Parameters",
                                   DBParameterGroupName=name, Source="user")
              if p.get("Source", "user") == "user" and "ParameterName" in p]
    on_reboot[name] = [p["ParameterName"] for p in params if p.get("ApplyMethod") == PENDING]
    return api.resource("DBParameterGroup", name, {
        "name": name, "family": found[0].get("DBParameterGroupFamily"),
        "parameters": {p["ParameterName"]: p.get("ParameterValue") for p in params},
    })


def _max_connections(body: dict[str, Any], memory: int | Unknown,
                     groups: dict[str, Resource], why_not: str | None,
                     pending: list[str]) -> int | Unknown:
    name = body.get("parameter_group_name")
    group = groups.get(name) if isinstance(name, str) else None
    if group is None and isinstance(name, str) and not name.startswith("default."):
        return (Unknown(f"parameter group {name} was not read: {why_not}", failed=True)
                if why_not else Unknown(f"parameter group {name} was not found"))
    raw = group.body["parameters"].get("max_connections") if group else None
    if "max_connections" in pending:  # the set value waits for a reboot
        return Unknown(f"{raw} pending reboot; the value in effect is not known")
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    engine = str(body.get("engine") or "")
    family = "mysql" if "mysql" in engine or "maria" in engine else (
        "postgres" if "postgres" in engine else None)
    formula = raw if isinstance(raw, str) and raw else (
        DEFAULT_MAX_CONNECTIONS[family] if family else None)
    if formula is None:
        return Unknown(f"no default max_connections formula is known for engine {engine!r}")
    if isinstance(memory, Unknown):
        return Unknown(f"max_connections is the formula {formula}; {memory.reason}",
                       failed=memory.failed)
    value = eval_formula(formula, memory)
    if value is None:
        return Unknown(f"max_connections is the formula {formula}, which is not evaluated")
    return value
