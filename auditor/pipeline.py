"""The only place that knows the order: sources -> inventory -> engine -> report.

Data flows one way: sources never see policies, the engine never does I/O, formats only
read the finished report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from auditor import conditions, envcache, inputs, parallel, project
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.models import (
    Evaluated,
    Inventory,
    Location,
    NotApplicable,
    Problem,
    Report,
)
from auditor.policies import Policy
from auditor.report import build_from

if TYPE_CHECKING:
    from auditor.live.base import LiveCollected

# Shown in remediation commands where the config does not name the thing, in the
# runbook's own placeholder style, so a copied command fails loudly rather than silently.
PLACEHOLDERS = {
    "release": "<release>", "namespace": "<namespace>", "chart": "<chart-dir>",
    "deployment": "<deployment>", "db_identifier": "<db-instance-id>",
    "parameter_group": "<db-parameter-group>", "cluster": "<eks-cluster>",
    "nodegroup": "<nodegroup>", "target_group": "<target-group>",
    "load_balancer": "<load-balancer>", "db_security_group": "<db-sg-id>",
}  # fmt: skip


@dataclass
class ScanOptions:
    environments: Sequence[str] = ()
    live_file: FsPath | None = None  # audit: a recorded snapshot instead of the live APIs
    now: datetime | None = None  # --now: the moment checks judge ages and expiry by
    jobs: int = 1  # environments evaluated at once (worker processes): --jobs
    keep_results: bool = True  # in the cache, for the next scan (auditor.envcache)
    kinds: frozenset[str] | None = None  # audit: the only live kinds to read (triage)
    progress: Callable[[str], None] = field(default=lambda _: None)


def select_environments(config: Config, wanted: Sequence[str]) -> list[str]:
    unknown = [e for e in wanted if e not in config.environments]
    if unknown:
        raise ConfigError(f"{config.file}: environment {unknown[0]!r} is not defined "
                          f"(defined: {', '.join(config.environments)})")
    return list(dict.fromkeys(wanted)) or list(config.environments)  # each once, in order


def validate_params(config: Config, policies: Sequence[Policy]) -> None:
    """Every ``params`` key of every environment names a parameter of some policy, or is a
    policy id mapping to its parameters, with a value of the parameter's default's type
    (an int will do for a float; a null default takes anything). ConfigError otherwise."""
    by_id = {p.id: p for p in policies}
    for policy_id in config.runbook_sections:
        if policy_id not in by_id:
            raise config.error_at(("runbook_sections", policy_id), "no such policy")
    defaults: dict[str, list[tuple[str, Any]]] = {}  # parameter -> (policy id, default)
    for p in policies:
        for name, param in p.parameters.items():
            defaults.setdefault(name, []).append((p.id, param.default))
    for env_name, env in config.environments.items():
        for key, value in env.params.items():
            at = ("environments", env_name, "params", key)
            if key in by_id and (key not in defaults or isinstance(value, dict)):
                policy = by_id[key]
                known = ", ".join(policy.parameters) or "none"
                if not isinstance(value, dict):
                    raise config.error_at(at, f"expected a mapping of {key}'s parameters "
                                              f"({known}), got {_type(value)}")
                for name, v in value.items():
                    if name not in policy.parameters:
                        raise config.error_at((*at, name), f"unknown parameter of {key} "
                                                            f"(known: {known})")
                    _check_type(config, (*at, name), v, [(key, policy.parameters[name].default)])
            elif key in defaults:
                _check_type(config, at, value, defaults[key])
            else:
                raise config.error_at(at, f"unknown parameter (known: "
                                          f"{', '.join(sorted(defaults))}; or a policy id)")


def _check_type(config: Config, at: tuple[str, ...], value: Any,
                defaults: list[tuple[str, Any]]) -> None:
    for policy_id, default in defaults:
        want, got = _type(default), _type(value)
        if default is not None and got != want and (want, got) != ("float", "int"):
            raise config.error_at(at, f"expected {want} like the default of {policy_id} "
                                      f"({default!r}), got {got}")
    if at[-1].endswith("_pattern") and isinstance(value, str):  # checked now, not mid-scan
        try:
            conditions.compile_pattern(value)
        except ValueError as exc:
            raise config.error_at(at, str(exc)) from None


def _type(value: Any) -> str:
    """The YAML-level type of a value: bool, int, float, str, list, mapping or null."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__ if isinstance(value, bool | int | float | str | list) \
        else "other"


