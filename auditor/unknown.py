"""A value that cannot be known offline, carrying why.

Sources put it where a value cannot be resolved (a Terraform expression, a computed
attribute); conditions propagate it, and the engine turns it into an ``unknown`` result
with the reason, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unknown:
    reason: str
    # What the value refers to when it is a reference computed at apply time (e.g.
    # "aws_lb.main.arn_suffix"): enough to tell which resource it names, not its value.
    ref: str | None = None
    failed: bool = False  # an API read failed: the engine reports error, not unknown
    # Terraform knows it at apply (a computed attribute, a data source), not an error of
    # the configuration: try() does not move past it, as Terraform's does not.
    pending: bool = False

    def __bool__(self) -> bool:  # an unknown is never truthy by accident
        raise TypeError(f"truth value of an unknown value ({self.reason})")


def shown(value: object) -> str:
    """A value as an identifier in a finding (an item, a name): ``?`` when it is not known,
    never the internal object's text."""
    return "?" if isinstance(value, Unknown) or value is None else str(value)
