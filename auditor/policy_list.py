"""``auditor policies list``: which policies there are, filtered, and their JSON form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.policies import PACK_DIR, Policy


def matching(pack: list[Policy], severities: Sequence[str] = (), sides: Sequence[str] = (),
             kinds: Sequence[str] = ()) -> list[Policy]:
    """The policies of any of ``severities``, checked on any of ``sides``, reading any of
    ``kinds`` (each filter left empty: no filter)."""
    wanted = {k.lower() for k in kinds}
    return [p for p in pack
            if (not severities or p.severity in severities)
            and (not sides or set(p.sides) & set(sides))
            and (not wanted or {k.lower() for k in p.needs()} & wanted)]


def described(policy: Policy) -> dict[str, Any]:
    """What a script needs to know of a policy (not its examples or its templates)."""
    builtin = policy.file.startswith(str(PACK_DIR))
    return {
        "id": policy.id,
        "title": policy.title,
        "severity": policy.severity,
        "sides": list(policy.sides),
        "kinds": policy.needs(),
        "check": policy.check,
        "runbook": {"section": policy.runbook.section, "anchor": policy.runbook.anchor},
        "parameters": {name: {"default": param.default, "description": param.description,
                              "fact": param.fact}
                       for name, param in policy.parameters.items()},
        "description": policy.description.strip(),
        "source": "built-in" if builtin else policy.file,
    }
