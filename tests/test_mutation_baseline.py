"""Behaviours of auditor/baseline.py (merging saved reports into a base, comparing with it)
that mutation testing (`make mutation`, bench/mutation.md) showed no other test pinned
down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.baseline import compare, merge
from auditor.errors import InputError
from auditor.models import (
    INPUT_ERROR,
    Finding,
    Remediation,
    Report,
    ResourceRef,
    Summary,
    fingerprint,
)


def _finding(env: str, name: str, side: str = "declared", policy: str = "memory-limits",
             status: str = "fail") -> Finding:
    return Finding(
        policy=policy, title="Containers set memory limits", severity="medium",
        status=status, environment=env, side=side,  # type: ignore[arg-type]
        resource=ResourceRef(kind="Deployment", name=name, namespace="app", source="helm"),
        message="no memory limit", runbook="", remediation=Remediation(text="Set one."),
        fingerprint=fingerprint(policy, env, "Deployment", "app", name, None),
    )


def _report(day: int, envs: list[str], findings: list[Finding], sides: list[str] | None = None,
            service: str = "shop") -> Report:
    return Report(generated_at=datetime(2026, 1, day, tzinfo=UTC), tool={"name": "auditor"},
                  service=service, environments=envs,
                  summary=Summary(by_status={}, by_severity={}, passes={}),
                  findings=findings, sides=sides or [])  # type: ignore[arg-type]


def test_merge_keeps_an_environment_only_from_its_newest_report() -> None:
    old = _report(1, ["prod", "staging"], [_finding("prod", "stale"), _finding("staging", "s")],
                  sides=["declared"])
    new = _report(2, ["prod"], [_finding("prod", "fresh")], sides=["declared"])
    merged = merge([new, old], "shop")
    assert sorted(f.resource.name for f in merged.findings) == ["fresh", "s"]
    assert merged.environments == ["prod", "staging"]
    assert merged.generated_at == new.generated_at


def test_merge_keeps_the_sides_a_report_checked_even_without_findings_there() -> None:
    old = _report(1, ["prod"], [_finding("prod", "gone", side="live")],
                  sides=["declared", "live"])
    new = _report(2, ["prod"], [_finding("prod", "api")], sides=["declared", "live"])
    merged = merge([old, new], "shop")
    assert merged.sides == ["declared", "live"]
    assert [f.resource.name for f in merged.findings] == ["api"]  # live was clean in `new`


def test_merge_of_reports_without_sides_takes_them_from_the_findings() -> None:
    old = _report(1, ["prod"], [_finding("prod", "a"), _finding("prod", "b", side="live")])
    merged = merge([old], "shop")
    assert merged.sides == ["declared", "live"]
    assert sorted(f.resource.name for f in merged.findings) == ["a", "b"]


def test_merge_names_the_services_it_found_when_none_is_the_one_asked() -> None:
    reports = [_report(1, ["prod"], [], service="cart"), _report(2, ["prod"], [], service="api")]
    with pytest.raises(InputError, match=r"of service 'shop' \(found: api, cart\)"):
        merge(reports, "shop")


def test_compare_refuses_another_services_baseline_by_default() -> None:
    head = _report(2, ["prod"], [_finding("prod", "api")])
    base = _report(1, ["prod"], [_finding("prod", "api")], service="cart")
    with pytest.raises(InputError) as err:
        compare(head, base, "base.json")
    assert str(err.value) == ("base.json: the baseline is a report of service 'cart', "
                              "not 'shop'")


def test_compare_note_is_empty_when_nothing_needs_saying() -> None:
    head = _report(2, ["prod"], [_finding("prod", "api"), _finding("prod", "new")])
    base = _report(1, ["prod"], [_finding("prod", "api"), _finding("prod", "fixed")])
    compare(head, base, "base.json")
    assert head.comparison is not None
    assert head.comparison.note == ""
    assert (head.comparison.new, head.comparison.existing, head.comparison.fixed) == (1, 1, 1)


def test_compare_note_lists_only_what_applies() -> None:
    head = _report(2, ["prod"], [_finding("prod", "api")])
    base = _report(1, ["prod"], [_finding("prod", "api")], service="cart")
    compare(head, base, "base.json", check_service=False)
    assert head.comparison is not None
    assert head.comparison.note == "the base's service was 'cart'"


def test_findings_of_an_environment_this_run_left_out_are_not_fixed() -> None:
    head = _report(2, ["prod"], [_finding("prod", "api")], sides=["declared"])
    base = _report(1, ["prod", "staging"], [_finding("prod", "api"),
                                            _finding("staging", "worker")], sides=["declared"])
    compare(head, base, "base.json")
    assert head.comparison is not None
    assert head.comparison.fixed == 0


def test_compare_notes_name_every_gap_of_the_base_joined_by_semicolons() -> None:
    envs = ["dev", "prod", "staging"]
    head = _report(2, envs, [_finding("prod", "api")], sides=["declared"])
    unread = _finding("prod", "values.yaml", policy=INPUT_ERROR, status="error")
    base = _report(1, ["prod"], [unread], sides=["declared"])
    compare(head, base, "base.json", note="base at main")
    assert head.comparison is not None
    assert head.comparison.note == (
        "base at main; the base does not cover dev, staging: its findings count as new; "
        "some inputs of prod could not be read at the base: findings it could not see "
        "count as new")


def test_compare_names_only_the_blind_environments_this_run_checked() -> None:
    head = _report(2, ["dev", "prod"], [_finding("prod", "api")], sides=["declared"])
    base = _report(1, ["dev", "prod", "qa"], [
        _finding("dev", "a.yaml", policy=INPUT_ERROR, status="error"),
        _finding("prod", "b.yaml", policy=INPUT_ERROR, status="error"),
        _finding("qa", "c.yaml", policy=INPUT_ERROR, status="error")], sides=["declared"])
    compare(head, base, "base.json")
    assert head.comparison is not None
    assert head.comparison.note == ("some inputs of dev, prod could not be read at the base: "
                                    "findings it could not see count as new")
