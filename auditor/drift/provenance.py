"""Who changed a drifted field live: the field manager that last wrote it (Kubernetes), or
the CloudTrail event that last changed the resource (AWS).

Kubernetes records, per field, the manager that owns it (:mod:`auditor.live.field_managers`
keeps that list). kubectl names its managers after its commands (``kubectl-patch``,
``kubectl-edit``, ``kubectl-client-side-apply``, ``kubectl-scale``, ``kubectl-set``), so the
owner says which of the runbook's emergency commands wrote the value; ``helm`` is a Helm
release (an upgrade run with other values than Git's); ``kube-controller-manager`` on the
``scale`` subresource is the HorizontalPodAutoscaler setting replicas. A removed field has
no owner left: the object's latest write is named instead, and said to be a guess.

AWS resources have no such record: the collector keeps the management events CloudTrail
holds for the drifted kinds (:mod:`auditor.live.aws.cloudtrail`), and the latest one that
touched the resource (and, for a parameter group, the parameter) is the answer. Where
CloudTrail could not be read or has nothing, the provenance says so in its note; it never
changes the finding's status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditor.live.field_managers import compact
from auditor.models import Inventory, Provenance, Resource

_SEGMENT = re.compile(r'\["[^"]*"\]|\[[^\]]*\]|\.?[A-Za-z_][A-Za-z0-9_-]*')
_SHORT = {"HorizontalPodAutoscaler": "hpa", "PersistentVolumeClaim": "pvc",
          "PodDisruptionBudget": "pdb", "ConfigMap": "configmap", "StorageClass": "storageclass"}
_KUBECTL = re.compile(r"kubectl-[a-z][a-z-]{0,30}")
_CONTROLLERS = {"kube-controller-manager", "kube-scheduler", "kubelet"}
_GITOPS = {"argocd-controller": "Argo CD sync", "argocd-application-controller": "Argo CD sync",
           "kustomize-controller": "Flux (kustomize-controller)",
           "helm-controller": "Flux (helm-controller)"}


@dataclass(frozen=True)
class _Write:
    manager: str
    operation: str | None
    time: datetime | None
    subresource: str | None
    fields: frozenset[str]


def kubernetes(live: Resource, field: str, removed: bool = False) -> Provenance | None:
    """The manager that last wrote ``field`` (a drift label) of ``live``, or None when the
    object carries no managedFields (a snapshot of an older version, a hand-made one)."""
    writes = _writes(live)
    if not writes:
        return None
    if removed:  # nobody owns a field that is gone: the latest write to the object
        latest = _latest([w for w in writes if w.subresource != "status"])
        if latest is None:
            return None
        return _described(latest, live, field, note="the field is gone live, so no manager "
                          "owns it; this is the object's latest write")
    for label in _ancestry(field):
        owners = [w for w in writes if label in w.fields]
        if owners:
            owner = _latest(owners)
            assert owner is not None  # owners is not empty
            return _described(owner, live, field)
    return None


def _described(w: _Write, live: Resource, field: str, note: str = "") -> Provenance:
    via, by, why = _command(w, live.kind, field)
    return Provenance(source="managedFields", actor=w.manager, at=w.time, via=via, by=by,
                      operation="Apply" if w.operation == "Apply" else
                      "Update" if w.operation == "Update" else None,
                      note="; ".join(p for p in (why, note) if p))


def _command(w: _Write, kind: str, field: str) -> tuple[str | None, Any, str]:
    """(the command it looks like, person/helm/controller, a note)."""
    short = _SHORT.get(kind, kind.lower())
    manager = w.manager
    if manager == "helm":
        return "helm upgrade", "helm", "a Helm release wrote it: an upgrade with values " \
            "other than Git's"
    if manager in _GITOPS:
        return _GITOPS[manager], "controller", "a GitOps controller wrote it"
    if manager in _CONTROLLERS or manager.endswith(("-controller", "-operator")):
        if w.subresource == "scale" and field.endswith("replicas"):
            return "HorizontalPodAutoscaler", "controller", "the HorizontalPodAutoscaler " \
                "sets it through the scale subresource"
        return None, "controller", f"a controller ({manager}) writes it"
    if manager == "kubectl" and w.operation == "Apply":
        return f"kubectl apply --server-side ({short})", "person", ""
    if manager == "kubectl-client-side-apply":
        return "kubectl apply", "person", ""
    if manager == "kubectl-set":
        what = next((w for w in ("image", "resources", "env") if f".{w}" in field), None)
        return f"kubectl set {what}" if what else "kubectl set", "person", ""
    if manager in ("kubectl-patch", "kubectl-edit", "kubectl-scale", "kubectl-annotate",
                   "kubectl-label", "kubectl-replace"):
        return f"kubectl {manager.removeprefix('kubectl-')} {short}", "person", ""
    if _KUBECTL.fullmatch(manager):  # kubectl-<command>: a name, not text to echo
        return f"kubectl {manager.removeprefix('kubectl-')}", "person", ""
    return None, "unknown", ""


def _writes(live: Resource) -> list[_Write]:
    """The object's managedFields (as collected, or as the API server writes them)."""
    meta = live.body.get("metadata")
    managed = compact(meta.get("managedFields")) if isinstance(meta, dict) else []
    return [_Write(e["manager"], e["operation"], _moment(e["time"]), e.get("subresource"),
                   frozenset(e["fields"])) for e in managed]


