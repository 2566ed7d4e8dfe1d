"""The JSON report: the model itself (its schema is ``schemas/report.schema.json``)."""

from __future__ import annotations

from auditor.models import Report


def render(report: Report) -> str:
    return report.model_dump_json(indent=2, exclude_none=False) + "\n"
