"""The resource model every source produces and the report every format reads.

Inside the pipeline: plain dataclasses (:class:`Resource`, :class:`Inventory`,
:class:`Result`). At the edge: the pydantic :class:`Report`, whose JSON Schema is published
in ``schemas/report.schema.json`` and must stay backward compatible (add optional fields,
never rename or remove).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.paths import Path

Side = Literal["declared", "live", "drift"]
Status = Literal["pass", "fail", "error", "unknown"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
STATUSES: tuple[Status, ...] = ("fail", "error", "unknown", "pass")
REPORT_VERSION = "1"
# Not a catalog check: the result of an input file that could not be read or parsed.
INPUT_ERROR = "input-error"
# Not catalog checks either: a waiver that expired, or that matches no finding.
WAIVER_EXPIRED = "waiver-expired"
WAIVER_STALE = "waiver-stale"
META_POLICIES = (INPUT_ERROR, WAIVER_EXPIRED, WAIVER_STALE)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    key: str | None = None  # the values key that set it (Helm values), for messages
    # Written as a literal on a chart template's line: no value of the chart changes it.
    literal: bool = False
    # Where else it matters: the module line that uses a variable this location sets.
    related: tuple[Location, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Resource:
    """One object of one side, normalised: Kubernetes objects as API JSON, AWS resources
    in a small snake_case shape keyed by what Terraform calls them."""

    kind: str
    name: str
    body: dict[str, Any]
    source: str
    namespace: str | None = None
    location: Location | None = None
    field_locations: dict[Path, Location] = field(default_factory=dict)
    address: str | None = None  # Terraform address or Helm template, for messages
    ignore_changes: tuple[Path, ...] = ()  # Terraform lifecycle.ignore_changes; path () is all

    def locate(self, path: Path) -> Location | None:
        """Where the value at ``path`` (or its nearest located parent) was declared."""
        for end in range(len(path), -1, -1):
            loc = self.field_locations.get(path[:end])
            if loc is not None:
                return loc
        return self.location

    @property
    def ident(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else (
            f"{self.kind}/{self.name}"
        )


@dataclass
class Inventory:
    """Everything one side of one environment declares (or runs)."""

    environment: str
    side: Side
    resources: list[Resource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # fills remediation commands
    # Live side: kinds that could not be read (API error, forbidden, no credentials) and
    # why. A policy that needs one of them ends in `error`, never in a pass.
    unavailable: dict[str, str] = field(default_factory=dict)
    # Drift side: the declared inventory the live resources are compared with.
    baseline: Inventory | None = None

    def of_kind(self, *kinds: str) -> list[Resource]:
        if not any("." in k for k in kinds):
            return [r for r in self.resources if r.kind in kinds]
        from auditor.kinds import matches  # a custom resource named Kind.group

        return [r for r in self.resources if any(matches(k, r.kind, r.body) for k in kinds)]


@dataclass(frozen=True)
class Problem:
    """An input that could not be read: it becomes an ``error`` result, the audit goes on.
    ``unknown`` marks an input that is fine but not read offline (e.g. a remote Terraform
    module): it is reported, and does not make the audit incomplete."""

    source: str
    message: str
    location: Location
    status: Literal["error", "unknown"] = "error"


@dataclass
class Result:
    """The outcome of one policy on one resource (or item of it) on one side."""

    policy_id: str
    status: Status
    environment: str
    side: Side
    kind: str
    name: str
    source: str
    message: str
    namespace: str | None = None
    item: str | None = None  # e.g. the container a per-container check looked at
    location: Location | None = None
    remediation_text: str = ""
    fix_value: str | int | float | bool | None = None  # the value that resolves it (at path)
    commands: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    address: str | None = None  # the Terraform address / Helm template of the resource
    path: Path = ()  # the field of the resource the finding points at (its location's key)
    provenance: Provenance | None = None  # drift: who last changed it live

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.policy_id, self.environment, self.kind, self.namespace,
                           self.name, self.item)


@dataclass
class Evaluated:
    """What one environment leaves for the report: its results, and its inventories with
    their resources dropped (the report needs their problems only), so a fleet's
    inventories are never all held at once."""

    results: list[Result]
    inventories: list[Inventory]
    not_applicable: list[NotApplicable]


def fingerprint(policy: str, environment: str, kind: str, namespace: str | None, name: str,
                item: str | None) -> str:
    """Stable across runs, line moves and sides: the same defect on the values file and
    on the live object shares one identity (waivers and baselines rely on it)."""
    key = "\x1f".join([policy, environment, kind, namespace or "", name, item or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


# ---- the report: the public JSON contract -------------------------------------------------

class _Model(BaseModel):
    # Every field is always written, so the published schema marks them all required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class ResourceRef(_Model):
    kind: str
    name: str
    namespace: str | None = None
    source: str = Field(description="Where the resource was read: chart, Terraform dir, API.")
    address: str | None = Field(
        default=None, description="Terraform address or Helm template that declares it.")

    @property
    def ident(self) -> str:
        """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), as reports show it."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else (
            f"{self.kind}/{self.name}")


