"""The Helm source renders with Helm's engine and locates fields at the values lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.config import load
from auditor.models import Resource
from auditor.sources import helm, helm_render
from auditor.sources.helm_values import merge, parse_set_key
from tests.conftest import EXAMPLE

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "chart/values.yaml": """
        image: {repository: web, tag: "1.0"}
        resources:
          limits: {memory: 1Gi}
        probes:
          readiness: {path: /ready, initialDelaySeconds: 10}
          liveness: {path: /live, initialDelaySeconds: 10}
        """,
    "chart/templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
                  readinessProbe:
                    httpGet: {path: {{ .Values.probes.readiness.path }}, port: 80}
                    initialDelaySeconds: {{ .Values.probes.readiness.initialDelaySeconds }}
                  livenessProbe:
                    httpGet: {path: {{ .Values.probes.liveness.path }}, port: 80}
                    initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
        """,
    "values-prod.yaml": """
        # production
        resources:
          limits:
            memory: 8Gi
        """,
    "auditor.yaml": """
        service: web
        environments:
          prod:
            helm:
              chart: chart
              release: web-prod
              namespace: web
              values: [values-prod.yaml]
              set: {image.tag: "2.0"}
        """,
}


def _deployment(resources: list[Resource]) -> Resource:
    return next(r for r in resources if r.kind == "Deployment")


