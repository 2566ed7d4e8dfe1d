"""The runbook source (``site/*.md``, Jinja2 templates) rendered into the staging docs dir.

Pages see ``names`` (the config's real names: ``{{ names.namespace }}``; a name the
config lacks is the runbook's placeholder, e.g. ``<db-instance-id>``, so pages never
break) and ``findings("heading-id")``. Names come from the config, so they are escaped for
where they land: while rendering, each is a token; afterwards a token inside a fenced
block or a code span becomes the raw value (a command to copy), and anywhere else
escaped Markdown. Jinja comments are ``{## ... ##}``, since ``{#id}`` is a heading's id.
Files and folders starting with ``_`` or ``.`` are partials, not pages;
other files are copied as they are.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path as FsPath
from urllib.parse import urlsplit

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)

from auditor.config import Config
from auditor.errors import InputError
from auditor.models import Report
from auditor.site import md

FindingsHook = Callable[[str, str], md.Md]  # (page source, heading id) -> Markdown

_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_CLOSE_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$")
_CODE_SPAN = re.compile(r"(?<!\\)(`+)(.+?)(?<!`)\1(?!`)")
_H1 = re.compile(r"^#[ \t]+(.+?)(?:[ \t]*\{[^}]*\})?[ \t]*$")
EXTRA_PLACEHOLDERS = {"endpoint": "<your-domain>", "region": "<region>",
                      "service": "<service>", "environment": "<environment>"}


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

    def _add(self, name: str, value: str) -> str:
        token = f"\x02{self.nonce}:{len(self.by_token)}\x03"
        self.by_token[token] = value
        self[name] = token
        return token

    def __missing__(self, name: str) -> str:
        return self._add(name, f"<{name.replace('_', '-')}>")

    def block(self, markdown: str) -> str:
        token = f"\x02{self.nonce}:b{len(self.blocks)}\x03"
        self.blocks[token] = markdown
        return token

    def fill(self, text: str) -> str:
        """Tokens -> values: names raw in code and escaped in prose; blocks indented like
        the line that called them (under a list item or in a tab, say)."""
        if "\x02" not in text:
            return text
        out = [self._sub(line, str) if in_code else self._prose(line)
               for line, in_code in _scan(text.splitlines(keepends=True))]
        text = "".join(out)
        for token, markdown in self.blocks.items():
            for line in [line for line in text.splitlines() if token in line]:
                prefix = line[:len(line) - len(line.lstrip())]
                body = md.indent(markdown.strip("\n"), prefix).lstrip()
                text = text.replace(token, f"\n{prefix}{body}\n" if body else "", 1)
        return text

    def _sub(self, text: str, how: Callable[[str], str]) -> str:
        for token, value in self.by_token.items():
            text = text.replace(token, how(value))
        return text

    def _prose(self, line: str) -> str:
        parts: list[str] = []
        last = 0
        for m in _CODE_SPAN.finditer(line):
            parts += [self._sub(line[last:m.start()], md.escape), self._sub(m[0], _in_span)]
            last = m.end()
        return "".join([*parts, self._sub(line[last:], md.escape)])


def _in_span(value: str) -> str:
    return value.replace("`", "'")  # a backtick would end the span early


def source_files(source: FsPath) -> Iterator[tuple[str, FsPath]]:
    """(posix path relative to ``source``, path) of every page and asset."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not any(p.startswith(("_", ".")) for p in rel.parts):
            yield rel.as_posix(), path


def render(source: FsPath, staging: FsPath, names: dict[str, str],
           findings: FindingsHook) -> list[str]:
    """Render every page of ``source`` into ``staging``; returns the pages' paths."""
    env = Environment(loader=FileSystemLoader(source), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True,
                      # `{#id}` is a heading id (attr_list), not a Jinja comment
                      comment_start_string="{##", comment_end_string="##}")
    tokens = _Tokens(names)
    pages = []
    for rel, path in source_files(source):
        dest = staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".md":
            shutil.copyfile(path, dest)
            continue
        def hook(anchor_id: str, _rel: str = rel) -> str:
            return tokens.block(findings(_rel, str(anchor_id)))
        try:
            text = env.get_template(rel).render(names=tokens, findings=hook)
        except TemplateSyntaxError as exc:
            raise InputError(f"{path}:{exc.lineno}: invalid template: {exc.message}") from None
        except UndefinedError as exc:
            raise InputError(f"{path}: {exc.message} (pages see `names` and "
                             "`findings`)") from None
        except TemplateError as exc:
            raise InputError(f"{path}: cannot render: {exc.message}") from None
        dest.write_text(tokens.fill(text), encoding="utf-8")
        pages.append(rel)
    return pages


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
