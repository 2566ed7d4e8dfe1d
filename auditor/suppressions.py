"""Inline suppressions: a finding accepted next to the code that causes it.

    replicas: 1  # auditor:ignore hpa-present,pdb-present -- batch worker, one is enough
    # auditor:ignore image-pinned until 2027-01-31 -- pinned by the release job
    image: registry.example/app:main

In a values file, a manifest or a Terraform file (``#`` or ``//``), on the line a finding
points at or alone on the line above it. Policy ids may be globs. A reason after ``--`` is
required; ``until YYYY-MM-DD`` (before the ``--``) makes it expire like a waiver.

They count like waivers (:mod:`auditor.waivers`): the finding is shown as waived, with the
reason and the comment's ``file:line``, and does not gate; the same defect on the live
side (same fingerprint, no file of its own) is covered too. One that matches nothing is
stale, an expired one is reported, and one that cannot be read (no reason, an unknown
policy, a bad date) is an ``error`` finding at its line: a typo must not silently accept
nothing, nor silently accept everything.

Files read: those the config names (values files, manifests, Terraform directories'
``*.tf`` and ``var_files``) and those findings point at (a module's file, a chart's own
``values.yaml``), inside the project, at most ``MAX_INPUT_BYTES`` each.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path as FsPath

from auditor import cache, inputs, project
from auditor.config import Config, named_paths
from auditor.errors import where
from auditor.limits import MAX_INPUT_BYTES
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
from auditor.waivers import recount, state_finding

MARK = "auditor:ignore"
OWNER = "inline comment"
SUPPRESSION_KIND = "InlineSuppression"  # the resource of a comment that could not be read
# The marker after a comment sign that starts the line or follows a blank (YAML's rule; a
# '#' inside a word is not a comment).
_COMMENT = re.compile(r"(?:^|\s)(?:#|//)\s*auditor:ignore\b(?P<rest>.*)$")
# Matched against the comment with its trailing blanks removed: the reason is then `\S.*`,
# one pass, where a lazy `.*?` before `\s*` backtracks quadratically on a long blank run.
_BODY = re.compile(r"\s+(?P<ids>[^\s,]+(?:\s*,\s*[^\s,]+)*)"
                   r"(?:\s+until\s+(?P<until>\S+))?\s+--\s+(?P<reason>\S.*)")
_ID = re.compile(r"[a-z0-9*?\[\]-]+")


@dataclass
class Suppression:
    file: str  # relative to the config's directory, as findings name files
    line: int
    policies: tuple[str, ...]
    reason: str
    until: date | None
    alone: bool  # alone on its line: it covers the next line too
    environments: set[str] = field(default_factory=set)  # that read its file
    matched: int = 0

    def covers(self, finding: Finding) -> bool:
        loc = finding.location
        if loc is None or loc.file != self.file or loc.line is None:
            return False
        return (loc.line == self.line or (self.alone and loc.line == self.line + 1)) and any(
            fnmatchcase(finding.policy, p) for p in self.policies)

    @property
    def label(self) -> str:
        return ",".join(self.policies)


@dataclass(frozen=True)
class Malformed:
    file: str
    line: int
    why: str


def parse(text: str, file: str, known: Iterable[str]
          ) -> tuple[list[Suppression], list[Malformed]]:
    """The suppressions in one file's text, and the comments that name the marker but
    cannot be read."""
    ids = list(known)
    found: list[Suppression] = []
    bad: list[Malformed] = []
    for number, line in enumerate(text.splitlines(), 1):
        if MARK not in line:
            continue
        match = _COMMENT.search(line, _outside_strings(line))
        if match is None:
            continue
        body = _BODY.fullmatch(match.group("rest").rstrip())
        if body is None:
            bad.append(Malformed(file, number, f"not `# {MARK} POLICY[,POLICY] [until "
                                 "YYYY-MM-DD] -- reason` (a reason is required)"))
            continue
        policies = tuple(p.strip() for p in body.group("ids").split(","))
        unknown = [p for p in policies
                   if not _ID.fullmatch(p) or not any(fnmatchcase(i, p) for i in ids)]
        until = None
        if body.group("until"):
            try:
                until = date.fromisoformat(body.group("until"))
            except ValueError:
                bad.append(Malformed(file, number, f"until {body.group('until')!r} is not "
                                     "a date (YYYY-MM-DD)"))
                continue
        if unknown:
            bad.append(Malformed(file, number, f"no policy {', '.join(map(repr, unknown))} "
                                 "(see `auditor policies list`)"))
            continue
        alone = not line[:match.start()].strip()
        found.append(Suppression(file, number, policies, body.group("reason"), until, alone))
    return found, bad


_OPENS = " \t:[{,-="  # a quote after one of these (or first) starts a string: `it's` does not


def _outside_strings(line: str) -> int:
    """Where the line's last quoted string ends (0: none): a comment sign inside a YAML or
    HCL string (`url: "a # auditor:ignore …"`) is text, not a comment. A quote opens a
    string only where a value can start, so an apostrophe inside a plain scalar does not;
    ``"`` strings take backslash escapes, YAML's ``'`` strings a doubled quote."""
    end = i = 0
    while i < len(line):
        char = line[i]
        if char == "#" or line.startswith("//", i):
            break  # a comment before any string: the rest is its text
        if char in "\"'" and (i == 0 or line[i - 1] in _OPENS):
            i += 1
            while i < len(line):
                if char == '"' and line[i] == "\\":
                    i += 2
                    continue
                if line[i] == char:
                    if char == "'" and line.startswith("''", i):
                        i += 2
                        continue
                    break
                i += 1
            end = i = i + 1
            continue
        i += 1
    return min(end, len(line))


