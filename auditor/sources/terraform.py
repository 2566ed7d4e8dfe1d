"""Declared AWS resources from Terraform (HCL and JSON): parse, resolve, normalise.

Variables resolve as Terraform resolves them: defaults, then the directory's
``terraform.tfvars`` and ``*.auto.tfvars``, then ``var_files`` (later win), then ``vars``.
Locals, string interpolation, references between resources and local module calls resolve
offline; what cannot (computed attributes, data sources, unknown functions, remote modules)
stays :class:`Unknown` (or a problem, for a remote module) with the reason, so the checks
that need it say ``unknown`` instead of guessing.

With ``plan``, the directory the plan was made in is read from the plan instead
(:mod:`auditor.terraform.plan`): Terraform's own values, that directory's HCL for
locations. A plan that cannot be read is a problem of its own; the other inputs go on.
"""

from __future__ import annotations

from auditor import inputs
from auditor.config import Config, Environment
from auditor.models import Location, Problem
from auditor.sources.base import Collected
from auditor.terraform import modules, plan, tfvars
from auditor.terraform.refs import base_address
from auditor.terraform.shapes import normalise


def collect(config: Config, env_name: str, env: Environment) -> Collected:
    out = Collected()
    tf = env.terraform
    if tf is None:
        return out
    given = tfvars.read_files([config.path(f) for f in tf.var_files], config.rel, out.problems)
    planned = tf.plan_dir()
    for entry in tf.dirs:
        directory = config.path(entry)
        source = f"terraform {entry}"
        if tf.plan is not None and entry == planned:
            at = ("environments", env_name, "terraform", "plan")
            out.resources.extend(plan.resources(
                config.path(tf.plan), directory, config.rel, out.problems,
                f"terraform plan {tf.plan}", Location(config.config_rel(), config.line_of(at))))
            continue
        found = tfvars.read_files(tfvars.auto_files(directory), config.rel, out.problems)
        values = {**found, **given, **tf.vars}
        inputs.probe(directory)
        if directory.is_dir() and not any(directory.glob("*.tf")) and not any(
                directory.glob("*.tf.json")):  # a path typo must not turn the audit off
            out.problems.append(Problem(source, "no *.tf or *.tf.json files in this directory",
                                        Location(config.rel(directory))))
            continue
        items = modules.evaluated(directory, values, source, config.rel, out.problems)
        out.resources.extend(normalise(items, source))
    for r in out.resources:
        key = {"DBInstance": "db_identifier", "DBParameterGroup": "parameter_group",
               "Nodegroup": "nodegroup", "TargetGroup": "target_group",
               "LoadBalancer": "load_balancer"}.get(r.kind)
        named = r.name not in (r.address, base_address(r.address or ""))  # a CLI takes it
        if key and named:
            out.names.setdefault(key, r.name)
        if r.kind == "Nodegroup" and isinstance(r.body.get("cluster_name"), str):
            out.names.setdefault("cluster", r.body["cluster_name"])
        if r.kind == "SecurityGroup" and "-db" in r.name and named:
            out.names.setdefault("db_security_group", r.name)
    return out
