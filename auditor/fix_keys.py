"""Values keys a chart reads, for a finding no values key was found to set: which keys
could carry the remedy, and the edit that gives one a value in the environment's values.

Candidates are read from the chart's templates: the ``.Values.…`` keys the finding's
template line uses (``revisionHistoryLimit: {{ .Values.history | default 1 }}``), or for
a remedy that is a toggle (a policy's ``remediation.renders``), the ``enabled``/``create``
keys guarding a template that writes an object of that kind. They are guesses until the
chart is rendered with them: :mod:`auditor.fix_verify` keeps only one that resolves the
finding. The edit goes where Helm would take the key from: the last values file that sets
it, else the environment's own (last) values file, as a new key under its nearest parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.limits import MAX_INPUT_BYTES
from auditor.yamlfile import YamlError, load_first

_REF = re.compile(r"(?<![\w$])\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*){1,8})")
_GUARD = re.compile(r"\{\{-?\s*(?:if|with|else\s+if)\b([^}]*)\}\}")
_TOGGLES = ("enabled", "enable", "create")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_CANDIDATES = 4  # keys tried per finding (each costs a render)
MAX_TEMPLATES = 400  # template files read per chart when looking for a kind


@dataclass(frozen=True)
class Candidate:
    key: tuple[str, ...]
    value: Any


def on_line(template: str, line: int, value: Any) -> list[Candidate]:
    """The values keys used on a template's line (1-based), each with ``value``."""
    lines = template.splitlines()
    if not 1 <= line <= len(lines):
        return []
    keys = [tuple(m[1].split(".")[1:]) for m in _REF.finditer(lines[line - 1])]
    return [Candidate(k, value) for k in dict.fromkeys(keys)][:MAX_CANDIDATES]


def toggles(templates: dict[str, str], kind: str) -> list[Candidate]:
    """``enabled``/``create`` keys in the guards of the templates that write ``kind``."""
    found: list[tuple[str, ...]] = []
    wanted = re.compile(rf"^\s*kind:\s*['\"]?{re.escape(kind)}['\"]?\s*$", re.M)
    for name in sorted(templates)[:MAX_TEMPLATES]:
        text = templates[name]
        if not wanted.search(text):
            continue
        for guard in _GUARD.finditer(text):
            for m in _REF.finditer(guard[1]):
                key = tuple(m[1].split(".")[1:])
                # `if not .Values.x.enabled` renders it when the key is false: not a toggle
                negated = re.search(r"\bnot\s*\(?\s*$", guard[1][:m.start()])
                if key[-1].lower() in _TOGGLES and not negated:
                    found.append(key)
    return [Candidate(k, True) for k in dict.fromkeys(found)][:MAX_CANDIDATES]


@dataclass(frozen=True)
class KeyEdit:
    """New lines: ``text`` (each line with its line end) goes after 1-based ``line`` (0:
    at the top)."""

    line: int
    text: str


def setting(text: str, key: tuple[str, ...], value_text: str) -> KeyEdit | str:
    """The edit that makes values file ``text`` set ``key`` (its last key's line, when
    the file sets it; else new lines under its nearest parent in the file), or why not.
    ``value_text``: the value as YAML. Block style only; the caller reads the result back."""
    if len(text) > MAX_INPUT_BYTES:
        return "the file is too large to edit"
    if not all(_PLAIN_KEY.match(k) for k in key):
        return f"{'.'.join(key)} is not a plain key to add"
    try:
        doc = load_first(text)
    except YamlError as exc:
        return f"it does not parse ({exc})"
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        return "it is not a mapping"
    lines = text.split("\n")
    node: Any = data
    depth = 0
    while depth < len(key) and isinstance(node, dict) and key[depth] in node:
        node = node[key[depth]]
        depth += 1
    if depth == len(key):
        return "it sets the key already"  # (a line edit's case)
    if depth and not isinstance(node, dict):
        return (f"it sets {'.'.join(key[:depth])} to something other than a mapping: set "
                f"{'.'.join(key)} by hand")
    if depth and not node:
        return f"it sets {'.'.join(key[:depth])} to an empty mapping: set it by hand"
    parent = key[:depth]
    if not parent:
        indent, after, unit = 0, _last_line(lines), 2
    else:
        children = [line for path, line in doc.lines.items()
                    if len(path) == depth + 1 and path[:depth] == parent]
        if not children:
            return f"{'.'.join(parent)} has no lines to add under"
        first = lines[min(children) - 1]
        indent = len(first) - len(first.lstrip(" "))
        own = lines[doc.lines[parent] - 1]
        unit = max(indent - (len(own) - len(own.lstrip(" "))), 1)
        last = max(line for path, line in doc.lines.items()
                   if len(path) > depth and path[:depth] == parent)
        after = _block_end(lines, last, indent)
    new = []
    for i, part in enumerate(key[depth:]):
        pad = " " * (indent + i * unit)
        tail = f" {value_text}" if i == len(key) - depth - 1 else ""
        new.append(f"{pad}{part}:{tail}")
    end = "\r\n" if "\r\n" in text else "\n"
    return KeyEdit(after, "".join(piece + end for piece in new))


def _last_line(lines: list[str]) -> int:
    """The last line with content (new top-level keys go after it)."""
    n = len(lines)
    while n and not lines[n - 1].strip():
        n -= 1
    return n


def _block_end(lines: list[str], last: int, indent: int) -> int:
    """The last line of the entry starting on line ``last``: its deeper lines too."""
    end = last
    for i in range(last, len(lines)):  # lines[i] is line i + 1
        body = lines[i]
        if not body.strip():
            continue
        if len(body) - len(body.lstrip(" ")) <= indent:
            break
        end = i + 1
    return end
