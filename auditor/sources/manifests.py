"""Pre-rendered Kubernetes manifests: multi-document YAML files or directories of them.

Also the parser Helm's rendered output goes through, so both share one resource shape.
Anything that is not a Kubernetes object (a scalar or list document, a ``List`` item that
is not a mapping, an object without ``kind``) is a located problem, never a crash.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from auditor import inputs, project
from auditor.config import Config, Environment
from auditor.models import Location, Problem, Resource
from auditor.sources.base import Collected
from auditor.sources.yaml_stream import Piece, split_kubectl
from auditor.yamlfile import KUBERNETES, Document, YamlError, decode, load_first

CLUSTER_SCOPED = {"StorageClass", "Namespace", "ClusterRole", "ClusterRoleBinding",
                  "PersistentVolume", "CustomResourceDefinition", "PriorityClass",
                  "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


def collect(config: Config, env_name: str, env: Environment) -> Collected:
    out = Collected()
    namespace = env.helm.namespace if env.helm else "default"
    for entry in env.manifests:
        path = config.path(entry)
        inputs.probe(path)
        files = files_of(path)
        if not files:  # a path typo must not turn the audit off silently
            out.problems.append(Problem(f"manifests {entry}", "no *.yaml or *.yml files in "
                                        "this directory", Location(config.rel(path))))
        for file in files:
            shown = config.rel(file)
            source = f"manifest {shown}"
            refused = project.refusal(file)
            if refused:
                out.problems.append(Problem(source, refused, Location(shown)))
                continue
            try:
                text = decode(file.read_bytes())
            except OSError as exc:
                out.problems.append(Problem(f"manifests {entry}", f"cannot read: {exc.strerror}",
                                            Location(shown)))
                continue
            except YamlError as exc:  # not UTF-8
                out.problems.append(Problem(source, str(exc), Location(shown, exc.line)))
                continue
            out.extend(parse(text, shown, source, namespace))
    return out


def files_of(path: FsPath) -> list[FsPath]:
    """The manifest files a ``manifests`` entry names: itself, or a folder's YAML files.
    A broken link is listed too: it is an error to report, not a file to skip."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                  and (p.is_file() or p.is_symlink()))


def parse(text: str, shown: str, source: str, namespace: str, line_offset: int = 0,
          strict: bool = True, pieces: list[Piece] | None = None) -> Collected:
    """Kubernetes objects in ``text``, each located at ``shown:line`` per field: the text
    cut into documents as kubectl cuts it (or ``pieces``, as the caller cut it: Helm's
    rule for its output), each document read with the scalar rules Kubernetes reads it
    with. A broken document is one problem; the others are still read. ``strict=False``
    lets a later duplicate key win (as Helm does) instead of failing."""
    out = Collected()
    for piece in split_kubectl(text) if pieces is None else pieces:
        offset = piece.line + line_offset
        if piece.error:
            out.problems.append(Problem(source, piece.error, Location(shown, offset + 1)))
            continue
        try:
            # A file's documents are kept in the parse cache; Helm's output (pieces) is not:
            # it is new whenever the values are, and large charts made keeping it cost
            # more than parsing.
            doc = load_first(piece.text, strict=strict, dialect=KUBERNETES,
                             first_line=offset + 1, keep=pieces is None)
        except YamlError as exc:
            out.problems.append(Problem(source, f"invalid YAML: {exc}",
                                        Location(shown, exc.line or offset + 1)))
            continue
        if doc.data is not None:
            _objects(doc, shown, source, namespace, out)
    return out


def _objects(doc: Document, shown: str, source: str, namespace: str, out: Collected
             ) -> None:
    data = doc.data
    if data_problem := _not_an_object(data):
        out.problems.append(Problem(source, f"not a Kubernetes object ({data_problem})",
                                    Location(shown, doc.line)))
        return
    if data["kind"] == "List" and isinstance(data.get("items"), list):
        items: list[tuple[Any, tuple[Any, ...]]] = [(it, ("items", i))
                                                    for i, it in enumerate(data["items"])]
    else:
        items = [(data, ())]
    for obj, prefix in items:
        if item_problem := _not_an_object(obj):
            line = doc.lines.get(prefix, doc.line)
            out.problems.append(Problem(
                source, f"items[{prefix[1]}] is not a Kubernetes object ({item_problem})",
                Location(shown, line)))
            continue
        out.resources.append(to_resource(obj, source, namespace, {
            path[len(prefix):]: Location(shown, line)
            for path, line in doc.lines.items() if path[:len(prefix)] == prefix}))


def _not_an_object(data: Any) -> str | None:
    """Why ``data`` is not a Kubernetes object, or None when it is one."""
    if not isinstance(data, dict):
        return f"{_a(data)}, not a mapping"
    return None if "kind" in data else "no kind"


def _a(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def to_resource(obj: dict[str, Any], source: str, namespace: str,
                lines: dict[Any, Location]) -> Resource:
    meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    kind = str(obj.get("kind"))
    ns = None if kind in CLUSTER_SCOPED else str(meta.get("namespace") or namespace)
    return Resource(kind=kind, name=str(meta.get("name", "")), body=obj, source=source,
                    namespace=ns, location=lines.get(()), field_locations=lines)
