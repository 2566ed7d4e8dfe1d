"""Inline suppressions (``# auditor:ignore POLICY -- reason``) in values files, manifests and
Terraform: they count like waivers, in every format; stale, expired and malformed ones are
reported at their line."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor import suppressions
from auditor.cli import cli
from tests.conftest import EXAMPLE

NOW = "2026-12-01T00:00:00Z"
KNOWN = ["image-pinned", "cpu-limits", "memory-limits", "rds-backups"]


def _inline(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's waiver states of inline suppressions."""
    return [w for w in report["waivers"] if w["owner"] == "inline comment"]


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root)
    return root


def _edit(path: Path, line: int, new: str) -> None:
    """Replace line ``line`` (1-based) with ``new`` (which may hold several lines)."""
    lines = path.read_text().splitlines()
    lines[line - 1] = new
    path.write_text("\n".join(lines) + "\n")


def _scan(root: Path, *args: str, fmt: str = "json") -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["scan", "--config", str(root), "--format", fmt,
                                      "--now", NOW, "--fail-on", "high", *args])
    return result.exit_code, json.loads(result.output) if fmt == "json" else result.output


def _find(report: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["policy"] == policy]


def _suppress(root: Path, report: dict[str, Any], policy: str, comment: str) -> None:
    """``comment`` at the end of the line where ``report``'s first finding of ``policy``
    points."""
    found = _find(report, policy)[0]
    path = root / found["location"]["file"]
    line = found["location"]["line"]
    _edit(path, line, path.read_text().splitlines()[line - 1] + "  " + comment)


@pytest.mark.parametrize("text", [
    "# auditor:ignore image-pinned -- the sidecar is pinned by the release job",
    "// auditor:ignore image-*,cpu-limits until 2027-01-31 -- moving to digests",
    "  key: 1  # auditor:ignore image-pinned -- a reason with -- dashes",
])
def test_a_well_formed_comment_parses(text: str) -> None:
    found, bad = suppressions.parse(text + "\n", "f.yaml", KNOWN)
    assert bad == [] and len(found) == 1
    s = found[0]
    assert s.line == 1 and s.reason and s.policies[0].startswith("image-")
    assert s.alone == (not text.startswith("  key"))


@pytest.mark.parametrize(("text", "why"), [
    ("# auditor:ignore image-pinned", "a reason is required"),
    ("# auditor:ignore image-pinned --", "a reason is required"),
    ("# auditor:ignore image-pined -- typo", "no policy 'image-pined'"),
    ("# auditor:ignore image-pinned until 2027-02-30 -- x", "is not a date"),
    ("# auditor:ignore -- no policy", "a reason is required"),
])
def test_a_malformed_comment_is_reported_at_its_line(text: str, why: str) -> None:
    found, bad = suppressions.parse("a: 1\n" + text + "\n", "f.yaml", KNOWN)
    assert found == [] and len(bad) == 1
    assert bad[0].line == 2 and why in bad[0].why


@pytest.mark.parametrize(("line", "found"), [
    ('name: "x#auditor:ignore image-pinned -- no"', 0),
    ("url: a#auditor:ignore", 0),
    ('name: "x # auditor:ignore image-pinned -- inside a string"', 0),
    ("q: 'a '' # auditor:ignore image-pinned -- still inside'", 0),
    ('v = "a \\" # auditor:ignore image-pinned -- an escaped quote"', 0),
    ('name: "x # y"  # auditor:ignore image-pinned -- after the string', 1),
    ("msg: it's fine  # auditor:ignore image-pinned -- an apostrophe opens nothing", 1),
    ('v = "a" // auditor:ignore image-pinned -- HCL', 1),
    ("url: http://x.example/a  # auditor:ignore image-pinned -- a URL before", 1),
])
def test_only_a_real_comment_counts(line: str, found: int) -> None:
    parsed, bad = suppressions.parse(line + "\n", "f.yaml", KNOWN)
    assert (len(parsed), bad) == (found, [])


