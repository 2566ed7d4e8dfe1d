"""IP network functions, from the examples of Terraform's documentation."""

from __future__ import annotations

import pytest

from tests.terraform.functions_support import check, fails

DOCUMENTED = [
    ('cidrhost("10.12.112.0/20", 16)', "10.12.112.16"),
    ('cidrhost("10.12.112.0/20", 268)', "10.12.113.12"),
    ('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)', "fd00:fd12:3456:7890::22"),
    ('cidrhost("10.1.2.240/28", 1)', "10.1.2.241"),
    ('cidrhost("10.1.2.240/28", 14)', "10.1.2.254"),
    ('cidrnetmask("172.16.0.0/12")', "255.240.0.0"),
    ('cidrsubnet("172.16.0.0/12", 4, 2)', "172.18.0.0/16"),
    ('cidrsubnet("10.1.2.0/24", 4, 15)', "10.1.2.240/28"),
    ('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', "fd00:fd12:3456:7800:a200::/72"),
    ('cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)',
     ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]),
    ('cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)',
     ["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72",
      "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]),
    # The documented `[for cidr_block in cidrsubnets("10.0.0.0/8", 8, 8, 8, 8) : ...]`, one
    # call at a time (for expressions are the parser's business).
    ('cidrsubnets("10.0.0.0/8", 8, 8, 8, 8)',
     ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]),
    ('cidrsubnets("10.0.0.0/16", 4, 4)', ["10.0.0.0/20", "10.0.16.0/20"]),
    ('cidrsubnets("10.3.0.0/16", 4, 4)', ["10.3.0.0/20", "10.3.16.0/20"]),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected)


def test_go_cidr_rules() -> None:
    check('cidrhost("10.0.0.0/24", -1)', "10.0.0.255")  # counts back from the end
    check('cidrsubnet("10.1.2.3/24", 8, 5)', "10.1.2.5/32")  # host bits are dropped
    check('cidrsubnets("10.0.0.0/24", 2, 1)', ["10.0.0.0/26", "10.0.0.128/25"])  # aligned
    check("cidrsubnets(\"10.0.0.0/24\")", [])


def test_errors() -> None:
    assert "does not accommodate a host numbered 256" in fails('cidrhost("10.0.0.0/24", 256)')
    assert "insufficient address space" in fails('cidrsubnet("10.0.0.0/24", 9, 0)')
    assert "subnet numbered 16" in fails('cidrsubnet("10.0.0.0/24", 4, 16)')
    assert "IPv6 addresses cannot have a netmask" in fails('cidrnetmask("fd00::/8")')
    assert "invalid CIDR" in fails('cidrhost("10.0.0.300/8", 1)')
    assert "not enough remaining address space" in fails('cidrsubnets("10.0.0.0/24", 1, 1, 1)')
