"""Declared Kubernetes objects from a Helm chart rendered with the environment's values.

Each rendered field is located at the values file and line that set it (the last file
that sets it wins), matched by key names and value; fields no values key explains point
at the template. The merged values are also a resource (``HelmValues``) so policies can
check chart settings that render to nothing (log retention, pool size).
"""

from __future__ import annotations

from pathlib import Path as FsPath

from auditor import inputs, project
from auditor.config import Config, Environment, HelmConfig
from auditor.models import Location, Problem, Resource
from auditor.sources import helm_render, manifests
from auditor.sources.base import Collected
from auditor.sources.helm_attribution import Attribution
from auditor.sources.helm_values import Values
from auditor.sources.yaml_stream import Piece, split_helm
from auditor.yamlfile import KUBERNETES, YamlError, load_first


def collect(config: Config, env_name: str, env: Environment) -> Collected:
    out = Collected()
    helm = env.helm
    if helm is None:
        return out
    chart = config.path(helm.chart)
    source = f"helm chart {helm.chart} (release {helm.release})"
    out.names.update({"release": helm.release, "namespace": helm.namespace,
                      "chart": "./" + helm.chart.removeprefix("./")})
    inputs.probe(chart / "Chart.yaml")
    if not (chart / "Chart.yaml").is_file():
        out.problems.append(Problem(source, "not a Helm chart (no Chart.yaml)",
                                    Location(config.rel(chart))))
        return out
    # Helm reads the whole chart folder: a link in it must not bring in a file from outside.
    escapes = [(chart, why)] if (why := project.refusal(chart)) else project.links_out(chart)
    if escapes:
        out.problems.extend(Problem(source, reason, Location(config.rel(path)))
                            for path, reason in escapes)
        return out
    missing = missing_dependencies(chart)
    if missing:
        out.problems.append(Problem(source, f"chart dependencies not downloaded: "
                                    f"{', '.join(missing)} (run `helm dependency build`)",
                                    Location(config.rel(chart / "Chart.yaml"))))
        return out
    values = _values(config, chart, helm, out)
    values.apply_set(helm.set, config.config_rel(), {
        k: config.line_of(("environments", env_name, "helm", "set", k)) for k in helm.set})
    if out.problems:  # rendering without a values file would audit the wrong config
        return out
    try:
        # Helm coalesces the user's values over the chart's defaults itself; handing it
        # pre-merged values would resurrect defaults that a null in the user's files deletes.
        rendered = helm_render.render(chart, values.user, helm.release, helm.namespace)
    except helm_render.RenderError as exc:
        file = config.rel(chart / exc.template) if exc.template else config.rel(chart)
        why = "the chart refused these values" if exc.refused else "helm template failed"
        out.problems.append(Problem(source, f"{why}: {exc.message}",
                                    Location(file, exc.line)))
        return out
    # A key the values lack is added to the environment's own (last) values file: a finding
    # about it points there, at the nearest parent key the values have, else at its top.
    # (The resource's own location stays the config: its `set:` values are located there.)
    last = config.path(helm.values[-1]) if helm.values else chart / "values.yaml"
    out.resources.append(Resource(
        kind="HelmValues", name=helm.release, namespace=helm.namespace, body=values.data,
        source=source, location=Location(config.config_rel()),
        field_locations={(): Location(config.rel(last), 1), **values.where}))
    attribution = Attribution(values)
    for template, text in sorted(rendered.items()):
        if not text.strip() or not template.endswith((".yaml", ".yml")):
            continue
        shown = config.rel(chart / template)
        # Helm's own output is taken as Helm and kubectl take it (a duplicate key from two
        # template lines is not an unreadable input).
        pieces = split_helm(text)
        parsed = manifests.parse(text, shown, source, helm.namespace, strict=False,
                                 pieces=pieces)
        # Lines of rendered output are not template lines: say which output line it was.
        out.problems.extend(Problem(p.source, f"{p.message} (line {p.location.line} of the "
                                    "rendered output)", Location(shown))
                            for p in parsed.problems)
        template_text = _read(chart / template)
        starts = _document_starts(pieces, template_text)
        for r in parsed.resources:
            r.address = template
            rendered_line = r.location.line if r.location and r.location.line else 1
            start = next((t for line, t in reversed(starts) if line < rendered_line), 0)
            r.field_locations = attribution.locate(r.body, shown, template_text, start)
            r.location = r.field_locations.get(())
            out.resources.append(r)
    first = next((r for r in out.resources if r.kind == "Deployment"), None)
    if first:
        out.names["deployment"] = first.name
    return out


def _document_starts(rendered: list[Piece], template: str) -> list[tuple[int, int]]:
    """(rendered line, template line) where each document starts, both 0-based, when the
    template writes its documents one for one (as many ``---`` pieces in both: no loop or
    branch adds or removes one); else none, and every object is searched from the top."""
    source = split_helm(template)
    if len(rendered) != len(source) or len(rendered) < 2:
        return []
    return [(a.line, b.line) for a, b in zip(rendered, source, strict=True)]


def _values(config: Config, chart: FsPath, helm: HelmConfig, out: Collected) -> Values:
    values = Values()
    defaults = chart / "values.yaml"
    inputs.probe(defaults)
    files = [defaults] if defaults.is_file() else []
    # A listed chart values.yaml is also a user file, in its place in the order (as -f).
    files = [*files, *(config.path(v) for v in helm.values)]
    for i, file in enumerate(files):
        shown = config.rel(file)
        refused = project.refusal(file)
        if refused:
            out.problems.append(Problem(f"values {shown}", refused, Location(shown)))
            continue
        try:
            # As Helm reads a values file: its first document, Go's scalars, last key wins.
            doc = load_first(file.read_text(encoding="utf-8"))
        except OSError as exc:
            out.problems.append(Problem(f"values {shown}", f"cannot read values file: "
                                        f"{exc.strerror}", Location(shown)))
            continue
        except UnicodeDecodeError:
            out.problems.append(Problem(f"values {shown}", "not UTF-8 text", Location(shown)))
            continue
        except YamlError as exc:
            out.problems.append(Problem(f"values {shown}", f"invalid YAML: {exc}",
                                        Location(shown, exc.line)))
            continue
        if doc.data is None:
            doc.data = {}
        if not isinstance(doc.data, dict):
            out.problems.append(Problem(f"values {shown}", "values must be a mapping",
                                        Location(shown, doc.line)))
            continue
        if i == 0 and file == defaults:
            values.apply_defaults(doc.data, doc.lines, shown)
        else:
            values.apply(doc.data, doc.lines, shown)
    return values


def missing_dependencies(chart: FsPath) -> list[str]:
    """Dependencies Chart.yaml lists but charts/ lacks (helm template refuses such a chart;
    the SDK would render it without them, auditing less than will be deployed)."""
    try:
        meta = load_first(_read(chart / "Chart.yaml"), dialect=KUBERNETES).data
    except YamlError:
        return []  # Helm itself reports a broken Chart.yaml when it renders
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    missing = []
    for dep in deps if isinstance(deps, list) else []:
        name = dep.get("name") if isinstance(dep, dict) else None
        if not isinstance(name, str):
            continue
        folder = chart / "charts"
        inputs.probe(folder / name)
        present = (folder / name).is_dir() or any(folder.glob(f"{name}-*.tgz"))
        if not present and dep.get("condition") is None:
            missing.append(name)
        elif not present:
            missing.append(f"{name} (if {dep['condition']})")
    return missing


def _read(path: FsPath) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