def apply(report: Report, config: Config, sides: dict[str, list[str]], today: date) -> None:
    """Waive the findings inline suppressions cover; report stale, expired and malformed
    ones. ``sides``: every known policy's sides. After the waiver file: a finding it
    already waives stays as it is (and the comment counts it: not stale)."""
    ids = list(sides)
    evaluated = {p.id for p in report.policies} or set(ids)
    # A policy this run checked: evaluated, on one of the sides this run looked at.
    checked_ids = [i for i in evaluated if set(sides.get(i, ())) & set(report.sides)]
    suppressions: list[Suppression] = []
    malformed: list[tuple[Malformed, str]] = []
    files = {path: entry for path, entry in _files(config, report).items()
             if set(entry[1]) & set(report.environments)}  # not only read by left-out envs
    with project.confined(project.root_of(config.base_dir)):  # no file from outside it
        texts = _marked(sorted(files), config)
        for path, text in texts.items():
            shown, envs = files[path]
            found, bad = parse(text, shown or config.rel(path), ids)
            for s in found:
                s.environments = set(envs)
            suppressions += found
            malformed += [(m, _first(envs, report)) for m in bad]
    if not suppressions and not malformed:
        return
    blind = {env for env, _ in report.unreadable()}
    by_print: dict[str, list[Finding]] = {}
    by_file: dict[str, list[Finding]] = {}  # a comment looks only at its own file's
    for f in report.findings:
        by_print.setdefault(f.fingerprint, []).append(f)
        if f.location is not None:
            by_file.setdefault(f.location.file, []).append(f)
    extra: list[Finding] = []
    for s in suppressions:
        expired = s.until is not None and s.until < today
        covered = [f for f in by_file.get(s.file, []) if f.status != "error"
                   and f.environment in s.environments and s.covers(f)]
        hits = [f for f in covered if f.waived is None]
        s.matched = len(covered)
        if not expired:
            waived = Waived(reason=s.reason, owner=OWNER, expires=s.until, file=s.file,
                            line=s.line, inline=True)
            for f in hits:  # and its twins on the other sides, which have no file of theirs
                for twin in by_print.get(f.fingerprint, []):
                    if twin.waived is None and (twin is f or twin.location is None):
                        twin.waived = waived
        # Stale only when every policy it names was checked in every environment that
        # reads its file, each of which could read its inputs.
        checked = all(any(fnmatchcase(i, pattern) for i in checked_ids)
                      for pattern in s.policies)
        unsure = any(e in blind or e not in report.environments for e in s.environments)
        state = "expired" if expired else (
            "stale" if not covered and checked and not unsure else "active")
        report.waivers.append(WaiverState(
            policy=s.label, resource="(inline)", environments=sorted(s.environments),
            reason=s.reason, owner=OWNER, expires=s.until, file=s.file, line=s.line,
            state=state, matched=s.matched))  # type: ignore[arg-type]
        if state != "active":
            extra.append(_finding(s, state, _first(s.environments, report)))
    extra += [_malformed(m, env) for m, env in malformed]
    report.findings += extra
    recount(report)
    if malformed:
        report.summary.by_status["error"] = report.summary.by_status.get("error", 0) + len(
            malformed)


