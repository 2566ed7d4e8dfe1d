"""The runbook source (``site/*.md``, Jinja2 templates) rendered into the staging docs dir.

Pages see ``names`` (the config's real names: ``{{ names.namespace }}``; a name the
config lacks is the runbook's placeholder, e.g. ``<db-instance-id>``, so pages never
break) and ``findings("heading-id")``. Names come from the config, so they are escaped for
where they land: while rendering, each is a token; afterwards a token inside a fenced
block or a code span becomes the value as one shell word (quoted where it needs it, so a
command copied from the page runs as written), and anywhere else escaped Markdown.
Jinja comments are ``{## ... ##}``, since ``{#id}`` is a heading's id.
Files and folders starting with ``_`` or ``.`` are partials, not pages;
other files are copied as they are. In a pull request the author writes these pages, so
they render in :class:`md.PageEnvironment` (sandboxed and bounded) and a symbolic link that
leads outside the source is refused: it could publish any file the build can read.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path as FsPath
from urllib.parse import urlsplit

from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from auditor.config import Config
from auditor.errors import InputError, where
from auditor.models import Report
from auditor.project import inside
from auditor.shell import placed
from auditor.site import md
from auditor.templates import TemplateBoundError

FindingsHook = Callable[[str, str], md.Md]  # (page source, heading id) -> Markdown

_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_CLOSE_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$")
_CODE_SPAN = re.compile(r"(?<!\\)(`+)(.+?)(?<!`)\1(?!`)")
_H1 = re.compile(r"^#[ \t]+(.+?)(?:[ \t]*\{[^}]*\})?[ \t]*$")
EXTRA_PLACEHOLDERS = {"endpoint": "<your-domain>", "region": "<region>",
                      "service": "<service>", "environment": "<environment>"}
MAX_TOKENS = 1000  # unknown names, and findings() calls, in one build


def names_environment(config: Config | None, reports: Sequence[Report]) -> str | None:
    """The environment whose names fill the runbook's commands: the one the reports cover
    when they cover exactly one, else the first that appears in them (oldest report
    first), else the config's first; only environments of the config count."""
    if config is None or not config.environments:
        return None
    appearing = [e for r in reports for e in r.environments if e in config.environments]
    return next(iter(dict.fromkeys(appearing)), next(iter(config.environments)))


def names_for(config: Config | None, environment: str | None = None) -> dict[str, str]:
    """An environment's names (``environment``, or the config's first; as its remediation
    commands get them, ``names.environment`` included), the host of its first (https)
    endpoint and its AWS region; placeholders for what is missing."""
    from auditor.pipeline import PLACEHOLDERS, declared_inventory

    names = {**PLACEHOLDERS, **EXTRA_PLACEHOLDERS}
    if config is None:
        return names
    if environment not in config.environments:
        environment = next(iter(config.environments))
    env_name, env = environment, config.environments[environment]
    names.update(declared_inventory(config, env_name).names)
    endpoints = sorted(env.endpoints, key=lambda e: not e.startswith("https://"))
    host = urlsplit(endpoints[0]).hostname if endpoints else None
    names.update({k: v for k, v in (("endpoint", host),
                                    ("region", env.aws.region if env.aws else None)) if v})
    return {k: md.clean(v) or EXTRA_PLACEHOLDERS.get(k, f"<{k}>") for k, v in names.items()}


