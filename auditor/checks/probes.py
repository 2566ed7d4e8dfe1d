"""Probe timing judged from the probes' own numbers against the service's time to ready.

A probe can give up as early as ``initialDelaySeconds + (failureThreshold - 1) x
periodSeconds`` (API defaults 0, 3 and 10): the kubelet's first probe comes at the earliest
right after the delay, and the failureThreshold-th failure, one period after another, is
the restart (the often quoted ``failureThreshold x periodSeconds`` is the latest it can
come, not what a service can count on). A startupProbe holds the others back until it
succeeds, so it must last at least the service's time to ready, or the kubelet restarts
the container before it ever serves; without one, a livenessProbe must, and a
readinessProbe that starts earlier fails over and over while the service loads (targets
churn at the load balancer). How long the service takes is a fact only its team knows
(``facts.time_to_ready``); the longest acceptable readiness period likewise
(``facts.max_probe_period``).
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.base import CheckContext, Outcome
from auditor.paths import Path
from auditor.quantities import port_number
from auditor.unknown import Unknown, shown

WORKLOADS = ("Deployment", "StatefulSet")
_DEFAULTS = {"initialDelaySeconds": 0, "failureThreshold": 3, "periodSeconds": 10}


def _field(probe: dict[str, Any], name: str) -> int | Unknown:
    raw = probe.get(name)
    if isinstance(raw, Unknown):
        return raw
    if raw is None:
        return _DEFAULTS[name]
    number = port_number(raw)  # an integer, or an integer written as a string
    return number if number is not None else Unknown(f"{name} {raw!r} is not a number")


def budget(probe: dict[str, Any]) -> int | Unknown:
    """Seconds after start at which ``probe`` may have failed for good (at the earliest)."""
    parts = [_field(probe, n) for n in ("initialDelaySeconds", "failureThreshold",
                                        "periodSeconds")]
    unknown = next((p for p in parts if isinstance(p, Unknown)), None)
    if unknown is not None:
        return unknown
    delay, threshold, period = parts
    assert isinstance(delay, int) and isinstance(threshold, int) and isinstance(period, int)
    return delay + (max(threshold, 1) - 1) * period


def probe_timing(ctx: CheckContext) -> list[Outcome]:
    ready = ctx.params.get("time_to_ready")
    max_period = ctx.params.get("max_probe_period")
    out = []
    for workload in ctx.inventory.of_kind(*WORKLOADS):
        found = k8s.serving_container(workload, ctx.params.get("serving_container"))
        if found is None:
            continue
        path, container = found
        name = shown(container.get("name"))
        readiness = container.get("readinessProbe")
        if not isinstance(readiness, dict):
            continue  # no probe at all is readiness-probe's finding
        problems, where, unknown = _judge(container, ready, max_period)
        if unknown is not None:
            out.append(Outcome(workload, "unknown", item=name, path=(*path, *where),
                               reason=unknown))
        else:
            # One setting that is the whole problem: the policy's remedy value sets it.
            alone = where[-1] if len(problems) == 1 and where[:1] == ("readinessProbe",) \
                else ""
            out.append(Outcome(workload, "fail" if problems else "pass", item=name,
                               path=(*path, *where) if problems else (),
                               vars={"problem": "; ".join(problems), "fix_field": alone}))
    return out


def _judge(container: dict[str, Any], ready: Any, max_period: Any
           ) -> tuple[list[str], Path, Unknown | None]:
    """(problems, where to point, what was not known)."""
    problems: list[str] = []
    where: Path = ()
    readiness: dict[str, Any] = container["readinessProbe"]
    startup, liveness = container.get("startupProbe"), container.get("livenessProbe")
    if isinstance(ready, int) and not isinstance(ready, bool):
        # The probe that can kill the container while it loads: the startupProbe, else the
        # livenessProbe (a startupProbe holds the liveness probe back until it succeeds).
        name = "startupProbe" if isinstance(startup, dict) else "livenessProbe"
        killer = startup if isinstance(startup, dict) else liveness
        if isinstance(killer, dict):
            lasts = budget(killer)
            if isinstance(lasts, Unknown):
                return [], (name,), lasts
            if lasts < ready:
                problems.append(
                    f"{'' if killer is startup else 'no startupProbe, and '}the {name} gives "
                    f"up after {lasts} s (initialDelaySeconds + (failureThreshold - 1) x "
                    f"periodSeconds, at the earliest), before the service is ready at {ready} "
                    "s: the kubelet "
                    "restarts the container before it can serve, over and over "
                    "(CrashLoopBackOff)")
                where = (name,)
        if not isinstance(startup, dict):
            delay = _field(readiness, "initialDelaySeconds")
            if isinstance(delay, Unknown):
                return [], ("readinessProbe", "initialDelaySeconds"), delay
            if delay < ready:
                problems.append(
                    f"no startupProbe, and the readinessProbe starts at {delay} s "
                    f"(initialDelaySeconds), before the service is ready at {ready} s: it "
                    "fails over and over while the service loads and the load balancer "
                    "sees targets churn")
                where = where or ("readinessProbe", "initialDelaySeconds")
    if isinstance(max_period, int) and not isinstance(max_period, bool):
        period = _field(readiness, "periodSeconds")
        if isinstance(period, Unknown):
            return [], ("readinessProbe", "periodSeconds"), period
        if period > max_period:
            problems.append(f"the readinessProbe checks every {period} s (periodSeconds), "
                            f"less often than the service's {max_period} s: a pod stays in "
                            "or out of rotation on stale news")
            where = where or ("readinessProbe", "periodSeconds")
    return problems, where, None