def _latest(writes: list[_Write]) -> _Write | None:
    """The most recent write; one with no time counts as the oldest."""
    if not writes:
        return None
    return max(writes, key=lambda w: (w.time is not None, w.time or datetime.min))


def _ancestry(label: str) -> list[str]:
    """``a.b[c].d`` -> [``a.b[c].d``, ``a.b[c]``, ``a.b``] (not the root: everyone writes
    under ``spec``, which says nothing about one field)."""
    parts = _SEGMENT.findall(label)
    if "".join(parts) != label:
        return [label]
    return ["".join(parts[:n]) for n in range(len(parts), 1, -1)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    """A recorded time, in UTC (one without a zone is taken as UTC, as the APIs write)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# ---- AWS: CloudTrail ------------------------------------------------------------------------

def aws(inv: Inventory, declared: Resource, live: Resource, field: str) -> Provenance | None:
    """The latest CloudTrail event that changed ``live`` (for a parameter group: the
    parameter ``field``); a note when CloudTrail could not be read or has none. None where
    it was not looked up (a kind it does not cover, a snapshot made before it was)."""
    from auditor.live.aws.cloudtrail import EVENTS, KIND, MAX_EVENTS, TRACKED

    if live.kind not in TRACKED:
        return None
    why = inv.unavailable.get(KIND)
    if why is not None:
        return Provenance(source="cloudtrail", note=f"CloudTrail not read: {why}")
    trail = inv.of_kind(KIND)
    if not trail:
        return None
    body = trail[0].body
    events = body.get("events")
    events = events[:MAX_EVENTS] if isinstance(events, list) else []  # (a snapshot's too)
    names = identities(live)
    cluster = live.body.get("cluster_name") if live.kind == "Nodegroup" else None
    hits = [e for e in events if isinstance(e, dict) and e.get("call") in EVENTS
            and EVENTS[e["call"]][0] == live.kind and str(e.get("target")).lower() in names
            and (cluster is None or e.get("scope") in (None, cluster)) and _touches(e, field)]
    if not hits:
        where = "in the last 90 days" if body.get("complete", True) is not False else \
            "among the latest events of each call CloudTrail returned"
        return Provenance(source="cloudtrail", note=f"no matching CloudTrail event {where} "
                          "(changed earlier, or by a call it does not record)")
    event = max(hits, key=lambda e: str(e.get("at") or ""))
    actor = _str(event.get("actor"))
    return Provenance(source="cloudtrail",
                      actor=actor[:300] if actor and actor.isprintable() else None,
                      at=_moment(event.get("at")), via=EVENTS[event["call"]][1],
                      call=event["call"], by="person",
                      note="" if actor and actor.isprintable() else "the caller is not "
                      "recorded in a form that can be shown")


def identities(r: Resource) -> set[str]:
    """What a CloudTrail event may call the resource: its name, id or ARN (any case: RDS
    takes parameter group names in any case and keeps them lowercased)."""
    return {str(v).lower() for v in (r.name, r.body.get("id"), r.body.get("arn"))
            if v is not None}


def _touches(event: dict[str, Any], field: str) -> bool:
    """Whether the event could have changed ``field``: it names the fields it changed
    (none: it could be any of the resource's)."""
    fields = event.get("fields")
    if not isinstance(fields, list) or not fields:
        return True
    head = field.split(".", 1)[0].split("[", 1)[0]
    return any(f in (field, head) for f in fields)
