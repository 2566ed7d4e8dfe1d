"""The embedded example: every planted defect is found, at the line to change, and
nothing else fails. What it should report is read from examples/chess-ai/README.md (its
tables and sections, through tests/example_readme.py), never listed here."""

from __future__ import annotations

from typing import Any

import pytest

from auditor import config, pipeline, policies
from tests import example_readme as readme
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

PACK = {p.id for p in policies.load_all([])}


@pytest.fixture(scope="module")
def report() -> Any:
    cfg = config.load(str(EXAMPLE))
    return pipeline.scan(cfg, policies.load_all([]), pipeline.ScanOptions())


def _key(f: Any) -> tuple[str, str, str]:
    return (f.policy, readme.resource_key(f.resource.kind, f.resource.name, f.item),
            f"{f.location.file}:{f.location.line}")


def test_the_readme_names_real_policies() -> None:
    """Each table and section of the README the tests read says something: a typo in a
    policy id would make a test expect a finding no policy can give."""
    planted, drift = readme.planted(), readme.drift()
    unknown = readme.unknown_offline()
    assert planted and drift and unknown
    named = {r.policy for r in planted} | {r.policy for r in drift} | unknown
    assert named <= PACK, sorted(named - PACK)
    assert readme.expected_to_pass(PACK)


def test_every_planted_defect_fails_at_its_line_and_nothing_else(report: Any) -> None:
    failing = [_key(f) for f in report.findings if f.status == "fail"]
    assert len(failing) == len(set(failing))
    assert set(failing) == {r.key for r in readme.planted()}


def test_no_errors_and_only_honest_unknowns(report: Any) -> None:
    assert not [f for f in report.findings if f.status == "error"]
    unknown = {f.policy: f.message for f in report.findings if f.status == "unknown"}
    # Instance type capacity is not known offline; the live audit (or a parameter) says it.
    assert set(unknown) == readme.unknown_offline()
    assert "m6i.xlarge" in unknown["nodegroup-capacity"]


def test_passing_checks_are_counted(report: Any) -> None:
    passes = report.summary.passes
    for policy in readme.expected_to_pass(PACK):
        assert passes.get(policy, 0) >= 1, policy


def test_remediation_commands_carry_the_real_names(report: Any) -> None:
    by_policy = {f.policy: f for f in report.findings}
    rds = by_policy["rds-backups"].remediation.commands[0]
    assert "--db-instance-identifier chess-ai-prod" in rds
    assert "--cluster-name chess-ai-prod" in " ".join(
        by_policy["nodegroup-headroom"].remediation.commands)
    assert "--nodegroup-name general" in " ".join(
        by_policy["nodegroup-headroom"].remediation.commands)
    # The sidecar's resources are no values key of their own (sidecars[0] is a list item):
    # the fix names the container, never another container's --set key.
    fix = by_policy["memory-limits"].remediation.commands[0]
    assert fix.startswith("kubectl set resources deployment/chess-ai -c log-shipper ")
    assert "-n chess-ai" in fix and "--set" not in fix
    # Every name the example declares is filled in: no "<db-instance-id>"-style placeholder.
    for f in (f for f in report.findings if f.status == "fail"):
        for command in f.remediation.commands:
            for placeholder in pipeline.PLACEHOLDERS.values():
                assert placeholder not in command, (f.policy, command)


def test_fingerprints_are_stable_and_unique(report: Any) -> None:
    again = pipeline.scan(config.load(str(EXAMPLE)), policies.load_all([]),
                          pipeline.ScanOptions())
    first = [f.fingerprint for f in report.findings]
    assert first == [f.fingerprint for f in again.findings]
    assert len(set(first)) == len(first)


def test_nodegroup_capacity_with_allocatable_given_counts_whole_pods() -> None:
    """6 x m6i.xlarge hold 24 vCPU / 84 GiB allocatable: enough in sum for 20 pods of
    1 vCPU / 4Gi, but only 3 such pods fit on one node, so 18 < 20 fails."""
    cfg = config.load(str(EXAMPLE))
    cfg.environments["prod"].params["instance_types"] = {
        "m6i.xlarge": {"cpu": "3920m", "memory": "14Gi"}}
    report = pipeline.scan(cfg, policies.load_all([]), pipeline.ScanOptions())
    (finding,) = [f for f in report.findings if f.policy == "nodegroup-capacity"]
    assert finding.status == "fail"
    assert "18" in finding.message and "20" in finding.message
