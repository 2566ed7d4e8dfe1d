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
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING, get, parse
from auditor.quantities import format_bytes, parse_quantity
from auditor.unknown import Unknown

# RDS's defaults when the parameter group does not set max_connections.
DEFAULT_MAX_CONNECTIONS = {"postgres": "LEAST({DBInstanceClassMemory/9531392},5000)",
                           "mysql": "{DBInstanceClassMemory/12582880}"}
# Nominal GiB of a "large" per family letter. Never below the real size (x2g.large has 32):
# the value is only used as an upper bound, so a fail stays true and nothing passes on it.
_GIB_PER_LARGE = {"t": 8, "m": 8, "r": 16, "x": 64, "z": 16}
_T_SMALL = {"micro": 1, "small": 2, "medium": 4}
# What EKS launches when a managed node group names no instance type (the API default).
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"


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
        if m.group(1) == "LEAST":
            return min(values)
        return max(values) if m.group(1) == "GREATEST" else sum(values)
    m = re.fullmatch(r"\{DBInstanceClassMemory/(\d+)\}", text)
    if m:
        return memory_bytes // int(m.group(1))
    return int(text) if text.isdigit() else None


def replicas_max(inv: Inventory, workload: Resource) -> int | Unknown:
    """The most pods a workload may run: its HPA's maxReplicas, else spec.replicas (1).
    Unknown when that value, or whether an HPA targets the workload, is not known."""
    hpas = inv.of_kind("HorizontalPodAutoscaler")
    mine = k8s.hpas_for(workload, hpas)
    if not mine:
        for hpa in (h for h in hpas if h.namespace == workload.namespace):
            spec = hpa.body.get("spec")
            ref = spec.get("scaleTargetRef") if isinstance(spec, dict) else spec
            parts = [ref.get("kind"), ref.get("name")] if isinstance(ref, dict) else [ref]
            doubt = next((v for v in parts if isinstance(v, Unknown)), None)
            if doubt is not None:
                return Unknown(f"whether HPA {hpa.name} scales {workload.name} is not known: "
                               f"{doubt.reason}")
    value = get(mine[0].body, ("spec", "maxReplicas")) if mine else get(
        workload.body, ("spec", "replicas"))
    if isinstance(value, Unknown):
        return value
    if value is MISSING or value is None:
        return Unknown(f"HPA {mine[0].name} sets no maxReplicas") if mine else 1
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return Unknown(f"the replica count {value!r} of {workload.name} is not a number")


def workloads(inv: Inventory, params: dict[str, Any]) -> list[Resource]:
    """The Deployments/StatefulSets the check is about: the ``deployment`` parameter's,
    or all of them when it is not set."""
    wanted = params.get("deployment")
    return [w for w in inv.of_kind("Deployment", "StatefulSet")
            if not isinstance(wanted, str) or not wanted or w.name == wanted]


def db_connection_capacity(ctx: CheckContext) -> list[Outcome]:
    """Fail when HPA maxReplicas x pool size x (1 + headroom) exceeds max_connections."""
    inv, params = ctx.inventory, ctx.params
    groups = {g.name: g for g in inv.of_kind("DBParameterGroup")}
    key = str(params["db_pool_size_key"])
    out: list[Outcome] = []
    if not inv.of_kind("HelmValues"):
        return out  # no chart here, so no pool size: the check does not apply
    for db in inv.of_kind("DBInstance"):
        demand = _demand(inv, key, params)
        if isinstance(demand, Unknown):
            out.append(Outcome(db, "unknown", reason=demand.reason))
            continue
        total, pool, replicas, where = demand
        limit = _max_connections(db, groups)
        if isinstance(limit, Unknown):
            out.append(Outcome(db, "unknown", path=("parameter_group_name",),
                               reason=limit.reason))
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
        if isinstance(group, str) and group in groups:
            facts["parameter_group"] = group  # the command names this database's group
        if needed > value:
            out.append(Outcome(db, "fail", location=where, vars=facts))
        elif exact:
            out.append(Outcome(db, "pass", vars=facts))
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


def _max_connections(db: Resource, groups: dict[str, Resource]
                     ) -> tuple[int, bool, str] | Unknown:
    """(value, exact, where it comes from): the parameter group's number, or RDS's default
    formula evaluated for the nominal memory of the class (an upper bound, not exact)."""
    name = db.body.get("parameter_group_name")
    if isinstance(name, Unknown):
        return name
    group = groups.get(name) if isinstance(name, str) else None
    if isinstance(name, str) and name and group is None:
        return Unknown(f"parameter group {name} is not declared here, so its "
                       "max_connections is not known")
    raw: Any = get(group.body, ("parameters", "max_connections")) if group else MISSING
    if isinstance(raw, Unknown):
        return raw
    if group is not None and raw is not MISSING and str(raw).strip().isdigit():
        return int(str(raw).strip()), True, f"set in parameter group {group.name}"
    engine = db.body.get("engine", "postgres")
    if isinstance(engine, Unknown):
        return engine
    family = "mysql" if "mysql" in str(engine) or "maria" in str(engine) else "postgres"
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
    return value, False, f"RDS's formula {formula} for {instance_class}"


