"""What is not drift: server-filled defaults, bookkeeping noise, spelling and order.

Learnt from Argo CD's diff normalisation. Only what the declared side says is compared, so
a field the server adds is not drift; status and bookkeeping metadata (uid,
resourceVersion, managedFields, the revision and last-applied annotations) are dropped;
list items are matched by their key (containers and env by name, ports by name or number),
never by position; and the server's defaults are known, so an omitted field and its
default agree both ways (a declared ``timeoutSeconds: 1`` matches a live probe without it,
and a live ``timeoutSeconds: 5`` against a declared probe without it is drift from 1).
:class:`Rules` says, per kind, which subtrees are compared, which objects are *closed*
(a live-only key in them is drift unless it is a default) and what each default is; the
rules of each kind are :mod:`auditor.drift.defaults`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.paths import Path
from auditor.unknown import Unknown

Pattern = tuple[str, ...]  # a path with "*" for any key or list position
ANY = object()  # a value the server allocates (clusterIP, nodePort): whatever it is
Default = Any  # a value, ANY, or a function of the live parent object

_META_NOISE = {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
               "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}
# Annotations the server, kubectl and Helm write, and the rendered config checksum (a
# hash of our own rendering, which need not match Helm's byte for byte).
_ANNOTATION_NOISE = ("deployment.kubernetes.io/", "kubectl.kubernetes.io/last-applied",
                     "kubectl.kubernetes.io/restartedAt", "meta.helm.sh/", "checksum/")


def clean(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A copy without status and metadata noise, in the live API's own spelling."""
    out = copy.deepcopy(body)
    out.pop("status", None)
    _strip_metadata(out)
    if kind == "HorizontalPodAutoscaler":
        _hpa_v2(out)
    if kind == "LoadBalancer" and isinstance(out.get("web_acl"), str):
        out["web_acl"] = True  # a reference declared, an ARN live: both say "attached"
    return out


def _strip_metadata(value: Any) -> None:
    if isinstance(value, dict):
        meta = value.get("metadata")
        if isinstance(meta, dict):
            for key in _META_NOISE & set(meta):
                del meta[key]
            notes = meta.get("annotations")
            if isinstance(notes, dict):
                for key in [k for k in notes if str(k).startswith(_ANNOTATION_NOISE)]:
                    del notes[key]
        for v in value.values():
            _strip_metadata(v)
    elif isinstance(value, list):
        for v in value:
            _strip_metadata(v)


def _hpa_v2(body: dict[str, Any]) -> None:
    """autoscaling/v1's CPU percentage as a v2 metric; no metrics means 80 % CPU."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    if "metrics" not in spec:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80 if cpu is None else cpu}}}]


# ---- how list items are matched, and which lists are sets --------------------------------

def _named(item: dict[str, Any]) -> Any:
    return item.get("name")


def _port(item: dict[str, Any]) -> Any:
    if item.get("name"):
        return item["name"]
    number, protocol = item.get("containerPort", item.get("port")), item.get("protocol", "TCP")
    if number is None or isinstance(number, Unknown) or isinstance(protocol, Unknown):
        return None  # cannot be paired by key: compared in order
    return f"{number}/{protocol}"


def _joined(*keys: str) -> Callable[[dict[str, Any]], Any]:
    def key(item: dict[str, Any]) -> Any:
        parts = [item.get(k) for k in keys]
        return None if any(isinstance(p, Unknown) for p in parts) else ":".join(map(str, parts))
    return key


def _env_from(item: dict[str, Any]) -> Any:
    for ref in ("configMapRef", "secretRef"):
        if isinstance(item.get(ref), dict):
            return f"{ref.removesuffix('Ref')}:{item[ref].get('name')}"
    return None


def _metric(item: dict[str, Any]) -> Any:
    kind = item.get("type")
    inner = item.get(str(kind)[:1].lower() + str(kind)[1:]) if isinstance(kind, str) else None
    if not isinstance(inner, dict):
        return None
    name = inner.get("name") or (inner.get("metric") or {}).get("name")
    return f"{kind}:{name}" if name else None


KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "containers": _named, "initContainers": _named, "ephemeralContainers": _named,
    "env": _named, "volumes": _named, "imagePullSecrets": _named, "ports": _port,
    "volumeMounts": lambda i: i.get("mountPath"), "envFrom": _env_from, "metrics": _metric,
    "rules": lambda i: i.get("host", "*"), "paths": lambda i: i.get("path", "/"),
    "tls": lambda i: ",".join(map(str, i.get("hosts") or [])) or None,
    "tolerations": _joined("key", "operator", "effect"),
    "topologySpreadConstraints": _joined("topologyKey", "whenUnsatisfiable"),
}  # fmt: skip
# Lists of scalars whose order means nothing.
UNORDERED = {"drop", "add", "accessModes", "hosts", "clusterIPs", "ipFamilies",
             "instance_types", "subnet_ids", "cidr_blocks", "ipv6_cidr_blocks",
             "security_groups", "vpc_security_group_ids"}


# ---- what per-kind rules say -------------------------------------------------------------

@dataclass(frozen=True)
class Rules:
    roots: tuple[Path, ...] = ((),)  # the subtrees compared
    closed: frozenset[Pattern] = frozenset()  # objects whose live-only keys are drift
    defaults: dict[Pattern, Default] = field(default_factory=dict)  # what the server fills in
    skip: frozenset[Pattern] = frozenset()  # compared elsewhere (replicas: hpa-drift)

    def default(self, pattern: Pattern) -> Default | None:
        for p, value in self.defaults.items():
            if _matches(p, pattern):
                return value
        return None

    def is_closed(self, pattern: Pattern) -> bool:
        return any(_matches(p, pattern) for p in self.closed)

    def skips(self, pattern: Pattern) -> bool:
        return any(_matches(p, pattern) for p in self.skip)


def _matches(pattern: Pattern, path: Pattern) -> bool:
    return len(pattern) == len(path) and all(
        p in ("*", q) for p, q in zip(pattern, path, strict=True))