class RelatedLocation(_Model):
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class FindingLocation(_Model):
    file: str = Field(description="Path relative to the config file's directory.")
    line: int | None = None
    key: str | None = Field(default=None, description="The values key that set the value, "
                            "when a Helm values file (or --set) did, e.g. resources.limits.memory.")
    related: list[RelatedLocation] = Field(
        default_factory=list, description="Where else it matters: for a value a module "
        "caller passes (the location), the module's line that uses it.")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def described(self) -> str:
        """``file:line (values key)``: where to change it, and which key."""
        used = f" (used at {', '.join(map(str, self.related))})" if self.related else ""
        return str(self) + (f" ({self.key})" if self.key else "") + used


class Suggestion(_Model):
    """The line that resolves a finding, as `auditor fix` would write it."""

    file: str = Field(description="Relative to the config's directory.")
    line: int
    text: str = Field(description="The whole new line, without its line break.")


class Remediation(_Model):
    text: str
    commands: list[str] = Field(default_factory=list, description="Commands that fix it, "
                                "filled with the real names; the first is the usual fix.")
    checks: list[str] = Field(default_factory=list, description="Commands that only look: "
                              "what to see before or after the fix.")
    value: str | int | float | bool | None = Field(
        default=None, description="When the remedy is one value: the value that resolves "
        "the finding, to be written at its location (`auditor fix`).")
    field: str | None = Field(default=None, description="With `value`: the resource's field "
                              "it is the value of (path syntax).")
    suggestion: Suggestion | None = Field(
        default=None, description="With `value`: the line that resolves it (what `auditor "
        "fix` writes), for a pull request's suggested change.")


class Waived(_Model):
    """The waiver that covers a finding: the finding is shown, and does not gate."""

    reason: str
    owner: str = Field(description="The waiver's owner; 'inline comment' for a suppression "
                       "written beside the code.")
    expires: date | None = Field(description="null: an inline suppression without `until`.")
    file: str = Field(description="The waiver file (or the file holding the inline "
                      "suppression), relative to the config's directory.")
    line: int | None = None
    inline: bool = Field(default=False, description="An inline suppression (a comment "
                         "beside the code), not an entry of the waiver file.")

    def summary(self) -> str:
        """One line: until when, by whom (or where), why."""
        by = f"inline at {self.file}:{self.line}" if self.inline else f"by {self.owner}"
        until = f" until {self.expires.isoformat()}" if self.expires else ""
        return f"waived{until} {by}: {' '.join(self.reason.split())}"


def _utc(moment: datetime) -> str:
    """``2026-12-05 03:12 UTC`` (a time a hostile report puts out of range: as written)."""
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError):
        return moment.isoformat()


