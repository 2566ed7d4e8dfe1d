"""Reports written in pieces (JSON one list entry at a time, SARIF in 64 KiB pieces) are
the whole document byte for byte, whatever the entries hold, on a file and on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.formats import sarif_format
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


def test_sarif_pieces_join_to_what_json_dumps_writes(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    for report in _reports(report_factory, finding_factory):
        whole = json.dumps(sarif_format.sarif(report), indent=2, ensure_ascii=False) + "\n"
        assert sarif_format.render(report) == whole
        assert b"".join(sarif_format.chunks(report)) == whole.encode("utf-8")


def test_a_large_sarif_log_comes_in_bounded_pieces(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    many = [finding_factory("hpa-present", "fail", "prod", f"app-{i}", message="\u00e9" * 200)
            for i in range(1_000)]
    pieces = list(sarif_format.chunks(report_factory(many)))
    assert len(pieces) > 10
    # A piece closes at the token that takes it past 64 KiB of characters (UTF-8: 2 bytes).
    assert max(len(p) for p in pieces) < 3 * 65_536


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_the_cli_writes_the_same_bytes_to_a_file_and_to_stdout(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding], fmt: str) -> None:
    report = _reports(report_factory, finding_factory)[2]
    saved = tmp_path / "saved.json"
    saved.write_bytes(_whole(report))
    out = tmp_path / "again"
    to_file = CliRunner().invoke(cli, ["report", str(saved), "--format", fmt, "--output",
                                       str(out)])
    to_stdout = CliRunner().invoke(cli, ["report", str(saved), "--format", fmt])
    assert to_file.exit_code == 0 and to_stdout.exit_code == 0, to_file.output
    assert out.read_bytes() == to_stdout.stdout_bytes
    if fmt == "json":
        assert out.read_bytes() == saved.read_bytes()
    else:
        assert json.loads(out.read_bytes()) == sarif_format.sarif(report)


def _big_saved(tmp_path: Path, factory: Callable[..., Report],
               finding: Callable[..., Finding]) -> Path:
    """A report far larger than a pipe's buffer (64 KiB)."""
    many = [finding("hpa-present", "fail", "prod", f"app-{i}", message="x" * 200)
            for i in range(2_000)]
    saved = tmp_path / "big.json"
    saved.write_bytes(_whole(factory(many)))
    return saved


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_a_reader_that_stops_early_ends_the_write_quietly(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding], fmt: str) -> None:
    saved = _big_saved(tmp_path, report_factory, finding_factory)
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "report", str(saved),
                             "--format", fmt], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1) in b"{<"
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""  # no traceback, no "Exception ignored" at exit


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_a_full_standard_output_is_one_line_and_exit_2(
        tmp_path: Path, report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding], fmt: str) -> None:
    saved = _big_saved(tmp_path, report_factory, finding_factory)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "auditor", "report", str(saved),
                               "--format", fmt], stdout=full, stderr=subprocess.PIPE,
                              timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "error: cannot write the report to standard output: No space left on device"]
