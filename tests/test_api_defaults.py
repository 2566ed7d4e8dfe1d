"""API defaults applied to declared objects so both sides read alike."""

from __future__ import annotations

from auditor import api_defaults
from auditor.models import Inventory, Location, Resource


def test_limits_without_requests_get_equal_requests_located_at_the_limit() -> None:
    base = ("spec", "template", "spec", "containers", 0)
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"cpu": "4", "memory": "16Gi"},
                                      "requests": {"cpu": "1"}}}]}}}}
    dep = Resource("Deployment", "web", body, "helm",
                   field_locations={(*base, "resources", "limits", "memory"):
                                    Location("values.yaml", 7)})
    api_defaults.apply(Inventory("prod", "declared", [dep]))
    requests = body["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests == {"cpu": "1", "memory": "16Gi"}  # an explicit request is kept
    assert dep.locate((*base, "resources", "requests", "memory")) == Location("values.yaml", 7)


def test_containers_without_limits_are_left_alone() -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}
    api_defaults.apply(Inventory("prod", "declared", [Resource("Deployment", "w", body, "m")]))
    assert body["spec"]["template"]["spec"]["containers"][0] == {"name": "app"}
