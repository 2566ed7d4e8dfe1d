"""The recursive-descent parser that compiles HCL expression text into a :class:`Node`.

Binary operators are parsed by precedence climbing; everything else is one method per grammar
rule, each returning the node built by :mod:`hcl_nodes` or :mod:`hcl_functions`. Constructs
that cannot be evaluated offline (splats, ``for`` expressions, ``count``/``each`` and other
per-run roots) are still parsed, so the text around them is checked, and become nodes that
yield :class:`Unknown` with the reason. :func:`parse` is the entry point: it never raises, and
caches by text since the same strings recur across resources.
"""

from __future__ import annotations

from functools import lru_cache

from auditor.terraform.hcl_fn_files import path_value
from auditor.terraform.hcl_functions import call
from auditor.terraform.hcl_lexer import HEREDOC, Lexer
from auditor.terraform.hcl_nodes import (
    Node,
    binop,
    bounded,
    collection,
    conditional,
    const,
    guard,
    mk,
    resource,
    traverse,
    unary,
    unknown,
)
from auditor.terraform.hcl_values import (
    EvalError,
    ParseError,
    Ref,
    Scope,
    Stop,
    clip,
    kind,
    known,
    pairs,
    parse_num,
    to_bool,
    to_str,
)
from auditor.unknown import Unknown

_BINARY = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_KEYWORDS = {"true": True, "false": False, "null": None}
_ROOTS = {"count": "{} is only known per instance", "each": "{} is only known per instance",
          "self": "{} is only known inside provisioners",
          "path": "{} depends on where terraform runs",
          "terraform": "{} is only known when terraform runs",
          "module": "module output {} is not evaluated offline"}