def nodegroup_capacity(ctx: CheckContext) -> list[Outcome]:
    """Pods are placed whole: count how many fit on one node, times max_size, and compare
    with the replicas the HPA may ask for (a total-capacity sum would miss packing)."""
    inv = ctx.inventory
    out = []
    for ng in inv.of_kind("Nodegroup"):
        for w in workloads(inv, ctx.params):
            verdict = _fits(inv, w, ng, ctx.params)
            if isinstance(verdict, Unknown):
                out.append(Outcome(ng, "unknown", item=w.name, path=("scaling_config",),
                                   reason=verdict.reason))
            else:
                out.append(Outcome(ng, "pass" if verdict["fit"] >= verdict["replicas"]
                                   else "fail", item=w.name, path=("scaling_config",),
                                   vars=verdict))
    return out


def pod_requests(w: Resource) -> tuple[Decimal, Decimal] | Unknown:
    """(cpu cores, memory bytes) the scheduler reserves per pod: the containers' sum, or
    the largest init container's request if that is more."""
    base = k8s.pod_spec_path(w.kind) or ()
    init = get(w.body, (*base, "initContainers"))
    regular = [c for _, c in k8s.containers(w, init=False)]
    sums = _requests(w, regular)
    if isinstance(sums, Unknown):
        return sums
    inits = _requests(w, init) if isinstance(init, list) else []
    if isinstance(inits, Unknown):
        return inits
    cpu = max([sum((c for c, _ in sums), Decimal(0)), *(c for c, _ in inits)])
    mem = max([sum((m for _, m in sums), Decimal(0)), *(m for _, m in inits)])
    return cpu, mem


def _requests(w: Resource, containers: list[Any]) -> list[tuple[Decimal, Decimal]] | Unknown:
    out = []
    for c in containers:
        requests = get(c, ("resources", "requests")) if isinstance(c, dict) else MISSING
        if isinstance(requests, Unknown):
            return requests
        pair = []
        for res in ("cpu", "memory"):
            raw = requests.get(res) if isinstance(requests, dict) else None
            if isinstance(raw, Unknown):
                return raw
            value = parse_quantity(raw)
            if raw is not None and value is None:
                return Unknown(f"{res} request {raw!r} of {w.name} is not a quantity")
            pair.append(value or Decimal(0))
        out.append((pair[0], pair[1]))
    return out


def _fits(inv: Inventory, w: Resource, ng: Resource, params: dict[str, Any]
          ) -> dict[str, Any] | Unknown:
    replicas = replicas_max(inv, w)
    if isinstance(replicas, Unknown):
        return replicas
    requests = pod_requests(w)
    if isinstance(requests, Unknown):
        return requests
    cpu, mem = requests
    node = _node_capacity(ng, params)
    if isinstance(node, Unknown):
        return node
    max_size, sizes = node
    # A pod without requests still takes a pod slot: kubelet caps pods per node.
    max_pods = int(params.get("max_pods_per_node") or 110)
    fits = {t: min(int(c // cpu) if cpu else max_pods, int(m // mem) if mem else max_pods,
                   max_pods) for t, (c, m) in sizes.items()}
    instance_type = min(fits, key=lambda t: fits[t])  # any listed type may be launched
    per_node = fits[instance_type]
    return {"replicas": replicas, "fit": per_node * max_size, "per_node": per_node,
            "max_size": max_size, "instance_type": instance_type, "workload": w.name,
            "pod_cpu": f"{cpu:f}".rstrip("0").rstrip(".") if cpu else "0",
            "pod_memory": format_bytes(mem)}


def _node_capacity(ng: Resource, params: dict[str, Any]
                   ) -> tuple[int, dict[str, tuple[Decimal, Decimal]]] | Unknown:
    """max_size and, per instance type, the (cpu, memory) a node offers pods."""
    scaling = ng.body.get("scaling_config")
    scaling = scaling[0] if isinstance(scaling, list) and scaling else scaling
    max_size = scaling.get("max_size") if isinstance(scaling, dict) else None
    if isinstance(max_size, Unknown):
        return max_size
    if not isinstance(max_size, int) or isinstance(max_size, bool):
        return Unknown("the node group's max_size is not known")
    types = ng.body.get("instance_types")
    if isinstance(types, Unknown):
        return types
    if types is None or types == []:
        if ng.body.get("launch_template") is not None:
            return Unknown("the instance type comes from the launch template, which is "
                           "not read offline")
        types = [EKS_DEFAULT_INSTANCE_TYPE]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        return Unknown("the node group's instance types are not known")
    # Live collection adds the capacity from ec2 describe-instance-types; offline only a
    # parameter can say it (instance_types: {m6i.xlarge: {cpu: 4, memory: 16Gi}}).
    collected = ng.body.get("instance_capacity")
    sizes: dict[str, tuple[Decimal, Decimal]] = {}
    for t in types:
        known = _capacity_of(t, collected, params.get("instance_types"), len(types) == 1)
        if not isinstance(known, dict):
            return Unknown(f"the capacity of instance type {t} is not known offline (the "
                           "live audit reads it; offline, give its allocatable cpu and memory "
                           "in the policy's instance_types parameter)")
        cpu, mem = parse_quantity(known.get("cpu")), parse_quantity(known.get("memory"))
        if cpu is None or mem is None:
            return Unknown(f"the capacity given for {t} is not a cpu/memory pair")
        sizes[t] = (cpu, mem)
    return max_size, sizes


def _capacity_of(instance_type: str, collected: Any, given: Any, single: bool) -> Any:
    """The live collector's capacity (per type, or one {cpu, memory} for a single type),
    else the ``instance_types`` parameter's entry."""
    if isinstance(collected, dict):
        if isinstance(collected.get(instance_type), dict):
            return collected[instance_type]
        if single and "cpu" in collected:
            return collected
    return given.get(instance_type) if isinstance(given, dict) else None
