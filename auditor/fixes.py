"""``auditor fix``: the declared findings whose remedy is one value, written where the value
is set, as a diff on the team's own files (or written, with ``--write``).

A policy says its remedy's value (``remediation.value``); a finding carries it, with the
field and the file:line that set the field (its location). The edit replaces that line's
value and nothing else: every other byte of the file is kept (comments, order, quoting,
indentation, CRLF line ends). In a values file the line must set the location's values
key to a plain or quoted scalar in block style; in Terraform it must set the field's
attribute (or the module caller's argument, or the root variable's value where Terraform
takes it) to a literal: a number, a bool, or a string without interpolation. Where nothing
sets it yet, a key the chart reads is added to the environment's values, or an attribute
to the block (or argument to the environment's module call) that lacks it.

Each file's edits must parse back as the file with only those values changed (YAML by
value at each key, so an anchor or merge key that would carry the change elsewhere is
refused; Terraform by the count of changed values), and then :mod:`auditor.fix_verify`
scans a copy with them. Anything else is not edited and says why. Nothing live is
changed.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from auditor import paths, project
from auditor.config import Config, named_paths
from auditor.limits import MAX_INPUT_BYTES
from auditor.models import Finding, Report, Suggestion

if TYPE_CHECKING:
    from datetime import datetime

    from auditor.fix_keys import Candidate
    from auditor.policies import Policy

Value = str | int | float | bool
_YAML_LINE = re.compile(
    r"""^(?P<head>[ ]*(?:-[ ]+)?(?P<q>["']?)(?P<key>[^"'#:\s][^"'#:]*?)(?P=q)[ \t]*:[ \t]+)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[\]}&*!|>%@`,][^\r\n]*?)"""
    r"""(?P<tail>(?:[ \t]+#[^\r\n]*)?[ \t]*)$""")
_HCL_LINE = re.compile(r"""^(?P<head>\s*(?P<key>[A-Za-z_][\w-]*)\s*=\s*)(?P<value>.*?)"""
                       r"""(?P<tail>(?:[ \t]+(?:#|//).*)?[ \t]*)$""")
_HCL_LITERAL = re.compile(r"""^(?:-?\d+(?:\.\d+)?|true|false|"(?:[^"\\$%]|\\[^$%])*")$""")
MAX_LINE = 2000  # longer lines are not edited
_VAR_REFS = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_PLAIN = re.compile(r"^[A-Za-z0-9_./-]+$")
_GO_NUMBER = re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|0[xXoObB][\da-fA-F_]+"
                        r"|\.\d+|\.inf|\.nan)$", re.I)


@dataclass(frozen=True)
class Edit:
    file: str  # relative to the config's directory
    line: int
    before: str
    after: str  # the line's new text; with ``insert``, lines added after it (line 0: on top)
    findings: tuple[Finding, ...]
    insert: bool = False
    key: str | None = None  # a values file's: the key it sets (else the findings' location's)
    value: Value | None = None  # and to what (else the findings' remedy)

    @property
    def same(self) -> tuple[str, int, str, bool]:
        return self.file, self.line, self.after, self.insert


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


@dataclass(frozen=True)
class _Scope:
    """Where edits may go: under the config's named files and folders, and (with --env)
    not into a file an environment this run does not check reads too."""

    paths: list[FsPath]
    selected: frozenset[str]


def plan(config: Config, report: Report, side: str = "declared",
         policies: list[Policy] | None = None, now: datetime | None = None
         ) -> tuple[list[Edit], list[Skip], Changes]:
    """The edits, the findings left alone and why, and each changed file's text before
    and after (from the one read the edits were checked against). With ``policies``,
    declared edits are also kept only if a scan of the project with them (in a copy)
    no longer has their findings and has no new one (:mod:`auditor.fix_verify`); and a
    finding no values key was found for gets the values keys its chart reads tried."""
    chart = {p.id: p for p in policies} if side == "declared" and policies else None
    with project.confined(project.root_of(config.base_dir)):
        texts, edits, skips, guesses = _plan(config, report, side, chart)
    edits, skips, changes = _verified(texts, edits, skips)
    if policies is not None and (edits or guesses):
        edits, skips, changes = _rescanned(config, policies, now, texts,
                                           [[[e]] for e in edits] + guesses, skips)
    return edits, skips, changes


Group = list[list[Edit]]  # alternative edits for the same findings, the likeliest first


def _rescanned(config: Config, policies: list[Policy], now: datetime | None,
               texts: Texts, groups: list[Group], skips: list[Skip]
               ) -> tuple[list[Edit], list[Skip], Changes]:
    from auditor import fix_verify

    def trial(chosen: list[Edit]) -> fix_verify.Trial:
        findings = tuple(f for e in chosen for f in e.findings)
        # An adopted live value: the declared field must have it afterwards.
        expect = tuple(fix_verify.Expect(f.resource.kind, f.resource.namespace,
                                         f.resource.name, f.remediation.field or "",
                                         f.remediation.value)
                       for f in findings if f.side == "drift")
        return fix_verify.Trial({f: new for f, (_, new) in _changes(texts, chosen).items()},
                                findings, ", ".join(e.key for e in chosen if e.key), expect)

    edits = [e for g in groups for alt in g for e in alt]
    verifier = fix_verify.Verifier(config, policies, sorted({e.file for e in edits}),
                                   sorted({f.environment for e in edits for f in e.findings}),
                                   now)
    chosen = fix_verify.search(verifier, [[trial(alt) for alt in g] for g in groups],
                               lambda picks: trial([e for i, j in picks
                                                    for e in groups[i][j]]))
    good: list[Edit] = []
    for i, g in enumerate(groups):
        pick = chosen[i]
        if isinstance(pick, int):
            good += g[pick]
            continue
        first = g[0][0]
        where = f"{first.file}:{first.line}" if len(g) == 1 else "the keys the chart reads"
        skips = skips + [Skip(f, f"{where}: {pick}") for f in first.findings]
    good.sort(key=lambda e: (e.file, e.line))
    return good, skips, _changes(texts, good)


Texts = dict[str, list[str] | str]  # file -> its lines as read, or why it is not edited


def _plan(config: Config, report: Report, side: str, chart: dict[str, Policy] | None
          ) -> tuple[Texts, list[Edit], list[Skip], list[Group]]:
    """``chart``: the policies, when edits are verified by a scan: then a finding a chart's
    template writes gets the values keys the chart reads as alternatives (guesses)."""
    edits: dict[tuple[str, int], Edit] = {}
    skips: list[Skip] = []
    guesses: Guesses = {}
    conflicts: set[tuple[str, int]] = set()
    allowed = _Scope(_named(config), frozenset(report.environments or config.environments))
    texts: Texts = {}
    for f in fixable(report, side):
        assert f.location is not None and f.location.line is not None
        file, line = f.location.file, f.location.line
        lines = _lines(config, file, texts, allowed)
        adding = chart is not None and file.endswith(".tf")
        if chart is not None and _by_template(config, f):
            _guess(guesses, skips, f, _guesses(config, f, chart.get(f.policy), texts, allowed))
            continue
        if isinstance(lines, str):
            if adding:
                _guess(guesses, skips, f, _argument(config, f, texts, allowed), lines)
            elif chart is not None and f.location.key and "(--env)" in lines:
                # Set by a file other environments read too: the environment's own wins.
                _guess(guesses, skips, f, _values_key(config, f, texts, allowed,
                                                      f.location.key), lines)
            else:
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
        after = _edited(f, file, lines[line - 1])
        if after.startswith("\0") and adding and _ADDABLE.search(after):
            _guess(guesses, skips, f, _argument(config, f, texts, allowed), after[1:])
            continue
        if after.startswith("\0") and chart is not None and f.resource.kind == "HelmValues":
            _guess(guesses, skips, f, _values_key(config, f, texts, allowed), after[1:])
            continue
        if after.startswith("\0") and adding and (v := _FROM_VAR.search(after)):
            _guess(guesses, skips, f, _variable(config, f, v[1], texts, allowed), after[1:])
            continue
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
    return texts, sorted(edits.values(), key=lambda e: (e.file, e.line)), skips, \
        list(guesses.values())


Guesses = dict[tuple[tuple[str, int, str, bool], ...], Group]


def _guess(guesses: Guesses, skips: list[Skip], f: Finding, found: Group | str,
           why: str | None = None) -> None:
    """Records ``f``'s alternatives (with another finding's, when the same edits resolve
    both: the same key for two workloads), or skips it: ``why`` if given, else the reason
    no alternative was found."""
    if isinstance(found, str):
        skips.append(Skip(f, f"{why}; {found}" if why else found))
        return
    ident = tuple(e.same for alt in found for e in alt)
    if ident in guesses:
        found = [[replace(e, findings=(*e.findings, f)) for e in alt] for alt in guesses[ident]]
    guesses[ident] = found


def _changes(texts: Texts, edits: list[Edit]) -> Changes:
    """Each edited file's text as read and with ``edits``."""
    out: Changes = {}
    for file in dict.fromkeys(e.file for e in edits):
        lines = texts[file]
        assert isinstance(lines, list)  # (an edit is made only of a file that was read)
        new = list(lines)
        mine = [e for e in edits if e.file == file]
        for e in mine:
            if not e.insert:
                new[e.line - 1] = e.after
        added: dict[int, list[str]] = {}
        for e in mine:
            if e.insert:
                added.setdefault(e.line, []).append(e.after)
        for line, pieces in added.items():  # after the replacements: they follow its new text
            # Several at one place share one paragraph: only the last keeps a blank line,
            # and Terraform's `=` are aligned as terraform fmt would.
            # Deeper first: a key that continues the block above comes before one that
            # starts a new block at a shallower level (it would nest under it otherwise).
            pieces = _aligned(sorted(pieces, key=lambda p: -(len(p) - len(p.lstrip(" ")))))
            text = "".join(p.rstrip("\r\n") + ("\r\n" if "\r\n" in p else "\n")
                           for p in pieces[:-1]) + pieces[-1]
            if line == 0:
                new[:1] = [text + (new[0] if new else "")]
                continue
            end = "" if new[line - 1].endswith("\n") else ("\r\n" if "\r\n" in text
                                                            else "\n")
            new[line - 1] += end + text
        out[file] = ("".join(lines), "".join(new))
    return out


def _aligned(pieces: list[str]) -> list[str]:
    parts = [re.match(r"^( *)([\w-]+) = (.*)$", p, re.S) for p in pieces]
    if len(pieces) < 2 or not all(parts):
        return pieces
    width = max(len(m[2]) for m in parts if m)
    return [f"{m[1]}{m[2].ljust(width)} = {m[3]}" for m in parts if m]


def _verified(texts: Texts, edits: list[Edit], skips: list[Skip]
              ) -> tuple[list[Edit], list[Skip], Changes]:
    """The edits of each file whose result reads back as the file with just those values
    changed (parsed again: YAML by value at each key, Terraform by count of changed
    values); a file that does not is left alone, and its findings say why."""
    kept: list[Edit] = []
    changes: Changes = {}
    for file, (old, text) in _changes(texts, edits).items():
        mine = [e for e in edits if e.file == file]
        if _reads_back(file, old, text, mine):
            kept += mine
            changes[file] = (old, text)
        else:
            skips += [Skip(f, f"{file}: the edit would change more than the value (or not "
                           "read back): change it by hand") for e in mine for f in e.findings]
    return kept, skips, changes


def _reads_back(file: str, old: str, new: str, edits: list[Edit]) -> bool:
    try:
        if file.endswith((".tf", ".tfvars")):
            return _changed_leaves(_hcl_tree(old), _hcl_tree(new)) == len(edits)
        import yaml

        before, after = yaml.safe_load(old), yaml.safe_load(new)
    except Exception:  # a parser's own errors: whatever does not read back is refused
        return False
    expected = json.loads(json.dumps(before, default=str))
    if not isinstance(expected, dict):
        expected = {}  # an empty file: a new key makes it a mapping
    for e in edits:
        f = e.findings[0]
        key = e.key or (f.location.key if f.location else None)
        assert key is not None
        node: object = expected
        steps = paths.parse(key)
        for step in steps[:-1]:
            if e.insert and isinstance(node, dict) and step not in node:
                node[step] = {}  # the parents an insertion adds
            node = node[step] if isinstance(node, dict | list) else None  # type: ignore[index]
        if not isinstance(node, dict | list):
            return False
        node[steps[-1]] = e.value if e.value is not None else f.remediation.value  # type: ignore[index]
    return bool(json.loads(json.dumps(after, default=str)) == expected)


def _hcl_tree(text: str) -> object:
    import hcl2

    from auditor.terraform.loader import options

    return hcl2.loads(text, serialization_options=options())


def _changed_leaves(a: object, b: object) -> int:
    """How many values differ; an added key counts as one (an attribute an edit adds)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if not a.keys() <= b.keys():
            return 1 << 20
        return sum(_changed_leaves(a[k], b[k]) for k in a) + len(b.keys() - a.keys())
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 1 << 20
        return sum(_changed_leaves(x, y) for x, y in zip(a, b, strict=True))
    return int(a != b)


def suggest(config: Config, report: Report, policies: list[Policy] | None = None,
            now: datetime | None = None) -> None:
    """Each new fixable declared finding's new line (``remediation.suggestion``), for a
    pull request's suggested change; none where no edit would be made. (Only new ones: a
    fleet's scan does not read and parse every file again for lines nobody asked for.)"""
    new = [f for f in report.findings if f.baseline != "existing"]
    edits, _, _ = plan(config, report.model_copy(update={"findings": new}), "declared",
                       policies, now)
    for e in edits:
        if e.insert and e.line == 0:
            continue  # (a suggestion replaces a line: there is none above the first)
        text = (e.before.rstrip("\r\n") + "\n" if e.insert else "") + e.after.rstrip("\r\n")
        for f in e.findings:
            f.remediation.suggestion = Suggestion(file=e.file, line=e.line, text=text)


_ADDABLE = re.compile(r"the block does not set|does not set \S+: no single value")
_META = re.compile(r"\s*(source|version|count|for_each|provider|providers)\s*=")


def _argument(config: Config, f: Finding, texts: Texts, allowed: _Scope
              ) -> Group | str:
    """A Terraform attribute nobody sets, added where the team sets such things: in the
    finding's own block (a resource of the environment's files), or as an argument of the
    environment's call to the module whose line reads it (``name = var.name``, and the call
    passes no ``name``). Which of the two holds is for the scan of the result to confirm."""
    assert f.location is not None and f.location.line is not None
    field = f.remediation.field or ""
    literal = _hcl(f.remediation.value) if f.remediation.value is not None else ""
    if not re.fullmatch(r"[A-Za-z_][\w-]*", field) or not literal:
        return "not one attribute of the block: change it by hand"
    file, line = f.location.file, f.location.line
    own = texts.get(file)
    body = own[line - 1] if isinstance(own, list) and line <= len(own) else (
        _line_of(config.path(file), line) or "")
    if isinstance(own, list) and re.match(r"\s*(resource|module)\s", body):
        return _in_block(texts, file, line, field, literal, f)
    m = _HCL_LINE.match(body.rstrip("\r\n")) if len(body) <= MAX_LINE else None
    names = _VAR_REFS.findall(m["value"]) if m else []
    name = m["key"] if m and m["key"] in names else (names[0] if len(set(names)) == 1
                                                      else None)
    call = re.match(r"module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.", f.resource.address or "")
    env = config.environments[f.environment]
    if name is None or call is None or env.terraform is None:
        return f"{file}:{line} is not a value the environment's files set: change it by hand"
    opening = re.compile(rf'^\s*module\s+"{re.escape(call[1])}"\s*\{{\s*$')
    for folder in env.terraform.dirs:
        for tf in sorted(config.path(folder).glob("*.tf")):
            rel = config.rel(tf)
            lines = _lines(config, rel, texts, allowed)
            if isinstance(lines, str):
                continue
            at = next((i + 1 for i, text in enumerate(lines) if opening.match(text)), None)
            if at is not None:
                return _in_block(texts, rel, at, name, literal, f)
    return f"no call of module {call[1]} found in {f.environment}'s Terraform files"


_FROM_VAR = re.compile(r"from an expression \(var\.([A-Za-z_][\w-]*)\)")


def _variable(config: Config, f: Finding, name: str, texts: Texts, allowed: _Scope
              ) -> Group | str:
    """The line that gives root-module variable ``name`` its value, as Terraform picks
    it: the last variables file the config names that sets it, else the directory's
    terraform.tfvars / *.auto.tfvars, else the variable's default. Only for a variable the
    environment's files use once (a change there would change every use)."""
    assert f.location is not None
    env = config.environments[f.environment]
    tf = env.terraform
    if tf is None:
        return "no Terraform directory"
    dirs = [config.path(d) for d in tf.dirs]
    if _real(config.path(f.location.file)).parent not in [_real(d) for d in dirs]:
        return f"var.{name} is a module's variable: change it where the module is called"
    if name in tf.vars:
        return f"the config sets var.{name} (terraform.vars): change it there"
    use = re.compile(rf"(?<![\w.])var\.{re.escape(name)}(?![\w-])")
    sources = sorted(p for d in dirs for p in d.glob("*.tf"))
    # Uses outside the variable's own block (its validation reads it too).
    own = re.compile(rf'^variable\s+"{re.escape(name)}"\s*\{{.*?^\}}', re.M | re.S)
    uses = sum(len(use.findall(own.sub("", _text(p) or ""))) for p in sources)
    if uses != 1:
        return (f"var.{name} is used {uses} times in {f.environment}'s Terraform: changing "
                "it changes them all: change it by hand")
    # Terraform loads terraform.tfvars, then *.auto.tfvars by name, then -var-file: the
    # last file that sets it wins.
    loaded = [p for d in dirs for p in [
        d / "terraform.tfvars", d / "terraform.tfvars.json",
        *sorted([*d.glob("*.auto.tfvars"), *d.glob("*.auto.tfvars.json")], key=lambda p: p.name)]
        if p.is_file()] + [config.path(v) for v in tf.var_files]
    setting = re.compile(rf"^{re.escape(name)}\s*=")  # a top-level attribute of the file
    for path in reversed(loaded):
        if path.name.endswith(".json"):
            if re.search(rf'"{re.escape(name)}"\s*:', _text(path) or ""):
                return (f"{config.rel(path)} sets var.{name} (JSON): change it there by "
                        "hand")
            continue
        found = _value_line(config, f, config.rel(path), setting, name, texts, allowed)
        if found is not None:
            return found
    block = re.compile(rf'^\s*variable\s+"{re.escape(name)}"\s*\{{\s*$')
    for path in sources:
        rel = config.rel(path)
        lines = _lines(config, rel, texts, allowed)
        if isinstance(lines, str):
            continue
        at = next((i for i, text in enumerate(lines) if block.match(text)), None)
        if at is None:
            continue
        default = re.compile(r"^\s*default\s*=")
        for i in range(at + 1, len(lines)):
            if lines[i].rstrip("\r\n") == "}":
                break
            if default.match(lines[i]):
                return _literal_edit(f, rel, i + 1, lines, "default", texts)
        return f"{rel}:{at + 1}: var.{name} has no default: set it in a variables file"
    return f"var.{name} is not declared in {f.environment}'s Terraform"


def _value_line(config: Config, f: Finding, rel: str, setting: re.Pattern[str], name: str,
                texts: Texts, allowed: _Scope) -> Group | str | None:
    lines = _lines(config, rel, texts, allowed)
    if isinstance(lines, str):
        return lines
    at = next((i for i, text in enumerate(lines) if setting.match(text)), None)
    return None if at is None else _literal_edit(f, rel, at + 1, lines, name, texts)


def _literal_edit(f: Finding, file: str, line: int, lines: list[str], key: str,
                  texts: Texts) -> Group | str:
    body = lines[line - 1].rstrip("\r\n")
    m = _HCL_LINE.match(body) if len(body) <= MAX_LINE else None
    value = f.remediation.value
    literal = _hcl(value) if value is not None else ""
    if m is None or m["key"] != key or not _HCL_LITERAL.match(m["value"]) or not literal:
        return f"{file}:{line} does not set it to a literal: change it by hand"
    after = f"{m['head']}{literal}{m['tail']}{lines[line - 1][len(body):]}"
    if after == lines[line - 1]:
        return f"{file}:{line} says {literal} already: the finding has another cause"
    checked = _checked(texts, Edit(file, line, lines[line - 1], after, (f,)),
                       f"{file}:{line}: the edit would not read back: change it by hand")
    return checked if isinstance(checked, str) else [[checked]]


def _in_block(texts: Texts, file: str, opening: int, name: str, literal: str, f: Finding
              ) -> Group | str:
    """``name = literal`` added to the block that opens on line ``opening``, after its
    meta-arguments (source, version, count, …)."""
    lines = texts[file]
    assert isinstance(lines, list)
    head = lines[opening - 1].rstrip("\r\n")
    where = f"{file}:{opening}"
    if not head.rstrip().endswith("{"):
        return f"{where}: the block is not written one attribute a line: add {name} by hand"
    outer = len(head) - len(head.lstrip(" "))
    close = next((i for i in range(opening, len(lines))
                  if lines[i].rstrip("\r\n") == " " * outer + "}"), None)
    if close is None:
        return f"{where}: the block's end was not found: add {name} by hand"
    inside = lines[opening:close]
    if any(re.match(rf"\s*{re.escape(name)}\s*=", text) for text in inside):
        return f"{where}: the block sets {name} from something else: change it there"
    deeper = [t for t in inside if t.strip() and len(t) - len(t.lstrip(" ")) > outer]
    indent = len(deeper[0]) - len(deeper[0].lstrip(" ")) if deeper else outer + 2
    after = opening
    for i in range(opening, close):
        if _META.match(lines[i]) and len(lines[i]) - len(lines[i].lstrip(" ")) == indent:
            after = i + 1
        elif lines[i].strip():
            break
    end = "\r\n" if lines[opening - 1].endswith("\r\n") else "\n"
    text = f"{' ' * indent}{name} = {literal}{end}"
    # terraform fmt aligns the `=` of neighbouring one-line attributes: the new line is
    # placed so that no other line has to change.
    run = _attribute_run(lines, after, close, indent)
    if after > opening and after < close and not lines[after].strip():
        after, text = after + 1, text + end  # a paragraph of its own after source/version
    elif run:
        last, column = run
        if indent + len(name) < column:
            text = f"{' ' * indent}{name.ljust(column - indent - 1)} = {literal}{end}"
        else:
            text = end + text  # too long for the group's column: a paragraph of its own
        after = last
    checked = _checked(texts, Edit(file, after, lines[after - 1], text, (f,), True),
                       f"{where}: adding {name} would not read back: add it by hand")
    return checked if isinstance(checked, str) else [[checked]]


def _attribute_run(lines: list[str], after: int, close: int, indent: int
                   ) -> tuple[int, int] | None:
    """The one-line attributes right after line ``after``: the line the run ends on and
    the column of its aligned ``=`` (None when there is none, or they are not aligned)."""
    columns, last = set(), None
    for i in range(after, close):
        m = re.match(rf"^ {{{indent}}}[\w-]+( *)= .*[^{{\[(\s]\s*$", lines[i]) \
            if len(lines[i]) <= MAX_LINE else None
        if m is None:
            break
        columns.add(lines[i].index("="))
        last = i + 1
    return (last, columns.pop()) if last is not None and len(columns) == 1 else None


def _line_of(path: FsPath, line: int) -> str | None:
    """One line of a file that is read, not edited (a module's, to see what it reads)."""
    text = _text(path)
    lines = text.splitlines() if text is not None else []
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _by_template(config: Config, f: Finding) -> bool:
    """A chart's template writes the finding's field: no values key was found to set it."""
    env = config.environments.get(f.environment)
    if env is None or env.helm is None or f.location is None or f.location.key is not None:
        return False
    templates = _real(config.path(env.helm.chart)) / "templates"
    return templates in _real(config.path(f.location.file)).parents


def _guesses(config: Config, f: Finding, policy: Policy | None, texts: Texts,
             allowed: _Scope) -> Group | str:
    """Edits that each give a values key the chart reads the remedy's value, or why there
    is none: the keys on the finding's template line, or (a toggle) the keys guarding the
    chart's templates of the kind the remedy renders."""
    from auditor import fix_keys

    assert f.location is not None and f.location.line is not None
    helm = config.environments[f.environment].helm
    assert helm is not None
    chart = config.path(helm.chart)
    at = f"{f.location.file}:{f.location.line}"
    renders = policy.remediation.renders if policy is not None else None
    if renders:
        candidates = fix_keys.toggles(_templates(chart), renders)
        if not candidates:
            return (f"the chart has no {renders} template behind an enabled/create value: "
                    f"add one to the chart, or set the chart's own value for it by hand")
    else:
        template = _text(config.path(f.location.file))
        candidates = fix_keys.on_line(template or "", f.location.line, f.remediation.value)
        if not candidates:
            return (f"{at}: the chart's template writes it and reads no values key on that "
                    "line: change the template")
    alternatives: Group = []
    reasons = []
    for c in candidates:
        edit = _key_edit(config, f, c, texts, allowed)
        if isinstance(edit, str):
            reasons.append(f"{paths.format(c.key)}: {edit}")
        else:
            alternatives.append([edit])
    return alternatives or "; ".join(reasons)[:600]


def _values_key(config: Config, f: Finding, texts: Texts, allowed: _Scope,
                field: str | None = None) -> Group | str:
    """A chart setting the values lack (a HelmValues finding's field is its values key),
    or ``field``: given in the environment's values, as a key the chart reads."""
    from auditor import fix_keys

    try:
        key = paths.parse(field or f.remediation.field or "")
    except ValueError:
        key = ()
    if not key or not all(isinstance(k, str) for k in key):
        return "not one values key: set it by hand"
    edit = _key_edit(config, f, fix_keys.Candidate(tuple(map(str, key)), f.remediation.value),
                     texts, allowed)
    return edit if isinstance(edit, str) else [[edit]]


def _key_edit(config: Config, f: Finding, c: Candidate, texts: Texts, allowed: _Scope
              ) -> Edit | str:
    """The edit that makes the environment's values set ``c.key`` to ``c.value``: at the
    line of the last values file that sets it (Helm takes it from there), else as a new
    key in the environment's own (last) values file."""
    from auditor import fix_keys
    from auditor.yamlfile import YamlError, load_first

    helm = config.environments[f.environment].helm
    assert helm is not None
    defaults = config.path(helm.chart) / "values.yaml"
    files = [config.rel(p) for p in ([defaults] if defaults.is_file() else [])
             + [config.path(v) for v in helm.values]]
    key, value = paths.format(c.key), c.value
    for i, file in enumerate(reversed(files)):
        lines = _lines(config, file, texts, allowed)
        if isinstance(lines, str) and i == 0:
            return lines
        if isinstance(lines, str):
            break  # (another environment's too): the key goes in the environment's own file
        try:
            doc = load_first("".join(lines))
        except YamlError:
            return f"{file} does not parse"
        if c.key not in doc.lines:
            continue
        line = doc.lines[c.key]
        assert f.location is not None
        # The finding as if located at this key, with this candidate's value.
        found = f.model_copy(update={
            "location": f.location.model_copy(update={"line": line, "key": key}),
            "remediation": f.remediation.model_copy(update={"value": value})})
        after = _edited(found, file, lines[line - 1])
        if after.startswith("\0"):
            return after[1:]
        if after == lines[line - 1]:
            return f"{file}:{line} sets it to that already"
        edit = Edit(file, line, lines[line - 1], after, (f,), False, key, value)
        return _checked(texts, edit, f"{file}: the edit would change more than {key} (or "
                                     "not read back)")
    if not helm.values:
        return (f"no values file of {f.environment} is named in the config (helm.values): "
                "name one, and the key goes there")
    file = files[-1]
    lines = texts[file]
    assert isinstance(lines, list)
    added = fix_keys.setting("".join(lines), tuple(c.key), _yaml(value))
    if isinstance(added, str):
        return f"{file}: {added}"
    before = lines[added.line - 1] if added.line else ""
    edit = Edit(file, added.line, before, added.text, (f,), True, key, value)
    return _checked(texts, edit, f"{file}: the edit would change more than {key} (or not "
                                 "read back)")


def _checked(texts: Texts, edit: Edit, why: str) -> Edit | str:
    """The edit, if its file reads back as the file with only its value changed; else
    ``why``."""
    old, new = _changes(texts, [edit])[edit.file]
    return edit if _reads_back(edit.file, old, new, [edit]) else why


def _templates(chart: FsPath) -> dict[str, str]:
    from auditor import fix_keys

    folder = chart / "templates"
    found = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".tpl"))
    texts = {}
    for path in found[:fix_keys.MAX_TEMPLATES]:
        text = _text(path)
        if text is not None:
            texts[path.relative_to(folder).as_posix()] = text
    return texts


