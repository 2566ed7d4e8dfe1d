"""Kubernetes object helpers shared by the engine and the named checks.

Pod templates sit at different paths in different workload kinds; label selectors and
scale targets relate objects. Knowing that in one place keeps policies free of it.
"""

from __future__ import annotations

from typing import Any

from auditor.models import Resource
from auditor.paths import Path, get

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_POD_SPEC: dict[str, Path] = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **{k: ("spec", "template", "spec") for k in WORKLOAD_KINDS if k != "CronJob"},
}


def pod_spec_path(kind: str) -> Path | None:
    return _POD_SPEC.get(kind)


def containers(resource: Resource, init: bool = True) -> list[tuple[Path, dict[str, Any]]]:
    """(path, container) for every container of a workload's pod template: the regular
    ones, then (with ``init``) the init containers, which are scheduled and pulled too."""
    base = pod_spec_path(resource.kind)
    if base is None:
        return []
    out = []
    for field in ("containers", "initContainers") if init else ("containers",):
        items = get(resource.body, (*base, field))
        if isinstance(items, list):
            out += [((*base, field, i), c) for i, c in enumerate(items) if isinstance(c, dict)]
    return out


def serving_container(resource: Resource, preferred: str | None = None
                      ) -> tuple[Path, dict[str, Any]] | None:
    """The container that serves traffic: the one named ``preferred``, else the one named
    like the workload, else the first that declares ports, else the first."""
    all_ = containers(resource, init=False)  # init containers never serve
    for wanted in (preferred, resource.name):
        for path, c in all_:
            if wanted and c.get("name") == wanted:
                return path, c
    for path, c in all_:
        if c.get("ports"):
            return path, c
    return all_[0] if all_ else None


def pod_labels(resource: Resource) -> dict[str, Any]:
    base = pod_spec_path(resource.kind)
    if base is None:
        return {}
    labels = get(resource.body, (*base[:-1], "metadata", "labels"))
    return labels if isinstance(labels, dict) else {}


def selects(selector: Any, labels: dict[str, Any]) -> bool:
    """A LabelSelector (matchLabels/matchExpressions) or a plain Service selector map."""
    if not isinstance(selector, dict) or not selector:
        return False
    match = selector.get("matchLabels", {} if "matchExpressions" in selector else selector)
    if not isinstance(match, dict):
        return False
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    exprs = selector.get("matchExpressions")
    exprs = [] if exprs is None else exprs
    if not isinstance(exprs, list):  # unresolved: not proof that it selects
        return False
    for expr in exprs:
        if not isinstance(expr, dict):
            return False
        key: Any = expr.get("key")
        op: Any = expr.get("operator")
        values = expr["values"] if isinstance(expr.get("values"), list) else []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not ok:
            return False
    return True


def scale_target(hpa: Resource) -> tuple[str, str] | None:
    ref = get(hpa.body, ("spec", "scaleTargetRef"))
    if not isinstance(ref, dict):
        return None
    return str(ref.get("kind", "")), str(ref.get("name", ""))


def hpas_for(workload: Resource, hpas: list[Resource]) -> list[Resource]:
    return [h for h in hpas if h.namespace == workload.namespace
            and scale_target(h) == (workload.kind, workload.name)]


def container_ports(container: dict[str, Any]) -> dict[str, int]:
    """Named ports of a container, plus every number under its own string."""
    out: dict[str, int] = {}
    for port in container.get("ports") or []:
        number = port.get("containerPort") if isinstance(port, dict) else None
        if isinstance(number, int):
            out[str(number)] = number
            if port.get("name"):
                out[str(port["name"])] = number
    return out
