"""Who last wrote each field of a live Kubernetes object: ``metadata.managedFields``, kept
in a small form drift can read (:mod:`auditor.drift.provenance`).

The API server records, per field manager (``kubectl-patch``, ``kubectl-edit``, ``helm``,
``kube-controller-manager``...), the operation, the time of its last write and the set of
fields it owns, as a ``FieldsV1`` tree (``f:spec`` > ``f:template`` > ``k:{"name":"app"}`` >
``f:image``). Each entry is kept as ``{manager, operation, time, subresource, fields}``,
``fields`` being the owned fields spelt as drift labels them
(``spec.template.spec.containers[app].image``). Only field *names* are kept, which the
allow-list shows anyway; the values a ``v:`` (set member) key holds are not, and anything
an attacker can make large is bounded: entries, fields, label length, depth. Compacting an
already compact list (a snapshot) keeps what is valid in it and bounds it again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

MAX_ENTRIES = 32  # managers per object; a real object has a handful
MAX_FIELDS = 4000  # labels per object, all entries together
MAX_LABEL = 400  # characters of one label
MAX_NAME = 128  # characters of a manager's name (the API server allows 128)
_DEPTH = 40  # FieldsV1 nesting; a pod template's deepest field is about 15 down
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_OPERATIONS = {"Update", "Apply"}
_SUBRESOURCES = {"status", "scale", "resize", "ephemeralcontainers", "eviction"}


def compact(managed: Any) -> list[dict[str, Any]]:
    """``metadata.managedFields`` (as the API server sends it, or as compacted before) in the
    kept form; whatever is malformed in an entry is left out, never guessed."""
    if not isinstance(managed, list):
        return []
    out: list[dict[str, Any]] = []
    budget = MAX_FIELDS
    for entry in managed[:MAX_ENTRIES]:
        if not isinstance(entry, dict):
            continue
        manager = entry.get("manager")
        if not isinstance(manager, str) or not manager or len(manager) > MAX_NAME \
                or not manager.isprintable():  # (the API server would refuse it)
            continue
        if isinstance(entry.get("fieldsV1"), dict):
            labels: list[str] = []
            _labels(entry["fieldsV1"], "", labels, 1)
        else:
            raw = entry.get("fields")
            labels = [x for x in raw if isinstance(x, str) and len(x) <= MAX_LABEL] \
                if isinstance(raw, list) else []
        labels = list(dict.fromkeys(labels))[:budget]
        budget -= len(labels)
        kept: dict[str, Any] = {"manager": manager,
                                "operation": _one_of(entry.get("operation"), _OPERATIONS),
                                "time": _time(entry.get("time")), "fields": labels}
        if (sub := _one_of(entry.get("subresource"), _SUBRESOURCES)) is not None:
            kept["subresource"] = sub
        out.append(kept)
    return out


def _one_of(value: Any, allowed: set[str]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def _time(value: Any) -> str | None:
    """The write's time in UTC, as the API server spells it (RFC 3339), or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(tree: dict[str, Any], prefix: str, out: list[str], depth: int) -> None:
    if depth > _DEPTH:
        return
    for key, child in tree.items():
        if len(out) >= MAX_FIELDS:
            return
        if key == ".":  # the object or list item itself (its prefix is already listed)
            continue
        label = _step(prefix, str(key))
        if label is None or len(label) > MAX_LABEL:
            continue
        out.append(label)
        if isinstance(child, dict) and child:
            _labels(child, label, out, depth + 1)


def _step(prefix: str, key: str) -> str | None:
    """One FieldsV1 key appended to a label: ``f:name`` a field, ``k:{...}`` a list item by
    its key fields, ``v:...`` a set member (its value is not kept), ``i:N`` by position."""
    kind, _, rest = key.partition(":")
    if kind == "f":
        return f"{prefix}.{rest}" if prefix and _IDENT.match(rest) else (
            rest if _IDENT.match(rest) else f'{prefix}["{rest}"]')
    if kind == "k":
        item = _item_key(rest)
        return None if item is None else f"{prefix}[{item}]"
    if kind == "v":
        return f"{prefix}[*]"
    if kind == "i" and rest.isdigit():
        return f"{prefix}[{rest}]"
    return None


def _item_key(text: str) -> str | None:
    """A list item's key as drift's labels spell it (auditor.drift.normalize.KEYS): the
    name where the item has one, a port as ``8080/TCP``, else the key values joined."""
    if len(text) > MAX_LABEL:
        return None
    try:
        keys = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(keys, dict) or not keys:
        return None
    if not all(isinstance(v, str | int | float | bool) for v in keys.values()):
        return None  # a merge key is a scalar
    if "name" in keys:
        return str(keys["name"])
    port = keys.get("containerPort", keys.get("port"))
    if port is not None:
        return f"{port}/{keys.get('protocol', 'TCP')}"
    if "mountPath" in keys:
        return str(keys["mountPath"])
    return ":".join(str(v) for v in keys.values())
