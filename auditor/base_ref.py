"""``--base-ref``: the same run on the config as it was where this branch left REF.

The base is checked out by :mod:`auditor.gitbase`. Chart dependencies (``charts/``) are
usually not committed but fetched by ``helm dependency build``: when the base declares the
same dependencies, it is rendered with this checkout's (else it could not render and
every finding would look new); when the change bumps them, it is not, and the note says so.
A Terraform plan is made in CI, not committed: where the base has no plan file, the base
reads that directory from its HCL instead (else it could not read it, and every finding
would look new), and the note says so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

from auditor import gitbase
from auditor.config import Config, load
from auditor.errors import AuditorError
from auditor.models import Report, Summary
from auditor.policies import Policy
from auditor.yamlfile import KUBERNETES, YamlError, load_first

Run = Callable[[Config, list[Policy], Any], Report]


def report_at_ref(config: Config, pack: list[Policy], run: Run, run_options: Any,
                  ref: str) -> tuple[Report, str, str]:
    """(report of the base, label, note)."""
    # Not resolved: a symlinked auditor.yaml is taken at the path the user gave.
    config_file = config.base_dir / FsPath(config.file).name
    top = gitbase.toplevel(config.base_dir).resolve()
    with gitbase.checkout(config.base_dir, ref) as base:
        at = f"the merge base of {ref}" if base.merge_base else ref
        label = f"{ref} (merge base {base.sha[:12]})" if base.merge_base else \
            f"{ref} ({base.sha[:12]})"
        rel = config_file.relative_to(top)
        base_file = base.root / rel
        notes = copy_chart_dependencies(config, top, base.root)
        if not base_file.is_file():
            return empty(config), label, f"{rel} does not exist at {at}: every finding is new"
        try:
            base_config = load(str(base_file))
            from auditor.pipeline import validate_params

            validate_params(base_config, pack)
        except AuditorError as exc:
            shown = exc.message.replace(str(base.root) + os.sep, "")
            return empty(config), label, f"the config at {at} is invalid ({shown}): " \
                "every finding is new"
        wanted = [e for e in (run_options.environments or config.environments)
                  if e in base_config.environments]
        if not wanted:
            return empty(config), label, f"none of these environments exist at {at}"
        notes += plans_from_hcl(base_config, wanted, at)
        # A worktree that is gone after this run: its environments' results are not kept.
        report = run(base_config, pack, replace(run_options, environments=wanted,
                                                keep_results=False))
        return report, label, "; ".join(notes)


def plans_from_hcl(config: Config, environments: list[str], at: str) -> list[str]:
    """For each of ``environments`` whose plan file ``config`` (the base's) lacks, read the
    plan's directory from its HCL instead; a note for each."""
    notes = []
    for name in environments:
        tf = config.environments[name].terraform
        if tf is None or tf.plan is None or os.path.lexists(config.path(tf.plan)):
            continue
        notes.append(f"{tf.plan} does not exist at {at}: the base of {name} read "
                     f"{tf.plan_dir()} from its HCL, so what the HCL cannot evaluate offline "
                     "counts as new")
        tf.plan = None  # this config is the base run's own: dirs already name the directory
    return notes


def copy_chart_dependencies(config: Config, top: FsPath, tree: FsPath) -> list[str]:
    """Copy each chart's untracked ``charts/`` entries into the base worktree where the
    base's Chart.yaml declares the same dependencies; notes for the charts where not."""
    notes = []
    for env in config.environments.values():
        if env.helm is None:
            continue
        chart = config.path(env.helm.chart)
        try:
            target = tree / (chart / "charts").relative_to(top)
        except ValueError:  # a chart outside the repository: the base reads it as is
            continue
        source = chart / "charts"
        if not source.is_dir() or not target.parent.is_dir():
            continue
        if _dependencies(chart) != _dependencies(target.parent):
            notes.append(f"{env.helm.chart}: the change alters the chart's dependencies, so "
                         "the base is rendered without this checkout's charts/")
            continue
        try:
            target.mkdir(exist_ok=True)
            for entry in source.iterdir():  # only what the base lacks: never overwrite
                dest = target / entry.name
                if os.path.lexists(dest):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, dest, symlinks=True)
                else:
                    shutil.copy2(entry, dest, follow_symlinks=False)
        except OSError as exc:
            notes.append(f"{env.helm.chart}: could not copy charts/ to the base "
                         f"({exc.strerror or exc})")
    return list(dict.fromkeys(notes))


def _dependencies(chart: FsPath) -> Any:
    """The dependencies Chart.yaml declares (and Chart.lock pins), as data."""
    out: list[Any] = []
    for name in ("Chart.yaml", "Chart.lock"):
        try:
            data = load_first((chart / name).read_text(encoding="utf-8"),
                              dialect=KUBERNETES).data
        except (OSError, UnicodeDecodeError, YamlError):
            out.append(None)
            continue
        out.append(data.get("dependencies") if isinstance(data, dict) else None)
    return out


def empty(config: Config) -> Report:
    return Report(generated_at=datetime.now(UTC), tool={"name": "runbook-auditor"},
                  service=config.service, environments=[],
                  summary=Summary(by_status={}, by_severity={}, passes={}), findings=[])
