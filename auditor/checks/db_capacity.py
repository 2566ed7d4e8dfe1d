"""Database capacity: the connections the pods may open fit the database's max_connections.

HPA maxReplicas x the chart's pool size x (1 + headroom) is compared with max_connections:
the parameter group's number, else RDS's default formula for the class's nominal memory.
An Aurora cluster's limit is its writer's, and any instance may become the writer: the
cluster parameter group's number, else the smallest its instances' own groups or the
formula allow.
That formula gives only an upper bound offline, so the answer is an honest ``unknown`` (or
a fail when even the most generous reading is exceeded), never a guess that passes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from auditor.checks.base import CheckContext, Outcome
from auditor.checks.capacity import (
    DEFAULT_MAX_CONNECTIONS,
    class_memory_gib,
    eval_formula,
    replicas_max,
    workloads,
)
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING, get, parse
from auditor.unknown import Unknown


def db_connection_capacity(ctx: CheckContext) -> list[Outcome]:
    """Fail when HPA maxReplicas x pool size x (1 + headroom) exceeds max_connections."""
    inv, params = ctx.inventory, ctx.params
    groups = {g.name: g for g in inv.of_kind("DBParameterGroup")}
    cluster_groups = {g.name: g for g in inv.of_kind("DBClusterParameterGroup")}
    key = str(params["db_pool_size_key"])
    out: list[Outcome] = []
    if not inv.of_kind("HelmValues"):
        return out  # no chart here, so no pool size: the check does not apply
    for db in inv.of_kind("DBInstance", "DBCluster"):
        demand = _demand(inv, key, params)
        if isinstance(demand, Unknown):
            out.append(Outcome(db, "unknown", reason=demand))
            continue
        total, pool, replicas, where = demand
        limit = (_cluster_max_connections(inv, db, groups, cluster_groups)
                 if db.kind == "DBCluster" else _max_connections(db, groups))
        if isinstance(limit, Unknown):
            out.append(Outcome(db, "unknown", path=("parameter_group_name",),
                               reason=limit))
            continue
        value, exact, origin = limit
        headroom = Decimal(str(params["headroom_percent"]))
        needed = int((Decimal(total) * (1 + headroom / 100)
                      ).to_integral_value(rounding="ROUND_CEILING"))
        # The largest pool that would fit: what `helm upgrade --set` could lower it to.
        fitting = int(Decimal(value) / (replicas * (1 + headroom / 100))) if replicas else pool
        facts: dict[str, Any] = {"pool": pool, "replicas": replicas, "needed": needed,
                                 "max_connections": value, "exact": exact, "origin": origin,
                                 "headroom": params["headroom_percent"],
                                 "fitting_pool": max(fitting, 1)}
        group = db.body.get("parameter_group_name")
        cluster_group = db.body.get("db_cluster_parameter_group_name")
        if isinstance(cluster_group, str) and cluster_group in cluster_groups:
            facts["cluster_parameter_group"] = cluster_group
        elif isinstance(group, str) and group in groups:
            facts["parameter_group"] = group  # the command names this database's group
        if needed > value:
            out.append(Outcome(db, "fail", location=where, vars=facts))
        elif exact:
            out.append(Outcome(db, "pass"))
        else:
            out.append(Outcome(db, "unknown", path=("parameter_group_name",), reason=(
                f"{needed} connections needed; max_connections is {origin}, at most {value} "
                "(RDS reserves part of the memory, so the exact value is lower): set it "
                "explicitly in the parameter group to check")))
    return out


def _demand(inv: Inventory, key: str, params: dict[str, Any]
            ) -> tuple[int, int, int, Location | None] | Unknown:
    for values in inv.of_kind("HelmValues"):
        pool = get(values.body, parse(key))
        if isinstance(pool, Unknown):
            return pool
        if isinstance(pool, str) and pool.strip().isdigit():
            pool = int(pool.strip())
        if isinstance(pool, int) and not isinstance(pool, bool):
            found = workloads(inv, params)
            counts = [replicas_max(inv, w) for w in found]
            if not counts:
                return Unknown("no Deployment or StatefulSet"
                               + (f" named {params['deployment']}" if params.get("deployment")
                                  else "") + " to multiply the pool size by")
            doubt = next((c for c in counts if isinstance(c, Unknown)), None)
            if doubt is not None:
                return doubt
            replicas = sum(c for c in counts if isinstance(c, int))
            return pool * replicas, pool, replicas, values.locate(parse(key))
        if pool is not MISSING and pool is not None:
            return Unknown(f"values key {key} is {pool!r}, not a number of connections")
    return Unknown(f"no connection pool size at values key {key} (set the db_pool_size_key "
                   "parameter to the key your chart uses)")


def _cluster_max_connections(inv: Inventory, cluster: Resource,
                             groups: dict[str, Resource], cluster_groups: dict[str, Resource]
                             ) -> tuple[int, bool, str] | Unknown:
    name = cluster.body.get("db_cluster_parameter_group_name")
    if isinstance(name, Unknown):
        return name
    group = cluster_groups.get(name) if isinstance(name, str) else None
    raw: Any = get(group.body, ("parameters", "max_connections")) if group else MISSING
    if isinstance(raw, Unknown):
        return raw
    if group is not None and str(raw).strip().isdigit():
        return int(str(raw).strip()), True, f"set in cluster parameter group {group.name}"
    members = _members(inv, cluster)
    if isinstance(members, Unknown):
        return members
    if not members:
        return Unknown(f"no instance of cluster {cluster.name} is declared here, so its "
                       "max_connections is not known")
    if isinstance(name, str) and name and not name.startswith("default.") and group is None:
        return Unknown(f"cluster parameter group {name} is not declared here, so its "
                       "max_connections is not known")
    limits = []
    for member in members:  # as a DBInstance: its own group, else the engine's formula
        shaped = Resource(kind="DBInstance", name=member.name, source=member.source, body={
            "engine": cluster.body.get("engine", "aurora-postgresql"),
            **{k: member.body[k] for k in ("instance_class", "parameter_group_name",
                                           "max_connections") if k in member.body}})
        if "db_parameter_group_name" in member.body:
            shaped.body["parameter_group_name"] = member.body["db_parameter_group_name"]
        if raw is not MISSING:  # the cluster group's formula, for every instance
            shaped.body["parameter_group_name"] = None
        limit = _max_connections(shaped, groups, raw)
        if isinstance(limit, Unknown):
            return limit
        limits.append((*limit[:2], f"{limit[2]} (instance {member.name})"))
    return min(limits, key=lambda limit: limit[0])


def _members(inv: Inventory, cluster: Resource) -> list[Resource] | Unknown:
    """The cluster's instances here: by identifier, or by a reference to its block."""
    out = []
    for member in inv.of_kind("DBClusterInstance"):
        owner = member.body.get("cluster_identifier")
        if owner == cluster.body.get("cluster_identifier") or (
                isinstance(owner, Unknown) and owner.ref is not None and cluster.address
                and owner.ref.startswith(f"{cluster.address}.")):
            out.append(member)
        elif isinstance(owner, Unknown) and owner.ref is None:
            return Unknown(f"whether instance {member.name} belongs to cluster "
                           f"{cluster.name} is not known: {owner.reason}")
    return out


