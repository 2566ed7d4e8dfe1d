"""Prints the JSON Schema of the report (``make schema`` writes schemas/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from auditor.models import Report


def report_schema() -> dict[str, Any]:
    # Serialization mode: what consumers read, where every field is always present.
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:runbook-auditor:report:1"
    return schema


if __name__ == "__main__":
    print(json.dumps(report_schema(), indent=2, sort_keys=True))
