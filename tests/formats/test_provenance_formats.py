"""Drift provenance in every format, from the recorded example, and escaped for each when a
field manager's name (anyone with write access to the cluster picks it) is hostile."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from tests.conftest import EXAMPLE

SNAPSHOT = EXAMPLE / "live-snapshot.json"
HOSTILE = "kubectl-patch <img src=x> | `rm` [x](http://e.vil)"


def _run(fmt: str, snapshot: Path = SNAPSHOT) -> str:
    result = CliRunner().invoke(cli, ["audit", "--config", str(EXAMPLE), "--live",
                                      str(snapshot), "--policy", "hpa-drift", "--format", fmt,
                                      "--no-color"])
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "markdown", "table"])
def test_every_format_says_who_changed_the_field(fmt: str) -> None:
    out = _run(fmt)
    assert "field manager kubectl-patch owns it, last write 2026-11-26 22:45 UTC" in out
    assert "kubectl patch hpa" in out
    if fmt == "json":
        [f] = [f for f in json.loads(out)["findings"] if f["item"] == "spec.minReplicas"]
        assert f["provenance"] == {
            "source": "managedFields", "actor": "kubectl-patch", "at": "2026-11-26T22:45:00Z",
            "via": "kubectl patch hpa", "call": None, "by": "person",
            "runbook": "common-issues/high-latency/#scale-up-pods",
            "runbook_title": "2. High Latency > 1. Scale Up Pods", "note": "",
            "operation": "Update"}


@pytest.fixture
def hostile_snapshot(tmp_path: Path) -> Path:
    doc = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for r in doc["environments"]["prod"]["resources"]:
        if r["kind"] == "HorizontalPodAutoscaler":
            for entry in r["body"]["metadata"]["managedFields"]:
                if entry["manager"] == "kubectl-patch":
                    entry["manager"] = HOSTILE
    out = tmp_path / "snapshot.json"
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github", "markdown", "table"])
def test_a_hostile_manager_name_is_escaped_for_each_format(fmt: str,
                                                           hostile_snapshot: Path) -> None:
    out = _run(fmt, hostile_snapshot)
    assert "\x1b" not in out and "\x07" not in out  # no terminal control sequence
    if fmt == "markdown":  # rendered as HTML: no tag gets through
        assert "<img" not in out
    if fmt == "sarif":
        json.loads(out)
    if fmt == "junit":
        ET.fromstring(out)  # well-formed XML
    if fmt == "markdown":
        assert "[x](http://e.vil)" not in out  # no live link from a manager's name
    # Not taken for a kubectl command: only kubectl-<word> names one.
    assert "looks like `kubectl" not in out


    if fmt == "github":
        assert all(line.startswith(("::", "  ")) or not line.strip() or "::" not in line[1:]
                   for line in out.splitlines())  # one workflow command per line


def test_a_manager_name_with_control_characters_is_not_shown(tmp_path: Path) -> None:
    doc = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for r in doc["environments"]["prod"]["resources"]:
        for entry in r["body"].get("metadata", {}).get("managedFields", []):
            if entry["manager"] == "kubectl-patch":
                entry["manager"] = "kubectl-patch\x1b]8;;http://e.vil\x07"
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "report.md"
    result = CliRunner().invoke(cli, ["audit", "--config", str(EXAMPLE), "--live",
                                      str(snapshot), "--policy", "hpa-drift", "--format",
                                      "markdown", "--output", str(out)])
    assert result.exit_code in (0, 1), result.stderr
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "e.vil" not in text