class Parser(Lexer):
    bound: tuple[str, ...] = ()  # names a for expression binds, innermost last

    def expr(self) -> Node:
        self.enter(1)
        cond = self.binary(1)
        if self.at("?"):
            self.advance()
            yes = self.expr()
            self.expect(":")
            cond = conditional(cond, yes, self.expr())
        self.enter(-1)
        return cond

    def binary(self, min_prec: int) -> Node:  # precedence climbing, left-associative
        left = self.unary()
        while self.kind == "op" and _BINARY.get(self.text, 0) >= min_prec:
            op = self.text
            self.advance()
            left = binop(op, left, self.binary(_BINARY[op] + 1))
        return left

    def unary(self) -> Node:
        ops = []
        while self.kind == "op" and self.text in ("!", "-"):  # a loop: no recursion on "!!!!"
            ops.append(self.text)
            self.advance()
        node = self.postfix()
        for op in reversed(ops):
            node = unary(op, node)
        return node

    def postfix(self) -> Node:
        node, steps = self.primary(), list[str | Node]()
        while True:
            if self.at("."):
                steps.append(self.name())
            elif self.at("["):
                steps.append(self.enclosed("]"))
            elif self.at("[*]") or self.at(".*"):
                self.advance()
                base = traverse(node, steps) if steps else node
                after = list[str | Node]()  # applied to each element
                while self.at(".") or (self.at("[") and self.kind == "op"):
                    after.append(self.name() if self.at(".") else self.enclosed("]"))
                node, steps = _splat(base, after), []
            else:
                break
        return traverse(node, steps) if steps else node

    def enclosed(self, close: str) -> Node:  # "(expr)" or "[expr]", from the opening bracket
        self.advance()
        node = self.expr()
        self.expect(close)
        return node

    def name(self) -> str:  # ".name" (or legacy ".0")
        self.expect(".")
        if self.kind not in ("id", "num"):
            raise ParseError(f"expected an attribute name, found {self.text!r}")
        text = self.text
        self.advance()
        return text

    def primary(self) -> Node:
        kind, text, node = self.kind, self.text, self.node
        if kind in ("str", "num"):
            self.advance()
            return node if kind == "str" else const(parse_num(text))
        if kind == "id":
            self.advance()
            if self.at("("):
                return self.call(text)
            return const(_KEYWORDS[text]) if text in _KEYWORDS else self.reference(text)
        if self.at("("):
            return self.enclosed(")")
        if self.at("[") or self.at("{"):
            return self.collection("]" if text == "[" else "}")
        raise ParseError(f"unexpected {text!r}")

    def collection(self, close: str) -> Node:
        self.advance()
        if self.kind == "id" and self.text == "for":
            return self.for_expr(close)
        keys: list[Node] = []
        values: list[Node] = []
        while not self.at(close):
            if close == "}":
                keys.append(self.key())
            values.append(self.expr())
            if not self.at(close):
                self.expect(",")
        self.advance()
        return collection(keys, values, close == "}")

    def for_expr(self, close: str) -> Node:
        """``[for k, v in coll : expr if cond]`` or ``{for ... : key => value... if cond}``,
        from the ``for`` keyword to the closing bracket."""
        self.advance()
        names, source = self.for_header("a for expression")
        # Bound before the ':' is passed: the lookahead it reads may be a string that
        # interpolates them.
        outer, self.bound = self.bound, (*self.bound, *names)
        try:
            self.expect(":")
            key = None
            if close == "}":
                key = self.expr()
                self.expect("=>")
            value = self.expr()
            group = close == "}" and self.at("...")
            if group:
                self.advance()
            cond = None
            if self.kind == "id" and self.text == "if":
                self.advance()
                cond = self.expr()
            if not self.at(close):
                raise ParseError(f"expected {close!r}, found {self.text!r}")
        finally:
            self.bound = outer
        self.advance()
        return _for(tuple(names), source, key, value, cond, group)

    def for_header(self, what: str) -> tuple[list[str], Node]:
        """``k, v in COLLECTION`` after ``for``: the names it binds and the collection."""
        names = [self.ident()]
        if self.at(","):
            self.advance()
            names.append(self.ident())
        if not (self.kind == "id" and self.text == "in"):
            raise ParseError(f"expected 'in' in {what}, found {self.text!r}")
        self.advance()
        return names, self.expr()

    def ident(self) -> str:
        if self.kind != "id":
            raise ParseError(f"expected a name, found {self.text!r}")
        text = self.text
        self.advance()
        return text

    def key(self) -> Node:  # a bare identifier key is a literal name, as in HCL
        if self.kind == "id":
            key = const(self.text)
            self.advance()
        else:
            key = self.expr()
        if not (self.at("=") or self.at(":")):
            raise ParseError(f"expected '=' in object, found {self.text!r}")
        self.advance()
        return key

    def call(self, name: str) -> Node:
        self.advance()
        args: list[Node] = []
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
        return call(name, args, expand)

    def reference(self, root: str) -> Node:
        if root in self.bound:  # a for expression's variable: its attributes are steps
            name = f"for.{root}"
            return mk(lambda s: _instance_value(s, name))
        if not self.at("."):
            return unknown(f"unknown name {root!r}")  # e.g. a for-expression variable
        if root in ("var", "local"):
            name = self.name()
            return mk(lambda s: s.variable(name) if root == "var" else s.local(name))
        if root == "module":  # module.NAME[KEY].OUTPUT, as the module computes it
            module = self.name()
            key = self.enclosed("]") if self.at("[") else None
            if not self.at("."):
                return unknown(f"module.{module} as a whole is not evaluated offline")
            output = self.name()
            if key is None:
                return mk(lambda s: _module_output(s, module, output, None))
            index = key
            return mk(lambda s: _module_output(s, module, output, index.run(s)), key)
        if root == "path":  # path.module / path.root: relative to where terraform runs
            attribute = self.name()
            return mk(lambda s: path_value(s, attribute))
        if root in ("count", "each"):
            name = f"{root}.{self.name()}"
            # Known inside one expanded instance (see scope.ModuleScope.instance_value).
            return mk(lambda s: _instance_value(s, name))
        if root in _ROOTS:
            return unknown(_ROOTS[root].format(f"{root}.{self.name()}"))
        address = [root, self.name(), *([self.name()] if root == "data" else [])]
        if self.at(".*") or self.at("[*]"):  # aws_subnet.private[*].id: every instance's
            self.advance()
            steps = []
            while self.at("."):
                steps.append(self.name())
            return _resource_splat(".".join(address), ".".join(steps))
        key = self.enclosed("]") if self.at("[") else None  # aws_subnet.private[0]: an instance
        attrs = []
        while self.at("."):
            attrs.append(self.name())
        return resource(".".join(address), key, ".".join(attrs))


