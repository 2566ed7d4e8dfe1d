"""Prints the JSON Schema of the report (``make schema`` writes schemas/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from auditor.models import Report

# Fields added to version 1 after its first release: this auditor always writes them, but
# a version 1 report of an earlier release lacks them and must stay valid.
ADDED = {
    "Report": {"sides", "comparison", "waivers", "source_url", "not_applicable", "config_file",
               "selection", "live"},
    "Remediation": {"checks", "value", "field", "suggestion"},
    "Finding": {"waived", "baseline", "provenance"},
    "SelectionInfo": {"section"},
    "Waived": {"inline"},
    "FindingLocation": {"key", "related"},
    "Gate": {"scope"},
    "Summary": {"waived"},
}


def report_schema() -> dict[str, Any]:
    # Serialization mode: what consumers read, where every field is always present.
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:runbook-auditor:report:1"
    for name, fields in ADDED.items():
        node = schema if name == "Report" else schema["$defs"][name]
        node["required"] = [f for f in node["required"] if f not in fields]
    return schema


if __name__ == "__main__":
    print(json.dumps(report_schema(), indent=2, sort_keys=True))
