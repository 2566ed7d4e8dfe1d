"""Capacity checks: database connections and node group room for the HPA's maximum.

Both multiply a Kubernetes maximum (HPA maxReplicas) by a per-pod need and compare it
with what AWS provides. Where AWS's side is a formula or an instance type whose size is
not known offline, the answer is an honest ``unknown`` (or a fail when even the most
generous reading is exceeded), never a guess that passes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, get, parse
from auditor.quantities import format_bytes, parse_quantity
from auditor.unknown import Unknown

# RDS's defaults when the parameter group does not set max_connections.
DEFAULT_MAX_CONNECTIONS = {"postgres": "LEAST({DBInstanceClassMemory/9531392},5000)",
                           "mysql": "{DBInstanceClassMemory/12582880}"}
_GIB_PER_LARGE = {"t": 8, "m": 8, "r": 16, "x": 64, "z": 16}
_T_SMALL = {"micro": 1, "small": 2, "medium": 4}


def class_memory_gib(instance_class: str) -> int | None:
    """Nominal memory of an RDS instance class (``db.r6g.large`` -> 16), None if unknown."""
    m = re.fullmatch(r"db\.([a-z])(\d+)[a-z]*\.(\w+)", instance_class)
    if not m:
        return None
    family, size = m.group(1), m.group(3)
    if family == "t" and size in _T_SMALL:
        return _T_SMALL[size]
    per_large = _GIB_PER_LARGE.get(family)
    if per_large is None:
        return None
    if size == "large":
        return per_large
    sized = re.fullmatch(r"(\d*)xlarge", size)
    return per_large * 2 * int(sized.group(1) or 1) if sized else None


def eval_formula(formula: str, memory_bytes: int) -> int | None:
    """RDS parameter formulas: numbers, {DBInstanceClassMemory/N}, LEAST/GREATEST/SUM."""
    text = formula.replace(" ", "")
    m = re.fullmatch(r"(LEAST|GREATEST|SUM)\((.*)\)", text)
    if m:
        parts = [eval_formula(p, memory_bytes) for p in m.group(2).split(",")]
        if any(p is None for p in parts) or not parts:
            return None
        values = [p for p in parts if p is not None]
        return {"LEAST": min, "GREATEST": max, "SUM": sum}[m.group(1)](values)
    m = re.fullmatch(r"\{DBInstanceClassMemory/(\d+)\}", text)
    if m:
        return memory_bytes // int(m.group(1))
    return int(text) if text.isdigit() else None


def replicas_max(inv: Inventory, workload: Resource) -> int | None:
    hpas = k8s.hpas_for(workload, inv.of_kind("HorizontalPodAutoscaler"))
    value = get(hpas[0].body, ("spec", "maxReplicas")) if hpas else get(
        workload.body, ("spec", "replicas"))
    if value is MISSING or value is None:
        return None if hpas else 1
    return value if isinstance(value, int) else None


def db_connection_capacity(ctx: CheckContext) -> list[Outcome]:
    inv, params = ctx.inventory, ctx.params
    groups = {g.name: g for g in inv.of_kind("DBParameterGroup")}
    helm_values = inv.of_kind("HelmValues")
    key = str(params["db_pool_size_key"])
    out = []
    for db in inv.of_kind("DBInstance"):
        demand = _demand(inv, helm_values, key, params)
        if isinstance(demand, Unknown):
            out.append(Outcome(db, "unknown", reason=demand.reason))
            continue
        total, pool, replicas, where = demand
        limit = _max_connections(db, groups)
        if isinstance(limit, Unknown):
            out.append(Outcome(db, "unknown", reason=limit.reason))
            continue
        value, exact, origin = limit
        needed = int((Decimal(total) * (1 + Decimal(str(params["headroom_percent"])) / 100)
                      ).to_integral_value(rounding="ROUND_CEILING"))
        facts = {"pool": pool, "replicas": replicas, "needed": needed, "max_connections": value,
                 "origin": origin, "headroom": params["headroom_percent"]}
        if needed > value:
            out.append(Outcome(db, "fail", location=where, vars=facts))
        elif exact:
            out.append(Outcome(db, "pass", vars=facts))
        else:
            out.append(Outcome(db, "unknown", reason=(
                f"{needed} connections needed; max_connections is {origin}, at most {value} "
                "for this instance class (RDS reserves part of the memory): set it explicitly "
                "in the parameter group to check")))
    return out


def _demand(inv: Inventory, helm_values: list[Resource], key: str, params: dict[str, Any]
            ) -> tuple[int, int, int, Any] | Unknown:
    for values in helm_values:
        pool = get(values.body, parse(key))
        if isinstance(pool, int) and not isinstance(pool, bool):
            workloads = [w for w in inv.of_kind("Deployment", "StatefulSet")
                         if w.name == params.get("deployment", w.name)]
            counts = [replicas_max(inv, w) for w in workloads]
            if not counts or None in counts:
                return Unknown("the maximum replica count is not known")
            replicas = sum(c for c in counts if c is not None)
            return pool * replicas, pool, replicas, values.locate(parse(key))
    return Unknown(f"no connection pool size at values key {key} (set the db_pool_size_key "
                   "parameter to the key your chart uses)")


def _max_connections(db: Resource, groups: dict[str, Resource]
                     ) -> tuple[int, bool, str] | Unknown:
    engine = str(db.body.get("engine", "postgres"))
    family = "mysql" if "mysql" in engine or "maria" in engine else "postgres"
    group = groups.get(str(db.body.get("parameter_group_name")))
    raw: Any = get(group.body, ("parameters", "max_connections")) if group else MISSING
    if isinstance(raw, Unknown):
        return raw
    if raw is not MISSING and str(raw).strip().isdigit():
        return int(str(raw).strip()), True, f"{raw} (parameter group {group.name})"  # type: ignore[union-attr]
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
    return value, False, f"the formula {formula}"


def nodegroup_capacity(ctx: CheckContext) -> list[Outcome]:
    """Pods are placed whole: count how many fit on one node, times max_size, and compare
    with the replicas the HPA may ask for (a total-capacity sum would miss packing)."""
    inv = ctx.inventory
    workloads = [w for w in inv.of_kind("Deployment", "StatefulSet")
                 if w.name == ctx.params.get("deployment", w.name)]
    out = []
    for ng in inv.of_kind("Nodegroup"):
        for w in workloads:
            verdict = _fits(inv, w, ng, ctx.params)
            if isinstance(verdict, Unknown):
                out.append(Outcome(ng, "unknown", item=w.name, path=("scaling_config",),
                                   reason=verdict.reason))
            else:
                out.append(Outcome(ng, "pass" if verdict["fit"] >= verdict["replicas"]
                                   else "fail", item=w.name, path=("scaling_config",),
                                   vars=verdict))
    return out


def _fits(inv: Inventory, w: Resource, ng: Resource, params: dict[str, Any]
          ) -> dict[str, Any] | Unknown:
    replicas = replicas_max(inv, w)
    if replicas is None:
        return Unknown(f"the maximum replica count of {w.name} is not known")
    cpu, mem = Decimal(0), Decimal(0)
    for _, c in k8s.containers(w):
        requests = get(c, ("resources", "requests"))
        requests = requests if isinstance(requests, dict) else {}
        cpu += parse_quantity(requests.get("cpu")) or 0
        mem += parse_quantity(requests.get("memory")) or 0
    node = _node_capacity(ng, params)
    if isinstance(node, Unknown):
        return node
    max_size, node_cpu, node_mem, instance_type = node
    per_node = min(int(node_cpu // cpu) if cpu else 10**6, int(node_mem // mem) if mem else 10**6)
    return {"replicas": replicas, "fit": per_node * max_size, "per_node": per_node,
            "max_size": max_size, "instance_type": instance_type, "workload": w.name,
            "pod_cpu": f"{cpu:f}".rstrip("0").rstrip("."), "pod_memory": format_bytes(mem)}


def _node_capacity(ng: Resource, params: dict[str, Any]
                   ) -> tuple[int, Decimal, Decimal, str] | Unknown:
    scaling = ng.body.get("scaling_config")
    scaling = scaling[0] if isinstance(scaling, list) and scaling else scaling
    max_size = scaling.get("max_size") if isinstance(scaling, dict) else None
    types = ng.body.get("instance_types")
    if not isinstance(max_size, int):
        return Unknown("the node group's max_size is not known")
    if not isinstance(types, list) or not types or not isinstance(types[0], str):
        return Unknown("the node group's instance types are not known")
    # Live collection adds the capacity from ec2 describe-instance-types; offline only a
    # parameter can say it (instance_types: {m6i.xlarge: {cpu: 4, memory: 16Gi}}).
    known = ng.body.get("instance_capacity") or (params.get("instance_types") or {}).get(types[0])
    if not isinstance(known, dict):
        return Unknown(f"the capacity of instance type {types[0]} is not known offline "
                       "(the live audit reads it; or set the instance_types parameter)")
    cpu, mem = parse_quantity(known.get("cpu")), parse_quantity(known.get("memory"))
    if cpu is None or mem is None:
        return Unknown(f"the capacity given for {types[0]} is not a cpu/memory pair")
    return max_size, cpu, mem, types[0]
