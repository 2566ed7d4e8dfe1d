"""Mistakes in auditor.yaml are config errors (exit 2) at their key and line, every one of
them at once: a path that is not there, every unknown key; one problem is said once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.config import load
from auditor.errors import ConfigError
from tests.conftest import EXAMPLE


def _project(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root)
    (root / "auditor.yaml").write_text(config)
    return root


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _scan(root: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", "--config", str(root), "--format", "json",
                                      "--now", "2026-12-01T00:00:00Z", *extra])
    return result.exit_code, result.output


BROKEN_PATHS = """\
service: shop
environments:
  prod:
    helm:
      chart: helm/no-such-chart
      release: shop
      values:
        - helm/values-prod.yaml
        - helm/values-typo.yaml
    terraform:
      dirs: [infrastructure, infra/missing]
      var_files: [infrastructure/nope.tfvars]
    manifests: [k8s/absent]
  staging:
    helm: {chart: helm/chess-ai, release: shop}
"""


def test_every_path_that_is_not_there_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    root = _project(tmp_path, BROKEN_PATHS)
    code, output = _scan(root)
    assert code == 2
    lines = [line for line in output.splitlines() if line.startswith("error: ")]
    expected = [
        ("chart: helm/no-such-chart", "environments.prod.helm.chart", "helm/no-such-chart"),
        ("- helm/values-typo.yaml", "environments.prod.helm.values.1", "helm/values-typo.yaml"),
        ("dirs: [infrastructure", "environments.prod.terraform.dirs.1", "infra/missing"),
        ("var_files:", "environments.prod.terraform.var_files.0", "infrastructure/nope.tfvars"),
        ("manifests: [k8s/absent]", "environments.prod.manifests.0", "k8s/absent"),
    ]
    assert len(lines) == len(expected), output
    for line, (needle, key, path) in zip(lines, expected, strict=True):
        assert f"auditor.yaml:{_line(BROKEN_PATHS, needle)}: {key}: " in line
        assert path in line and "does not exist" in line
    assert "Traceback" not in output


def test_a_path_that_is_there_but_is_not_a_chart_stays_an_input_problem(
        tmp_path: Path) -> None:
    root = _project(tmp_path, BROKEN_PATHS.replace("helm/no-such-chart", "infrastructure")
                    .replace("        - helm/values-typo.yaml\n", "")
                    .replace(", infra/missing", "")
                    .replace("[infrastructure/nope.tfvars]", "[]")
                    .replace("    manifests: [k8s/absent]\n", ""))
    code, output = _scan(root, "--fail-on", "never")
    assert code == 3  # read, and found not to be a chart: the audit ran, incomplete
    report = json.loads(output)
    assert any("no Chart.yaml" in f["message"] for f in report["findings"])


def _load_errors(tmp_path: Path, text: str) -> list[str]:
    """The error lines of loading ``text`` as auditor.yaml, each from the file's name on."""
    (tmp_path / "auditor.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load(str(tmp_path))
    return [line.split("/")[-1] for line in err.value.format_message().splitlines()]


def test_every_unknown_key_is_listed_not_the_first_and_a_count(tmp_path: Path) -> None:
    text = ("service: shop\nenvironments:\n  prod:\n    helm:\n      chart: helm/chess-ai\n"
            "      relase: shop\n      valuez: [a.yaml]\n    terrafrom: {dirs: [tf]}\n")
    lines = _load_errors(tmp_path, text)
    assert lines == [
        "auditor.yaml:6: environments.prod.helm.relase: unknown key",
        "auditor.yaml:7: environments.prod.helm.valuez: unknown key",
        "auditor.yaml:8: environments.prod.terrafrom: unknown key",
    ]
    # The misspelt "release" is also "missing": the same mistake, not said twice.
    assert not any("Field required" in line for line in lines)


def test_a_missing_required_key_with_no_typo_beside_it_is_still_said(tmp_path: Path) -> None:
    text = ("service: shop\nenvironments:\n  prod:\n    helm:\n      chart: helm/chess-ai\n"
            "  staging:\n    helm: {chart: c, release: r, colour: blue}\n")
    lines = _load_errors(tmp_path, text)
    assert lines == ["auditor.yaml:4: environments.prod.helm.release: Field required",
                     "auditor.yaml:7: environments.staging.helm.colour: unknown key"]


def test_a_broken_values_file_listed_twice_is_reported_once(tmp_path: Path) -> None:
    root = _project(tmp_path, "service: shop\nenvironments:\n  prod:\n    helm:\n"
                    "      chart: helm/chess-ai\n      release: shop\n"
                    "      values: [broken.yaml, broken.yaml]\n")
    (root / "broken.yaml").write_text("replicas: [1\n")
    code, output = _scan(root)
    assert code == 3
    broken = [f for f in json.loads(output)["findings"]
              if f["policy"] == "input-error" and f["resource"]["name"] == "broken.yaml"]
    assert len(broken) == 1, broken


def test_each_config_error_line_is_shown_safely(tmp_path: Path) -> None:
    root = _project(tmp_path, BROKEN_PATHS.replace("helm/no-such-chart",
                                                   "'helm/\\e[2Jno-such'"))
    code, output = _scan(root)
    assert code == 2 and "\x1b" not in output
    assert all(line.startswith("error: ") for line in output.splitlines() if line)


def test_only_the_environments_of_this_run_are_checked_and_a_plan_may_come_later(
        tmp_path: Path) -> None:
    root = _project(tmp_path, "service: shop\nenvironments:\n  prod:\n"
                    "    helm: {chart: helm/chess-ai, release: shop}\n"
                    "  dev:\n    helm: {chart: helm/typo, release: shop}\n"
                    "  plan:\n    terraform: {dirs: [infrastructure], "
                    "plan: infrastructure/plan.json}\n")
    code, output = _scan(root, "--env", "prod", "--fail-on", "never")
    assert code == 0, output
    code, output = _scan(root, "--env", "plan", "--fail-on", "never")
    assert code == 3 and "plan file not found" in output  # that environment's own error
    code, output = _scan(root)
    assert code == 2 and "environments.dev.helm.chart: chart directory helm/typo" in output


def test_a_link_to_nothing_is_said_as_such(tmp_path: Path) -> None:
    root = _project(tmp_path, "service: shop\nenvironments:\n  prod:\n"
                    "    helm: {chart: helm/chess-ai, release: shop, values: [gone.yaml]}\n")
    (root / "gone.yaml").symlink_to(root / "nowhere.yaml")
    code, output = _scan(root)
    assert code == 2 and "values file gone.yaml is a link to nothing" in output
