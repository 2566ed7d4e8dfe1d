"""Kubernetes object helpers shared by the engine and the named checks.

Pod templates sit at different paths in different workload kinds; label selectors and
scale targets relate objects. Knowing that in one place keeps policies free of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from auditor.models import Resource
from auditor.paths import MISSING, Path, get

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
    return _pod_metadata(resource, "labels")


def _pod_metadata(resource: Resource, field: str) -> dict[str, Any]:
    """The pods' ``metadata.FIELD`` (labels, annotations) of a workload's template; {} for
    a kind without one."""
    base = pod_spec_path(resource.kind)
    found = get(resource.body, (*base[:-1], "metadata", field)) if base is not None else None
    return found if isinstance(found, dict) else {}


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


SINGLETON_ANNOTATION = "runbook-auditor.io/singleton"
_METRICS_PORTS = {"metrics", "http-metrics", "https-metrics", "telemetry", "prometheus"}
_LEADER_ELECTION = ("--leader-elect", "--leader-election", "--enable-leader-election")
_LEADER_PREFIXES = ("--leader-elect", "--enable-leader-elect")  # and what configures it
_LEADER_ENV = re.compile(r"LEADER_?ELECT", re.IGNORECASE)
_NEGATED = re.compile(r"DISABLE|(^|_)NO_|SKIP", re.IGNORECASE)  # DISABLE_LEADER_ELECTION
_SCRAPE = re.compile(r"metric|prometheus|telemetry|monitor", re.IGNORECASE)  # a port's name


def single_instance(workload: Resource, singletons: list[str] | tuple[str, ...] = (),
                    claims: dict[str, Resource] | None = None,
                    services: Sequence[Resource] = ()) -> str | None:
    """Why ``workload`` cannot usefully run several replicas (so no HPA or PDB is expected
    of it), or None. ``singletons`` are the service's own list (names or Kind/name);
    ``claims`` the declared PersistentVolumeClaims by name; ``services`` the declared
    Services (one that sends it traffic makes every replica serve)."""
    name = workload.name
    if name in singletons or f"{workload.kind}/{name}" in singletons:
        return "it is one of the service's singletons (facts.singletons)"
    annotations = get(workload.body, ("metadata", "annotations"))
    marked = annotations.get(SINGLETON_ANNOTATION) if isinstance(annotations, dict) else None
    if isinstance(marked, str) and marked.strip().lower() not in ("", "false"):
        return f"it is marked a singleton ({SINGLETON_ANNOTATION}: {marked.strip()[:80]})"
    replicas = get(workload.body, ("spec", "replicas"))
    unset = replicas is None or replicas is MISSING  # the API's default is one
    one = unset or replicas in (1, "1")
    fixed = workload.field_locations.get(("spec", "replicas"))
    if one and not unset and fixed and fixed.literal:
        return f"its chart fixes replicas: 1 in its template ({fixed}), with no value to change it"
    if workload.kind == "Deployment":
        strategy = get(workload.body, ("spec", "strategy", "type"))
        if strategy == "Recreate" and one:
            return "a Recreate Deployment of one replica: it is built never to run twice"
    if workload.kind == "StatefulSet":
        if _names_own_members(workload):
            return ("its pods find each other by their ordinal names: membership follows "
                    "the replica count, so replicas are members, not capacity")
        if one and get(workload.body, ("spec", "volumeClaimTemplates")) not in (None, MISSING, []):
            return "a StatefulSet of one member with its own volume"
    ports = [p.get("name") for _, c in containers(workload, init=False)
             for p in (c.get("ports") or []) if isinstance(p, dict)]
    if ports and all(isinstance(n, str) and n.lower() in _METRICS_PORTS for n in ports):
        return ("it serves only metrics (ports " + ", ".join(str(n) for n in ports) + "): "
                "more replicas duplicate its series, they add no capacity")
    if _leader_elected(workload) and _served_by(workload, services) is None:
        return "it elects a leader: one replica works and the others wait"
    if one and claims is not None:
        rwo = _read_write_once_claim(workload, claims)
        if rwo:
            return f"it mounts the ReadWriteOnce volume claim {rwo}, which one node can hold"
    return None


def _served_by(workload: Resource, services: Sequence[Resource]) -> Resource | None:
    """A Service that sends the workload's pods traffic: it selects them on a port that
    reaches them and is not only for scraping metrics. A
    leader-elected webhook or ingress controller serves from every replica; the leader only
    does the bookkeeping."""
    labels = pod_labels(workload)
    declared: dict[str, int] = {}
    for _, c in containers(workload, init=False):
        declared.update(container_ports(c))
    for svc in services:
        if svc.namespace != workload.namespace or not selects(
                get(svc.body, ("spec", "selector")), labels):
            continue
        ports = get(svc.body, ("spec", "ports"))
        if isinstance(ports, list) and any(_serving(p, declared, workload, svc)
                                           for p in ports):
            return svc
    return None


def _serving(port: Any, declared: dict[str, int], workload: Resource, svc: Resource
             ) -> bool:
    """Whether a Service port reaches the pods on a port that is not for Prometheus to
    scrape: named so (the Service port, its target or the container port), or the port a
    ``prometheus.io/port`` annotation (the pods' or the Service's) names."""
    if not isinstance(port, dict):
        return False
    target = port.get("targetPort", port.get("port"))
    number = declared.get(str(target)) if target is not None else None
    if number is None:
        # A port name the pods do not declare reaches nothing of theirs (it is another
        # workload's); a number may be one they listen on without declaring it.
        if not isinstance(target, int | str) or not str(target).isdigit():
            return False
        number = int(target)
    names = [port.get("name"), target, *(n for n, v in declared.items() if v == number)]
    if any(isinstance(n, str) and _SCRAPE.search(n) for n in names):
        return False
    own = get(svc.body, ("metadata", "annotations"))
    scraped = {str(found.get("prometheus.io/port", "")).strip() for found in (
        _pod_metadata(workload, "annotations"), own if isinstance(own, dict) else {})}
    return not scraped & {str(number), str(port.get("port"))}


def _strings(container: dict[str, Any]) -> list[str]:
    out = [s for field in ("command", "args") for s in (container.get(field) or [])
           if isinstance(s, str)]
    for env in container.get("env") or []:
        if isinstance(env, dict) and isinstance(env.get("value"), str):
            out.append(env["value"])
    return out


def _names_own_members(workload: Resource) -> bool:
    """A container names member 0: by its stable DNS name under the headless service
    (``etcd-0.etcd-headless``) or by its pod name alone (Elasticsearch's
    ``cluster.initial_master_nodes: es-0,es-1,es-2``), not as part of a longer name."""
    first = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(workload.name)}-0(?![A-Za-z0-9-])")
    return any(first.search(s) for _, c in containers(workload) for s in _strings(c))


def _leader_elected(workload: Resource) -> bool:
    """A container elects a leader: a switch for it that is on (a flag, or an environment
    variable named for it with a literal value: one set from a ConfigMap is not known
    here), or a flag that configures the election (cert-manager's
    ``--leader-election-namespace``: such binaries elect by default) with no switch off."""
    for _, c in containers(workload, init=False):
        flags = [_flag(s) for s in _strings(c)]
        args = [f for f in flags if f.startswith(_LEADER_PREFIXES)]
        switches = [_go_bool(value) if sep else True  # a bare boolean flag is true
                    for flag, sep, value in (a.partition("=") for a in args)
                    if flag in _LEADER_ELECTION]
        for env in c.get("env") or []:
            name = env.get("name") if isinstance(env, dict) else None
            value = env.get("value") if isinstance(env, dict) else None
            if isinstance(name, str) and isinstance(value, str) and _LEADER_ENV.search(name):
                on = _go_bool(value)
                switches.append(None if on is None else on != bool(_NEGATED.search(name)))
        known = [s for s in switches if s is not None]  # what Go would refuse says nothing
        if False in known:
            continue
        if True in known or (args and not known):
            return True
    return False


def _flag(arg: str) -> str:
    """``-flag`` as ``--flag``: Go's flag package takes either."""
    return "-" + arg if arg.startswith("-") and not arg.startswith("--") else arg


def _go_bool(value: str) -> bool | None:
    """``value`` as Go's strconv.ParseBool reads it; None for what it refuses."""
    text = value.strip().strip('"')
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    return False if text in ("0", "f", "F", "false", "FALSE", "False") else None


def _read_write_once_claim(workload: Resource, claims: dict[str, Resource]) -> str | None:
    base = pod_spec_path(workload.kind)
    volumes = get(workload.body, (*base, "volumes")) if base else None
    for volume in volumes if isinstance(volumes, list) else []:
        ref = get(volume, ("persistentVolumeClaim", "claimName")) if isinstance(
            volume, dict) else None
        claim = claims.get(ref) if isinstance(ref, str) else None
        modes = get(claim.body, ("spec", "accessModes")) if claim else None
        if isinstance(modes, list) and modes and all(
                m in ("ReadWriteOnce", "ReadWriteOncePod") for m in modes):
            return str(ref)
    return None
