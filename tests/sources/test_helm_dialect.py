"""Charts read as Helm and Kubernetes read them: Helm's document splitting of rendered
output, Go's scalars in rendered manifests and in values files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditor.config import load
from auditor.models import Resource
from auditor.sources import helm
from auditor.sources.yaml_stream import Piece, split_helm, split_kubectl

Project = Callable[[dict[str, str]], Path]

BASE = {
    "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "chart/values.yaml": "enabled: true\n",
    "auditor.yaml": """
        service: app
        environments:
          prod:
            helm: {chart: chart, release: app, namespace: app, values: [values-prod.yaml]}
        """,
    "values-prod.yaml": "{}\n",
}

# cert-manager's templates/rbac.yaml writes its comments straight after the separator.
RBAC = """\
---# Permission to approve CertificateRequests
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: approve
rules: []
---# Permission to sign
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: sign
rules: []
"""

# prometheus-operator's CRDs list a plain `=` among the label-matcher operators.
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: matchers.example.com
spec:
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          properties:
            matchType:
              enum:
                - '!='
                - =
                - =~
              type: string
"""


def _collect(project: Project, files: dict[str, str]) -> tuple[list[Resource], list[str]]:
    config = load(str(project({**BASE, **files})))
    out = helm.collect(config, "prod", config.environments["prod"])
    return [r for r in out.resources if r.kind != "HelmValues"], [
        f"{p.location.file}:{p.location.line}: {p.message}" for p in out.problems]


def test_a_comment_right_after_the_separator_starts_a_document(project: Project) -> None:
    resources, problems = _collect(project, {"chart/templates/rbac.yaml": RBAC})
    assert problems == []
    assert [r.name for r in resources] == ["approve", "sign"]
    # Each object is searched in its own document of the template, not from the top.
    sign = resources[1].locate(("metadata", "name"))
    assert sign is not None and (sign.file, sign.line) == ("chart/templates/rbac.yaml", 11)
    assert resources[1].location.line == 7  # type: ignore[union-attr]


def test_a_bad_document_is_one_problem_at_its_rendered_line(project: Project) -> None:
    broken = RBAC.replace("rules: []\n---# Permission to sign", "rules: [\n---# Permission")
    resources, problems = _collect(project, {"chart/templates/rbac.yaml": broken})
    assert [r.name for r in resources] == ["sign"]  # the next document is still read
    (problem,) = problems
    assert problem.startswith("chart/templates/rbac.yaml:None: invalid YAML")
    assert "line 6 of the rendered output" in problem  # `rules: [`, never closed


def test_a_plain_equals_sign_in_a_crd_enum_is_the_string(project: Project) -> None:
    resources, problems = _collect(project, {"chart/templates/crd.yaml": CRD})
    assert problems == []
    (crd,) = resources
    schema = crd.body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["properties"]["matchType"]["enum"] == ["!=", "=", "=~"]


def test_values_files_are_read_with_gos_scalars(project: Project) -> None:
    template = """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data:
          window: {{ .Values.window | quote }}
          size: {{ .Values.size | quote }}
          tag: {{ .Values.tag | quote }}
          mode: {{ .Values.mode | quote }}
        {{- if .Values.enabled }}
          enabled: "yes"
        {{- end }}
        """
    values = ("enabled: n\n"  # Go: false (YAML 1.1: the string "n", which is truthy)
              "window: 1:30\n"  # Go: the text (YAML 1.1: 90)
              "size: 0o17\n"  # Go: 15 (YAML 1.1: the text)
              "tag: '1e3'\n"  # quoted: a string that must reach Helm as a string
              "mode: =\n")  # YAML 1.1: a !!value tag, an error
    resources, problems = _collect(project, {"chart/templates/cm.yaml": template,
                                             "values-prod.yaml": values})
    assert problems == []
    (cm,) = resources
    assert cm.body["data"] == {"window": "1:30", "size": "15", "tag": "1e3", "mode": "="}


def test_values_files_follow_helm_on_duplicates_and_documents(project: Project) -> None:
    values = "size: 1\nsize: 2\n---\nsize: 3\n"  # Helm: the last key, the first document
    config = load(str(project({**BASE, "values-prod.yaml": values})))
    out = helm.collect(config, "prod", config.environments["prod"])
    assert out.problems == []
    (merged,) = [r for r in out.resources if r.kind == "HelmValues"]
    assert merged.body["size"] == 2
    assert merged.locate(("size",)).line == 2  # type: ignore[union-attr]


def test_a_value_helm_cannot_store_is_a_problem_at_its_line(project: Project) -> None:
    _, problems = _collect(project, {"values-prod.yaml": "a: 1\nratio: .inf\n"})
    (problem,) = problems
    assert problem.startswith("values-prod.yaml:2: invalid YAML: Kubernetes and Helm cannot "
                              "store .inf")


def test_helm_split_keeps_lines_and_cuts_whatever_follows_the_dashes() -> None:
    text = "\n\n---\n# Source: x\na: 1\n---# c\nb: 2\n----\n---kind: X\n---   \n\n"
    assert split_helm(text) == [Piece("# Source: x\na: 1\n", 3), Piece("# c\nb: 2\n", 5),
                                Piece("-\n", 7), Piece("kind: X\n", 8)]


def test_kubectl_split_accepts_comments_and_refuses_anything_else() -> None:
    text = "a: 1\r\n---  # c\nb: 2\n---kind: X\nc: 3\n---\nd: 4"
    pieces = split_kubectl(text)
    assert [p.text for p in pieces] == ["a: 1\r\n", "b: 2\n", "", "d: 4"]
    assert [p.line for p in pieces] == [0, 2, 3, 6]
    assert pieces[2].error is not None and "'kind: X'" in pieces[2].error
