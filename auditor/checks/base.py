"""What a named check receives and returns.

A named check is a plain function ``(CheckContext) -> list[Outcome]`` for what the
condition language cannot say (relations between resources). It never does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.models import Inventory, Location, Resource
from auditor.paths import Path


@dataclass
class CheckContext:
    inventory: Inventory
    params: dict[str, Any]


@dataclass
class Outcome:
    resource: Resource
    status: Literal["pass", "fail", "unknown", "error"]
    item: str | None = None
    path: Path = ()  # where in the resource to point the finding
    reason: str = ""  # why the outcome is unknown
    vars: dict[str, Any] = field(default_factory=dict)  # for the message template
    location: Location | None = None  # where to point when it is not inside the resource


Check = Callable[[CheckContext], list[Outcome]]
