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

This module is the public entry; the work is split by layer, each importing only those
below it:

* :mod:`~auditor.terraform.hcl_values`: ``Ref``, ``Scope``, the internal exceptions, and
  HCL's conversion and equality rules;
* :mod:`~auditor.terraform.hcl_nodes`: the closures an expression compiles to, one builder
  per construct (operators, indexing, references, templates, collections);
* :mod:`~auditor.terraform.hcl_functions`: the built-in function table, ``try`` and ``can``;
* :mod:`~auditor.terraform.hcl_lexer`: tokens, string templates and heredocs;
* :mod:`~auditor.terraform.hcl_parser`: the grammar, and the cached :func:`parse` entry.
"""

from __future__ import annotations

from auditor.terraform.hcl_nodes import guard
from auditor.terraform.hcl_parser import parse
from auditor.terraform.hcl_values import MAX_DEPTH, Ref, Scope, Stop, clip, to_str
from auditor.unknown import Unknown  # re-exported: the checks test isinstance against it

__all__ = ["MAX_DEPTH", "Ref", "Scope", "Unknown", "evaluate"]


def _is_template(text: str) -> bool:
    return "${" in text or "%{" in text or text.startswith("<<")


def _walk(value: object, scope: Scope, depth: int) -> object:
    if depth > MAX_DEPTH:
        return Unknown("value is nested too deeply")
    if isinstance(value, str) and _is_template(value):
        try:
            return guard(parse(value), scope)
        except RecursionError:  # backstop for callers already deep in the stack
            return Unknown(f"expression {clip(value)} is nested too deeply")
    if isinstance(value, list):
        return [_walk(v, scope, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            try:  # "${(var.k)}" keys come back as expressions
                key = to_str(_walk(k, scope, depth + 1)) if isinstance(k, str) else k
            except Stop:  # a key we cannot know stays as written
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
