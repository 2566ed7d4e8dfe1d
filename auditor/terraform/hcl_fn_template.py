"""``templatefile`` and ``templatestring``: Terraform's template language, directives included.

A template holds ``${expr}`` interpolations and the ``%{if cond}``/``%{else}``/``%{endif}`` and
``%{for x in coll}``/``%{for k, v in coll}``/``%{endfor}`` directives; a ``~`` inside a marker
strips the whitespace on its side. Expressions are compiled by the evaluator's own parser,
extended here (:class:`_TemplateParser`) so that bare names are the template's variables and
loop variables; a template alone in ``${...}`` keeps its value's type. As in Terraform, a
template cannot call templatefile/templatestring, and templatestring cannot read files.
Rendering (:mod:`hcl_fn_render`) is bounded in loop iterations and characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from auditor.terraform.hcl_fn_files import SCOPED as FILE_FUNCTIONS
from auditor.terraform.hcl_fn_files import read_text
from auditor.terraform.hcl_fn_render import TemplateScope, lookup, nest, render
from auditor.terraform.hcl_nodes import Node, mk
from auditor.terraform.hcl_parser import Parser
from auditor.terraform.hcl_values import EvalError, ParseError, Scope, clip, kind, known, to_str

TEMPLATE_FUNCTIONS = ("templatefile", "templatestring")
_NAME = re.compile(r"[^\W\d][\w-]*")


def _fail(reason: str) -> Node:
    def run(_s: Scope) -> object:
        raise EvalError(reason)
    return mk(run)


class _TemplateParser(Parser):
    def __init__(self, src: str, nesting: int = 0, names: frozenset[str] = frozenset(),
                 allow_files: bool = True) -> None:
        super().__init__(src, nesting)
        self.names, self.allow_files, self.loops = names, allow_files, list[set[str]]()
        self.raw_text = 0  # characters of literal text, before any "~" strips them

    def advance(self) -> None:  # "~}" closes a marker and strips the whitespace after it
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1
        if self.src.startswith("~}", self.pos):
            self.pos, self.kind, self.text = self.pos + 1, "op", "~"
            return
        super().advance()

    def reference(self, root: str) -> Node:
        if root in self.names or any(root in loop for loop in self.loops):
            return mk(lambda s: lookup(s, root))
        return _fail(f"vars map does not contain key {root!r}")

    def call(self, name: str) -> Node:
        node = super().call(name)
        if name in TEMPLATE_FUNCTIONS:
            return _fail(f"cannot recursively call {name} from inside another template "
                         "function")
        if name in FILE_FUNCTIONS and not self.allow_files:
            return _fail(f"cannot use filesystem access functions like {name} in "
                         "templatestring templates; consider passing the function result as "
                         "a template variable instead")
        return node

    def template(self, quote: str | None) -> Node:
        if quote is not None:  # a quoted string inside an interpolation
            return super().template(quote)
        self.enter(1)
        pieces = self.items()
        # "${x}" alone keeps x's type; once there is text, even stripped away, it is a string
        alone = len(pieces) == 3 and pieces[0] == pieces[2] == "" and self.raw_text == 0
        parts, _ = nest(iter(pieces), ())
        self.enter(-1)
        return mk(lambda s: render(parts, s, alone), *(p for p in parts if isinstance(p, Node)))

    def items(self) -> list[object]:
        """The template's pieces in order: text (stripped beside "~"), nodes, directives."""
        out: list[object] = []
        buf: list[str] = []
        strip_next = False
        while self.pos < len(self.src):
            three = self.src[self.pos:self.pos + 3]
            if three in ("$${", "%%{") or three[:2] not in ("${", "%{"):
                step = 3 if three in ("$${", "%%{") else 1
                buf.append(three[1:] if step == 3 else three[0])
                self.pos += step
                continue
            text, buf = "".join(buf), []
            self.raw_text += len(text)
            self.pos += 2
            if self.src.startswith("~", self.pos):
                self.pos, text = self.pos + 1, text.rstrip()
            out.append(text.lstrip() if strip_next else text)
            self.advance()
            out.append(self.directive() if three[0] == "%" else self.expr())
            if strip_next := self.at("~"):
                self.advance()
            if not self.at("}"):
                raise ParseError(f"expected '}}' to close {three[:2]!r}, found {self.text!r}")
        text = "".join(buf)
        self.raw_text += len(text)
        out.append(text.lstrip() if strip_next else text)
        return out

    def directive(self) -> object:
        word = self.text if self.kind == "id" else ""
        self.advance()
        if word == "if":
            return ("if", self.expr())
        if word in ("else", "endif", "endfor"):
            if word == "endfor" and self.loops:
                self.loops.pop()
            return (word,)
        if word != "for":
            raise ParseError(f"unknown template directive {word or self.text!r}")
        names, collection = self.for_header("a for directive")
        self.loops.append(set(names))
        return ("for", names, collection)


@lru_cache(maxsize=32)  # the same file is rendered once per resource that uses it
def _compile(text: str, names: frozenset[str], allow_files: bool) -> Node:
    return _TemplateParser(text, 0, names, allow_files).template(None)


def _run(fn: str, where: str, text: str, variables: object, files: object) -> object:
    if not isinstance(values := known(variables), dict):
        raise EvalError(f"{fn}(): invalid vars value: must be a map")
    for name in values:
        if not _NAME.fullmatch(name):
            raise EvalError(f"{fn}(): invalid template variable name {name!r}: must start with "
                            "a letter, followed by zero or more letters, digits, and "
                            "underscores")
    try:
        node = _compile(text, frozenset(values), fn == "templatefile")
    except (ParseError, ValueError, RecursionError) as exc:
        raise EvalError(f"{fn}(): invalid template {where}: {exc}") from None
    return node.run(TemplateScope(values, files, [0]))


def _templatefile(scope: Scope, path: object, variables: object) -> object:
    text = read_text(scope, "templatefile", path)
    return _run("templatefile", to_str(path), text, variables, getattr(scope, "files", None))


def _templatestring(scope: Scope, template: object, variables: object) -> object:
    text = to_str(template)
    result = _run("templatestring", clip(text), text, variables, None)
    if isinstance(result, list | dict):
        raise EvalError(f"templatestring(): invalid template result: a {kind(result)}")
    return result


SCOPED: dict[str, Callable[..., object]] = {
    "templatefile": _templatefile, "templatestring": _templatestring,
}
