"""``auditor fix``: the declared findings whose remedy is one value, written where the value
is set, as a diff on the team's own files (or written, with ``--write``).

A policy says its remedy's value (``remediation.value``); a finding carries it, with the
field and the file:line that set the field (its location). The edit replaces that line's
value and nothing else: every other byte of the file is kept (comments, order, quoting,
indentation, CRLF line ends). In a values file the line must set the location's values
key to a plain or quoted scalar, in block style, in a file without anchors or aliases (an
edit there could change other keys); in Terraform it must set the field's attribute (or,
where a module caller sets it, the caller's argument, when the module uses it once) to a
literal: a number, a bool, or a string without interpolation. Anything else is not edited
and says why: a value from an expression or a variable, a chart template, a line that no
longer holds the key, a file the config does not name (or a module copy under
``.terraform``), a value already set, two findings asking one line for different values,
or (``--adopt-live``) a values file another environment reads too. Nothing live is
changed.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path as FsPath

from auditor import paths, project
from auditor.config import Config, named_paths
from auditor.models import Finding, Report, Suggestion

Value = str | int | float | bool
_YAML_LINE = re.compile(
    r"""^(?P<head>[ ]*(?:-[ ]+)?(?P<q>["']?)(?P<key>[^"'#:\s][^"'#:]*?)(?P=q)[ \t]*:[ \t]+)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[\]}&*!|>%@`,][^\r\n]*?)"""
    r"""(?P<tail>(?:[ \t]+#[^\r\n]*)?[ \t]*)$""")
_ANCHORS = re.compile(r"(?:^|[\s:\-\[{,])[&*][^\s,\[\]{}]+|<<[ \t]*:", re.M)
_HCL_LINE = re.compile(r"""^(?P<head>\s*(?P<key>[A-Za-z_][\w-]*)\s*=\s*)(?P<value>.*?)"""
                       r"""(?P<tail>(?:[ \t]+(?:#|//).*)?[ \t]*)$""")
_HCL_LITERAL = re.compile(r"""^(?:-?\d+(?:\.\d+)?|true|false|"(?:[^"\\$%]|\\[^$%])*")$""")
_PLAIN = re.compile(r"^[A-Za-z0-9_./-]+$")
_GO_NUMBER = re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|0[xXoObB][\da-fA-F_]+"
                        r"|\.\d+|\.inf|\.nan)$", re.I)


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
    live value, which ``--adopt-live`` writes into Git. Waived ones are the team's call."""
    return [f for f in report.findings if f.side == side and f.status == "fail"
            and f.waived is None and f.remediation.value is not None
            and f.location is not None and f.location.line]


Changes = dict[str, tuple[str, str]]  # file -> (its text as read, with the edits)


def plan(config: Config, report: Report, side: str = "declared"
         ) -> tuple[list[Edit], list[Skip], Changes]:
    """The edits, the findings left alone and why, and each changed file's text before
    and after (from the one read the edits were checked against)."""
    with project.confined(project.root_of(config.base_dir)):
        return _plan(config, report, side)


def _plan(config: Config, report: Report, side: str
          ) -> tuple[list[Edit], list[Skip], Changes]:
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
        shared = _shared(config, file, f.environment) if side == "drift" else None
        if shared:
            skips.append(Skip(f, f"{file} is read by {shared} too: adopting {f.environment}'s "
                              "live value there would change it as well; set it in "
                              f"{f.environment}'s own values by hand"))
            continue
        if line > len(lines):
            skips.append(Skip(f, f"{file}:{line}: the file is shorter now: scan again"))
            continue
        after = _edited(f, file, lines[line - 1], "".join(lines))
        if after.startswith("\0"):
            skips.append(Skip(f, after[1:]))
            continue
        if after == lines[line - 1]:
            skips.append(Skip(f, f"{file}:{line} already says {f.remediation.value!r}: the "
                              "finding has another cause"))
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
    kept = sorted(edits.values(), key=lambda e: (e.file, e.line))
    return _verified(texts, kept, skips)


def _verified(texts: dict[str, list[str] | str], edits: list[Edit], skips: list[Skip]
              ) -> tuple[list[Edit], list[Skip], Changes]:
    """The edits of each file whose result reads back as the file with just those values
    changed (parsed again: YAML by value at each key, Terraform by count of changed
    values); a file that does not is left alone, and its findings say why."""
    kept: list[Edit] = []
    changes: Changes = {}
    for file in dict.fromkeys(e.file for e in edits):
        lines = texts[file]
        assert isinstance(lines, list)  # (an edit is made only of a file that was read)
        mine = [e for e in edits if e.file == file]
        new = list(lines)
        for e in mine:
            new[e.line - 1] = e.after
        old, text = "".join(lines), "".join(new)
        if _reads_back(file, old, text, mine):
            kept += mine
            changes[file] = (old, text)
        else:
            skips += [Skip(f, f"{file}: the edit would change more than the value (or not "
                           "read back): change it by hand") for e in mine for f in e.findings]
    return kept, skips, changes


def _reads_back(file: str, old: str, new: str, edits: list[Edit]) -> bool:
    try:
        if file.endswith(".tf"):
            return _changed_leaves(_hcl_tree(old), _hcl_tree(new)) == len(edits)
        import yaml

        before, after = yaml.safe_load(old), yaml.safe_load(new)
    except Exception:  # a parser's own errors: whatever does not read back is refused
        return False
    expected = json.loads(json.dumps(before, default=str))
    for e in edits:
        f = e.findings[0]
        assert f.location is not None and f.location.key is not None
        node: object = expected
        steps = paths.parse(f.location.key)
        for step in steps[:-1]:
            node = node[step] if isinstance(node, dict | list) else None  # type: ignore[index]
        if not isinstance(node, dict | list):
            return False
        node[steps[-1]] = f.remediation.value  # type: ignore[index]
    return bool(json.loads(json.dumps(after, default=str)) == expected)


def _hcl_tree(text: str) -> object:
    import hcl2

    from auditor.terraform.loader import options

    return hcl2.loads(text, serialization_options=options())


def _changed_leaves(a: object, b: object) -> int:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return 1 << 20
        return sum(_changed_leaves(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 1 << 20
        return sum(_changed_leaves(x, y) for x, y in zip(a, b, strict=True))
    return int(a != b)


def suggest(config: Config, report: Report) -> None:
    """Each new fixable declared finding's new line (``remediation.suggestion``), for a
    pull request's suggested change; none where no edit would be made. (Only new ones: a
    fleet's scan does not read and parse every file again for lines nobody asked for.)"""
    new = [f for f in report.findings if f.baseline != "existing"]
    edits, _, _ = plan(config, report.model_copy(update={"findings": new}))
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
    return f"{f.item}: not one value of the declared kind at one line: change it by hand"


def _edited(f: Finding, file: str, line: str, text: str) -> str:
    """The line with the finding's value, or NUL + why not."""
    assert f.location is not None and f.remediation.value is not None
    value, at = f.remediation.value, f"{file}:{f.location.line}"
    body = line.rstrip("\r\n")
    end = line[len(body):]
    if file.endswith(".tf"):
        return _hcl_line(f, at, body, end, value)
    if f.location.key is None:
        return (f"\0{at} is not a values key the chart reads (the chart's template writes "
                "it): change the template")
    if _ANCHORS.search(text):
        return (f"\0{at}: the file uses YAML anchors, aliases or merge keys: an edit could "
                "change other keys too: change it by hand")
    m = _YAML_LINE.match(body)
    if m is None or m["key"] != _last_key(f.location.key):
        return (f"\0{at} does not set {f.location.key} to a plain value in block style: "
                "scan again, or change it by hand")
    return f"{m['head']}{_yaml(value)}{m['tail']}{end}"


def _hcl_line(f: Finding, at: str, body: str, end: str, value: Value) -> str:
    assert f.location is not None
    m = _HCL_LINE.match(body)
    field = (f.remediation.field or "").rsplit(".", 1)[-1].split("[", 1)[0]
    # A parameter group's parameter is a block: its line is `value = ...`.
    block = (f.remediation.field or "").startswith("parameters.") and \
        m is not None and m["key"] == "value"
    caller = len(f.location.related) == 1  # a module caller's argument, used once
    if m is None or not (m["key"] == field or block or caller):
        if len(f.location.related) > 1:
            return (f"\0{at} sets a variable the module uses in {len(f.location.related)} "
                    "places: changing it changes them all: change it by hand")
        if field and re.match(r"\s*(resource|module)\s", body):
            return (f"\0{at}: the block does not set {field}: add `{field} = {_hcl(value)}` "
                    "to it (auditor fix changes values, it does not add them yet)")
        return f"\0{at} does not set {field or 'one field'}: no single value to change there"
    if not _HCL_LITERAL.match(m["value"]):
        return (f"\0{at} sets {m['key']} from an expression ({m['value'][:80]}): change it "
                "where that is set")
    literal = _hcl(value)
    if not literal:
        return f"\0{at}: {value!r} is not a value Terraform can be given here"
    return f"{m['head']}{literal}{m['tail']}{end}"


def _last_key(key: str) -> str:
    """The last key of a values key (``a.b``, ``a["b.c"]``, ``a[0].b``)."""
    try:
        steps = paths.parse(key)
    except ValueError:
        return key
    last = next((s for s in reversed(steps) if isinstance(s, str)), key)
    return str(last)


def _hcl(value: Value) -> str:
    """A Terraform literal; a string's ``${`` and ``%{`` escaped (never template code)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value) if math.isfinite(value) else ""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("${", "$${").replace("%{", "%%{")


def _yaml(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value) if math.isfinite(value) else json.dumps(str(value))
    import yaml

    plain = _PLAIN.match(value) and not _GO_NUMBER.match(value) \
        and yaml.safe_load(value) == value
    return value if plain else json.dumps(value, ensure_ascii=False)


def _named(config: Config) -> list[FsPath]:
    """The files and folders the config names (a fix writes nowhere else)."""
    return [config.path(p).resolve() for env_name, env in config.environments.items()
            for _, p, role in named_paths(env_name, env) if role != "plan"]


def _shared(config: Config, file: str, environment: str) -> str | None:
    """The other environments that read values file ``file`` (or its chart's own)."""
    target = config.path(file).resolve()
    others = []
    for name, env in config.environments.items():
        if name == environment or env.helm is None:
            continue
        files = [config.path(v).resolve() for v in env.helm.values]
        files.append(config.path(env.helm.chart).resolve() / "values.yaml")
        if target in files:
            others.append(name)
    return ", ".join(others) or None


def _read(config: Config, file: str, allowed: list[FsPath]) -> list[str] | str:
    """The file's lines (split at LF only, each with its own line end), or why it is not
    edited."""
    path = config.path(file)
    resolved = path.resolve()
    under = next((a for a in allowed if resolved == a or a in resolved.parents), None)
    if under is None:
        return f"{file}: not a file the config names: not edited"
    parts = resolved.relative_to(under).parts
    if ".terraform" in parts:
        return f"{file}: a module copy terraform init downloaded: change the module's source"
    if "templates" in parts:
        return (f"{file}: a chart template writes it (no values key was found to set it): "
                "change the template, or give the chart a value for it")
    refusal = project.refusal(path)
    if refusal is not None:
        return f"{file}: {refusal}"
    try:
        text = resolved.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{file}: cannot read: {exc}"
    pieces = text.split("\n")
    return [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def target(config: Config, file: str) -> FsPath:
    """Where a fixed file is written: the file itself, through any link to it."""
    return config.path(file).resolve()


def diff(changes: Changes) -> str:
    """A unified diff ``git apply`` takes (a last line without its line end is marked)."""
    out = []
    for file, (old, new) in changes.items():
        for line in difflib.unified_diff(old.splitlines(keepends=True),
                                         new.splitlines(keepends=True),
                                         f"a/{file}", f"b/{file}"):
            out.append(line if line.endswith("\n") else
                       line + "\n\\ No newline at end of file\n")
    return "".join(out)


def dirty(config: Config, files: list[str]) -> list[tuple[str, str]]:
    """(file, why) for each of ``files`` git has uncommitted changes in, or that git could
    not answer for (refused too: only outside a work tree is there nothing to compare).
    The path comes after ``--``, taken literally: never an option, never a pattern."""
    out = []
    for file in files:
        path = target(config, file)
        try:
            done = subprocess.run(["git", "-C", str(path.parent), "--literal-pathspecs",
                                   "status", "--porcelain", "--", path.name],
                                  capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.append((file, f"git could not say whether it has changes ({exc})"))
            continue
        if done.returncode != 0:
            if "not a git repository" not in done.stderr:
                why = " ".join(done.stderr.split())[:200]
                out.append((file, f"git could not say whether it has changes ({why})"))
        elif done.stdout.strip():
            out.append((file, "has changes git has not committed"))
    return out
