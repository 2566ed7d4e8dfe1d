"""Replica counts under autoscaling, and autoscalers Git does not declare.

A workload an HPA that Git declares manages has no replica count of its own to drift
from: the HPA sets it between its bounds. Two live states still break that promise:
0 replicas (``kubectl scale --replicas=0`` disables the HPA until someone scales back up)
and a count outside the live HPA's [min, max]. An HPA made live (``kubectl autoscale``)
for a declared workload is drift in itself: Git does not know the workload autoscales,
and the next ``helm upgrade`` fights it over the replica count.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import Outcome
from auditor.drift.findings import OBJECT, passed
from auditor.models import Provenance, Resource
from auditor.paths import MISSING, get
from auditor.shell import Shell, q
from auditor.unknown import Unknown

HPA = "HorizontalPodAutoscaler"


def target(hpa: Resource) -> tuple[str | None, str, str]:
    """(namespace, kind, name) of the workload an HPA scales."""
    ref = get(hpa.body, ("spec", "scaleTargetRef"))
    ref = ref if isinstance(ref, dict) else {}
    return hpa.namespace, str(ref.get("kind", "Deployment")), str(ref.get("name"))


def bounds(hpa: Resource) -> tuple[int, int] | None:
    low, high = get(hpa.body, ("spec", "minReplicas")), get(hpa.body, ("spec", "maxReplicas"))
    low = 1 if low is MISSING or low is None else low  # the API's default
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        return low, high
    return None


def managed_replicas(declared: Resource, live: Resource, hpa: Resource,
                     live_hpa: Resource | None, trace: Provenance | None = None) -> Outcome:
    """The live replica count of a workload ``hpa`` (declared) manages: a pass, unless it
    is 0 or outside the live HPA's bounds (the declared ones when the HPA is gone live)."""
    ns = q(declared.namespace or "<namespace>")
    ref = q(f"{declared.kind.lower()}/{declared.name}")
    replicas = get(live.body, ("spec", "replicas"))
    replicas = 1 if replicas is MISSING or replicas is None else replicas
    owner = live_hpa or hpa
    window = bounds(owner) or bounds(hpa)
    where = hpa.locate(("spec", "minReplicas"))
    if isinstance(replicas, Unknown) or window is None or not isinstance(replicas, int):
        reason = replicas.reason if isinstance(replicas, Unknown) else (
            f"HorizontalPodAutoscaler {hpa.name}'s bounds are not known")
        return Outcome(declared, "unknown", item="spec.replicas", path=("spec", "replicas"),
                       location=where, reason=f"live spec.replicas is not known: {reason}")
    low, high = window
    if replicas != 0 and low <= replicas <= high:
        return passed(declared)
    put = low if replicas < low else high
    state = ("0 (an HPA does not scale a workload at 0 replicas: autoscaling is off)"
             if replicas == 0 else f"{replicas} (outside the HPA's {low}-{high})")
    return Outcome(declared, "fail", item="spec.replicas", path=("spec", "replicas"),
                   location=where, provenance=trace, vars={
                       "field": "spec.replicas", "live": state,
                       "changed": trace.summary() if trace and trace.actor else "",
                       "declared": f"managed by HorizontalPodAutoscaler {hpa.name} "
                                   f"({low}-{high})",
                       "declared_at": str(where or hpa.source),
                       "cause": Shell(f"kubectl scale {ref} --replicas={replicas} -n {ns}"),
                       # The chart leaves replicas to the HPA: an upgrade would not touch it.
                       "restore": Shell(f"kubectl scale {ref} --replicas={put} -n {ns}")})


def undeclared(hpa: Resource, workload: Resource, trace: Provenance | None = None) -> Outcome:
    """A live HPA Git does not declare, scaling the declared ``workload``."""
    ns = q(hpa.namespace or "<namespace>")
    where = workload.location
    return Outcome(hpa, "fail", item=OBJECT, location=where, provenance=trace, vars={
        "changed": trace.summary() if trace and trace.actor else "",
        "field": f"HorizontalPodAutoscaler {hpa.name}", "declared": "(not declared)",
        "live": f"present, scaling {workload.kind} {workload.name}",
        "declared_at": str(where or workload.source), "cause": autoscale(hpa),
        "restore": Shell(f"kubectl delete hpa {q(hpa.name)} -n {ns}")})


def autoscale(hpa: Resource) -> Shell:
    """The ``kubectl autoscale`` that most likely made ``hpa``."""
    _, kind, name = target(hpa)
    low, high = bounds(hpa) or (1, "<max>")
    parts = [f"kubectl autoscale {q(f'{kind.lower()}/{name}')}", f"--min={q(low)}",
             f"--max={q(high)}"]
    cpu = _cpu(hpa.body.get("spec"))
    if cpu is not None:
        parts.append(f"--cpu-percent={q(cpu)}")
    if hpa.name != name:
        parts.append(f"--name={q(hpa.name)}")
    return Shell(" ".join([*parts, f"-n {q(hpa.namespace or '<namespace>')}"]))


def _cpu(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return None
    if "targetCPUUtilizationPercentage" in spec:
        return spec["targetCPUUtilizationPercentage"]
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") if isinstance(metric, dict) else None
        if isinstance(resource, dict) and resource.get("name") == "cpu":
            value = get(resource, ("target", "averageUtilization"))
            return value if isinstance(value, int) else None
    return None

