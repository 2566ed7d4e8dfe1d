"""Node capacity: the node group has room for the pods the HPA may ask for.

Pods are placed whole, so what counts is how many fit on one node (by CPU, memory and the
pod cap) times the group's max_size. Every node first runs one pod of each DaemonSet, so
their requests come off each node. All workloads share the nodes too: when their requests
at full scale-out exceed what max_size nodes offer, some stay Pending whatever the packing
(a sum that fits proves nothing, so it never passes on its own). Where an instance type's
size is not known offline, the answer is an honest ``unknown``, never a guess that passes.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.checks.capacity import replicas_max, workloads
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, get
from auditor.quantities import format_bytes, parse_quantity
from auditor.unknown import Unknown

# What EKS launches when a managed node group names no instance type (the API default).
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"


def nodegroup_capacity(ctx: CheckContext) -> list[Outcome]:
    """Pods are placed whole: count how many fit on one node, times max_size, and compare
    with the replicas the HPA may ask for (a total-capacity sum would miss packing)."""
    inv = ctx.inventory
    out = []
    daemons = _daemon_overhead(inv)
    for ng in inv.of_kind("Nodegroup"):
        for w in workloads(inv, ctx.params):
            verdict = _fits(inv, w, ng, ctx.params, daemons)
            if isinstance(verdict, Unknown):
                out.append(Outcome(ng, "unknown", item=w.name, path=("scaling_config",),
                                   reason=verdict))
            else:
                out.append(Outcome(ng, "pass" if verdict["fit"] >= verdict["replicas"]
                                   else "fail", item=w.name, path=("scaling_config",),
                                   vars=verdict))
        together = _together(inv, ng, ctx.params, daemons)
        if together is not None:
            out.append(together)
    return out


Overhead = tuple[Decimal, Decimal, int]  # (cpu, memory, pods) every node gives DaemonSets


def _daemon_overhead(inv: Inventory) -> Overhead | Unknown:
    cpu, mem, pods = Decimal(0), Decimal(0), 0
    for ds in inv.of_kind("DaemonSet"):
        requests = pod_requests(ds)
        if isinstance(requests, Unknown):
            return Unknown(f"the requests of DaemonSet {ds.name}, which runs on every node, "
                           f"are not known: {requests.reason}")
        cpu, mem, pods = cpu + requests[0], mem + requests[1], pods + 1
    return cpu, mem, pods


def _together(inv: Inventory, ng: Resource, params: dict[str, Any],
              daemons: Overhead | Unknown) -> Outcome | None:
    """A fail when all workloads at full scale-out request more than max_size nodes offer
    after the DaemonSets; nothing otherwise (each workload has its own outcome)."""
    scalable = workloads(inv, params)
    node = _node_capacity(ng, params)
    if len(scalable) < 2 or isinstance(node, Unknown) or isinstance(daemons, Unknown):
        return None
    max_size, sizes = node
    cpu = mem = Decimal(0)
    for w in scalable:
        replicas, requests = replicas_max(inv, w), pod_requests(w)
        if isinstance(replicas, Unknown) or isinstance(requests, Unknown):
            return None  # that workload's own outcome says why
        cpu, mem = cpu + replicas * requests[0], mem + replicas * requests[1]
    c, m = min(sizes.values())  # any listed type may be launched: the smallest
    offered = ((c - daemons[0]) * max_size, (m - daemons[1]) * max_size)
    short = [f"{_cores(cpu)} CPU of {_cores(offered[0])}" if cpu > offered[0] else "",
             f"{format_bytes(mem)} of {format_bytes(offered[1])} memory"
             if mem > offered[1] else ""]
    if not any(short):
        return None
    room = (c - daemons[0], m - daemons[1])  # what one node offers the workloads
    needed = max((cpu / room[0]).to_integral_value(ROUND_CEILING) if room[0] > 0 else 0,
                 (mem / room[1]).to_integral_value(ROUND_CEILING) if room[1] > 0 else 0)
    return Outcome(ng, "fail", item="all workloads", path=("scaling_config",), vars={
        "together": " and ".join(s for s in short if s), "max_size": max_size,
        "workloads": len(scalable), "needed_nodes": int(needed) if min(room) > 0 else None})


def _cores(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


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


def _fits(inv: Inventory, w: Resource, ng: Resource, params: dict[str, Any],
          daemons: Overhead | Unknown) -> dict[str, Any] | Unknown:
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
    if isinstance(daemons, Unknown):
        return daemons
    ds_cpu, ds_mem, ds_pods = daemons
    # A pod without requests still takes a pod slot: kubelet caps pods per node.
    max_pods = max(int(params.get("max_pods_per_node") or 110) - ds_pods, 0)
    fits = {t: max(min(int((c - ds_cpu) // cpu) if cpu else max_pods,
                       int((m - ds_mem) // mem) if mem else max_pods, max_pods), 0)
            for t, (c, m) in sizes.items()}
    instance_type = min(fits, key=lambda t: fits[t])  # any listed type may be launched
    per_node = fits[instance_type]
    return {"replicas": replicas, "fit": per_node * max_size, "per_node": per_node,
            "max_size": max_size, "instance_type": instance_type, "workload": w.name,
            "pod_cpu": _cores(cpu), "pod_memory": format_bytes(mem),
            "daemonsets": (f" after {ds_pods} DaemonSet pod(s) per node ({_cores(ds_cpu)} CPU, "
                           f"{format_bytes(ds_mem)})" if ds_pods else "")}


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
    if isinstance(collected, Unknown):
        return collected  # e.g. DescribeInstanceTypes was denied: keep its reason (and error)
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
