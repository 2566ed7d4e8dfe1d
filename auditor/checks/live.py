"""Checks only the live side holds: objects a pod spec references, target health,
database status and snapshots, account-wide detection.

Each one reads the live model's shapes (docs/live-model.md). A value that is absent where
the API always gives one, or that cannot be parsed, is ``unknown`` with the reason, never a
pass. Certificate expiry, also live-only, is :mod:`auditor.checks.certificates`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.checks.clock import now, parse_time, span, when
from auditor.models import Resource, Status
from auditor.paths import MISSING, Path, get
from auditor.quantities import semantic_equal
from auditor.unknown import Unknown

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")


# ---- objects a pod spec references ----------------------------------------------------

class Reference(NamedTuple):
    kind: str
    name: Any
    path: Path
    what: str  # what refers to it, for the message
    via: str = ""  # the ServiceAccount it comes from, when not from the pod spec itself


Finder = Callable[[Resource, dict[str, Any], Path], list[Reference]]


def config_refs_exist(ctx: CheckContext) -> list[Outcome]:
    return _references_exist(ctx, lambda _, spec, base: config_references(spec, base))


def image_pull_secrets_exist(ctx: CheckContext) -> list[Outcome]:
    """The pod spec's imagePullSecrets; when it names none, its ServiceAccount's, which
    admission copies into every new pod (only then: the two lists are never merged)."""
    accounts = {(r.namespace, r.name): r for r in ctx.inventory.of_kind("ServiceAccount")}
    unread = ctx.inventory.unavailable.get("ServiceAccount")

    def pull_secrets(workload: Resource, spec: dict[str, Any], base: Path) -> list[Reference]:
        own = spec.get("imagePullSecrets")
        if not (own is None or own == []):
            return [Reference("Secret", s.get("name"), (*base, "imagePullSecrets", i),
                              "imagePullSecrets") for i, s in _dicts(own)]
        name, at = _service_account(spec), (*base, "serviceAccountName")
        if isinstance(name, Unknown):
            return [Reference("Secret", Unknown(f"the pods' ServiceAccount is not known: "
                                                f"{name.reason}", failed=name.failed),
                              at, "its ServiceAccount")]
        if unread is not None:  # what the account gives the pods was not read: no pass
            return [Reference("Secret", Unknown(f"ServiceAccount {name} could not be read: "
                                                f"{unread}", failed=True), at,
                              f"ServiceAccount {name}")]
        # Declared side: only an account the chart renders is known; live: the namespace's.
        account = accounts.get((workload.namespace, name))
        listed = account.body.get("imagePullSecrets") if account else None
        return [Reference("Secret", s.get("name"), at, f"ServiceAccount {name}", via=name)
                for _, s in _dicts(listed)]
    return _references_exist(ctx, pull_secrets)


def _service_account(spec: dict[str, Any]) -> Any:
    """The pods' ServiceAccount: serviceAccountName, else its deprecated alias, else the
    namespace's "default", as admission sets it."""
    for key in ("serviceAccountName", "serviceAccount"):
        value = spec.get(key)
        if isinstance(value, Unknown) or (isinstance(value, str) and value):
            return value
    return "default"


def config_references(spec: dict[str, Any], base: Path) -> list[Reference]:
    """ConfigMaps and Secrets a pod needs to start: env valueFrom, envFrom and volumes
    (plain and projected), except those marked ``optional: true``."""
    refs: list[Reference] = []

    def add(holder: Any, key: str, kind: str, name_key: str, path: Path, what: str) -> None:
        ref = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(ref, dict) and not semantic_equal(ref.get("optional"), True):
            refs.append(Reference(kind, ref.get(name_key), (*path, key), what))

    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in _dicts(spec.get(group)):
            at, who = (*base, group, i), f"container {c.get('name')}"
            for j, env in _dicts(c.get("env")):
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    add(env.get("valueFrom"), key, kind, "name", (*at, "env", j, "valueFrom"),
                        f"env {env.get('name')} of {who}")
            for j, source in _dicts(c.get("envFrom")):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    add(source, key, kind, "name", (*at, "envFrom", j), f"envFrom of {who}")
    for i, vol in _dicts(spec.get("volumes")):
        at, what = (*base, "volumes", i), f"volume {vol.get('name')}"
        add(vol, "configMap", "ConfigMap", "name", at, what)
        add(vol, "secret", "Secret", "secretName", at, what)
        for j, source in _dicts(get(vol, ("projected", "sources"))):
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                add(source, key, kind, "name", (*at, "projected", "sources", j), what)
    return refs


