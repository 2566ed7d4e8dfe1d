"""After the checks, before the gate: waivers, the comparison with a base, source links.

The order matters: waivers first (a waived finding is waived whether new or not), then
the base, then :func:`auditor.report.gate` decides over what is left.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

from auditor import base_ref, baseline, project, suppressions, waivers
from auditor.base_ref import Run
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.models import Report
from auditor.policies import Policy
from auditor.report_file import expand, read_report


@dataclass(frozen=True)
class OutcomeOptions:
    waivers: str | None = None  # --waivers (relative to the working directory)
    baseline: tuple[str, ...] = ()  # --baseline REPORT.json|DIR (repeatable)
    base_ref: str | None = None  # --base-ref REF
    source_url: str | None = None  # --source-url
    now: datetime | None = None  # --now: waivers expire by this moment's date


def finish(report: Report, config: Config, pack: list[Policy], run: Run, run_options: Any,
           options: OutcomeOptions) -> None:
    """``pack``: every policy loaded (waivers may name any); the report's own ``policies``
    are those this run evaluated (see :mod:`auditor.selection`)."""
    apply_waivers(report, config, pack, options.waivers, options.now)
    today = (options.now or datetime.now(UTC)).astimezone(UTC).date()
    suppressions.apply(report, config, {p.id: list(p.sides) for p in pack}, today)
    evaluated = {p.id for p in report.policies}
    chosen = [p for p in pack if p.id in evaluated] if evaluated else pack
    if options.baseline:
        base = baseline.merge([read_report(p) for p in expand(options.baseline)],
                              report.service)
        baseline.compare(report, base, ", ".join(options.baseline))
    elif options.base_ref:
        base, label, note = base_ref.report_at_ref(config, chosen, run, run_options,
                                                   options.base_ref)
        # A PR may rename the service: the fingerprints do not include it.
        baseline.compare(report, base, label, note, check_service=False)
    report.source_url = _source_url(options.source_url)
    if report.comparison is not None:  # the PR gate: each new fixable finding's new line
        from auditor import fixes

        fixes.suggest(config, report, chosen, getattr(run_options, "now", None))


def waiver_path(config: Config, given: str | None) -> tuple[FsPath, str] | None:
    """The waiver file and how errors name it: --waivers (as given), else the config's
    ``waivers``, else ``.auditor-waivers.yaml`` beside the config when there is one."""
    if given:
        path = FsPath(given)
        if not path.is_file():
            raise ConfigError(f"{given}: waiver file not found")
        return path, given
    if config.waivers:
        path = config.path(config.waivers)
        if not path.is_file():
            raise config.error_at(("waivers",), f"waiver file {config.waivers} not found")
    else:
        path = config.path(waivers.DEFAULT_NAME)
        if not path.is_file():
            return None
    return path, str(FsPath(config.file).parent / config.rel(path))


def apply_waivers(report: Report, config: Config, pack: list[Policy],
                  given: str | None, now: datetime | None = None) -> None:
    found = waiver_path(config, given)
    if found is None:
        return
    path, shown = found
    with project.confined(project.root_of(config.base_dir)):
        refused = project.refusal(path)
    if refused and not given:  # --waivers is the operator's choice; the config's is not
        raise ConfigError(f"{shown}: {refused}")
    loaded = waivers.load(path, shown, [p.id for p in pack], config.rel(path),
                          config.environments)
    # A policy left out of this run checked nothing: its waivers are not stale.
    evaluated = {p.id for p in report.policies} or {p.id for p in pack}
    sides: dict[str, list[str]] = {p.id: list(p.sides) if p.id in evaluated else []
                                   for p in pack}
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    waivers.apply(report, loaded, today, sides, config.environments)


def _source_url(given: str | None) -> str:
    """--source-url, else GitHub Actions' own variables: links to the files at this commit."""
    if given is not None:
        return given if not given or given.endswith("/") else given + "/"
    server, repo, sha = (os.environ.get(k, "") for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    return f"{server}/{repo}/blob/{sha}/" if server and repo and sha else ""

