"""Kubernetes API defaults that change what a policy sees, applied to declared objects.

The API server fills some fields in when an object is created; declared manifests lack
them, live objects have them. Applying the ones that matter to checks makes both sides
say the same thing (and keeps them from looking like drift). Each default points at the
line it was derived from.
"""

from __future__ import annotations

from auditor import k8s
from auditor.models import Inventory


def apply(inventory: Inventory) -> None:
    for resource in inventory.resources:
        for path, container in k8s.containers(resource):
            resources = container.get("resources")
            if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
                continue
            # A limit without a request gets a request equal to the limit.
            requests = resources.setdefault("requests", {})
            if not isinstance(requests, dict):
                continue
            for name, value in resources["limits"].items():
                if name not in requests:
                    requests[name] = value
                    source = resource.locate((*path, "resources", "limits", name))
                    if source is not None:
                        resource.field_locations[(*path, "resources", "requests", name)] = source
