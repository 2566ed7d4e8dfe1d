"""The real runbook (site/) built from the example's real report: every page renders,
every anchor resolves, and a section shows its finding with the filled command."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, REPO, CliResult

pytestmark = pytest.mark.skipif(not (REPO / "site" / "index.md").is_file(),
                                reason="the runbook source site/ is not written yet")

Run = Callable[..., CliResult]


def test_the_example_site_builds_from_its_audit(run_cli: Run, tmp_path: Path) -> None:
    audit = run_cli("audit", "--config", str(EXAMPLE), "--live",
                    str(EXAMPLE / "live-snapshot.json"), "--format", "json")
    assert audit.exit_code == 1, audit.stderr  # the example fails its gate on purpose
    report_file = tmp_path / "report.json"
    report_file.write_text(audit.stdout, encoding="utf-8")
    out = tmp_path / "site"
    result = run_cli("site", "build", "--config", str(EXAMPLE), "--report", str(report_file),
                     "--output", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads(audit.stdout)
    # every finding's runbook link is a heading of the built site
    for f in report["findings"]:
        if f["runbook"]:
            page, _, heading = f["runbook"].partition("/#")
            assert f'id="{heading}"' in (out / page / "index.html").read_text("utf-8"), f
    # a section shows its failing finding, with the command filled with real names
    f = next(f for f in report["findings"]
             if f["status"] == "fail" and f["remediation"]["commands"] and f["runbook"])
    page = (out / f["runbook"].partition("/#")[0] / "index.html").read_text("utf-8")
    assert "admonition" in page
    command = f["remediation"]["commands"][0].split()[0]
    assert command in re.sub(r"<[^>]+>", "", page)
    assert "chess-ai" in (out / "dashboard" / "index.html").read_text("utf-8")
    assert (out / "history" / "index.html").is_file()
    assert (out / "policies" / "index.html").is_file()


def test_without_config_or_report_the_runbook_from_the_pack_builds(
        run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./auditor.yaml here: no service, no team runbook
    result = run_cli("site", "build")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "build" / "site"  # the default output, relative to the cwd
    assert "build/site" in result.stdout
    text = re.sub(r"<[^>]+>", "", (out / "common-issues" / "high-error-rate" / "index.html")
                  .read_text("utf-8"))
    assert "Out of Memory (OOM)" in text and "memory-limits" in text
    assert "chess" not in text.lower() and "admonition" not in text
