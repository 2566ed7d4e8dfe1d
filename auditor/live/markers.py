"""Hash markers: a value that may be secret, kept only as the SHA-256 of its text.

A container's env values, args and command often carry credentials (``DB_PASSWORD``,
``--db-password=...``, a database URL), and a ConfigMap's data may too. Where such a value
is recorded it becomes ``{"$sha256": "<hex digest of its UTF-8 text>"}``: drift can still
tell whether it equals the declared value (hashed the same way), and nobody reading the
snapshot or the report learns it. Lists are marked element by element.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY = "$sha256"
# Where a pod template holds containers, per kind (a Pod's spec is its own template).
POD_SPECS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def marker(value: Any) -> dict[str, str]:
    """The marker of ``value``: a string's own text; a number as written, ``true``/
    ``false``, null as empty (as YAML would quote them), anything else as its JSON."""
    if is_marker(value):
        return dict(value)
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str | int | float) or value is None:
        text = "" if value is None else str(value)
    else:
        text = json.dumps(value, sort_keys=True)
    return {KEY: hashlib.sha256(text.encode("utf-8")).hexdigest()}


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {KEY} and isinstance(value[KEY], str)


def mark_values(data: Any) -> Any:
    """A ConfigMap's ``data``/``binaryData``: every value marked, keys kept."""
    if not isinstance(data, dict):
        return data
    return {k: marker(v) for k, v in data.items()}


def mark_workload(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` whose containers' env values, args and command are markers
    (the body itself is not changed)."""
    path = POD_SPECS.get(kind)
    if path is None:
        return body
    out = dict(body)
    parent: dict[str, Any] = out
    for step in path:  # copy the way down, so the original stays as collected
        child = parent.get(step)
        if not isinstance(child, dict):
            return out
        parent[step] = dict(child)
        parent = parent[step]
    for key in CONTAINER_LISTS:
        if isinstance(parent.get(key), list):
            parent[key] = [_container(c) for c in parent[key]]
    return out


def _container(container: Any) -> Any:
    if not isinstance(container, dict):
        return container
    out = dict(container)
    for key in ("args", "command"):
        if isinstance(out.get(key), list):
            out[key] = [marker(a) for a in out[key]]
    if isinstance(out.get("env"), list):
        out["env"] = [{**e, "value": marker(e["value"])}
                      if isinstance(e, dict) and e.get("value") is not None else e
                      for e in out["env"]]
    return out
