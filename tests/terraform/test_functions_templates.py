"""The template language of templatefile/templatestring: the cases of HCL's own template
tests (hclsyntax/expression_template_test.go), rendered through templatestring."""

from __future__ import annotations

import pytest

from tests.terraform.functions_support import Scope, check, ev, fails, reason

HCL_CASES = [
    ("1", "1"), ("\nhello world\n", "\nhello world\n"),
    ('hello ${"world"}', "hello world"), ("hello\\nworld", "hello\\nworld"),
    ("hello ${12.5}", "hello 12.5"), ('silly ${"${"nesting"}"}', "silly nesting"),
    ("hello $${escaped}", "hello ${escaped}"), ("hello $$nonescape", "hello $$nonescape"),
    ('hello %${"world"}', "hello %world"), ("${true}", True),
    ('trim ${~ "trim"}', "trimtrim"), ('${"trim" ~} trim', "trimtrim"),
    ('trim\n${~"trim"~}\ntrim', "trimtrimtrim"), (" ${~ true ~} ", "true"),
    ('${"hello "}${~"trim"~}${" hello"}', "hello trim hello"),
    ('${true}${~"trim"~}${true}', "truetrimtrue"),
    ("%{ if true ~} hello %{~ endif }", "hello"), ("%{ if false ~} hello %{~ endif}", ""),
    ("%{ if true ~} hello %{~ else ~} goodbye %{~ endif }", "hello"),
    ("%{ if false ~} hello %{~ else ~} goodbye %{~ endif }", "goodbye"),
    ("%{ if true ~} %{~ if false ~} hello %{~ else ~} goodbye %{~ endif ~} %{~ endif }",
     "goodbye"),
    ('%{ for v in ["a", "b", "c"] }${v}%{ endfor }', "abc"),
    ('%{ for v in ["a", "b", "c"] } ${v} %{ endfor }', " a  b  c "),
    ('%{ for v in ["a", "b", "c"] ~} ${v} %{~ endfor }', "abc"),
    ("%{ for v in [] }${v}%{ endfor }", ""),
    ('%{ for i, v in ["a", "b", "c"] }${i}${v}%{ endfor }', "0a1b2c"),
    ('%{ for k, v in {"A" = "a", "B" = "b", "C" = "c"} }${k}${v}%{ endfor }', "AaBbCc"),
    ('%{ for v in ["a", "b", "c"] }${v}${nl}%{ endfor }', "a\nb\nc\n"),
    ("\\n", "\\n"), ("$", "$"), ("$$", "$$"), ("%", "%"), ("%%", "%%"),
    ("hello %%{ if true }world%%{ endif }", "hello %{ if true }world%{ endif }"),
    ("hello $%{ if true }world%{ endif }", "hello $world"),
]


@pytest.mark.parametrize(("template", "expected"), HCL_CASES)
def test_hcl_template_cases(template: str, expected: object) -> None:
    check('templatestring(local.t, {nl = "\\n"})', expected, Scope(local={"t": template}))


@pytest.mark.parametrize("template", ["%{ endif }", "%{ endfor }", "%{ of true ~} x %{~ endif}",
                                      "%{ if true }x", "${"])
def test_invalid_templates_are_errors(template: str) -> None:
    assert "invalid template" in fails("templatestring(local.t, {})", Scope(local={"t": template}))


def test_templatestring_as_documented() -> None:
    scope = Scope(local={"t": "Hello, ${name}!"}, variables={"name": "Ander"})
    check("templatestring(local.t, {name = var.name})", "Hello, Ander!", scope)


def test_templates_call_functions_but_not_themselves_nor_files_from_templatestring() -> None:
    scope = Scope(local={"t": '${upper(x)}-${jsonencode({a = x})}', "f": '${file("x")}',
                         "r": '${templatestring("a", {})}'})
    check('templatestring(local.t, {x = "a"})', 'A-{"a":"a"}', scope)
    assert "filesystem access functions like file" in fails("templatestring(local.f, {})", scope)
    assert "cannot recursively call templatestring" in fails("templatestring(local.r, {})",
                                                             scope)


def test_variables_must_be_given_and_named_properly() -> None:
    scope = Scope(local={"t": "${a}"})
    assert "vars map does not contain key 'a'" in fails("templatestring(local.t, {})", scope)
    assert "invalid template variable name" in fails('templatestring(local.t, {"1a" = 1})',
                                                     scope)
    assert "invalid vars value: must be a map" in fails("templatestring(local.t, [1])", scope)


def test_unknown_values_leave_the_result_unknown() -> None:
    scope = Scope(local={"t": "%{ if x }yes%{ endif }"})
    assert "after apply" in reason(ev("templatestring(local.t, {x = aws_s3_bucket.b.id})", scope))
