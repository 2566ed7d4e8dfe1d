"""The plan file (``terraform show -json tfplan``): read, validated, its resource instances.

The file is untrusted: inside the project, at most the declared-file size, ``MAX_DEPTH``
levels, ``format_version`` 1.x, validated; every fault is one :class:`ParseError` naming
the file, never an exception. Each instance keeps Terraform's address and the plan's marks
(``after_unknown``; ``sensitive_values`` merged with ``after_sensitive``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import project
from auditor.errors import first_error
from auditor.limits import MAX_DEPTH, too_deep
from auditor.paths import Path
from auditor.terraform.loader import TOO_DEEP_JSON, ParseError

RECIPE = "terraform plan -out tfplan && terraform show -json tfplan > plan.json"
_VERSION = re.compile(r"1\.\d+")  # a new major version is not compatible (the format's rule)
_MODULE = re.compile(r'module\.([A-Za-z_][\w-]*)((?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?)(?:\.|$)')


class _Part(BaseModel):
    # Newer minor versions add properties; no coercion ("1" is not an index).
    model_config = ConfigDict(extra="ignore", strict=True)


class _Resource(_Part):
    address: str
    mode: str
    type: str
    name: str
    index: int | str | None = None
    values: dict[str, Any] | None = None
    sensitive_values: Any = None


class _Module(_Part):
    address: str = ""
    resources: list[_Resource] = Field(default_factory=list)
    child_modules: list[_Module] = Field(default_factory=list)


class _Values(_Part):
    root_module: _Module = Field(default_factory=_Module)


class _Change(_Part):
    after_unknown: Any = None
    after_sensitive: Any = None


class _ResourceChange(_Part):
    address: str
    deposed: str | None = None
    change: _Change


class PlanDoc(_Part):
    format_version: str
    planned_values: _Values
    resource_changes: list[_ResourceChange] = Field(default_factory=list)
    configuration: dict[str, Any] = Field(default_factory=dict)
    errored: bool = False


@dataclass
class Instance:
    """One resource instance of the plan."""

    address: str  # Terraform's: module.db["a"].aws_db_instance.this[0]
    module: str  # its module instance: module.db["a"], "" at the root
    mode: str  # managed, or data
    type: str
    name: str
    index: int | str | None  # count.index or the for_each key
    values: dict[str, Any]
    unknown: Any  # after_unknown: true where a value is known only after apply
    sensitive: Any  # sensitive_values merged with after_sensitive

    @property
    def resource(self) -> str:
        """The resource's address, without the instance key."""
        return ((f"{self.module}." if self.module else "") + ("data." if self.mode == "data"
                else "") + f"{self.type}.{self.name}")


def read(path: FsPath, shown: str) -> tuple[PlanDoc | None, ParseError | None]:
    """The plan, or why it cannot be used (one line)."""
    refused = project.refusal(path)
    if refused:
        return None, ParseError(shown, None, refused)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, ParseError(shown, None, f"plan file not found (make it with {RECIPE})")
    except OSError as exc:
        return None, ParseError(shown, None, f"cannot read: {exc.strerror}")
    if raw.startswith(b"PK\x03\x04"):  # the saved plan itself is a zip archive
        return None, ParseError(shown, None, "a binary plan file, not its JSON: run "
                                             "terraform show -json tfplan > plan.json")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, ParseError(shown, None, "not UTF-8 text, so not a JSON plan")
    except json.JSONDecodeError as exc:
        return None, ParseError(shown, exc.lineno, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return None, ParseError(shown, None, TOO_DEEP_JSON)
    if too_deep(data):
        return None, ParseError(shown, None, f"nested more than {MAX_DEPTH} levels deep: "
                                             "not read")
    return _validated(data, shown)


def _validated(data: Any, shown: str) -> tuple[PlanDoc | None, ParseError | None]:
    def bad(message: str) -> tuple[None, ParseError]:
        return None, ParseError(shown, None, message)

    if not isinstance(data, dict) or "format_version" not in data:
        return bad(f"not a Terraform JSON plan (no format_version): make it with {RECIPE}")
    version = data["format_version"]
    if not (isinstance(version, str) and _VERSION.fullmatch(version)):
        return bad(f"plan format_version {str(version)[:20]!r} is not supported (this auditor "
                   "reads 1.x, from Terraform 1.1 and later)")
    if "planned_values" not in data:
        what = "a state, not a plan" if "values" in data else "no planned_values"
        return bad(f"not a plan's JSON ({what}): make it with {RECIPE}")
    try:
        doc = PlanDoc.model_validate(data)
    except ValidationError as exc:
        field, problem = first_error(exc)
        return bad(f"malformed plan: {field}: {problem}")
    if doc.errored:
        return bad("terraform plan failed, so this plan is incomplete: not read")
    return doc, None


def instances(doc: PlanDoc) -> list[Instance]:
    """Every managed and data resource instance, the root's first, then each module's."""
    changes = {c.address: c.change for c in doc.resource_changes if c.deposed is None}
    out: list[Instance] = []
    todo = [doc.planned_values.root_module]
    for module in todo:  # breadth first
        todo.extend(module.child_modules)
        for r in module.resources:
            if r.mode not in ("managed", "data"):
                continue
            change = changes.get(r.address, _Change())
            out.append(Instance(
                address=r.address, module=module.address, mode=r.mode, type=r.type,
                name=r.name, index=r.index, values=r.values or {},
                unknown=change.after_unknown, sensitive=merged(r.sensitive_values,
                                                                change.after_sensitive)))
    return out


def module_steps(module: str) -> list[tuple[str, str]] | None:
    """``module.a["k"].module.b`` -> [("a", '["k"]'), ("b", "")]; None when malformed."""
    out, pos = [], 0
    while pos < len(module):
        match = _MODULE.match(module, pos)
        if match is None:
            return None
        out.append((match.group(1), match.group(2)))
        pos = match.end()
    return out


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is an object: the plan is untrusted, every level is checked."""
    return value if isinstance(value, dict) else {}


def marked(marks: Any, path: Path) -> bool:
    """Whether ``marks`` (after_unknown, sensitive_values) has ``true`` at ``path``."""
    for key in path:
        if marks is True:
            return True
        if isinstance(marks, dict) and isinstance(key, str):
            marks = marks.get(key)
        elif isinstance(marks, list) and isinstance(key, int) and key < len(marks):
            marks = marks[key]
        else:
            return False
    return marks is True


def merged(a: Any, b: Any) -> Any:
    """Two sets of marks as one: true where either says so."""
    if a is True or b is True:
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        x, y = obj(a), obj(b)
        return {k: merged(x.get(k), y.get(k)) for k in dict.fromkeys([*x, *y])}
    if isinstance(a, list) or isinstance(b, list):
        p, q = (a if isinstance(a, list) else []), (b if isinstance(b, list) else [])
        return [merged(p[i] if i < len(p) else None, q[i] if i < len(q) else None)
                for i in range(max(len(p), len(q)))]
    return None
