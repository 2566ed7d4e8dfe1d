"""Runs Terraform function calls the way the expression tests do: the text of an attribute in
a ``.tf`` file, read by python-hcl2, folded by :func:`auditor.terraform.expressions.evaluate`.

Each test file for a family of functions lists the examples of Terraform's own documentation
(``website/docs/language/functions/*.mdx``) as (expression, expected value) pairs.
"""

from __future__ import annotations

from typing import Any

import hcl2

from auditor.terraform.expressions import Ref, Unknown, evaluate
from auditor.terraform.hcl_fn_files import ModuleFiles
from auditor.terraform.hcl_values import same

OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                    with_comments=False)


class Scope:
    """Variables and locals as given; other resources' attributes are computed (a Ref);
    ``files`` lets the file functions read (see :class:`ModuleFiles`)."""

    def __init__(self, variables: dict[str, object] | None = None,
                 local: dict[str, object] | None = None,
                 files: ModuleFiles | None = None) -> None:
        self.variables = variables or {}
        self.locals = local or {}
        self.files = files

    def variable(self, name: str) -> object:
        return self.variables.get(name, Unknown(f"variable {name} is not set"))

    def local(self, name: str) -> object:
        return self.locals.get(name, Unknown(f"local.{name} is not declared"))

    def resource_attribute(self, address: str, attribute: str) -> object:
        return Ref(address, attribute)


def ev(expression: str, scope: Scope | None = None) -> object:
    """The value of ``expression``, written as in a .tf file."""
    body = hcl2.loads(f"locals {{\nx = {expression}\n}}\n", serialization_options=OPTIONS)
    raw: Any = body["locals"][0]["x"]
    return evaluate(raw, scope or Scope())


def check(expression: str, expected: object, scope: Scope | None = None) -> None:
    """``expression`` evaluates to ``expected``, types included (1 is not "1" nor true)."""
    value = ev(expression, scope)
    assert same(value, expected), f"{expression} -> {value!r}, expected {expected!r}"


def reason(value: object) -> str:
    assert isinstance(value, Unknown), value
    return value.reason


def fails(expression: str, scope: Scope | None = None) -> str:
    """The reason of an expression that is a genuine error in Terraform: ``can()`` of it is
    false (an unknown value would stay unknown)."""
    assert ev(f"can({expression})", scope) is False, expression
    return reason(ev(expression, scope))
