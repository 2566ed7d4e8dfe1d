"""``auditor fix``: the declared findings whose remedy is one value, written where the value
is set, as a diff on the team's own files (or written, with ``--write``).

A policy says its remedy's value (``remediation.value``); a finding carries it, with the
field and the file:line that set the field (its location). The edit replaces that line's
value and nothing else: every other byte of the file is kept (comments, order, quoting,
indentation). In a values file the line must set the location's values key to a plain or
quoted scalar; in Terraform it must set the field's attribute (or, where a module caller
sets it, the caller's argument) to a literal: a number, a bool, or a string without
interpolation. Anything else is not edited and says why: a value from an expression or a
variable (change it where that is set), a line that does not hold the key (the file
changed since the scan), a chart template (the chart writes it, no values key does), a
file the config does not name. Two findings asking one line for different values are
both left alone. Nothing live is read or changed.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path as FsPath

from auditor import project
from auditor.config import Config, named_paths
from auditor.models import Finding, Report, Suggestion

Value = str | int | float | bool
_YAML_LINE = re.compile(
    r"""^(?P<head>\s*(?:-\s+)?(?P<q>["']?)(?P<key>[^"'#:\s][^"'#:]*?)(?P=q)\s*:[ \t]+)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[&*!|>%@`][^#]*?)"""
    r"""(?P<tail>[ \t]*(?:#.*)?)$""")
_HCL_LINE = re.compile(r"""^(?P<head>\s*(?P<key>[A-Za-z_][\w-]*)\s*=\s*)(?P<value>.*?)"""
                       r"""(?P<tail>[ \t]*(?:(?:#|//).*)?)$""")
_HCL_LITERAL = re.compile(r"""^(?:-?\d+(?:\.\d+)?|true|false|"(?:[^"\\$%]|\\[^$%])*")$""")
_PLAIN = re.compile(r"^[A-Za-z0-9_./-]+$")


@dataclass(frozen=True)
class Edit:
    file: str  # relative to the config's directory
    line: int
    before: str
    after: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Skip:
    finding: Finding
    why: str


def fixable(report: Report, side: str = "declared") -> list[Finding]:
    """The failing findings of ``side`` whose remedy is one value at a known line: declared
    findings and the value their policy names, or (``drift``) drifted fields and their
    live value, which ``--adopt-live`` writes into Git."""
    return [f for f in report.findings if f.side == side and f.status == "fail"
            and f.waived is None and f.remediation.value is not None
            and f.location is not None and f.location.line]


def plan(config: Config, report: Report, side: str = "declared"
         ) -> tuple[list[Edit], list[Skip]]:
    edits: dict[tuple[str, int], Edit] = {}
    skips: list[Skip] = []
    conflicts: set[tuple[str, int]] = set()
    allowed = _named(config)
    texts: dict[str, list[str] | str] = {}
    for f in fixable(report, side):
        assert f.location is not None and f.location.line is not None
        file, line = f.location.file, f.location.line
        if file not in texts:
            texts[file] = _read(config, file, allowed)
        lines = texts[file]
        if isinstance(lines, str):
            skips.append(Skip(f, lines))
            continue
        if line > len(lines):
            skips.append(Skip(f, f"{file}:{line}: the file is shorter now: scan again"))
            continue
        after = _edited(f, file, lines[line - 1])
        if after.startswith("\0"):
            skips.append(Skip(f, after[1:]))
            continue
        key = (file, line)
        if key in edits and edits[key].after != after:
            conflicts.add(key)
        edits[key] = Edit(file, line, lines[line - 1], after,
                          (*(edits[key].findings if key in edits else ()), f))
    if side == "drift":  # what live changed that cannot be adopted line by line
        skips += [Skip(f, _not_adopted(f)) for f in report.findings
                  if f.side == "drift" and f.status == "fail" and f.waived is None
                  and f.remediation.value is None]
    for key in conflicts:
        for f in edits.pop(key).findings:
            skips.append(Skip(f, f"{key[0]}:{key[1]}: findings ask this line for different "
                              "values"))
    return sorted(edits.values(), key=lambda e: (e.file, e.line)), skips


def suggest(config: Config, report: Report) -> None:
    """Each fixable declared finding's new line (``remediation.suggestion``), for a pull
    request's suggested change; none where no edit would be made."""
    edits, _ = plan(config, report)
    for e in edits:
        text = e.after.rstrip("\r\n")
        for f in e.findings:
            f.remediation.suggestion = Suggestion(file=e.file, line=e.line, text=text)


def _not_adopted(f: Finding) -> str:
    declared, live = str(f.details.get("declared", "")), str(f.details.get("live", ""))
    if declared.startswith("(not declared)"):
        return f"{f.item}: only live has it: declare it in Git by hand, or remove it live"
    if "(hidden)" in live:
        return f"{f.item}: its live value is not shown (kept only as a hash): not written"
    if live == "(absent)":
        return f"{f.item}: gone live: remove it from Git by hand, or restore it live"
    return f"{f.item}: not one value Git sets at one line: change it by hand"


def _edited(f: Finding, file: str, line: str) -> str:
    """The line with the finding's value, or NUL + why not."""
    assert f.location is not None and f.remediation.value is not None
    value = f.remediation.value
    text = line.rstrip("\r\n")
    end = line[len(text):]
    if file.endswith(".tf"):
        m = _HCL_LINE.match(text)
        field = (f.remediation.field or "").rsplit(".", 1)[-1].split("[", 1)[0]
        # A parameter group's parameter is a block: its line is `value = ...`.
        block = (f.remediation.field or "").startswith("parameters.") and \
            m is not None and m["key"] == "value"
        if m is None or not (m["key"] == field or block or f.location.related):
            if field and re.match(r"\s*(resource|module)\s", text):
                return (f"\0{file}:{f.location.line}: the block does not set {field}: add "
                        f"`{field} = {_hcl(value)}` to it (auditor fix changes values, it "
                        "does not add them yet)")
            return (f"\0{file}:{f.location.line} does not set {field or 'one field'}: no "
                    "single value to change there")
        if not _HCL_LITERAL.match(m["value"]):
            return (f"\0{file}:{f.location.line} sets {m['key']} from an expression "
                    f"({m['value'][:80]}): change it where that is set")
        return f"{m['head']}{_hcl(value)}{m['tail']}{end}"
    if f.location.key is None:
        return (f"\0{file}:{f.location.line} is not a values key the chart reads (the "
                "chart's template writes it): change the template")
    m = _YAML_LINE.match(text)
    last = re.split(r"\.(?![^\[]*\])", f.location.key)[-1].split("[", 1)[0]
    if m is None or m["key"] != last:
        return (f"\0{file}:{f.location.line} does not set {f.location.key} to a plain "
                "value: scan again, or change it by hand")
    return f"{m['head']}{_yaml(value)}{m['tail']}{end}"


def _hcl(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else json.dumps(value)


def _yaml(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    import yaml

    return value if _PLAIN.match(value) and yaml.safe_load(value) == value else \
        json.dumps(value)


def _named(config: Config) -> list[FsPath]:
    """The files and folders the config names (a fix writes nowhere else)."""
    return [config.path(p).resolve() for env_name, env in config.environments.items()
            for _, p, role in named_paths(env_name, env) if role != "plan"]


def _read(config: Config, file: str, allowed: list[FsPath]) -> list[str] | str:
    """The file's lines, or why it is not edited."""
    path = config.path(file)
    resolved = path.resolve()
    if not any(resolved == a or a in resolved.parents for a in allowed):
        return f"{file}: not a file the config names: not edited"
    if "templates" in resolved.relative_to(next(
            a for a in allowed if resolved == a or a in resolved.parents)).parts:
        return (f"{file}: a chart template writes it (no values key was found to set it): "
                "change the template, or give the chart a value for it")
    refusal = project.refusal(path)
    if refusal is not None:
        return f"{file}: {refusal}"
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as exc:
        return f"{file}: cannot read: {exc}"


def patched(config: Config, edits: list[Edit]) -> dict[str, tuple[str, str]]:
    """file -> (text now, text with the edits)."""
    out: dict[str, tuple[str, str]] = {}
    for file in dict.fromkeys(e.file for e in edits):
        lines = config.path(file).read_text(encoding="utf-8").splitlines(keepends=True)
        old = "".join(lines)
        for e in edits:
            if e.file == file:
                lines[e.line - 1] = e.after
        out[file] = (old, "".join(lines))
    return out


def diff(changes: dict[str, tuple[str, str]]) -> str:
    return "".join("".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{file}",
        f"b/{file}")) for file, (old, new) in changes.items())


def dirty(config: Config, files: list[str]) -> list[str]:
    """Those of ``files`` with changes git has not committed (none outside a work tree, or
    without git: nothing to compare with). The paths come after ``--``: never options."""
    out = []
    for file in files:
        try:
            done = subprocess.run(["git", "-C", str(config.base_dir), "status", "--porcelain",
                                   "--", file], capture_output=True, text=True, timeout=30,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return []
        if done.returncode == 0 and done.stdout.strip():
            out.append(file)
    return out
