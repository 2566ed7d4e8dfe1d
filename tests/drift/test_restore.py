"""Restoring what was added live: Helm's three-way merge keeps a field the chart does not
state, so `helm upgrade` alone leaves it; the restore removes it first, and upgrades as the
follow-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auditor.models import Inventory, Resource
from tests.drift.live import find, run

HELM_RESTORE = "helm upgrade chess-ai ./helm/chess-ai -f helm/values-prod.yaml -n chess-ai"


def container(live: list[Resource], name: str = "chess-ai") -> dict[str, Any]:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


def _probe(live: list[Resource]) -> None:
    container(live)["livenessProbe"]["successThreshold"] = 2  # the chart leaves it default


def _sidecar_env(live: list[Resource]) -> None:
    container(live, "log-shipper")["env"] = [{"name": "LOG_LEVEL", "value": "debug"},
                                             {"name": "TRACE", "value": "1"}]


def _config_key(live: list[Resource]) -> None:
    find(live, "ConfigMap").body["data"]["FEATURE_X"] = {"$sha256": "0" * 64}


def _debug_container(live: list[Resource]) -> None:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    pod["containers"].append({"name": "debug", "image": "busybox", "args": ["sleep", "1d"]})


Change = Callable[[list[Resource]], None]
REMOVALS: dict[str, tuple[Change, str]] = {
    "a probe setting": (_probe, "kubectl patch deployment/chess-ai -n chess-ai -p '{\"spec\":"
                        "{\"template\":{\"spec\":{\"containers\":[{\"name\":\"chess-ai\","
                        "\"livenessProbe\":{\"successThreshold\":null}}]}}}}'"),
    "env vars on a container without any": (
        _sidecar_env, "kubectl set env deployment/chess-ai -c log-shipper LOG_LEVEL- TRACE- "
                      "-n chess-ai"),
    "a ConfigMap key": (_config_key, "kubectl patch configmap/chess-ai -n chess-ai -p "
                        "'{\"data\":{\"FEATURE_X\":null}}'"),
    "a container": (_debug_container, "kubectl patch deployment/chess-ai -n chess-ai -p "
                    "'{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"debug\","
                    "\"$patch\":\"delete\"}]}}}}'"),
}


@pytest.mark.parametrize(("change", "removal"), REMOVALS.values(), ids=REMOVALS.keys())
def test_a_live_only_field_is_removed_then_upgraded(declared: Inventory, live: list[Resource],
                                                    change: Change, removal: str) -> None:
    change(live)
    [out] = [o for o in run("helm-drift", declared, live) if o.status != "pass"]
    assert out.vars["restore"] == f"{removal} && {HELM_RESTORE}"
    assert "sleep" not in str(out.vars)  # a container's args are hidden too


def test_a_changed_field_the_chart_states_is_restored_by_the_upgrade_alone(
        declared: Inventory, live: list[Resource]) -> None:
    container(live)["image"] = "chess-ai:hotfix"
    [out] = [o for o in run("helm-drift", declared, live) if o.status != "pass"]
    assert out.vars["restore"] == HELM_RESTORE


def test_an_item_added_to_a_list_the_chart_replaces_whole_needs_the_upgrade_only(
        declared: Inventory, live: list[Resource]) -> None:
    # An HPA's metrics are an atomic list: Helm's patch puts the chart's list back whole.
    find(live, "HorizontalPodAutoscaler").body["spec"]["metrics"].append(
        {"type": "Resource", "resource": {"name": "memory", "target": {
            "type": "Utilization", "averageUtilization": 80}}})
    [out] = [o for o in run("hpa-drift", declared, live) if o.status != "pass"]
    assert out.item == "spec.metrics[Resource:memory]"
    assert out.vars["restore"] == HELM_RESTORE
