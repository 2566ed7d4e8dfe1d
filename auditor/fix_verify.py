"""Whether an edit of ``auditor fix`` really resolves its findings: the project is scanned
again with the edit, in a copy, and compared with a scan without it.

Matching a value to a key by name and value (Helm attribution) or tracing a variable
(Terraform) says where a value *probably* comes from; rendering the chart and evaluating
the Terraform again says what the edit *does*. An edit is kept only when each of its
findings is gone afterwards and no finding appears that was not there before (a PDB
toggle that renders a budget blocking drains, a values file that no longer parses). The
copy holds what the scan read (recorded, as the result cache records it) and each
chart folder whole (Helm reads it in another process), under the same relative paths, so
``../modules`` and the config's own paths resolve in it as in the project. Nothing of the
project is written.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FsPath

from auditor import inputs, pipeline, project
from auditor.config import Config, named_paths
from auditor.config import load as load_config
from auditor.limits import MAX_INPUT_BYTES
from auditor.models import Finding, Report
from auditor.policies import Policy

Key = tuple[str, str | None]  # a finding's fingerprint and item
MAX_TRIALS = 24  # scans of a copy when edits must be tried one by one


@dataclass(frozen=True)
class Trial:
    """The edits to try together: file -> its whole new text."""

    texts: dict[str, str]
    findings: tuple[Finding, ...]
    label: str = ""  # what it tries, when there are alternatives (the values key)


class Verifier:
    """Scans the environments that read the changed files, once without the edits (and
    records what they read), then once per trial in a fresh copy with the trial's texts."""

    def __init__(self, config: Config, policies: list[Policy], files: Sequence[str],
                 environments: Sequence[str], now: datetime | None = None) -> None:
        self.config = config
        self.policies = policies
        self.root = project.root_of(config.base_dir)
        self.envs = _affected(config, files, environments)
        self.now = now or datetime.now(UTC)
        self.read: dict[str, list[FsPath]] = {}  # environment -> the files its scan read
        self.before: dict[tuple[str, str | None, str], Finding] = {}
        for env in self.envs:
            with inputs.recording(self.root, (self.root / ".git",)) as read:
                self.before.update(_failing(self._scan(config, [env])))
            self.read[env] = [FsPath(p) for p in read.files]
        self.trials = 0

    def _scan(self, config: Config, envs: Sequence[str]) -> Report:
        options = pipeline.ScanOptions(environments=envs, now=self.now, jobs=1,
                                       keep_results=False)
        return pipeline.scan(config, self.policies, options)

    def why_not(self, trial: Trial) -> str | None:
        """None when the trial resolves its findings and adds none; else why not."""
        self.trials += 1
        # Only the environments this trial's files reach: one edit costs one service.
        envs = _affected(self.config, list(trial.texts),
                         sorted({f.environment for f in trial.findings}))
        with tempfile.TemporaryDirectory(prefix="auditor-fix-") as tmp:
            shadow = FsPath(tmp)
            self._copy(shadow, envs)
            for file, text in trial.texts.items():
                target = shadow / self._rel(self.config.path(file))
                target.unlink(missing_ok=True)  # a copied link is replaced, not written through
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8", newline="")
            config = load_config(str(shadow / self._rel(FsPath(self.config.file))))
            after = _failing(self._scan(config, envs))
        wanted = {(f.fingerprint, f.item) for f in trial.findings}
        stays = [f for k, f in after.items() if (k[0], k[1]) in wanted and k[2] == "fail"]
        if stays:
            was = {f.fingerprint: f.message for f in trial.findings}
            now = stays[0].message
            if now == was.get(stays[0].fingerprint):
                return ("scanned again with the change, it still fails: the value there "
                        "does not reach the field")
            return f"scanned again with the change, it still fails: {now[:200]}"
        new = [f for k, f in after.items() if k not in self.before
               and (k[0], k[1]) not in wanted]
        if new:
            f = new[0]
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            return (f"scanned again with the change, it adds {f.status} {f.policy} "
                    f"{f.resource.ident}: {f.message[:160]}{more}")
        return None

    def _rel(self, path: FsPath) -> FsPath:
        absolute = FsPath(os.path.abspath(path))
        try:
            return absolute.relative_to(self.root)
        except ValueError:
            return FsPath(os.path.realpath(path)).relative_to(self.root)

    def _copy(self, shadow: FsPath, envs: Sequence[str]) -> None:
        (shadow / ".git").mkdir()  # the copy's project root, as the project's (project.root_of)
        sources = [*(p for e in envs for p in self.read.get(e, [])),
                   FsPath(self.config.file)]
        for name in envs:
            env = self.config.environments[name]
            sources += [self.config.path(p) for _, p, role in named_paths(name, env)
                        if role in ("values", "var_files", "plan")]
        for path in sources:
            try:
                rel = self._rel(path)
            except ValueError:
                continue  # outside the project: the scan refuses it in the copy too
            _copy(path, shadow / rel)
        for name in envs:
            helm = self.config.environments[name].helm
            if helm is None:
                continue
            chart = self.config.path(helm.chart)
            try:
                rel = self._rel(chart)
            except ValueError:
                continue
            copied = 0
            for top, _, names in os.walk(chart):  # links to folders are not walked
                for file in names:
                    copied += 1
                    if copied > inputs.MAX_FILES:
                        return
                    source = FsPath(top, file)
                    _copy(source, shadow / rel / source.relative_to(chart))


