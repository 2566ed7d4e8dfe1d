"""Checks that relate Kubernetes objects to each other and to the load balancer.

An HPA or PDB must target the workload, a PVC's StorageClass must allow expansion, the
Service and the ALB target group must reach a port the pods listen on, and the target
group's health check must ask the path the readiness probe asks.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, get
from auditor.quantities import resolve_port
from auditor.unknown import Unknown

SCALABLE = ("Deployment", "StatefulSet")


def hpa_present(ctx: CheckContext) -> list[Outcome]:
    hpas = ctx.inventory.of_kind("HorizontalPodAutoscaler")
    minimum = int(ctx.params["min_replicas"])
    out = []
    for workload in ctx.inventory.of_kind(*SCALABLE):
        mine = k8s.hpas_for(workload, hpas)
        if not mine:
            out.append(Outcome(workload, "fail", path=("spec", "replicas"),
                               vars={"problem": "no HorizontalPodAutoscaler targets it"}))
            continue
        hpa = mine[0]
        low = get(hpa.body, ("spec", "minReplicas"))
        low = 1 if low is None or low is MISSING else low  # the API's default
        if isinstance(low, int) and low < minimum:
            out.append(Outcome(hpa, "fail", path=("spec", "minReplicas"),
                               vars={"problem": f"HPA {hpa.name} has minReplicas {low} "
                                                f"(at least {minimum} keeps a pod serving "
                                                "while another restarts)"}))
        else:
            out.append(Outcome(hpa, "pass"))
    return out


def pdb_present(ctx: CheckContext) -> list[Outcome]:
    pdbs = ctx.inventory.of_kind("PodDisruptionBudget")
    out = []
    for workload in ctx.inventory.of_kind(*SCALABLE):
        labels = k8s.pod_labels(workload)
        covered = any(p.namespace == workload.namespace
                      and k8s.selects(get(p.body, ("spec", "selector")), labels) for p in pdbs)
        out.append(Outcome(workload, "pass" if covered else "fail"))
    return out


def storage_expandable(ctx: CheckContext) -> list[Outcome]:
    classes = {c.name: c for c in ctx.inventory.of_kind("StorageClass")}
    default = next((c for c in classes.values() if str(get(c.body, (
        "metadata", "annotations", "storageclass.kubernetes.io/is-default-class"))) == "true"),
        None)
    out = []
    for pvc in ctx.inventory.of_kind("PersistentVolumeClaim"):
        name = get(pvc.body, ("spec", "storageClassName"))
        sc = classes.get(name) if isinstance(name, str) else default
        if sc is None:
            what = f"StorageClass {name}" if isinstance(name, str) else "the default StorageClass"
            out.append(Outcome(pvc, "unknown", path=("spec", "storageClassName"),
                               reason=f"{what} is not part of this side's config"))
            continue
        ok = get(sc.body, ("allowVolumeExpansion",)) is True
        out.append(Outcome(sc if not ok else pvc, "pass" if ok else "fail",
                           item=pvc.name if not ok else None,
                           path=("allowVolumeExpansion",) if not ok else (),
                           vars={"pvc": pvc.name, "storage_class": sc.name}))
    return out


def port_consistency(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    workloads = inv.of_kind(*k8s.WORKLOAD_KINDS)
    out = []
    for svc in inv.of_kind("Service"):
        selected = [w for w in workloads if w.namespace == svc.namespace
                    and k8s.selects(get(svc.body, ("spec", "selector")), k8s.pod_labels(w))]
        if not selected:
            continue  # a selector-less or external Service: nothing here to compare
        named = _ports_of(selected)
        for i, port in enumerate(get(svc.body, ("spec", "ports")) or []):
            target = port.get("targetPort", port.get("port"))
            number = resolve_port(target, named)
            ok = number is not None and number in named.values()
            out.append(Outcome(svc, "pass" if ok else "fail", item=str(port.get("name") or i),
                               path=("spec", "ports", i, "targetPort"),
                               vars={"problem": f"Service {svc.name} targets port {target}, "
                                                "which no container of "
                                                f"{', '.join(w.name for w in selected)} declares "
                                                f"(container ports: {_listing(named)})"}))
    serving = _serving(inv, ctx.params)
    for tg in inv.of_kind("TargetGroup"):
        out.append(_target_group_port(tg, serving))
    return out


def _target_group_port(tg: Resource, serving: list[Resource]) -> Outcome:
    port, target_type = tg.body.get("port"), tg.body.get("target_type", "instance")
    if isinstance(port, Unknown) or isinstance(target_type, Unknown):
        return Outcome(tg, "unknown", path=("port",),
                       reason=(port if isinstance(port, Unknown) else target_type).reason)  # type: ignore[union-attr]
    if target_type != "ip":
        return Outcome(tg, "unknown", path=("port",), reason=f"target_type {target_type}: the "
                       "port is a node port, only known live")
    if not serving:
        return Outcome(tg, "unknown", path=("port",), reason="no workload declared to compare")
    named = _ports_of(serving)
    ok = resolve_port(port, {}) in named.values()
    return Outcome(tg, "pass" if ok else "fail", path=("port",),
                   vars={"problem": f"target group {tg.name} sends traffic to port {port}, "
                                    f"but the pods listen on {_listing(named)}"})


def health_check_path(ctx: CheckContext) -> list[Outcome]:
    serving = _serving(ctx.inventory, ctx.params)
    paths = sorted({p for w in serving if (p := readiness_path(w, ctx.params)) is not None})
    out = []
    for tg in ctx.inventory.of_kind("TargetGroup"):
        hc = tg.body.get("health_check")
        path = hc[0].get("path", "/") if isinstance(hc, list) and hc else (
            hc.get("path", "/") if isinstance(hc, dict) else "/")
        location = ("health_check", 0, "path") if isinstance(hc, list) else ("health_check",)
        if isinstance(path, Unknown):
            out.append(Outcome(tg, "unknown", path=location, reason=path.reason))
        elif not paths:
            out.append(Outcome(tg, "unknown", path=location,
                               reason="no readiness probe with an HTTP path to compare"))
        else:
            out.append(Outcome(tg, "pass" if path in paths else "fail", path=location,
                               vars={"health_path": path, "ready_path": ", ".join(paths)}))
    return out


def readiness_path(workload: Resource, params: dict[str, Any]) -> str | None:
    found = k8s.serving_container(workload, params.get("serving_container"))
    if found is None:
        return None
    path = get(found[1], ("readinessProbe", "httpGet", "path"))
    return path if isinstance(path, str) else None


def _serving(inv: Inventory, params: dict[str, Any]) -> list[Resource]:
    """The workloads behind the load balancer: the named one, else every Deployment."""
    deployments = inv.of_kind("Deployment")
    wanted = params.get("deployment")
    return [d for d in deployments if d.name == wanted] if wanted else deployments


def _ports_of(workloads: list[Resource]) -> dict[str, int]:
    named: dict[str, int] = {}
    for w in workloads:
        for _, c in k8s.containers(w):
            named.update(k8s.container_ports(c))
    return named


def _listing(named: dict[str, int]) -> str:
    pairs = sorted({f"{k}={v}" if not k.isdigit() else k for k, v in named.items()})
    return ", ".join(pairs) or "none"
