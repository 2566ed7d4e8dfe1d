"""Offline evaluator for the expression strings python-hcl2 returns.

python-hcl2 evaluates nothing. Each expression comes back as a ``"${...}"`` string, and
string literals inside it keep their HCL escapes. A plain top-level string has already
been unescaped, except for ``$${`` and ``%%{``. A heredoc comes back with its
``<<EOT``/``EOT`` markers. :func:`evaluate` walks such a value and folds whatever can be
known without a provider: literals, operators, ``var.*``, ``local.*`` and a subset of the
built-in functions. Computed resource attributes come back as :class:`Ref`. Anything else
becomes :class:`Unknown` with a reason: for expressions, splats, template directives,
unlisted functions, per-instance values, and every error. The parser is a hand-written
lexer with precedence climbing. It uses no ``eval``, caps nesting, and never lets an
exception out of :func:`evaluate`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Protocol, TypeVar

from auditor.unknown import Unknown  # the checks test isinstance against this very class

__all__ = ["MAX_DEPTH", "Ref", "Scope", "Unknown", "evaluate"]

MAX_DEPTH = 40  # parse nesting and tree depth: keeps both far below Python's recursion limit
_T = TypeVar("_T")


@dataclass(frozen=True)
class Ref:
    """A computed attribute of another resource, e.g. ``aws_security_group.app.id``."""

    address: str  # "aws_security_group.app", "data.aws_vpc.main", "aws_instance.web[0]"
    attribute: str  # "id", "arn", "root_block_device[0].volume_id", ...

    def __str__(self) -> str:
        return f"{self.address}.{self.attribute}"


class Scope(Protocol):
    def variable(self, name: str) -> object: ...  # value, or Unknown
    def local(self, name: str) -> object: ...  # value (already evaluated), or Unknown
    def resource_attribute(self, address: str, attribute: str) -> object: ...  # value/Ref/Unknown


class _Stop(Exception):
    """Abandons the current expression; the nearest guard turns it into its Unknown."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


class _Error(_Stop):
    """A genuine evaluation error, as opposed to a value that is merely unknown (see can())."""

    def __init__(self, reason: str) -> None:
        super().__init__(Unknown(reason))


class _ParseError(Exception):
    pass


@dataclass(frozen=True)
class _Node:
    run: Callable[[Scope], object]  # closures rather than an AST: lazy where HCL needs it
    depth: int


def _mk(run: Callable[[Scope], object], *kids: _Node) -> _Node:
    depth = 1 + max((k.depth for k in kids), default=0)
    if depth > MAX_DEPTH:
        raise _ParseError("expression is nested too deeply")
    return _Node(run, depth)


def _const(value: object) -> _Node:
    return _Node(lambda _s: value, 1)


def _unknown(reason: str) -> _Node:
    def run(_s: Scope) -> object:
        raise _Stop(Unknown(reason))
    return _Node(run, 1)


def _guard(node: _Node, scope: Scope) -> object:
    try:
        return node.run(scope)
    except _Stop as stop:
        return stop.unknown


# --- values: HCL's conversions (numeric strings count as numbers, etc.) ---------------------

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _norm(x: int | float) -> int | float:
    return int(x) if isinstance(x, float) and x.is_integer() else x  # HCL has one number type


