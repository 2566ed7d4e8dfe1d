"""Checks that relate Kubernetes objects to each other and to the load balancer.

An HPA or PDB must target the workload, an HPA must have room and a CPU target to scale
on, a PVC's StorageClass must allow expansion, the Service and the ALB target group must
reach a port the pods listen on, and the target group's health check must ask the path
the readiness probe asks.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING, Path, get, parse
from auditor.quantities import parse_quantity, port_number, resolve_port
from auditor.unknown import Unknown

SCALABLE = ("Deployment", "StatefulSet")
DEFAULT_CPU_UTILIZATION = 80  # the API fills this in when an HPA names no metrics
_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class",
                  "storageclass.beta.kubernetes.io/is-default-class")


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
        raw = get(hpa.body, ("spec", "minReplicas"))
        low = 1 if raw is None or raw is MISSING else port_number(raw)  # the API's default 1
        # The finding is always the workload's, so pass and fail share one identity; a
        # low floor points at the HPA's minReplicas.
        where = hpa.locate(("spec", "minReplicas"))
        if low is None:
            out.append(Outcome(workload, "unknown", location=where,
                               reason=f"HPA {hpa.name} minReplicas {raw!r} is not a number"))
        elif low < minimum:
            out.append(Outcome(workload, "fail", location=where,
                               vars={"problem": f"HPA {hpa.name} has minReplicas {low} "
                                                f"(at least {minimum} keeps a pod serving "
                                                "while another restarts)"}))
        else:
            out.append(Outcome(workload, "pass"))
    return out


def hpa_range(ctx: CheckContext) -> list[Outcome]:
    """Each HPA can grow (maxReplicas > minReplicas, min defaulting to 1) and scales on CPU
    utilization. No metrics at all means the API's default of 80 % CPU, which counts."""
    out = []
    for hpa in ctx.inventory.of_kind("HorizontalPodAutoscaler"):
        low = get(hpa.body, ("spec", "minReplicas"))
        high = get(hpa.body, ("spec", "maxReplicas"))
        target = _cpu_target(hpa)
        unknown = next((v for v in (low, high, target) if isinstance(v, Unknown)), None)
        if unknown is not None:
            out.append(Outcome(hpa, "unknown", path=("spec",), reason=unknown.reason))
            continue
        low = 1 if low is None or low is MISSING else low
        lq, hq = parse_quantity(low), parse_quantity(high)
        if high is not MISSING and high is not None and (lq is None or hq is None):
            out.append(Outcome(hpa, "unknown", path=("spec", "maxReplicas"),
                               reason=f"replica counts {low!r} / {high!r} are not numbers"))
            continue
        floor = int(lq) if lq is not None else 1
        problems = []
        if hq is None:
            problems.append("no maxReplicas (the API rejects the HPA)")
        elif hq <= floor:
            problems.append(f"maxReplicas {high} <= minReplicas {low}, so it cannot add a "
                            "pod under load")
        stuck = bool(problems)
        if target is None:
            problems.append(f"no CPU utilization target (metrics: {_metric_names(hpa)})")
        path: Path = ("spec", "maxReplicas") if stuck else ("spec", "metrics")
        out.append(Outcome(hpa, "fail" if problems else "pass", path=path if problems else (),
                           vars={"problem": "; ".join(problems), "min_replicas": floor,
                                 "max_replicas": int(hq) if hq is not None else None,
                                 "suggested_max": max(2 * floor, floor + 1) if stuck
                                 else int(hq or 0),
                                 "cpu_target": target or "none"}))
    return out


def _cpu_target(hpa: Resource) -> str | Unknown | None:
    """The HPA's CPU utilization target as text, None when it has none."""
    v1 = get(hpa.body, ("spec", "targetCPUUtilizationPercentage"))
    if isinstance(v1, Unknown):
        return v1
    if str(hpa.body.get("apiVersion", "")).endswith("/v1") or v1 not in (MISSING, None):
        return f"{v1}%" if v1 not in (MISSING, None) else (
            f"{DEFAULT_CPU_UTILIZATION}% (API default)")
    metrics = get(hpa.body, ("spec", "metrics"))
    if isinstance(metrics, Unknown):
        return metrics
    if metrics is MISSING or metrics is None or metrics == []:
        return f"{DEFAULT_CPU_UTILIZATION}% (API default)"
    if not isinstance(metrics, list):
        return None
    for metric in metrics:
        if not isinstance(metric, dict) or metric.get("type") not in (
                "Resource", "ContainerResource"):
            continue
        source = metric.get("resource", metric.get("containerResource"))
        if isinstance(source, Unknown):
            return source
        if not isinstance(source, dict) or source.get("name") != "cpu":
            continue
        target = source.get("target")
        if isinstance(target, dict) and target.get("type") == "Utilization":  # v2, v2beta2
            return f"{target.get('averageUtilization', '?')}%"
        if source.get("targetAverageUtilization") is not None:  # v2beta1
            return f"{source['targetAverageUtilization']}%"
    return None