def _text(path: FsPath) -> str | None:
    """A chart file's text (None when it may not or cannot be read)."""
    if project.refusal(path) is not None:
        return None
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _not_adopted(f: Finding) -> str:
    declared, live = str(f.details.get("declared", "")), str(f.details.get("live", ""))
    if declared.startswith("(not declared)"):
        return f"{f.item}: only live has it: declare it in Git by hand, or remove it live"
    if "(hidden)" in live:
        return f"{f.item}: its live value is not shown (kept only as a hash): not written"
    if live == "(absent)":
        return f"{f.item}: gone live: remove it from Git by hand, or restore it live"
    return f"{f.item}: not one value of the declared kind at one line: change it by hand"


def _edited(f: Finding, file: str, line: str) -> str:
    """The line with the finding's value, or NUL + why not."""
    assert f.location is not None and f.remediation.value is not None
    value, at = f.remediation.value, f"{file}:{f.location.line}"
    body = line.rstrip("\r\n")
    if len(body) > MAX_LINE:  # (the line patterns are not linear in a line's length)
        return f"\0{at}: the line is longer than {MAX_LINE} characters: change it by hand"
    end = line[len(body):]
    if file.endswith(".tf"):
        return _hcl_line(f, at, body, end, value)
    if f.location.key is None:
        return (f"\0{at} is not a values key the chart reads (the chart's template writes "
                "it): change the template")
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
    return [_real(config.path(p)) for env_name, env in config.environments.items()
            for _, p, role in named_paths(env_name, env) if role != "plan"]


