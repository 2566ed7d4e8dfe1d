"""`auditor audit --section`: one runbook section's policies, kinds and commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import config as config_mod
from auditor import policies, triage
from auditor.cli import cli
from auditor.errors import ConfigError
from auditor.runbook_sections import parse
from tests.conftest import EXAMPLE

SNAPSHOT = EXAMPLE / "live-snapshot.json"


@pytest.fixture(scope="module")
def pack() -> list[policies.Policy]:
    return policies.load_checked([])


@pytest.mark.parametrize("named", [
    "scale-up-pods", "#scale-up-pods", "common-issues/high-latency/#scale-up-pods",
    "Scale Up Pods", "1. scale up pods", "2. High Latency > 1. Scale Up Pods"])
def test_a_section_is_found_by_anchor_or_title(named: str,
                                               pack: list[policies.Policy]) -> None:
    found = triage.resolve(config_mod.load(str(EXAMPLE)), pack, named)
    assert found.section.ref == "common-issues/high-latency/#scale-up-pods"
    assert "hpa-drift" in found.policies and "helm-drift" not in found.policies
    assert found.kinds is not None and {"HorizontalPodAutoscaler", "Deployment"} <= found.kinds
    assert "ConfigMap" not in found.kinds
    # Its own commands first, then its page's Diagnosis.
    assert found.commands[0].startswith("kubectl scale deployment/")
    assert any(c.startswith("kubectl top pods") for c in found.commands)


def test_a_page_section_guards_every_policy_of_its_subsections(
        pack: list[policies.Policy]) -> None:
    page = triage.resolve(config_mod.load(str(EXAMPLE)), pack, "2. High Latency")
    one = triage.resolve(config_mod.load(str(EXAMPLE)), pack, "scale-up-pods")
    assert set(one.policies) < set(page.policies)


@pytest.mark.parametrize(("named", "says"), [
    ("no-such-section", "no runbook section has that anchor or title"),
    ("latency", "did you mean"),
    ("Diagnosis", "several sections match"),
])
def test_a_section_that_is_not_one_is_a_config_error(named: str, says: str,
                                                      pack: list[policies.Policy]) -> None:
    with pytest.raises(ConfigError, match=says):
        triage.resolve(config_mod.load(str(EXAMPLE)), pack, named)


def test_names_fill_commands_as_shell_words_and_pages_are_not_run_as_templates() -> None:
    names = {"namespace": "shop; rm -rf /", "deployment": "web"}
    assert triage.fill("kubectl get pods -n {{ names.namespace }} {{names.deployment}}",
                       names) == "kubectl get pods -n 'shop; rm -rf /' web"
    assert triage.fill("echo {{ names.release }} {{ 7 * 7 }} {{ names.__class__ }}",
                       names) == "echo <release> {{ 7 * 7 }} <__class__>"


def test_sections_keep_their_code_lines_with_continuations_joined() -> None:
    text = ("# 9. Page\n\n## Fix it { #fix-it }\n\n```bash\n# a comment\naws rds modify \\\n"
            "  --x 1\n```\n\n### Deeper\n\n~~~\nkubectl get pods\n~~~\n")
    page, fix, deeper = parse("p", text)
    assert (page.level, fix.anchor, fix.label) == (1, "fix-it", "9. Page > Fix it")
    assert fix.commands == ("aws rds modify --x 1",) and deeper.commands == ("kubectl get pods",)


def test_the_cli_prints_the_sections_findings_then_its_commands() -> None:
    result = CliRunner().invoke(cli, [
        "audit", "--config", str(EXAMPLE), "--live", str(SNAPSHOT), "--section",
        "scale-up-pods", "--format", "table", "--no-color"])
    assert result.exit_code in (0, 1), result.output
    out = result.stdout
    assert "Policies: " in out and "(--section common-issues/high-latency/#scale-up-pods)" in out
    assert "hpa-drift" in out and "helm-drift" not in out
    commands = out.split("Commands of 2. High Latency > 1. Scale Up Pods", 1)[1]
    assert "kubectl patch hpa chess-ai -n chess-ai -p" in commands  # the real names
    assert "{{" not in commands


def test_json_stays_json_and_the_commands_go_to_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [
        "audit", "--config", str(EXAMPLE), "--live", str(SNAPSHOT), "--section",
        "scale-up-pods", "--format", "json"])
    report = json.loads(result.stdout)
    assert report["selection"]["section"] == "common-issues/high-latency/#scale-up-pods"
    assert "Commands of" in result.stderr


def test_section_and_policy_together_are_refused() -> None:
    result = CliRunner().invoke(cli, [
        "audit", "--config", str(EXAMPLE), "--live", str(SNAPSHOT), "--section",
        "scale-up-pods", "--policy", "hpa-drift"])
    assert result.exit_code == 2 and "give --section or --policy" in result.stderr


@pytest.fixture
def one_section(tmp_path: Path) -> config_mod.Config:
    """The example with a runbook of one page, index.md, whose one section claims
    hpa-drift: every other policy is on the generated ``checks`` page."""
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(EXAMPLE, proj)
    shutil.rmtree(proj / "site")
    (proj / "site").mkdir()
    (proj / "site" / "index.md").write_text("# Our runbook\n\n## Scaling { #scaling }\n\n"
                                            '{{ findings("scaling", "hpa-drift") }}\n')
    return config_mod.load(str(proj))


def test_a_policy_no_section_claims_is_triaged_by_its_generated_section(
        one_section: config_mod.Config, pack: list[policies.Policy]) -> None:
    config = one_section
    own = triage.resolve(config, pack, "scaling")
    assert own.policies == ("hpa-drift",)
    unclaimed = triage.resolve(config, pack, "checks/#memory-limits")
    assert unclaimed.policies == ("memory-limits",) and unclaimed.commands == ()
    assert unclaimed.kinds is not None and "Deployment" in unclaimed.kinds


def test_names_are_quoted_for_where_they_stand_in_the_command() -> None:
    import shlex

    names = {"n": "a;id;'x", "e": 'x$(id)"`y`'}
    single = triage.fill("""kubectl patch x -p '{"a":"{{ names.n }}"}'""", names)
    assert shlex.split(single)[-1] == """{"a":"a;id;'x"}"""  # one word, the name as data
    # Inside the runbook's double quotes, as sh reads it (shlex does not unescape $ there).
    double = triage.fill("""printf '%s' "A=='{{ names.e }}'" """, names)
    shown = subprocess.run(["sh", "-c", double], capture_output=True, text=True, check=True)
    assert shown.stdout == """A=='x$(id)"`y`'"""  # nothing ran: the name is data
    bare = triage.fill("echo {{ names.e }} {{ names.n }}", names)
    assert shlex.split(bare) == ["echo", 'x$(id)"`y`', "a;id;'x"]


def test_a_section_of_the_root_page_resolves_as_the_site_prints_it(
        one_section: config_mod.Config, pack: list[policies.Policy]) -> None:
    config = one_section
    assert triage.resolve(config, pack, "/#scaling").policies == ("hpa-drift",)
