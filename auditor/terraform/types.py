"""Variable type constraints, as far as they change a value: an object attribute declared
``optional(T)`` or ``optional(T, DEFAULT)`` and not given is null or its default, in
objects at any depth of maps, lists, sets and tuples (Terraform's conversion). Other type
checks are Terraform's job; a constraint that does not parse leaves the value as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"\s*([A-Za-z_][\w-]*|[(){}\[\],=])")
MAX_TYPE = 65536  # characters of a type constraint read (the EKS module's run to 13,000)


@dataclass
class Type:
    kind: str  # "object", "map", "list", "set", "tuple", or a primitive
    inner: list[Type] = field(default_factory=list)  # collection element; tuple members
    attrs: dict[str, tuple[Type, bool, str | None]] = field(default_factory=dict)
    # object: name -> (type, optional, default expression text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self) -> str:
        m = _TOKEN.match(self.text, self.pos)
        return m.group(1) if m else ""

    def take(self, expected: str | None = None) -> str:
        m = _TOKEN.match(self.text, self.pos)
        if not m or (expected is not None and m.group(1) != expected):
            raise ValueError(f"expected {expected!r}")
        self.pos = m.end()
        return m.group(1)

    def type(self) -> Type:
        name = self.take()
        if name in ("list", "set", "map"):
            self.take("(")
            inner = self.type()
            self.take(")")
            return Type(name, [inner])
        if name == "tuple":
            self.take("(")
            self.take("[")
            members = []
            while self.peek() != "]":
                members.append(self.type())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            self.take(")")
            return Type("tuple", members)
        if name == "object":
            self.take("(")
            self.take("{")
            attrs = {}
            while self.peek() != "}":
                attr = self.take()
                self.take("=")
                attrs[attr] = self.attribute()
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
            self.take(")")
            return Type("object", attrs=attrs)
        return Type(name)

    def attribute(self) -> tuple[Type, bool, str | None]:
        if self.peek() != "optional":
            return self.type(), False, None
        self.take("optional")
        self.take("(")
        inner = self.type()
        default = None
        if self.peek() == ",":
            self.take(",")
            default = self.until_close()
        self.take(")")
        return inner, True, default

    def until_close(self) -> str:
        """The default's expression text, up to the ')' that closes optional(."""
        depth, start = 0, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    return self.text[start:self.pos].strip()
                depth -= 1
            elif char == '"':  # a string: skip to its end
                end = self.text.find('"', self.pos + 1)
                self.pos = end if end > 0 else len(self.text)
            self.pos += 1
        raise ValueError("unclosed optional(")


def parse(raw: Any) -> Type | None:
    """The constraint of a variable's ``type`` (as the loader keeps it: ``${...}``), or
    None when it has no optional attribute to fill or does not parse."""
    if not isinstance(raw, str) or "optional" not in raw or len(raw) > MAX_TYPE:
        return None
    text = raw.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    try:
        parser = _Parser(text)
        found = parser.type()
    except (ValueError, RecursionError):
        return None
    return found if not parser.text[parser.pos:].strip() else None


def conform(value: Any, t: Type, default: Callable[[str], Any]) -> Any:
    """``value`` with the optional attributes its type declares filled in (``default``
    evaluates a default's expression text)."""
    if t.kind == "object" and isinstance(value, dict):
        out = dict(value)
        for name, (inner, optional, text) in t.attrs.items():
            if name in out:
                out[name] = conform(out[name], inner, default)
            elif optional:
                out[name] = None if text is None else conform(default(text), inner, default)
        return out
    if t.kind == "map" and isinstance(value, dict):
        return {k: conform(v, t.inner[0], default) for k, v in value.items()}
    if t.kind in ("list", "set") and isinstance(value, list):
        return [conform(v, t.inner[0], default) for v in value]
    if t.kind == "tuple" and isinstance(value, list):
        return [conform(v, t.inner[i], default) if i < len(t.inner) else v
                for i, v in enumerate(value)]
    return value
