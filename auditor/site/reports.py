"""The reports a site is built from: loaded, validated, ordered, and reduced to what the
pages show.

Several reports are a history, ordered by ``generated_at``. What is "current" is decided
per environment: the newest report that covers it (so one report per environment works as
well as one report per nightly run of every environment). A finding keeps its identity
across reports by fingerprint, side and environment; "since" is the oldest report of the
unbroken run of reports in which it had the same status.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path as FsPath

from auditor.errors import InputError
from auditor.models import Finding, PassedCheck, PolicyInfo, Report, severity_rank
from auditor.report_file import expand, read_report

Key = tuple[str, str, str]  # fingerprint, side, environment
# A check id as policy files have it: it becomes a page path, so nothing else is one.
POLICY_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def key(f: Finding) -> Key:
    return (f.fingerprint, f.side, f.environment)


@dataclass(frozen=True)
class Since:
    at: datetime  # generated_at of the oldest report of the run
    reports: int  # how many consecutive reports
    from_first: bool  # the run reaches back to the oldest report given: "at least since"


@dataclass
class SiteData:
    reports: list[Report] = field(default_factory=list)  # oldest first
    findings: list[Finding] = field(default_factory=list)  # current, every environment
    passed: list[PassedCheck] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    taken_at: dict[str, datetime] = field(default_factory=dict)  # environment -> report time
    policies: dict[str, PolicyInfo] = field(default_factory=dict)
    since: dict[Key, Since] = field(default_factory=dict)
    _indexed: _Index | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def has_report(self) -> bool:
        return bool(self.reports)

    def history_of(self, environment: str) -> list[Report]:
        return [r for r in self.reports if environment in r.environments]

    def has_result(self, policy_id: str, environment: str) -> bool:
        """Whether the current report of the environment has a result (a pass or a
        finding) of the check: one without any was not checked in that report."""
        return (policy_id, environment) in self._index().results

    def findings_in(self, environment: str) -> list[Finding]:
        return self._index().findings.get(environment, [])

    def passed_in(self, environment: str) -> int:
        return self._index().passed[environment]

    def _index(self) -> _Index:
        # Built once (site_data builds it when the lists are final; again if they change
        # length): a fleet's site asks per check and environment, and 1,000 environments
        # have 40,000 results.
        size = (len(self.findings), len(self.passed))
        if self._indexed is None or self._indexed.size != size:
            findings: dict[str, list[Finding]] = {}
            for f in self.findings:
                findings.setdefault(f.environment, []).append(f)
            self._indexed = _Index(
                size, {(p.policy, p.environment) for p in self.passed}
                | {(f.policy, f.environment) for f in self.findings},
                findings, Counter(p.environment for p in self.passed))
        return self._indexed


@dataclass(frozen=True)
class _Index:
    size: tuple[int, int]
    results: set[tuple[str, str]]  # (policy, environment) with a pass or a finding
    findings: dict[str, list[Finding]]  # by environment, in the site's order
    passed: Counter[str]  # passes by environment


def load(paths: Sequence[str | FsPath], warn: Callable[[str], None] = _stderr
         ) -> list[Report]:
    """Each file validated by the report model; oldest first. A directory stands for every
    ``*.json`` report under it (a fleet's or a history's): there an unreadable one (a run
    killed while writing it, by an older auditor) is skipped with a warning, so one bad night
    does not stop the site; a file named on its own that is bad is exit 2, named."""
    reports = []
    for given in map(FsPath, paths):
        if not given.is_dir():
            reports.append(read_report(given))
            continue
        for path in expand([given]):
            try:
                reports.append(read_report(path))
            except InputError as exc:
                warn(f"warning: skipped {exc.message}")
    return sorted(reports, key=lambda r: r.generated_at)  # stable for equal times


def site_data(reports: list[Report], pack: Sequence[PolicyInfo]) -> SiteData:
    """The current state of every environment and the history behind each finding."""
    data = SiteData(reports=reports, policies={p.id: p for p in pack})
    envs = sorted({e for r in reports for e in r.environments})
    for env in envs:
        newest = data.history_of(env)[-1]
        data.taken_at[env] = newest.generated_at
        data.findings += [f for f in newest.findings if f.environment == env]
        data.passed += [p for p in newest.passed if p.environment == env]
        for info in newest.policies:
            if POLICY_ID.match(info.id):
                data.policies.setdefault(info.id, info)
    data.environments = envs
    data.findings.sort(key=sort_key)
    statuses = {id(r): _statuses(r) for r in reports}
    for f in data.findings:
        data.since[key(f)] = _since(f, data.history_of(f.environment), statuses)
    data._index()  # the lists are final (sorted): what the pages ask is looked up here
    return data


def _statuses(report: Report) -> dict[Key, set[str]]:
    out: dict[Key, set[str]] = {}
    for f in report.findings:
        out.setdefault(key(f), set()).add(f.status)
    return out


def state(f: Finding) -> str:
    """What a finding counts as on the site: its status, or waived."""
    return "waived" if f.waived else f.status


def sort_key(f: Finding) -> tuple[int, int, str, str, str, str]:
    """Failures first, most severe first, then environment, policy and resource."""
    order = {"fail": 0, "error": 1, "unknown": 2}
    return (order.get(f.status, 3), -severity_rank(f.severity), f.environment, f.policy,
            f.resource.name, f.item or "")


def _since(finding: Finding, history: list[Report],
           statuses: dict[int, dict[Key, set[str]]]) -> Since:
    wanted = key(finding)
    run: list[Report] = []
    for report in reversed(history):
        if finding.status not in statuses[id(report)].get(wanted, ()):
            break
        run.append(report)
    oldest = run[-1] if run else history[-1]
    return Since(oldest.generated_at, max(len(run), 1), oldest is history[0])


def failing(report: Report, environment: str) -> dict[Key, Finding]:
    return {key(f): f for f in report.findings
            if f.status == "fail" and f.environment == environment}


def checked_sides(report: Report, environment: str) -> set[str]:
    """The sides a report checked in an environment, inferred from its results (a scan
    report has only the declared side; an audit report also live and drift)."""
    return {f.side for f in report.findings if f.environment == environment} | {
        p.side for p in report.passed if p.environment == environment}


def changes(data: SiteData) -> tuple[list[Finding], list[Finding]]:
    """Failing findings new since each environment's previous report, and those fixed
    (failing then, absent now from a report that checked that side of that environment:
    a side the newer report did not check fixed nothing)."""
    new: list[Finding] = []
    fixed: list[Finding] = []
    for env in data.environments:
        history = data.history_of(env)
        if len(history) < 2:
            continue
        before, now = failing(history[-2], env), failing(history[-1], env)
        present = {key(f) for f in history[-1].findings}
        sides = checked_sides(history[-1], env)
        new += [f for k, f in now.items() if k not in before]
        fixed += [f for k, f in before.items() if k not in present and f.side in sides]
    return sorted(new, key=sort_key), sorted(fixed, key=sort_key)
