"""Policy templates (messages, remediation text and commands), rendered in a bounded sandbox.

Policy files are code a pull request's author writes (``--policies DIR``). The sandbox keeps
a template from reaching what it should not; the bounds (:class:`Limits`) keep it from
spending what it should not: a template past one raises :class:`TemplateBoundError` and its policy
reports an ``error``. In remediation commands every value a template prints is one shell
word (:func:`auditor.shell.q`): names from the inputs cannot add commands of their own.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, wraps
from typing import Any, cast

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from auditor.quantities import parse_quantity
from auditor.shell import Shell, q


@dataclass(frozen=True)
class Limits:
    range: int  # items of one range()
    size: int  # characters (or items) of one value a template builds
    output: int  # characters one rendering prints, set blocks and macros included
    steps: int  # calls, operators, loop turns and values weighed in one rendering
    seconds: float  # of one rendering, whatever it spends them on


# Each bound is far above what a policy's message needs.
POLICY = Limits(range=10_000, size=65_536, output=65_536, steps=100_000, seconds=1.0)


class TemplateBoundError(RuntimeError):
    """A template went past a bound. Not a TemplateError: a mistake in a template is shown
    in its message, a template past a bound makes the finding an error."""


@dataclass
class _Spent:
    limits: Limits
    steps: int = 0
    printed: int = 0
    deadline: float = 0.0


_SPENT: ContextVar[_Spent] = ContextVar("template_budget")


def _charge(steps: int) -> None:
    spent = _SPENT.get(None)
    if spent is None:  # compile-time constant folding: leave it to the rendering
        raise TemplateBoundError("not rendering")
    spent.steps += steps
    if time.monotonic() > spent.deadline:
        raise TemplateBoundError(f"more than {spent.limits.seconds:g} s of work")
    if spent.steps > spent.limits.steps:
        raise TemplateBoundError(f"more than {spent.limits.steps:,} steps (loop turns, calls, "
                                 "operators)")


def _limits() -> Limits:
    spent = _SPENT.get(None)
    return spent.limits if spent is not None else POLICY


def _size(value: Any, limit: int | None = None) -> int:
    """About how many characters printing ``value`` takes, a part shared twice counted twice,
    so that a value built by repeating references cannot hide its size; stops past limit."""
    limit = _limits().size if limit is None else limit
    total, todo, seen = 0, [value], 0
    while todo and total <= limit:
        item, seen = todo.pop(), seen + 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1  # about its decimal digits
        elif isinstance(item, Namespace):
            todo.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Mapping | Collection) and not isinstance(item, Context):
            total += 2
            todo.extend(item.items() if isinstance(item, Mapping) else item)
        else:
            total += 1
    _charge(seen)
    return total


def _refuse_big(what: str, size: int, limit: int | None = None) -> None:
    limit = _limits().size if limit is None else limit
    if size > limit:
        raise TemplateBoundError(f"{what} of more than {limit:,} characters or items")


# Operations whose result grows with an int argument, or with the product of the text's and
# the arguments' sizes (every character may become the arguments), checked before they run.
_SIZED = {"ljust", "rjust", "center", "zfill", "expandtabs", "indent", "batch", "slice",
          "tojson"}
_PRODUCT = {"replace", "join", "format", "format_map", "translate", "%", "wordwrap", "urlize"}
_PRINTF_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_op(name: str, text: Any, args: list[Any], length: int | None = None) -> None:
    """Refuse ``text.name(*args)`` (a str method, filter or ``%``) when its result could
    exceed the size limit, before it allocates anything (``length``: ``_size(text)``, when
    the caller weighed it already)."""
    weight = _size(args)
    _refuse_big("an argument", weight)
    if name not in _SIZED and name not in _PRODUCT:
        return
    if length is None:
        length = _size(text)  # past the limit the product is past it too
    ints = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
    growth = max([0, *ints]) if name in _SIZED else 0
    _refuse_big(f"{name}() would build a value", (length + 1) * (weight + growth + 1))
    widths: list[str] = []
    if name in ("format", "format_map") and isinstance(text, str):
        widths = [spec for _, _, spec, _ in string.Formatter().parse(text) if spec]
        if any("{" in spec for spec in widths):
            raise TemplateBoundError("a format width taken from an argument")
    elif name == "%" and isinstance(text, str):
        widths = [w for m in _PRINTF_WIDTH.finditer(text) for w in m.groups() if w]
    for number in re.findall(r"\d+|\*", " ".join(widths)):
        if number == "*" or int(number) > _limits().size:
            raise TemplateBoundError(f"a format width over {_limits().size:,}")


def _checked(result: Any) -> Any:
    if isinstance(result, int):
        _refuse_big("a number", result.bit_length() // 3)
    elif isinstance(result, str | bytes):
        _refuse_big("a value", len(result))
    elif isinstance(result, list | tuple | dict | set):  # a part shared n times counts n times
        _refuse_big("a value", _size(result))
    return result


def _binop_size(op: str, left: Any, right: Any) -> int:
    """The size ``left op right`` would have (0 when it cannot grow much)."""
    if isinstance(left, int) and isinstance(right, int):
        if op == "**":
            return abs(left).bit_length() * max(right, 0) // 3
        return (left.bit_length() + right.bit_length()) // 3 if op == "*" else 0
    if op == "*" and isinstance(left, int) != isinstance(right, int):
        times, seq = (left, right) if isinstance(left, int) else (right, left)
        return max(times, 0) * _size(seq)
    return _size(left) + _size(right) if op == "+" else 0


def _range(*args: int) -> range:
    numbers = range(*args)
    most = _limits().range
    try:
        count = len(numbers)
    except OverflowError:  # more items than an index can count
        count = most + 1
    if count > most:
        raise TemplateBoundError(f"range() of {count:,} items (at most {most:,})")
    return numbers


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None else 1  # context, eval_ctx, env

    @wraps(func)  # keeps jinja_pass_arg
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _charge(1)
        value = args[skip] if len(args) > skip else None
        # What a filter turns into text, sorts or walks, it walks whole: weighed first (the
        # weighing pays a step per item, so sorting a long list is not one step).
        length = _size(value)
        _refuse_big(f"the input of |{name}", length)
        _check_op("%" if name == "format" else name, value,
                  [*args[skip + 1:], *kwargs.values()], length)
        return _checked(func(*args, **kwargs))

    return bounded


class _Hooks(NodeTransformer):
    """Routes what the sandbox does not see through it: every loop turn, every printed
    piece (captured ones too), every ``~`` and every list, tuple or dict written out."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed (templates render "
                                      "with bounded work)", node.lineno)
        self.generic_visit(node)
        node.iter = _hook("turns", node.iter)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        # The template's own text is counted too, but is no value: a command keeps it as is.
        node.nodes = [_hook("literal" if isinstance(child, nodes.TemplateData) else "printed",
                            self.visit(child)) for child in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        return _hook("joined", *(self.visit(child) for child in node.nodes))

    def visit_List(self, node: nodes.List) -> nodes.Node:
        return _hook("built", self.generic_visit(node))

    visit_Dict = visit_List

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return node if node.ctx != "load" else _hook("built", node)


_JINJA_KWARGS = ("_loop_vars", "_block_vars")
_UNSAFE_ATTRIBUTES = frozenset({"fromkeys"})


def _hook(name: str, *args: Any) -> nodes.Expr:
    return nodes.Call(nodes.EnvironmentAttribute(name), list(args), [], None, None)


def _quantity(value: Any) -> Decimal | None:
    return parse_quantity(value)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with bounds on time and memory (``limits``), for templates of policy
    files and site pages. Immutable: a template cannot grow a list in place. Render only
    inside :func:`bounded`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: Limits = POLICY, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits
        self.globals["range"] = _range
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs
        # "8Gi" | quantity > "4096Mi" | quantity: Kubernetes quantities by value (None when
        # not one), so a message can say which of two sizes is the larger.
        self.filters["quantity"] = _quantity
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Jinja's step between parsing and code generation (templates loaded by name and
        # their includes pass here too): the bounds' hooks go into every template.
        return cast(nodes.Template, _Hooks().visit(super()._parse(source, name, filename)))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _charge(1)
        if operator == "%" and isinstance(left, str):
            _check_op("%", left, [right])
        else:
            _refuse_big(f"{operator} would build a value", _binop_size(operator, left, right))
        return _checked(super().call_binop(context, operator, left, right))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # dict.fromkeys(range(n), big) builds n references in one call
        return attr not in _UNSAFE_ATTRIBUTES and super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: Context, __obj: Any,  # names as in the base class
             *args: Any, **kwargs: Any) -> Any:
        # What Jinja passes along inside loops and blocks is not the template's argument.
        given = [*args, *(v for k, v in kwargs.items() if k not in _JINJA_KWARGS)]
        if getattr(__obj, "__self__", None) is __self:  # one of the hooks below
            return __obj(*given)
        _charge(1)
        method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        receiver = getattr(method, "__self__", None)
        _check_op(getattr(method, "__name__", "") if isinstance(receiver, str) else "",
                  receiver, given)
        return _checked(super().call(__context, __obj, *args, **kwargs))

    def turns(self, iterable: Any) -> Iterator[Any]:
        for item in iterable:
            _charge(1)
            yield item

    def printed(self, value: Any) -> Any:
        spent = _SPENT.get()
        room = spent.limits.output - spent.printed
        if isinstance(value, str) or _size(value, room) <= room:  # str() of it is not huge
            text = value if isinstance(value, str) else str(value)
            spent.printed += len(text)
            if spent.printed <= spent.limits.output:
                return text
        raise TemplateBoundError(f"prints more than {spent.limits.output:,} characters")

    def literal(self, text: str) -> Shell:
        return Shell(self.printed(text))

    def joined(self, *parts: Any) -> str:
        _refuse_big("~ would build a value", _size(parts))
        return "".join(str(part) for part in parts)

    def built(self, value: Any) -> Any:
        _refuse_big("a value", _size(value))
        return value


