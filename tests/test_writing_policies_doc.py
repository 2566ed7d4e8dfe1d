"""docs/writing-policies.md says what the code does: every YAML block in it is checked.

A block is one of (by its first line, else by an ``id:``):

- a complete policy (has ``id:``): written as ``<id>.yaml``, loaded with ``load_dir`` and its
  examples run through the engine; none may misbehave;
- ``# condition``: a condition; it must validate, and each ``# on ITEM: RESULT`` line
  (``# on ITEM with PARAMS: RESULT``) must give that result (pass, fail or unknown);
- ``# fragment`` (``# fragment of PACK-ID``): part of a policy file; each key is checked
  with its own model, and examples given for a pack policy must behave on it;
- ``# auditor.yaml``: a config whose ``params`` must fit the pack and the guide's policies.

Every other kind of block fails the test. The worked example is also run through the CLI as
the guide shows it (validate, scan, and a broken copy), and the guide's own links resolve.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import conditions
from auditor.config import Config
from auditor.examples import _unknowns, inventory, run_examples
from auditor.pipeline import validate_params
from auditor.policies import (
    PACK_DIR,
    AppliesTo,
    Example,
    Examples,
    Parameter,
    Policy,
    load_dir,
    load_file,
)
from auditor.unknown import Unknown
from tests.conftest import REPO, CliResult

GUIDE = REPO / "docs" / "writing-policies.md"
WORKED_EXAMPLE = "cronjob-starting-deadline"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
ON = re.compile(r"^#\s*on\s+(?P<item>.+?)(?:\s+with\s+(?P<params>\{.*\}))?\s*:\s*"
                r"(?P<result>pass|fail|unknown)\b")
GROUPS = ("pass", "fail", "unknown", "error", "not_applicable")


def _blocks(language: str) -> list[tuple[int, str]]:
    """(line, text) of every fenced block of ``language`` in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2))
            for m in FENCE.finditer(text) if m.group(1) == language]


def _kind(text: str) -> str:
    first = text.splitlines()[0].strip() if text.strip() else ""
    if first in ("# condition", "# auditor.yaml") or first.startswith("# fragment"):
        return first.split()[1]
    data = yaml.safe_load(text)
    return "policy" if isinstance(data, dict) and "id" in data else "other"


YAML = _blocks("yaml")
POLICIES = [(line, text) for line, text in YAML if _kind(text) == "policy"]
CONDITIONS = [(line, text) for line, text in YAML if _kind(text) == "condition"]
FRAGMENTS = [(line, text) for line, text in YAML if _kind(text) == "fragment"]
CONFIGS = [(line, text) for line, text in YAML if _kind(text) == "auditor.yaml"]


def _ids(blocks: list[tuple[int, str]]) -> list[str]:
    return [f"line {line}" for line, _ in blocks]


def _write(text: str, directory: Path) -> Path:
    policy_id = yaml.safe_load(text)["id"]
    path = directory / f"{policy_id}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _guide_policies(tmp_path: Path) -> list[Policy]:
    for _, text in POLICIES:
        _write(text, tmp_path)
    return load_dir(tmp_path)


def test_every_yaml_block_is_checked() -> None:
    assert YAML, "the guide shows YAML"
    unchecked = [line for line, text in YAML if _kind(text) == "other"]
    assert not unchecked, (f"YAML blocks at lines {unchecked} are neither a policy, nor marked "
                           "# condition, # fragment or # auditor.yaml: nothing checks them")


@pytest.mark.parametrize(("line", "text"), POLICIES, ids=_ids(POLICIES))
def test_complete_policies_load_and_their_examples_behave(line: int, text: str,
                                                          tmp_path: Path) -> None:
    _write(text, tmp_path)
    loaded = load_dir(tmp_path)  # a broken file raises PolicyError with its line
    assert len(loaded) == 1
    assert run_examples(loaded[0]) == []


def test_guide_policies_are_new_ids(tmp_path: Path) -> None:
    """`scan --policies` refuses an id the pack has: the guide's must not be one."""
    pack = {p.id for p in load_dir(PACK_DIR)}
    assert not {p.id for p in _guide_policies(tmp_path)} & pack


