"""The expression evaluator, fed with what python-hcl2 really returns for small HCL snippets."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest

from auditor.terraform.expressions import Ref, Unknown, evaluate

OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                    with_comments=False)


class FakeScope:
    def __init__(self, resources: dict[tuple[str, str], object] | None = None) -> None:
        self.variables: dict[str, object] = {
            "project": "chess-ai", "environment": "prod", "count": 3, "enabled": True,
            "tags": {"Team": "ai", "Owner": "ops"}, "azs": ["a", "b", "c"],
            "nested": {"db": {"ports": [5432, 6432]}}, "key": "dyn", "empty": "", "none": None,
        }
        self.locals: dict[str, object] = {"name": "chess-ai-prod", "base_tags": {"Env": "prod"}}
        self.resources = resources or {}
        self.calls: list[str] = []

    def variable(self, name: str) -> object:
        self.calls.append(f"var.{name}")
        return self.variables.get(name, Unknown(f"variable {name} is not set"))

    def local(self, name: str) -> object:
        return self.locals.get(name, Unknown(f"local {name} is not known"))

    def resource_attribute(self, address: str, attribute: str) -> object:
        return self.resources.get((address, attribute), Ref(address, attribute))


def load(body: str) -> dict[str, Any]:
    """The attributes of ``locals { <body> }`` as python-hcl2 returns them."""
    attributes: dict[str, Any] = hcl2.loads(f"locals {{\n{body}\n}}\n",
                                            serialization_options=OPTIONS)["locals"][0]
    return attributes


def ev(expression: str, scope: FakeScope | None = None) -> object:
    """Evaluate the HCL expression ``expression`` (as written in a .tf file)."""
    raw = load(f"x = {expression}")["x"]
    return evaluate(raw, scope or FakeScope())


def reason(value: object) -> str:
    assert isinstance(value, Unknown), value
    return value.reason


# --- the examples from the brief ------------------------------------------------------------

def test_hcl2_output_is_what_the_evaluator_expects() -> None:
    raw = load('a = "${var.project}-${var.environment}"\n b = var.environment == "prod"\n'
               " c = [aws_security_group.app.id]\n d = \"tcp\"")
    assert raw == {"a": "${var.project}-${var.environment}", "b": '${var.environment == "prod"}',
                   "c": ["${aws_security_group.app.id}"], "d": "tcp"}


def test_template_with_two_variables() -> None:
    assert ev('"${var.project}-${var.environment}"') == "chess-ai-prod"


def test_comparison_keeps_its_bool_type() -> None:
    assert ev('var.environment == "prod"') is True
    assert ev('var.environment != "prod"') is False


def test_resource_reference_is_a_ref() -> None:
    assert ev("[aws_security_group.app.id]") == [Ref("aws_security_group.app", "id")]
    assert ev("aws_lb.main.arn_suffix") == Ref("aws_lb.main", "arn_suffix")


def test_ref_in_a_template_is_unknown_naming_it() -> None:
    assert "aws_security_group.app.id" in reason(ev('"${aws_security_group.app.id}-x"'))


def test_unlisted_function_is_unknown() -> None:
    assert reason(ev('no_such_function("10.0.0.0/16", 8, 1)')) == (
        "function no_such_function() is not evaluated offline")


# --- references -----------------------------------------------------------------------------

def test_locals_data_sources_and_resolved_attributes() -> None:
    scope = FakeScope({("aws_db_instance.main", "port"): 5432})
    assert ev('"${local.name}-app"') == "chess-ai-prod-app"
    assert ev("data.aws_vpc.main.id") == Ref("data.aws_vpc.main", "id")
    assert ev("aws_db_instance.main.port + 1", scope) == 5433
    assert ev("aws_instance.web.root_block_device.volume_id") == Ref(
        "aws_instance.web", "root_block_device.volume_id")


def test_indexed_references() -> None:
    assert ev("aws_subnet.private[0].id") == Ref("aws_subnet.private[0]", "id")
    assert ev('aws_subnet.private["a"].id') == Ref('aws_subnet.private["a"]', "id")
    assert ev("aws_instance.web.ebs_block_device[0].id") == Ref(
        "aws_instance.web", "ebs_block_device[0].id")
    # The resource as a whole: its attributes are read when a traversal asks for them.
    assert ev("aws_instance.web") == Ref("aws_instance.web", "")
    assert str(ev("aws_instance.web[0]")) == "aws_instance.web[0]"
    assert ev("aws_instance.web[0].id") == Ref("aws_instance.web[0]", "id")


def test_ref_equality() -> None:
    assert ev("aws_security_group.app.id == aws_security_group.app.id") is True
    assert "aws_security_group.app.id" in reason(ev("aws_security_group.app.id == \"sg-1\""))
    assert isinstance(ev("aws_security_group.app.id == aws_security_group.db.id"), Unknown)
    assert ev("[aws_security_group.app.id] == [aws_security_group.app.id]") is True


def test_index_and_attribute_access() -> None:
    assert ev("var.azs[1]") == "b"
    assert ev("var.azs.0") == "a"  # legacy index syntax
    assert ev('var.tags["Team"]') == "ai"
    assert ev("var.tags.Owner") == "ops"
    assert ev('var.nested.db["ports"][1]') == 6432
    assert ev('{a = {b = [10, 20]}}.a.b[0]') == 10
    assert "out of range" in reason(ev("var.azs[3]"))
    assert "not found" in reason(ev('var.tags["nope"]'))
    assert "cannot index" in reason(ev("var.count[0]"))


@pytest.mark.parametrize(("expression", "why"), [
    ("[for s in var.azs : upper(s)]", "for expressions"),
    ("{for k, v in var.tags : k => v}", "for expressions"),
    ("aws_instance.web[*].id", "aws_instance.web[*] is not known here"),
    ("var.tags.*.id", "splat"),
    ("count.index", "count.index is only known per instance"),
    ("each.key", "each.key is only known per instance"),
    ("path.module", "path.module"),
    ("terraform.workspace", "terraform.workspace"),
    ("module.vpc.vpc_id", "module output module.vpc"),
    ("self.private_ip", "self.private_ip"),
    ('"${foo}"', "unknown name 'foo'"),  # a bare `foo` comes back from hcl2 as the text "foo"
    ('"%{ if var.enabled }on%{ endif }"', "template directives"),
    ("no_such_function(-1)", "function no_such_function()"),
])
def test_unsupported_constructs_are_unknown_with_a_reason(expression: str, why: str) -> None:
    assert why in reason(ev(expression))


def test_unsupported_construct_inside_a_list_leaves_the_rest_known() -> None:
    assert ev("[count.index, 2]") == [Unknown("count.index is only known per instance"), 2]


# --- literals, strings, templates -----------------------------------------------------------

def test_literals() -> None:
    raw = load('a = 5\n b = 1.5\n c = true\n d = null\n e = "tcp"\n f = [1, "x", [2]]\n g = -3')
    assert evaluate(raw, FakeScope()) == {"a": 5, "b": 1.5, "c": True, "d": None, "e": "tcp",
                                          "f": [1, "x", [2]], "g": -3}
    assert ev("1e3") == 1000
    assert ev("[true, false, null]") == [True, False, None]
    assert ev('{a = 1, "b" = "two", c: var.project}') == {"a": 1, "b": "two", "c": "chess-ai"}
    assert ev("[]") == [] and ev("{}") == {}


def test_single_interpolation_keeps_type() -> None:
    assert ev('"${var.count}"') == 3
    assert ev('"${var.tags}"') == {"Team": "ai", "Owner": "ops"}
    assert ev('"n=${var.count} ${var.enabled}"') == "n=3 true"


def test_string_escapes() -> None:
    assert ev(r'upper("a\nb\"c\\d")') == 'A\nB"C\\D'
    assert ev(r'"tab\t${var.project}\u00e9"') == "tab\tchess-aié"
    assert ev(r'"$${literal} ${var.count}"') == "${literal} 3"
    assert ev(r'"$${literal}"') == "${literal}"
    assert ev(r'lower("%%{x} $${Y}")') == "%{x} ${y}"
    assert ev(r'"a \"quoted ${var.project}\" b"') == 'a "quoted chess-ai" b'
    assert ev(r'"100%"') == "100%"


def test_nested_templates() -> None:
    assert ev('"plain ${"nested ${var.project}"} text"') == "plain nested chess-ai text"
    assert ev('"${"${var.environment}"}" == "prod"') is True


def test_heredocs() -> None:
    assert ev('<<EOT\nhello ${var.project}\nworld\nEOT') == "hello chess-ai\nworld\n"
    assert ev('<<-EOT\n    {\n      "env": "${var.environment}"\n    }\n    EOT') == (
        '{\n  "env": "prod"\n}\n')
    assert ev("upper(<<EOT\nhi\nEOT\n)") == "HI\n"
    assert "template directives" in reason(ev('<<EOT\n%{ if var.enabled }on%{ endif }\nEOT'))


def test_null_in_template_is_unknown() -> None:
    assert isinstance(ev('"x-${var.none}"'), Unknown)


# --- operators ------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    ("1 + 2 * 3 - 4 / 2 % 3", 5),
    ("(1 + 2) * 3", 9),
    ("-2 * 3", -6),
    ("-(-2)", 2),
    ("7 / 2", 3.5),
    ("6 / 3", 2),
    ("7 % 3", 1),
    ("-7 % 3", -1),  # the sign of the dividend, as in Terraform
    ('"5" + 1', 6),  # numeric strings convert
    ("2 + 3 > 4", True),
    ("1 < 2 == true", True),
    ("3 <= 3 && 4 >= 5", False),
    ("true || false && false", True),  # && binds tighter
    ("!true || !false", True),
    ('1 == "1"', False),  # equality is type-strict
    ("[1, 2] == [1, 2]", True),
    ('{a = 1} != {a = 2}', True),
    ("null == null", True),
])
def test_operators(expression: str, expected: object) -> None:
    result = ev(expression)
    assert result == expected and type(result) is type(expected)


def test_operator_errors_are_unknown() -> None:
    assert reason(ev("1 / 0")) == "division by zero"
    assert reason(ev("5 % 0")) == "division by zero"
    assert "number is required" in reason(ev('"a" + 1'))
    assert "bool is required" in reason(ev("!5"))


def test_conditionals() -> None:
    assert ev('var.environment == "prod" ? "db.r6g.large" : "db.t3.micro"') == "db.r6g.large"
    nested = 'var.environment == "dev" ? 1 : var.environment == "prod" ? (var.enabled ? 2 : 3) : 4'
    assert ev(nested) == 2
    assert ev("true ? 1 : 1 / 0") == 1  # the other branch is never evaluated
    scope = FakeScope()
    ev("false ? var.skipped : var.count", scope)
    assert scope.calls == ["var.count"]
    assert reason(ev('var.missing ? "a" : "b"')) == "variable missing is not set"


def test_three_valued_logic() -> None:
    assert ev("false && var.missing") is False
    assert ev("var.missing || true") is True
    assert reason(ev("true && var.missing")) == "variable missing is not set"


# --- unknown propagation --------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    '"${var.missing}-x"', "var.missing + 1", "upper(var.missing)", "var.missing.field",
    "var.missing[0]", '"x" == var.missing', "-var.missing", "!var.missing",
    'merge(var.missing, {a = 1})', 'format("%s", var.missing)', 'var.missing == null ? 1 : 2',
])
def test_unset_variable_propagates(expression: str) -> None:
    assert reason(ev(expression)) == "variable missing is not set"


def test_unset_variable_alone_and_in_collections() -> None:
    missing = Unknown("variable missing is not set")
    assert ev("var.missing") == missing
    assert ev("[var.missing, 1]") == [missing, 1]
    assert ev("{a = var.missing, b = 2}") == {"a": missing, "b": 2}
    assert ev("length([var.missing])") == 1


# --- functions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    ('lookup(var.tags, "Team", "none")', "ai"),
    ('lookup(var.tags, "Cost", "none")', "none"),
    ('lookup({a = 1}, "a")', 1),
    ('merge(var.tags, local.base_tags, {Name = "${local.name}-db"})',
     {"Team": "ai", "Owner": "ops", "Env": "prod", "Name": "chess-ai-prod-db"}),
    ('merge({a = 1, b = 1}, {b = 2}, null)', {"a": 1, "b": 2}),
    ('concat(var.azs, ["d"], [])', ["a", "b", "c", "d"]),
    ('format("%s-%d-%v %%", "a", 7, true)', "a-7-true %"),
    ('join(",", var.azs)', "a,b,c"),
    ('split(",", "a,b")', ["a", "b"]),
    ('lower("ABC")', "abc"),
    ('upper(var.project)', "CHESS-AI"),
    ('replace("a-b-c", "-", "_")', "a_b_c"),
    ('trimspace("  x \\n")', "x"),
    ("tostring(5)", "5"),
    ("tostring(null)", None),
    ('tonumber("42")', 42),
    ('tobool("true")', True),
    ('tolist(["a", "b"])', ["a", "b"]),
    ('toset(["b", "a", "b"])', ["a", "b"]),
    ("length(var.azs)", 3),
    ("length(var.tags)", 2),
    ('length("abc")', 3),
    ("max(1, 5, 3)", 5),
    ("min(1.5, 2)", 1.5),
    ("max(var.nested.db.ports...)", 6432),
    ('coalesce("", null, "x", "y")', "x"),
    ('coalesce(var.empty, "fallback")', "fallback"),
    ('contains(var.azs, "b")', True),
    ('contains(var.azs, "z")', False),
    ("element(var.azs, 4)", "b"),
    ("keys({b = 1, a = 2})", ["a", "b"]),
    ("values({b = 1, a = 2})", [2, 1]),
    ("distinct([1, 2, 1])", [1, 2]),
    ("distinct([[1], [1]])", [[1]]),
    ("flatten([[1, [2]], [], 3])", [1, 2, 3]),
    ('try(var.tags.Cost, "default")', "default"),
    ('try(var.missing, "default")', "default"),
    ("try(var.count, 0)", 3),
    ("can(var.tags.Team)", True),
    ("can(var.tags.Cost)", False),
    ("can(1 / 0)", False),
])
def test_functions(expression: str, expected: object) -> None:
    result = ev(expression)
    assert result == expected and type(result) is type(expected)


def test_function_errors_and_unknowns() -> None:
    assert "not found" in reason(ev('lookup(var.tags, "Cost")'))
    assert "invalid call to upper()" in reason(ev("upper()"))
    assert "not evaluated offline" in reason(ev("timestamp()"))
    assert ev('replace("abc", "/b/", "x")') == "axc"
    assert reason(ev("can(var.missing)")) == "variable missing is not set"
    assert reason(ev('coalesce(var.missing, "x")')) == "variable missing is not set"
    assert ev('coalesce("x", var.missing)') == "x"
    assert "no try() argument" in reason(ev("try(var.missing, count.index)"))
    assert ev("try(aws_security_group.app.id, null)") == Ref("aws_security_group.app", "id")
    assert ev("concat([aws_security_group.app.id], [])") == [Ref("aws_security_group.app", "id")]
    assert isinstance(ev('contains([aws_security_group.app.id], "sg-1")'), Unknown)
    assert ev("contains([aws_security_group.app.id, 1], 1)") is True


# --- walking python-hcl2 structures ---------------------------------------------------------

def test_evaluate_walks_blocks_and_keys() -> None:
    raw = hcl2.loads(
        'resource "aws_security_group" "db" {\n'
        '  name = "${local.name}-db"\n'
        "  ingress {\n"
        '    protocol        = "tcp"\n'
        "    from_port       = 5432\n"
        "    to_port         = var.count * 2000\n"
        "    security_groups = [aws_security_group.app.id]\n"
        "  }\n"
        "  tags = { (var.key) = 1, (var.missing) = 2, plain = var.enabled }\n"
        "}\n", serialization_options=OPTIONS)
    body = evaluate(raw, FakeScope())["resource"][0]["aws_security_group"]["db"]  # type: ignore[index]
    assert body["name"] == "chess-ai-prod-db"
    assert body["ingress"] == [{"protocol": "tcp", "from_port": 5432, "to_port": 6000,
                                "security_groups": [Ref("aws_security_group.app", "id")]}]
    assert body["tags"] == {"dyn": 1, "${(var.missing)}": 2, "plain": True}


def test_non_strings_pass_through() -> None:
    assert evaluate(None, FakeScope()) is None
    assert evaluate(3.5, FakeScope()) == 3.5
    assert evaluate({"a": ["x", {"b": 1}]}, FakeScope()) == {"a": ["x", {"b": 1}]}


# --- robustness -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["${var.x", "${1 +}", "${)}", "${}", '${"unterminated}',
                                  "${a ? b}", "${f(1,,2)}", "${[1 2]}", r'${"\q"}'])
def test_malformed_expressions_are_unknown(text: str) -> None:
    assert reason(evaluate(text, FakeScope())).startswith("cannot parse expression")


ODD = [
    "${", "}", "${}", "${${}}", "$${", "%{", "%%{", "${var.}", "${var}", "${.}", "${[}",
    "${{}", "${(((}", "${1 ? 2}", "${! }", "${- - -}", "${a.b.c.d.e.f[0][1][\"x\"]}",
    "${\"${\"${\"x\"}\"}\"}", "${1e999999 * 1.0}", "${" + "9" * 5000 + "}", "<<EOT\nnever ends",
    "${" + "(" * 400 + "1" + ")" * 400 + "}", "${" + "!" * 500 + "true}",
    "${" + " + ".join(["1"] * 300) + "}", "${" + "[" * 300 + "]" * 300 + "}",
    "${\"\\U0011FFFF\"}", "${x...}", "${f(x...,y)}", "${{a = 1 b = 2}}", "${0.0.0}",
]


def test_odd_strings_never_raise() -> None:
    assert len(ODD) == 30
    for text in ODD:
        evaluate(text, FakeScope())
        evaluate([text, {"k": text}], FakeScope())


def test_deep_nesting_is_capped() -> None:
    deep = "${" + "(" * 400 + "1" + ")" * 400 + "}"
    assert "nested too deeply" in reason(evaluate(deep, FakeScope()))
    assert evaluate("${" + "(" * 20 + "1" + ")" * 20 + "}", FakeScope()) == 1
    strings = "${" + '"${' * 1000 + "1" + '}"' * 1000 + "}"  # nests through the lexer
    assert "nested too deeply" in reason(evaluate(strings, FakeScope()))
    assert evaluate("${" + '"${' * 10 + "1" + '}"' * 10 + "}", FakeScope()) == 1


def test_can_of_an_apply_time_reference_is_unknown() -> None:
    """`can(data.x.value) ? safe : open` must not pick a branch offline."""
    got = ev('can(data.aws_ssm_parameter.p.value) ? "10.0.0.0/8" : "0.0.0.0/0"')
    # A data source is read at plan time: not offline, and not after apply either.
    assert isinstance(got, Unknown) and "at plan time, not offline" in got.reason
    got = ev('can(aws_instance.web.private_ip) ? "10.0.0.0/8" : "0.0.0.0/0"')
    assert isinstance(got, Unknown) and "only known after apply" in got.reason


def test_a_resource_named_whole_is_never_null_and_try_waits_for_what_apply_knows() -> None:
    assert ev("aws_instance.web == null") is False
    assert ev("aws_instance.web != null") is True
    # An apply-time value anywhere inside the argument makes try() unknown, as in Terraform.
    nested = ev('try([{ ok = aws_instance.web.private_ip == "10.0.0.1" }], [])')
    assert isinstance(nested, Unknown) and "cannot compare" in reason(nested)
    # A variable nobody set is not what apply knows: the list is the value, unknown inside.
    held = ev("try([{ ok = var.missing }], [])")
    assert isinstance(held, list) and isinstance(held[0]["ok"], Unknown)
    assert "at plan time" in Ref("module.a[0].data.aws_x.y", "v").known
    assert "after apply" in Ref("module.data.aws_x.y", "v").known  # a module named data
