"""String functions, format and the regex functions, from the examples of Terraform's
documentation (and Go's rules where the documentation leaves them out)."""

from __future__ import annotations

import pytest

from auditor.terraform.expressions import Ref
from tests.terraform.functions_support import Scope, check, ev, fails, reason

DOCUMENTED = [
    ('chomp("hello\\n")', "hello"), ('chomp("hello\\r\\n")', "hello"),
    ('chomp("hello\\n\\n")', "hello"),
    ('endswith("hello world", "world")', True), ('endswith("hello world", "hello")', False),
    ('format("Hello, %s!", "Ander")', "Hello, Ander!"),
    ('format("There are %d lights", 4)', "There are 4 lights"),
    ('format("Hello, %s!", var.name)', "Hello, Valentina!"),
    ('"Hello, ${var.name}!"', "Hello, Valentina!"),
    ('format("%[1]s%[2]s%[1]s%[3]s", "/", "path", "file.tf")', "/path/file.tf"),
    ('format("%#v", "hello")', '"hello"'), ('format("%#v", true)', "true"),
    ('format("%#v", 1)', "1"), ('format("%#v", {a = 1})', '{"a":1}'),
    ('format("%#v", [true])', "[true]"), ('format("%#v", null)', "null"),
    ('formatlist("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"])',
     ["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]),
    ('formatlist("%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"])',
     ["Salutations, Valentina!", "Salutations, Ander!", "Salutations, Olivia!",
      "Salutations, Sam!"]),
    ('indent(2, "[\\n  foo,\\n  bar,\\n]\\n")', "[\n    foo,\n    bar,\n  ]\n  "),
    ('join("-", ["foo", "bar", "baz"])', "foo-bar-baz"),
    ('join(", ", ["foo", "bar", "baz"])', "foo, bar, baz"), ('join(", ", ["foo"])', "foo"),
    ('lower("HELLO")', "hello"), ('lower("ΓΕΙΑ ΣΟΥ")', "γεια σου"),  # noqa: RUF001
    ('upper("hello")', "HELLO"), ('upper("алло!")', "АЛЛО!"),
    ('regex("[a-z]+", "53453453.345345aaabbbccc23454")', "aaabbbccc"),
    ('regex("(\\\\d\\\\d\\\\d\\\\d)-(\\\\d\\\\d)-(\\\\d\\\\d)", "2019-02-01")',
     ["2019", "02", "01"]),
    ('regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", '
     '"https://terraform.io/docs/")', {"authority": "terraform.io", "scheme": "https"}),
    ('regexall("[a-z]+", "1234abcd5678efgh9")', ["abcd", "efgh"]),
    ('length(regexall("[a-z]+", "1234abcd5678efgh9"))', 2),
    ('length(regexall("[a-z]+", "123456789")) > 0', False),
    ('replace("1 + 2 + 3", "+", "-")', "1 - 2 - 3"),
    ('replace("hello world", "/w.*d/", "everybody")', "hello everybody"),
    ('split(",", "foo,bar,baz")', ["foo", "bar", "baz"]), ('split(",", "foo")', ["foo"]),
    ('split(",", "")', [""]),
    ('startswith("hello world", "hello")', True), ('startswith("hello world", "world")', False),
    ('strcontains("hello world", "wor")', True), ('strcontains("hello world", "wod")', False),
    ('strrev("hello")', "olleh"), ('strrev("a ☃")', "☃ a"),
    ('substr("hello world", 1, 4)', "ello"), ('substr("🤔🤷", 0, 1)', "🤔"),
    ('substr("hello world", -5, -1)', "world"), ('substr("hello world", 6, 10)', "world"),
    ('title("hello world")', "Hello World"),
    ('trim("?!hello?!", "!?")', "hello"), ('trim("foobar", "far")', "oob"),
    ('trim("   hello! world.!  ", "! ")', "hello! world."),
    ('trimprefix("helloworld", "hello")', "world"), ('trimprefix("helloworld", "cat")',
                                                     "helloworld"),
    ('trimprefix("--hello", "-")', "-hello"),
    ('trimsuffix("helloworld", "world")', "hello"), ('trimsuffix("helloworld", "cat")',
                                                     "helloworld"),
    ('trimsuffix("hello--", "-")', "hello-"),
    ('trimspace("  hello\\n\\n")', "hello"),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected, Scope({"name": "Valentina"}))


def test_documented_errors() -> None:
    assert fails('regex("[a-z]+", "53453453.34534523454")') == \
        "regex(): pattern did not match any part of the given string"
    assert "cannot mix both named and unnamed" in fails('regex("(?P<a>x)(y)", "xy")')


@pytest.mark.parametrize(("expression", "expected"), [
    ('format("%5.2f|%-6d|%06d|%x|%#o|%e", 3.14159, 42, -42, 255, 8, 1234.5678)',
     " 3.14|42    |-00042|ff|010|1.234568e+03"),
    ('format("%v|%v|%g", 1234567, 100000, 0.0001)', "1.234567e+06|100000|0.0001"),
    ('format("%q|%t|%.3s|%-4s|%04s", "a\\"<", "true", "abcdef", "ab", "7")',
     '"a\\"\\u003c"|true|abc|ab  |0007'),
    ('format("%s is %d%%", "rate", 5)', "rate is 5%"),
    ('format("%e|%.0f|%08.3f|%G", 0, 2.5, -3.14159, 0.0000000001)',
     "0.000000e+00|2|-003.142|1E-10"),
    ('format("%+d % d %.3d %X %#x %b", 5, 5, 5, 255, 255, 5)', "+5  5 005 FF 0xff 101"),
])
def test_format_follows_gos_verbs(expression: str, expected: str) -> None:
    check(expression, expected)


def test_format_errors_are_terraforms() -> None:
    assert "not enough arguments" in fails('format("%s %s", "a")')
    assert "too many arguments" in fails('format("%s", "a", "b")')
    assert "an integer is required" in fails('format("%d", 1.5)')
    assert "null value cannot be formatted" in fails('format("%s", null)')
    assert "unsupported format verb 'z'" in fails('format("%z", 1)')
    assert "unrecognized format character" in fails('format("%!", 1)')


def test_format_of_an_unknown_value_is_unknown() -> None:
    assert "only known after apply" in reason(ev('format("sg-%s", aws_security_group.a.id)'))
    assert ev('formatlist("%s", [var.unset, "b"])')[1] == "b"  # type: ignore[index]


def test_grapheme_clusters_and_go_case_rules() -> None:
    check('length("👾🕹️")', 2)  # U+1F579 U+FE0F is one character
    check('length("a\\r\\nb")', 3)
    check('upper("straße")', "STRAßE")  # Go maps letter by letter: no "SS"
    check('title("hello_world foo-bar 3d")', "Hello_world Foo-Bar 3d")
    check('substr("hello", -3, 0)', "llo")  # cty's quirk: length 0 after a negative offset
    check('substr("hello", 10, 2)', "")


def test_regex_replace_expands_like_go() -> None:
    check('replace("hello world", "/(w)(o)/", "$2$1-$${1}x$$")', "hello ow-wx$rld")
    check('replace("axxb", "/x*/", "-")', "-a-b-")  # Go skips an empty match after a match
    check('regexall("x*", "axxb")', ["", "xx", ""])
    check('replace("a.b", "/", "x")', "a.b")  # "/" alone is not a pattern
    assert "error parsing pattern" in fails('replace("a", "/(/", "x")')


def test_computed_values_keep_their_identity_where_unchanged() -> None:
    group = Ref("aws_security_group.a", "id")
    # A join of that one value is the value (modules write join("", x[*].id) for count = 1).
    assert ev('join(",", [aws_security_group.a.id])') == group
    assert ev('join("", ["", aws_security_group.a.id], [""])') == group
    for changed in ('join(",", ["", aws_security_group.a.id])',
                    'join("", ["x", aws_security_group.a.id])',
                    'join("", [aws_security_group.a.id, aws_security_group.a.id])'):
        assert "aws_security_group.a.id" in reason(ev(changed)), changed
    assert "aws_security_group.a.id" in reason(ev('upper(aws_security_group.a.id)'))
