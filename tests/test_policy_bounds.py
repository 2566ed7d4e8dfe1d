"""User policies cannot hang or exhaust a run: patterns are RE2 (linear time), templates
have bounds, and a template past one is an error for its policy alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

# With a backtracking engine each further "a" doubles the time: 28 take ~20 s.
EVIL = "a" * 28 + "!"
BUDGET = 5.0  # seconds for a whole CLI run, on a loaded 2-core machine


def _policy(pid: str, condition: str, message: str = "configmap {{ name }} has data",
            parameters: str = "{}", fail_value: str = "aaa",
            passing: str | None = None) -> str:
    return f"""\
id: {pid}
title: ConfigMap check {pid}
severity: low
description: A user's own check.
runbook: {{section: "Pod Crashes", anchor: common-issues/pod-crashes/#image-pull-error}}
sides: [declared]
parameters: {parameters}
applies_to: {{kinds: [ConfigMap]}}
condition: {condition}
message: {message!r}
remediation: {{text: Fix it.}}
examples:
  pass: [{{name: fine, resources: [{passing or _configmap(EVIL)}]}}]
  fail: [{{name: bad, resources: [{_configmap(fail_value)}]}}]
"""


def _configmap(value: str) -> str:
    return f"{{kind: ConfigMap, name: cm, body: {{data: {{value: {value}}}}}}}"


def _project(project: Project, policies: dict[str, str]) -> Path:
    return project({
        "auditor.yaml": "service: web\nenvironments:\n  prod:\n    manifests: [cm.yaml]\n",
        "cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\n"
                   f"data: {{value: {EVIL}}}\n",
        **{f"mine/{pid}.yaml": text for pid, text in policies.items()}})


def _timed(run_cli: Run, *args: str) -> tuple[CliResult, float]:
    start = time.perf_counter()
    result = run_cli(*args)
    return result, time.perf_counter() - start


def test_a_catastrophic_pattern_does_not_hang_validate_or_scan(run_cli: Run,
                                                               project: Project) -> None:
    root = _project(project, {"no-evil": _policy("no-evil",
                                                 "{matches: [data.value, '(a+)+$']}")})
    validated, took = _timed(run_cli, "policies", "validate", str(root / "mine"))
    assert validated.exit_code == 0, validated.stderr
    assert took < BUDGET
    scanned, took = _timed(run_cli, "scan", "--config", str(root), "--policies",
                           str(root / "mine"), "--format", "json")
    assert scanned.exit_code == 0, scanned.stderr  # the value does not match: a pass
    assert scanned.json()["summary"]["by_status"]["pass"] >= 1
    assert took < BUDGET


@pytest.mark.parametrize(("condition", "parameters"), [
    ("{matches: [data.value, '(a)\\1']}", "{}"),  # a backreference
    ("{matches: [data.value, {param: pattern}]}",  # lookbehind, in a parameter's default
     "{pattern: {default: '(?<=a)b', description: What to look for.}}"),
])
def test_a_pattern_re2_cannot_run_is_a_load_error_with_file_and_line(
        run_cli: Run, project: Project, condition: str, parameters: str) -> None:
    root = _project(project, {"mine": _policy("mine", condition, parameters=parameters)})
    result = run_cli("policies", "validate", str(root / "mine"))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {root / 'mine' / 'mine.yaml'}:9: condition.matches"), line
    assert "no backreferences or lookaround" in line


BOMBS = {
    "mul-bomb": "{{ ('a' * 100000000) | length }}",
    "list-bomb": "{{ ([0] * 10000000) | length }}",
    "pow-bomb": "{{ (2 ** 100000000).bit_length() }}",
    "loop-bomb": "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}"
                 "{% endfor %}",
    "quiet-loop-bomb": "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
                       "{% endfor %}done",
    "concat-bomb": "{% set s = 'ab' %}" + "{% set s = s ~ s %}" * 24 + "{{ s | length }}",
    # A value shared many times, then turned into text (found by review):
    "fromkeys-pprint": "{% set x = 'a' * 34000 %}{% set d = {}.fromkeys(range(6000), x) %}"
                       "{{ (d | pprint) | length }}",
    "shared-list-string": "{% set x = 'a' * 30000 %}{% set l = [x, x, x, x, x, x, x, x] %}"
                          "{% set m = [l, l, l, l, l, l, l, l] %}{{ m | string | length }}",
    "sort-many-times": "{% set l = range(10000) | list %}{% for i in range(10000) %}"
                       "{{ (l | sort) | length }}{% endfor %}",
}


@pytest.mark.parametrize("bomb", BOMBS, ids=list(BOMBS))
def test_a_template_past_a_bound_is_an_error_of_its_policy_alone(run_cli: Run, project: Project,
                                                                 bomb: str) -> None:
    exists = "{exists: data}"
    empty = "{kind: ConfigMap, name: cm, body: {}}"  # (a scan runs a user policy's examples)
    root = _project(project, {bomb: _policy(bomb, exists, BOMBS[bomb], passing=empty),
                              "plain": _policy("plain", exists, passing=empty)})
    result, took = _timed(run_cli, "scan", "--config", str(root), "--policies",
                          str(root / "mine"), "--format", "json")
    findings = {f["policy"]: f for f in result.json()["findings"]}
    assert findings["plain"]["status"] == "fail"
    assert findings["plain"]["message"] == "configmap settings has data"
    assert findings[bomb]["status"] == "error", findings[bomb]["message"][:200]
    # Its failing example hits the bound first: the scan reports the policy as an error.
    assert "template stopped at a bound: message: " in findings[bomb]["message"]
    assert took < BUDGET
