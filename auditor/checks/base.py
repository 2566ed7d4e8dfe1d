"""What a named check receives and returns.

A named check is a plain function ``(CheckContext) -> list[Outcome]`` for what the
condition language cannot say (relations between resources). It never does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.models import Inventory, Location, Provenance, Resource
from auditor.paths import Path
from auditor.unknown import Unknown


@dataclass
class CheckContext:
    inventory: Inventory
    params: dict[str, Any]


STATUSES = ("pass", "fail", "unknown", "error")


def flag(value: Any) -> bool | None:
    """A boolean as the sources give it: true/false, or the text "true"/"false" in any case
    (an annotation, or a variable rendered as a string); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


@dataclass
class Outcome:
    resource: Resource
    status: Literal["pass", "fail", "unknown", "error"]
    item: str | None = None
    path: Path = ()  # where in the resource to point the finding
    reason: str | Unknown = ""  # why the outcome is unknown (an Unknown whose read failed
    # makes the outcome an error: what was not read cannot pass, nor be merely "unknown")
    vars: dict[str, Any] = field(default_factory=dict)  # for the templates of a fail (a
    # pass shows the title, and a report keeps no details of passes)
    location: Location | None = None  # where to point when it is not inside the resource
    provenance: Provenance | None = None  # drift: who last changed the field live
    value: str | int | float | bool | None = None  # the value that resolves it (drift: the
    # live one, which `auditor fix --adopt-live` writes into Git)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:  # a plugin's "FAIL" must not slip through as no pass
            raise ValueError(f"a check gave status {self.status!r}, not one of {STATUSES}")
        if isinstance(self.reason, Unknown):
            if self.reason.failed and self.status == "unknown":
                self.status = "error"
            self.reason = self.reason.reason


Check = Callable[[CheckContext], list[Outcome]]
