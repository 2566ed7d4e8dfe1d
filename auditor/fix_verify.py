"""Whether an edit of ``auditor fix`` really resolves its findings: the project is scanned
again with the edit, in a copy, and compared with a scan without it.

Matching a value to a key by name and value (Helm attribution) or tracing a variable
(Terraform) says where a value *probably* comes from; rendering the chart and evaluating
the Terraform again says what the edit *does*. A declared edit is kept only when each of
its findings now *passes* (a finding that vanished with its resource is not fixed) and no
finding appears that was not there before (a PDB toggle whose budget blocks drains, a
values file that no longer parses). An adopted live value is kept only when the declared
field now has that value.

The copy holds, under the same relative paths, what each environment's scan read or
listed (recorded, as the result cache records it) and each chart folder (Helm reads it in
another process): only regular files inside the project, within a byte budget. Before
any edit is judged the copy is scanned as it is and must say what the project says: a
copy that misses something the scan depends on refuses every edit instead of judging
them wrongly. Nothing of the project is written.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

from auditor import inputs, paths, pipeline, project
from auditor.config import Config, named_paths
from auditor.config import load as load_config
from auditor.limits import MAX_INPUT_BYTES
from auditor.models import Finding, Inventory, Report
from auditor.policies import Policy

MAX_TRIALS = 24  # scans of a copy when edits must be tried one by one
COPY_BYTES = 256 * 2**20  # what one copy may hold
Key = tuple[str, str | None, str]  # a finding's fingerprint, item and status


@dataclass(frozen=True)
class Expect:
    """An adopted value: the declared field that must have it afterwards."""

    kind: str
    namespace: str | None
    name: str
    field: str
    value: Any


@dataclass(frozen=True)
class Trial:
    """The edits to try together: file -> its whole new text."""

    texts: dict[str, str]
    findings: tuple[Finding, ...]
    label: str = ""  # what it tries, when there are alternatives (the values key)
    expect: tuple[Expect, ...] = ()  # --adopt-live: the values the declared side must have


class _TooLarge(Exception):
    pass


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
        self.trials = 0
        self.read: dict[str, list[FsPath]] = {}  # environment -> what its scan read
        self.listed: dict[str, list[FsPath]] = {}  # environment -> folders it listed
        self.before: dict[Key, Finding] = {}
        self.problem = _absolute(config, self.envs)
        if self.problem:
            return
        for env in self.envs:
            with inputs.recording(self.root, (self.root / ".git",)) as read:
                report, _ = pipeline.declared_scan(config, policies, env, self.now)
            self.before.update(_failing(report))
            self.read[env] = [FsPath(p) for p in [*read.files, *read.probes]]
            self.listed[env] = [FsPath(p) for p in read.folders]
        # The copy, unchanged, must scan as the project does: else it cannot judge edits.
        same = self._scanned({}, self.envs)
        if isinstance(same, str):
            self.problem = same
        elif set(same[0]) != set(self.before):
            odd = next(iter(set(same[0]) ^ set(self.before)))
            f = same[0].get(odd) or self.before[odd]
            self.problem = (f"a copy of the project does not scan as the project does ({f.policy} "
                            f"{f.resource.ident}): edits cannot be checked: change it by hand")

    def why_not(self, trial: Trial) -> str | None:
        """None when the trial resolves its findings and adds none; else why not."""
        if self.problem:
            return self.problem
        self.trials += 1
        # Only the environments this trial's files reach: one edit costs one service.
        envs = _affected(self.config, list(trial.texts),
                         sorted({f.environment for f in trial.findings}))
        scanned = self._scanned(trial.texts, envs)
        if isinstance(scanned, str):
            return scanned
        after, passed, inventories = scanned
        if trial.expect:
            return _adopted(trial.expect, inventories)
        wanted = {(f.fingerprint, f.item): f for f in trial.findings}
        stays = [f for k, f in after.items() if (k[0], k[1]) in wanted]
        if stays:
            was = wanted[(stays[0].fingerprint, stays[0].item)].message
            now = stays[0].message
            if stays[0].status != "fail":
                return f"scanned again with the change, it is {stays[0].status}: {now[:200]}"
            if now == was:
                return ("scanned again with the change, it still fails: the value there "
                        "does not reach the field")
            return f"scanned again with the change, it still fails: {now[:200]}"
        gone = [f for k, f in wanted.items() if k not in passed]
        if gone:
            return (f"scanned again with the change, {gone[0].resource.ident} is no longer "
                    "checked (the change removes it, or what the check reads): not a fix")
        new = [f for k, f in after.items() if k not in self.before]
        if new:
            f = new[0]
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            return (f"scanned again with the change, it adds {f.status} {f.policy} "
                    f"{f.resource.ident}: {f.message[:160]}{more}")
        return None

    def _scanned(self, texts: dict[str, str], envs: Sequence[str]
                 ) -> tuple[dict[Key, Finding], set[tuple[str, str | None]],
                            dict[str, Inventory]] | str:
        """The copy's failing findings, passing checks and inventories, with ``texts``."""
        failing: dict[Key, Finding] = {}
        passed: set[tuple[str, str | None]] = set()
        inventories: dict[str, Inventory] = {}
        with _terminable(), tempfile.TemporaryDirectory(prefix="auditor-fix-") as tmp:
            shadow = FsPath(tmp)
            try:
                self._copy(shadow, envs)
            except _TooLarge:
                return (f"what the scan reads is larger than {COPY_BYTES >> 20} MiB: the "
                        "change cannot be checked in a copy: change it by hand")
            for file, text in texts.items():
                target = shadow / self._rel(self.config.path(file))
                target.unlink(missing_ok=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8", newline="")
            config = load_config(str(shadow / self._rel(FsPath(self.config.file))))
            for env in envs:
                report, inventory = pipeline.declared_scan(config, self.policies, env,
                                                           self.now)
                failing.update(_failing(report))
                passed.update((p.fingerprint, p.item) for p in report.passed)
                inventories[env] = inventory
        return failing, passed, inventories

    def _rel(self, path: FsPath) -> FsPath:
        absolute = FsPath(os.path.abspath(path))
        try:
            return absolute.relative_to(self.root)
        except ValueError:
            return FsPath(os.path.realpath(path)).relative_to(self.root)

    def _copy(self, shadow: FsPath, envs: Sequence[str]) -> None:
        (shadow / ".git").mkdir()  # the copy's project root, as the project's (project.root_of)
        budget = [COPY_BYTES, inputs.MAX_FILES]
        files = [*(p for e in envs for p in self.read.get(e, [])), FsPath(self.config.file)]
        # A file the scan only tested for (fileexists, a chart's optional values.yaml) is
        # beside the files it read: each listed folder's own files come too.
        for folder in dict.fromkeys(p for e in envs for p in self.listed.get(e, [])):
            try:
                files += sorted(p for p in folder.iterdir() if not p.is_dir())
            except OSError:
                continue
        for name in envs:
            helm = self.config.environments[name].helm
            if helm is not None:
                chart = self.config.path(helm.chart)
                for top, _, names in os.walk(chart):  # links to folders are not walked
                    files += [FsPath(top, n) for n in names]
        with project.confined(self.root):
            for path in dict.fromkeys(files):
                try:
                    rel = self._rel(path)
                except ValueError:
                    continue  # outside the project: the scan refuses it in the copy too
                _copy(path, shadow / rel, budget)


@contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM (a CI job's timeout) ends the run through Python, so the copy is removed."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _copy(source: FsPath, target: FsPath, budget: list[int]) -> None:
    """A file's content, once, if it may be read (inside the project, by its links too)
    and is a regular file inside the size limit: never a FIFO, a device or /proc, which
    would hang, fill the copy or bring in what the scan refuses."""
    if target.exists() or target.is_symlink():
        return
    if project.refusal(source) is not None:
        if source.is_symlink():  # the same link, never followed: the copy's scan refuses
            target.parent.mkdir(parents=True, exist_ok=True)  # it as the project's does
            with suppress(OSError):
                target.symlink_to(os.readlink(source))
        return
    try:
        info = source.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            return
        budget[0] -= info.st_size
        budget[1] -= 1
        if budget[0] < 0 or budget[1] < 0:
            raise _TooLarge
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, target.open("wb") as dst:
            # At most what stat said: a file that grows while read stops there.
            shutil.copyfileobj(_Bounded(src, info.st_size), dst)
    except OSError:
        return  # the copy's scan, checked against the project's, says what is missing


class _Bounded:
    def __init__(self, stream: Any, size: int) -> None:
        self.stream, self.left = stream, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data: bytes = self.stream.read(n) if n else b""
        self.left -= len(data)
        return data


def _adopted(expect: tuple[Expect, ...], inventories: dict[str, Inventory]) -> str | None:
    resources = [r for inv in inventories.values() for r in inv.resources]
    for e in expect:
        found = next((r for r in resources if (r.kind, r.namespace, r.name) ==
                      (e.kind, e.namespace, e.name)), None)
        if found is None:
            return f"scanned again with the change, {e.kind}/{e.name} is not declared"
        try:
            value = paths.get(found.body, paths.parse(e.field))
        except ValueError:
            value = None
        if value != e.value:
            return (f"scanned again with the change, {e.field} is declared as {value!r}, "
                    f"not {e.value!r}: that line does not decide it")
    return None


def _absolute(config: Config, envs: Sequence[str]) -> str | None:
    """Why a copy cannot stand in for the project: the config names an absolute path."""
    for name in envs:
        for _, path, _ in named_paths(name, config.environments[name]):
            if os.path.isabs(path):
                return (f"the config names an absolute path ({path}): auditor fix checks "
                        "each edit in a copy, which needs paths relative to the config")
    return None


def resolved(path: FsPath) -> FsPath | None:
    """Where a path leads, or None (a link loop, an unreadable folder)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def readers(config: Config, file: str) -> list[str]:
    """The environments that read ``file``: it, or a folder holding it, is named by them (a
    chart's own values.yaml is read by each release of the chart)."""
    changed = resolved(config.path(file))
    out = []
    for name, env in config.environments.items():
        named = [resolved(config.path(p)) for _, p, _ in named_paths(name, env)]
        if changed is not None and any(n is not None and (changed == n or n in changed.parents)
                                       for n in named):
            out.append(name)
    return out


def _affected(config: Config, files: Sequence[str], environments: Sequence[str]) -> list[str]:
    """The findings' environments, and every other one that reads a changed file."""
    out = list(dict.fromkeys(environments))
    for file in files:
        out += [name for name in readers(config, file) if name not in out]
    return out


def _failing(report: Report) -> dict[Key, Finding]:
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
    if (len(groups) == 1 and len(groups[0]) == 1) or verifier.problem:
        return dict.fromkeys(range(len(groups)), first)
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
