"""Log retention: the service's values set it, and no longer than the service allows.

Charts name the setting differently (or have none), so the key is a fact of the service
(``facts.values_keys.log_retention``), like the longest retention it can afford on its
volume (``facts.max_log_retention``). Durations are read as ``30s``, ``15m``, ``168h``,
``7d`` or ``2w``; a plain number is days.
"""

from __future__ import annotations

from auditor.checks.base import CheckContext, Outcome
from auditor.paths import MISSING, get, parse
from auditor.quantities import duration
from auditor.unknown import Unknown


def log_retention(ctx: CheckContext) -> list[Outcome]:
    key = str(ctx.params["log_retention_key"])
    limit = ctx.params.get("max_retention")
    path = parse(key)
    out = []
    for values in ctx.inventory.of_kind("HelmValues"):
        value = get(values.body, path)
        if isinstance(value, Unknown):
            out.append(Outcome(values, "unknown", path=path, reason=value))
        elif value is MISSING or value is None or value == "":
            out.append(Outcome(values, "fail", path=path, vars={
                "problem": f"its values have no {key}, so logs grow until the volume or the "
                           "node's disk is full"}))
        elif limit is None:
            out.append(Outcome(values, "pass", path=path))
        else:
            kept, most = duration(value), duration(limit)
            if kept is None or most is None:
                bad = value if kept is None else limit
                out.append(Outcome(values, "unknown", path=path,
                                   reason=f"{bad!r} is not a duration (e.g. 7d, 168h)"))
            else:
                out.append(Outcome(values, "fail" if kept > most else "pass", path=path, vars={
                    "problem": f"{key} keeps logs for {value}, longer than the service's "
                               f"{limit}: they outgrow the volume before they expire"}))
    return out
