"""Pre-rendered manifests: every unreadable file or document is a located problem, never a
crash, and the other documents are still audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.config import load
from auditor.sources import manifests
from auditor.sources.base import Collected

Project = Callable[[dict[str, str]], Path]

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"


def _collect(project: Project, files: dict[str, str]) -> Collected:
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n"
                                    "    manifests: [m]\n", **files})
    config = load(str(root))
    return manifests.collect(config, "prod", config.environments["prod"])


def test_non_utf8_file_is_a_problem_with_its_line(project: Project) -> None:
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n"
                                    "    manifests: [m]\n", "m/a.yaml": CM})
    (root / "m" / "b.yaml").write_bytes(b"kind: ConfigMap\nmetadata: {name: caf\xe9}\n")
    config = load(str(root))
    out = manifests.collect(config, "prod", config.environments["prod"])
    assert [r.name for r in out.resources] == ["ok"]
    (problem,) = out.problems
    assert problem.location.file == "m/b.yaml" and problem.location.line == 2
    assert "not UTF-8" in problem.message


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("kind: List\nitems:\n  - 1\n  - x\n", 3, "items[0] is not a Kubernetes object"),
    ("kind: List\nitems:\n  - {metadata: {name: a}}\n", 3, "no kind"),
    ("- a\n- b\n", 1, "a list, not a mapping"),
    ("just text\n", 1, "a string, not a mapping"),
    ("kind: ConfigMap\nx: .inf\n", 2, "cannot store .inf"),
    ("kind: ConfigMap\nx: !!int abc\n", 2, "cannot decode !!str 'abc' as a !!int"),
    ("kind: ConfigMap\n~: x\n", 2, "a null mapping key"),
    ("---apiVersion: v1\nkind: ConfigMap\n", 1, "invalid YAML document separator"),
    ("kind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n", 3, "duplicate key 'kind'"),
])
def test_bad_documents_are_located_problems(project: Project, text: str, line: int,
                                            fragment: str) -> None:
    out = _collect(project, {"m/a.yaml": CM, "m/b.yaml": "---\n" + text})
    assert [r.name for r in out.resources] == ["ok"]
    problem = out.problems[0]  # the first of them
    assert problem.location.file == "m/b.yaml" and problem.location.line == line + 1
    assert fragment in problem.message


def test_list_items_become_resources_with_their_lines() -> None:
    text = ("kind: List\nitems:\n  - kind: ConfigMap\n    metadata: {name: a}\n"
            "  - 7\n  - kind: Secret\n    metadata: {name: b}\n")
    out = manifests.parse(text, "l.yaml", "manifest l.yaml", "ns", line_offset=10)
    assert [(r.kind, r.name, r.location and r.location.line) for r in out.resources] == [
        ("ConfigMap", "a", 13), ("Secret", "b", 16)]
    assert [(p.location.line, p.message) for p in out.problems] == [
        (15, "items[1] is not a Kubernetes object (a number, not a mapping)")]


def test_merge_keys_in_manifests(project: Project) -> None:
    text = ("kind: Deployment\nmetadata: {name: web}\nx-defaults: &limits\n"
            "  memory: 1Gi\nspec:\n  resources:\n    <<: *limits\n    cpu: 1\n")
    out = _collect(project, {"m/a.yaml": text})
    (dep,) = out.resources
    assert dep.body["spec"]["resources"] == {"memory": "1Gi", "cpu": 1}
    loc = dep.field_locations[("spec", "resources", "memory")]
    assert (loc.file, loc.line) == ("m/a.yaml", 4)


def test_alias_bomb_is_a_problem(project: Project) -> None:
    lines = ["kind: ConfigMap", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    out = _collect(project, {"m/a.yaml": CM, "m/b.yaml": "\n".join(lines) + "\n"})
    assert [r.name for r in out.resources] == ["ok"]
    assert "too many nodes" in out.problems[0].message
