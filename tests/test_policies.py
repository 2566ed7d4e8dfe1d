"""The policy pack: every file loads, every example behaves, bad files fail clearly."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor import engine
from auditor.checks import scaling
from auditor.checks.base import CheckContext, Outcome
from auditor.errors import PolicyError
from auditor.examples import inventory, run_examples
from auditor.policies import PACK_DIR, Example, load_all, load_dir, load_file
from tests.conftest import REPO

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

PACK = load_dir(PACK_DIR)
CATALOG = REPO / "tests" / "data" / "POLICY-CATALOG.md"  # a copy of shared/'s catalog


@pytest.mark.parametrize("policy", PACK, ids=[p.id for p in PACK])
def test_examples_behave_as_declared(policy: object) -> None:
    assert run_examples(policy) == []  # type: ignore[arg-type]


def _catalog() -> dict[str, str]:
    """id -> side, from the catalog's table (copied into tests/data from shared/)."""
    rows = {}
    for line in CATALOG.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[3] in ("declared", "live", "both", "live vs declared"):
            rows[cells[1]] = cells[3]
    return rows


def test_every_catalog_check_is_in_the_pack_on_its_sides() -> None:
    catalog = _catalog()
    assert len(catalog) >= 40, "catalog table not found"
    expected = {"declared": {"declared"}, "live": {"live"}, "both": {"declared", "live"},
                "live vs declared": {"drift"}}
    by_id = {p.id: p for p in PACK}
    for policy_id, side in catalog.items():
        assert policy_id in by_id, f"catalog check {policy_id} has no policy file"
        assert set(by_id[policy_id].sides) == expected[side], policy_id


def test_runbook_anchors_and_sides() -> None:
    for p in PACK:
        assert "/#" in p.runbook.anchor, p.id
        assert set(p.sides) <= {"declared", "live", "drift"}


GOOD = (PACK_DIR / "rds-backups.yaml").read_text()


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("severity: high", "severity: urgent"), ":3: severity: Input should be"),
    (GOOD.replace("title: ", "titel: "), ":2: titel: unknown field"),
    (GOOD.replace('"<"', '"=<"'), ":24: condition.all[1].compare: expected [subject"),
    (GOOD.replace("applies_to:", "check: no_such_check\napplies_to:"),
     "unknown check 'no_such_check'"),
    (GOOD.replace("id: rds-backups", "id: Bad_Id"), ":1: id: String should match pattern"),
    (GOOD.replace("id: rds-backups", "id: other-id"), "must match the file name"),
    ("id: [\n", ": invalid YAML"),
    (GOOD.replace("{param: min_days}", "{param: min_dayz}"),
     ":20: condition: parameter 'min_dayz' is not declared"),
    (GOOD.replace("day(s) of automated", "{% if %} day(s)"), ":26: message: invalid template"),
    (GOOD.replace("day(s) of automated", "{{ name | nosuchfilter }}"),
     ":26: message: invalid template"),
])
def test_bad_policy_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_file(path)
    message = err.value.format_message()
    assert message.startswith(str(path)) and expected in message, message
    assert "\n" not in message


def test_duplicate_ids_across_directories(tmp_path: Path) -> None:
    (tmp_path / "rds-backups.yaml").write_text(GOOD)
    with pytest.raises(PolicyError, match="already defined"):
        load_all([tmp_path])


def test_a_crashing_check_is_an_error_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = next(p for p in PACK if p.check == "hpa_present")

    def boom(ctx: CheckContext) -> list[Outcome]:
        raise RuntimeError("kaput")

    monkeypatch.setattr(scaling, "hpa_present", boom)  # where the registry finds it
    inv = inventory(policy.examples.passing[0])
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "error" and "kaput" in result.message


