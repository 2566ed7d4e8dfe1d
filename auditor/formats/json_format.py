"""The JSON report: the model itself (its schema is ``schemas/report.schema.json``)."""

from __future__ import annotations

from auditor.models import Report


def render(report: Report) -> bytes:
    """UTF-8 bytes, as the serializer makes them: a fleet's report is tens of MB, and a
    text copy of it would double what the run holds at its end."""
    return report.__pydantic_serializer__.to_json(report, indent=2) + b"\n"
