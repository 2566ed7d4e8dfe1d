"""Replicas under an HPA Git declares, and HPAs made live: `kubectl scale --replicas=0`
switches autoscaling off, a count outside the HPA's bounds is not the HPA's doing, and
`kubectl autoscale` makes an HPA Git knows nothing of."""

from __future__ import annotations

from typing import Any

from auditor.models import Inventory, Resource
from tests.drift.live import find, run

SCALE = "kubectl scale deployment/chess-ai --replicas="


def replicas(declared: Inventory, live: list[Resource]) -> list[Any]:
    return [o for o in run("hpa-drift", declared, live)
            if o.resource.kind == "Deployment" or o.status != "pass"]


def test_scaled_to_zero_under_an_hpa_is_drift(declared: Inventory,
                                              live: list[Resource]) -> None:
    find(live, "Deployment").body["spec"]["replicas"] = 0
    [out] = replicas(declared, live)
    assert (out.status, out.item) == ("fail", "spec.replicas")
    assert out.vars["live"].startswith("0 (")
    assert out.vars["declared"] == "managed by HorizontalPodAutoscaler chess-ai (3-20)"
    assert out.vars["cause"] == f"{SCALE}0 -n chess-ai"
    # The chart leaves replicas to the HPA: only a scale back up restores it.
    assert out.vars["restore"] == f"{SCALE}3 -n chess-ai"
    assert str(out.location) == "helm/values-prod.yaml:26"


def test_replicas_outside_the_live_hpas_bounds(declared: Inventory,
                                               live: list[Resource]) -> None:
    find(live, "Deployment").body["spec"]["replicas"] = 25
    [out] = replicas(declared, live)
    assert (out.status, out.vars["restore"]) == ("fail", f"{SCALE}20 -n chess-ai")
    # Judged against the live HPA: its raised ceiling (its own drift) admits 25.
    find(live, "HorizontalPodAutoscaler").body["spec"]["maxReplicas"] = 30
    assert [(o.resource.kind, o.item) for o in replicas(declared, live)
            if o.status != "pass"] == [("HorizontalPodAutoscaler", "spec.maxReplicas")]
    find(live, "Deployment").body["spec"]["replicas"] = 14
    assert [o.status for o in replicas(declared, live)
            if o.resource.kind == "Deployment"] == ["pass"]


def test_an_hpa_made_live_is_drift_and_manages_nothing_git_knows(
        declared: Inventory, live: list[Resource]) -> None:
    declared.resources = [r for r in declared.resources if r.kind != "HorizontalPodAutoscaler"]
    hpa = find(live, "HorizontalPodAutoscaler")
    hpa.body["spec"].update(minReplicas=2, maxReplicas=10)
    hpa.body["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 80
    out = {(o.resource.kind, o.item): o for o in run("hpa-drift", declared, live)}
    made = out["HorizontalPodAutoscaler", "(object)"]
    assert made.status == "fail" and made.vars["declared"] == "(not declared)"
    assert made.vars["cause"] == ("kubectl autoscale deployment/chess-ai --min=2 --max=10 "
                                  "--cpu-percent=80 -n chess-ai")
    assert made.vars["restore"] == "kubectl delete hpa chess-ai -n chess-ai"
    assert str(made.location) == "helm/chess-ai/templates/deployment.yaml:1"
    # Managed only by an HPA Git does not declare: its replica count is compared as declared.
    assert out["Deployment", "spec.replicas"].status == "fail"


def test_an_undeclared_hpa_of_another_workload_is_not_this_releases(
        declared: Inventory, live: list[Resource]) -> None:
    other = find(live, "HorizontalPodAutoscaler")
    live.append(Resource(other.kind, "someone-else", {
        **other.body, "spec": {**other.body["spec"], "scaleTargetRef": {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "someone-else"}}},
        other.source, other.namespace))
    assert {o.status for o in run("hpa-drift", declared, live)} == {"pass"}
