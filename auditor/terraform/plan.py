"""A saved plan's JSON (``terraform show -json tfplan``) -> resources in the shared shape.

Values are Terraform's own (every instance, every module's outputs): ``planned_values``
marked by ``resource_changes[].change`` (:mod:`.plan_values`). Locations come from the HCL
of the directory the plan was made in, by address (:mod:`.plan_hcl`). Each instance is
its resource's block with the instance key (``Evaluated.key``), so the shapes, joins and
reports see Terraform's instance address, as on the HCL side where count/for_each is
expanded. A module not downloaded here points at its call; a resource the HCL does not
declare (a plan of other code) at the config's ``plan`` line, which is an error.

The file is untrusted (:mod:`.plan_file`): a fault is one problem naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any

from auditor.models import Location, Problem, Resource
from auditor.terraform.evaluated import Evaluated
from auditor.terraform.loader import Block
from auditor.terraform.plan_file import RECIPE, Instance, instances, module_steps, obj, read
from auditor.terraform.plan_hcl import Tree, aligned
from auditor.terraform.plan_sources import Sources
from auditor.terraform.plan_values import Values
from auditor.terraform.shapes import normalise

__all__ = ["RECIPE", "resources"]


def resources(path: FsPath, root: FsPath, rel: Callable[[FsPath], str],
              problems: list[Problem], source: str, fallback: Location) -> list[Resource]:
    """The resources of the plan at ``path``, made in ``root``. ``fallback`` (the config's
    plan line) is where a resource the HCL does not declare points."""
    doc, error = read(path, rel(path))
    if doc is None:
        assert error is not None
        problems.append(Problem(source, error.message, Location(error.file, error.line)))
        return []
    found = instances(doc)
    tree = Tree(root, rel, problems, source)
    sources = Sources(found, obj(doc.configuration.get("root_module")), tree.locals)
    values = Values(sources)
    items: list[Evaluated] = []
    strays: list[str] = []  # instances nothing here declares
    for inst in (i for i in found if i.mode == "managed"):
        steps = module_steps(inst.module)
        names = tuple(n for n, _ in steps or [])
        module = sources.module(steps or [])
        block = tree.named(names, "resource", inst.type, inst.name) if steps is not None \
            else None
        call = tree.call_location(names)
        if block is not None:
            block = aligned(block, inst.values)
        elif steps is None or call is None or tree.directory(names) is not None:
            strays.append(inst.address)
        attrs = values.attrs(inst, block, _expressions(module.config, inst), module)
        items.append(Evaluated(block=_at(block, inst, call or fallback), attrs=attrs,
                               inputs=tree.inputs(names) if block is not None else {},
                               key=inst.index))
    if strays and root.is_dir():
        shown = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3
                                         else "")
        problems.append(Problem(source, f"{rel(path)} plans {shown}, which the HCL of "
                                f"{rel(root)} does not declare: a plan of other code (make it "
                                f"again: {RECIPE}); its findings point here", fallback))
    return normalise(items, source)


def _at(found: Block | None, inst: Instance, where: Location) -> Block:
    """The instance's resource block, addressed in its module instance (``module.db["a"].``);
    one the HCL here does not declare is an empty block at ``where``."""
    prefix = f"{inst.module}." if inst.module else ""
    if found is not None:
        return replace(found, module=prefix)  # a copy: the tree's block serves every instance
    return Block("resource", [inst.type, inst.name], {}, where.file, where.line or 0,
                 module=prefix)


def _expressions(config: dict[str, Any], inst: Instance) -> dict[str, Any]:
    """The resource's expressions in the plan's configuration (for the references)."""
    resources = config.get("resources")
    for r in resources if isinstance(resources, list) else []:
        r = obj(r)
        if (r.get("mode"), r.get("type"), r.get("name")) == ("managed", inst.type, inst.name):
            return obj(r.get("expressions"))
    return {}
