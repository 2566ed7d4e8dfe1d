"""Hostile calls stay cheap: a result too large to build, or work too long to do, is refused
(unknown, marked failed) before it is built, in well under a second each."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from auditor.terraform.expressions import Unknown
from auditor.terraform.hcl_fn_common import LIMIT
from tests.terraform.functions_support import Scope, ev, fails, reason

BIG = "a" * (LIMIT // 2 + 1)
SCOPE = Scope({
    "big": BIG, "lines": "\n" * 1000, "thousand": list(range(1000)),
    "repeated": [BIG] * 100_000,  # 100,000 references to one string: 50 GB if expanded
    "digits": "9" * 5000, "as": "a" * 100_001 + "b", "commas": "," * (LIMIT - 1),
    "deep": "[" * 500 + "]" * 500,
    "loops": "%{for a in x}%{for b in x}%{for c in x}.%{endfor}%{endfor}%{endfor}",
})


@pytest.fixture(autouse=True)
def quick() -> Iterator[None]:
    start = time.monotonic()
    yield
    assert time.monotonic() - start < 5, "a bounded call took seconds"


@pytest.mark.parametrize("expression", [
    'join(",", [var.big, var.big, var.big])',
    'join(",", var.repeated)',
    "jsonencode(var.repeated)",
    'replace(var.big, "a", "aaaa")',
    'replace(var.big, "/a/", "aaaa")',
    "indent(100000, var.lines)",
    'format("%999999999d", 1)',
    'format("%.999999999f", 1)',
    'formatlist("%s", var.repeated)',
    "setproduct(var.thousand, var.thousand)",
    'parseint(var.digits, 10)',
    'split(",", var.commas)',
    "templatestring(var.loops, {x = var.thousand})",
    'replace(var.as, "/a/", "b")',  # 100,001 matches: past the bound on matches
    "strrev(var.repeated[0])",  # fine: one large string, linear work
])
def test_oversized_work_is_refused_before_it_is_done(expression: str) -> None:
    value = ev(expression, SCOPE)
    if expression.startswith("strrev"):
        assert value == BIG
        return
    assert isinstance(value, Unknown), f"{expression} was evaluated"
    assert "not evaluated" in value.reason, expression
    assert value.failed  # reported as an error, not a mere unknown


def test_range_keeps_terraforms_own_cap() -> None:
    assert "more than 1024 values" in fails("range(1e9)")


def test_regexes_cannot_backtrack() -> None:
    assert ev('regexall("(a+)+$", var.as)', SCOPE) == []  # RE2: linear in the text
    assert ev('replace(var.as, "/(a|aa)+b/", "x")', SCOPE) == "x"


def test_decoded_documents_stay_shallow() -> None:
    assert "nested more than" in reason(ev("jsondecode(var.deep)", SCOPE))
