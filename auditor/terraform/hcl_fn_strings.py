"""Terraform's string functions (format and the regex ones have their own modules).

Terraform counts and slices strings by grapheme cluster (``length("👾🕹️")`` is 2), changes
case letter by letter (Go's ToUpper never turns "ß" into "SS") and trims Go's set of spaces;
the helpers here follow. :func:`clusters` approximates Unicode's extended grapheme clusters
(combining marks, variation selectors, emoji modifiers and ZWJ sequences, flag pairs, CRLF),
which covers what configurations hold without a segmentation library. Results whose size can
be computed first (join, replace, indent, split) are refused before they are built.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import cast

from auditor.terraform.hcl_fn_common import check_items, check_size, strings, whole
from auditor.terraform.hcl_fn_regex import go_replace
from auditor.terraform.hcl_values import EvalError, Ref, to_str

# unicode.IsSpace in Go; Python's str.strip() also strips \x1c-\x1f, Go does not.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
_ZWJ = "\u200d"


def _extends(ch: str) -> bool:  # joins the cluster before it
    o = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch == _ZWJ
            or 0x1F3FB <= o <= 0x1F3FF or 0xE0020 <= o <= 0xE007F)  # skin tones, tags


def _regional(ch: str) -> bool:  # two regional indicators make one flag
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def clusters(s: str) -> list[str]:
    """``s`` split into (approximately) Unicode extended grapheme clusters."""
    if s.isascii() and "\r\n" not in s:
        return list(s)
    out, i, n = [], 0, len(s)
    while i < n:
        j = i + 1
        if s[i] == "\r" and s.startswith("\n", j):
            j += 1
        elif unicodedata.category(s[i]) != "Cc":  # controls take no marks
            if _regional(s[i]) and j < n and _regional(s[j]):
                j += 1
            while j < n and (_extends(s[j]) or s[j - 1] == _ZWJ):
                j += 1
        out.append(s[i:j])
        i = j
    return out


def _case(fn: Callable[[str], str]) -> Callable[[object], str]:
    def run(value: object) -> str:
        s = to_str(value)
        if s.isascii():
            return fn(s)
        return "".join(c2 if len(c2 := fn(c)) == 1 else c for c in s)  # rune by rune, as Go
    return run


def _separator(ch: str) -> bool:  # Go's strings.Title: where a new word starts
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    return not ch.isalnum() and ch in GO_SPACE


def _title(value: object) -> str:
    out, prev = [], " "
    for ch in to_str(value):
        up = ch.title()
        out.append(up if _separator(prev) and len(up) == 1 else ch)
        prev = ch
    return "".join(out)


def _join(sep: object, *lists: object) -> object:
    if not lists:
        raise EvalError("join(): at least one list is required")
    s = to_str(sep)
    if (alone := _alone(s, lists)) is not None:
        return alone
    parts: list[str] = []
    for n, lst in enumerate(lists, 1):
        what = f"list {n}" if len(lists) > 1 else "list"
        parts.extend(strings(lst, f"join(): {what}"))
    check_size(sum(map(len, parts)) + len(s) * len(parts), "join()")
    return s.join(parts)


def _alone(sep: str, lists: tuple[object, ...]) -> Ref | None:
    """The one attribute known only after apply that the join is made of: itself, as
    apply will print it (``join("", aws_security_group.db[*].id)``, a module's way of
    taking the id of a resource with count = 1, is that resource's id, not unknown)."""
    if not all(isinstance(lst, list) for lst in lists):
        return None
    items = [item for lst in lists for item in cast(list[object], lst)]
    refs = [item for item in items if isinstance(item, Ref)]
    rest = [item for item in items if not isinstance(item, Ref)]
    blank = not rest or (not sep and all(item == "" for item in rest))
    return refs[0] if len(refs) == 1 and blank else None


def _split(sep: object, value: object) -> list[str]:
    s, text = to_str(sep), to_str(value)
    check_items(text.count(s) + 1 if s else len(text), "split()")
    return text.split(s) if s else list(text)


def _replace(value: object, old: object, new: object) -> str:
    s, o, n = to_str(value), to_str(old), to_str(new)
    if len(o) > 1 and o.startswith("/") and o.endswith("/"):
        return go_replace(s, o[1:-1], n)
    count = s.count(o) if o else len(s) + 1
    check_size(len(s) + count * (len(n) - len(o)), "replace()")
    return s.replace(o, n)


def _indent(spaces: object, value: object) -> str:
    n, s = whole(spaces, "indent(): spaces"), to_str(value)
    if n < 0:
        raise EvalError("indent(): the number of spaces must not be negative")
    check_size(len(s) + n * s.count("\n"), "indent()")
    return s.replace("\n", "\n" + " " * n)


def _substr(value: object, offset: object, length: object) -> str:
    # Go's cty.substr, quirks included: a negative offset counts from the end, and a length
    # of 0 then takes the rest of the string.
    parts, start, size = clusters(to_str(value)), whole(offset, "offset"), whole(length, "length")
    if start < 0:
        start += len(parts)
    elif size == 0:
        return ""
    rest = parts[max(start, 0):]
    return "".join(rest if size <= 0 else rest[:size])


def _both(fn: Callable[[str, str], object]) -> Callable[[object, object], object]:
    return lambda a, b: fn(to_str(a), to_str(b))


FUNCTIONS: dict[str, Callable[..., object]] = {
    "upper": _case(str.upper), "lower": _case(str.lower), "title": _title,
    "chomp": lambda s: to_str(s).rstrip("\r\n"),
    "trimspace": lambda s: to_str(s).strip(GO_SPACE),
    "trim": _both(str.strip), "trimprefix": _both(str.removeprefix),
    "trimsuffix": _both(str.removesuffix),
    "startswith": _both(str.startswith), "endswith": _both(str.endswith),
    "strcontains": _both(str.__contains__),
    "strrev": lambda s: "".join(reversed(clusters(to_str(s)))),
    "substr": _substr, "indent": _indent, "join": _join, "split": _split,
    "replace": _replace,
}


def text_length(value: object) -> int:  # length() of a string, in grapheme clusters
    return len(clusters(to_str(value)))
