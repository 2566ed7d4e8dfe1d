"""Where a rendered field is located: the values key that set it, else its template line,
found key by key below its parent's line (helm_attribution's indexes answer as a scan would)."""

from __future__ import annotations

import textwrap
from typing import Any

from auditor.models import Location
from auditor.paths import Path
from auditor.sources.helm_attribution import Attribution
from auditor.sources.helm_values import Values


def _values(data: dict[str, Any] | None = None, lines: dict[Path, int] | None = None
            ) -> Values:
    values = Values()
    if data is not None:
        values.apply(data, lines or {}, "values.yaml")
    return values


def _locate(body: dict[str, Any], template: str, values: Values | None = None
            ) -> dict[Path, Location]:
    text = textwrap.dedent(template).lstrip("\n")
    return Attribution(values or _values()).locate(body, "t.yaml", text)


def _lines(out: dict[Path, Location]) -> dict[Path, int | None]:
    return {path: loc.line for path, loc in out.items()}


def test_a_key_is_the_first_line_after_its_parents() -> None:
    out = _locate({"metadata": {"name": "top"},
                   "spec": {"replicas": 1, "template": {"metadata": {"name": "pod"}}}}, """
        metadata:
          name: top
        spec:
          replicas: 1
          template:
            metadata:
              name: pod
            spec:
              replicas: 2
        """)
    assert _lines(out) == {(): 1, ("metadata",): 1, ("metadata", "name"): 2, ("spec",): 3,
                           ("spec", "replicas"): 4, ("spec", "template"): 5,
                           ("spec", "template", "metadata"): 6,
                           ("spec", "template", "metadata", "name"): 7}
    assert out[("spec", "replicas")].literal


def test_a_line_with_two_colons_starts_two_keys() -> None:
    # `a: b: c` is key `a` and key `a: b`; `a: b` alone is only key `a`.
    out = _locate({"a: b": 1, "a": 2, "x": {"a: b": 3, "a": 4, "a: c": 5}}, """
        a: b
        a: b: c
        x:
          a: b: d
        """)
    assert _lines(out) == {(): 1, ("a: b",): 2, ("a",): 1, ("x",): 3, ("x", "a: b"): 4,
                           ("x", "a"): 4, ("x", "a: c"): 3}
    assert not out[("x", "a: c")].literal  # not written in the template: its parent's line


def test_a_named_item_is_the_one_whose_own_name_line_says_so() -> None:
    # Three written items, one rendered: `web` is the second item's own `name:` (quoted),
    # not the first item's env entry of that name (a deeper column).
    out = _locate({"containers": [{"name": "web", "image": "web:1"}]}, """
        containers:
          - name: sidecar
            env:
              - name: web
          - name: "web"
            image: web:1
          - name: {{ .Values.extra.name }}
        """)
    assert out[("containers", 0)].line == 5
    assert out[("containers", 0, "name")].line == 5
    assert out[("containers", 0, "image")].line == 6
    assert out[("containers", 0, "image")].literal
    # Items whose keys start at different columns: each is read at its own.
    out = _locate({"containers": [{"name": "web"}]}, """
        containers:
          - image: a
            sidecar:
              name: web
          -   name: web
        """)
    assert out[("containers", 0)].line == 5


def test_the_first_item_of_that_name_wins() -> None:
    out = _locate({"ports": [{"name": "http", "port": 81}]}, """
        ports:
          - port: 80
            name: http
          - name: http
            port: 81
        """)
    assert out[("ports", 0)].line == 2
    assert out[("ports", 0, "port")].line == 2


def test_unnamed_items_are_matched_by_count_else_stay_at_the_list() -> None:
    template = """
        ports:
          - containerPort: 80
            protocol: TCP
          - containerPort: 443
            protocol: TCP
        """
    ports = [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}]
    out = _locate({"ports": ports}, template)
    assert out[("ports", 1)].line == 4
    assert out[("ports", 1, "protocol")].line == 5
    more = _locate({"ports": [*ports, {"containerPort": 8080}]}, template)
    assert {more[("ports", i, "containerPort")].line for i in range(3)} == {1}
    assert not more[("ports", 1, "containerPort")].literal


def test_one_written_item_writes_every_rendered_one() -> None:
    out = _locate({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}, """
        env:
          {{- range .Values.env }}
          - name: {{ .name }}
            value: {{ .value | quote }}
          {{- end }}
        """)
    assert [out[("env", i, "value")].line for i in range(2)] == [4, 4]
    assert not out[("env", 1, "value")].literal  # the line is a template action's