def bounded(template: Template, context: dict[str, Any]) -> str:
    """Render within the bounds of the template's environment; TemplateBoundError past
    one."""
    limits = getattr(template.environment, "limits", POLICY)
    token = _SPENT.set(_Spent(limits, deadline=time.monotonic() + limits.seconds))
    try:
        return template.render(context)
    finally:
        _SPENT.reset(token)


def shell_word(value: Any) -> Any:
    """What a command template prints: each value one shell word (empty stays empty, so
    ``{{ flag if cond else "" }}`` still leaves nothing)."""
    if isinstance(value, Shell):  # a command built by the checks, quoted already
        return value
    text = str(value)
    return q(text) if text else text


_ENV = BoundedSandbox(undefined=ChainableUndefined, autoescape=False,
                      keep_trailing_newline=False)
_COMMANDS = BoundedSandbox(undefined=ChainableUndefined, autoescape=False,
                           keep_trailing_newline=False, finalize=shell_word)


# Where code generation can refuse a parsed template: macros and call blocks (a `caller`
# argument), blocks and extends, and assigning to `loop`; unknown filters and tests too.
_GENERATOR_CHECKED = (nodes.Macro, nodes.CallBlock, nodes.Block, nodes.Extends)


def check(template: str, command: bool = False) -> None:
    """Raise TemplateSyntaxError where :func:`compiled` would, mostly without compiling.

    Compiling is ~1 ms a template, and a run renders few of a pack's templates: a template
    that parses, and holds none of the constructs code generation refuses, compiles. The
    others are compiled, so the error is Jinja's own (a filter unknown inside an ``if``,
    which Jinja accepts until it runs, included).
    """
    env = _COMMANDS if command else _ENV
    tree = env.parse(template)  # syntax, and the sandbox's own refusals (_Hooks)
    if _generator_may_refuse(tree, env):
        compiled(template, command=command)