def test_a_comment_on_the_line_or_above_waives_the_finding_in_every_format(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    values = root / "helm" / "values-prod.yaml"
    _, before = _scan(root)
    (pinned,) = _find(before, "image-pinned")
    assert pinned["location"]["file"] == "helm/values-prod.yaml"
    image_line = pinned["location"]["line"]
    original = values.read_text().splitlines()[image_line - 1]
    indent = original[:len(original) - len(original.lstrip())]
    _edit(values, image_line, f"{indent}# auditor:ignore image-pinned -- pinned by the "
          f"release job\n{original}")
    _, report = _scan(root)
    (pinned,) = _find(report, "image-pinned")
    assert pinned["waived"] == {"reason": "pinned by the release job", "owner": "inline comment",
                                "expires": None, "file": "helm/values-prod.yaml",
                                "line": image_line, "inline": True}
    assert report["summary"]["waived"] == before["summary"]["waived"] + 1
    states = _inline(report)
    assert [(w["state"], w["matched"]) for w in states] == [("active", 1)]
    for fmt, expected in (("table", f"inline at helm/values-prod.yaml:{image_line}"),
                          ("markdown", "pinned by the release job"),
                          ("sarif", '"inSource"'),
                          ("junit", "pinned by the release job")):
        _, text = _scan(root, fmt=fmt)
        assert expected in text, fmt


def test_a_trailing_comment_covers_its_own_line_only(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _, before = _scan(root)
    (cpu,) = _find(before, "cpu-limits")
    _suppress(root, before, "cpu-limits", "# auditor:ignore cpu-limits -- the sidecar is tiny")
    _, report = _scan(root)
    assert _find(report, "cpu-limits")[0]["waived"]["line"] == cpu["location"]["line"]
    assert _find(report, "memory-limits")[0]["waived"] is None  # same line, not named


def test_terraform_comments_count_too(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _, before = _scan(root)
    assert _find(before, "rds-backups")[0]["location"]["file"].endswith(".tf")
    _suppress(root, before, "rds-backups",
              "// auditor:ignore rds-backups -- AWS Backup keeps 35 days")
    _, report = _scan(root)
    assert _find(report, "rds-backups")[0]["waived"]["reason"] == "AWS Backup keeps 35 days"


def test_a_comment_that_matches_nothing_is_stale_and_an_expired_one_reported(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    values = root / "helm" / "values-prod.yaml"
    _edit(values, 1, values.read_text().splitlines()[0]
          + "  # auditor:ignore image-pinned -- nothing here")
    _, report = _scan(root)
    (stale,) = [f for f in _find(report, "waiver-stale") if "inline" in f["title"].lower()]
    assert stale["location"] == {"file": "helm/values-prod.yaml", "line": 1, "key": None,
                                 "related": []}
    _, before = _scan(_project(tmp_path / "b"))  # the same files, without the comment
    _suppress(root, before, "image-pinned",
              "# auditor:ignore image-pinned until 2026-11-30 -- temporary")
    _, report = _scan(root)
    assert _find(report, "image-pinned")[0]["waived"] is None  # expired: not applied
    expired = _find(report, "waiver-expired")
    assert expired and "expired on 2026-11-30" in expired[0]["message"]


def test_a_malformed_comment_is_an_error_finding_and_the_rest_still_reports(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    values = root / "helm" / "values-prod.yaml"
    _edit(values, 1, values.read_text().splitlines()[0] + "  # auditor:ignore image-pinned")
    code, report = _scan(root, "--fail-on", "never")
    assert code == 3
    (bad,) = [f for f in _find(report, "input-error") if f["location"]["line"] == 1]
    assert bad["status"] == "error" and "a reason is required" in bad["message"]
    assert bad["message"].startswith("helm/values-prod.yaml:1: ")
    assert _find(report, "image-pinned")  # the other findings are all there


def test_the_live_twin_of_a_suppressed_finding_is_waived_too(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = CliRunner().invoke(cli, ["audit", "--config", str(root), "--live",
                                      str(root / "live-snapshot.json"), "--format", "json",
                                      "--fail-on", "never"])
    report = json.loads(result.output)
    twins = [f for f in _find(report, "image-pinned")]
    declared = [f for f in twins if f["side"] == "declared"]
    live = [f for f in twins if f["side"] == "live" and f["fingerprint"] in
            {d["fingerprint"] for d in declared}]
    if not live:
        pytest.skip("the example's snapshot has no live twin of image-pinned")
    line = declared[0]["location"]["line"]
    values = root / declared[0]["location"]["file"]
    text = values.read_text().splitlines()[line - 1]
    _edit(values, line, f"{text}  # auditor:ignore image-pinned -- pinned by the release job")
    result = CliRunner().invoke(cli, ["audit", "--config", str(root), "--live",
                                      str(root / "live-snapshot.json"), "--format", "json",
                                      "--fail-on", "never"])
    report = json.loads(result.output)
    fingerprint = declared[0]["fingerprint"]
    assert all(f["waived"] is not None for f in _find(report, "image-pinned")
               if f["fingerprint"] == fingerprint)


def test_the_site_shows_an_inline_waiver_with_its_place(tmp_path: Path) -> None:
    from auditor.models import Waived

    waived = Waived(reason="r", owner="inline comment", expires=None, file="v.yaml", line=3,
                    inline=True)
    assert waived.summary() == "waived inline at v.yaml:3: r"
    dated = waived.model_copy(update={"expires": date(2027, 1, 31)})
    assert dated.summary() == "waived until 2027-01-31 inline at v.yaml:3: r"
    # A waiver file's owner that happens to read "inline comment" is still the file's.
    assert waived.model_copy(update={"inline": False}).summary() == (
        "waived by inline comment: r")


def test_a_comment_in_a_file_outside_the_project_is_not_read(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".git").mkdir()  # the project's root: the clone
    _, before = _scan(root)
    (pinned,) = _find(before, "image-pinned")
    values = root / pinned["location"]["file"]
    line = pinned["location"]["line"]
    outside = tmp_path / "elsewhere.yaml"
    text = values.read_text().splitlines()
    text[line - 1] += "  # auditor:ignore image-pinned -- planted from outside"
    outside.write_text("\n".join(text) + "\n")
    values.unlink()
    values.symlink_to(outside)  # the values file now leads out of the project
    _, report = _scan(root, "--fail-on", "never")
    assert not any(f["waived"] for f in _find(report, "image-pinned"))
    assert not _inline(report)


def test_a_long_run_of_blanks_parses_in_one_pass() -> None:
    # A lazy reason before trailing blanks backtracked quadratically (a 200 KB line: minutes).
    line = "# auditor:ignore image-pinned -- a reason" + " " * 200_000 + "x" + " " * 200_000
    (found,), bad = suppressions.parse(line + "\n", "f.yaml", KNOWN)
    assert bad == [] and found.reason.startswith("a reason") and found.reason.endswith("x")


def _two_environments(tmp_path: Path) -> Path:
    root = _project(tmp_path)
    config = root / "auditor.yaml"
    text = config.read_text()
    config.write_text(text + "  staging:\n    helm:\n      chart: helm/chess-ai\n"
                      "      release: chess-ai\n      values: [helm/values-prod.yaml]\n")
    return root


def test_a_comment_is_not_stale_while_an_environment_reading_its_file_was_left_out(
        tmp_path: Path) -> None:
    root = _two_environments(tmp_path)
    _, before = _scan(root)
    _suppress(root, before, "image-pinned",
              "# auditor:ignore hpa-present -- nothing to cover in prod")
    _, only_prod = _scan(root, "--env", "prod")
    (state,) = _inline(only_prod)
    assert state["state"] == "active" and state["environments"] == ["prod", "staging"]
    _, both = _scan(root)
    (state,) = _inline(both)
    assert state["state"] == "stale"  # every reader checked, nothing covered


def test_a_comment_naming_a_policy_this_run_did_not_check_is_not_stale(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    _, before = _scan(root)
    _suppress(root, before, "image-pinned",
              "# auditor:ignore hpa-drift,image-pinned -- drift is for the audit")
    # A drift policy is not checked by `scan`; image-pinned is deselected here.
    _, report = _scan(root, "--policy", "cpu-limits")
    (state,) = _inline(report)
    assert state["state"] == "active"
    _, scanned = _scan(root)
    (state,) = _inline(scanned)
    assert state["state"] == "active" and state["matched"] == 1  # image-pinned covered


def test_a_comment_beside_a_finding_the_waiver_file_covers_is_not_stale(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    _, before = _scan(root)
    (pinned,) = _find(before, "image-pinned")
    (root / ".auditor-waivers.yaml").write_text(
        "waivers:\n  - policy: image-pinned\n    resource: Deployment/*\n"
        "    environments: ['*']\n    reason: the file's\n    owner: team\n"
        "    expires: 2027-01-31\n")
    _suppress(root, before, "image-pinned", "# auditor:ignore image-pinned -- the comment's")
    _, report = _scan(root)
    (pinned,) = _find(report, "image-pinned")
    assert pinned["waived"]["reason"] == "the file's"  # the waiver file comes first
    (state,) = _inline(report)
    assert state["state"] == "active" and state["matched"] == 1


def test_a_malformed_comment_does_not_make_its_environment_unreadable(tmp_path: Path) -> None:
    from auditor.models import Report

    root = _project(tmp_path)
    values = root / "helm" / "values-prod.yaml"
    _edit(values, 1, values.read_text().splitlines()[0] + "  # auditor:ignore image-pinned")
    _, report = _scan(root, "--fail-on", "never")
    assert Report.model_validate(report).unreadable() == set()


def test_a_warm_run_reads_no_file_again_and_still_sees_a_new_comment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import cache

    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    reads: list[str] = []
    real = suppressions._read

    def spy(path: str, info: os.stat_result) -> str | None:
        reads.append(path)
        return real(path, info)

    monkeypatch.setattr(suppressions, "_read", spy)
    root = _project(tmp_path)
    _, before = _scan(root)
    assert reads  # the first run looks at every file
    (entry,) = (tmp_path / "cache" / "suppressions").glob("*/*.json")
    index = json.loads(entry.read_text())
    # As if those files had been looked at well after their last change (written just now,
    # they could change again within the clock's tick, so a run would read them again).
    entry.write_text(json.dumps({**index, "taken": index["taken"] + 10**10}))
    reads.clear()
    _, again = _scan(root)
    assert reads == [] and again["waivers"] == before["waivers"]
    _suppress(root, before, "image-pinned", "# auditor:ignore image-pinned -- added later")
    _, after = _scan(root)
    assert [Path(p).name for p in reads] == ["values-prod.yaml"]
    assert _find(after, "image-pinned")[0]["waived"]["reason"] == "added later"
