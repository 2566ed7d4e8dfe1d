"""Pairing: each declared object with its live counterpart.

Kubernetes objects pair by kind, namespace and name; AWS resources by kind and the
identifier Terraform declares (its name). A declared object with no live counterpart is
drift only when its platform was read at all (an environment without a cluster context
has no live Kubernetes objects, and that is not a deletion).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Inventory, Resource


def pairs(inventory: Inventory, kinds: set[str]
          ) -> Iterator[tuple[Resource, Resource | None, str | None]]:
    """(declared, live or None, why its kind could not be read or None) for every declared
    object of ``kinds`` whose platform was read (or failed to be)."""
    baseline = inventory.baseline
    if baseline is None:
        return
    live: dict[tuple[str, str | None, str], list[Resource]] = {}
    for r in inventory.resources:
        live.setdefault((r.kind, r.namespace, r.name), []).append(r)
    for declared in baseline.resources:
        if declared.kind not in kinds:
            continue
        why = inventory.unavailable.get(declared.kind)
        found = _pick(declared, live.get((declared.kind, declared.namespace, declared.name)))
        if why is not None or found is not None or _platform_read(inventory, declared):
            yield declared, None if why else found, why


def _pick(declared: Resource, found: list[Resource] | None) -> Resource | None:
    """The live namesake; node groups of the same name in two clusters go by cluster."""
    if not found:
        return None
    cluster = declared.body.get("cluster_name")
    same = [r for r in found if r.body.get("cluster_name", cluster) == cluster]
    return (same or found)[0]


def _platform_read(inventory: Inventory, declared: Resource) -> bool:
    if "apiVersion" in declared.body:  # Kubernetes: its namespace (or the cluster) was read
        return any("apiVersion" in r.body and declared.namespace in (None, r.namespace)
                   for r in inventory.resources)
    return any(r.kind in (declared.kind, "AWSAccount") for r in inventory.resources)
