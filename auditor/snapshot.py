"""Recorded live state: what ``auditor snapshot`` writes and ``auditor audit --live`` reads.

A snapshot lets an audit run with no cloud access (CI without credentials, the embedded
example, a bug report). It holds resources in the shared shape, the kinds that could not
be read and why, and input problems; never secret values: bodies pass through
:func:`redact` on the way out and on the way in (a Secret keeps only its metadata; the
env values, args and command of containers and a ConfigMap's data become hash markers,
see :mod:`auditor.live.markers`), and :func:`write` makes the file readable by its owner
only. Reading validates the whole document's shape first, so a damaged file is one
``malformed snapshot`` line naming the field, never a half-read audit. A snapshot of an
older version still loads; the kinds it could not record yet are unavailable in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor import output
from auditor.errors import InputError, first_error
from auditor.limits import MAX_DEPTH, too_deep
from auditor.live.base import LiveCollected
from auditor.live.markers import mark_values
from auditor.live.redact import kubernetes as redact_kubernetes
from auditor.models import Location, Problem, Resource
from auditor.unknown import Unknown

FORMAT = "runbook-auditor-snapshot"
VERSION = 2
# The Kubernetes kinds each version started to record. An older snapshot never read them:
# it still loads, with them unavailable (an error where a check needs one, not a pass over
# an empty list), until it is recorded again.
KUBERNETES_KINDS_SINCE: dict[int, tuple[str, ...]] = {2: ("CronJob", "Job", "ServiceAccount")}
AWS_KINDS_SINCE: dict[int, tuple[str, ...]] = {2: ("DBCluster", "DBClusterInstance")}
_KUBERNETES_V1 = frozenset({
    "Deployment", "StatefulSet", "DaemonSet", "HorizontalPodAutoscaler", "Service", "Ingress",
    "PersistentVolumeClaim", "PodDisruptionBudget", "StorageClass", "ConfigMap", "Secret",
    "Certificate"})
# Keys whose values are never kept, whatever object they sit in.
_SECRET_KEYS = {"data", "stringData", "binaryData", "password", "secretString", "token",
                "SecretString", "SecretBinary", "MasterUserPassword"}
_METADATA_ONLY = {"Secret"}  # existence is what checks need
_HASHED_DATA = {"ConfigMap"}  # content compared by hash, never kept
_HEAD = ("apiVersion", "kind", "metadata", "type")


def redact(resource: Resource) -> Resource:
    """A copy of ``resource`` fit to be recorded (the original is left as collected): a
    Kubernetes object through the live allow-list (auditor.live.redact; the collector
    applied it already, a snapshot written by hand or by an older version did not)."""
    body = resource.body
    if resource.kind in _METADATA_ONLY | _HASHED_DATA:
        kept = {k: v for k, v in body.items() if k in _HEAD}
        if resource.kind in _HASHED_DATA:  # markers, or why the content was not read
            kept.update({k: mark_values(body[k]) for k in ("data", "binaryData")
                         if isinstance(body.get(k), dict | Unknown)})
            if "immutable" in body:
                kept["immutable"] = body["immutable"]
        body = kept
    if "apiVersion" in body:
        data: dict[str, Any] = {k: v for k, v in body.items() if k in ("data", "binaryData")}
        rest = {k: v for k, v in body.items() if k not in data}
        body = {**redact_kubernetes(resource.kind, rest), **data}  # data: markers already
    return replace(resource, body=_scrub(body))


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<redacted>" if k in _SECRET_KEYS and not isinstance(v, dict | list | Unknown)
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


def write(path: FsPath, text: str) -> None:
    """Writes a snapshot readable and writable by its owner only (0600), also when the
    file was already there with wider permissions; atomically (see auditor.output)."""
    output.write(path, text, mode=0o600)


# ---- reading -----------------------------------------------------------------------------

class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _ResourceIn(_Shape):
    kind: str
    name: str
    namespace: str | None = None
    source: str | None = None
    address: str | None = None
    body: dict[str, Any]


class _ProblemIn(_Shape):
    source: str
    message: str
    file: str
    line: int | None = None
    status: Literal["error", "unknown"] = "error"


class _EnvironmentIn(_Shape):
    resources: list[_ResourceIn] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)
    problems: list[_ProblemIn] = Field(default_factory=list)


class _SnapshotIn(_Shape):
    format: str
    version: int
    service: str
    collected_at: str | None = None
    environments: dict[str, _EnvironmentIn]

    @field_validator("collected_at")
    @classmethod
    def _moment(cls, value: str | None) -> str | None:
        """The moment time-based checks judge by: an ISO 8601 date and time, or nothing."""
        if value is not None:
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError("not an ISO 8601 date and time") from None
        return value


def load(path: FsPath, service: str | None = None) -> tuple[dict[str, LiveCollected], str]:
    """The environments of a snapshot file, and when it was collected. With ``service``
    (the config's), a snapshot of another service is refused."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read snapshot: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"{path}{f':{line}' if line else ''}: not a snapshot: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: not a snapshot: nested too deeply") from None
    if too_deep(doc):
        raise InputError(f"{path}: not a snapshot: nested more than {MAX_DEPTH} levels deep")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not a runbook-auditor snapshot (no format: {FORMAT})")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise InputError(f"{path}: snapshot version {version!r} is not supported "
                         f"(this auditor reads versions 1 to {VERSION})")
    try:
        shape = _SnapshotIn.model_validate(doc)
    except ValidationError as exc:
        field, problem = first_error(exc)
        problem = re.sub(r" or instance of _\w+", "", problem).removeprefix("Value error, ")
        raise InputError(f"{path}: malformed snapshot: {field}: {problem}") from None
    if service is not None and shape.service != service:
        raise InputError(f"{path}: the snapshot records service {shape.service!r}, not "
                         f"{service!r} (the config's service)")
    out = {env: LiveCollected(
        resources=[redact(_resource_in(r, path, f"environments.{env}.resources.{i}"))
                   for i, r in enumerate(data.resources)],
        unavailable=dict(data.unavailable),
        problems=[Problem(p.source, p.message, Location(p.file, p.line), p.status)
                  for p in data.problems])
        for env, data in shape.environments.items()}
    for state in out.values():
        _not_recorded(state, version)
    return out, shape.collected_at or ""


