"""The protocol every source implements, and the one registry that lists them.

A source reads one kind of input for one environment and returns resources in the shared
shape (:class:`auditor.models.Resource`) plus the problems it met; it never raises for a
bad input file, so one bad file never hides the others. Sources know nothing of policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from auditor.config import Config, Environment
from auditor.models import Problem, Resource


@dataclass
class Collected:
    resources: list[Resource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # real names for remediation commands

    def extend(self, other: Collected) -> None:
        self.resources.extend(other.resources)
        self.problems.extend(other.problems)
        self.names.update({k: v for k, v in other.names.items() if k not in self.names})


class Source(Protocol):
    def __call__(self, config: Config, env_name: str, env: Environment) -> Collected: ...
