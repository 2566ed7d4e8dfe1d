"""The protocol every live collector implements.

A collector reads one platform (the Kubernetes API, AWS, TLS endpoints) for one
environment, strictly read-only, and returns resources in the shared shape: Kubernetes
objects as the API's JSON (camelCase, as ``kubectl get -o json`` prints them, without
``status`` noise beyond what checks read), AWS resources under Terraform's attribute names
(see auditor/terraform/shapes.py), so declared and live compare like with like. It never
raises for an API failure: a kind it could not read goes into ``unavailable`` with the
reason (timeout, 5xx, throttled after retries, 403, no credentials), and the policies
that need that kind end in ``error``. It never keeps secret values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from auditor.config import Config, Environment
from auditor.models import Problem, Resource


@dataclass
class LiveCollected:
    resources: list[Resource] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # kind -> why it was not read
    problems: list[Problem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def extend(self, other: LiveCollected) -> None:
        self.resources.extend(other.resources)
        self.unavailable.update(other.unavailable)
        self.problems.extend(other.problems)
        self.names.update({k: v for k, v in other.names.items() if k not in self.names})


class LiveSource(Protocol):
    def __call__(self, config: Config, env_name: str, env: Environment,
                 declared: list[Resource], kinds: frozenset[str] | None = None
                 ) -> LiveCollected:
        """``declared`` tells the collector what to look for (names Terraform declares);
        ``kinds``, when given, are the only kinds to read (the rest are not looked at)."""
        ...


def iso(moment: datetime) -> str:
    """A time as collectors record it: ISO 8601 in UTC to the second (``...Z``)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