def _files(config: Config, report: Report) -> dict[str, tuple[str, list[str]]]:
    """Each file that may hold suppressions (by absolute path): its name in reports when a
    finding gave it ("" otherwise: worked out only for a file that holds one), and the
    environments that read it. Plain strings and lists: a fleet names tens of thousands."""
    base = str(config.base_dir)
    out: dict[str, tuple[str, list[str]]] = {}

    def add(path: str, env: str, shown: str = "") -> None:
        entry = out.get(path)
        if entry is None:
            out[path] = (shown, [env])
            return
        if env not in entry[1]:
            entry[1].append(env)
        if shown and not entry[0]:
            out[path] = (shown, entry[1])

    def under(name: str) -> str:
        return os.path.normpath(os.path.join(base, name))

    # Every environment that reads a file, in this run or not: a comment is stale only
    # when all of them were checked (--env may leave some out).
    for name, env in config.environments.items():
        for _, entry, role in named_paths(name, env):
            if role in ("chart", "plan"):  # a chart's files are found by its findings
                continue
            path = under(entry)
            if role == "dirs":
                files = _tf_files(path)
            elif role == "manifests":
                from auditor.sources.manifests import files_of

                files = [str(f) for f in files_of(FsPath(path))]
            else:
                files = [path]
            for file in files:
                add(file, name)
    for f in report.findings:
        if f.location is not None and f.location.file and f.environment in report.environments:
            add(under(f.location.file), f.environment, f.location.file)
    return out


def _marked(paths: list[str], config: Config) -> dict[str, str]:
    """The text of each of ``paths`` that holds the marker. A fleet's warm run reads no
    file again: an index in the cache (by config) remembers which files had none, each by
    its status (size, times, inode), trusted as :mod:`auditor.inputs` trusts it."""
    store = cache.store()
    key = cache.key(_INDEX, str(config.base_dir / FsPath(config.file).name))
    index = store.get(_INDEX, key) if store is not None else None
    known = index.get("files", {}) if isinstance(index, dict) else {}
    taken = index.get("taken", 0) if isinstance(index, dict) else 0
    now = time.time_ns()
    fresh: dict[str, list[int]] = {}
    out: dict[str, str] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            continue
        sig = inputs.signature(info)
        seen = known.get(path)
        if isinstance(seen, list) and seen[-1:] == [0] and inputs.settled(sig, seen[:-1], taken):
            fresh[path] = seen  # no marker then, the same file now
            continue
        text = _read(path, info)
        fresh[path] = [*sig, 0 if text is None else 1]
        if text is not None:
            out[path] = text
    if store is not None and fresh != known:
        store.put(_INDEX, key, {"taken": now, "files": fresh})
    return out


_INDEX = "suppressions"


def _tf_files(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.path for e in entries if e.name.endswith(".tf"))
    except OSError:
        return []


def _read(path: str, info: os.stat_result) -> str | None:
    """The file's text when it holds the marker and is a readable regular file inside the
    project, small enough (``info``: its status, just taken)."""
    try:
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            return None  # a device or a FIFO is not a regular file: never opened
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
        # Refused after the cheap test (resolving every path of a fleet costs seconds):
        # a refused file's text is dropped, nothing of it is used.
        if MARK.encode() not in data or project.refusal(FsPath(path)):
            return None
        return data.decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def _first(environments: Iterable[str], report: Report) -> str:
    """The environment a suppression's own finding is reported in: one of this run's."""
    ran = sorted(e for e in environments if e in report.environments)
    return ran[0] if ran else sorted(environments)[0]


def _finding(s: Suppression, state: str, environment: str) -> Finding:
    label = f"{s.label} at {where(s.file, s.line)}"
    if state == "expired":
        assert s.until is not None
        policy, title = WAIVER_EXPIRED, "Inline suppression expired"
        message = (f"{where(s.file, s.line)}: the inline suppression of {s.label} expired on "
                   f"{s.until.isoformat()}; it no longer applies"
                   + (f" to {s.matched} finding(s)" if s.matched else ""))
        fix = "Fix the findings it covered, or give the comment a new date and reason."
    else:
        policy, title = WAIVER_STALE, "Inline suppression matches nothing"
        message = (f"{where(s.file, s.line)}: the inline suppression of {s.label} matches no "
                   "finding on its line or the next: the finding was fixed, or the comment "
                   "is on the wrong line")
        fix = "Remove the comment, or move it to the line the finding points at."
    return state_finding(policy, title, environment, label, s.file, s.line, message, fix)


def _malformed(m: Malformed, environment: str) -> Finding:
    return Finding(
        policy=INPUT_ERROR, title="Inline suppression could not be read", severity="high",
        status="error", environment=environment, side="declared",
        # Not kind File: the file was read; only the comment could not be (a baseline
        # must not take its environment for one whose inputs were unreadable).
        resource=ResourceRef(kind=SUPPRESSION_KIND, name=f"{m.file}:{m.line}", source=m.file),
        message=f"{where(m.file, m.line)}: {m.why}",
        location=FindingLocation(file=m.file, line=m.line), runbook="",
        remediation=Remediation(text=f"Write it as `# {MARK} POLICY[,POLICY] [until "
                                "YYYY-MM-DD] -- reason`, or remove it."),
        fingerprint=fingerprint(INPUT_ERROR, environment, SUPPRESSION_KIND, None, m.file,
                                str(m.line)),
    )
