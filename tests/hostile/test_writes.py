"""Reports and snapshots are never written over an input, and never half-written: a run
killed while writing leaves the previous report whole, and a history folder holding a
truncated report still builds its site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor import output
from auditor.errors import AuditorError
from tests.conftest import REPO, CliResult

Run = Callable[..., CliResult]


def _one_line_refusal(result: CliResult, what: str) -> None:
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: --output ") and what in line


@pytest.mark.parametrize(("target", "what"), [
    ("auditor.yaml", "which this run reads"),
    ("helm/values-prod.yaml", "which this run reads"),
    ("helm/chess-ai/values.yaml", "which this run reads"),
    ("helm/chess-ai/templates/deployment.yaml", "is inside"),  # the chart is read whole
    ("helm/chess-ai/report.json", "is inside"),
    ("infrastructure/terraform/aws/report.json", "is inside"),
])
def test_a_report_over_an_input_is_refused_and_the_input_kept(
        run_cli: Run, example_copy: Path, target: str, what: str) -> None:
    path = example_copy / target
    before = path.read_bytes() if path.exists() else None
    result = run_cli("scan", "--config", str(example_copy), "--output", str(path))
    _one_line_refusal(result, what)
    assert (path.read_bytes() if path.exists() else None) == before


def test_inputs_named_another_way_are_still_inputs(run_cli: Run, example_copy: Path,
                                                    tmp_path: Path) -> None:
    link = tmp_path / "innocent.json"
    link.symlink_to(example_copy / "auditor.yaml")
    _one_line_refusal(run_cli("scan", "--config", str(example_copy), "--output", str(link)),
                      "which this run reads")
    hard = tmp_path / "hard.json"
    os.link(example_copy / "helm" / "values-prod.yaml", hard)
    _one_line_refusal(run_cli("scan", "--config", str(example_copy), "--output", str(hard)),
                      "which this run reads")


def test_the_compared_report_waivers_and_snapshot_are_inputs(
        run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    assert run_cli("scan", "--config", str(example_copy), "--output", str(base)).exit_code == 1
    kept = base.read_bytes()
    for args in (("scan", "--baseline", str(base)), ("report", str(base)),
                 ("audit", "--live", str(example_copy / "live-snapshot.json"))):
        target = str(base) if "--live" not in args else str(example_copy / "live-snapshot.json")
        cmd = [*args, "--output", target]
        if args[0] != "report":
            cmd = [args[0], "--config", str(example_copy), *args[1:], "--output", target]
        _one_line_refusal(run_cli(*cmd), "which this run reads")
    assert base.read_bytes() == kept
    waivers = example_copy / ".auditor-waivers.yaml"
    waivers.write_text("waivers: []\n")
    _one_line_refusal(run_cli("scan", "--config", str(example_copy), "--output",
                              str(waivers)), "which this run reads")
    _one_line_refusal(run_cli("snapshot", "--config", str(example_copy), "--output",
                              str(example_copy / "auditor.yaml")), "which this run reads")


def test_a_new_report_may_go_into_the_history_it_is_compared_with(
        run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    first = history / "1.json"
    run_cli("scan", "--config", str(example_copy), "--output", str(first))
    result = run_cli("scan", "--config", str(example_copy), "--baseline", str(history),
                     "--output", str(history / "2.json"))
    assert result.exit_code == 0 and json.loads((history / "2.json").read_text())


def test_a_run_killed_while_writing_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    """SIGKILL after the new text is written, before it is renamed into place."""
    report = tmp_path / "report.json"
    report.write_text('{"previous": true}\n')
    code = ("import os, signal, pathlib; from auditor import output; "
            "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL); "
            f"output.write(pathlib.Path({str(report)!r}), 'x' * 1_000_000)")
    killed = subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60, check=False)
    assert killed.returncode == -9
    assert report.read_text() == '{"previous": true}\n'


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "report.json"
    report.write_text("previous")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    with pytest.raises(AuditorError, match=r"report\.json: cannot write: No space left"):
        output.write(report, "new")
    assert report.read_text() == "previous" and os.listdir(tmp_path) == ["report.json"]


def test_pieces_whose_maker_fails_midway_leave_no_partial_file(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("previous")

    def pieces() -> Iterator[bytes]:
        yield b'{"findings": ['
        raise ValueError("a renderer's bug")

    with pytest.raises(ValueError, match="renderer"):
        output.write(report, pieces())
    assert report.read_text() == "previous" and os.listdir(tmp_path) == ["report.json"]


def test_a_planted_symlink_does_not_aim_the_write_elsewhere(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    output.write(link, "report")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "report"


def test_permissions_of_an_existing_report_and_of_a_snapshot(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    output.write(report, "new")
    assert report.stat().st_mode & 0o777 == 0o640
    output.write(report, "newer", mode=0o600)
    assert report.stat().st_mode & 0o777 == 0o600


def test_a_truncated_report_in_a_history_is_skipped_by_the_site(
        run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    good = history / "2026-12-01.json"
    run_cli("audit", "--config", str(example_copy), "--live",
            str(example_copy / "live-snapshot.json"), "--output", str(good))
    text = good.read_text()
    (history / "2026-12-02.json").write_text(text[: len(text) // 2])  # killed mid-write
    result = run_cli("site", "build", "--config", str(example_copy), "--report",
                     str(history), "--output", str(tmp_path / "site"))
    assert result.exit_code == 0, result.stderr
    assert "warning: skipped" in result.stderr and "2026-12-02.json" in result.stderr
    assert "1 reports" in result.stdout
    # Named on its own, a bad report is still an error.
    alone = run_cli("site", "build", "--config", str(example_copy), "--report",
                    str(history / "2026-12-02.json"), "--output", str(tmp_path / "site2"))
    assert alone.exit_code == 2 and "2026-12-02.json" in alone.stderr


def test_terraform_files_kubeconfigs_and_a_sites_own_reports_are_not_replaced(
        run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    module = example_copy / "modules" / "db" / "main.tf"  # a module the run may read
    module.parent.mkdir(parents=True)
    module.write_text("# module\n")
    result = run_cli("scan", "--config", str(example_copy), "--output", str(module))
    _one_line_refusal(result, "a Terraform file by its name")
    assert module.read_text() == "# module\n"
    kubeconfig = example_copy / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    config = example_copy / "auditor.yaml"
    config.write_text(config.read_text().replace(
        "kubernetes: {context: chess-ai-prod}",
        "kubernetes: {context: chess-ai-prod, kubeconfig: kubeconfig}"))
    _one_line_refusal(run_cli("snapshot", "--config", str(example_copy), "--output",
                              str(kubeconfig)), "which this run reads")
    assert kubeconfig.read_text() == "apiVersion: v1\n"
    site = tmp_path / "site"
    (site / "history").mkdir(parents=True)
    report = site / "history" / "1.json"
    run_cli("audit", "--config", str(example_copy), "--live",
            str(example_copy / "live-snapshot.json"), "--output", str(report))
    result = run_cli("site", "build", "--config", str(example_copy), "--report",
                     str(site / "history"), "--output", str(site))
    assert result.exit_code == 2 and "holds the report" in result.stderr
    assert report.exists()