def _not_recorded(state: LiveCollected, version: int) -> None:
    """Marks the kinds a snapshot of ``version`` could not hold as unavailable, where it
    recorded their platform at all."""
    kubernetes = (any("apiVersion" in r.body for r in state.resources)
                  or bool(state.unavailable.keys() & _KUBERNETES_V1))
    aws = any(r.source.startswith("aws ") for r in state.resources)
    newer = [*(KUBERNETES_KINDS_SINCE.items() if kubernetes else ()),
             *(AWS_KINDS_SINCE.items() if aws else ())]
    for since, kinds in newer:
        for kind in kinds if version < since else ():
            state.unavailable.setdefault(kind, (
                f"not in the snapshot (version {version}, recorded before {kind}s were "
                "read): record it again with `auditor snapshot`"))


def _resource_out(r: Resource) -> dict[str, Any]:
    return {"kind": r.kind, "name": r.name, "namespace": r.namespace, "source": r.source,
            "address": r.address, "body": r.body}


def _resource_in(raw: _ResourceIn, path: FsPath, where: str) -> Resource:
    body = _decode(raw.body)
    if not isinstance(body, dict):  # {"$unknown": ...} as a whole body
        raise InputError(f"{path}: malformed snapshot: {where}.body: a body must be an "
                         "object, not an unknown value")
    return Resource(kind=raw.kind, name=raw.name, body=body,
                    source=raw.source or f"snapshot {path.name}",
                    namespace=raw.namespace, address=raw.address)


def _encode(value: Any) -> Any:
    if isinstance(value, Unknown):
        out: dict[str, Any] = {"$unknown": value.reason}
        if value.ref is not None:
            out["$ref"] = value.ref
        if value.failed:
            out["$failed"] = True
        return out
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in a snapshot")


_UNKNOWN_KEYS = {"$unknown", "$ref", "$failed"}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$unknown" in value and set(value) <= _UNKNOWN_KEYS:
            ref = value.get("$ref")
            return Unknown(str(value["$unknown"]), ref=str(ref) if ref is not None else None,
                           failed=value.get("$failed") is True)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