def test_an_item_that_names_itself_writes_only_that_one_not_an_included_one() -> None:
    # Jenkins' chart: the controller container is written here, the reloader sidecar by an
    # include; the sidecar's resources are not the controller's lines.
    body = {"containers": [{"name": "app", "resources": {}},
                           {"name": "reloader", "resources": {}}]}
    out = _locate(body, """
        containers:
          - name: app
            resources: {}
        {{- include "sidecar" . | nindent 2 }}
        """)
    assert out[("containers", 0, "resources")].line == 3
    assert out[("containers", 1, "resources")].line == 1  # the list's line, not app's
    quoted = _locate(body, """
        containers:
          - image: nginx
            name: "reloader"
            resources: {}
        {{- include "app" . | nindent 2 }}
        """)
    assert quoted[("containers", 1, "resources")].line == 4
    assert quoted[("containers", 0, "resources")].line == 1
    commented = _locate(body, """
        containers:
          - name: app  # the controller
            resources: {}
        {{- include "sidecar" . | nindent 2 }}
        """)
    assert commented[("containers", 0, "resources")].line == 3


def test_an_item_without_a_name_of_its_own_writes_every_rendered_one() -> None:
    # The name below belongs to the next list's item, not to this one: still a `range`.
    out = _locate({"env": [{"value": "1"}, {"value": "2"}],
                   "ports": [{"name": "http"}]}, """
        env:
          {{- range .Values.env }}
          - value: {{ . | quote }}
          {{- end }}
        ports:
          - name: http
        """)
    assert [out[("env", i, "value")].line for i in range(2)] == [3, 3]


def test_a_key_absent_below_its_parent_keeps_the_parents_line() -> None:
    # `limits:` above spec is not below resources: the rendered limits came from toYaml.
    out = _locate({"spec": {"resources": {"limits": {"memory": "1Gi"}}, "replicas": 2}}, """
        limits:
        spec:
          resources:
            {{- toYaml .Values.resources | nindent 4 }}
          replicas: 2
        """)
    assert out[("spec", "resources", "limits")].line == 3
    assert out[("spec", "resources", "limits", "memory")].line == 3
    assert not out[("spec", "resources", "limits", "memory")].literal
    assert out[("spec", "replicas")].line == 5


def test_two_values_keys_that_explain_a_field_equally_well_leave_it_to_the_template() -> None:
    template = """
        spec:
          port: {{ .Values.api.port }}
        """
    one = _values({"api": {"port": 8080}, "other": 8080},
                  {("api",): 1, ("api", "port"): 2, ("other",): 3})
    assert _locate({"spec": {"port": 8080}}, template, one)[("spec", "port")] == Location(
        "values.yaml", 2, "api.port")
    tied = _values({"api": {"port": 8080}, "worker": {"port": 8080}},
                   {("api",): 1, ("api", "port"): 2, ("worker",): 3, ("worker", "port"): 4})
    assert _locate({"spec": {"port": 8080}}, template, tied)[("spec", "port")] == Location(
        "t.yaml", 2)


def test_a_structure_equal_to_a_values_one_needs_no_key_match() -> None:
    values = _values({"sidecar": {"name": "log", "image": "busybox"}, "extra": {"image": "x"}},
                     {("sidecar",): 7, ("extra",): 9})
    out = _locate({"containers": [{"name": "log", "image": "busybox"}, {"image": "x"},
                                  {"name": "log", "image": "other"}]}, """
        containers:
          {{- toYaml .Values.sidecar | nindent 2 }}
        """, values)
    assert out[("containers", 0)] == Location("values.yaml", 7, "sidecar")
    assert out[("containers", 1)].file == "t.yaml"  # one key: its name must match too
    assert out[("containers", 2)].file == "t.yaml"  # same shape, other content


def test_each_object_is_searched_in_its_own_template() -> None:
    attribution = Attribution(_values())
    first = "a: 1\nb: 2\n"
    second = "b: 2\na: 1\n"
    assert attribution.locate({"a": 1}, "one.yaml", first)[("a",)].line == 1
    assert attribution.locate({"a": 1}, "two.yaml", second)[("a",)] == Location(
        "two.yaml", 2, literal=True)
    assert attribution.locate({"a": 1}, "one.yaml", first)[("a",)].line == 1
