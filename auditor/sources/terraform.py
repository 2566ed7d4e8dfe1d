"""Declared AWS resources from Terraform HCL: parse, resolve, normalise.

Variables resolve from defaults, then ``var_files`` (later win), then ``vars``; locals,
string interpolation and references between resources resolve offline; what cannot
(computed attributes, data sources, unknown functions) stays :class:`Unknown` with the
reason, so the checks that need it say ``unknown`` instead of guessing.
"""

from __future__ import annotations

from typing import Any

from auditor.config import Config, Environment
from auditor.models import Location, Problem
from auditor.sources.base import Collected
from auditor.terraform import loader
from auditor.terraform.expressions import evaluate
from auditor.terraform.scope import ModuleScope
from auditor.terraform.shapes import Evaluated, normalise
from auditor.unknown import Unknown


def collect(config: Config, env_name: str, env: Environment) -> Collected:
    out = Collected()
    tf = env.terraform
    if tf is None:
        return out
    var_values = _var_files(config, tf.var_files, out)
    var_values.update(tf.vars)
    for entry in tf.dirs:
        directory = config.path(entry)
        blocks, errors = loader.load_dir(directory, config.rel)
        source = f"terraform {entry}"
        out.problems.extend(Problem(source, e.message, Location(e.file, e.line)) for e in errors)
        scope = ModuleScope(blocks, var_values)
        items = []
        for block in blocks:
            if block.kind != "resource" or len(block.labels) != 2:
                continue
            count = evaluate(block.attrs.get("count", 1), scope)
            if count == 0 or count is False:
                continue  # conditionally disabled (count = var.x ? 1 : 0)
            attrs = {k: evaluate(v, scope) for k, v in block.attrs.items()
                     if k not in ("count", "for_each", "depends_on", "provider", "lifecycle")}
            items.append(Evaluated(block, attrs))
        out.resources.extend(normalise(items, source))
    for r in out.resources:
        key = {"DBInstance": "db_identifier", "DBParameterGroup": "parameter_group",
               "Nodegroup": "nodegroup", "TargetGroup": "target_group",
               "LoadBalancer": "load_balancer"}.get(r.kind)
        if key and not r.name.startswith("aws_"):
            out.names.setdefault(key, r.name)
        if r.kind == "Nodegroup" and isinstance(r.body.get("cluster_name"), str):
            out.names.setdefault("cluster", r.body["cluster_name"])
        if r.kind == "SecurityGroup" and "-db" in r.name:
            out.names.setdefault("db_security_group", r.name)
    return out


def _var_files(config: Config, files: list[str], out: Collected) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for entry in files:
        path = config.path(entry)
        shown = config.rel(path)
        blocks, error = _tfvars(path, shown)
        if error:
            out.problems.append(Problem(f"tfvars {shown}", error.message,
                                        Location(shown, error.line)))
            continue
        values.update(blocks)
    return values


def _tfvars(path: Any, shown: str) -> tuple[dict[str, Any], loader.ParseError | None]:
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        data = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=loader.options())
    except OSError as exc:
        return {}, loader.ParseError(shown, None, f"cannot read: {exc.strerror}")
    except UnexpectedInput as exc:
        return {}, loader.ParseError(shown, getattr(exc, "line", None), "invalid HCL: "
                                     + str(exc).strip().splitlines()[0])
    except LarkError as exc:
        return {}, loader.ParseError(shown, None, f"invalid HCL: {exc}")
    # tfvars hold literals; an expression there is not something we can trust offline.
    return {k: (Unknown(f"{shown}: {k} is an expression") if isinstance(v, str) and "${" in v
                else v) for k, v in data.items()}, None
