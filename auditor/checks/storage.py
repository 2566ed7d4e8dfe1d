"""Storage check: a volume claim can grow when it fills up.

Every PVC (and StatefulSet volumeClaimTemplate) must use a StorageClass that allows volume
expansion; a claim that names no class uses the cluster's default one.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import CheckContext, Outcome, flag
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, Path, get
from auditor.unknown import Unknown

_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class",
                  "storageclass.beta.kubernetes.io/is-default-class")


def storage_expandable(ctx: CheckContext) -> list[Outcome]:
    """Every PVC (and StatefulSet volumeClaimTemplate) uses a StorageClass that allows
    volume expansion; no class at all (``""``) means a static volume that cannot grow."""
    classes = {c.name: c for c in ctx.inventory.of_kind("StorageClass")}
    default = next((c for c in classes.values() if any(flag(get(c.body, (
        "metadata", "annotations", a))) is True for a in _DEFAULT_CLASS)), None)
    out = []
    for owner, claim, base in _claims(ctx.inventory):
        name = get(claim, (*base, "storageClassName"))
        where = (*base, "storageClassName")
        if isinstance(name, Unknown):
            out.append(Outcome(owner, "unknown", path=where, reason=name))
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
                               reason=allowed))
            continue
        ok = flag(allowed) is True
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