def _metric_names(hpa: Resource) -> str:
    names = []
    metrics = get(hpa.body, ("spec", "metrics"))
    for metric in metrics if isinstance(metrics, list) else []:
        if isinstance(metric, dict):
            kind = str(metric.get("type", "?"))
            source = metric.get(kind[:1].lower() + kind[1:])
            name = get(source, ("name",)) if isinstance(source, dict) else None
            if not isinstance(name, str):
                name = get(source, ("metric", "name")) if isinstance(source, dict) else None
            names.append(f"{kind} {name}" if isinstance(name, str) else kind)
    return ", ".join(names) or "none"


def pdb_present(ctx: CheckContext) -> list[Outcome]:
    """Some PodDisruptionBudget in the workload's namespace selects its pods. The finding
    points at the chart's toggle (parameter ``pdb_values_key``) when the values set it."""
    pdbs = ctx.inventory.of_kind("PodDisruptionBudget")
    out = []
    for workload in ctx.inventory.of_kind(*SCALABLE):
        labels = k8s.pod_labels(workload)
        mine = [p for p in pdbs if p.namespace == workload.namespace]
        covering = next((p for p in mine if _pdb_selects(p, labels) is True), None)
        unsure = next((p for p in mine if _pdb_selects(p, labels) is None), None)
        selector = _selector_text(workload, labels)
        if covering is not None:
            out.append(Outcome(workload, "pass", vars={"pdb": covering.name,
                                                       "selector": selector}))
        elif unsure is not None:
            out.append(Outcome(workload, "unknown", vars={"selector": selector},
                               reason=f"the selector of PodDisruptionBudget {unsure.name} "
                                      "is not resolved"))
        else:
            out.append(Outcome(workload, "fail", location=_values_location(
                ctx.inventory, workload, ctx.params.get("pdb_values_key")),
                vars={"selector": selector}))
    return out


def _pdb_selects(pdb: Resource, labels: dict[str, Any]) -> bool | None:
    """True/False, or None when the selector is unresolved. In policy/v1 an empty selector
    selects every pod of the namespace (in v1beta1, none)."""
    selector = get(pdb.body, ("spec", "selector"))
    if _has_unknown(selector):
        return None
    if selector == {}:
        return str(pdb.body.get("apiVersion", "policy/v1")) == "policy/v1"
    return k8s.selects(selector, labels)


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return isinstance(value, Unknown)


def _selector_text(workload: Resource, labels: dict[str, Any]) -> str:
    match = get(workload.body, ("spec", "selector", "matchLabels"))
    chosen = match if isinstance(match, dict) and match else labels
    return ",".join(f"{k}={v}" for k, v in chosen.items())


def _values_location(inv: Inventory, workload: Resource, key: Any) -> Location | None:
    """Where the release's values set ``key`` (e.g. podDisruptionBudget.enabled), if they do."""
    if not isinstance(key, str) or not key:
        return None
    for values in inv.of_kind("HelmValues"):
        if values.source == workload.source:
            found = values.field_locations.get(parse(key))
            if found is not None:
                return found
    return None


def storage_expandable(ctx: CheckContext) -> list[Outcome]:
    """Every PVC (and StatefulSet volumeClaimTemplate) uses a StorageClass that allows
    volume expansion; no class at all (``""``) means a static volume that cannot grow."""
    classes = {c.name: c for c in ctx.inventory.of_kind("StorageClass")}
    default = next((c for c in classes.values() if any(str(get(c.body, (
        "metadata", "annotations", a))).lower() == "true" for a in _DEFAULT_CLASS)), None)
    out = []
    for owner, claim, base in _claims(ctx.inventory):
        name = get(claim, (*base, "storageClassName"))
        where = (*base, "storageClassName")
        if isinstance(name, Unknown):
            out.append(Outcome(owner, "unknown", path=where, reason=name.reason))
            continue
        label = owner.name if owner.kind == "PersistentVolumeClaim" else (
            f"{owner.name}/{get(claim, (*base[:-1], 'metadata', 'name'))}")
        if name == "":
            out.append(Outcome(owner, "fail", path=where, vars={
                "pvc": label, "storage_class": '""', "problem": f"PVC {label} sets "
                'storageClassName "" (a pre-provisioned volume), which cannot be expanded'}))
            continue
        sc = classes.get(name) if isinstance(name, str) else default
        if sc is None:
            what = f"StorageClass {name}" if isinstance(name, str) else "the default StorageClass"
            out.append(Outcome(owner, "unknown", path=where,
                               reason=f"{what} is not part of this side's config"))
            continue
        allowed = get(sc.body, ("allowVolumeExpansion",))
        if isinstance(allowed, Unknown):
            out.append(Outcome(owner, "unknown",
                               item=None if owner.kind == "PersistentVolumeClaim" else label,
                               location=sc.locate(("allowVolumeExpansion",)),
                               reason=allowed.reason))
            continue
        ok = allowed is True or str(allowed).lower() == "true"
        shown = "absent (false)" if allowed is MISSING or allowed is None else (
            str(allowed).lower())
        # Always the claim's finding (pass and fail share one identity); a failure points
        # at the StorageClass line to change.
        out.append(Outcome(owner, "pass" if ok else "fail",
                           item=None if owner.kind == "PersistentVolumeClaim" else label,
                           location=None if ok else sc.locate(("allowVolumeExpansion",)),
                           vars={"pvc": label, "storage_class": sc.name,
                                 "problem": f"StorageClass {sc.name}, used by {label}, has "
                                            f"allowVolumeExpansion {shown}"}))
    return out


