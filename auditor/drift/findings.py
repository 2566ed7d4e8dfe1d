"""The outcomes a drift check returns: one per drifted field (both values, where Git says
it, the likely command and the restoring one), one per declared object missing live,
and a pass per object that matches.

Values go through :func:`auditor.drift.hidden.render`: an env value, args, a command, a
ConfigMap's content or anything live keeps only as a hash is shown as ``(hidden)`` on both
sides ("set" or "changed" says what happened).
"""

from __future__ import annotations

import math

from auditor.checks.base import Outcome, flag
from auditor.drift.compare import Difference
from auditor.drift.hidden import SHOWN, hidden, is_marker, render
from auditor.models import Provenance, Resource
from auditor.paths import MISSING

OBJECT = "(object)"  # the item of a finding about a whole object


def finding(declared: Resource, d: Difference, cause: str, fix: str,
            trace: Provenance | None = None) -> Outcome:
    """One drifted field: both values, where Git says it, what did it (``trace``: who did,
    as the platform recorded it), how to undo it."""
    where = declared.locate(d.path)
    value, live = render(d.declared, d.field), render(d.live, d.field)
    if hidden(d.field, d.live) and d.declared is not MISSING:
        value = SHOWN  # what live hides, Git's side does not show either
    if d.from_default:
        value = f"{value} (the default; not set in Git)"
    elif d.declared is MISSING:  # only live has it
        value = "(not declared)"
    if hidden(d.field, d.live) and d.live is not MISSING:
        verb = "set" if d.declared is MISSING else "changed"
        live = f"{verb} {live}" if live == SHOWN else f"{verb} ({live})"
    facts = {"field": d.field, "declared": value, "live": live,
             "declared_at": str(where or declared.source), "cause": cause, "restore": fix,
             "changed": trace.summary() if trace is not None and trace.actor else ""}
    if d.unknown is not None:
        return Outcome(declared, "unknown", item=d.field, path=d.path, location=where,
                       reason=f"live {d.field} is not known: {d.unknown}", vars=facts,
                       provenance=trace)
    return Outcome(declared, "fail", item=d.field, path=d.path, location=where, vars=facts,
                   provenance=trace, value=_adoptable(d))


def _adoptable(d: Difference) -> str | int | float | bool | None:
    """The live value, where Git sets the field to a plain value that live changed to
    another shown in clear (`auditor fix --adopt-live` writes it at the declared line), in
    the declared value's own type: an API's "5" for Git's 5 is 5, "false" for a bool is
    false; a live value of another kind (or not a finite number) is not adopted."""
    if d.declared is MISSING or d.from_default or d.live is MISSING or hidden(d.field, d.live):
        return None
    if isinstance(d.declared, dict | list) or is_marker(d.live) or is_marker(d.declared):
        return None
    live, declared = d.live, d.declared
    if isinstance(declared, bool):
        return flag(live)
    if isinstance(declared, int | float):
        number = _number(live)
        if number is None or (isinstance(declared, int) and number != int(number)):
            return None
        return int(number) if isinstance(declared, int) else number
    if isinstance(declared, str) and isinstance(live, str | int | float) \
            and not isinstance(live, bool):
        return live if isinstance(live, str) else str(live)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def missing(declared: Resource, cause: str, fix: str) -> Outcome:
    """Declared, and read where it would be, but missing live."""
    return Outcome(declared, "fail", item=OBJECT, location=declared.location, vars={
        "field": f"{declared.kind} {declared.name}", "declared": "declared",
        "live": "(absent)", "declared_at": str(declared.location or declared.source),
        "cause": cause, "restore": fix})


def not_read(declared: Resource, why: str, fix: str) -> Outcome:
    """Declared, not found live, but nothing was read where it would be."""
    return Outcome(declared, "unknown", item=OBJECT, location=declared.location,
                   reason=why, vars={"restore": fix})


def unreadable(declared: Resource, why: str, fix: str) -> Outcome:
    return Outcome(declared, "error", reason=f"live {declared.kind} objects could not be "
                   f"read: {why}", vars={"restore": fix})


def passed(declared: Resource) -> Outcome:
    return Outcome(declared, "pass", location=declared.location)
