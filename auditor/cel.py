"""CEL in conditions: ``cel: EXPR``, the language of Kubernetes ValidatingAdmissionPolicy.

An expression that is true fails the check, as every condition does. It sees:

- ``object``: the resource's body (a Kubernetes object, or a Terraform/AWS resource);
- ``item``: what the policy iterates (``each``): a container, a list item; else ``object``;
- ``params``: the policy's parameters (``params.min_replicas``);
- ``related``: for each kind under ``applies_to.related``, the objects of that kind in the
  resource's namespace (and the cluster-scoped ones): ``related.StorageClass``.

Besides CEL's standard library and its string and optional extensions there is one
function of ours, ``unknown("why")``: the result is unknown with that reason (where the
answer depends on it), e.g. when a related object the check needs is not in the config.

Expressions are compiled and type-checked when the policy loads (an error names its line
and column) and evaluated by Google's CEL runtime (``cel-expr-python``) in a child process
with a memory cap and a deadline (:mod:`auditor.cel_worker`): a policy from a pull request
cannot exhaust the scan. It fails closed: a field that is absent (test it with ``has()``),
a value not known offline, or a live value kept only as a hash makes the result unknown,
never a pass; any other error is an ``error`` finding.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

MAX_SOURCE = 4096  # characters of one expression

_PARAM = re.compile(r"\bparams\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


@cache
def environment() -> Any:
    """The CEL environment every expression is compiled in (the same in the child)."""
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_optional, ext_strings

    dyn = cel.Type.DYN
    mapping = cel.Type.Map(cel.Type.STRING, dyn)
    unknown = cel.FunctionDecl("unknown", [cel.Overload(
        "unknown_string", cel.Type.BOOL, [cel.Type.STRING], impl=_unknown)])
    return cel.NewEnv(variables={"object": mapping, "item": dyn, "params": mapping,
                                 "related": cel.Type.Map(cel.Type.STRING,
                                                         cel.Type.List(dyn))},
                      extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()],
                      functions=[unknown])


UNKNOWN_MARK = "auditor-unknown: "


def _unknown(reason: str) -> bool:
    # An error CEL carries as a value: `||`, `&&` and the macros drop it where the result
    # does not depend on it; the worker reads the mark back as an unknown.
    raise RuntimeError(UNKNOWN_MARK + reason)


@cache
def compiled(source: str) -> Any:
    """The checked expression; ValueError (one line, with line:column) when it does not
    compile or cannot be a boolean."""
    if len(source) > MAX_SOURCE:
        raise ValueError(f"a CEL expression is at most {MAX_SOURCE} characters")
    try:
        expression = environment().compile(source)
    except RuntimeError as exc:
        raise ValueError(_compile_message(str(exc))) from None
    kind = expression.return_type().name()
    if kind not in ("BOOL", "DYN"):
        raise ValueError(f"a CEL condition must be a boolean; this one is {kind.lower()}")
    return expression


def _compile_message(text: str) -> str:
    """The first error of cel's report, as ``line L, column C: message``."""
    text = text.removeprefix("INVALID_ARGUMENT: ")
    m = re.search(r"ERROR: <input>:(-?\d+):(-?\d+): ([^\n]*)", text)
    if not m:
        return " ".join(text.split())[:300]
    return f"line {m.group(1)}, column {m.group(2)}: {m.group(3).strip()}"


def param_names(source: str) -> set[str]:
    """The parameters an expression reads (``params.x``, ``params['x']``): each must be
    declared, as for the other operators."""
    return {a or b for a, b in _PARAM.findall(source)}
