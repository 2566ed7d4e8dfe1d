"""The small, fixed condition language of policy files, with three-valued logic.

A condition says when a check *fails*. It evaluates to True (fail), False (pass) or
:class:`Unknown` (an input needed is unresolved). Operators::

    missing: PATH | exists: PATH
    compare: [OPERAND, OP, OPERAND]      # OP: == != < <= > >=; quantities by value
    one_of: [OPERAND, [values] | {param: NAME}]   # semantic equality with any value
    matches: [OPERAND, REGEX | {param: NAME}]     # RE2 search on the string value
    any: [...] | all: [...] | not: COND
    OPERAND: PATH (first position) | {path: P, default: V} | {param: NAME} | literal

The reserved parameter ``environment`` holds the environment's name. Patterns are RE2
(:func:`compile_pattern`): matching takes time linear in the text, whoever wrote the policy.
Anything more complex is a named check in ``auditor/checks`` rather than a bigger language.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from auditor import paths
from auditor.quantities import parse_quantity, semantic_equal
from auditor.unknown import Unknown

Tri = bool | Unknown
OPERATORS = ("missing", "exists", "compare", "one_of", "matches", "any", "all", "not")
COMPARATORS = ("==", "!=", "<", "<=", ">", ">=")


class ConditionError(ValueError):
    """A malformed condition; ``path`` lets the policy loader report its line."""

    def __init__(self, message: str, path: paths.Path) -> None:
        super().__init__(f"{paths.format(path)}: {message}")
        self.path = path


class Pattern(Protocol):
    def search(self, text: str) -> object | None: ...


_RE2 = re2.Options()
_RE2.log_errors = False  # the error is raised and reported with its file: not logged too


def compile_pattern(pattern: str) -> Pattern:
    """A policy's regular expression, compiled by RE2 (no backtracking, so `(a+)+$` cannot
    hang a scan); RE2 has no backreferences or lookaround. ValueError when it does not
    compile."""
    try:
        compiled: Pattern = re2.compile(pattern, _RE2)  # cached by re2 (LRU of 128)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"bad regex {pattern!r}: {reason} (patterns are RE2: no "
                         "backreferences or lookaround)") from None
    return compiled


def validate(cond: Any, path: paths.Path = ("condition",),
             defaults: Mapping[str, Any] | None = None) -> None:
    """Raise ConditionError for anything evaluate() would not understand. ``defaults`` are
    the parameters' defaults: a pattern given as ``{param: NAME}`` must compile too."""
    if not isinstance(cond, Mapping) or len(cond) != 1:
        raise ConditionError(f"expected a mapping with one operator of {OPERATORS}", path)
    (op, arg), = cond.items()
    here = (*path, op)
    if op not in OPERATORS:
        raise ConditionError(f"unknown operator {op!r} (one of {', '.join(OPERATORS)})", path)
    if op in ("any", "all"):
        if not isinstance(arg, list) or not arg:
            raise ConditionError("expected a non-empty list of conditions", here)
        for i, sub in enumerate(arg):
            validate(sub, (*here, i), defaults)
    elif op == "not":
        validate(arg, here, defaults)
    elif op in ("missing", "exists"):
        if not isinstance(arg, str):
            raise ConditionError("expected a path string", here)
        try:
            paths.parse(arg)
        except ValueError as exc:
            raise ConditionError(str(exc), here) from None
    elif op == "compare":
        if not (isinstance(arg, list) and len(arg) == 3 and arg[1] in COMPARATORS):
            raise ConditionError(f"expected [operand, one of {COMPARATORS}, operand]", here)
    elif not (isinstance(arg, list) and len(arg) == 2):
        raise ConditionError("expected [operand, value]", here)
    elif op == "matches":
        pattern = arg[1]
        if isinstance(pattern, Mapping) and "param" in pattern:
            # Its default; without one the engine gives it (or the loader rejects the name).
            pattern = (defaults or {}).get(pattern["param"], "")
        try:
            compile_pattern(str(pattern))
        except ValueError as exc:
            raise ConditionError(str(exc), here) from None
    elif not isinstance(arg[1], list) and not (isinstance(arg[1], Mapping) and "param" in arg[1]):
        raise ConditionError("expected a list of values or {param: NAME}", here)


