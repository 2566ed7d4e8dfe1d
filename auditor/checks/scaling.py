"""Checks that a workload can scale and survive disruption: an HPA or PDB must target it.

An HPA must keep enough pods to serve while one restarts, have room to grow and a CPU
target to scale on; a PodDisruptionBudget must select the workload's pods so a node drain
cannot take them all at once.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING, Path, get, parse
from auditor.quantities import port_number
from auditor.unknown import Unknown

SCALABLE = ("Deployment", "StatefulSet")
DEFAULT_CPU_UTILIZATION = 80  # the API fills this in when an HPA names no metrics


def scalable(ctx: CheckContext) -> list[Resource]:
    """The Deployments and StatefulSets that can usefully run several replicas: a singleton
    by design (see :func:`k8s.single_instance`) is expected to have neither HPA nor PDB."""
    singletons = ctx.params.get("singletons") or []
    claims = {c.name: c for c in ctx.inventory.of_kind("PersistentVolumeClaim")}
    hpas = ctx.inventory.of_kind("HorizontalPodAutoscaler")
    services = ctx.inventory.of_kind("Service")
    # An HPA that scales it says it runs several, whatever else it looks like.
    return [w for w in ctx.inventory.of_kind(*SCALABLE)
            if k8s.hpas_for(w, hpas) or k8s.single_instance(w, singletons, claims,
                                                             services) is None]


def hpa_present(ctx: CheckContext) -> list[Outcome]:
    hpas = ctx.inventory.of_kind("HorizontalPodAutoscaler")
    minimum = int(ctx.params["min_replicas"])
    out = []
    for workload in scalable(ctx):
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
        if low is None:  # an unknown keeps its own reason; anything else is not a number
            out.append(Outcome(workload, "unknown", location=where, reason=raw if isinstance(
                raw, Unknown) else f"HPA {hpa.name} minReplicas {raw!r} is not a number"))
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
        # An unknown points at the field that could not be read (its line, not the spec's).
        v1 = ("spec", "targetCPUUtilizationPercentage")
        read: list[tuple[Path, Any]] = [
            (("spec", "minReplicas"), low), (("spec", "maxReplicas"), high),
            (v1 if isinstance(get(hpa.body, v1), Unknown) else ("spec", "metrics"), target)]
        unknown = next(((p, v) for p, v in read if isinstance(v, Unknown)), None)
        if unknown is not None:
            out.append(Outcome(hpa, "unknown", path=unknown[0], reason=unknown[1]))
            continue
        # Whole numbers only, as for hpa_present ("2k" or "500m" is not a replica count);
        # an absent minReplicas is the API's default 1, not something written.
        given = {field: value for field, value in (("minReplicas", low), ("maxReplicas", high))
                 if value is not None and value is not MISSING}
        counts = {field: port_number(value) for field, value in given.items()}
        bad = [field for field, count in counts.items() if count is None]
        if bad:
            out.append(Outcome(hpa, "unknown", path=("spec", bad[0]), reason="; ".join(
                f"{field} {given[field]!r} is not a whole number" for field in bad)))
            continue
        whole = {field: count for field, count in counts.items() if count is not None}
        floor, hq = whole.get("minReplicas", 1), whole.get("maxReplicas")
        problems = []
        if hq is None:
            problems.append("no maxReplicas (the API rejects the HPA)")
        elif hq <= floor:
            problems.append(f"maxReplicas {hq} <= minReplicas {floor}, so it cannot add a "
                            "pod under load")
        stuck = bool(problems)  # the maximum is what to raise
        frozen = get(hpa.body, ("spec", "behavior", "scaleUp", "selectPolicy")) == "Disabled"
        if frozen:
            problems.append("scaling up is disabled (behavior.scaleUp.selectPolicy: "
                            "Disabled), so it cannot add a pod under load")
        if target is None:
            problems.append(f"no CPU utilization target (metrics: {_metric_names(hpa)})")
        path: Path = (("spec", "maxReplicas") if stuck else
                      ("spec", "behavior", "scaleUp") if frozen else ("spec", "metrics"))
        out.append(Outcome(hpa, "fail" if problems else "pass", path=path if problems else (),
                           vars={"problem": "; ".join(problems), "min_replicas": floor,
                                 "max_replicas": hq,
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
    for workload in scalable(ctx):
        labels = k8s.pod_labels(workload)
        mine = [p for p in pdbs if p.namespace == workload.namespace]
        covering = next((p for p in mine if _pdb_selects(p, labels) is True), None)
        unsure = next((p for p in mine if _pdb_selects(p, labels) is None), None)
        selector = _selector_text(workload, labels)
        if covering is not None:
            spec = get(covering.body, ("spec",))
            if isinstance(spec, dict) and spec.get("minAvailable") is None \
                    and spec.get("maxUnavailable") is None:
                # No default applies: the disruption controller expects no pods and allows
                # no eviction at all (a drain waits until it is forced).
                out.append(Outcome(workload, "fail", location=covering.locate(("spec",)),
                                   vars={"pdb": covering.name, "selector": selector,
                                         "blocks_all": True}))
                continue
            lax = _evicts_all(covering, _fewest(workload, ctx.inventory))
            out.append(Outcome(
                workload, "fail" if lax else "pass",
                location=covering.locate(("spec",)) if lax else None,
                vars={"pdb": covering.name, "selector": selector,
                      **({"lets_all_go": lax} if lax else {})}))
        elif unsure is not None:
            out.append(Outcome(workload, "unknown", vars={"selector": selector},
                               reason=f"the selector of PodDisruptionBudget {unsure.name} "
                                      f"is not resolved: {_unresolved(unsure)}"))
        else:
            out.append(Outcome(workload, "fail", location=_values_location(
                ctx.inventory, workload, ctx.params.get("pdb_values_key")),
                vars={"selector": selector}))
    return out


def _evicts_all(pdb: Resource, fewest: tuple[int, str] | None) -> str | None:
    """The budget's own words when it protects nothing: it lets a drain evict every pod
    (a maxUnavailable count of at least the fewest pods the workload runs does too; with a
    single pod no budget both keeps one and lets a drain proceed: hpa-present's finding)."""
    for field, none_kept in (("maxUnavailable", ("100%",)), ("minAvailable", (0, "0", "0%"))):
        value = get(pdb.body, ("spec", field))
        if value in none_kept:
            return f"{field}: {value}"
    count = get(pdb.body, ("spec", "maxUnavailable"))
    if (fewest is not None and isinstance(count, int) and not isinstance(count, bool)
            and count >= fewest[0] >= 2):
        return f"maxUnavailable: {count}, {fewest[1]}"
    return None


def _fewest(workload: Resource, inv: Inventory) -> tuple[int, str] | None:
    """The fewest pods the workload runs, and those words: its HPA's minReplicas (the API's
    default 1), else spec.replicas (default 1); None when not known offline."""
    mine = k8s.hpas_for(workload, inv.of_kind("HorizontalPodAutoscaler"))
    value = (get(mine[0].body, ("spec", "minReplicas")) if mine
             else get(workload.body, ("spec", "replicas")))
    count = 1 if value is MISSING or value is None else value
    if not isinstance(count, int) or isinstance(count, bool):
        return None
    pods = f"{count} {'replica' if count == 1 else 'replicas'}"
    return count, (f"and HPA {mine[0].name} may scale it down to {pods}" if mine
                   else f"and it runs {pods}")


def _pdb_selects(pdb: Resource, labels: dict[str, Any]) -> bool | None:
    """True/False, or None when the selector is unresolved. In policy/v1 an empty selector
    selects every pod of the namespace (in v1beta1, none)."""
    selector = _selector(pdb)
    if _first_unknown(selector) is not None:
        return None
    if selector == {}:
        return str(pdb.body.get("apiVersion", "policy/v1")) == "policy/v1"
    return k8s.selects(selector, labels)


def _selector(pdb: Resource) -> Any:
    return get(pdb.body, ("spec", "selector"))


def _unresolved(pdb: Resource) -> str:
    doubt = _first_unknown(_selector(pdb))
    return doubt.reason if doubt is not None else "not known offline"


def _first_unknown(value: Any) -> Unknown | None:
    """The first value not known offline in ``value`` (its reason says why), or None."""
    if isinstance(value, Unknown):
        return value
    inner = value.values() if isinstance(value, dict) else value if isinstance(
        value, list) else ()
    return next((u for v in inner if (u := _first_unknown(v)) is not None), None)


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
