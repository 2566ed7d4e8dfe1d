"""The small, fixed condition language of policy files, with three-valued logic.

A condition says when a check *fails*. It evaluates to True (fail), False (pass) or
:class:`Unknown` (an input needed is unresolved). Operators::

    missing: PATH | exists: PATH
    compare: [SUBJECT, OP, OPERAND]      # OP: == != < <= > >=; quantities by value
    one_of: [SUBJECT, [OPERAND, ...] | {param: NAME}]   # semantic equality with any
    matches: [SUBJECT, REGEX | {param: NAME}]           # RE2 search on the string value
    cel: EXPR                            # a CEL expression (see auditor.cel)
    any: [...] | all: [...] | not: COND
    SUBJECT: PATH | {path: P, default: V} | {param: NAME} | {value: V}
    OPERAND: {path: P, default: V} | {param: NAME} | {value: V} | a literal

One rule for paths and literals: the first element of ``compare``/``one_of``/``matches``
is what is checked, so a bare string there is a path; every other bare value is a
literal. Anything else is spelt out as an operand mapping, whose keys are checked at load.

It fails closed: a path that is absent (or null) and has no ``default`` makes a
comparison, ``one_of`` or ``matches`` unknown, never a pass (test absence with
``missing``/``exists``, or give the default the API applies); so does an unknown value,
in ``one_of``'s list too; a boolean never equals a number (``0 == false`` is false).

The reserved parameter ``environment`` holds the environment's name. Patterns are RE2
(:func:`compile_pattern`): matching takes time linear in the text, whoever wrote the policy.
Anything more complex is a named check in ``auditor/checks`` rather than a bigger language.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from auditor import cel, paths
from auditor.live.markers import KEY as MARKER
from auditor.quantities import parse_quantity, semantic_equal
from auditor.unknown import Unknown

Tri = bool | Unknown
OPERATORS = ("missing", "exists", "compare", "one_of", "matches", "cel", "any", "all", "not")
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
    """Raise ConditionError for anything evaluate() would not understand: operators,
    arities and every operand's shape. ``defaults`` are the parameters' defaults: a
    pattern given as ``{param: NAME}`` must compile too."""
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
        _check_path(arg, here)
    elif op == "cel":
        if not isinstance(arg, str):
            raise ConditionError("expected a CEL expression (a string)", here)
        try:
            cel.compiled(arg)
        except ValueError as exc:
            raise ConditionError(str(exc), here) from None
    elif op == "compare":
        if not (isinstance(arg, list) and len(arg) == 3 and arg[1] in COMPARATORS):
            raise ConditionError(f"expected [subject, one of {COMPARATORS}, operand]", here)
        _check_operand(arg[0], (*here, 0), subject=True)
        _check_operand(arg[2], (*here, 2), subject=False)
    elif not (isinstance(arg, list) and len(arg) == 2):
        raise ConditionError("expected [subject, value]", here)
    elif op == "matches":
        _check_operand(arg[0], (*here, 0), subject=True)
        pattern = arg[1]
        if isinstance(pattern, Mapping):
            if set(pattern) != {"param"} or not isinstance(pattern["param"], str):
                raise ConditionError("expected a regex or {param: NAME}", (*here, 1))
            # Its default; without one the engine gives it (or the loader rejects the name).
            pattern = (defaults or {}).get(pattern["param"], "")
        if not isinstance(pattern, str | None):
            raise ConditionError("expected a regex string", (*here, 1))
        try:
            compile_pattern(str(pattern or ""))
        except ValueError as exc:
            raise ConditionError(str(exc), here) from None
    else:  # one_of
        _check_operand(arg[0], (*here, 0), subject=True)
        listed = arg[1]
        if isinstance(listed, Mapping):
            if set(listed) != {"param"} or not isinstance(listed["param"], str):
                raise ConditionError("expected a list of values or {param: NAME}", (*here, 1))
        elif isinstance(listed, list):
            for i, value in enumerate(listed):
                _check_operand(value, (*here, 1, i), subject=False)
        else:
            raise ConditionError("expected a list of values or {param: NAME}", (*here, 1))


_OPERAND_KEYS = ({"path"}, {"path", "default"}, {"param"}, {"value"})


def _check_path(text: str, where: paths.Path) -> None:
    try:
        if "{" in text:  # as _format_path: a path without "{" is used as written
            for _, name, spec, conversion in string.Formatter().parse(text):
                # Only {NAME}: str.format's {a.b}, {a[0]}, {a!r} and {a:>3} would read an
                # attribute, index the value or reformat it when the path is filled in.
                if name is not None and (not name.isidentifier() or spec or conversion):
                    raise ValueError("a placeholder in a path is {NAME}, a parameter's name; "
                                     f"got {_field(name, spec, conversion)}")
            text = text.format_map(_Placeholders())
        paths.parse(text)
    except ValueError as exc:
        raise ConditionError(str(exc), where) from None


def _field(name: str, spec: str | None, conversion: str | None) -> str:
    return ("{" + name + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "") + "}")


class _Placeholders(dict[str, str]):
    """Formats a path's ``{param}`` placeholders with a key, to check the path's syntax."""

    def __missing__(self, key: str) -> str:
        return "x"


def _check_operand(spec: Any, where: paths.Path, subject: bool) -> None:
    """A mapping operand has exactly the keys of one form (a typo such as ``paht`` is an
    error, not a literal mapping); a subject that is not a mapping is a path."""
    if isinstance(spec, Mapping):
        if set(spec) not in _OPERAND_KEYS:
            raise ConditionError(
                f"an operand is {{path: P}}, {{path: P, default: V}}, {{param: NAME}} or "
                f"{{value: V}}; got keys {sorted(map(str, spec))}", where)
        if "path" in spec:
            if not isinstance(spec["path"], str):
                raise ConditionError("path: expected a path string", (*where, "path"))
            _check_path(spec["path"], (*where, "path"))
        if "param" in spec and not isinstance(spec["param"], str):
            raise ConditionError("param: expected a parameter name", (*where, "param"))
    elif subject:
        if not isinstance(spec, str):
            raise ConditionError(
                "the first operand is what is checked: a path string, or {path: P}, "
                f"{{param: NAME}} or {{value: V}}; got {_a(spec)}", where)
        _check_path(spec, where)
    elif isinstance(spec, list) and any(isinstance(v, Mapping | list) for v in spec):
        # A bare list is a literal: an operand inside it would never be read.
        raise ConditionError("a list operand is a literal of plain values; write a list of "
                             "mappings or lists as {value: [...]}", where)


def _a(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a number" if isinstance(value, int | float) else f"a {type(value).__name__}"


class CelError(RuntimeError):
    """A CEL expression that could not be evaluated (the item's result is an error)."""


def cel_expressions(cond: Any) -> list[str]:
    """Every ``cel:`` expression in a condition, in order, once each."""
    if not isinstance(cond, Mapping) or len(cond) != 1:
        return []
    (op, arg), = cond.items()
    if op == "cel" and isinstance(arg, str):
        return [arg]
    if op in ("any", "all") and isinstance(arg, list):
        return list(dict.fromkeys(e for c in arg for e in cel_expressions(c)))
    return cel_expressions(arg) if op == "not" else []


RESERVED_PARAMS = ("environment", "now")  # given by the engine, not declared by policies


def param_refs(value: Any) -> set[str]:
    """Every parameter a condition refers to: ``{param: X}`` operands and ``{X}``
    placeholders in its paths (not in its literals or patterns: a regex's ``{1,2}`` is
    not a parameter), so a policy naming an undeclared one is rejected at load time
    instead of silently comparing with nothing. A string is a path template (``locate``)."""
    if isinstance(value, str):
        return placeholders(value)
    if not isinstance(value, Mapping) or len(value) != 1:
        return set()
    (op, arg), = value.items()
    if op in ("any", "all"):
        return set().union(*(param_refs(c) for c in arg)) if isinstance(arg, list) else set()
    if op == "not":
        return param_refs(arg)
    if op in ("missing", "exists"):
        return placeholders(arg) if isinstance(arg, str) else set()
    if op == "cel":
        return cel.param_names(arg) if isinstance(arg, str) else set()
    if not isinstance(arg, list) or not arg:
        return set()
    found = _operand_refs(arg[0], subject=True)
    for spec in arg[2:] if op == "compare" else arg[1:]:
        found |= _operand_refs(spec, subject=False)
        if op == "one_of" and isinstance(spec, list):
            found = found.union(*(_operand_refs(v, subject=False) for v in spec))
    return found


def _operand_refs(spec: Any, subject: bool) -> set[str]:
    if isinstance(spec, Mapping):
        if "param" in spec:
            return {str(spec["param"])}
        if isinstance(spec.get("path"), str):
            return placeholders(spec["path"])
        return set()
    return placeholders(spec) if subject and isinstance(spec, str) else set()


def placeholders(text: str) -> set[str]:
    """The parameters a path template names: ``{values_key}.size`` -> {values_key}."""
    if "{" not in text:
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def evaluate(cond: Mapping[str, Any], item: Any, params: Mapping[str, Any],
             cel_answers: Mapping[str, Any] | None = None) -> Tri:
    """``cel_answers``: each ``cel:`` expression's answer for this item, worked out for
    all items at once (:func:`cel_expressions`); a failure is raised as CelError."""
    (op, arg), = cond.items()
    if op == "any":
        return _any([evaluate(c, item, params, cel_answers) for c in arg])
    if op == "all":
        return _all([evaluate(c, item, params, cel_answers) for c in arg])
    if op == "not":
        inner = evaluate(arg, item, params, cel_answers)
        return inner if isinstance(inner, Unknown) else not inner
    if op == "cel":
        answer = (cel_answers or {}).get(arg)
        if answer is None:
            raise CelError("the CEL expression was not evaluated")
        if isinstance(answer, Exception):
            raise CelError(str(answer))
        return answer  # type: ignore[no-any-return]
    if op in ("missing", "exists"):
        value = _lookup(item, _format_path(arg, params))
        if isinstance(value, Unknown):
            return value
        absent = value is paths.MISSING or value is None
        return absent if op == "missing" else not absent
    left = _known(_operand(arg[0], item, params, subject=True))
    if op == "compare":
        right = _known(_operand(arg[2], item, params))
        for side in (left, right):
            if isinstance(side, Unknown):
                return side
        return _compare(left, arg[1], right)
    if isinstance(left, Unknown):
        return left
    if op == "one_of":
        listed = _operand(arg[1], item, params) if isinstance(arg[1], Mapping) else arg[1]
        if isinstance(listed, Unknown):
            return listed
        values = [_known(_operand(v, item, params))
                  for v in (listed if isinstance(listed, list) else [])]
        if any(_equal(left, v) for v in values if not isinstance(v, Unknown)):
            return True
        # No known value matches: an unknown one might have.
        return next((v for v in values if isinstance(v, Unknown)), False)
    # matches
    pattern = _operand(arg[1], item, params) if isinstance(arg[1], Mapping) else arg[1]
    if isinstance(pattern, Unknown):
        return pattern
    if isinstance(left, Mapping | list):
        return Unknown(f"matches takes a string, not {_a(left)}")
    return compile_pattern(str(pattern)).search(str(left)) is not None


class _Absent:
    """A path with no value and no default: comparing it would guess."""

    def __init__(self, path: str) -> None:
        self.path = path


def _known(value: Any) -> Any:
    if isinstance(value, _Absent):
        return Unknown(f"{value.path} is not set (the policy gives it no default; "
                       "missing/exists test absence)")
    if isinstance(value, Mapping) and MARKER in value:
        # A live value kept only as a hash (it may be a secret): nothing to compare.
        return Unknown("the live value is kept only as a hash (it may hold a secret)")
    return value


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


def _operand(spec: Any, item: Any, params: Mapping[str, Any], subject: bool = False) -> Any:
    if subject and isinstance(spec, str):  # the subject's short form of {path: P}
        spec = {"path": spec}
    if not isinstance(spec, Mapping):
        return spec
    if "param" in spec:
        return params.get(spec["param"])
    if "value" in spec:
        return spec["value"]
    text = _format_path(spec["path"], params)
    value = _lookup(item, text)
    if value is paths.MISSING or value is None:
        return spec["default"] if "default" in spec else _Absent(text)
    return value


def _equal(a: Any, b: Any) -> bool:
    # A boolean is not a number here, whatever Python says (True == 1); "true" still
    # equals true (annotations and labels spell booleans as strings).
    if (isinstance(a, bool) and _number(b)) or (isinstance(b, bool) and _number(a)):
        return False
    return semantic_equal(a, b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(left: Any, op: str, right: Any) -> Tri:
    if op in ("==", "!="):
        equal = _equal(left, right)
        return equal if op == "==" else not equal
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return Unknown(f"cannot order {left!r} {op} {right!r}")
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
