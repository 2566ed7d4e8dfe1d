"""Bounds on what an input can make expensive, in one place."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100  # nesting of a JSON document or object; Kubernetes objects need about 20
MAX_INPUT_BYTES = 64 * 2**20  # one declared file (a chart's largest CRD is under 1 MiB)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether dicts and lists nest deeper than ``limit`` (walked without recursion, so a
    hostile document cannot exhaust the stack while being measured)."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return False
