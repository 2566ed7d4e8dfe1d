"""``auditor policies list``: filters by severity, side and kind, and JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import cli
from auditor.policies import PACK_DIR, load_all


def _list(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["policies", "list", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.output)
    return listed


def test_json_lists_every_policy_with_what_a_script_needs() -> None:
    listed = _list()
    pack = load_all([])
    assert [p["id"] for p in listed] == [p.id for p in pack]
    image = next(p for p in listed if p["id"] == "image-pinned")
    assert image["severity"] == "medium" and image["source"] == "built-in"
    assert "Deployment" in image["kinds"]  # type: ignore[operator]
    assert "moving_tag_pattern" in image["parameters"]  # type: ignore[operator]
    assert image["runbook"]["anchor"].startswith("common-issues/")  # type: ignore[index]


def test_filters_combine_and_each_repeats() -> None:
    critical = _list("--severity", "critical")
    assert critical and {p["severity"] for p in critical} == {"critical"}
    both = _list("--severity", "critical", "--severity", "high")
    assert {p["severity"] for p in both} == {"critical", "high"} and len(both) > len(critical)
    drift = _list("--side", "drift")
    assert drift and all("drift" in p["sides"] for p in drift)  # type: ignore[operator]
    db = _list("--kind", "dbinstance", "--side", "live")
    assert db and all("DBInstance" in p["kinds"] and "live" in p["sides"]  # type: ignore[operator]
                      for p in db)
    assert _list("--kind", "NoSuchKind") == []


def test_a_team_policy_is_listed_with_its_file(tmp_path: Path) -> None:
    text = (PACK_DIR / "image-pinned.yaml").read_text()
    team = tmp_path / "team-image-pinned.yaml"
    team.write_text(text.replace("id: image-pinned", "id: team-image-pinned", 1))
    listed = _list("--policies", str(tmp_path), "--severity", "medium")
    mine = next(p for p in listed if p["id"] == "team-image-pinned")
    assert mine["source"] == str(team)
    assert all(p["source"] == "built-in" for p in listed if p["id"] != "team-image-pinned")


def test_the_table_is_filtered_the_same_way() -> None:
    result = CliRunner().invoke(cli, ["policies", "list", "--severity", "critical"])
    ids = [line.split()[0] for line in result.output.splitlines()]
    assert ids == [p["id"] for p in _list("--severity", "critical")]
