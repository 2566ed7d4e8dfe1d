"""Behaviours of auditor/waivers.py (the findings an expired, stale or duplicate waiver
adds) that mutation testing (`make mutation`, bench/mutation.md) showed no other test
pinned down."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.errors import ConfigError
from auditor.models import (
    WAIVER_EXPIRED,
    WAIVER_STALE,
    Finding,
    Remediation,
    Report,
    ResourceRef,
    Summary,
    fingerprint,
)
from auditor.waivers import Waiver, WaiverEntry, apply, load

TODAY = date(2026, 6, 15)


def _finding(name: str, item: str | None = None) -> Finding:
    return Finding(
        policy="memory-limits", title="Containers set memory limits", severity="medium",
        status="fail", environment="prod", side="declared",
        resource=ResourceRef(kind="Deployment", name=name, namespace="app", source="helm"),
        item=item, message="no memory limit", runbook="", remediation=Remediation(text="Set."),
        fingerprint=fingerprint("memory-limits", "prod", "Deployment", "app", name, item),
    )


def _report(*findings: Finding) -> Report:
    return Report(generated_at=datetime(2026, 6, 15, tzinfo=UTC), tool={"name": "auditor"},
                  service="shop", environments=["prod"],
                  summary=Summary(by_status={}, by_severity={}, passes={}),
                  findings=list(findings), sides=["declared"])


def _waiver(resource: str, *, expires: date = date(2026, 12, 31), item: str | None = None,
            line: int | None = 3, file: str = "waivers.yaml") -> Waiver:
    entry = WaiverEntry(policy="memory-limits", resource=resource, item=item,
                        environments=["prod"], reason="Sized by the vendor.",
                        owner="team-shop", expires=expires)
    return Waiver(entry, file, line)


def _added(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.policy in (WAIVER_EXPIRED, WAIVER_STALE)]


def _run(report: Report, *waivers: Waiver) -> Finding:
    apply(report, list(waivers), TODAY, {"memory-limits": ["declared"]})
    (added,) = _added(report)
    return added


def test_an_expired_waiver_says_when_and_how_many_findings_it_no_longer_covers() -> None:
    added = _run(_report(_finding("api", item="web")),
                 _waiver("Deployment/app/api", item="web", expires=date(2026, 6, 1)))
    assert added.policy == WAIVER_EXPIRED
    assert added.title == "Waiver expired"
    assert added.message == ("waivers.yaml:3: the waiver of memory-limits Deployment/app/api "
                             "[web] (owner team-shop) expired on 2026-06-01; it no longer "
                             "applies to 1 finding(s)")
    assert added.remediation.text == ("Fix the findings it covered, or renew the waiver with "
                                      "a new date and reason.")
    assert (added.severity, added.status, added.side) == ("low", "fail", "declared")
    assert added.resource.kind == "Waiver"
    assert added.resource.name == "memory-limits Deployment/app/api [web]"
    assert added.runbook == ""
    assert added.fingerprint == fingerprint(WAIVER_EXPIRED, "prod", "Waiver", None,
                                            "memory-limits Deployment/app/api [web]", None)


def test_an_expired_waiver_that_covered_nothing_gives_no_count() -> None:
    added = _run(_report(_finding("api")), _waiver("Deployment/app/other",
                                                   expires=date(2026, 6, 1), line=None))
    assert added.message == ("waivers.yaml: the waiver of memory-limits Deployment/app/other "
                             "(owner team-shop) expired on 2026-06-01; it no longer applies")


def test_a_waiver_matching_nothing_says_so() -> None:
    added = _run(_report(_finding("api")), _waiver("Deployment/app/other", line=7))
    assert added.policy == WAIVER_STALE
    assert added.title == "Waiver matches nothing"
    assert added.message == ("waivers.yaml:7: the waiver of memory-limits Deployment/app/other "
                             "(owner team-shop) matches no finding: the finding was fixed, or "
                             "the pattern is wrong")
    assert added.remediation.text == ("Remove the waiver, or correct its policy, resource or "
                                      "environments.")
    assert added.resource.kind == "Waiver"


def test_a_second_waiver_of_the_same_finding_names_the_first() -> None:
    first = _waiver("Deployment/app/api", line=3)
    second = _waiver("Deployment/app/*", line=9, file="more.yaml")
    added = _run(_report(_finding("api")), first, second)
    assert added.policy == WAIVER_STALE
    assert added.title == "Waiver duplicates another"
    assert added.message == ("more.yaml:9: the waiver of memory-limits Deployment/app/* "
                             "(owner team-shop) covers nothing: every finding it matches is "
                             "already covered by the waiver at waivers.yaml:3")
    assert added.remediation.text == "Remove one of the two waivers."


def test_an_item_glob_for_any_container_does_not_cover_a_resource_level_finding() -> None:
    waiver = _waiver("Deployment/app/api", item="?*")
    assert not waiver.matches(_finding("api"))
    assert waiver.matches(_finding("api", item="web"))


def test_a_waiver_whose_policy_errored_there_is_not_called_stale() -> None:
    errored = _finding("api").model_copy(update={"status": "error"})
    report = _report(errored)
    apply(report, [_waiver("Deployment/app/api")], TODAY, {"memory-limits": ["declared"]})
    assert _added(report) == []
    assert [s.state for s in report.waivers] == ["active"]


def test_the_waiver_states_keep_the_item_and_the_line() -> None:
    report = _report(_finding("api", item="web"))
    apply(report, [_waiver("Deployment/app/api", item="web", line=12)], TODAY,
          {"memory-limits": ["declared"]})
    (state,) = report.waivers
    assert (state.state, state.item, state.line, state.matched) == ("active", "web", 12, 1)
    assert state.file == "waivers.yaml"


def _load(tmp_path: Path, text: str, envs: tuple[str, ...] = ("prod",)) -> list[Waiver]:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return load(path, "waivers.yaml", ["memory-limits"], environments=envs)


def test_an_empty_waiver_file_waives_nothing(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == []
    assert _load(tmp_path, "# nothing waived yet\n") == []


def test_a_missing_waiver_file_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^gone\.yaml: cannot read waiver file: "):
        load(tmp_path / "gone.yaml", "gone.yaml", ["memory-limits"])


def test_a_waiver_file_that_is_not_a_mapping_says_what_it_should_be(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "- policy: memory-limits\n")
    assert str(err.value) == ("waivers.yaml:1: a waiver file is a mapping with a 'waivers' "
                              "list")


ENTRY = """\
waivers:
  - resource: Deployment/app/api
    environments: [{env}]
    reason: Sized by the vendor.
    owner: team-shop
    expires: 2026-12-31
    policy: {policy}
"""


def test_an_unknown_policy_is_reported_on_its_own_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, ENTRY.format(env="prod", policy="no-such-policy"))
    assert str(err.value).startswith("waivers.yaml:7: waivers[0].policy: no policy "
                                     "'no-such-policy'")


def test_an_unknown_environment_lists_the_defined_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, ENTRY.format(env="qa", policy="memory-limits"), ("prod", "staging"))
    assert str(err.value) == ("waivers.yaml:3: waivers[0].environments[0]: no environment "
                              "'qa' in the config (defined: prod, staging)")


def test_a_loaded_waiver_keeps_the_line_of_its_entry(tmp_path: Path) -> None:
    (waiver,) = _load(tmp_path, ENTRY.format(env="prod", policy="memory-limits"))
    assert (waiver.file, waiver.line) == ("waivers.yaml", 2)
