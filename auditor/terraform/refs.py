"""What a reference to another resource becomes in a normalised body.

A computed attribute (``aws_security_group.db.id``, ``data.aws_ssm_parameter.x.value``)
has no value offline. Only where a security group is expected does the reference itself
say what matters, which group: there it becomes the group's identity (its name when the
group is declared here, else its address). Anywhere else it is :class:`Unknown`, carrying
the reference text, so no check reads an address as if it were the value.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.terraform.expressions import Ref
from auditor.unknown import Unknown

# Attributes whose values are security groups: in rules (inline or standalone), databases,
# load balancers and anything with security_group_ids.
SG_KEYS = frozenset({"security_groups", "source_security_group_id",
                     "referenced_security_group_id", "vpc_security_group_ids",
                     "security_group_ids"})
SG_TYPES = ("aws_security_group", "aws_default_security_group")
_MODULES = re.compile(r"^(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*")
_INDEX = re.compile(r"\[[^\]]*\]$")
_REFERENCE = re.compile(r"^\$\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+|\[[^\]]*\])*)\s*\}$")


def base_address(address: str) -> str:
    """The resource an instance address belongs to: ``aws_x.y[0]`` -> ``aws_x.y``."""
    return _INDEX.sub("", address)


def group_identity(ref: Ref, names: dict[str, str]) -> str | None:
    """The security group a reference names, or None when it names no group.

    ``names`` maps the addresses of the groups declared here to their names.
    """
    if ref.attribute not in ("id", "name"):
        return None
    if ref.address in names:  # an expanded instance: aws_security_group.this[0]
        return names[ref.address]
    address = base_address(ref.address)
    if address in names:
        return names[address]
    local = _MODULES.sub("", address)
    if local.startswith(tuple(f"{t}." for t in SG_TYPES)) or local.startswith(
            "data.aws_security_group."):
        return ref.address  # declared elsewhere: its address is all we know of it
    return None


def resolve(value: Any, names: dict[str, str], sg_position: bool = False) -> Any:
    """``value`` with every :class:`Ref` replaced: a group identity in a security-group
    position (``SG_KEYS``), else :class:`Unknown` naming the reference."""
    if isinstance(value, Ref):
        identity = group_identity(value, names) if sg_position else None
        if identity is not None:
            return identity
        return Unknown(f"{value} is {value.known}", ref=str(value), pending=True)
    if isinstance(value, dict):
        return {k: resolve(v, names, k in SG_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, names, sg_position) for v in value]
    return value


def reference_text(raw: Any) -> str | None:
    """``var.sg_id`` for the raw expression ``"${var.sg_id}"``: a single reference, or None."""
    match = _REFERENCE.match(raw) if isinstance(raw, str) else None
    return match.group(1) if match else None