def _dicts(items: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, x) for i, x in enumerate(items) if isinstance(x, dict)] if isinstance(
        items, list) else []


def _finished(workload: Resource) -> bool:
    """A Job that completed or failed: it starts no more pods, so nothing it refers to is
    needed any more."""
    conditions = get(workload.body, ("status", "conditions"))
    return workload.kind == "Job" and isinstance(conditions, list) and any(
        isinstance(c, dict) and c.get("type") in ("Complete", "Failed")
        and c.get("status") == "True" for c in conditions)


def _references_exist(ctx: CheckContext, find: Finder) -> list[Outcome]:
    """Per workload: a fail for each referenced object missing from its namespace (one per
    object, naming every place that refers to it), else a pass."""
    present = {(r.kind, r.namespace, r.name) for r in ctx.inventory.of_kind("ConfigMap", "Secret")}
    out = []
    for workload in ctx.inventory.of_kind(*WORKLOADS):
        if _finished(workload):
            continue
        base = k8s.pod_spec_path(workload.kind) or ()
        spec = get(workload.body, base)
        refs = find(workload, spec, base) if isinstance(spec, dict) else []
        missing: dict[tuple[str, str], list[Reference]] = {}
        mine = []
        for ref in refs:
            if isinstance(ref.name, Unknown):
                mine.append(Outcome(workload, "unknown", item=f"{ref.kind.lower()} of "
                                    f"{ref.what}", path=ref.path, reason=ref.name))
            elif ref.name is not None and (
                    ref.kind, workload.namespace, str(ref.name)) not in present:
                missing.setdefault((ref.kind, str(ref.name)), []).append(ref)
        for (kind, name), places in missing.items():
            via = {"service_account": places[0].via} if places[0].via else {}
            mine.append(Outcome(workload, "fail", item=f"{kind.lower()}/{name}",
                                path=places[0].path,
                                vars={"ref_kind": kind, "ref_name": name, **via,
                                      "used_by": ", ".join(dict.fromkeys(p.what for p in places))}))
        out += mine or [Outcome(workload, "pass")]
    return out


# ---- AWS: targets, databases, account-wide detection --------------------------------

def targets_healthy(ctx: CheckContext) -> list[Outcome]:
    out = []
    for tg in ctx.inventory.of_kind("TargetGroup"):
        targets = tg.body.get("targets", MISSING)
        states = [t.get("state") if isinstance(t, dict) else None
                  for t in (targets if isinstance(targets, list) else [])]
        doubt = next((v for v in [targets, *states] if isinstance(v, Unknown)), None)
        if doubt is not None:
            out.append(Outcome(tg, "unknown", path=("targets",), reason=doubt))
        elif not isinstance(targets, list):
            out.append(Outcome(tg, "unknown", path=("targets",),
                               reason="the targets' health was not read"))
        elif not targets:
            out.append(Outcome(tg, "fail", path=("targets",), vars={
                "problem": "no registered targets: the load balancer has nowhere to send "
                           "traffic", "unhealthy": 0, "total": 0}))
        else:
            bad = [_target(t) for t, s in zip(targets, states, strict=True) if s != "healthy"]
            out.append(Outcome(tg, "fail" if bad else "pass", path=("targets",) if bad else (),
                               vars={"problem": f"{len(bad)} of {len(targets)} targets not "
                                                f"healthy: {', '.join(bad)}" if bad else "",
                                     "unhealthy": len(bad), "total": len(targets)}))
    return out


def _target(t: Any) -> str:
    if not isinstance(t, dict):
        return repr(t)
    where = f"{t.get('id')}:{t['port']}" if t.get("port") is not None else str(t.get("id"))
    reason = f" ({t['reason']})" if t.get("reason") else ""
    return f"{where} {t.get('state') or 'no state'}{reason}"