def _max_connections(db: Resource, groups: dict[str, Resource], formula: Any = MISSING
                     ) -> tuple[int, bool, str] | Unknown:
    """(value, exact, where it comes from): the parameter group's number, or RDS's default
    formula evaluated for the nominal memory of the class (an upper bound, not exact)."""
    live = db.body.get("max_connections")  # live side: what the instance runs with
    if isinstance(live, Unknown):
        return live  # e.g. a value pending reboot: the one in effect is not known
    if isinstance(live, int) and not isinstance(live, bool):
        return live, True, "in effect on the instance"
    name = db.body.get("parameter_group_name")
    if isinstance(name, Unknown):
        return name
    group = groups.get(name) if isinstance(name, str) else None
    if isinstance(name, str) and name and group is None:
        return Unknown(f"parameter group {name} is not declared here, so its "
                       "max_connections is not known")
    raw: Any = get(group.body, ("parameters", "max_connections")) if group else formula
    if isinstance(raw, Unknown):
        return raw
    if group is not None and raw is not MISSING and str(raw).strip().isdigit():
        return int(str(raw).strip()), True, f"set in parameter group {group.name}"
    engine = db.body.get("engine", "postgres")
    if isinstance(engine, Unknown):
        return engine
    family = "mysql" if "mysql" in str(engine) or "maria" in str(engine) else "postgres"
    if str(engine) in ("aurora", "aurora-mysql"):
        family = "aurora-mysql"
    formula = str(raw) if raw is not MISSING else DEFAULT_MAX_CONNECTIONS[family]
    instance_class = db.body.get("instance_class")
    if not isinstance(instance_class, str):
        return Unknown(f"max_connections is the formula {formula} and the instance class "
                       "is not known")
    gib = class_memory_gib(instance_class)
    value = eval_formula(formula, gib * 2**30) if gib else None
    if value is None:
        return Unknown(f"max_connections is the formula {formula}, not evaluated for "
                       f"{instance_class}")
    # Say whose formula it is: a group's own one is fixed in that group, not by RDS.
    whose = ("RDS's formula" if raw is MISSING else
             f"the formula of parameter group {group.name}" if group is not None else
             "the cluster parameter group's formula")
    return value, False, f"{whose} {formula} for {instance_class}"
