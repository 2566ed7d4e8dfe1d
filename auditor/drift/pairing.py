"""Pairing: each declared object with its live counterpart.

Kubernetes objects pair by kind, namespace and name; AWS resources by kind and the
identifier Terraform declares (its name). A declared object is never passed over in
silence: with no live counterpart it is drift (declared but missing live) when its kind
was read where it would be, an error when its kind could not be read, and unknown when
nothing was read where it would be (no live object of its platform, or of its namespace,
at all: the platform may not be configured, or the namespace may be gone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.models import Inventory, Resource


@dataclass(frozen=True)
class Pair:
    declared: Resource
    live: Resource | None
    unavailable: str | None = None  # why its kind could not be read
    unread: str | None = None  # why it may exist live unseen (nothing was read where it is)


def pairs(inventory: Inventory, kinds: set[str]) -> Iterator[Pair]:
    """A :class:`Pair` for every declared object of ``kinds``."""
    baseline = inventory.baseline
    if baseline is None:
        return
    live: dict[tuple[str, str | None, str], list[Resource]] = {}
    for r in inventory.resources:
        live.setdefault((r.kind, r.namespace, r.name), []).append(r)
    # Platforms the environment reads live ("kubernetes,aws,tls"): a declared object of a
    # platform the audit is not configured to read has nothing to drift from.
    configured = inventory.names.get("live_platforms")
    for declared in baseline.resources:
        if declared.kind not in kinds:
            continue
        platform = "kubernetes" if kubernetes(declared) else "aws"
        if configured is not None and platform not in configured.split(","):
            continue
        why = inventory.unavailable.get(declared.kind) or inventory.unavailable.get("*")
        found = _pick(declared, live.get((declared.kind, declared.namespace, declared.name)))
        if why is not None:
            yield Pair(declared, None, unavailable=why)
        elif found is not None:
            yield Pair(declared, found)
        else:
            yield Pair(declared, None, unread=unread(inventory, declared))


def _pick(declared: Resource, found: list[Resource] | None) -> Resource | None:
    """The live namesake; node groups of the same name in two clusters go by cluster."""
    if not found:
        return None
    cluster = declared.body.get("cluster_name")
    same = [r for r in found if r.body.get("cluster_name", cluster) == cluster]
    return (same or found)[0]


def kubernetes(r: Resource) -> bool:
    return "apiVersion" in r.body


def unread(inventory: Inventory, declared: Resource) -> str | None:
    """Why ``declared`` may exist live although it was not found, or None when it was read
    where it would be. The Kubernetes collector reads one namespace (the environment's) and
    the cluster-scoped kinds; the AWS collector looks for every resource Terraform
    declares."""
    if kubernetes(declared):
        k8s = [r for r in inventory.resources if kubernetes(r)]
        if not k8s:
            return "not found live, and nothing of its namespace was read (no live " \
                   "Kubernetes object at all)"
        namespace = declared.namespace
        if namespace is None or namespace == inventory.names.get("namespace") or any(
                r.namespace == namespace for r in k8s):
            return None
        return f"not found live, and nothing of its namespace ({namespace}) was read"
    if any(not kubernetes(r) and (r.kind in (declared.kind, "AWSAccount")
                                  or r.source.startswith("aws")) for r in inventory.resources):
        return None
    return "not found live, and nothing of AWS was read"