def _splat(base: Node, steps: list[str | Node]) -> Node:
    """``list[*].attr``: the steps applied to each element; a single value is a list of
    one, null an empty list (as HCL does)."""
    each = traverse(_ELEMENT, steps) if steps else _ELEMENT

    def run(s: Scope) -> object:
        value = known(base.run(s))
        items = [] if value is None else value if isinstance(value, list) else [value]
        bind = getattr(s, "for_instance", None)
        if bind is None:
            raise Stop(Unknown("splat expressions are not evaluated here"))
        base_values = getattr(s, "instance", {})
        return [guard(each, bind({**base_values, "splat.element": item})) for item in items]
    return mk(run, base, *(x for x in steps if isinstance(x, Node)))


_ELEMENT = Node(lambda s: _instance_value(s, "splat.element"), 1)


def _resource_splat(address: str, attribute: str) -> Node:
    """``aws_x.y[*].attr``: the attribute of each instance, in Terraform's order (a
    resource without count/for_each is one instance)."""
    def run(s: Scope) -> object:
        lookup = getattr(s, "resource_keys", None)
        keys = lookup(address) if lookup else Unknown(f"{address}[*] is not known here")
        if isinstance(keys, Unknown):
            raise Stop(keys)
        if not attribute:
            raise Stop(Unknown(f"{address}[*] is whole resources, not one of their attributes"))
        return [s.resource_attribute(address + _suffix(k), attribute) for k in keys]
    return mk(run)


def _suffix(key: object) -> str:  # as scope and Evaluated address an instance
    if key is None:
        return ""
    return f"[{key}]" if isinstance(key, int) else f'["{key}"]'


def _for(names: tuple[str, ...], source: Node, key: Node | None, value: Node,
         cond: Node | None, group: bool) -> Node:
    """A for expression, evaluated element by element in the scope with its names bound
    (a map's elements in key order, as Terraform iterates them)."""
    def run(s: Scope) -> object:
        items = known(source.run(s))
        if isinstance(items, Ref):
            raise Stop(Unknown(f"the for expression iterates {items}, {items.known}",
                               ref=str(items), pending=True))
        elements = pairs(items)
        if elements is None:
            raise EvalError(f"a for expression cannot iterate a {kind(items)}")
        bind = getattr(s, "for_instance", None)
        if bind is None:  # a scope with no bindings (tfvars)
            raise Stop(Unknown("for expressions are not evaluated here"))
        base = getattr(s, "instance", {})
        out_list: list[object] = []
        out_map: dict[str, object] = {}
        for k, v in elements:
            values = {**base, f"for.{names[-1]}": v}
            if len(names) == 2:
                values[f"for.{names[0]}"] = k
            inner = bind(values)
            if cond is not None and not to_bool(known(cond.run(inner))):
                continue
            if key is None:
                out_list.append(guard(value, inner))  # one unknown element, not all
                continue
            name = to_str(known(key.run(inner)))
            if group:
                grouped = out_map.setdefault(name, [])
                assert isinstance(grouped, list)
                grouped.append(guard(value, inner))
            elif name in out_map:
                raise EvalError(f"duplicate key {name!r} in a for expression (use ... to group)")
            else:
                out_map[name] = guard(value, inner)
        return bounded(out_list if key is None else out_map)
    return mk(run, source, value, *(n for n in (key, cond) if n is not None))


def _module_output(scope: object, module: str, output: str, key: object) -> object:
    lookup = getattr(scope, "module_output", None)
    if lookup is None:  # a scope with no modules (tfvars)
        return Unknown(f"module output module.{module}.{output} is not known here")
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return lookup(module, output, key)


def _instance_value(scope: object, name: str) -> object:
    lookup = getattr(scope, "instance_value", None)
    if lookup is None:  # a scope with no instances (tfvars, a module call's arguments)
        return Unknown(f"{name} is only known per instance")
    return lookup(name)


@lru_cache(maxsize=4096)  # the same strings recur across resources; nodes are immutable
def parse(text: str) -> Node:
    """Compile a python-hcl2 string (a template, or a whole heredoc) into a node."""
    try:
        if HEREDOC.match(text):  # a whole heredoc value comes back with its markers
            parser = Parser(text)
            parser.advance()
            if parser.kind == "str" and parser.pos == len(text.rstrip()):
                return parser.node
        return Parser(text).template(None)
    except (ParseError, ValueError) as exc:  # ValueError: int()/chr() of absurd literals
        return unknown(f"cannot parse expression {clip(text)}: {exc}")
