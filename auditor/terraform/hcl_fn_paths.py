"""Path text as Terraform's Go code handles it: the pure path functions (basename, dirname,
abspath, pathexpand) and the glob syntax of ``fileset`` (the doublestar library's).

``go_clean`` is Go's ``filepath.Clean`` (lexical, unlike :func:`os.path.normpath` it turns a
leading ``//`` into ``/``). ``abspath`` of a relative path and ``pathexpand`` of ``~`` depend
on the machine terraform runs on, so they are unknown offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from auditor.conditions import Pattern, compile_pattern
from auditor.terraform.hcl_values import Stop, to_str
from auditor.unknown import Unknown

_META = re.compile(r"[*?\[{\\]")


def go_clean(path: str) -> str:
    rooted, parts = path.startswith("/"), list[str]()
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg != "..":
            parts.append(seg)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not rooted:  # ".." above the root of an absolute path is the root
            parts.append("..")
    text = "/".join(parts)
    return "/" + text if rooted else text or "."


def _basename(value: object) -> str:
    path = to_str(value)
    if not path:
        return "."
    path = path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path else "/"


def _dirname(value: object) -> str:
    path = to_str(value)
    return go_clean(path[:path.rfind("/") + 1])


def _abspath(value: object) -> str:
    path = to_str(value)
    if not path.startswith("/"):
        raise Stop(Unknown(f"abspath({path!r}) depends on the directory terraform runs in"))
    return go_clean(path)


def _pathexpand(value: object) -> str:
    path = to_str(value)
    if path.startswith("~"):
        raise Stop(Unknown(f"pathexpand({path!r}) depends on the home directory of the machine "
                           "terraform runs on"))
    return path


def split_glob(pattern: str) -> tuple[str, str]:
    """(the leading folders without glob syntax, the rest of the pattern)."""
    parts = pattern.split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not _META.search(parts[fixed]):
        fixed += 1
    return "/".join(parts[:fixed]) or "/", "/".join(parts[fixed:])


def _translate(pattern: str, i: int, stop: str) -> tuple[str, int]:
    out: list[str] = []
    while i < len(pattern) and pattern[i] not in stop:
        ch = pattern[i]
        at_start = i == 0 or pattern[i - 1] == "/"
        if pattern.startswith("**", i) and at_start and pattern[i + 2:i + 3] in ("/", ""):
            out.append("(?:[^/]+/)*" if pattern[i + 2:i + 3] == "/" else ".*")
            i += 3
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1:end]
            negate = body[:1] in ("!", "^")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end
        elif ch == "{":
            choices = []
            while i < len(pattern) and pattern[i] != "}":
                choice, i = _translate(pattern, i + 1, ",}")
                choices.append(choice)
            out.append(f"(?:{'|'.join(choices)})")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out), i


def glob_regex(pattern: str) -> Pattern:
    """A doublestar pattern (``*``, ``**``, ``?``, ``[a-z]``, ``{a,b}``) as an RE2 regex
    (linear time, whatever the pattern) matching a whole slash-separated relative path."""
    text, _ = _translate(pattern, 0, "")
    try:
        return compile_pattern(rf"\A(?:{text})\z")
    except ValueError:
        return compile_pattern(rf"\A{re.escape(pattern)}\z")


FUNCTIONS: dict[str, Callable[..., object]] = {
    "basename": _basename, "dirname": _dirname, "abspath": _abspath,
    "pathexpand": _pathexpand,
}