def _claims(inv: Inventory) -> list[tuple[Resource, dict[str, Any], Path]]:
    """(owner, body holding the claim spec, path of that spec) for each volume claim."""
    out: list[tuple[Resource, dict[str, Any], Path]] = [
        (pvc, pvc.body, ("spec",)) for pvc in inv.of_kind("PersistentVolumeClaim")]
    for sts in inv.of_kind("StatefulSet"):
        templates = get(sts.body, ("spec", "volumeClaimTemplates"))
        for i, t in enumerate(templates if isinstance(templates, list) else []):
            if isinstance(t, dict):
                out.append((sts, sts.body, ("spec", "volumeClaimTemplates", i, "spec")))
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
        ports = get(svc.body, ("spec", "ports"))
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            if not isinstance(port, dict):
                continue
            target = port.get("targetPort", port.get("port"))
            name = port.get("name")
            label = name if isinstance(name, str) and name else str(i)
            where = ("spec", "ports", i, "targetPort")
            if isinstance(target, Unknown):
                out.append(Outcome(svc, "unknown", item=label, path=where, reason=target.reason))
                continue
            number = resolve_port(target, named)
            if not named and number is not None:
                out.append(Outcome(svc, "unknown", item=label, path=where, reason=(
                    f"targetPort {target}: the containers of "
                    f"{', '.join(w.name for w in selected)} declare no ports to compare")))
                continue
            ok = number is not None and number in named.values()
            out.append(Outcome(svc, "pass" if ok else "fail", item=label, path=where,
                               vars={"problem": f"Service {svc.name} targets port {target}, "
                                                "which no container of "
                                                f"{', '.join(w.name for w in selected)} declares "
                                                f"(container ports: {_listing(named)})"}))
    serving = _serving(inv, ctx.params)
    for tg in inv.of_kind("TargetGroup"):
        outcome = _target_group_port(tg, serving)
        if outcome is not None:
            out.append(outcome)
    return out


def _target_group_port(tg: Resource, serving: list[Resource]) -> Outcome | None:
    port, target_type = tg.body.get("port"), tg.body.get("target_type", "instance")
    for value in (port, target_type):
        if isinstance(value, Unknown):
            return Outcome(tg, "unknown", path=("port",), reason=value.reason)
    if target_type == "lambda" or target_type == "alb":
        return None  # no pod port behind it: nothing to compare
    if target_type != "ip":
        return Outcome(tg, "unknown", path=("port",), reason=f"target_type {target_type}: the "
                       "port is a node port, only known live")
    if not serving:
        return Outcome(tg, "unknown", path=("port",), reason="no workload declared to compare")
    named = _ports_of(serving)
    if not named:
        return Outcome(tg, "unknown", path=("port",), reason="the serving containers declare "
                       "no ports to compare")
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
        location: Path = ("health_check", 0, "path") if isinstance(hc, list) else (
            "health_check", "path")
        if isinstance(hc, Unknown):
            out.append(Outcome(tg, "unknown", path=("health_check",), reason=hc.reason))
            continue
        if not _http_health_check(tg, hc[0] if isinstance(hc, list) and hc else hc):
            continue  # TCP checks, disabled checks and Lambda targets have no path to compare
        path = hc[0].get("path", "/") if isinstance(hc, list) and hc else (
            hc.get("path", "/") if isinstance(hc, dict) else "/")
        path = "/" if path is None else path  # the AWS default for HTTP health checks
        if isinstance(path, Unknown):
            out.append(Outcome(tg, "unknown", path=location, reason=path.reason))
        elif not paths:
            out.append(Outcome(tg, "unknown", path=location,
                               reason="no readiness probe with an HTTP path to compare"))
        else:
            out.append(Outcome(tg, "pass" if path in paths else "fail", path=location,
                               vars={"health_path": path, "ready_path": ", ".join(paths)}))
    return out


def _http_health_check(tg: Resource, hc: Any) -> bool:
    if tg.body.get("target_type") == "lambda":
        return False
    hc = hc if isinstance(hc, dict) else {}
    if hc.get("enabled") is False:
        return False
    # The health check protocol defaults to the target group's (HTTP for an ALB's).
    protocol = hc.get("protocol") or tg.body.get("protocol") or "HTTP"
    return not isinstance(protocol, str) or protocol.upper() in ("HTTP", "HTTPS")


def readiness_path(workload: Resource, params: dict[str, Any]) -> str | None:
    found = k8s.serving_container(workload, params.get("serving_container"))
    if found is None:
        return None
    probe = get(found[1], ("readinessProbe", "httpGet"))
    if not isinstance(probe, dict):
        return None
    path = probe.get("path")
    return "/" if path is None or path == "" else path if isinstance(path, str) else None


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
