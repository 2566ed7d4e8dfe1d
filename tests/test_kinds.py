"""A policy names kinds the sources produce, or a custom resource as Kind.group."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import kinds
from auditor.errors import PolicyError
from auditor.live import kubernetes
from auditor.live.aws import KINDS as AWS_KINDS
from auditor.models import Inventory, Resource
from auditor.policies import load_dir
from auditor.terraform.shapes import KINDS as TERRAFORM_KINDS


def test_the_live_kinds_are_what_the_live_collectors_read() -> None:
    from auditor.live import tls

    assert {*kubernetes.KINDS, *AWS_KINDS, *tls.KINDS, "HelmValues"} == kinds.LIVE


def test_a_live_policy_on_a_kind_the_live_side_does_not_read_does_not_load(
        tmp_path: Path) -> None:
    text = (POLICY.replace("KIND", "NetworkPolicy").replace("  each: EACH\n", "")
            .replace("sides: [declared]", "sides: [declared, live]"))
    (tmp_path / "typo.yaml").write_text(text.replace("each: EACH", "each: containers"))
    with pytest.raises(PolicyError, match="the live side does not read NetworkPolicy"):
        load_dir(tmp_path)


def test_every_kind_a_source_produces_is_known() -> None:
    produced = {*kubernetes.KINDS, *AWS_KINDS, *TERRAFORM_KINDS.values(), "HelmValues",
                "TLSEndpoint"}
    assert produced <= kinds.KNOWN


@pytest.mark.parametrize(("kind", "fragment"), [
    ("Deploymnet", "did you mean Deployment?"),
    ("deployment", "did you mean Deployment?"),
    ("ServiceMonitor", "written Kind.group"),
    ("ServiceMonitor.monitoring", "written Kind.group"),  # a group has a dot
])
def test_an_unknown_kind_is_named_with_a_suggestion(kind: str, fragment: str) -> None:
    why = kinds.problem(kind)
    assert why is not None and fragment in why


@pytest.mark.parametrize("kind", ["Deployment", "DBInstance", "HelmValues",
                                  "ServiceMonitor.monitoring.coreos.com"])
def test_known_and_custom_kinds_are_accepted(kind: str) -> None:
    assert kinds.problem(kind) is None


def test_a_custom_kind_matches_its_group_only() -> None:
    def obj(api: str) -> Resource:
        return Resource(kind="ServiceMonitor", name=api, body={"apiVersion": api},
                        source="m")

    inventory = Inventory(environment="prod", side="declared", resources=[
        obj("monitoring.coreos.com/v1"), obj("other.example.com/v1"), obj("v1")])
    found = inventory.of_kind("ServiceMonitor.monitoring.coreos.com")
    assert [r.name for r in found] == ["monitoring.coreos.com/v1"]


POLICY = """\
id: typo
title: t
severity: low
description: d
runbook: {section: s, anchor: a/#b}
sides: [declared]
applies_to: {kinds: [KIND], each: EACH}
condition: {missing: spec.x}
message: m
remediation: {text: r}
examples:
  pass: [{name: p, resources: [{kind: Deployment, metadata: {name: a}, spec: {x: 1}}]}]
  fail: [{name: f, resources: [{kind: Deployment, metadata: {name: a}, spec: {}}]}]
"""


@pytest.mark.parametrize(("kind", "each", "fragment"), [
    ("Deploymnet", "containers", ":7: applies_to.kinds: unknown kind 'Deploymnet': did you mean"),
    ("Deployment", "container", ":7: applies_to.each: unknown 'container'"),
    ("Deployment", "spec.rules", ":7: applies_to.each: unknown 'spec.rules'"),
])
def test_a_policy_naming_an_unknown_kind_or_each_does_not_load(
        tmp_path: Path, kind: str, each: str, fragment: str) -> None:
    (tmp_path / "typo.yaml").write_text(POLICY.replace("KIND", kind).replace("EACH", each))
    with pytest.raises(PolicyError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_dir(tmp_path)


def test_each_accepts_a_list_path_written_with_a_star(tmp_path: Path) -> None:
    (tmp_path / "typo.yaml").write_text(POLICY.replace("KIND", "Deployment")
                                        .replace("EACH", "'spec.rules[*]'"))
    assert [p.id for p in load_dir(tmp_path)] == ["typo"]


def test_an_unknown_findings_remediation_names_its_item(tmp_path: Path) -> None:
    from auditor import engine
    from auditor.unknown import Unknown

    text = (POLICY.replace("KIND", "Deployment").replace("EACH", "containers")
            .replace("condition: {missing: spec.x}", "condition: {matches: [image, latest]}")
            .replace("remediation: {text: r}", "remediation: {text: 'pin {{ item.name }}'}"))
    (tmp_path / "typo.yaml").write_text(text)
    (policy,) = load_dir(tmp_path)
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": Unknown("known after apply")}]}}}}
    inv = Inventory(environment="prod", side="declared", resources=[
        Resource(kind="Deployment", name="a", body=body, source="t")])
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "unknown" and result.remediation_text == "pin app"
