"""Markdown that is safe to build from untrusted text (configs, reports, live objects).

:class:`Md` marks text that is already Markdown; everything else goes through
:func:`escape`, which makes HTML characters entities and backslash-escapes every character
Python-Markdown gives a meaning to, so a resource named ``<script>alert(1)</script>`` is
shown as text. Code goes into fences (or spans) longer than any backtick run it holds, so
no value can close them. :func:`markdown_env` is a Jinja2 environment that does this to
every ``{{ value }}`` of a Markdown template, like HTML autoescape does for HTML.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path as FsPath
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = FsPath(__file__).parent / "templates"

# Python-Markdown's ESCAPED_CHARS plus the tables extension's pipe.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()>#+\-.!|])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_BACKTICKS = re.compile(r"`+")


class Md(str):
    """Text that is Markdown already: templates and :func:`escape` leave it as it is."""

    __slots__ = ()


def clean(text: object) -> str:
    """Any value as one line of text without control characters."""
    return _one_line(text).strip()


def _one_line(text: object) -> str:
    return _NEWLINES.sub(" ", _CONTROL.sub("", str(text)))


def escape(text: object) -> Md:
    """Inline text: shown literally, on one line (it may sit in a table cell or a title)."""
    if isinstance(text, Md):
        return text
    value = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return Md(_SPECIAL.sub(r"\\\1", value))


def code(text: object) -> Md:
    """An inline code span that no backtick in ``text`` can close."""
    value = clean(text)
    if not value:
        return Md("")
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return Md(f"{fence}{pad}{value}{pad}{fence}")


def prose(text: object) -> Md:
    """Text whose backtick spans are code (as policy texts write commands) and the rest
    escaped: safe for any input, readable for ours."""
    value = clean(text)
    out: list[str] = []
    last = 0
    for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", value):
        out += [escape(value[last:m.start()]), code(m.group(2).strip())]
        last = m.end()
    out.append(escape(value[last:]))
    return Md("".join(out))


def fenced(text: object, lang: str = "", indent: str = "") -> Md:
    """A fenced code block (lines kept) with a fence longer than any backtick run."""
    value = _CONTROL.sub("", str(text)).strip("\n")
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [f"{fence}{lang}", *value.splitlines(), fence]
    return Md("\n".join(indent + line if line else line for line in lines))


def indent(text: str, prefix: str = "    ") -> Md:
    """Every non-empty line indented (the body of an admonition)."""
    return Md("\n".join(prefix + line if line.strip() else "" for line in text.splitlines()))


def link(text: object, href: str) -> Md:
    """A link whose text is escaped; ``href`` is ours (a page path and anchor)."""
    return Md(f"[{escape(text)}]({href})")


def href(from_page: str, to_page: str, anchor: str = "") -> str:
    """A relative link between two source pages (``a/b.md`` to ``c.md#x``), which MkDocs
    checks in strict mode and rewrites for directory URLs."""
    target = posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")
    return f"{target}#{anchor}" if anchor else target


def _finalize(value: Any) -> Any:
    return value if isinstance(value, Md) else escape("" if value is None else value)


def markdown_env() -> Environment:
    """Jinja2 for our Markdown templates: every ``{{ value }}`` is escaped unless it is
    :class:`Md`; filters ``code``, ``prose``, ``fenced``, ``block`` (indent) and ``link`` mark
    their output as Markdown."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=False, finalize=_finalize, keep_trailing_newline=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(code=code, prose=prose, fenced=fenced, block=indent, link=link,
                       md=Md)
    return env


def html_env() -> Environment:
    """Jinja2 for the HTML/SVG fragments we embed (the trend chart): autoescaped."""
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=select_autoescape(["svg.j2", "html.j2"]),
                       trim_blocks=True, lstrip_blocks=True)
