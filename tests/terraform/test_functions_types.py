"""Type conversion functions, try/can, and the table of functions as a whole."""

from __future__ import annotations

import pytest

from auditor.terraform.expressions import Ref
from auditor.terraform.hcl_functions import FUNCTIONS, OFFLINE, SCOPED
from tests.terraform.functions_support import Scope, check, ev, fails, reason

# Every function of Terraform's documentation (website/docs/language/functions), v1.10.
_DOCUMENTED_NAMES = """
abs abspath alltrue anytrue base64decode base64encode base64gzip base64sha256 base64sha512
basename bcrypt can ceil chomp chunklist cidrhost cidrnetmask cidrsubnet cidrsubnets coalesce
coalescelist compact concat contains csvdecode dirname distinct element endswith
ephemeralasnull file filebase64 filebase64sha256 filebase64sha512 fileexists filemd5 fileset
filesha1 filesha256 filesha512 flatten floor format formatdate formatlist indent index
issensitive join jsondecode jsonencode keys length list log lookup lower map matchkeys max md5
merge min nonsensitive one parseint pathexpand plantimestamp pow range regex regexall replace
reverse rsadecrypt sensitive setintersection setproduct setsubtract setunion sha1 sha256 sha512
signum slice sort split startswith strcontains strrev substr sum templatefile templatestring
textdecodebase64 textencodebase64 timeadd timecmp timestamp title tobool tolist tomap tonumber
toset tostring transpose trim trimprefix trimspace trimsuffix try type upper urlencode uuid
uuidv5 values yamldecode yamlencode zipmap
"""
TERRAFORM_FUNCTIONS = _DOCUMENTED_NAMES.split()

DOCUMENTED = [
    ("tobool(true)", True), ('tobool("true")', True), ("tobool(null)", None),
    ('tolist(["a", "b", "c"])', ["a", "b", "c"]), ('tolist(["a", "b", 3])', ["a", "b", "3"]),
    ('tomap({"a" = 1, "b" = 2})', {"a": 1, "b": 2}),
    ('tomap({"a" = "foo", "b" = true})', {"a": "foo", "b": "true"}),
    ("tonumber(1)", 1), ('tonumber("1")', 1), ("tonumber(null)", None),
    ('toset(["a", "b", "c"])', ["a", "b", "c"]), ('toset(["a", "b", 3])', ["3", "a", "b"]),
    ('toset(["c", "b", "b"])', ["b", "c"]),
    ('tostring("hello")', "hello"), ("tostring(1)", "1"), ("tostring(true)", "true"),
    ("tostring(null)", None),
    ('sensitive("hello")', "hello"), ("sensitive(1)", 1), ("sensitive([])", []),
    ('nonsensitive("clear")', "clear"),
    ("try(local.foo.bar, \"fallback\")", "baz"), ("try(local.foo.boop, \"fallback\")",
                                                   "fallback"),
    ("can(local.foo.bar)", True), ("can(local.foo.boop)", False),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected, Scope(local={"foo": {"bar": "baz"}}))


def test_documented_errors() -> None:
    assert fails('tobool("no")') == \
        "tobool(): cannot convert 'no' to bool; only the strings \"true\" or \"false\" are allowed"
    assert fails("tobool(1)") == "tobool(): cannot convert number to bool"
    assert "decimal representation" in fails('tonumber("no")')
    assert fails("tostring([])") == "tostring(): cannot convert list to string"
    assert "tolist([ ... ])" in fails("list(1, 2)")
    assert "tomap({ ... })" in fails('map("a", 1)')


def test_computed_attributes_pass_through_unchanged() -> None:
    sg = Ref("aws_security_group.a", "id")
    check("tostring(aws_security_group.a.id)", sg)
    check("nonsensitive(aws_security_group.a.id)", sg)
    check("toset([aws_security_group.a.id, aws_security_group.a.id])", [sg])


@pytest.mark.parametrize(("call", "why"), [
    ('issensitive("hello")', "sensitivity is not tracked offline"),
    ('ephemeralasnull("x")', "ephemeral values are not tracked offline"),
    ("type(1)", "it only exists in terraform console"),
])
def test_functions_of_marks_the_evaluator_does_not_track_are_unknown(call: str,
                                                                      why: str) -> None:
    name = call.split("(")[0]
    assert reason(ev(call)) == f"{name}() is not evaluated offline: {why}"


def test_an_unlisted_function_is_unknown_naming_it() -> None:
    assert reason(ev("no_such_function(1)")) == \
        "function no_such_function() is not evaluated offline"


def test_every_terraform_function_is_evaluated_or_knowingly_unknown() -> None:
    handled = {*FUNCTIONS, *SCOPED, *OFFLINE, "try", "can"}
    assert sorted(set(TERRAFORM_FUNCTIONS) - handled) == []
    assert sorted({*FUNCTIONS, *SCOPED} - set(TERRAFORM_FUNCTIONS)) == []  # none invented
    assert not set(FUNCTIONS) & set(SCOPED) and not (set(FUNCTIONS) | set(SCOPED)) & set(OFFLINE)


def test_calls_check_their_arguments() -> None:
    assert fails('upper("a", "b")') == "invalid call to upper(): wrong number of arguments (2)"
    assert fails('file("a", "b")') == "invalid call to file(): wrong number of arguments (2)"
    assert "unset" in reason(ev("upper(var.unset)"))  # an unknown argument: unknown result
