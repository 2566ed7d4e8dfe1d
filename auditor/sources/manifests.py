"""Pre-rendered Kubernetes manifests: multi-document YAML files or directories of them.

Also the parser Helm's rendered output goes through, so both share one resource shape.
"""

from __future__ import annotations

from typing import Any

from auditor.config import Config, Environment
from auditor.models import Location, Problem, Resource
from auditor.sources.base import Collected
from auditor.yamlfile import YamlError, load_all

CLUSTER_SCOPED = {"StorageClass", "Namespace", "ClusterRole", "ClusterRoleBinding",
                  "PersistentVolume", "CustomResourceDefinition", "PriorityClass",
                  "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


def collect(config: Config, env_name: str, env: Environment) -> Collected:
    out = Collected()
    namespace = env.helm.namespace if env.helm else "default"
    for entry in env.manifests:
        path = config.path(entry)
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                       ) if path.is_dir() else [path]
        for file in files:
            shown = config.rel(file)
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                out.problems.append(Problem(f"manifests {entry}", f"cannot read: {exc.strerror}",
                                            Location(shown)))
                continue
            out.extend(parse(text, shown, f"manifest {shown}", namespace))
    return out


def parse(text: str, shown: str, source: str, namespace: str,
          line_offset: int = 0) -> Collected:
    """Kubernetes objects in ``text``, each located at ``shown:line`` per field."""
    out = Collected()
    try:
        docs = load_all(text)
    except YamlError as exc:
        out.problems.append(Problem(source, f"invalid YAML: {exc}",
                                    Location(shown, (exc.line or 0) + line_offset or None)))
        return out
    for doc in docs:
        data = doc.data
        if not isinstance(data, dict) or "kind" not in data:
            out.problems.append(Problem(source, "not a Kubernetes object (no kind)",
                                        Location(shown, doc.line + line_offset)))
            continue
        if data["kind"] == "List" and isinstance(data.get("items"), list):
            items: list[tuple[Any, tuple[Any, ...]]] = [(it, ("items", i))
                                                        for i, it in enumerate(data["items"])]
        else:
            items = [(data, ())]
        for obj, prefix in items:
            out.resources.append(to_resource(obj, source, namespace, {
                path[len(prefix):]: Location(shown, line + line_offset)
                for path, line in doc.lines.items() if path[:len(prefix)] == prefix}))
    return out


def to_resource(obj: dict[str, Any], source: str, namespace: str,
                lines: dict[Any, Location]) -> Resource:
    meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    kind = str(obj.get("kind"))
    ns = None if kind in CLUSTER_SCOPED else str(meta.get("namespace") or namespace)
    return Resource(kind=kind, name=str(meta.get("name", "")), body=obj, source=source,
                    namespace=ns, location=lines.get(()), field_locations=lines)
