"""Markdown that is safe to build from untrusted text (configs, reports, live objects).

:class:`Md` marks text that is already Markdown; everything else goes through
:func:`escape`, which makes HTML characters entities and backslash-escapes every character
Python-Markdown gives a meaning to, so a resource named ``<script>alert(1)</script>`` is
shown as text. Code goes into fences (or spans) longer than any backtick run it holds, so
no value can close them. :func:`markdown_env` is a Jinja2 environment that does this to
every ``{{ value }}`` of a Markdown template, like HTML autoescape does for HTML.
:class:`PageEnvironment` renders the user's ``site/`` pages, which a pull request's author
writes: sandboxed, only from the source folder, and bounded in work and output.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path

from auditor.project import inside
from auditor.templates import BoundedSandbox, Limits, bounded

TEMPLATES = FsPath(__file__).parent / "templates"

# Python-Markdown's ESCAPED_CHARS plus the tables extension's pipe.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()>#+\-.!|])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_BACKTICKS = re.compile(r"`+")

# A runbook page is a few KB (MkDocs crawls on megabytes); a bundled page takes < 100 steps.
PAGE = Limits(range=100_000, size=2_000_000, output=2_000_000, steps=1_000_000, seconds=10.0)


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


class _SourceLoader(FileSystemLoader):
    """Templates of one folder: an include that a link leads outside it is refused."""

    def __init__(self, source: FsPath) -> None:
        super().__init__(source)
        self.source = source
        self.root = source.resolve()

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.source.joinpath(*split_template_path(template))
        if os.path.lexists(path) and not inside(path, self.root):
            raise SecurityError(f"{template} is a symbolic link that leads outside the "
                                "runbook source (or does not resolve)")
        return super().get_source(environment, template)


class PageEnvironment(BoundedSandbox):
    """Jinja2 for the user's pages: the policy templates' sandbox (auditor.templates), with
    a page's bounds (:data:`PAGE`) and templates loaded from ``source`` only. The sandbox
    refuses internals (``__class__``, ``__globals__``) and mutating methods; a bound that
    breaks raises :class:`TemplateBoundError`."""

    def __init__(self, source: FsPath) -> None:
        super().__init__(PAGE, loader=_SourceLoader(source), undefined=StrictUndefined,
                         autoescape=False, keep_trailing_newline=True,
                         # `{#id}` is a heading id (attr_list), not a Jinja comment
                         comment_start_string="{##", comment_end_string="##}")

    def render_page(self, name: str, **context: Any) -> str:
        return bounded(self.get_template(name), context)
