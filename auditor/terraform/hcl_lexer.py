"""The tokeniser for HCL expressions, with one token of lookahead.

:class:`Lexer` splits expression text into numbers, identifiers and operators, and reads
string literals and heredocs whole, as templates. A template can hold ``${...}``
interpolations, which are full expressions, so the lexer and the parser are mutually
recursive: the lexer calls :meth:`Lexer.expr`, which the parser (its subclass) provides, and
hands back the template's compiled :class:`Node` as a single ``str`` token. Strings nested
inside interpolations count towards ``MAX_DEPTH`` like any other nesting.
"""

from __future__ import annotations

import re

from auditor.terraform.hcl_nodes import Node, const, template
from auditor.terraform.hcl_values import MAX_DEPTH, NUMBER, ParseError

TOKEN = re.compile("(?P<num>" + NUMBER + r")|(?P<id>[^\W\d][\w-]*)"
                   r"|(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|\[\*\]|\.\*|[-+*/%<>!?:.,()\[\]{}=])")
HEREDOC = re.compile(r"<<(-?)([^\W\d][\w-]*)\n")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([nrt\"\\]))")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class Lexer:
    def __init__(self, src: str, nesting: int = 0) -> None:
        self.src, self.pos, self.nesting = src, 0, nesting
        self.kind, self.text, self.node = "eof", "", const(None)  # node: a "str" token's value

    def expr(self) -> Node:  # parses one expression; see hcl_parser.Parser
        raise NotImplementedError

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
        elif head := HEREDOC.match(self.src, start):
            self.node = self.heredoc(head)
        elif m := TOKEN.match(self.src, start):
            self.pos, self.kind, self.text = m.end(), m.lastgroup or "", m.group()
            return
        else:
            raise ParseError(f"unexpected character {self.src[start]!r}")
        self.kind, self.text = "str", self.src[start:self.pos]

    def at(self, op: str) -> bool:
        return self.kind == "op" and self.text == op

    def expect(self, op: str) -> None:
        if not self.at(op):
            raise ParseError(f"expected {op!r}, found {self.text!r}")
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
        raise ParseError(f"missing {close!r}")

    def enter(self, by: int) -> None:  # strings nest through the lexer, so count them too
        self.nesting += by
        if self.nesting > MAX_DEPTH:
            raise ParseError("expression is nested too deeply")

    def template(self, quote: str | None) -> Node:  # quote: '"' inside expressions, else None
        self.enter(1)
        parts: list[str | Node] = []
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
                if three[0] == "%":  # a directive: skipped, the template becomes Unknown
                    directive = True
                    self.skip("}")
                else:
                    parts.append(self.expr())
                    if not self.at("}"):
                        raise ParseError(f"expected '}}' to close '${{', found {self.text!r}")
            elif quote and (m := _ESCAPE.match(self.src, self.pos)):
                code = m.group(1) or m.group(2)
                buf.append(chr(int(code, 16)) if code else _ESCAPES[m.group(3)])
                self.pos = m.end()
            elif quote and self.src[self.pos] == "\\":
                raise ParseError("invalid escape sequence")
            else:
                buf.append(self.src[self.pos])
                self.pos += 1
        if quote:
            if self.pos >= len(self.src):
                raise ParseError("unterminated string")
            self.pos += 1
        parts.append("".join(buf))
        self.enter(-1)
        return template([p for p in parts if p != ""], directive)

    def heredoc(self, head: re.Match[str]) -> Node:
        marker = re.escape(head.group(2))
        end = re.compile(rf"^[ \t]*{marker}(?![\w-])", re.M).search(self.src, head.end())
        if end is None:
            raise ParseError(f"unterminated heredoc {head.group(2)}")
        body, self.pos = self.src[head.end():end.start()], end.end()
        if head.group(1):  # <<- strips the indentation common to all non-blank lines
            lines = body.split("\n")
            cut = min((len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()), default=0)
            body = "\n".join(x[cut:] for x in lines)
        return type(self)(body, self.nesting + 1).template(None)  # the body is unquoted