class Provenance(_Model):
    """Drift: who last changed the drifted field live, when, and how, as the platform
    recorded it (Kubernetes field managers, CloudTrail). Nothing else of the record is
    kept (no request parameters)."""

    source: Literal["managedFields", "cloudtrail"] = Field(
        description="Where it was read: the live object's managedFields, or CloudTrail.")
    actor: str | None = Field(default=None, description="As recorded: a field manager "
                              "(kubectl-patch, helm, kube-controller-manager) or the "
                              "caller's ARN or role session name.")
    at: datetime | None = Field(default=None, description="When it last wrote (UTC).")
    via: str | None = Field(default=None, description="The command or API call it looks "
                            "like: kubectl patch hpa, helm upgrade, ModifyDBParameterGroup.")
    call: str | None = Field(default=None, description="CloudTrail: the API call recorded "
                             "(ModifyDBParameterGroup).")
    operation: Literal["Update", "Apply"] | None = Field(
        default=None, description="managedFields: the manager's operation (Apply: "
        "server-side apply).")
    by: Literal["person", "helm", "controller", "unknown"] = Field(
        default="unknown", description="person: a command run by hand (kubectl, aws); "
        "helm: a Helm release (an upgrade with other values than Git's); controller: the "
        "cluster's own controllers (the HPA setting replicas).")
    runbook: str | None = Field(default=None, description="The runbook section (page/#anchor) "
                                "whose commands include `via`, when one does.")
    runbook_title: str | None = Field(default=None, description="That section's title.")
    note: str = Field(default="", description="Why nothing more is known (CloudTrail not "
                      "permitted, no event found, the field was removed), if so.")

    def summary(self) -> str:
        """One line: who, when, what it looks like (``field manager kubectl-patch owns it,
        last write 2026-12-05 03:12 UTC: looks like `kubectl patch hpa```). A manager's
        time is its last write to the object, which Kubernetes records, not to the field."""
        if self.actor is None:
            return self.note
        if self.source == "managedFields":
            who = f"field manager {self.actor} owns it"
            when = f", last write {_utc(self.at)}" if self.at is not None else ""
        else:
            who = f"{self.actor} called {self.call or 'the API'}"
            when = f" at {_utc(self.at)}" if self.at is not None else ""
        like = f": looks like `{self.via}`" if self.via else ""
        return f"{who}{when}{like}" + (f" ({self.note})" if self.note else "")


class Finding(_Model):
    policy: str = Field(description="Catalog id, or 'input-error' for an unreadable input.")
    title: str
    severity: Severity
    status: Literal["fail", "error", "unknown"]
    environment: str
    side: Side
    resource: ResourceRef
    item: str | None = Field(default=None, description="Part of the resource, e.g. a container.")
    message: str
    location: FindingLocation | None = None
    runbook: str = Field(description="Runbook section: site path and anchor.")
    runbook_url: str | None = None
    remediation: Remediation
    fingerprint: str = Field(description="policy + environment + resource identity.")
    details: dict[str, Any] = Field(default_factory=dict)
    waived: Waived | None = Field(default=None, description="Set when a waiver covers it: "
                                  "reported, but not counted by the gate.")
    baseline: Literal["new", "existing"] | None = Field(
        default=None, description="With a baseline: whether the base had it too (same "
        "fingerprint, side and status). Only new failing findings fail the gate.")
    provenance: Provenance | None = Field(
        default=None, description="Drift findings: who last changed the field live, when "
        "and how, where the platform recorded it.")


class PassedCheck(_Model):
    """A passing result, so CI test reports and the site can list what was checked."""

    policy: str
    environment: str
    side: Side
    resource: ResourceRef
    item: str | None = None
    fingerprint: str


class Gate(_Model):
    """How this report gated: the threshold used and the exit code it produced."""

    fail_on: Literal["low", "medium", "high", "critical", "never"]
    # The codes a finished audit can end with (2, "could not start", leaves no report):
    # `report --exit-code` passes it on, so nothing else may come from a file.
    exit_code: Literal[0, 1, 3]
    passed: bool = Field(description="True only for exit code 0: complete and nothing failed "
                         "at or above fail_on.")
    status: Literal["passed", "failed", "incomplete"] = "passed"
    incomplete: bool = Field(default=False, description="Some input or check ended in "
                             "error, even when failing findings decided the exit code.")
    scope: Literal["all", "new"] = Field(
        default="all", description="'new' when a baseline was given: only new failing "
        "findings fail the gate (any error still makes it incomplete). Waived findings never "
        "count.")


class PolicyInfo(_Model):
    id: str
    title: str
    severity: Severity
    runbook: str
    runbook_section: str
    description: str


class NotApplicable(_Model):
    """A policy that did not apply to an environment, and the key that turns it on."""

    policy: str
    environment: str
    reason: str


