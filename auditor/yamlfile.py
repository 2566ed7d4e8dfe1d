"""YAML with line numbers, at the speed of the C loader.

``yaml.compose`` keeps a start mark on every node, so we build plain Python data and a
path -> line map in one walk instead of using a slower round-trip loader. The walk is
also where the input is held to what Helm and kubectl accept: merge keys (``<<``) work,
duplicate keys, unknown tags and values that do not fit their tag are errors with a line,
and aliases may not expand a document beyond :data:`MAX_NODES` nodes (the "billion laughs")
or :data:`MAX_CHARS` characters of text (one large string aliased many times).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from auditor.errors import where
from auditor.paths import Path

try:  # the C loader is ~8x faster; fall back where libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

MAX_NODES = 200_000  # per document, counted as aliases are expanded
MAX_CHARS = 64 * 2**20  # of scalar text per document, counted as aliases are expanded
_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"


class YamlError(Exception):
    """Malformed YAML; carries the 1-based line of the problem (and, for a duplicate
    key, the key's path)."""

    def __init__(self, message: str, line: int | None, path: Path | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.path = path


@dataclass
class Document:
    data: Any
    line: int  # 1-based line where the document's content starts
    lines: dict[Path, int] = field(default_factory=dict)  # path -> 1-based line of its key


def decode(raw: bytes) -> str:
    """A file's bytes as text; bytes that are not UTF-8 are a YamlError at their line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
                        line) from None


def read_document(path: FsPath, shown: str, noun: str,
                  error: Callable[[str], Exception]) -> Document:
    """The one YAML document of a file the user wrote (a policy, a waiver file); a file
    that cannot be read or parsed raises ``error("file[:line]: reason")``, one line."""
    try:
        return load_one(decode(path.read_bytes()))
    except OSError as exc:
        raise error(f"{shown}: cannot read {noun}: {exc.strerror}") from None
    except YamlError as exc:
        raise error(f"{where(shown, exc.line)}: invalid YAML: {exc}") from None


def nearest_line(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, else of its nearest parent that has one (errors about a key
    that is absent point at where it belongs)."""
    for end in range(len(path), -1, -1):
        if line := lines.get(tuple(path[:end])):
            return line
    return None


def load_all(text: str, *, strict: bool = True) -> list[Document]:
    """Every non-empty document in ``text``, with line numbers for every path.

    ``strict`` (the default) makes a duplicate mapping key an error; otherwise the last
    one wins.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise _from_parser(exc, text) from None
    except RecursionError:
        raise YamlError("the document is nested too deeply", None) from None
    docs = []
    constructor = _Constructor()
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(constructor, strict)
        try:
            data = builder.build(node, (), builder.lines)
        except RecursionError:
            raise YamlError("the document is nested too deeply",
                            node.start_mark.line + 1) from None
        if data is None:
            continue
        docs.append(Document(data, node.start_mark.line + 1, builder.lines))
    return docs


def load_one(text: str, *, strict: bool = True) -> Document:
    """The single document of a values/config file (an empty file is an empty mapping)."""
    docs = load_all(text, strict=strict)
    if not docs:
        return Document({}, 1)
    if len(docs) > 1:
        raise YamlError("expected a single YAML document", docs[1].line)
    return docs[0]


def _from_parser(exc: yaml.YAMLError, text: str) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and start is not mark:
        problem += f" ({context} at line {start.line + 1})"
    # The parser may stop one line past the end; point at a line that exists.
    line = min(mark.line + 1, max(len(text.splitlines()), 1)) if mark else None
    return YamlError(problem, line)


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, but timestamps stay strings, as Kubernetes and Helm read them."""

    yaml_constructors = {  # noqa: RUF012 - PyYAML's registry is this class attribute
        **yaml.constructor.SafeConstructor.yaml_constructors,
        _TAG + "timestamp": yaml.constructor.SafeConstructor.construct_yaml_str,
    }


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    """One document's data and lines; counts nodes as aliases expand them."""

    def __init__(self, constructor: _Constructor, strict: bool) -> None:
        self.cons = constructor
        self.strict = strict
        self.lines: dict[Path, int] = {}
        self.count = 0
        self.chars = 0
        self.active: set[int] = set()  # collection nodes being built (an alias cycle)

    def build(self, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(f"the document expands to too many nodes (over {MAX_NODES}): "
                            "aliases nested too deeply?", _line(node))
        lines[path] = _line(node)
        if isinstance(node, yaml.ScalarNode):
            # Text counts each time an alias repeats it: a 1 MB string aliased a thousand
            # times is a gigabyte to every consumer (Helm, a values dump, a report).
            self.chars += len(str(node.value))
            if self.chars > MAX_CHARS:
                raise YamlError(f"the document expands to more than {MAX_CHARS:,} characters "
                                "of text: aliases repeating large values?", _line(node))
            return self.scalar(node)
        if node.tag not in (_TAG + "map", _TAG + "seq"):
            raise YamlError(f"unsupported tag {_short(node.tag)!r}", _line(node))
        if id(node) in self.active:
            raise YamlError("an alias refers to itself (a recursive structure)", _line(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, lines)
            return [self.build(item, (*path, i), lines) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path, lines: dict[Path, int]
                ) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = str(self.key(key_node))
            child = (*path, key)
            if key in explicit:
                if self.strict:
                    raise YamlError(f"duplicate key {key!r} (first at line {lines[child]})",
                                    _line(key_node), child)
                _drop(lines, child)  # the last one wins: forget the first one's lines
            explicit[key] = self.build(value_node, child, lines)
            lines[child] = _line(key_node)  # point at the key, not the value
        if not merges:
            return explicit
        merged: dict[str, Any] = {}
        for value_node in merges:  # explicit keys win, then earlier merged mappings
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise YamlError("a merge key (<<) takes a mapping or a list of mappings",
                                    _line(source))
                own: dict[Path, int] = {}
                taken = {k: v for k, v in self.build(source, path, own).items()
                         if k not in explicit and k not in merged}
                merged.update(taken)
                depth = len(path)
                lines.update((p, n) for p, n in own.items()
                             if len(p) > depth and p[depth] in taken)
        merged.update(explicit)
        return merged

    def key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise YamlError("complex mapping keys are not supported", _line(node))
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in self.cons.yaml_constructors:
            raise YamlError(f"unsupported tag {_short(node.tag)!r}", _line(node))
        try:
            return self.cons.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            raise YamlError(f"invalid {_short(node.tag)} value {node.value!r}",
                            _line(node)) from None


def _drop(lines: dict[Path, int], prefix: Path) -> None:
    n = len(prefix)
    for p in [p for p in lines if p[:n] == prefix]:
        del lines[p]
