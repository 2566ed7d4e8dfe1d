"""The JSON report written one list entry at a time is the serializer's document, byte for
byte, whatever the entries hold."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.formats.json_format import chunks, render
from auditor.models import Finding, NotApplicable, Report

# Text that looks like the document's own top-level lines, where the splice is made.
LOOKALIKE = 'x\n  "findings": [],\n  "passed": []\n  ]\n}\n\u00e9\u2028"\\'


def _whole(report: Report) -> bytes:
    return report.__pydantic_serializer__.to_json(report, indent=2) + b"\n"


def _reports(factory: Callable[..., Report], finding: Callable[..., Finding]) -> list[Report]:
    hostile = finding("liveness-probe", "fail", "prod", LOOKALIKE, item=LOOKALIKE,
                      message=LOOKALIKE, commands=[LOOKALIKE])
    hostile.details = {"nested": {"findings": [], LOOKALIKE: [1, 2.5, None, [], {}]}}
    return [
        factory(),
        factory([], passes={}),  # every streamed list empty
        factory([hostile], service=LOOKALIKE, not_applicable=[
            NotApplicable(policy="rds-multi-az", environment="dev", reason=LOOKALIKE),
            NotApplicable(policy="hpa-present", environment="dev", reason="none")]),
        factory([], not_applicable=[NotApplicable(policy="p", environment="e", reason="r")]),
    ]


def test_pieces_join_to_the_serializers_document(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    for report in _reports(report_factory, finding_factory):
        assert render(report) == _whole(report)
        assert Report.model_validate_json(render(report)) == report


def test_each_list_entry_is_its_own_piece(report_factory: Callable[..., Report]) -> None:
    report = report_factory()
    entries = len(report.findings) + len(report.passed) + len(report.not_applicable)
    assert entries > 5
    biggest = max(len(p) for p in chunks(report))
    assert len(list(chunks(report))) > entries
    assert biggest < len(_whole(report)) / 3


@pytest.mark.parametrize("to_file", [True, False])
def test_the_cli_writes_the_same_bytes_to_a_file_and_to_stdout(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding], to_file: bool) -> None:
    report = _reports(report_factory, finding_factory)[2]
    saved = tmp_path / "saved.json"
    saved.write_bytes(_whole(report))
    out = tmp_path / "again.json"
    args = ["report", str(saved), "--format", "json"] + (["--output", str(out)] if to_file else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    written = out.read_bytes() if to_file else result.stdout_bytes
    assert written == saved.read_bytes()


def _big_saved(tmp_path: Path, factory: Callable[..., Report],
               finding: Callable[..., Finding]) -> Path:
    """A report far larger than a pipe's buffer (64 KiB)."""
    many = [finding("hpa-present", "fail", "prod", f"app-{i}", message="x" * 200)
            for i in range(2_000)]
    saved = tmp_path / "big.json"
    saved.write_bytes(_whole(factory(many)))
    return saved


def test_a_reader_that_stops_early_ends_the_write_quietly(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    saved = _big_saved(tmp_path, report_factory, finding_factory)
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "report", str(saved),
                             "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{\n  "versi'
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""  # no traceback, no "Exception ignored" at exit


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_standard_output_is_one_line_and_exit_2(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    saved = _big_saved(tmp_path, report_factory, finding_factory)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "auditor", "report", str(saved),
                               "--format", "json"], stdout=full, stderr=subprocess.PIPE,
                              timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "error: cannot write the report to standard output: No space left on device"]
