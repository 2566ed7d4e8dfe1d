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
    memories = _memories(api, [str(i.body.get("instance_class")) for i in instances])
    for instance in instances:
        memory = memories[str(instance.body.get("instance_class"))]
        if isinstance(memory, int):
            instance.body["instance_memory_bytes"] = memory
        name = instance.body.get("parameter_group_name")
        pending = (on_reboot.get(name, []) if isinstance(name, str)
                   and statuses.get(instance.name) == PENDING else [])
        instance.body["max_connections"] = _max_connections(instance.body, memory, groups,
                                                            why_not, pending)
    return out


IDS = 50  # identifiers per RDS filter (db-instance-id, db-cluster-id)


def described(api: Api, operation: str, key: str, filter_name: str,
              identifiers: list[str]) -> list[dict[str, Any]]:
    """What RDS describes of ``identifiers``, by filter (an unknown one is simply not
    there), IDS at a time, every page."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(identifiers), IDS):
        found += api.pages("rds", operation, key, Filters=[
            {"Name": filter_name, "Values": identifiers[start:start + IDS]}])
    return found


def _instances(api: Api, identifiers: list[str], statuses: dict[str, str | None]
               ) -> list[Resource]:
    dbs = ordered(described(api, "describe_db_instances", "DBInstances", "db-instance-id",
                            identifiers), "DBInstanceIdentifier", identifiers)
    names = group_names_of(api, dbs)
    newest = newest_snapshots(api, "describe_db_snapshots", "DBSnapshots", "db-instance-id",
                              "DBInstanceIdentifier", [d["DBInstanceIdentifier"] for d in dbs])
    found = []
    for db in dbs:
        groups = db.get("DBParameterGroups") or [{}]
        statuses[db["DBInstanceIdentifier"]] = groups[0].get("ParameterApplyStatus")
        found.append(api.resource("DBInstance", db["DBInstanceIdentifier"],
                                  _instance(db, names, newest)))
    return found


def ordered(items: list[dict[str, Any]], key: str, identifiers: list[str]
            ) -> list[dict[str, Any]]:
    """Each item once, in the order asked for (RDS identifiers are case-insensitive)."""
    rank = {name.lower(): i for i, name in reversed(list(enumerate(identifiers)))}
    unique = {str(item[key]).lower(): item for item in items if item.get(key)}
    return sorted(unique.values(), key=lambda item: rank.get(str(item[key]).lower(),
                                                             len(rank)))


def _instance(db: dict[str, Any], names: dict[str, str] | Unknown,
              newest: dict[str, str]) -> dict[str, Any]:
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
        "vpc_security_group_ids": security_groups(db, names),
        "status": db.get("DBInstanceStatus"),
        "latest_snapshot_time": newest.get(db["DBInstanceIdentifier"]),
        # A read replica is restored from its source: absent on any other instance.
        **({"replicate_source_db": db["ReadReplicaSourceDBInstanceIdentifier"]}
           if db.get("ReadReplicaSourceDBInstanceIdentifier") else {}),
    }


def _group_ids(db: dict[str, Any]) -> list[str]:
    return [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups") or []
            if g.get("VpcSecurityGroupId")]


def group_names_of(api: Api, dbs: list[dict[str, Any]]) -> dict[str, str] | Unknown:
    """Security group id -> name for the groups of every instance or cluster in ``dbs``,
    in one batched describe (Terraform holds names); Unknown when it fails."""
    ids = list(dict.fromkeys(i for db in dbs for i in _group_ids(db)))
    try:
        return ec2.group_names(api, ids) if ids else {}
    except CallFailed as exc:  # the ids alone would read as drift from Terraform's names
        return Unknown(f"the names of security groups {', '.join(ids[:10])} were not read: "
                       f"{exc}", failed=True)


def security_groups(db: dict[str, Any], names: dict[str, str] | Unknown
                    ) -> list[str] | Unknown:
    """The names of one instance's or cluster's security groups."""
    ids = _group_ids(db)
    if isinstance(names, Unknown):
        return names if ids else []
    return [names.get(i, i) for i in ids]


def newest_snapshots(api: Api, operation: str, key: str, filter_name: str, owner: str,
                     identifiers: list[str]) -> dict[str, str]:
    """Identifier -> the time of its newest automated or manual snapshot (of instances,
    or with the cluster operation of clusters), from one filtered listing."""
    times: dict[str, Any] = {}
    for s in described(api, operation, key, filter_name, identifiers) if identifiers else []:
        name, at = s.get(owner), s.get("SnapshotCreateTime")
        if name and at and (name not in times or at > times[name]):
            times[name] = at
    return {name: iso(at) for name, at in times.items()}


def _memories(api: Api, classes: list[str]) -> dict[str, int | Unknown]:
    """Bytes of memory of each RDS class (``db.r6g.large`` is EC2's ``r6g.large``), all
    described in one call."""
    types = {c: c.removeprefix("db.") for c in unique(classes) if c.startswith("db.")}
    try:
        infos = ec2.instance_types(api, list(types.values())) if types else {}
    except CallFailed as exc:  # an error to report, not a value unknown offline
        return {c: Unknown(f"the memory of {c} was not read: {exc}", failed=True)
                if c in types else _memory(c, None, None) for c in classes}
    return {c: _memory(c, types.get(c), infos.get(types.get(c, ""))) for c in classes}


def _memory(instance_class: str, name: str | None, info: dict[str, Any] | None
            ) -> int | Unknown:
    if name is None:
        return Unknown(f"instance class {instance_class!r} has no EC2 instance type")
    mib = (info or {}).get("MemoryInfo", {}).get("SizeInMiB")
    if not isinstance(mib, int):
        return Unknown(f"ec2 DescribeInstanceTypes does not know {name}, the EC2 type of "
                       f"{instance_class}")
    return mib * 2**20


FEW = 5  # parameter groups described one by one; more are found in one listing


def _groups(api: Api, names: list[str], on_reboot: dict[str, list[str]]) -> list[Resource]:
    if len(names) <= FEW:
        found = [g for name in names for g in (api.call(
            "rds", "describe_db_parameter_groups", missing=("DBParameterGroupNotFound",),
            DBParameterGroupName=name) or {}).get("DBParameterGroups") or []]
    else:  # RDS filters no parameter groups by name: the account's, paged, kept by name
        wanted = set(names)
        found = [g for g in api.pages("rds", "describe_db_parameter_groups",
                                      "DBParameterGroups")
                 if g.get("DBParameterGroupName") in wanted]
    families = {g["DBParameterGroupName"]: g.get("DBParameterGroupFamily") for g in found
                if g.get("DBParameterGroupName")}
    present = [name for name in names if name in families]
    # One group's parameters per call: the groups are read PER_OBJECT at a time.
    parameters = api.each(lambda name: api.pages(
        "rds", "describe_db_parameters", "Parameters", DBParameterGroupName=name,
        Source="user"), present)
    groups = []
    for name, listed in zip(present, parameters, strict=True):
        params = [p for p in listed
                  if p.get("Source", "user") == "user" and "ParameterName" in p]
        on_reboot[name] = [p["ParameterName"] for p in params
                           if p.get("ApplyMethod") == PENDING]
        groups.append(api.resource("DBParameterGroup", name, {
            "name": name, "family": families[name],
            "parameters": {p["ParameterName"]: p.get("ParameterValue") for p in params},
        }))
    return groups


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