def declared_inventory(config: Config, env_name: str) -> Inventory:
    # Imported when an environment is evaluated: a run that finds every result kept
    # starts without the sources, the engine and the checks.
    from auditor import api_defaults
    from auditor.sources.declared import DECLARED, Collected

    env = config.environments[env_name]
    collected = Collected()
    with project.confined(project.root_of(config.base_dir)):  # no file from outside it
        for name, collect in DECLARED.items():
            try:
                collected.extend(collect(config, env_name, env))
            except Exception as exc:  # one odd input must not stop the other sources
                collected.problems.append(Problem(f"{name} source",
                                                  f"could not be read: {exc!r}",
                                                  Location(config.config_rel())))
    names = {**PLACEHOLDERS, **collected.names, "service": config.service,
             "environment": env_name}
    inventory = Inventory(env_name, "declared", collected.resources, collected.problems, names)
    api_defaults.apply(inventory)  # what the API server would fill in, as the live side has it
    return inventory


def _kept(*inventories: Inventory) -> list[Inventory]:
    """What the report needs of an inventory: its problems, and for the live side what
    could not be read and which live sources were asked."""
    return [Inventory(i.environment, i.side, problems=i.problems, unavailable=i.unavailable,
                      names={k: v for k, v in i.names.items() if k == "live_platforms"})
            for i in inventories]


def scan(config: Config, policies: list[Policy], options: ScanOptions) -> Report:
    memo = envcache.Memo.open(config, policies) if options.keep_results else None

    def one(env_name: str) -> Evaluated:
        params = _params(config, env_name, options.now)

        def evaluate() -> Evaluated:
            return _declared(config, policies, env_name, params)[0]

        if memo is None:
            return evaluate()
        with inputs.recording(memo.root, memo.skip) as read:
            evaluated = evaluate()
        memo.put(env_name, params, read, evaluated)
        return evaluated

    names = select_environments(config, options.environments)
    # Which environments are kept is known before any work starts (the workers check the
    # inputs), and only the others are evaluated by the workers. A kept one is read and
    # decoded here when its turn comes: the main process never holds every environment's
    # results at once, and no result crosses from a worker.
    found: dict[str, envcache.Found | None] = {}
    if memo is not None:
        checks = parallel.each(names, lambda n: memo.check(n, _params(config, n, options.now)),
                               options.jobs, even=True)
        found = dict(zip(names, checks, strict=True))
    misses = [n for n in names if found.get(n) is None]
    if misses:
        _load_evaluation()
    fresh = parallel.each(misses, one, options.jobs)

    def in_order() -> Iterator[Evaluated]:
        for name in names:
            entry = found.pop(name, None)
            if entry is None:
                yield next(fresh)
                continue
            assert memo is not None
            # Replaced since it was checked, or not decoding: evaluated here.
            yield memo.kept(entry) or one(name)

    try:
        return build_from(config, policies, in_order(), ("declared",))
    finally:
        fresh.close()  # the workers end here, not when the generator is collected


def declared_scan(config: Config, policies: list[Policy], env_name: str,
                  now: datetime | None) -> tuple[Report, Inventory]:
    """One environment's declared scan, with nothing kept or reused, and the inventory it
    judged (``auditor fix`` checks an edit by both: the findings and the values)."""
    evaluated, inventory = _declared(config, policies, env_name, _params(config, env_name, now))
    return build_from(config, policies, iter([evaluated]), ("declared",)), inventory


def _declared(config: Config, policies: list[Policy], env_name: str, params: dict[str, Any]
              ) -> tuple[Evaluated, Inventory]:
    """One environment's declared side judged, and the inventory (with its resources)."""
    from auditor import engine

    inventory = declared_inventory(config, env_name)
    return Evaluated(engine.evaluate(policies, inventory, params), _kept(inventory),
                     _not_applicable(policies, env_name, params, ("declared",))), inventory