class _Tokens(dict[str, str]):
    """``names`` as the templates see it: each name a token, unknown names too."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.nonce = secrets.token_hex(4)
        self.by_token: dict[str, str] = {}
        self.blocks: dict[str, str] = {}  # findings() output, placed after the names
        for name, value in names.items():
            self._add(name, value)
        self._known = len(self.by_token)
        self._name_token = re.compile(f"\x02{self.nonce}:[0-9]+\x03")
        self._block_token = re.compile(f"\x02{self.nonce}:b[0-9]+\x03")

    def _add(self, name: str, value: str) -> str:
        token = f"\x02{self.nonce}:{len(self.by_token)}\x03"
        self.by_token[token] = value
        self[name] = token
        return token

    def __missing__(self, name: str) -> str:
        if len(self.by_token) - self._known >= MAX_TOKENS:
            raise SecurityError(f"more than {MAX_TOKENS:,} unknown names")
        return self._add(name, f"<{name.replace('_', '-')}>")

    def block(self, markdown: str) -> str:
        if len(self.blocks) >= MAX_TOKENS:
            raise SecurityError(f"more than {MAX_TOKENS:,} findings() calls")
        token = f"\x02{self.nonce}:b{len(self.blocks)}\x03"
        self.blocks[token] = markdown
        return token

    def fill(self, text: str) -> str:
        """Tokens -> values: names as shell words in code (the runbook's code is commands
        to paste) and escaped in prose; blocks indented like the line that called them
        (under a list item or in a tab, say)."""
        if "\x02" not in text:
            return text
        out = [self._code(line) if in_code else self._prose(line)
               for line, in_code in _scan(text.splitlines(keepends=True))]
        # One pass over the lines (a page may hold many tokens): each block takes the
        # indentation of the line it was called on.
        return "".join(self._place(line) if "\x02" in line else line
                       for line in "".join(out).splitlines(keepends=True))

    def _place(self, line: str) -> str:
        prefix = line[:len(line) - len(line.lstrip())]

        def body(m: re.Match[str]) -> str:
            text = md.indent(self.blocks[m[0]].strip("\n"), prefix).lstrip()
            return f"\n{prefix}{text}\n" if text else ""

        return self._block_token.sub(lambda m: body(m) if m[0] in self.blocks else m[0], line)

    def _sub(self, text: str, how: Callable[[str], str]) -> str:
        return self._name_token.sub(
            lambda m: how(self.by_token[m[0]]) if m[0] in self.by_token else m[0], text)

    def _code(self, text: str) -> str:
        """Names in a command: each quoted for where it stands (inside the command's own
        quotes too: auditor.shell.placed)."""
        return self._name_token.sub(
            lambda m: _code_word(self.by_token[m[0]], text[:m.start()])
            if m[0] in self.by_token else m[0], text)

    def _prose(self, line: str) -> str:
        parts: list[str] = []
        last = 0
        for m in _CODE_SPAN.finditer(line):
            parts += [self._sub(line[last:m.start()], md.escape), self._code(m[0])]
            last = m.end()
        return "".join([*parts, self._sub(line[last:], md.escape)])


def source_files(source: FsPath) -> Iterator[tuple[str, FsPath]]:
    """(posix path relative to ``source``, path) of every page and asset. A symbolic link
    that leads outside ``source`` or does not resolve is an error (not skipped: a page
    that silently vanishes would be as confusing); one inside it is followed."""
    root = source.resolve()
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(p.startswith(("_", ".")) for p in rel.parts):
            continue
        if path.is_symlink() and not inside(path, root):
            raise InputError(f"{path}: {link_problem(path, root)}")
        if path.is_file():
            yield rel.as_posix(), path


def link_problem(link: FsPath, root: FsPath) -> str:
    """Why the site will not follow ``link`` out of ``root``."""
    if not os.path.exists(link):  # follows the link: False for a loop or a missing target
        return "a symbolic link that does not resolve (a loop or a missing target)"
    return (f"a symbolic link to {os.path.realpath(link)}, outside the runbook source "
            f"{root}; the site never copies or renders files from outside it")


def render(source: FsPath, staging: FsPath, names: dict[str, str],
           findings: FindingsHook) -> list[str]:
    """Render every page of ``source`` into ``staging``; returns the pages' paths."""
    env = md.PageEnvironment(source)
    tokens = _Tokens(names)
    pages = []
    for rel, path in source_files(source):
        dest = staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".md":
            shutil.copyfile(path, dest)
            continue
        def hook(anchor_id: str, *claimed: str, _rel: str = rel) -> str:
            # `claimed` policy ids matter when reports are made (auditor.runbook reads
            # them from the page); here the section shows the findings linked to it.
            return tokens.block(findings(_rel, str(anchor_id)))
        try:
            text = env.render_page(rel, names=tokens, findings=hook)
        except TemplateSyntaxError as exc:
            raise InputError(f"{where(exc.filename or str(path), exc.lineno)}: invalid "
                             f"template: {md.clean(exc.message)}") from None
        except UndefinedError as exc:
            raise InputError(f"{path}: {md.clean(exc.message)} (pages see `names` and "
                             "`findings`)") from None
        except (SecurityError, TemplateBoundError) as exc:
            message = exc.message if isinstance(exc, SecurityError) else str(exc)
            raise InputError(f"{_at(path, exc)}: refused: {md.clean(message)} (pages "
                             "render sandboxed, with bounded work and size)") from None
        except TemplateError as exc:
            raise InputError(f"{_at(path, exc)}: cannot render: {md.clean(exc.message)}") \
                from None
        except Exception as exc:  # the page's own code failed (1/0, endless recursion)
            raise InputError(f"{_at(path, exc)}: cannot render: {type(exc).__name__}: "
                             f"{md.clean(exc)}") from None
        dest.write_text(tokens.fill(text), encoding="utf-8")
        pages.append(rel)
    return pages


def _code_word(value: str, before: str = "") -> str:
    """A name in a runbook command, quoted for where it stands after ``before``. A backtick
    would end the code span or fence it sits in, so such a name is not shown at all (the
    command then fails loudly)."""
    return "<name-not-shown>" if "`" in value else placed(value, before)


def _at(path: FsPath, exc: BaseException) -> str:
    """``path:line`` with the page's line from Jinja's rewritten traceback (the last
    frame in the page: for an include, the include's line)."""
    filename, line = os.path.normpath(path), None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return where(str(path), line)


def title_of(page: FsPath) -> str | None:
    """The page's first level-1 heading outside code, without its attribute list."""
    for line, in_code in _scan(page.read_text(encoding="utf-8").splitlines()):
        if not in_code and (m := _H1.match(line)):
            return m[1].strip()
    return None


def _scan(lines: list[str]) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it belongs to a fenced code block (fences included)."""
    fence: str | None = None
    for line in lines:
        if fence is not None:
            closing = _CLOSE_FENCE.match(line)
            if closing and closing[1][0] == fence[0] and len(closing[1]) >= len(fence):
                fence = None
            yield line, True
        elif opening := _OPEN_FENCE.match(line):
            fence = opening[1]
            yield line, True
        else:
            yield line, False
