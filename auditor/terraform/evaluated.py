"""A resource block with its attributes evaluated: what the shapes are built from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.models import Location
from auditor.paths import Path
from auditor.terraform.loader import Block
from auditor.unknown import Unknown

# Nested blocks that occur at most once: python-hcl2 gives a list of one, bodies hold it.
SINGLE_BLOCKS = {"health_check", "scaling_config", "access_logs", "rotation_rules",
                 "update_config", "stickiness", "remote_access", "launch_template", "timeouts"}


@dataclass
class Evaluated:
    block: Block
    attrs: dict[str, Any]  # evaluated: values, Ref (computed attributes) or Unknown
    # Set when count/for_each (of the resource or of its module call) is not known offline:
    # the resource may have no instance, or several. Known ones are expanded: one each.
    instances: Unknown | None = None
    # The module's variables -> the caller's argument that sets them (followed up through
    # callers that pass their own variable on): where a change to the value is made.
    inputs: dict[str, Location] = field(default_factory=dict)
    # The instance's count.index or for_each key, when count/for_each was expanded.
    key: str | int | None = None
    # Lines of what the block does not write itself: the blocks dynamic blocks generate.
    lines: dict[Path, int] = field(default_factory=dict)
    # The module's variables as its caller set them (evaluated): whether an attribute that
    # wraps one (a guard, a default) has the caller's value in this instance.
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.block.labels[0]

    @property
    def address(self) -> str:
        """Terraform's address of the instance: ``aws_db_instance.this["a"]``."""
        return self.block.address + instance_suffix(self.key)


def instance_suffix(key: str | int | None) -> str:
    if key is None:
        return ""
    return f"[{key}]" if isinstance(key, int) else f'["{key}"]'



def fold_blocks(body: dict[str, Any]) -> dict[str, Any]:
    for key in SINGLE_BLOCKS & body.keys():
        if isinstance(body[key], list) and len(body[key]) == 1:
            body[key] = body[key][0]
    return body
