"""Results and input problems -> the :class:`auditor.models.Report`, and its verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import PurePath

from auditor import __version__, paths, runbook, runbook_sections
from auditor.config import Config
from auditor.errors import ExitCode
from auditor.models import (
    INPUT_ERROR,
    SEVERITIES,
    STATUSES,
    Evaluated,
    Finding,
    FindingLocation,
    Gate,
    Inventory,
    LiveState,
    LiveUnavailable,
    NotApplicable,
    PassedCheck,
    PolicyInfo,
    Problem,
    Provenance,
    RelatedLocation,
    Remediation,
    Report,
    ResourceRef,
    Result,
    Side,
    Summary,
    fingerprint,
    severity_rank,
)
from auditor.policies import Policy


def build(config: Config, policies: list[Policy], inventories: list[Inventory],
          results: list[Result], sides: tuple[Side, ...] = ("declared",),
          not_applicable: Sequence[NotApplicable] = ()) -> Report:
    return build_from(config, policies, [Evaluated(results, inventories, [*not_applicable])],
                      sides)


def build_from(config: Config, policies: list[Policy], evaluated: Iterable[Evaluated],
               sides: tuple[Side, ...] = ("declared",)) -> Report:
    """The report of environments given one at a time: each one's results become findings
    and are let go before the next is read (a fleet's results are never all held)."""
    by_id = {p.id: p for p in policies}
    sections = runbook.anchors(config, policies)  # the team's runbook section of each
    commands = _Commands(config)
    findings: list[Finding] = []
    passed: list[PassedCheck] = []
    unmet: list[NotApplicable] = []
    environments: set[str] = set()
    live: list[LiveState] = []
    status: Counter[str] = Counter()
    passes: Counter[str] = Counter()
    for env in evaluated:
        for r in env.results:
            status[r.status] += 1
            if r.status == "pass":
                passes[r.policy_id] += 1
                passed.append(PassedCheck(policy=r.policy_id, environment=r.environment,
                                          side=r.side, resource=_ref(r), item=r.item,
                                          fingerprint=r.fingerprint))
            else:
                findings.append(_finding(config, by_id[r.policy_id], r,
                                         sections[r.policy_id], commands))
        for inv in env.inventories:
            environments.add(inv.environment)
            if inv.side == "live":
                live.append(_live_state(inv))
            # A file the config lists twice (the same values file) has one problem, once.
            problems = list(dict.fromkeys(inv.problems))
            status.update(p.status for p in problems)
            findings += [_problem(config, inv, p) for p in problems]
        unmet += env.not_applicable
    findings.sort(key=lambda f: (f.environment, -severity_rank(f.severity), f.policy,
                                 f.resource.kind, f.resource.name, f.item or ""))
    summary = Summary(
        by_status={s: status.get(s, 0) for s in STATUSES},
        by_severity=by_severity(findings),
        passes=dict(sorted(passes.items())),
    )
    return Report(
        sides=list(sides),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        tool={"name": "runbook-auditor", "version": __version__},
        service=config.service,
        environments=sorted(environments),
        summary=summary, findings=findings, passed=passed,
        not_applicable=sorted(unmet, key=lambda n: (n.environment, n.policy)),
        source_root=_source_root(config),
        config_file=PurePath(config.file).name,
        live=sorted(live, key=lambda state: state.environment),
        policies=[PolicyInfo(id=p.id, title=p.title, severity=p.severity,
                             runbook=sections[p.id], runbook_section=p.runbook.section,
                             description=p.description.strip()) for p in policies],
    )


def _live_state(inv: Inventory) -> LiveState:
    causes: dict[str, list[str]] = {}
    for kind, reason in inv.unavailable.items():
        causes.setdefault(reason, []).append(kind)
    return LiveState(environment=inv.environment,
                     reads=[p for p in inv.names.get("live_platforms", "").split(",") if p],
                     unavailable=[LiveUnavailable(kinds=kinds, reason=reason)
                                  for reason, kinds in causes.items()])


def by_severity(findings: list[Finding]) -> dict[str, int]:
    """Failing findings per severity, waived ones not counted."""
    return {s: sum(1 for f in findings if f.status == "fail" and f.severity == s
                   and f.waived is None) for s in SEVERITIES}


def _source_root(config: Config) -> str:
    """Where the config directory sits in its git work tree (found without running git)."""
    base = config.base_dir.resolve()
    for parent in (base, *base.parents):
        if (parent / ".git").exists():
            rel = base.relative_to(parent).as_posix()
            return "" if rel == "." else rel
    return ""


class _Commands:
    """The runbook's sections and their commands, read once, when a finding needs them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.found: list[runbook_sections.Section] | None = None

    def traced(self, provenance: Provenance | None, section: str,
               field: str = "") -> Provenance | None:
        """``provenance`` with the runbook section that shows its command."""
        if provenance is None or not provenance.via:
            return provenance
        if self.found is None:
            self.found = runbook_sections.sections(self.config)
        hit = runbook_sections.holding(self.found, provenance.via, field, prefer=section)
        return provenance if hit is None else provenance.model_copy(
            update={"runbook": hit.ref, "runbook_title": hit.label})


def _finding(config: Config, policy: Policy, r: Result, section: str,
             commands: _Commands | None = None) -> Finding:
    provenance = commands.traced(r.provenance, section, r.item or "") if commands \
        else r.provenance
    return Finding(
        policy=policy.id, title=policy.title, severity=policy.severity,
        status=r.status,  # type: ignore[arg-type]
        environment=r.environment, side=r.side,
        resource=_ref(r),
        item=r.item, message=r.message + _changed(provenance),
        location=FindingLocation(
            file=r.location.file, line=r.location.line, key=r.location.key,
            related=[RelatedLocation(file=x.file, line=x.line) for x in r.location.related],
        ) if r.location else None,
        runbook=section, runbook_url=config.site_url + section,
        remediation=Remediation(text=r.remediation_text, commands=r.commands, checks=r.checks,
                                value=r.fix_value, field=None if r.fix_value is None
                                else paths.format(r.path)),
        fingerprint=r.fingerprint, details=r.details,
        provenance=provenance,
    )


def _changed(provenance: Provenance | None) -> str:
    """What the message adds about who changed it: the runbook section of the command the
    check named (it does not know the runbook), or why nobody is named."""
    if provenance is None:
        return ""
    if provenance.actor is None:
        return f"; who changed it is not known: {provenance.note}" if provenance.note else ""
    return f" (runbook: {provenance.runbook_title})" if provenance.runbook_title else ""


def _ref(r: Result) -> ResourceRef:
    return ResourceRef(kind=r.kind, name=r.name, namespace=r.namespace, source=r.source,
                       address=r.address)


def _problem(config: Config, inv: Inventory, problem: Problem) -> Finding:
    loc = problem.location
    unread = problem.status == "unknown"  # fine as written, just not read offline
    return Finding(
        policy=INPUT_ERROR,
        title="Input not audited offline" if unread else "Input could not be read",
        severity="high", status=problem.status,
        environment=inv.environment, side=inv.side,
        resource=ResourceRef(kind="File", name=loc.file, source=problem.source),
        message=f"{loc}: {problem.message}",
        location=FindingLocation(file=loc.file, line=loc.line),
        runbook="", remediation=Remediation(
            text="Audit what it declares where it is defined (or vendor it locally); no check "
            "sees it on this environment's " + problem.source if unread else
            "Fix the file; no check that needs it could run on this environment's "
            + problem.source),
        # Several inputs of one file may be unread (one per remote module): tell them apart.
        fingerprint=fingerprint(INPUT_ERROR, inv.environment, "File", None, loc.file,
                                problem.message if unread else None),
    )


def gate(report: Report, fail_on: str) -> ExitCode:
    """Decide the exit code and record it in the report, so formats can say the same."""
    code = exit_code(report, fail_on)
    status = {ExitCode.OK: "passed", ExitCode.FINDINGS: "failed"}.get(code, "incomplete")
    report.gate = Gate(fail_on=fail_on, exit_code=int(code),  # type: ignore[arg-type]
                       passed=code == ExitCode.OK, status=status,  # type: ignore[arg-type]
                       incomplete=bool(errored(report)),
                       scope="new" if report.comparison is not None else "all")
    return code


def gating(report: Report) -> list[Finding]:
    """The findings that can fail the gate: not waived, and new when there is a base."""
    with_base = report.comparison is not None
    return [f for f in report.findings
            if f.waived is None and not (with_base and f.baseline != "new")]


def errored(report: Report) -> list[Finding]:
    """What this run could not evaluate, new or not: a gate never passes over it (a
    baseline narrows what *fails*, not what was checked)."""
    return [f for f in report.findings if f.status == "error" and f.waived is None]


def exit_code(report: Report, fail_on: str) -> ExitCode:
    """1 if a finding that gates (see :func:`gating`) failed at or above ``fail_on``;
    else 3 if anything errored; else 0."""
    if fail_on != "never":
        threshold = severity_rank(fail_on)
        if any(f.status == "fail" and severity_rank(f.severity) >= threshold
               for f in gating(report)):
            return ExitCode.FINDINGS
    if errored(report):
        return ExitCode.INCOMPLETE
    return ExitCode.OK