def _real(path: FsPath) -> FsPath:
    """Where a path leads; itself where that cannot be said (a link loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return FsPath(os.path.abspath(path))


def _shared(config: Config, file: str, environment: str) -> str | None:
    """The other environments that read ``file`` (a values file, a chart's own)."""
    from auditor.fix_verify import readers

    return ", ".join(e for e in readers(config, file) if e != environment) or None


def _lines(config: Config, file: str, texts: Texts, allowed: _Scope) -> list[str] | str:
    """:func:`_read` once per run: ``texts`` keeps what it gave (and the edits since)."""
    if file not in texts:
        texts[file] = _read(config, file, allowed)
    return texts[file]


def _read(config: Config, file: str, allowed: _Scope) -> list[str] | str:
    """The file's lines (split at LF only, each with its own line end), or why it is not
    edited."""
    path = config.path(file)
    resolved = _real(path)
    under = next((a for a in allowed.paths if resolved == a or a in resolved.parents), None)
    if under is None:
        return f"{file}: not a file the config names: not edited"
    from auditor.fix_verify import readers

    unchecked = [e for e in readers(config, file) if e not in allowed.selected]
    if unchecked:
        return (f"{file} is read by {', '.join(unchecked[:3])} too, which this run does not "
                f"check (--env): fix without --env, or in the environment's own values")
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
    return _real(config.path(file))


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
