"""YAML with line numbers, at the speed of the C loader.

``yaml.compose`` keeps a start mark on every node, so we build plain Python data and a
path -> line map in one walk instead of using a slower round-trip loader. The walk is
also where the input is held to what Helm and kubectl accept: merge keys (``<<``) work,
duplicate keys, unknown tags and values that do not fit their tag are errors with a line,
and aliases may not expand a document beyond :data:`MAX_NODES` nodes (the "billion laughs")
or :data:`MAX_CHARS` characters of text (one large string aliased many times).

Dialects: :data:`YAML11` (PyYAML's rules) for the tool's own files;
:data:`KUBERNETES` / :data:`HELM_VALUES` for what Kubernetes and Helm read, whose scalars,
keys and merge keys follow the Go YAML library they use (see :mod:`auditor.yamlgo`); and
:data:`TERRAFORM` for ``yamldecode`` (see :mod:`auditor.yamlcty`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from auditor import yamlcache, yamlcty, yamlgo
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
_STR = _TAG + "str"
_PLAIN = "tag:runbook-auditor,2026:plain"  # resolved later, by go-yaml's rules


class _GoResolver(yaml.resolver.BaseResolver):
    """Leaves every plain scalar to :func:`auditor.yamlgo.resolve` (quoted ones are
    strings): the C parser still composes the nodes, at its speed."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                return _MERGE if value == "<<" else _PLAIN
            return _STR
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _GoLoader(CParser, _GoResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _GoResolver.__init__(self)
except ImportError:  # pragma: no cover - no libyaml
    class _GoLoader(yaml.reader.Reader, yaml.scanner.Scanner,  # type: ignore[no-redef]
                    yaml.parser.Parser, yaml.composer.Composer, _GoResolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _GoResolver.__init__(self)


@dataclass(frozen=True)
class Dialect:
    """How scalars and keys are read: PyYAML's YAML 1.1, or as Go and JSON read them."""

    name: str
    loader: Any
    go: bool = False
    float64: bool = False  # every number as Helm's values hold it (through a float64)
    cty: bool = False  # Terraform's yamldecode (go-cty-yaml): see auditor.yamlcty


YAML11 = Dialect("YAML 1.1", _Loader)
KUBERNETES = Dialect("Kubernetes", _GoLoader, go=True)
HELM_VALUES = Dialect("Helm values", _GoLoader, go=True, float64=True)
TERRAFORM = Dialect("Terraform", _GoLoader, go=True, cty=True)


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


def load_all(text: str, *, strict: bool = True, dialect: Dialect = YAML11) -> list[Document]:
    """Every non-empty document in ``text``, with line numbers for every path.

    ``strict`` (the default) makes a duplicate mapping key an error; otherwise the last
    one wins.
    """
    return _documents(text, strict, dialect, first_only=False)


def load_first(text: str, *, strict: bool = False, dialect: Dialect = HELM_VALUES,
               first_line: int = 1, keep: bool = True) -> Document:
    """The first document only, as Go's ``yaml.Unmarshal`` reads one (later documents
    are not read at all; by default a duplicate key's last value wins, as in Go). An empty
    document's data is None. ``first_line``: the line ``text`` starts on in its file (a
    piece of a stream): every line reported, in errors too, is a line of the file."""
    docs = _documents(text, strict, dialect, first_only=True, first_line=first_line,
                      keep=keep)
    return docs[0] if docs else Document(None, 1)


def _documents(text: str, strict: bool, dialect: Dialect, first_only: bool,
               first_line: int = 1, keep: bool = True) -> list[Document]:
    """Parsed, or read back from the persistent cache (:mod:`auditor.yamlcache`) unless
    not ``keep`` (a text unlikely to be read again, such as a render's output)."""
    entry = yamlcache.key(text, dialect.name, str(strict), str(first_only),
                          str(first_line)) if keep else None
    if entry is None:
        return _parse(text, strict, dialect, first_only, first_line)
    hit = yamlcache.get(entry)
    if isinstance(hit, tuple):
        raise YamlError(*hit)
    if hit is not None:
        return [Document(data, line, lines) for data, line, lines in hit]
    try:
        docs = _parse(text, strict, dialect, first_only, first_line)
    except YamlError as exc:
        yamlcache.put(entry, error=(str(exc), exc.line, exc.path))
        raise
    yamlcache.put(entry, [(d.data, d.line, d.lines) for d in docs])
    return docs


def _parse(text: str, strict: bool, dialect: Dialect, first_only: bool,
           first_line: int) -> list[Document]:
    try:
        stream = yaml.compose_all(text, Loader=dialect.loader)
        nodes = [next(stream, None)] if first_only else list(stream)
    except yaml.YAMLError as exc:
        raise _from_parser(exc, text, first_line - 1) from None
    except RecursionError:
        raise YamlError("the document is nested too deeply", None) from None
    docs = []
    constructor = _Constructor()
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(constructor, strict, dialect, first_line - 1)
        try:
            data = builder.build(node, (), builder.lines)
        except RecursionError:
            raise YamlError("the document is nested too deeply",
                            builder.line(node)) from None
        if data is None:
            continue
        docs.append(Document(data, builder.line(node), builder.lines))
    return docs


def load_one(text: str, *, strict: bool = True, dialect: Dialect = YAML11) -> Document:
    """The single document of a config file (an empty file is an empty mapping)."""
    docs = load_all(text, strict=strict, dialect=dialect)
    if not docs:
        return Document({}, 1)
    if len(docs) > 1:
        raise YamlError("expected a single YAML document", docs[1].line)
    return docs[0]


def _from_parser(exc: yaml.YAMLError, text: str, shift: int = 0) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    last = max(len(text.splitlines()), 1)  # the parser may stop one line past the end
    if context and start is not None and start is not mark:
        problem += f" ({context} at line {min(start.line + 1, last) + shift})"
    return YamlError(problem, min(mark.line + 1, last) + shift if mark else None)


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, but timestamps stay strings, as Kubernetes and Helm read them."""

    yaml_constructors = {  # noqa: RUF012 - PyYAML's registry is this class attribute
        **yaml.constructor.SafeConstructor.yaml_constructors,
        _TAG + "timestamp": yaml.constructor.SafeConstructor.construct_yaml_str,
    }


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    """One document's data and lines; counts nodes as aliases expand them."""

    def __init__(self, constructor: _Constructor, strict: bool, dialect: Dialect,
                 shift: int = 0) -> None:
        self.cons = constructor
        self.shift = shift  # lines above the text in its file
        self.strict = strict
        self.dialect = dialect
        self.lines: dict[Path, int] = {}
        self.count = 0
        self.chars = 0
        self.active: set[int] = set()  # collection nodes being built (an alias cycle)

    def line(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + 1 + self.shift

    def build(self, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(f"the document expands to too many nodes (over {MAX_NODES}): "
                            "aliases nested too deeply?", self.line(node))
        lines[path] = self.line(node)
        if isinstance(node, yaml.ScalarNode):
            # Text counts each time an alias repeats it: a 1 MB string aliased a thousand
            # times is a gigabyte to every consumer (Helm, a values dump, a report).
            self.chars += len(str(node.value))
            if self.chars > MAX_CHARS:
                raise YamlError(f"the document expands to more than {MAX_CHARS:,} characters "
                                "of text: aliases repeating large values?", self.line(node))
            return self.scalar(node)
        if node.tag not in (_TAG + "map", _TAG + "seq") and not self.dialect.go:
            raise YamlError(f"unsupported tag {_short(node.tag)!r}", self.line(node))
        if id(node) in self.active:
            raise YamlError("an alias refers to itself (a recursive structure)", self.line(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                if self.dialect.go:
                    return self.go_mapping(node, path, lines)
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
                                    self.line(key_node), child)
                _drop(lines, child)  # the last one wins: forget the first one's lines
            explicit[key] = self.build(value_node, child, lines)
            lines[child] = self.line(key_node)  # point at the key, not the value
        if not merges:
            return explicit
        merged: dict[str, Any] = {}
        for value_node in merges:  # explicit keys win, then earlier merged mappings
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise YamlError("a merge key (<<) takes a mapping or a list of mappings",
                                    self.line(source))
                own: dict[Path, int] = {}
                taken = {k: v for k, v in self.build(source, path, own).items()
                         if k not in explicit and k not in merged}
                merged.update(taken)
                depth = len(path)
                lines.update((p, n) for p, n in own.items()
                             if len(p) > depth and p[depth] in taken)
        merged.update(explicit)
        return merged

    def go_mapping(self, node: yaml.MappingNode, path: Path, lines: dict[Path, int]
                   ) -> dict[str, Any]:
        """go-yaml v2's order: each pair in turn, a merge key (``<<``) overriding the keys
        before it (and earlier mappings of its list overriding later ones), an explicit key
        overriding what came before it."""
        out: dict[str, Any] = {}
        explicit: dict[str, int] = {}  # key -> line: a second one is a duplicate
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                    else [value_node]
                for source in reversed(sources):
                    if not isinstance(source, yaml.MappingNode):
                        raise YamlError("a merge key (<<) takes a mapping or a list of "
                                        "mappings", self.line(source))
                    own: dict[Path, int] = {}
                    for k, v in self.build(source, path, own).items():
                        if k in out:  # (dropping scans the lines: only when overriding)
                            _drop(lines, (*path, k))
                        out[k] = v
                    depth = len(path)
                    lines.update((p, n) for p, n in own.items() if len(p) > depth)
                continue
            key = self.key(key_node)
            child = (*path, key)
            if key in explicit and self.strict:
                raise YamlError(f"duplicate key {key!r} (first at line {explicit[key]})",
                                self.line(key_node), child)
            if key in out:  # what a merge or an earlier duplicate set is overridden
                _drop(lines, child)
            explicit[key] = self.line(key_node)
            out[key] = self.build(value_node, child, lines)
            lines[child] = self.line(key_node)
        return out

    def key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise YamlError("complex mapping keys are not supported", self.line(node))
        if not self.dialect.go:
            return self.scalar(node)
        if self.dialect.cty:
            key = self.scalar(node)
            if not isinstance(key, str):
                raise YamlError("only strings are allowed as mapping keys", self.line(node))
            return key
        try:
            return yamlgo.key(self.go_value(node))
        except ValueError as exc:
            raise YamlError(str(exc), self.line(node)) from None

    def go_value(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _PLAIN:
            return yamlgo.resolve(node.value)
        return node.value if node.tag == _STR else yamlgo.tagged(node.tag, node.value)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if self.dialect.cty:
            try:
                if node.tag == _PLAIN:
                    return yamlcty.plain(node.value)
                return node.value if node.tag == _STR else yamlcty.tagged(node.tag, node.value)
            except ValueError as exc:
                raise YamlError(str(exc), self.line(node)) from None
        if self.dialect.go:
            try:
                return yamlgo.stored(self.go_value(node), float64=self.dialect.float64)
            except ValueError as exc:
                raise YamlError(str(exc), self.line(node)) from None
        if node.tag not in self.cons.yaml_constructors:
            raise YamlError(f"unsupported tag {_short(node.tag)!r}", self.line(node))
        try:
            return self.cons.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            raise YamlError(f"invalid {_short(node.tag)} value {node.value!r}",
                            self.line(node)) from None


def _drop(lines: dict[Path, int], prefix: Path) -> None:
    n = len(prefix)
    for p in [p for p in lines if p[:n] == prefix]:
        del lines[p]