# Past these, Python's own compiler may refuse the generated code: 200 nested parentheses
# (~200 nodes deep), 100 indentation levels, 20 nested loops. Compiled to be judged.
_NODES_DEEP = 80
_LOOPS_DEEP = 10


def _generator_may_refuse(tree: nodes.Node, env: BoundedSandbox) -> bool:
    """Whether the tree holds a construct code generation may refuse, or nests deeper
    than Python's compiler may take (one walk of the tree)."""
    stack = [(tree, 0, 0)]
    while stack:
        node, depth, loops = stack.pop()
        loops += isinstance(node, nodes.For)
        if (depth > _NODES_DEEP or loops > _LOOPS_DEEP
                or isinstance(node, _GENERATOR_CHECKED)
                or (isinstance(node, nodes.Filter) and node.name not in env.filters)
                or (isinstance(node, nodes.Test) and node.name not in env.tests)
                or (isinstance(node, nodes.Name) and node.ctx == "store"
                    and node.name == "loop")):
            return True
        stack.extend((child, depth + 1, loops) for child in node.iter_child_nodes())
    return False


@lru_cache(maxsize=1024)
def compiled(template: str, command: bool = False) -> Template:
    """A policy template, compiled with its bounds (a remediation ``command`` quotes what
    it prints); TemplateSyntaxError when it is not one."""
    env = _COMMANDS if command else _ENV
    return env.from_string(template)  # compiling costs ~1 ms; a scan renders thousands