def _load_evaluation() -> None:
    """The code that evaluates, imported once here rather than by each forked worker."""
    from auditor import engine
    from auditor.checks import CHECKS
    from auditor.sources.declared import DECLARED

    assert engine and DECLARED and all(CHECKS[name] for name in CHECKS)


def _not_applicable(policies: list[Policy], env_name: str, params: dict[str, Any],
                    sides: tuple[str, ...]) -> list[NotApplicable]:
    from auditor import engine

    checked = [p for p in policies if set(p.sides) & set(sides)]
    return [NotApplicable(policy=pid, environment=env_name, reason=reason)
            for pid, reason in engine.not_applicable(checked, env_name, params)]


def _params(config: Config, env_name: str, now: datetime | None,
            recorded_at: str = "") -> dict[str, Any]:
    """An environment's parameters, with the moment time-based checks judge by: --now,
    else the environment's own ``now``, else a snapshot's recording time, else the clock."""
    params = {"facts": config.facts_for(env_name), **config.environments[env_name].params}
    if now is not None:
        return {**params, "now": now.isoformat()}
    return {"now": recorded_at, **params} if recorded_at else params


def audit(config: Config, policies: list[Policy], options: ScanOptions) -> Report:
    """The declared scan, the live state (collected, or read from a snapshot), the live
    policies and the declared-vs-live drift, in one report."""
    from auditor import engine, snapshot
    from auditor.drift import trail
    from auditor.live.aws.cloudtrail import KIND as CLOUDTRAIL
    from auditor.live.base import LiveCollected
    from auditor.live.collect import collect, wanted

    recorded, recorded_at = (snapshot.load(options.live_file, service=config.service)
                             if options.live_file else (None, ""))

    def one(env_name: str) -> Evaluated:
        declared = declared_inventory(config, env_name)
        unmet = _not_applicable(policies, env_name, _params(config, env_name, options.now),
                                ("declared", "live", "drift"))
        if recorded is not None:
            live_state = recorded.get(env_name) or LiveCollected(unavailable={
                "*": f"environment {env_name} is not in the snapshot"})
        else:
            live_state = collect(config, env_name, config.environments[env_name],
                                 declared.resources, options.progress, options.kinds)
            if options.kinds is None or CLOUDTRAIL in options.kinds:
                trail.look_up(config, config.environments[env_name], declared, live_state)
        names = {**declared.names, **live_state.names,
                 "live_platforms": ",".join(wanted(config.environments[env_name]))}
        # Chart values have no live form; the live checks that need one (the connection
        # pool size) read the declared values beside the live objects.
        values = declared.of_kind("HelmValues")
        live = Inventory(env_name, "live", [*live_state.resources, *values],
                         live_state.problems, names, live_state.unavailable)
        drift = Inventory(env_name, "drift", live_state.resources, [], names,
                          live_state.unavailable, baseline=declared)
        results = engine.evaluate(policies, declared, _params(config, env_name, options.now))
        # A snapshot is judged as of when it was recorded (certificate and snapshot ages),
        # so a recorded audit gives the same answer every day.
        live_params = _params(config, env_name, options.now, recorded_at)
        for inventory in (live, drift):
            results.extend(engine.evaluate(policies, inventory, live_params))
        return Evaluated(results, _kept(declared, live), unmet)

    return build_from(config, policies, parallel.each(
        select_environments(config, options.environments), one, options.jobs),
        ("declared", "live", "drift"))


def snapshot_state(config: Config, options: ScanOptions) -> dict[str, LiveCollected]:
    """What ``auditor snapshot`` records: the live state of each selected environment."""
    from auditor.drift import trail
    from auditor.live.collect import collect

    def one(env_name: str) -> LiveCollected:
        declared = declared_inventory(config, env_name)
        state = collect(config, env_name, config.environments[env_name], declared.resources,
                        options.progress)
        trail.look_up(config, config.environments[env_name], declared, state)
        return state

    names = select_environments(config, options.environments)
    return dict(zip(names, parallel.each(names, one, options.jobs), strict=True))
