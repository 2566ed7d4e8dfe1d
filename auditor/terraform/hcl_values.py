"""Values and conversions shared by the HCL expression evaluator's modules.

This is the bottom layer of :mod:`auditor.terraform.expressions`: the value types
(:class:`Ref`, :class:`Scope`, :class:`Unknown`), the exceptions that abandon an evaluation or
a parse, and HCL's conversion and equality rules (numeric strings count as numbers, equality is
type-strict). It imports nothing else from the evaluator, so the lexer, parser and function
table can all depend on it without cycles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from auditor.unknown import Unknown  # the checks test isinstance against this very class

MAX_DEPTH = 40  # parse nesting and tree depth: keeps both far below Python's recursion limit
NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"  # a number literal; the lexer uses it too
_NUMERIC_STRING = re.compile("-?" + NUMBER)
_KINDS = {bool: "bool", int: "number", float: "number", str: "string", list: "list",
          dict: "map", type(None): "null"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Ref:
    """A computed attribute of another resource, e.g. ``aws_security_group.app.id``."""

    address: str  # "aws_security_group.app", "data.aws_vpc.main", "aws_instance.web[0]"
    attribute: str  # "id", "arn", "root_block_device[0].volume_id", ...

    @property
    def known(self) -> str:
        """When Terraform knows it: a data source's at plan time (read from the provider,
        which is not done offline), a resource's computed attribute after apply."""
        return "read from the provider at plan time, not offline" if _DATA.match(
            self.address) else "only known after apply"

    def __str__(self) -> str:  # no attribute: the resource as a whole
        return f"{self.address}.{self.attribute}" if self.attribute else self.address


_DATA = re.compile(r"^(module\.[^.\[]+(\[[^\]]*\])?\.)*data\.")  # a data source's address


class Scope(Protocol):
    def variable(self, name: str) -> object: ...  # value, or Unknown
    def local(self, name: str) -> object: ...  # value (already evaluated), or Unknown
    def resource_attribute(self, address: str, attribute: str) -> object: ...  # value/Ref/Unknown


class Stop(Exception):
    """Abandons the current expression; the nearest guard turns it into its Unknown."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


class EvalError(Stop):
    """A genuine evaluation error, as opposed to a value that is merely unknown (see can())."""

    def __init__(self, reason: str) -> None:
        super().__init__(Unknown(reason))


class ParseError(Exception):
    """The text is not an expression we can parse; the whole string becomes Unknown."""


def clip(text: str) -> str:  # source text quoted in a reason, kept short
    return repr(text if len(text) <= 60 else text[:57] + "...")


def norm(x: int | float) -> int | float:
    return int(x) if isinstance(x, float) and x.is_integer() else x  # HCL has one number type


def parse_num(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else norm(float(text))


def kind(v: object) -> str:  # HCL's name for a value's type, for error messages
    return _KINDS.get(type(v), type(v).__name__)


def opaque(v: Unknown | Ref) -> Unknown:
    return v if isinstance(v, Unknown) else Unknown(f"{v} is {v.known}", pending=True)


def known(v: object) -> object:
    if isinstance(v, Unknown | Ref):
        raise Stop(opaque(v))
    return v


def to_num(v: object) -> int | float:
    v = known(v)
    if isinstance(v, str) and _NUMERIC_STRING.fullmatch(v):
        return parse_num(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    raise EvalError(f"a number is required, got {kind(v)}")


def to_str(v: object) -> str:
    v = known(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    raise EvalError(f"a string is required, got {kind(v)}")


def to_bool(v: object) -> bool:
    v = known(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in ("true", "false"):
        return v == "true"
    raise EvalError(f"a bool is required, got {kind(v)}")


def to_list(v: object) -> list[Any]:
    if isinstance(v := known(v), list):
        return v
    raise EvalError(f"a list is required, got {kind(v)}")


def to_map(v: object) -> dict[str, Any]:
    if isinstance(v := known(v), dict):
        return v
    raise EvalError(f"a map is required, got {kind(v)}")


def find(v: object, cls: type[_T]) -> _T | None:  # the first cls anywhere inside v
    if isinstance(v, cls):
        return v
    kids: Iterable[object] = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
    for item in kids:
        if (found := find(item, cls)) is not None:
            return found
    return None


def same(a: object, b: object) -> bool:  # HCL equality is type-strict: 1 != "1", true != 1
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return kind(a) == kind(b) and a == b


def equal(a: object, b: object) -> bool:
    # A known collection is never null, whatever unknowns it holds (`x != null` guards),
    # and neither is a resource named whole.
    other = a if b is None else b
    if (a is None) != (b is None) and (isinstance(other, dict | list) or (
            isinstance(other, Ref) and not other.attribute)):
        return False
    for v in (a, b):
        if (unknown := find(v, Unknown)) is not None:
            raise Stop(unknown)
    if same(a, b):  # the same Ref on both sides is the same value
        return True
    if (ref := find(a, Ref) or find(b, Ref)) is not None:
        raise Stop(Unknown(f"cannot compare {ref}, which is {ref.known}", pending=True))
    return False


def pairs(value: object) -> list[tuple[object, object]] | None:
    """(key, element) as a for expression or a dynamic block iterates: a map by key in
    order, a list (or set) by index; None for anything else."""
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return None