def test_renders_with_values_files_and_set(project: Callable[[dict[str, str]], Path]) -> None:
    config = load(str(project(CHART)))
    out = helm.collect(config, "prod", config.environments["prod"])
    assert out.problems == []
    dep = _deployment(out.resources)
    assert dep.name == "web-prod" and dep.namespace == "web"
    container = dep.body["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "web:2.0"  # set wins over values
    assert container["resources"]["limits"]["memory"] == "8Gi"  # later file wins
    assert out.names["release"] == "web-prod" and out.names["deployment"] == "web-prod"


def test_fields_point_at_the_values_line_that_set_them(
        project: Callable[[dict[str, str]], Path]) -> None:
    config = load(str(project(CHART)))
    dep = _deployment(helm.collect(config, "prod", config.environments["prod"]).resources)
    base = ("spec", "template", "spec", "containers", 0)
    memory = dep.locate((*base, "resources", "limits", "memory"))
    assert (memory.file, memory.line) == ("values-prod.yaml", 4)  # type: ignore[union-attr]
    # Same value 10 in two places: the key names decide (readinessProbe ~ probes.readiness).
    delay = dep.locate((*base, "readinessProbe", "initialDelaySeconds"))
    assert (delay.file, delay.line) == ("chart/values.yaml", 5)  # type: ignore[union-attr]
    # A missing field falls back to its nearest located parent.
    missing = dep.locate((*base, "resources", "requests", "memory"))
    assert missing is not None and missing.file == "values-prod.yaml"
    # Fields no values key explains point at the template line that writes them.
    name = dep.locate((*base, "name"))
    assert (name.file, name.line) == ("chart/templates/deployment.yaml", 11)  # type: ignore[union-attr]


def test_values_resource_keeps_merged_values(project: Callable[[dict[str, str]], Path]) -> None:
    config = load(str(project(CHART)))
    values = next(r for r in helm.collect(config, "prod", config.environments["prod"]).resources
                  if r.kind == "HelmValues")
    assert values.body["image"]["tag"] == "2.0"
    assert values.locate(("image", "tag")).file == "auditor.yaml"  # type: ignore[union-attr]


def test_template_error_names_template_and_line(
        project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    files["chart/templates/bad.yaml"] = "kind: ConfigMap\ndata:\n  x: {{ .Values.nope.deeper }}\n"
    config = load(str(project(files)))
    out = helm.collect(config, "prod", config.environments["prod"])
    assert out.resources == []
    (problem,) = out.problems
    assert problem.location.file == "chart/templates/bad.yaml"
    assert problem.location.line == 3
    assert "nil pointer" in problem.message


def test_bad_values_file_is_a_located_problem(project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    files["values-prod.yaml"] = "resources:\n  limits: [1,\n"
    config = load(str(project(files)))
    out = helm.collect(config, "prod", config.environments["prod"])
    (problem,) = out.problems
    assert problem.location.file == "values-prod.yaml" and problem.location.line == 2


def test_missing_values_file(project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    del files["values-prod.yaml"]
    config = load(str(project(files)))
    (problem,) = helm.collect(config, "prod", config.environments["prod"]).problems
    assert problem.location.file == "values-prod.yaml"
    assert "No such file" in problem.message


def test_no_engine_names_both_and_manifests(monkeypatch: pytest.MonkeyPatch,
                                            project: Callable[[dict[str, str]], Path]) -> None:
    real_find_spec = helm_render.importlib.util.find_spec

    def no_sdk(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "helm_python" else real_find_spec(name)

    monkeypatch.setattr(helm_render.importlib.util, "find_spec", no_sdk)
    monkeypatch.setattr(helm_render.shutil, "which", lambda _: None)
    config = load(str(project(CHART)))
    (problem,) = helm.collect(config, "prod", config.environments["prod"]).problems
    assert "helm" in problem.message and "helm-python-sdk" not in problem.message
    assert "runbook-auditor[helm]" in problem.message and "manifests:" in problem.message


def test_example_chart_renders() -> None:
    config = load(str(EXAMPLE))
    out = helm.collect(config, "prod", config.environments["prod"])
    assert out.problems == []
    kinds = sorted(r.kind for r in out.resources)
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "Ingress",
            "PersistentVolumeClaim", "StorageClass", "HelmValues"} <= set(kinds)
    sidecar = _deployment(out.resources).locate(("spec", "template", "spec", "containers", 1))
    assert sidecar is not None and sidecar.file == "helm/values-prod.yaml"


def test_helm_merge_semantics() -> None:
    base = {"a": {"b": 1, "c": 2}, "l": [1, 2], "gone": 1}
    assert merge(base, {"a": {"b": 3}, "l": [9], "gone": None}) == {"a": {"b": 3, "c": 2},
                                                                     "l": [9]}
    assert base["a"] == {"b": 1, "c": 2}  # inputs untouched
    assert parse_set_key(r"a.b\.c[0].d") == ("a", "b.c", 0, "d")


def test_null_in_a_values_file_deletes_the_chart_default(
        project: Callable[[dict[str, str]], Path]) -> None:
    """As Helm does: `limits: null` in prod removes the chart's limits, even though Helm
    coalesces the chart's defaults after the user's files."""
    files = dict(CHART)
    files["values-prod.yaml"] = "resources:\n  limits: null\n  requests: {memory: 1Gi}\n"
    config = load(str(project(files)))
    out = helm.collect(config, "prod", config.environments["prod"])
    container = _deployment(out.resources).body["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"memory": "1Gi"}}
    values = next(r for r in out.resources if r.kind == "HelmValues")
    assert "limits" not in values.body["resources"]


def test_ambiguous_values_fall_back_to_the_template(
        project: Callable[[dict[str, str]], Path]) -> None:
    """Two workloads render the same value from two different keys: neither key can be
    told apart by name, so the finding points at the template, not at a guess."""
    files = {
        "chart/Chart.yaml": "apiVersion: v2\nname: two\nversion: 0.1.0\n",
        "chart/values.yaml": "web:\n  revisionHistoryLimit: 1\n"
                             "worker:\n  revisionHistoryLimit: 1\n",
        "chart/templates/web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                    "  name: web\nspec:\n  revisionHistoryLimit: "
                                    "{{ .Values.web.revisionHistoryLimit }}\n",
        "auditor.yaml": "service: s\nenvironments:\n  prod:\n    helm: {chart: chart, "
                        "release: r}\n",
    }
    config = load(str(project(files)))
    dep = _deployment(helm.collect(config, "prod", config.environments["prod"]).resources)
    where = dep.locate(("spec", "revisionHistoryLimit"))
    assert where is not None and where.file == "chart/templates/web.yaml" and where.line == 6


def test_missing_chart_dependency_is_reported(project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    files["chart/Chart.yaml"] = ("apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n"
                                 "  - name: redis\n    version: 1.0.0\n"
                                 "    repository: https://charts.example.com\n")
    config = load(str(project(files)))
    out = helm.collect(config, "prod", config.environments["prod"])
    (problem,) = out.problems
    assert problem.location.file == "chart/Chart.yaml"
    assert "redis" in problem.message and "helm dependency build" in problem.message
    assert out.resources == []


def test_invalid_rendered_yaml_names_the_template_not_a_wrong_line(
        project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    files["chart/templates/broken.yaml"] = "kind: ConfigMap\ndata:\n  x: [unclosed\n"
    config = load(str(project(files)))
    out = helm.collect(config, "prod", config.environments["prod"])
    (problem,) = out.problems
    assert problem.location.file == "chart/templates/broken.yaml"
    assert problem.location.line is None and "of the rendered output" in problem.message
    assert any(r.kind == "Deployment" for r in out.resources)  # the other templates still count


def test_set_with_a_list_index_changes_one_element_like_helm() -> None:
    from auditor.sources.helm_values import Values

    values = Values()
    values.apply({"sidecars": [{"name": "log", "image": "fluent/fluent-bit", "args": ["-i"]}]},
                 {}, "values.yaml")
    values.apply_set({"sidecars[0].image": "fluent/fluent-bit:3.1"}, "auditor.yaml", {})
    assert values.user["sidecars"] == [{"name": "log", "image": "fluent/fluent-bit:3.1",
                                        "args": ["-i"]}]
    values.apply_set({"extra[2]": "c"}, "auditor.yaml", {})
    assert values.user["extra"] == [None, None, "c"]


def test_set_index_is_capped_like_helm() -> None:
    with pytest.raises(ValueError, match="above 65536"):
        parse_set_key("a[50000000]")


def test_a_chart_that_refuses_its_values_says_so_with_its_own_message(
        project: Callable[[dict[str, str]], Path]) -> None:
    files = dict(CHART)
    files["chart/templates/secret.yaml"] = (
        "kind: Secret\ndata:\n  password: {{ required \"db.password is required\" "
        "(.Values.db).password }}\n")
    config = load(str(project(files)))
    (problem,) = helm.collect(config, "prod", config.environments["prod"]).problems
    assert problem.message == "the chart refused these values: db.password is required"
    assert (problem.location.file, problem.location.line) == ("chart/templates/secret.yaml", 3)
