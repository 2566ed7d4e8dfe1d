"""Recorded live state: what ``auditor snapshot`` writes and ``auditor audit --live`` reads.

A snapshot lets an audit run with no cloud access (CI without credentials, the embedded
example, a bug report). It holds resources in the shared shape, the kinds that could not
be read and why, and input problems; never secret values: bodies pass through
:func:`redact` on the way in and on the way out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

from auditor.errors import InputError
from auditor.live.base import LiveCollected
from auditor.models import Location, Problem, Resource
from auditor.unknown import Unknown

FORMAT = "runbook-auditor-snapshot"
VERSION = 1
# Keys whose values are never kept, whatever object they sit in.
_SECRET_KEYS = {"data", "stringData", "binaryData", "password", "secretString", "token",
                "SecretString", "SecretBinary", "MasterUserPassword"}
_KINDS_WITHOUT_CONTENT = {"Secret", "ConfigMap"}  # existence is what checks need


def redact(resource: Resource) -> Resource:
    body = resource.body
    if resource.kind in _KINDS_WITHOUT_CONTENT:
        body = {k: v for k, v in body.items() if k in ("apiVersion", "kind", "metadata", "type")}
        meta = body.get("metadata")
        if isinstance(meta, dict):  # last-applied annotations repeat the whole object
            annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                           if "last-applied-configuration" not in k}
            body["metadata"] = {**meta, "annotations": annotations}
    resource.body = _scrub(body)
    return resource


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<redacted>" if k in _SECRET_KEYS and not isinstance(v, dict | list)
                    else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def dump(service: str, environments: dict[str, LiveCollected]) -> str:
    doc = {
        "format": FORMAT, "version": VERSION, "service": service,
        "collected_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "environments": {env: {
            "resources": [_resource_out(redact(r)) for r in c.resources],
            "unavailable": c.unavailable,
            "problems": [{"source": p.source, "message": p.message, "file": p.location.file,
                          "line": p.location.line, "status": p.status} for p in c.problems],
        } for env, c in environments.items()},
    }
    return json.dumps(doc, indent=1, sort_keys=False, default=_encode) + "\n"


def load(path: FsPath) -> tuple[dict[str, LiveCollected], str]:
    """The environments of a snapshot file, and when it was collected."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read snapshot: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"{path}{f':{line}' if line else ''}: not a snapshot: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not a runbook-auditor snapshot (no format: {FORMAT})")
    if doc.get("version") != VERSION:
        raise InputError(f"{path}: snapshot version {doc.get('version')!r} is not supported "
                         f"(this auditor reads version {VERSION})")
    out: dict[str, LiveCollected] = {}
    try:
        for env, data in doc["environments"].items():
            out[env] = LiveCollected(
                resources=[redact(_resource_in(r, path)) for r in data.get("resources", [])],
                unavailable=dict(data.get("unavailable") or {}),
                problems=[Problem(p["source"], p["message"], Location(p["file"], p.get("line")),
                                  p.get("status", "error")) for p in data.get("problems", [])])
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: malformed snapshot: {exc!r}") from None
    return out, str(doc.get("collected_at", ""))


def _resource_out(r: Resource) -> dict[str, Any]:
    return {"kind": r.kind, "name": r.name, "namespace": r.namespace, "source": r.source,
            "address": r.address, "body": r.body}


def _resource_in(raw: dict[str, Any], path: FsPath) -> Resource:
    return Resource(kind=str(raw["kind"]), name=str(raw["name"]), body=_decode(raw["body"]),
                    source=str(raw.get("source") or f"snapshot {path.name}"),
                    namespace=raw.get("namespace"), address=raw.get("address"))


def _encode(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {"$unknown": value.reason}
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in a snapshot")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$unknown"}:
            return Unknown(str(value["$unknown"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