def db_instance_available(ctx: CheckContext) -> list[Outcome]:
    out = []
    for db in ctx.inventory.of_kind("DBInstance", "DBCluster", "DBClusterInstance"):
        status = db.body.get("status")
        if isinstance(status, str) and status:
            out.append(Outcome(db, "pass" if status == "available" else "fail",
                               path=("status",), vars={"status": status}))
        else:
            out.append(Outcome(db, "unknown", path=("status",), reason=status if isinstance(
                status, Unknown) else "the instance's status was not read"))
    return out


def rds_recent_snapshot(ctx: CheckContext) -> list[Outcome]:
    moment, limit = now(ctx.params), timedelta(hours=float(ctx.params["max_age_hours"]))
    out = []
    for db in ctx.inventory.of_kind("DBInstance", "DBCluster"):  # Aurora: the cluster's
        raw = db.body.get("latest_snapshot_time")
        taken, path = parse_time(raw), ("latest_snapshot_time",)
        if raw is None:
            out.append(Outcome(db, "fail", path=path, vars={
                "problem": "no snapshot (automated or manual) exists: the runbook's restore "
                           "has nothing to restore from"}))
        elif taken is None:
            out.append(Outcome(db, "unknown", path=path, reason=raw if isinstance(
                raw, Unknown) else f"snapshot time {raw!r} is not a date"))
        else:
            age = moment - taken
            out.append(Outcome(db, "fail" if age > limit else "pass", path=path, vars={
                "problem": f"the newest snapshot is {span(age)} old (taken {when(taken)}), "
                           f"over the {limit / timedelta(hours=1):g}-hour limit: a restore "
                           "would lose everything since",
                "snapshot_age_hours": round(age / timedelta(hours=1), 1)}))
    return out


Verdict = tuple[bool | None, str]  # (pass?, why not); None: not known


def guardduty_enabled(ctx: CheckContext) -> list[Outcome]:
    def judge(detectors: list[Any]) -> Verdict:
        found = [d for d in detectors if isinstance(d, dict)]
        statuses = [d.get("status") for d in found]
        if any(isinstance(s, str) and s.upper() == "ENABLED" for s in statuses):
            return True, ""
        doubt = next((s for s in statuses if isinstance(s, Unknown)), None)
        if doubt is not None:
            return None, f"a detector's status is not known: {doubt.reason}"
        return False, "no detector is enabled: " + ", ".join(
            f"{d.get('id')} ({d.get('status')})" for d in found) if found else (
            "no GuardDuty detector exists in the region")
    return _account(ctx, "guardduty_detectors", judge)


def cloudtrail_enabled(ctx: CheckContext) -> list[Outcome]:
    def judge(trails: list[Any]) -> Verdict:
        flags = [(t.get("name"), t.get("is_multi_region_trail"), t.get("is_logging"))
                 for t in trails if isinstance(t, dict)]
        if any(multi is True and on is True for _, multi, on in flags):
            return True, ""
        doubt = next((v for _, multi, on in flags for v in (multi, on)
                      if isinstance(v, Unknown)), None)
        if doubt is not None:
            return None, ("whether a trail is multi-region and logging is not known: "
                          f"{doubt.reason}")
        return False, "; ".join(f"trail {name} " + " and ".join(
            text for text, bad in (("is single-region", multi is not True),
                                   ("is not logging", on is not True)) if bad)
            for name, multi, on in flags) or "no trail exists"
    return _account(ctx, "trails", judge)


def _account(ctx: CheckContext, key: str, judge: Callable[[list[Any]], Verdict]
             ) -> list[Outcome]:
    out = []
    for account in ctx.inventory.of_kind("AWSAccount"):
        items = account.body.get(key)
        verdict, problem = judge(items) if isinstance(items, list) else (None, (
            items.reason if isinstance(items, Unknown) else f"{key} was not read"))
        status: Status = "unknown" if verdict is None else "pass" if verdict else "fail"
        out.append(Outcome(account, status, path=() if verdict else (key,), reason=problem,
                           vars={"problem": problem}))
    return out