def _parse_num(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else _norm(float(text))


def _kind(v: object) -> str:
    names = {bool: "bool", int: "number", float: "number", str: "string", list: "list",
             dict: "map", type(None): "null"}
    return names.get(type(v), type(v).__name__)


def _opaque(v: Unknown | Ref) -> Unknown:
    return v if isinstance(v, Unknown) else Unknown(f"{v} is only known after apply")


def _need(v: object) -> object:
    if isinstance(v, Unknown | Ref):
        raise _Stop(_opaque(v))
    return v


def _num(v: object) -> int | float:
    v = _need(v)
    if isinstance(v, str) and _NUMBER.fullmatch(v):
        return _parse_num(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    raise _Error(f"a number is required, got {_kind(v)}")


def _str(v: object) -> str:
    v = _need(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    raise _Error(f"a string is required, got {_kind(v)}")


def _bool(v: object) -> bool:
    v = _need(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in ("true", "false"):
        return v == "true"
    raise _Error(f"a bool is required, got {_kind(v)}")


def _list(v: object) -> list[Any]:
    if isinstance(v := _need(v), list):
        return v
    raise _Error(f"a list is required, got {_kind(v)}")


def _map(v: object) -> dict[str, Any]:
    if isinstance(v := _need(v), dict):
        return v
    raise _Error(f"a map is required, got {_kind(v)}")


def _find(v: object, cls: type[_T]) -> _T | None:
    if isinstance(v, cls):
        return v
    kids: Iterable[object] = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
    for item in kids:
        if (found := _find(item, cls)) is not None:
            return found
    return None


def _same(a: object, b: object) -> bool:  # HCL equality is type-strict: 1 != "1", true != 1
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return _kind(a) == _kind(b) and a == b


def _equal(a: object, b: object) -> bool:
    for v in (a, b):
        if (unknown := _find(v, Unknown)) is not None:
            raise _Stop(unknown)
    if _same(a, b):  # the same Ref on both sides is the same value
        return True
    if (ref := _find(a, Ref) or _find(b, Ref)) is not None:
        raise _Stop(Unknown(f"cannot compare {ref}, which is only known after apply"))
    return False


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _arith(op: str, a: object, b: object) -> int | float:
    x, y = _num(a), _num(b)
    if op in "/%" and y == 0:
        raise _Error("division by zero")
    if op == "%":  # HCL's remainder takes the dividend's sign, unlike Python's
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    return _ARITH[op](x, y)


_OPS: dict[str, Callable[[object, object], object]] = {
    "==": _equal, "!=": lambda a, b: not _equal(a, b),
    "<": lambda a, b: _num(a) < _num(b), ">": lambda a, b: _num(a) > _num(b),
    "<=": lambda a, b: _num(a) <= _num(b), ">=": lambda a, b: _num(a) >= _num(b),
    **{op: partial(_arith, op) for op in "+-*/%"},
}


def _logic(op: str, a: object, b: object) -> bool:
    decisive = op == "||"  # true settles ||, false settles &&, even if the other side is unknown
    pending: Unknown | None = None
    for v in (a, b):
        if isinstance(v, Unknown | Ref):
            pending = pending if pending is not None else _opaque(v)
        elif _bool(v) == decisive:
            return decisive
    if pending is not None:
        raise _Stop(pending)
    return not decisive


def _binop(op: str, left: _Node, right: _Node) -> _Node:
    if op in ("&&", "||"):
        return _mk(lambda s: _logic(op, _guard(left, s), _guard(right, s)), left, right)
    fn = _OPS[op]

    def run(s: Scope) -> object:
        try:
            r = fn(left.run(s), right.run(s))
        except (OverflowError, ValueError) as exc:  # e.g. a 400-digit int times a float
            raise _Error(f"arithmetic error: {exc}") from None
        return _norm(r) if isinstance(r, float) else r
    return _mk(run, left, right)


def _conditional(cond: _Node, yes: _Node, no: _Node) -> _Node:  # runs only the chosen branch
    return _mk(lambda s: (yes if _bool(cond.run(s)) else no).run(s), cond, yes, no)


def _unary(op: str, node: _Node) -> _Node:
    if op == "!":
        return _mk(lambda s: not _bool(node.run(s)), node)
    return _mk(lambda s: _norm(-_num(node.run(s))), node)


def _suffix(key: object, attr: bool) -> str:
    key = _need(key)
    if attr or (isinstance(key, int | float) and not isinstance(key, bool)):
        return f".{key}" if attr else f"[{key}]"
    if isinstance(key, str):
        return f'["{key}"]'
    raise _Error(f"a {_kind(key)} cannot be used as a key")


def _index(v: object, key: object, attr: bool) -> object:
    if isinstance(v, Ref):  # a path into a computed attribute is still computed
        return Ref(v.address, v.attribute + _suffix(key, attr))
    v = _need(v)
    if isinstance(v, dict):
        if (k := _str(key)) in v:
            return v[k]
        raise _Error(f"{'attribute' if attr else 'key'} {k!r} not found")
    if isinstance(v, list):
        i = _num(key)
        if isinstance(i, int) and 0 <= i < len(v):
            return v[i]
        raise _Error(f"index {i} is out of range for a list of {len(v)}")
    raise _Error(f"cannot index a {_kind(v)} value")


def _traverse(base: _Node, steps: list[str | _Node]) -> _Node:  # str: .attr, _Node: [index]
    def run(s: Scope) -> object:
        value = base.run(s)
        for step in steps:
            attr = isinstance(step, str)
            value = _index(value, step if isinstance(step, str) else step.run(s), attr)
        return value
    return _mk(run, base, *(x for x in steps if isinstance(x, _Node)))


def _resource(address: str, key: _Node | None, attribute: str) -> _Node:
    def run(s: Scope) -> object:
        addr = address if key is None else address + _suffix(key.run(s), False)
        if not attribute:
            raise _Stop(Unknown(f"{addr} is a whole resource, not one of its attributes"))
        return s.resource_attribute(addr, attribute)
    return _mk(run, *(k for k in (key,) if k is not None))


def _template(parts: list[str | _Node], directive: bool) -> _Node:
    if directive:
        return _unknown("template directives (%{...}) are not evaluated offline")
    nodes = [p for p in parts if isinstance(p, _Node)]
    if len(parts) == 1 and nodes:  # "${x}" alone keeps x's type, as in HCL
        return nodes[0]
    if not nodes:
        return _const("".join(p for p in parts if isinstance(p, str)))
    return _mk(lambda s: "".join(p if isinstance(p, str) else _str(p.run(s)) for p in parts),
               *nodes)


def _collection(keys: list[_Node], values: list[_Node], is_map: bool) -> _Node:
    def run(s: Scope) -> object:
        if not is_map:  # one unknown element leaves the rest of the list known
            return [_guard(v, s) for v in values]
        return {_str(k.run(s)): _guard(v, s) for k, v in zip(keys, values, strict=True)}
    return _mk(run, *keys, *values)


# --- functions -------------------------------------------------------------------------------

def _format(fmt: object, *args: object) -> str:
    values = list(args)

    def verb(m: re.Match[str]) -> str:
        if m.group(1) == "%":
            return "%"
        if m.group(1) not in ("s", "d", "v"):
            raise _Stop(Unknown(f"format verb %{m.group(1)} is not evaluated offline"))
        if not values:
            raise _Error("format(): not enough arguments")
        if m.group(1) != "d":
            return _str(values.pop(0))
        if not isinstance(n := _num(values.pop(0)), int):
            raise _Error(f"format(): %d needs a whole number, got {n}")
        return str(n)
    return re.sub(r"%(.?)", verb, _str(fmt))


def _lookup(table: object, key: object, *default: object) -> object:
    m, k = _map(table), _str(key)
    if k in m:
        return m[k]
    if default:
        return default[0]
    raise _Error(f"lookup(): key {k!r} not found and no default given")


def _coalesce(*args: object) -> object:
    for v in args:
        if isinstance(v, Unknown):  # it might have been the first non-empty value
            raise _Stop(v)
        if v is not None and v != "":
            return v
    raise _Error("coalesce(): no non-null, non-empty argument")


def _contains(items: object, value: object) -> bool:
    pending: _Stop | None = None
    for item in _list(items):
        try:
            if _equal(item, value):
                return True
        except _Stop as stop:
            pending = stop
    if pending is not None:
        raise pending
    return False


def _distinct(items: object) -> list[object]:
    out: list[object] = []
    for item in _list(items):
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _flatten(items: object) -> list[object]:
    out: list[object] = []
    for item in _list(items):
        if isinstance(item, Unknown):  # it could be a list, so the shape is unknown
            raise _Stop(item)
        out.extend(_flatten(item) if isinstance(item, list) else [item])  # Refs: assumed scalar
    return out


def _replace(s: object, old: object, new: object) -> str:
    if len(o := _str(old)) > 1 and o.startswith("/") and o.endswith("/"):
        raise _Stop(Unknown("replace() with a regular expression is not evaluated offline"))
    return _str(s).replace(o, _str(new))


def _element(items: object, index: object) -> object:
    lst, i = _list(items), _num(index)
    if not lst or not isinstance(i, int):
        raise _Error("element(): needs a non-empty list and a whole-number index")
    return lst[i % len(lst)]


def _toset(items: list[object]) -> list[object]:  # Terraform iterates string sets in order
    return sorted(items, key=str) if all(isinstance(x, str) for x in items) else items


def _length(v: object) -> int:
    if isinstance(v := _need(v), list | dict | str):
        return len(v)
    raise _Error(f"length(): cannot take the length of a {_kind(v)}")


_FUNCS: dict[str, Callable[..., object]] = {
    "lookup": _lookup, "coalesce": _coalesce, "contains": _contains, "format": _format,
    "merge": lambda *ms: {k: v for m in ms if m is not None for k, v in _map(m).items()},
    "concat": lambda *ls: [x for lst in ls for x in _list(lst)],
    "join": lambda sep, *ls: _str(sep).join(_str(x) for lst in ls for x in _list(lst)),
    "split": lambda sep, s: _str(s).split(_str(sep)),
    "lower": lambda s: _str(s).lower(), "upper": lambda s: _str(s).upper(),
    "trimspace": lambda s: _str(s).strip(), "replace": _replace,
    "tostring": lambda v: None if v is None else _str(v),
    "tonumber": lambda v: None if v is None else _num(v),
    "tobool": lambda v: None if v is None else _bool(v),
    "tolist": _list, "length": _length, "element": _element,
    "toset": lambda v: _toset(_distinct(v)),
    "max": lambda *ns: _norm(max(_num(n) for n in ns)),
    "min": lambda *ns: _norm(min(_num(n) for n in ns)),
    "keys": lambda m: sorted(_map(m)), "values": lambda m: [_map(m)[k] for k in sorted(_map(m))],
    "distinct": _distinct, "flatten": _flatten,
}


def _call(name: str, args: list[_Node], expand: bool) -> _Node:
    if name == "try":  # first argument that evaluates cleanly to a known value
        def run(s: Scope) -> object:
            reasons = []
            for a in args:
                if not isinstance(v := _guard(a, s), Unknown):
                    return v
                reasons.append(v.reason)
            raise _Stop(Unknown(f"no try() argument could be evaluated: {'; '.join(reasons)}"))
    elif name == "can":
        if len(args) != 1 or expand:
            return _unknown("can() takes exactly one argument")

        def run(s: Scope) -> object:
            try:
                value = args[0].run(s)
            except _Error:
                return False
            if isinstance(value, Unknown):
                raise _Stop(value)
            return True
    elif name in _FUNCS:
        fn = _FUNCS[name]

        def run(s: Scope) -> object:
            values = [a.run(s) for a in args]
            if expand:  # f(a, list...) spreads the last argument
                values[-1:] = _list(values[-1])
            try:
                return fn(*values)
            except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
                raise _Error(f"invalid call to {name}(): {exc}") from None
    else:
        return _unknown(f"function {name}() is not evaluated offline")
    return _mk(run, *args)


# --- parser ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<id>[^\W\d][\w-]*)"
                    r"|(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|\[\*\]|\.\*|[-+*/%<>!?:.,()\[\]{}=])")
_HEREDOC = re.compile(r"<<(-?)([^\W\d][\w-]*)\n")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([nrt\"\\]))")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_BINARY = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_KEYWORDS = {"true": True, "false": False, "null": None}
_ROOTS = {"count": "{} is only known per instance", "each": "{} is only known per instance",
          "self": "{} is only known inside provisioners",
          "path": "{} depends on where terraform runs",
          "terraform": "{} is only known when terraform runs",
          "module": "module output {} is not evaluated offline"}


class _Parser:
    def __init__(self, src: str, nesting: int = 0) -> None:
        self.src, self.pos, self.nesting = src, 0, nesting
        self.kind, self.text, self.node = "eof", "", _const(None)  # one token of lookahead

    def advance(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= len(self.src):
            self.kind, self.text = "eof", "end of input"
            return
        if self.src[start] == '"':
            self.pos += 1
            self.node = self.template('"')
        elif head := _HEREDOC.match(self.src, start):
            self.node = self.heredoc(head)
        elif m := _TOKEN.match(self.src, start):
            self.pos, self.kind, self.text = m.end(), m.lastgroup or "", m.group()
            return
        else:
            raise _ParseError(f"unexpected character {self.src[start]!r}")
        self.kind, self.text = "str", self.src[start:self.pos]

    def at(self, op: str) -> bool:
        return self.kind == "op" and self.text == op

    def expect(self, op: str) -> None:
        if not self.at(op):
            raise _ParseError(f"expected {op!r}, found {self.text!r}")
        self.advance()

    def skip(self, close: str) -> None:  # to the matching close bracket, left as the lookahead
        depth = 0
        while self.kind != "eof":
            if self.kind == "op" and self.text in ("(", "[", "{"):
                depth += 1
            elif self.kind == "op" and self.text in (")", "]", "}"):
                if depth == 0 and self.text == close:
                    return
                depth -= 1
            self.advance()
        raise _ParseError(f"missing {close!r}")

    def enter(self, by: int) -> None:  # strings nest through the lexer, so count them too
        self.nesting += by
        if self.nesting > MAX_DEPTH:
            raise _ParseError("expression is nested too deeply")

    def template(self, quote: str | None) -> _Node:  # quote: '"' inside expressions, else None
        self.enter(1)
        parts: list[str | _Node] = []
        buf: list[str] = []
        directive = False
        while self.pos < len(self.src) and self.src[self.pos] != quote:
            three = self.src[self.pos:self.pos + 3]
            if three in ("$${", "%%{"):  # escaped, stays literal
                buf.append(three[1:])
                self.pos += 3
            elif three[:2] in ("${", "%{"):
                parts.append("".join(buf))
                buf = []
                self.pos += 2
                self.advance()
                if three[0] == "%":
                    directive = True
                    self.skip("}")
                else:
                    parts.append(self.expr())
                    if not self.at("}"):
                        raise _ParseError(f"expected '}}' to close '${{', found {self.text!r}")
            elif quote and (m := _ESCAPE.match(self.src, self.pos)):
                code = m.group(1) or m.group(2)
                buf.append(chr(int(code, 16)) if code else _ESCAPES[m.group(3)])
                self.pos = m.end()
            elif quote and self.src[self.pos] == "\\":
                raise _ParseError("invalid escape sequence")
            else:
                buf.append(self.src[self.pos])
                self.pos += 1
        if quote:
            if self.pos >= len(self.src):
                raise _ParseError("unterminated string")
            self.pos += 1
        parts.append("".join(buf))
        self.enter(-1)
        return _template([p for p in parts if p != ""], directive)

    def heredoc(self, head: re.Match[str]) -> _Node:
        marker = re.escape(head.group(2))
        end = re.compile(rf"^[ \t]*{marker}(?![\w-])", re.M).search(self.src, head.end())
        if end is None:
            raise _ParseError(f"unterminated heredoc {head.group(2)}")
        body, self.pos = self.src[head.end():end.start()], end.end()
        if head.group(1):  # <<- strips the indentation common to all non-blank lines
            lines = body.split("\n")
            cut = min((len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()), default=0)
            body = "\n".join(x[cut:] for x in lines)
        return _Parser(body, self.nesting + 1).template(None)

    def expr(self) -> _Node:
        self.enter(1)
        cond = self.binary(1)
        if self.at("?"):
            self.advance()
            yes = self.expr()
            self.expect(":")
            cond = _conditional(cond, yes, self.expr())
        self.enter(-1)
        return cond

    def binary(self, min_prec: int) -> _Node:  # precedence climbing, left-associative
        left = self.unary()
        while self.kind == "op" and _BINARY.get(self.text, 0) >= min_prec:
            op = self.text
            self.advance()
            left = _binop(op, left, self.binary(_BINARY[op] + 1))
        return left

    def unary(self) -> _Node:
        ops = []
        while self.kind == "op" and self.text in ("!", "-"):  # a loop: no recursion on "!!!!"
            ops.append(self.text)
            self.advance()
        node = self.postfix()
        for op in reversed(ops):
            node = _unary(op, node)
        return node

    def postfix(self) -> _Node:
        node, steps, splat = self.primary(), list[str | _Node](), False
        while True:
            if self.at("."):
                steps.append(self.name())
            elif self.at("["):
                self.advance()
                steps.append(self.expr())
                self.expect("]")
            elif self.at("[*]") or self.at(".*"):
                splat = True
                self.advance()
            else:
                break
        if splat:
            return _unknown("splat expressions ([*]) are not evaluated offline")
        return _traverse(node, steps) if steps else node

    def name(self) -> str:  # ".name" (or legacy ".0")
        self.expect(".")
        if self.kind not in ("id", "num"):
            raise _ParseError(f"expected an attribute name, found {self.text!r}")
        text = self.text
        self.advance()
        return text

    def primary(self) -> _Node:
        kind, text, node = self.kind, self.text, self.node
        if kind in ("str", "num"):
            self.advance()
            return node if kind == "str" else _const(_parse_num(text))
        if kind == "id":
            self.advance()
            if self.at("("):
                return self.call(text)
            return _const(_KEYWORDS[text]) if text in _KEYWORDS else self.reference(text)
        if self.at("("):
            self.advance()
            node = self.expr()
            self.expect(")")
            return node
        if self.at("[") or self.at("{"):
            return self.collection("]" if text == "[" else "}")
        raise _ParseError(f"unexpected {text!r}")

    def collection(self, close: str) -> _Node:
        self.advance()
        if self.kind == "id" and self.text == "for":
            self.skip(close)
            self.advance()
            return _unknown("for expressions are not evaluated offline")
        keys: list[_Node] = []
        values: list[_Node] = []
        while not self.at(close):
            if close == "}":
                keys.append(self.key())
            values.append(self.expr())
            if not self.at(close):
                self.expect(",")
        self.advance()
        return _collection(keys, values, close == "}")

    def key(self) -> _Node:  # a bare identifier key is a literal name, as in HCL
        if self.kind == "id":
            key = _const(self.text)
            self.advance()
        else:
            key = self.expr()
        if not (self.at("=") or self.at(":")):
            raise _ParseError(f"expected '=' in object, found {self.text!r}")
        self.advance()
        return key

    def call(self, name: str) -> _Node:
        self.advance()
        args: list[_Node] = []
        expand = False
        while not self.at(")"):
            args.append(self.expr())
            if self.at("..."):
                self.advance()
                expand = True
                break
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return _call(name, args, expand)

    def reference(self, root: str) -> _Node:
        if not self.at("."):
            return _unknown(f"unknown name {root!r}")  # e.g. a for-expression variable
        if root in ("var", "local"):
            name = self.name()
            return _mk(lambda s: s.variable(name) if root == "var" else s.local(name))
        if root in _ROOTS:
            return _unknown(_ROOTS[root].format(f"{root}.{self.name()}"))
        address = [root, self.name(), *([self.name()] if root == "data" else [])]
        key = None
        if self.at("["):  # aws_subnet.private[0]: an instance of a counted resource
            self.advance()
            key = self.expr()
            self.expect("]")
        attrs = []
        while self.at("."):
            attrs.append(self.name())
        return _resource(".".join(address), key, ".".join(attrs))


def _clip(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


@lru_cache(maxsize=4096)  # the same strings recur across resources; nodes are immutable
def _compile(text: str) -> _Node:
    try:
        if _HEREDOC.match(text):  # a whole heredoc value comes back with its markers
            parser = _Parser(text)
            parser.advance()
            if parser.kind == "str" and parser.pos == len(text.rstrip()):
                return parser.node
        return _Parser(text).template(None)
    except (_ParseError, ValueError) as exc:  # ValueError: int()/chr() of absurd literals
        return _unknown(f"cannot parse expression {_clip(text)}: {exc}")


def _is_template(text: str) -> bool:
    return "${" in text or "%{" in text or text.startswith("<<")


def _walk(value: object, scope: Scope, depth: int) -> object:
    if depth > MAX_DEPTH:
        return Unknown("value is nested too deeply")
    if isinstance(value, str) and _is_template(value):
        try:
            return _guard(_compile(value), scope)
        except RecursionError:  # backstop for callers already deep in the stack
            return Unknown(f"expression {_clip(value)} is nested too deeply")
    if isinstance(value, list):
        return [_walk(v, scope, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            try:  # "${(var.k)}" keys come back as expressions
                key = _str(_walk(k, scope, depth + 1)) if isinstance(k, str) else k
            except _Stop:  # a key we cannot know stays as written
                key = k
            out[key] = _walk(v, scope, depth + 1)
        return out
    return value


def evaluate(value: object, scope: Scope) -> object:
    """Evaluate the expressions in a python-hcl2 value: str, list or dict, recursively.

    A string that is exactly one ``${expr}`` keeps the expression's type; other templates
    yield a string, or :class:`Unknown` if any part is unknown or a :class:`Ref`. Never raises
    (the scope's own exceptions aside).
    """
    return _walk(value, scope, 0)