def test_worked_example_is_a_complete_policy_with_every_relevant_group(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## 10. Worked example"):]
    inside = [t for line, t in POLICIES if f"id: {WORKED_EXAMPLE}\n" in t]
    assert len(inside) == 1 and inside[0] in section
    policy = load_file(_write(inside[0], tmp_path))
    groups = policy.examples
    assert groups.passing and groups.failing and groups.unknown and groups.not_applicable
    assert run_examples(policy) == []


@pytest.mark.parametrize(("line", "text"), CONDITIONS, ids=_ids(CONDITIONS))
def test_condition_snippets_validate_and_give_what_they_say(line: int, text: str) -> None:
    condition = yaml.safe_load(text)
    conditions.validate(condition)  # ConditionError names the part
    claims = [m for raw in text.splitlines() if (m := ON.match(raw.strip()))]
    for m in claims:
        item = _unknowns(yaml.safe_load(m["item"]))
        params = yaml.safe_load(m["params"]) if m["params"] else {}
        got = conditions.evaluate(condition, item, params)
        result = "unknown" if isinstance(got, Unknown) else "fail" if got else "pass"
        assert result == m["result"], f"line {line}: on {m['item']}: {result}, not {m['result']}"
    stray = [raw for raw in text.splitlines()
             if raw.strip().startswith("# on") and not ON.match(raw.strip())]
    assert not stray, f"line {line}: unreadable claims {stray}"


def _check_examples(groups: dict[str, Any], pack_id: str | None) -> None:
    for group, entries in groups.items():
        assert group in GROUPS, f"unknown example group {group!r}"
        for entry in entries:
            inventory(Example.model_validate(entry))  # the resources convert
    if pack_id is None:
        return
    # On the pack policy they are said to belong to, they behave as their groups say.
    policy = load_file(PACK_DIR / f"{pack_id}.yaml")
    own = policy.examples
    merged = {"pass": [e.model_dump() for e in own.passing],
              "fail": [e.model_dump() for e in own.failing], **groups}
    examples = Examples.model_validate(merged)
    assert run_examples(policy.model_copy(update={"examples": examples})) == []


@pytest.mark.parametrize(("line", "text"), FRAGMENTS, ids=_ids(FRAGMENTS))
def test_policy_fragments_fit_the_model(line: int, text: str) -> None:
    first = text.splitlines()[0].split()
    pack_id = first[3] if len(first) == 4 and first[2] == "of" else None
    data = yaml.safe_load(text)
    assert isinstance(data, dict) and data
    for key, value in data.items():
        if key == "parameters":
            for param in value.values():
                Parameter.model_validate(param)
        elif key == "applies_to":
            applies = AppliesTo.model_validate(value)
            if applies.where is not None:
                conditions.validate(applies.where, ("applies_to", "where"))
        elif key == "condition":
            conditions.validate(value)
        elif key == "examples":
            _check_examples(value, pack_id)
        else:
            pytest.fail(f"line {line}: nothing checks a fragment's {key!r}")


@pytest.mark.parametrize(("line", "text"), CONFIGS, ids=_ids(CONFIGS))
def test_config_snippets_fit_the_policies(line: int, text: str, tmp_path: Path) -> None:
    config = Config.model_validate(yaml.safe_load(text))
    validate_params(config, [*load_dir(PACK_DIR), *_guide_policies(tmp_path)])


CRONJOB = """
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: reindex, namespace: shop}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: reindex
                  image: shop/reindex:1.4.2
                  resources: {limits: {cpu: 500m, memory: 512Mi}}
    """


def _worked_example() -> str:
    return next(t for _, t in POLICIES if f"id: {WORKED_EXAMPLE}\n" in t)


def _findings(result: CliResult) -> list[dict[str, Any]]:
    return [f for f in result.json()["findings"] if f["policy"] == WORKED_EXAMPLE]


def test_worked_example_in_a_scan_and_broken(run_cli: Callable[..., CliResult],
                                             project: Callable[[dict[str, str]], Path]) -> None:
    """What the guide says the commands do with the worked example, and with a broken one."""
    root = project({"auditor.yaml": """
        service: shop
        environments:
          prod:
            manifests: [deploy/cronjobs.yaml]
        """, "deploy/cronjobs.yaml": CRONJOB})
    mine = root / "my-policies"
    mine.mkdir()
    _write(_worked_example(), mine)
    validated = run_cli("policies", "validate", str(mine))
    assert validated.exit_code == 0
    assert "1 policies valid" in validated.stdout
    scan = run_cli("scan", "--config", str(root), "--policies", str(mine), "--format", "json")
    (finding,) = _findings(scan)
    assert finding["status"] == "fail"
    assert finding["message"].startswith("CronJob reindex has no startingDeadlineSeconds")
    assert finding["location"]["file"] == "deploy/cronjobs.yaml"
    assert finding["location"]["line"] == 4  # spec: the field itself is absent
    assert finding["remediation"]["commands"] == [
        "kubectl patch cronjob reindex -n shop --type merge "
        "-p '{\"spec\": {\"startingDeadlineSeconds\": 3600}}'"]

    broken = _worked_example().replace(
        'spec: {schedule: "0 3 * * *", startingDeadlineSeconds: 10}',
        'spec: {schedule: "0 3 * * *", startingDeadlineSeconds: 9}')
    assert broken != _worked_example()
    _write(broken, mine)
    validated = run_cli("policies", "validate", str(mine))
    assert validated.exit_code == 2
    assert ("example 'exactly 10 seconds, the shortest that works' should pass but gave "
            "[fail: ") in validated.stderr
    scan = run_cli("scan", "--config", str(root), "--policies", str(mine), "--format", "json")
    (finding,) = _findings(scan)
    assert finding["status"] == "error"
    assert finding["message"].startswith(
        "not evaluated: its examples do not behave as declared: ")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_within_the_guide_resolve() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    outside = FENCE.sub("", text)
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", outside, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", outside)
    assert links and not sorted(set(links) - anchors)
    files = re.findall(r"\]\(([^)#:]+\.md)\)", outside)
    assert all((GUIDE.parent / f).is_file() for f in files)
