"""Time for the time-based checks: when "now" is, and how a moment and a span read.

Each check takes "now" once per call, from the clock or from the ``now`` parameter (ISO
8601), so examples and tests do not depend on the day they run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auditor import inputs

DAY = timedelta(days=1)


def now(params: dict[str, Any]) -> datetime:
    raw = params.get("now")
    if raw is None or raw == "":
        inputs.distrust()  # an answer of today's: not one to keep for the next run
        return datetime.now(UTC)
    moment = parse_time(raw)
    if moment is None:
        raise ValueError(f"parameter now: {raw!r} is not an ISO 8601 date and time")
    return moment


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (or a datetime); naive means UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def span(delta: timedelta) -> str:
    """Whole days from three days on; below, every non-zero unit down to the second, so an
    age just over an hour-sized limit never reads as under it ("1 day" for 26 h 0 min 1 s)."""
    days = int(delta / DAY)
    if days >= 3:
        return _count(days, "day")
    seconds = max(0, int(delta.total_seconds()))
    parts = [(seconds // 86400, "day"), (seconds // 3600 % 24, "hour"),
             (seconds // 60 % 60, "minute"), (seconds % 60, "second")]
    return ", ".join(_count(n, unit) for n, unit in parts if n) or "0 seconds"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"
