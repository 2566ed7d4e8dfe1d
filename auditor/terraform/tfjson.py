"""Terraform's JSON syntax (``*.tf.json``) -> the same blocks as the HCL loader.

The JSON form nests a block's labels as object keys (``{"resource": {"aws_lb": {"main":
{...}}}}``) and writes expressions as ``"${...}"`` strings, which is what python-hcl2 returns
for HCL too, so the evaluator reads both alike. JSON keeps no line numbers: a block's line
is found by searching the text for its keys in order; attributes have none (findings then
point at the block).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from auditor.terraform.loader import TOO_DEEP_JSON, Block, ParseError

# Block types the audit reads, and how many labels each has.
LABELS = {"resource": 2, "data": 2, "variable": 1, "module": 1, "output": 1, "locals": 0}
# Nested blocks that may repeat: HCL gives a list even for one; JSON may give one object.
REPEATED = {"ingress", "egress", "parameter", "metric_query", "dynamic"}
COMMENT = "//"  # Terraform ignores this property in any JSON block


def blocks(text: str, shown: str) -> tuple[list[Block], ParseError | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], ParseError(shown, exc.lineno, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return [], ParseError(shown, None, TOO_DEEP_JSON)
    if not isinstance(data, dict):
        return [], ParseError(shown, 1, "invalid Terraform JSON: the top level is not an object")
    out = []
    for kind, value in data.items():
        if kind not in LABELS:
            continue  # terraform, provider, moved, check, ...: nothing the audit reads
        for labels, body in _expand(value, LABELS[kind], []):
            attrs = {k: _body(k, v) for k, v in body.items() if k != COMMENT}
            out.append(Block(kind, labels, attrs, shown, _line(text, [kind, *labels])))
    return out, None


def _expand(value: Any, depth: int, labels: list[str]
            ) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """(labels, body) of each block: labels are object keys, any level may be a list."""
    if isinstance(value, list):
        for item in value:
            yield from _expand(item, depth, labels)
    elif isinstance(value, dict):
        if depth == 0:
            yield labels, value
            return
        for key, inner in value.items():
            if key != COMMENT:
                yield from _expand(inner, depth - 1, [*labels, key])


def _body(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _body(k, v) for k, v in value.items() if k != COMMENT}
        return [value] if key in REPEATED else value
    if isinstance(value, list):
        return [_body("", v) for v in value]
    return value


def _line(text: str, keys: list[str]) -> int:
    """The line of the last of ``keys``, each searched after the previous one."""
    pos = found = 0
    for key in keys:
        match = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:").search(
            text, pos)
        if match is None:
            break
        pos = found = match.start()
    return text.count("\n", 0, found) + 1