class Comparison(_Model):
    """The report against a base (a saved report, or the same config at a git ref)."""

    base: str = Field(description="What was compared with: a report file or 'REF (sha)'.")
    new: int
    existing: int
    fixed: int
    fixed_findings: list[Finding] = Field(
        default_factory=list, description="Base findings gone from this report (on the "
        "sides and environments this report checked).")
    note: str = Field(default="", description="Why the base is empty or partial, if it is.")


class WaiverState(_Model):
    """One waiver of the waiver file and what it did in this run."""

    policy: str
    resource: str = Field(description="kind/name or kind/namespace/name; globs allowed.")
    item: str | None = None
    environments: list[str]
    reason: str
    owner: str
    expires: date | None = Field(description="null: an inline suppression without `until`.")
    file: str
    line: int | None = None
    state: Literal["active", "expired", "stale"]
    matched: int = Field(description="Findings it covers (expired: would cover).")


class SelectionInfo(_Model):
    """Which policies this run evaluated, when it did not evaluate them all."""

    policy: list[str] = Field(description="--policy (or policies.policy): ids or globs.")
    skip_policy: list[str] = Field(description="--skip-policy (or policies.skip_policy).")
    min_severity: Severity | None = Field(description="--min-severity (or "
                                          "policies.min_severity).")
    selected: list[str] = Field(description="The policies evaluated.")
    skipped: list[str] = Field(description="The policies left out: no finding of theirs is "
                               "in this report, none is compared with a base.")
    section: str | None = Field(default=None, description="audit --section: the runbook "
                                "section (page/#anchor) whose policies these are.")


class LiveUnavailable(_Model):
    kinds: list[str] = Field(description="The kinds that could not be read for this reason.")
    reason: str = Field(description="Why, with what would fix it (credentials, kubeconfig).")


class LiveState(_Model):
    """``audit``: which live sources an environment reads, and what could not be read."""

    environment: str
    reads: list[str] = Field(description="The live sources its config names: kubernetes, "
                             "aws, tls.")
    unavailable: list[LiveUnavailable] = Field(
        default_factory=list, description="Kinds that could not be read, once per cause: "
        "each check that needed one is an error finding of its own.")


class Summary(_Model):
    by_status: dict[str, int]
    by_severity: dict[str, int] = Field(description="Failing findings per severity "
                                        "(waived ones not counted).")
    waived: int = Field(default=0, description="Findings covered by a waiver.")
    passes: dict[str, int] = Field(description="Passing results per policy.")


class Report(_Model):
    version: str = REPORT_VERSION
    generated_at: datetime
    tool: dict[str, str]
    service: str
    environments: list[str]
    summary: Summary
    findings: list[Finding]
    policies: list[PolicyInfo] = Field(default_factory=list)
    not_applicable: list[NotApplicable] = Field(
        default_factory=list, description="Policies that need a fact of the service nobody "
        "gave (neither a pass nor a fail), per environment, with the key that turns them on.")
    passed: list[PassedCheck] = Field(default_factory=list)
    gate: Gate | None = Field(default=None, description="Set when the CLI gates on it.")
    source_root: str = Field(
        default="", description="The config file's directory relative to the root of its git work "
        "tree ('' at the root or outside git); finding files are relative to that directory.")
    config_file: str = Field(
        default="", description="The config file's name in that directory: where a finding "
        "with no file of its own (a live one with no declared twin) is anchored in SARIF, "
        "since code scanning refuses a result without a file.")
    sides: list[Side] = Field(default_factory=list, description="The sides this run checked "
                              "(scan: declared; audit: declared, live, drift).")
    comparison: Comparison | None = Field(default=None, description="Set with a baseline.")
    selection: SelectionInfo | None = Field(default=None, description="Set when only some "
                                            "policies were evaluated.")
    live: list[LiveState] = Field(default_factory=list, description="audit: the live "
                                  "sources of each environment, and what they could not read.")
    waivers: list[WaiverState] = Field(default_factory=list)
    source_url: str = Field(default="", description="Web address of the files at this revision "
                            "(e.g. GitHub's .../blob/SHA/), for file:line links.")

    def unreadable(self) -> set[tuple[str, str]]:
        """(environment, side) pairs where some input could not be read (an error, not an
        input that is merely not audited offline)."""
        return {(f.environment, f.side) for f in self.findings
                if f.policy == INPUT_ERROR and f.status == "error"
                and f.resource.kind != "InlineSuppression"}  # read; only a comment was not
