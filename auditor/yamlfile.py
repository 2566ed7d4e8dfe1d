"""YAML with line numbers, at the speed of the C loader.

``yaml.compose`` keeps a start mark on every node, so we build plain Python data and a
path -> line map in one walk instead of using a slower round-trip loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.paths import Path

try:  # the C loader is ~8x faster; fall back where libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class YamlError(Exception):
    """Malformed YAML; carries the 1-based line of the problem."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Document:
    data: Any
    line: int  # 1-based line where the document's content starts
    lines: dict[Path, int] = field(default_factory=dict)  # path -> 1-based line of its key


def load_all(text: str) -> list[Document]:
    """Every non-empty document in ``text``, with line numbers for every path."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and start is not mark:
            problem += f" ({context} at line {start.line + 1})"
        # The parser may stop one line past the end; point at a line that exists.
        line = min(mark.line + 1, max(len(text.splitlines()), 1)) if mark else None
        raise YamlError(problem, line) from None
    docs = []
    constructor = _Constructor()
    for node in nodes:
        if node is None:
            continue
        lines: dict[Path, int] = {}
        data = _build(node, (), lines, constructor)
        if data is None:
            continue
        docs.append(Document(data, node.start_mark.line + 1, lines))
    return docs


def load_one(text: str) -> Document:
    """The single document of a values/config file (an empty file is an empty mapping)."""
    docs = load_all(text)
    if not docs:
        return Document({}, 1)
    if len(docs) > 1:
        raise YamlError("expected a single YAML document", docs[1].line)
    return docs[0]


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, but timestamps stay strings, as Kubernetes and Helm read them."""

    yaml_constructors = {  # noqa: RUF012 - PyYAML's registry is this class attribute
        **yaml.constructor.SafeConstructor.yaml_constructors,
        "tag:yaml.org,2002:timestamp": yaml.constructor.SafeConstructor.construct_yaml_str,
    }


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], cons: _Constructor) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError("merge keys (<<) are not supported", key_node.start_mark.line + 1)
            key = _scalar(key_node, cons)
            child = (*path, str(key))
            out[str(key)] = _build(value_node, child, lines, cons)
            lines[child] = key_node.start_mark.line + 1  # point at the key, not the value
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, cons) for i, item in enumerate(node.value)]
    return _scalar(node, cons)


def _scalar(node: yaml.Node, cons: _Constructor) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError("complex mapping keys are not supported", node.start_mark.line + 1)
    return cons.construct_object(node, deep=True)
