"""Waivers: accepted findings, each with a reason, an owner and an expiry date.

A waiver matches findings by policy id, resource (kind, namespace, name: globs allowed),
optionally the item (a container) and by environment; never by side or line, so one
waiver covers the same defect in the values file, on the live object and in the drift.
A waived finding stays in the report (``waived``) and does not gate. A waiver past its
date no longer applies and is reported (``waiver-expired``), as is one that matches no
finding where its policy was checked (``waiver-stale``): both are low-severity findings
located at the waiver's line, so they show in every format.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path as FsPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor import paths
from auditor.errors import ConfigError, where
from auditor.models import (
    INPUT_ERROR,
    WAIVER_EXPIRED,
    WAIVER_STALE,
    Finding,
    FindingLocation,
    Remediation,
    Report,
    ResourceRef,
    Waived,
    WaiverState,
    fingerprint,
)
from auditor.report import by_severity
from auditor.yamlfile import nearest_line, read_document

DEFAULT_NAME = ".auditor-waivers.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaiverEntry(_Strict):
    policy: str = Field(min_length=1, description="Policy id (exact).")
    resource: str = Field(min_length=1, description="kind/name or kind/namespace/name; "
                          "each part may be a glob (*, ?, [..]).")
    item: str | None = Field(None, description="Part of the resource (a container); glob.")
    environments: list[str] = Field(min_length=1, description="Names or globs; ['*'] = all.")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date = Field(description="Last day the waiver applies (YYYY-MM-DD).")

    @field_validator("resource")
    @classmethod
    def _shape(cls, value: str) -> str:
        kind, _, rest = value.partition("/")
        if not kind or not rest:
            raise ValueError("expected kind/name or kind/namespace/name")
        return value

    @field_validator("reason", "owner")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class WaiverFile(_Strict):
    waivers: list[WaiverEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Waiver:
    entry: WaiverEntry
    file: str  # as shown in reports: relative to the config's directory
    line: int | None

    def matches(self, f: Finding) -> bool:
        """Same policy, resource, item and environment. A finding whose check errored is
        never covered: what was not evaluated cannot be accepted."""
        e, r = self.entry, f.resource
        if f.policy != e.policy or f.status == "error" or not self.covers(f.environment):
            return False
        if e.item is not None and not _like(f.item or "", e.item):
            return False
        short = f"{r.kind}/{r.name}"
        full = r.ident if r.namespace else None
        if e.resource in (short, full):  # as printed, also names holding / or [
            return True
        # A glob's shape says what it names: kind/name, or kind/namespace/name (so
        # Kind/team-* never matches a whole namespace team-data).
        if e.resource.count("/") == 2 and full is not None:
            return fnmatch.fnmatchcase(full, e.resource)
        return fnmatch.fnmatchcase(short, e.resource)  # cluster-scoped: the name may hold /

    def covers(self, environment: str) -> bool:
        return any(_like(environment, pattern) for pattern in self.entry.environments)


def _like(value: str, pattern: str) -> bool:
    """Equal, else a glob match: names with ``[`` or ``/`` (drift items, Secrets Manager
    names) can be copied from a report as they are."""
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


def load(path: FsPath, shown: str, known_policies: Iterable[str],
         report_name: str | None = None, environments: Iterable[str] = ()) -> list[Waiver]:
    """The waiver file, validated; any problem is one ``file:line: key: message`` line
    (exit 2) naming it ``shown``: a waiver that silently matched nothing would hide nothing
    and fix nothing. Reports name it ``report_name`` (relative to the config)."""
    doc = read_document(path, shown, "waiver file", ConfigError)
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(f"{where(shown, doc.line)}: a waiver file is a mapping with a "
                          "'waivers' list")
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as exc:
        err = next((e for e in exc.errors() if e["type"] == "extra_forbidden"),
                   exc.errors()[0])
        loc = tuple(err["loc"])
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{where(shown, nearest_line(doc.lines, loc))}: "
                          f"{paths.format(loc)}: {message}") from None
    known = set(known_policies) | {INPUT_ERROR}  # an input not audited offline: waivable
    envs = list(environments)
    out = []
    for i, entry in enumerate(parsed.waivers):
        line = doc.lines.get(("waivers", i)) or nearest_line(doc.lines, ("waivers", i))
        if entry.policy not in known:
            at = nearest_line(doc.lines, ("waivers", i, "policy"))
            raise ConfigError(f"{where(shown, at)}: waivers[{i}].policy: no policy "
                              f"{entry.policy!r} (see `auditor policies list`)")
        for j, pattern in enumerate(entry.environments):
            if envs and not any(_like(e, pattern) for e in envs):
                at = nearest_line(doc.lines, ("waivers", i, "environments", j))
                raise ConfigError(f"{where(shown, at)}: waivers[{i}].environments[{j}]: "
                                  f"no environment {pattern!r} in the config "
                                  f"(defined: {', '.join(envs)})")
        out.append(Waiver(entry, report_name or shown, line))
    return out


def apply(report: Report, waivers: list[Waiver], today: date,
          policy_sides: dict[str, list[str]], environments: Iterable[str] = ()) -> None:
    """Mark the findings waivers cover; report each waiver's state, and the expired and
    stale ones as findings. ``environments``: all the config's; a waiver that covers one
    this run left out (``--env``) may match there, so it is not called stale."""
    left_out = [e for e in environments if e not in report.environments]
    # Where inputs could not be read or the check errored, a waiver that matched nothing
    # may match once they can: not stale, just not decided.
    blind = {env for env, _ in report.unreadable()}
    errored = {(f.policy, f.environment) for f in report.findings if f.status == "error"}
    states: list[WaiverState] = []
    extra: list[Finding] = []
    findings = [f for f in report.findings if f.policy not in (WAIVER_EXPIRED, WAIVER_STALE)]
    by_policy: dict[str, list[Finding]] = {}  # a waiver names one policy: look only there
    for f in findings:
        by_policy.setdefault(f.policy, []).append(f)
    for waiver in waivers:
        expired = waiver.entry.expires < today
        candidates = [f for f in by_policy.get(waiver.entry.policy, []) if waiver.matches(f)]
        # the first active waiver wins; an expired one counts what it would cover
        matched = [f for f in candidates if expired or f.waived is None]
        shadow = None if expired or matched or not candidates else candidates[0].waived
        if not expired:
            for f in matched:
                f.waived = Waived(reason=waiver.entry.reason, owner=waiver.entry.owner,
                                  expires=waiver.entry.expires, file=waiver.file,
                                  line=waiver.line)
        in_scope = [e for e in report.environments if waiver.covers(e)]
        checked = (bool(set(policy_sides.get(waiver.entry.policy, report.sides))
                        & set(report.sides))
                   and not any(waiver.covers(e) for e in left_out)
                   and not any(e in blind or (waiver.entry.policy, e) in errored
                               for e in in_scope))
        state: Literal["active", "expired", "stale"] = (
            "expired" if expired else "stale" if not matched and in_scope and checked
            else "active")
        states.append(_state(waiver, state, len(matched)))
        if state != "active" and in_scope:
            extra.append(_finding(waiver, state, in_scope[0], len(matched), shadow))
    report.findings = findings + extra
    report.waivers = states
    recount(report)


def recount(report: Report) -> None:
    """The summary's waived and failing counts, after findings were waived or added."""
    report.summary.waived = sum(f.waived is not None for f in report.findings)
    report.summary.by_severity = by_severity(report.findings)


def _state(w: Waiver, state: Literal["active", "expired", "stale"], matched: int
           ) -> WaiverState:
    e = w.entry
    return WaiverState(policy=e.policy, resource=e.resource, item=e.item,
                       environments=e.environments, reason=e.reason, owner=e.owner,
                       expires=e.expires, file=w.file, line=w.line, state=state,
                       matched=matched)


def _finding(w: Waiver, state: str, environment: str, matched: int,
             shadow: Waived | None) -> Finding:
    e = w.entry
    label = f"{e.policy} {e.resource}" + (f" [{e.item}]" if e.item else "")
    if state == "expired":
        policy, title = WAIVER_EXPIRED, "Waiver expired"
        message = (f"{where(w.file, w.line)}: the waiver of {label} (owner {e.owner}) expired "
                   f"on {e.expires.isoformat()}; it no longer applies"
                   + (f" to {matched} finding(s)" if matched else ""))
        fix = "Fix the findings it covered, or renew the waiver with a new date and reason."
    elif shadow is not None:
        policy, title = WAIVER_STALE, "Waiver duplicates another"
        message = (f"{where(w.file, w.line)}: the waiver of {label} (owner {e.owner}) covers "
                   f"nothing: every finding it matches is already covered by the waiver at "
                   f"{where(shadow.file, shadow.line)}")
        fix = "Remove one of the two waivers."
    else:
        policy, title = WAIVER_STALE, "Waiver matches nothing"
        message = (f"{where(w.file, w.line)}: the waiver of {label} (owner {e.owner}) "
                   "matches no finding: the finding was fixed, or the pattern is wrong")
        fix = "Remove the waiver, or correct its policy, resource or environments."
    return state_finding(policy, title, environment, label, w.file, w.line, message, fix)


def state_finding(policy: str, title: str, environment: str, label: str, file: str,
                  line: int | None, message: str, fix: str) -> Finding:
    """The low finding of a waiver (or an inline suppression) that expired or is stale,
    at its own file and line."""
    return Finding(
        policy=policy, title=title, severity="low", status="fail",
        environment=environment, side="declared",
        resource=ResourceRef(kind="Waiver", name=label, source=file),
        message=message, location=FindingLocation(file=file, line=line), runbook="",
        remediation=Remediation(text=fix),
        fingerprint=fingerprint(policy, environment, "Waiver", None, label, None),
    )
