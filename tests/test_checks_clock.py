"""How the checks write a span of time: an age or a time left read next to a limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from auditor.checks.clock import span


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(0), "0 seconds"),
    (timedelta(seconds=1), "1 second"),
    (timedelta(minutes=3, seconds=4), "3 minutes, 4 seconds"),
    (timedelta(hours=5), "5 hours"),
    (timedelta(days=1), "1 day"),
    # just over a 26-hour limit must not read as "1 day", under it
    (timedelta(hours=26, seconds=1), "1 day, 2 hours, 1 second"),
    (timedelta(days=2, hours=23, minutes=59), "2 days, 23 hours, 59 minutes"),
    (timedelta(days=2), "2 days"),
    # from three days on, whole days (rounded down, as "within N days" reads them)
    (timedelta(days=3, hours=23), "3 days"),
    (timedelta(days=400), "400 days"),
    (timedelta(seconds=-5), "0 seconds"),
])
def test_a_span_is_exact_below_three_days_and_in_whole_days_after(delta: timedelta,
                                                                  text: str) -> None:
    assert span(delta) == text
