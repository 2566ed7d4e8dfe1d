"""`auditor policies show`: YAML conditions, a parameter table, templates rendered with the
defaults and placeholders, and nothing from a policy file sent to the terminal raw."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import policies
from auditor.policy_show import FALLBACK, render, show
from tests.conftest import CliResult

Run = Callable[..., CliResult]
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]")  # a newline is ours


def _section(text: str, start: str, end: str) -> list[str]:
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i in range(first + 1, len(lines)) if lines[i].startswith(end))
    return lines[first + 1:last]


def _row(text: str, name: str) -> list[str]:
    """The cells of a parameter's first table line."""
    rows = [line for line in _section(text, "Parameters", "Rendered")
            if line.split()[:1] == [name]]
    assert len(rows) == 1, text
    return rows[0].split(maxsplit=3)


def _plain_checks(text: str) -> None:
    assert "None" not in text
    assert "where=" not in text and "kinds=[" not in text
    assert not CONTROL.search(text)
    for line in _section(text, "Rendered with", "Examples"):
        if "{{" in line or "{%" in line:  # a template's source: only where marked
            assert line.lstrip().startswith(FALLBACK), line


def test_condition_policy(run_cli: Run) -> None:
    result = run_cli("policies", "show", "image-pinned")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    _plain_checks(text)
    policy = {p.id: p for p in policies.load_all([])}["image-pinned"]
    assert text.startswith(f"image-pinned: {policy.title}\n")
    assert "  severity  medium\n" in text and "  sides     declared, live\n" in text
    assert policy.runbook.section in text and policy.runbook.anchor in text
    applies = _section(text, "Applies to:", "Condition")
    assert "  kinds: Deployment, StatefulSet, DaemonSet, Job, CronJob" in applies
    assert "  each:  containers" in applies
    assert not any("where" in line for line in applies)  # absent: not shown at all
    # The condition as YAML, in the file's key order, that reads back as the same condition.
    condition = [line for line in _section(text, "Condition", "Parameters")
                 if line and not line.startswith("  findings point at")]
    assert condition[:2] == ["  any:", "  - matches: [image, '^(?:[^@]*/)?[^/:@]+:?$']"]
    assert yaml.safe_load("\n".join(condition)) == policy.condition
    # A table row: the whole default (a long regex), then no fact and the description.
    assert _row(text, "moving_tag_pattern") == [
        "moving_tag_pattern", policy.parameters["moving_tag_pattern"].default]
    table = _section(text, "Parameters", "Rendered")
    after = table[table.index(next(r for r in table if "moving_tag_pattern" in r)) + 1]
    assert after.split(maxsplit=1)[0] == "-" and " An image (RE2) whose tag" in after
    assert "params:" in text
    # Rendered as a scan renders a failing finding, with placeholders for the scan's names.
    message = " ".join(_section(text, "Message", "Remediation:"))
    assert "container <container> of <kind> <name> runs image <item.image>" in message
    commands = _section(text, "Commands", "Checks")
    assert "  $ kubectl set image <kind>/<name> <container>=<item.image>:<version> " \
        "-n <namespace>" in commands
    assert "  $ kubectl get pods -n <namespace> -o jsonpath='{.items[*].spec.containers[*]" \
        ".image}'" in text
    assert "3 pass, 4 fail, 1 unknown, 0 error, 0 not_applicable" in text
    assert "    - registry port is not a tag" in _section(text, "  fail:", "  unknown:")


def test_named_check_policies(run_cli: Run) -> None:
    hpa = run_cli("policies", "show", "hpa-present").stdout
    _plain_checks(hpa)
    condition = _section(hpa, "Condition", "Parameters")
    assert "  check:    hpa_present" in condition
    assert any(line.startswith("  requires: Deployment, StatefulSet, HorizontalPodAutoscaler")
               for line in condition)
    assert any(line.startswith("  partial:  Deployment, StatefulSet") for line in condition)
    assert _row(hpa, "min_replicas")[:3] == ["min_replicas", "2", "-"]
    assert _row(hpa, "singletons")[:3] == ["singletons", "[]", "singletons"]
    assert "minReplicas of at least 2" in " ".join(_section(hpa, "Remediation:", "Examples"))

    db = run_cli("policies", "show", "db-connection-capacity").stdout
    _plain_checks(db)
    assert _row(db, "db_pool_size_key")[:3] == ["db_pool_size_key", "null",
                                                "values_keys.pool_size"]
    assert _row(db, "headroom_percent")[:2] == ["headroom_percent", "20"]
    assert "db_pool_size_key (facts.values_keys.pool_size)" in db  # applies only once set
    # A default of null is a fact of the service: a placeholder, never "None".
    assert "--set <db_pool_size_key>=<fitting_pool> -n <namespace>" in db
    assert "--db-instance-identifier <db-instance-id>" in db  # the engine's own placeholder


def test_every_pack_policy_renders(run_cli: Run) -> None:
    fallbacks: dict[str, list[str]] = {}
    for policy in policies.load_all([]):
        result = run_cli("policies", "show", policy.id)
        assert result.exit_code == 0, (policy.id, result.stderr)
        _plain_checks(result.stdout)
        for entry in render(policy).all():
            if entry.fallback is not None:
                fallbacks.setdefault(policy.id, []).append(entry.field)
                first = entry.source.strip().split("\n")[0]
                assert f"  {FALLBACK} {first}" in result.stdout
            else:
                assert "{{" not in entry.text and "{%" not in entry.text
    print("templates shown as source:", fallbacks)  # seen with pytest -s


