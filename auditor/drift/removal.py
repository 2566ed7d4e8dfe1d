"""Undoing what was added live: the kubectl command that removes a field only the live
object has (or that puts a field the chart omits back to its server default).

``helm upgrade`` alone does not: Helm's three-way merge patches only what the chart
says, so a field added out of band (``kubectl set env``, an extra annotation, a probe
setting the chart leaves to the default) survives every upgrade. ``kubectl apply`` keeps
such fields the same way. The removal comes first; the upgrade (or apply) is the
follow-up that puts back whatever else differs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from auditor.drift.commands import CONTAINER_FIELD
from auditor.drift.compare import Difference
from auditor.models import Resource
from auditor.paths import MISSING, Path, get
from auditor.shell import Shell, q, sq

# Lists whose items a strategic merge patch addresses by name.
_BY_NAME = {"containers", "initContainers", "ephemeralContainers", "env", "volumes",
            "imagePullSecrets"}
# Lists merged item by item (by a key): an item only live has survives Helm's merge. Any
# other list is replaced whole by the chart's, so the upgrade alone drops a live-only item.
_MERGED = _BY_NAME | {"ports", "volumeMounts", "topologySpreadConstraints", "hostAliases"}
_LAST_KEY = re.compile(r"\[([^\]]*)\]$")


class _Cannot(Exception):
    """The field cannot be addressed by a strategic merge patch."""


def needs_removal(declared: Resource, d: Difference) -> bool:
    """Whether ``d`` is something only live has, which a Kubernetes object's restoring
    ``helm upgrade`` / ``kubectl apply`` would keep."""
    if "apiVersion" not in declared.body or d.unknown is not None or d.live is MISSING or not (
            d.declared is MISSING or d.from_default):
        return False
    items = get(declared.body, d.path)
    return not (isinstance(items, list) and d.path and d.path[-1] not in _MERGED)


def removal(declared: Resource, d: Difference) -> Shell:
    """``kubectl set env ... VAR-`` for an env var, else a strategic merge patch that
    deletes the field (``null``, or ``$patch: delete`` for a named list item), else
    ``kubectl edit``."""
    ns = f" -n {q(declared.namespace)}" if declared.namespace else ""
    ref = q(f"{declared.kind.lower()}/{declared.name}")
    m = CONTAINER_FIELD.search(d.field)
    if m and m.group(2) == ".env":
        container, rest = q(m.group(1)), m.group(3)
        if rest.startswith("[") and rest.endswith("]") and "]" not in rest[1:-1]:
            return Shell(f"kubectl set env {ref} -c {container} {q(rest[1:-1] + '-')}{ns}")
        names = [str(i["name"]) for i in d.live if isinstance(i, dict) and i.get("name")] \
            if isinstance(d.live, list) and not rest else []
        if names:
            unset = " ".join(q(f"{n}-") for n in names)
            return Shell(f"kubectl set env {ref} -c {container} {unset}{ns}")
    try:
        patch = _patch(declared.body, d)
    except _Cannot:
        return Shell(f"kubectl edit {q(declared.kind.lower())} {q(declared.name)}{ns}")
    text = json.dumps(patch, separators=(",", ":"))
    return Shell(f"kubectl patch {ref}{ns} -p {sq(text)}")


def _patch(body: dict[str, Any], d: Difference) -> Any:
    leaf: Any = None  # a map key set to null is deleted
    if isinstance(get(body, d.path), list):  # a live-only item of a list Git has
        key = _LAST_KEY.search(d.field)
        if key is None or not d.path or d.path[-1] not in _BY_NAME:
            raise _Cannot
        leaf = [{"name": key.group(1), "$patch": "delete"}]
    return _nest(body, d.path, leaf)


def _nest(body: Any, path: Path, leaf: Any) -> Any:
    if not path or isinstance(path[0], int):
        raise _Cannot
    key, rest = str(path[0]), path[1:]
    sub = body.get(key) if isinstance(body, dict) else None
    if not rest:
        return {key: leaf}
    if isinstance(rest[0], int):  # into one item of a list merged by name
        items = sub if isinstance(sub, list) else []
        if key not in _BY_NAME or not rest[1:] or rest[0] >= len(items) or not isinstance(
                items[rest[0]], dict) or not isinstance(items[rest[0]].get("name"), str):
            raise _Cannot
        item = items[rest[0]]
        return {key: [{"name": item["name"], **_nest(item, rest[1:], leaf)}]}
    return {key: _nest(sub, rest, leaf)}