def _copy(source: FsPath, target: FsPath) -> None:
    """A file's content (through links), once, if it is a regular file inside the size
    limit: never a FIFO or a device a link leads to, which would hang or fill the copy."""
    if target.exists() or target.is_symlink():
        return
    try:
        info = source.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError:
        return  # the scan of the copy says what is missing


def _affected(config: Config, files: Sequence[str], environments: Sequence[str]) -> list[str]:
    """The findings' environments, and every other one that names a changed file or a
    folder holding one (a chart's own values.yaml is read by each release of the chart)."""
    changed = [config.path(f).resolve() for f in files]
    out = list(dict.fromkeys(environments))
    for name, env in config.environments.items():
        if name in out:
            continue
        named = [config.path(p).resolve() for _, p, _ in named_paths(name, env)]
        if any(c == n or n in c.parents for c in changed for n in named):
            out.append(name)
    return out


def _failing(report: Report) -> dict[tuple[str, str | None, str], Finding]:
    return {(f.fingerprint, f.item, f.status): f for f in report.findings}


def search(verifier: Verifier, groups: Sequence[Sequence[Trial]],
           joined: Callable[[list[tuple[int, int]]], Trial]) -> dict[int, int | str]:
    """For each group of alternative trials (the same findings, the likeliest way first),
    the alternative kept, or why none was. All first alternatives together are tried
    first; when that fails, each group alone, alternative by alternative (at most
    MAX_TRIALS scans in all), then the ones kept together."""
    if not groups:
        return {}
    firsts = [(i, 0) for i in range(len(groups))]
    first = verifier.why_not(joined(firsts))
    if first is None:
        return dict(firsts)
    if len(groups) == 1 and len(groups[0]) == 1:
        return {0: first}
    out: dict[int, int | str] = {}
    for i, group in enumerate(groups):
        reasons: list[str] = []
        for j, trial in enumerate(group):
            if verifier.trials >= MAX_TRIALS:
                reasons.append("not tried: too many edits to scan one by one; fix fewer at "
                               "once (--policy, --env)")
                break
            why = verifier.why_not(trial)
            if why is None:
                out[i] = j
                break
            reasons.append(_key_of(trial) + why if len(group) > 1 else why)
        if i not in out:
            out[i] = "; ".join(reasons)[:600]
    kept = [(i, j) for i, j in out.items() if isinstance(j, int)]
    if len(kept) > 1 and verifier.why_not(joined(kept)) is not None:
        for i, _ in kept:
            out[i] = "works alone, not together with the others: fix one at a time"
    return out


def _key_of(trial: Trial) -> str:
    return f"{trial.label}: " if trial.label else ""