@pytest.mark.parametrize("status", ["FAIL", "failed", "UNKNOWN", ""])
def test_a_check_that_gives_a_status_of_its_own_is_an_error(
        monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    policy = next(p for p in PACK if p.check == "hpa_present")

    def odd(ctx: CheckContext) -> list[Outcome]:
        return [Outcome(r, status) for r in ctx.inventory.of_kind("Deployment")]  # type: ignore[arg-type]

    monkeypatch.setattr(scaling, "hpa_present", odd)
    (result,) = engine.evaluate([policy], inventory(policy.examples.passing[0]), {})
    assert result.status == "error"
    assert f"a check gave status {status!r}" in result.message


def test_params_override_per_environment_and_per_policy() -> None:
    policy = next(p for p in PACK if p.id == "rds-backups")
    assert policy.params({})["min_days"] == 7
    assert policy.params({"min_days": 14})["min_days"] == 14
    assert policy.params({"min_days": 14, "rds-backups": {"min_days": 30}})["min_days"] == 30


def test_examples_that_misbehave_are_reported(tmp_path: Path,
                                              project: Callable[[dict[str, str]], Path]) -> None:
    wrong = GOOD.replace("backup_retention_period: 14}", "backup_retention_period: 2}")
    path = tmp_path / "rds-backups.yaml"
    path.write_text(wrong)
    (problem,) = run_examples(load_file(path))
    assert "'two weeks' should pass but gave [fail:" in problem


def test_mapping_valued_parameters_can_be_set_globally() -> None:
    policy = next(p for p in PACK if p.id == "nodegroup-capacity")
    sizes = {"m6i.xlarge": {"cpu": 4, "memory": "14Gi"}}
    assert policy.params({"instance_types": sizes})["instance_types"] == sizes


def test_installed_pack_is_the_repository_pack() -> None:
    """auditor/policy_pack links to policies/ so wheels ship the pack as package data."""
    assert PACK_DIR.resolve() == (REPO / "policies").resolve()
    assert len(PACK) == len(list((REPO / "policies").glob("*.yaml")))


def test_rule_findings_keep_their_fingerprint_when_rules_are_added() -> None:
    """Rule order means nothing: adding a rule before the open one must not make the
    finding look new (baselines and waivers key on the fingerprint)."""
    from auditor.models import Inventory, Resource
    from auditor.pipeline import PLACEHOLDERS

    policy = next(p for p in PACK if p.id == "sg-no-world-admin")
    ssh = {"protocol": "tcp", "from_port": 22, "to_port": "22", "cidr_blocks": ["0.0.0.0/0"]}
    icmp = {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr_blocks": ["10.0.0.0/8"]}

    def fingerprints(rules: list[dict[str, object]]) -> list[str]:
        sg = Resource("SecurityGroup", "bastion", {"name": "bastion", "ingress": rules}, "tf")
        inv = Inventory("prod", "declared", [sg], [], dict(PLACEHOLDERS))
        return [r.fingerprint for r in engine.evaluate([policy], inv, {}) if r.status == "fail"]

    before = fingerprints([ssh])
    assert len(before) == 1  # "22" as a string is port 22
    assert fingerprints([icmp, ssh]) == before


def test_named_checks_on_the_live_side_say_what_they_read() -> None:
    """An unreadable kind must turn a live check into `error`, never silence or a pass: a
    named check has no applies_to, so it must list what it reads."""
    for p in PACK:
        if p.check is not None and "live" in p.sides:
            assert p.requires, f"{p.id} reads live data but declares no `requires`"


def test_a_user_policy_whose_examples_misbehave_is_an_error_the_rest_runs(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    mine = tmp_path / "mine"
    mine.mkdir()
    good = GOOD.replace("id: rds-backups", "id: my-backups")
    (mine / "my-backups.yaml").write_text(good.replace("backup_retention_period: 14}",
                                                       "backup_retention_period: 2}"))
    config = str(REPO / "examples" / "chess-ai")
    result = CliRunner().invoke(cli, ["scan", "--config", config, "--policies", str(mine),
                                      "--format", "json"])
    assert result.exit_code == 1  # the scan ran: the example's own failures decide
    report = json.loads(result.output)
    (mine_found,) = [f for f in report["findings"] if f["policy"] == "my-backups"]
    assert mine_found["status"] == "error"
    assert "its examples do not behave as declared: example 'two weeks' should pass but " \
        "gave [fail:" in mine_found["message"]
    assert any(f["policy"] == "rds-backups" and f["status"] == "fail"
               for f in report["findings"])  # the others still ran
    (mine / "my-backups.yaml").write_text(good)
    result = CliRunner().invoke(cli, ["scan", "--config", config, "--policies", str(mine),
                                      "--format", "json"])
    assert result.exit_code in (0, 1, 3) and '"my-backups"' in result.output


def test_reserved_parameters_reach_every_policy() -> None:
    from auditor.engine import _params

    policy = next(p for p in PACK if p.id == "rds-backups")  # declares neither
    params = _params(policy, {"now": "2026-01-02T03:04:05+00:00"}, "prod")
    assert params["now"] == "2026-01-02T03:04:05+00:00" and params["environment"] == "prod"
    assert "now" not in _params(policy, {}, "prod")  # no --now: the checks read the clock


def test_validate_refuses_a_directory_that_redefines_a_pack_id(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    (tmp_path / "rds-backups.yaml").write_text((PACK_DIR / "rds-backups.yaml").read_text())
    result = CliRunner().invoke(cli, ["policies", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "id: 'rds-backups' is already defined in" in result.output


def _with_message(text: str, group: str, name: str, message: str) -> str:
    marker = f"    - name: {name}\n"
    assert marker in text and group
    return text.replace(marker, f"{marker}      message: {json.dumps(message)}\n", 1)


def test_an_example_may_pin_the_message_a_person_reads(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(_with_message(GOOD, "fail", "three days",
                                  "keeps 3 day(s) of automated backups"))
    assert run_examples(load_file(path)) == []
    path.write_text(_with_message(GOOD, "fail", "three days", "keeps 4 day(s)"))
    (problem,) = run_examples(load_file(path))
    assert problem == (
        f"{path}: example 'three days': no fail message contains 'keeps 4 day(s)': "
        "[fail: database chess-ai-prod keeps 3 day(s) of automated backups; the runbook's "
        "restore needs at least 7]")


def test_an_unknown_example_pins_the_reason_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(_with_message(GOOD, "unknown", "from a variable without a value",
                                  "variable retention has no value"))
    assert run_examples(load_file(path)) == []


def test_a_passing_example_has_no_message_to_pin(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(_with_message(GOOD, "pass", "two weeks", "anything"))
    (problem,) = run_examples(load_file(path))
    assert problem == (f"{path}: example 'two weeks': message/path/item/details: only a "
                       "fail, unknown or error example has them")


def _path(text: str, name: str, new: str) -> str:
    """The policy text with the `path:` of example `name` replaced."""
    marker = f"    - name: {name}\n      path: "
    start = text.index(marker) + len(marker)
    return text[:start] + json.dumps(new) + text[text.index("\n", start):]


def test_an_example_pins_the_field_its_finding_points_at(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(_path(GOOD, "three days", "backup_retention_period"))
    assert run_examples(load_file(path)) == []
    path.write_text(_path(GOOD, "three days", "multi_az"))
    (problem,) = run_examples(load_file(path))
    assert problem == (f"{path}: example 'three days': no fail result points at 'multi_az' "
                       "(it points at 'backup_retention_period')")


def test_message_and_path_must_hold_for_one_and_the_same_result(tmp_path: Path) -> None:
    # Both containers fail: the message of the second with the field of the first is no match.
    text = (PACK_DIR / "image-pinned.yaml").read_text()
    path = tmp_path / "image-pinned.yaml"
    both = text.replace("- {name: app, image: \"ghcr.io/acme/app:main\"}",
                        "- {name: app, image: \"ghcr.io/acme/app:main\"}\n"
                        "                  - {name: side, image: \"ghcr.io/acme/side\"}", 1)
    pinned = both.replace("      path: spec.template.spec.containers[0].image\n",
                          "      path: spec.template.spec.containers[0].image\n"
                          "      message: side\n", 1)
    path.write_text(pinned)
    (problem,) = run_examples(load_file(path))
    assert problem == (f"{path}: example 'a branch tag moves like latest': no fail result "
                       "points at 'spec.template.spec.containers[0].image' (it points at "
                       "'spec.template.spec.containers[1].image')")
    path.write_text(pinned.replace("message: side", "message: app", 1))
    assert run_examples(load_file(path)) == []


def test_an_example_path_is_written_one_way(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    # Brackets or dots: the same field, compared in one spelling.
    path.write_text(_path(GOOD, "three days", '["backup_retention_period"]'))
    assert run_examples(load_file(path)) == []
    path.write_text(_path(GOOD, "three days", "a[["))
    with pytest.raises(PolicyError) as err:
        load_file(path)
    line = GOOD.split("\n").index("    - name: three days") + 2
    assert err.value.format_message().startswith(f"{path}:{line}: examples.fail[1].path: ")
    assert "invalid path 'a[['" in err.value.format_message()


def test_a_passing_example_has_no_path_to_pin(tmp_path: Path) -> None:
    path = tmp_path / "rds-backups.yaml"
    path.write_text(GOOD.replace("    - name: two weeks\n",
                                 "    - name: two weeks\n      path: x\n", 1))
    (problem,) = run_examples(load_file(path))
    assert problem == (f"{path}: example 'two weeks': message/path/item/details: only a "
                       "fail, unknown or error example has them")


def _details(text: str, name: str, details: str) -> str:
    marker = f"    - name: {name}\n"
    return text.replace(marker, f"{marker}      details: {details}\n", 1)


def test_an_example_pins_the_details_a_machine_reads(tmp_path: Path) -> None:
    text = re.sub(r"\n      details: .*", "", (PACK_DIR / "targets-healthy.yaml").read_text())
    path = tmp_path / "targets-healthy.yaml"
    name = "one target failing its health check"
    path.write_text(_details(text, name, "{unhealthy: 1, total: 2}"))
    assert run_examples(load_file(path)) == []
    path.write_text(_details(text, name, "{unhealthy: 2}"))
    (problem,) = run_examples(load_file(path))
    assert problem.startswith(f"{path}: example {name!r}: no fail result has the details "
                              "{'unhealthy': 2} (it has {")
    assert "'unhealthy': 1" in problem and "'total': 2" in problem


def test_an_example_pins_the_item_a_finding_is_about(tmp_path: Path) -> None:
    text = re.sub(r"\n      item: .*", "", (PACK_DIR / "image-pinned.yaml").read_text())
    path = tmp_path / "image-pinned.yaml"
    name = "no tag (sidecar)"
    path.write_text(_details(text, name, "{}").replace("details: {}", "item: log-shipper"))
    assert run_examples(load_file(path)) == []
    path.write_text(_details(text, name, "{}").replace("details: {}", "item: chess-ai"))
    (problem,) = run_examples(load_file(path))
    assert problem == (f"{path}: example {name!r}: no fail result is about item 'chess-ai' "
                       "(it is about 'log-shipper')")


def test_cpu_limits_names_the_hpa_only_for_containers_whose_requests_it_sums() -> None:
    (policy,) = [p for p in load_all([]) if p.id == "cpu-limits"]
    failing = {e.name.split(" (")[0]: e for e in policy.examples.failing}

    def messages(example: Example) -> list[str]:
        found = [r.message for r in engine.evaluate([policy], inventory(example),
                                                    example.params) if r.status == "fail"]
        assert found
        return found

    # An init container runs before the others: utilization never counts it.
    assert not any("HPA" in m for m in messages(failing["an init container without resources"]))
    assert all("the HPA cannot compute" in m for m in messages(
        failing["a sidecar init container without resources"]))
    assert all("the HPA cannot compute" in m for m in messages(
        failing["sidecar without resources"]))
