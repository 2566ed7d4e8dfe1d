"""Terraform's regular-expression functions: regex, regexall, and replace() with a /pattern/.

Terraform's patterns are Go's RE2 syntax, so they are compiled with the RE2 matcher the
policies use (:func:`auditor.conditions.compile_pattern`): matching time is linear in the
text, so no pattern can hang a scan. Matches follow Go's rules: an empty match right after
the previous match is skipped, and a replacement expands ``$1``, ``${name}`` and ``$$`` as
Go's ``Regexp.Expand`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, cast

from auditor.conditions import compile_pattern
from auditor.terraform.hcl_fn_common import check_items, check_size
from auditor.terraform.hcl_values import EvalError, to_str

_NAME = re.compile(r"\{(\w+)\}|(\w+)")  # after a "$": Go's letters, digits and underscores


def _compile(pattern: str) -> Any:  # re2 ships no types
    try:
        return cast(Any, compile_pattern(pattern))
    except ValueError as exc:
        raise EvalError(f"error parsing pattern: {exc}") from None


def _matches(compiled: Any, text: str, what: str) -> Iterator[Any]:
    """Go's FindAll: an empty match that abuts the previous match is not a match. At most
    MAX_ITEMS matches: each costs microseconds in the re2 binding, a megabyte of "a" a lot."""
    last, count = -1, 0
    for m in compiled.finditer(text):
        if m.start() == m.end() == last:
            continue
        last, count = m.end(), count + 1
        check_items(count, what)
        yield m


def _result(compiled: Any) -> Callable[[Any], object]:
    """What one match yields: the text, the list of captures, or captures by name."""
    names: dict[str, int] = dict(compiled.groupindex)
    if compiled.groups == 0:
        return lambda m: m.group(0)
    if not names:
        return lambda m: list(m.groups())
    if len(names) != compiled.groups:
        raise EvalError("invalid regexp pattern: cannot mix both named and unnamed capture "
                        "groups")
    return lambda m: {name: m.group(i) for name, i in names.items()}


def _regex(pattern: object, value: object) -> object:
    compiled = _compile(to_str(pattern))
    result = _result(compiled)
    m = compiled.search(to_str(value))
    if m is None:
        raise EvalError("pattern did not match any part of the given string")
    return result(m)


def _regexall(pattern: object, value: object) -> list[object]:
    compiled = _compile(to_str(pattern))
    result, out = _result(compiled), []
    for m in _matches(compiled, to_str(value), "regexall()"):
        out.append(result(m))
    return out


def _expand(template: str, m: Any, names: dict[str, int], groups: int) -> str:
    """Go's Regexp.Expand: $1 or ${1} by number, $name or ${name} by name, $$ for "$"; a
    group that does not exist (or did not match) is empty; a malformed "$" stays."""
    if "$" not in template:
        return template
    out, i = [], 0
    while (j := template.find("$", i)) >= 0:
        out.append(template[i:j])
        if template.startswith("$", j + 1):
            out.append("$")
            i = j + 2
            continue
        ref = _NAME.match(template, j + 1)
        if ref is None:
            out.append("$")
            i = j + 1
            continue
        name = ref.group(1) or ref.group(2)
        group = int(name) if name.isdigit() and name.isascii() else names.get(name, -1)
        if 0 <= group <= groups:
            out.append(m.group(group) or "")
        i = ref.end()
    out.append(template[i:])
    return "".join(out)


def go_replace(text: str, pattern: str, template: str) -> str:
    """Go's Regexp.ReplaceAllString, with the result's size checked as it grows."""
    compiled = _compile(pattern)
    names: dict[str, int] = dict(compiled.groupindex)
    out: list[str] = []
    size, last = 0, 0
    for m in _matches(compiled, text, "replace()"):
        piece = text[last:m.start()] + _expand(template, m, names, compiled.groups)
        size += len(piece)
        check_size(size, "replace()")
        out.append(piece)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


FUNCTIONS: dict[str, Callable[..., object]] = {"regex": _regex, "regexall": _regexall}
