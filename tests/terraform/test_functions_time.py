"""Date and time functions, from the examples of Terraform's documentation. The pure ones take
their times as arguments, so nothing here depends on today's date."""

from __future__ import annotations

import pytest

from tests.terraform.functions_support import check, ev, fails, reason

DOCUMENTED = [
    ('formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")', "02 Jan 2018 23:12 UTC"),
    ('formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")',
     "Tuesday, 02-Jan-18 23:12:01 UTC"),
    ('formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")',
     "Tue, 02 Jan 2018 23:12:01 -0800"),
    ('formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")', "Jan 02, 2018"),
    ('formatdate("HH:mmaa", "2018-01-02T23:12:01Z")', "11:12pm"),
    ("formatdate(\"h'h'mm\", \"2018-01-02T23:12:01-08:00\")", "23h12"),
    ("formatdate(\"H 'o''clock'\", \"2018-01-02T23:12:01-08:00\")", "11 o'clock"),
    ('timeadd("2024-08-16T12:45:05Z", "10m")', "2024-08-16T12:55:05Z"),
    ('timeadd("2024-08-16T12:45:05Z", "-10m")', "2024-08-16T12:35:05Z"),
    ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")', 0),
    ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")', -1),
    ('timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00Z")', 1),
    ('timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00-01:00")', 0),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected)


def test_go_rules() -> None:
    check('timeadd("2017-11-22T00:00:00-05:00", "1h30m")', "2017-11-22T01:30:00-05:00")
    check('timeadd("2017-11-22T23:59:59.9999999Z", "100ns")', "2017-11-23T00:00:00Z")
    check('timeadd("2020-02-28T00:00:00Z", "48h")', "2020-03-01T00:00:00Z")
    check('formatdate("Z|ZZZZ|ZZZZZ|D/M", "2018-01-02T03:04:05+05:30")',
          "+05:30|+0530|+05:30|2/1")


def test_errors() -> None:
    assert "not a valid RFC3339 timestamp" in fails('timeadd("2017-11-22", "1h")')
    assert "invalid duration" in fails('timeadd("2017-11-22T00:00:00Z", "1d")')
    assert "invalid date format verb 'Q'" in fails('formatdate("Q", "2018-01-02T23:12:01Z")')
    assert "unterminated literal" in fails('formatdate("\'x", "2018-01-02T23:12:01Z")')


@pytest.mark.parametrize("name", ["timestamp", "plantimestamp"])
def test_the_clock_is_unknown_naming_the_function(name: str) -> None:
    assert reason(ev(f"{name}()")) == \
        f"{name}() is not evaluated offline: " + ("it returns the time terraform runs"
                                                  if name == "timestamp" else
                                                  "it returns the time of the plan")
