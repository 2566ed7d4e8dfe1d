"""``metadata.managedFields`` as kube-apiserver writes them, for the fake API server.

The server records per field manager the fields it set, as a ``FieldsV1`` tree: ``f:name``
a field, ``k:{"name":"app"}`` a list item by its merge key (containers, env and volumes by
name, container ports by containerPort and protocol, volume mounts by mountPath), ``.``
the item itself; atomic lists (args, command, HPA metrics) are one leaf. An ``Update``
takes the fields it changes away from every other manager. :func:`manage` does the same,
so a test (or the example's recording) states who ran what, and the object carries the
entries the real managers (``helm``, ``kubectl-patch``, ``kubectl-set``,
``kube-controller-manager`` on ``scale``) would have left.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

# list name -> the fields of its merge key (the API's x-kubernetes-list-map-keys)
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "imagePullSecrets": ("name",),
    "volumeMounts": ("mountPath",), "ports": ("containerPort", "protocol"),
}
SERVICE_PORT_KEYS = ("port", "protocol")


def fields_v1(value: Any, name: str = "", service: bool = False) -> dict[str, Any]:
    """The FieldsV1 tree of what ``value`` sets (under the field ``name``)."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_v1(v, k, service) for k, v in value.items()}
    keys = SERVICE_PORT_KEYS if service and name == "ports" else LIST_KEYS.get(name)
    if isinstance(value, list) and keys and all(isinstance(i, dict) for i in value):
        out: dict[str, Any] = {}
        for item in value:
            key = {k: item.get(k, "TCP" if k == "protocol" else None) for k in keys}
            out[f"k:{json.dumps(key, separators=(',', ':'))}"] = {
                ".": {}, **fields_v1(item, "", service)}
        return out
    return {}  # a scalar, or an atomic list: one leaf


def manage(obj: dict[str, Any], manager: str, fragment: dict[str, Any], at: datetime,
           operation: str = "Update", subresource: str | None = None) -> None:
    """Records that ``manager`` set ``fragment`` of ``obj`` at ``at``: its entry gains
    those fields, every other manager loses them (the object's values are not changed)."""
    tree = fields_v1(fragment, service=obj.get("kind") == "Service")
    meta = obj.setdefault("metadata", {})
    entries: list[dict[str, Any]] = meta.setdefault("managedFields", [])
    for entry in entries:
        if (entry["manager"], entry.get("subresource")) != (manager, subresource):
            entry["fieldsV1"] = _without(entry["fieldsV1"], tree)
    entries[:] = [e for e in entries if e["fieldsV1"]]
    mine = next((e for e in entries if (e["manager"], e.get("subresource"))
                 == (manager, subresource)), None)
    if mine is None:
        mine = {"manager": manager, "operation": operation,
                "apiVersion": obj.get("apiVersion", "v1"), "fieldsType": "FieldsV1",
                "fieldsV1": {}}
        if subresource:
            mine["subresource"] = subresource
        entries.append(mine)
    mine["fieldsV1"] = _merged(mine["fieldsV1"], tree)
    mine["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, sub in b.items():
        out[key] = _merged(out.get(key, {}), sub)
    return out


def _without(tree: dict[str, Any], taken: dict[str, Any]) -> dict[str, Any]:
    """``tree`` less the leaves of ``taken`` (a branch left empty goes too)."""
    out = {}
    for key, sub in tree.items():
        if key not in taken:
            out[key] = sub
        elif taken[key] and sub:
            rest = _without(sub, taken[key])
            if set(rest) - {"."}:
                out[key] = rest
    return out
