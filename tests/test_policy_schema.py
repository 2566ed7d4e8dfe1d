"""schemas/policy.schema.json: in sync with the models, and agreeing with the loader on
what a policy file may say (every mistake below is rejected by both; every variation
accepted by both)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from auditor.errors import PolicyError
from auditor.policies import PACK_DIR, load_file, policy_files
from auditor.policy_schema import problems, schema
from auditor.yamlfile import read_document
from tests.conftest import REPO, CliResult

COMMITTED = REPO / "schemas" / "policy.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(schema())

BASE: dict[str, Any] = {
    "id": "probe",
    "title": "A probe",
    "severity": "medium",
    "description": "Checks a probe.",
    "runbook": {"section": "Probes", "anchor": "probes/#probe"},
    "sides": ["declared"],
    "parameters": {"floor": {"default": 2, "description": "Fewest replicas."}},
    "applies_to": {"kinds": ["Deployment"]},
    "condition": {"compare": ["spec.replicas", "<", {"param": "floor"}]},
    "message": "{{ name }} has too few replicas",
    "remediation": {"text": "Raise spec.replicas."},
    "examples": {
        "pass": [{"name": "three", "resources": [{"kind": "Deployment", "name": "a",
                                                   "body": {"spec": {"replicas": 3}}}]}],
        "fail": [{"name": "one", "resources": [{"kind": "Deployment", "name": "a",
                                                 "body": {"spec": {"replicas": 1}}}]}],
    },
}
CHECKED = {"condition": None, "applies_to": None, "check": "hpa_present",
           "requires": ["Deployment", "HorizontalPodAutoscaler"]}


def _with(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def _checked(**changes: Any) -> dict[str, Any]:
    """A policy that calls a named check instead of a condition."""
    return {**BASE, **CHECKED, **changes}


def _cond(condition: Any) -> dict[str, Any]:
    return _with(condition=condition)


def _where(where: Any) -> dict[str, Any]:
    return _with(applies_to={"kinds": ["Deployment"], "where": where})


BROKEN: dict[str, dict[str, Any]] = {
    "a typo'd operator": _cond({"mising": "spec.replicas"}),
    "{paht: x} operand": _cond({"compare": [{"paht": "spec.replicas"}, "<", 2]}),
    "a subject that is a number": _cond({"compare": [5, "<", 2]}),
    "compare with a bad OP": _cond({"compare": ["spec.replicas", "=~", 2]}),
    "compare with two elements": _cond({"compare": ["spec.replicas", "<"]}),
    "one_of with a string, not a list": _cond({"one_of": ["spec.strategy.type", "Recreate"]}),
    "one_of with {param} and more": _cond({"one_of": ["a", {"param": "floor", "x": 1}]}),
    "unknown kind Deploymnet": _with(applies_to={"kinds": ["Deploymnet"]}),
    "no kinds": _with(applies_to={"kinds": []}),
    "each: container": _with(applies_to={"kinds": ["Deployment"], "each": "container"}),
    "unknown check": _checked(check="hpa_presnt"),
    "unknown fact": _with(parameters={"floor": {"default": 2, "description": "d",
                                                "fact": "replica_floor"}}),
    "examples without fail": _with(examples={"pass": BASE["examples"]["pass"]}),
    "examples with an empty pass": _with(examples={**BASE["examples"], "pass": []}),
    "an extra top-level key": _with(colour="red"),
    "an id that is not kebab-case": _with(id="Probe_Check"),
    "severity not in the enum": _with(severity="urgent"),
    "where with two operators": _where({"missing": "a", "exists": "b"}),
    "matches with a non-string pattern": _cond({"matches": ["metadata.name", 5]}),
    "an empty any": _cond({"any": []}),
    "not of a list": _cond({"not": [{"missing": "a"}]}),
    "missing of a mapping": _cond({"missing": {"path": "a"}}),
    "default without path": _cond({"compare": [{"default": 1}, "<", 2]}),
    "path and param at once": _cond({"compare": [{"path": "a", "param": "floor"}, "<", 2]}),
    "a literal mapping operand": _cond({"compare": ["a", "==", {"b": 1}]}),
    "a list literal holding a mapping": _cond({"compare": ["a", "==", [{"path": "b"}]]}),
    "an empty condition": _cond({}),
    "a CEL expression that is not a string": _cond({"cel": 5}),
    "side not in the enum": _with(sides=["declared", "runtime"]),
    "a check and a partial kind typo": _checked(partial=["Deploymnet"]),
    "requires a kind typo": _checked(requires=["HorizontalPodAutoscalr"]),
}

VALID: dict[str, dict[str, Any]] = {
    "the base": BASE,
    "a Kind.group kind": _with(applies_to={"kinds": ["ServiceMonitor.monitoring.coreos.com"]}),
    "each PATH[*]": _with(applies_to={"kinds": ["Ingress"], "each": "spec.rules[*]"}),
    "each serving_container": _with(applies_to={"kinds": ["Deployment"],
                                                "each": "serving_container"}),
    "a {value: V} subject": _cond({"compare": [{"value": 3}, ">", {"path": "spec.replicas",
                                                                    "default": 1}]}),
    "nested any/all/not": _cond({"any": [
        {"all": [{"exists": "spec.replicas"}, {"not": {"missing": "metadata.labels"}}]},
        {"not": {"any": [{"matches": ["metadata.name", "^tmp-"]}]}}]}),
    "{param} in one_of": _with(
        parameters={"allowed": {"default": ["Recreate"], "description": "Strategies."}},
        condition={"one_of": ["spec.strategy.type", {"param": "allowed"}]}),
    "{param} as a regex": _with(
        parameters={"pattern": {"default": "^tmp-", "description": "Names."}},
        condition={"matches": [{"path": "metadata.name"}, {"param": "pattern"}]}),
    "operands and plain literals in one_of": _cond(
        {"one_of": ["spec.replicas", [1, "2", None, True, {"param": "floor"},
                                      {"value": {"a": [1]}}, {"path": "spec.x"}, [3, 4]]]}),
    "a where, a locate and a fact": _with(
        applies_to={"kinds": ["Deployment", "StatefulSet"],
                    "where": {"compare": [{"param": "environment"}, "==", "prod"]}},
        parameters={"floor": {"default": 2, "description": "d", "fact": "singletons"}},
        locate="spec.replicas"),
    "a named check, partial": _checked(partial=True),
    "a named check, partial kinds": _checked(partial=["Deployment"]),
    "a plugin check's name": _checked(check="acme.queue_consumers"),
    "every example group": _with(examples={
        **BASE["examples"], "unknown": [], "error": [], "not_applicable": [
            {"name": "n", "side": "declared", "params": {"floor": 1}, "environment": "dev",
             "resources": [{"kind": "Deployment", "name": "b", "body": {}}]}]}),
}


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    file = tmp_path / f"{data['id']}.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return file


def _schema_errors(file: Path) -> list[str]:
    doc = read_document(file, str(file), "policy file", PolicyError)
    return problems(doc.data, doc.lines, str(file))


def test_the_committed_schema_is_current() -> None:
    expected = json.dumps(schema(), indent=2, sort_keys=True) + "\n"
    assert COMMITTED.read_text(encoding="utf-8") == expected, (
        "schemas/policy.schema.json is stale: run `.venv/bin/python -m auditor.policy_schema"
        " > schemas/policy.schema.json` (make schema)")


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    built = schema()
    jsonschema.Draft202012Validator.check_schema(built)
    assert built["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert built["$id"] == "urn:runbook-auditor:policy:1"
    assert {"file", "broken"}.isdisjoint(built["properties"])


@pytest.mark.parametrize("file", policy_files(PACK_DIR), ids=lambda f: f.stem)
def test_every_pack_policy_validates(file: Path) -> None:
    assert _schema_errors(file) == []


@pytest.mark.parametrize("data", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_policy_is_rejected_by_the_schema_and_the_loader(
        tmp_path: Path, data: dict[str, Any]) -> None:
    file = _write(tmp_path, data)
    found = _schema_errors(file)
    assert found, "the schema accepted it"
    assert all(msg.startswith(f"{file}:") for msg in found), found
    with pytest.raises(PolicyError):
        load_file(file)


@pytest.mark.parametrize("data", list(VALID.values()), ids=list(VALID))
def test_a_valid_variation_is_accepted_by_the_schema_and_the_loader(
        tmp_path: Path, data: dict[str, Any]) -> None:
    file = _write(tmp_path, data)
    assert _schema_errors(file) == []
    if data.get("check") == "acme.queue_consumers":  # a name the schema cannot look up
        with pytest.raises(PolicyError, match="no installed package provides"):
            load_file(file)
    else:
        load_file(file)


@pytest.mark.parametrize(("data", "where", "fragment"), [
    (BROKEN["a typo'd operator"], "condition.mising", 'unknown key "mising" (did you mean '
                                                      '"missing"?)'),
    (BROKEN["{paht: x} operand"], "condition.compare[0].paht", 'unknown key "paht" (did '
                                                               'you mean "path"?)'),
    (BROKEN["a subject that is a number"], "condition.compare[0]",
     "expected a string, got an integer: The first element is what is checked"),
    (BROKEN["compare with a bad OP"], "condition.compare[1]", '"=~" is not one of: "=="'),
    (BROKEN["one_of with a string, not a list"], "condition.one_of[1]",
     "expected a list, got a string"),
    (BROKEN["unknown kind Deploymnet"], "applies_to.kinds[0]",
     '"Deploymnet" is not valid (did you mean "Deployment"?): A kind'),
    (BROKEN["each: container"], "applies_to.each", '(did you mean "containers"?)'),
    (BROKEN["unknown check"], "check", '(did you mean "hpa_present"?)'),
    (BROKEN["unknown fact"], "parameters.floor.fact", '"replica_floor" is not one of: '),
    (BROKEN["examples without fail"], "examples", '"fail" is required'),
    (BROKEN["where with two operators"], "applies_to.where",
     "expected at most 1 key, got 2 (missing, exists)"),
    (BROKEN["default without path"], "condition.compare[0]", "default goes with path"),
    (BROKEN["a list literal holding a mapping"], "condition.compare[2][0]",
     "A list literal holds plain values"),
])
def test_schema_errors_name_the_field_and_say_what_is_wrong(
        tmp_path: Path, data: dict[str, Any], where: str, fragment: str) -> None:
    file = _write(tmp_path, data)
    found = _schema_errors(file)
    assert any(f": {where}: " in msg and fragment in msg for msg in found), found


def test_validate_reports_a_schema_error_at_its_line(
        run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    text = (PACK_DIR / "rds-backups.yaml").read_text(encoding="utf-8")
    broken = text.replace("    - missing: replicate_source_db",
                          "    - missing: replicate_source_db\n    - exist: engine")
    assert broken != text
    (tmp_path / "rds-backups.yaml").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("    - exist: engine") + 1
    result = run_cli("policies", "validate", str(tmp_path))
    assert result.exit_code == 2 and result.stdout == ""
    (said,) = result.stderr.splitlines()
    assert said.startswith(f"error: {tmp_path / 'rds-backups.yaml'}:{line}: "
                           'condition.all[1].exist: unknown key "exist" (did you mean '
                           '"exists"?); expected one of: all, any, '), said


def test_validate_reports_every_file_and_the_loader_s_errors_too(
        run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    _write(tmp_path, BROKEN["severity not in the enum"] | {"id": "a"})
    _write(tmp_path, BASE | {"id": "b", "locate": "{nope}"})  # the schema cannot know
    _write(tmp_path, BASE | {"id": "c"})
    result = run_cli("policies", "validate", str(tmp_path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: {tmp_path / 'a.yaml'}:3: severity: ")
    assert lines[1].startswith(f"error: {tmp_path / 'b.yaml'}:")
    assert "'nope' is not declared" in lines[1]
    assert result.stdout == ""


def test_a_file_only_the_schema_rejects_is_an_error(
        run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """`partial: 1`: pydantic takes 1 for true; the schema says it is a boolean or a
    list of kinds."""
    file = _write(tmp_path, _checked(partial=1))
    load_file(file)  # pydantic accepts 1 as true
    result = run_cli("policies", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert f"{file}:" in result.stderr and "partial" in result.stderr


def test_the_editor_comment_line_still_loads(tmp_path: Path) -> None:
    file = _write(tmp_path, BASE)
    file.write_text("# yaml-language-server: $schema=../schemas/policy.schema.json\n"
                    + file.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_file(file).id == "probe"
    assert _schema_errors(file) == []