def _policy(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "custom", "title": "A custom policy", "severity": "low",
        "description": "Made up for a test.",
        "runbook": {"section": "1. Section", "anchor": "page/#section"},
        "sides": ["declared"],
        "parameters": {"pattern": {"default": "(?i)latest", "description": "A pattern."}},
        "applies_to": {"kinds": ["Deployment", "Ingress"]},
        "condition": {"matches": ["metadata.name", {"param": "pattern"}]},
        "message": "{{ kind }} {{ name }} matches {{ params.pattern }}",
        "remediation": {"text": "Fix {{ name }}.", "commands": [], "checks": []},
        "examples": {"pass": [{"name": "ok", "resources": []}],
                     "fail": [{"name": "bad", "resources": []}]}}
    return {**base, **changes}


def _write(directory: Path, policy: dict[str, Any]) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / f"{policy['id']}.yaml").write_text(
        yaml.safe_dump(policy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return directory


def test_control_sequences_from_a_policy_file_are_shown_escaped(run_cli: Run,
                                                                 tmp_path: Path) -> None:
    evil = _policy(
        id="evil", title="Clear\x1b[2J the screen\rFAKE",
        description="one \x1b[31mred\x1b[0m line\r\n::error ::not a workflow command\n",
        runbook={"section": "S \x1b]0;retitled\x07", "anchor": "page/#s\r"},
        parameters={"pattern": {"default": "(?i)latest\x1b\\[2J\r",
                                "description": "A pattern \x1b[2J here."}},
        applies_to={"kinds": ["Deployment"], "each": "containers",
                    "where": {"exists": "image"}},
        condition={"matches": ["image", {"param": "pattern"}]},
        message="container {{ container }}\x1b[2J runs {{ item.image }} ({{ params.pattern }})",
        remediation={"text": "Fix {{ name }}\r now.",
                     "commands": ["kubectl set image {{ kind | lower }}/{{ name }} "
                                  "{{ container }}={{ item.image }}\x1b[2J"],
                     "checks": ["kubectl get {{ item.replicas > 3 }}"]},
        examples={"pass": [{"name": "ok \x1b[2J", "resources": []}],
                  "fail": [{"name": "bad\r", "resources": []}]})
    directory = _write(tmp_path / "mine", evil)
    result = run_cli("policies", "show", "evil", "--policies", str(directory))
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    _plain_checks(text)
    assert text.startswith("evil: Clear\\x1b[2J the screen\\x0dFAKE\n")
    assert "one \\x1b[31mred\\x1b[0m line\\x0d" in text
    assert "\n::" not in text  # no line a CI runner would read as a command
    assert "S \\x1b]0;retitled\\x07" in text
    _, default, _, description = _row(text, "pattern")
    assert default == "(?i)latest\\x1b\\[2J\\x0d"
    assert "A pattern \\x1b[2J here." in description
    assert "where (else not applicable):" in text and "    exists: image" in text
    assert "runs <item.image>" in text and "\\x1b[2J" in text
    assert "  $ kubectl set image <kind>/<name> <container>=<item.image>" in text
    # A template that compares a placeholder with a number is shown as its source, marked.
    assert f"  {FALLBACK} not rendered: needs a real finding (TypeError" in text
    assert f"  {FALLBACK} kubectl get {{{{ item.replicas > 3 }}}}" in text
    assert "    - ok \\x1b[2J" in text and "    - bad\\x0d" in text
    # The function itself escapes, whoever prints its text.
    (loaded,) = policies.load_dir(directory)
    assert not CONTROL.search(show(loaded))


def test_a_command_for_one_kind_is_rendered_for_that_kind(tmp_path: Path) -> None:
    policy = _policy(remediation={
        "text": "{% if kind == 'Ingress' %}Annotate it.{% endif %}",
        "commands": ["{% if kind == 'Ingress' and annotations_key %}helm upgrade {{ release }} "
                     "{{ chart }} --set {{ annotations_key }}=x{% endif %}",
                     "{% if placeholder_is_never == 'this' %}never{% endif %}"]})
    (loaded,) = policies.load_dir(_write(tmp_path / "mine", policy))
    rendered = render(loaded)
    assert (rendered.text.kind, rendered.text.text) == ("Ingress", "Annotate it.")
    helm, never = rendered.commands
    assert helm.kind == "Ingress" and helm.fallback is None
    assert helm.text == "helm upgrade <release> <chart-dir> --set <annotations_key>=x"
    assert never.fallback is not None and never.fallback.startswith("prints something only")
    text = show(loaded)
    assert "  # for kind Ingress:\n  $ helm upgrade <release> <chart-dir>" in text
    assert f"  {FALLBACK} {{% if placeholder_is_never == 'this' %}}never{{% endif %}}" in text


@pytest.mark.parametrize("policy_id", ["nope", "Image-Pinned"])
def test_unknown_id_is_a_usage_error(run_cli: Run, policy_id: str) -> None:
    assert run_cli("policies", "show", policy_id).exit_code == 2


def test_a_cel_condition_reads_as_written_with_its_related_kinds() -> None:
    from tests.conftest import REPO

    (policy,) = [p for p in policies.load_dir(REPO / "docs" / "cel") if p.id == "pvc-expandable"]
    text = show(policy, 100)
    assert "related (for cel): StorageClass" in text
    assert "  cel: |-\n    object.spec.?storageClassName" in text
    assert '\\"' not in text  # not one escaped string