RESERVED_PARAMS = ("environment", "now")  # given by the engine, not declared by policies


def param_refs(value: Any) -> set[str]:
    """Every parameter a condition (or a path template) refers to: ``{param: X}`` operands
    and ``{X}`` placeholders in paths, so a policy naming an undeclared one is rejected at
    load time instead of silently comparing with nothing."""
    if isinstance(value, Mapping):
        found = {str(value["param"])} if "param" in value else set()
        return found.union(*(param_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(param_refs(v) for v in value))
    if isinstance(value, str) and "{" in value:
        return {name.split(".")[0].split("[")[0]
                for _, name, _, _ in string.Formatter().parse(value) if name}
    return set()


def evaluate(cond: Mapping[str, Any], item: Any, params: Mapping[str, Any]) -> Tri:
    (op, arg), = cond.items()
    if op == "any":
        return _any([evaluate(c, item, params) for c in arg])
    if op == "all":
        return _all([evaluate(c, item, params) for c in arg])
    if op == "not":
        inner = evaluate(arg, item, params)
        return inner if isinstance(inner, Unknown) else not inner
    if op in ("missing", "exists"):
        value = _lookup(item, _format_path(arg, params))
        if isinstance(value, Unknown):
            return value
        absent = value is paths.MISSING or value is None
        return absent if op == "missing" else not absent
    left = _operand(arg[0], item, params, first=True)
    if op == "compare":
        return _compare(left, arg[1], _operand(arg[2], item, params))
    if isinstance(left, Unknown):
        return left
    if op == "one_of":
        listed = _operand(arg[1], item, params) if isinstance(arg[1], Mapping) else arg[1]
        values = [_operand(v, item, params) for v in (listed if isinstance(listed, list) else [])]
        return any(semantic_equal(left, v) for v in values if not isinstance(v, Unknown))
    # matches
    if left is paths.MISSING or left is None:
        return False
    pattern = _operand(arg[1], item, params) if isinstance(arg[1], Mapping) else arg[1]
    if isinstance(pattern, Unknown):
        return pattern
    return compile_pattern(str(pattern)).search(str(left)) is not None


def _format_path(text: str, params: Mapping[str, Any]) -> str:
    # Paths may name a parameter, e.g. "{log_retention_key}" (a configurable values key).
    return text.format(**params) if "{" in text else text


def _lookup(item: Any, text: str) -> Any:
    cur = item
    for key in paths.parse(text):
        if isinstance(cur, Unknown):
            return cur
        cur = paths.get(cur, (key,))
    return cur


def _operand(spec: Any, item: Any, params: Mapping[str, Any], first: bool = False) -> Any:
    if isinstance(spec, Mapping) and "param" in spec:
        return params.get(spec["param"], paths.MISSING)
    if isinstance(spec, Mapping) and "path" in spec:
        value = _lookup(item, _format_path(spec["path"], params))
        if (value is paths.MISSING or value is None) and "default" in spec:
            return spec["default"]
        return value
    if first and isinstance(spec, str):
        return _lookup(item, _format_path(spec, params))
    return spec


def _compare(left: Any, op: str, right: Any) -> Tri:
    for side in (left, right):
        if isinstance(side, Unknown):
            return side
    if op in ("==", "!="):
        equal = semantic_equal(left, right)
        return equal if op == "==" else not equal
    if left is paths.MISSING or right is paths.MISSING or left is None or right is None:
        return False  # an absent value is a `missing:` question, not an ordering one
    lq, rq = parse_quantity(left), parse_quantity(right)
    if lq is None or rq is None:
        return Unknown(f"cannot compare {left!r} {op} {right!r}")
    return {"<": lq < rq, "<=": lq <= rq, ">": lq > rq, ">=": lq >= rq}[op]


def _any(results: list[Tri]) -> Tri:
    if any(r is True for r in results):
        return True
    unknown = next((r for r in results if isinstance(r, Unknown)), None)
    return unknown if unknown is not None else False


def _all(results: list[Tri]) -> Tri:
    if any(r is False for r in results):
        return False
    unknown = next((r for r in results if isinstance(r, Unknown)), None)
    return unknown if unknown is not None else True
