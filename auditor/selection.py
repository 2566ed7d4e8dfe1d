"""Which policies a run evaluates: ``--policy`` / ``--skip-policy`` (ids or globs) and
``--min-severity``, else the same under ``policies:`` in auditor.yaml.

An option given on the command line replaces the config's value of the same key (as
Checkov's and Trivy's flags win over their config files); the others still apply. A pattern
that matches no policy is an error, not a silent empty run: it is a typo. The report lists
what was selected and what was left out (:class:`auditor.models.SelectionInfo`); findings
of the policies left out are not compared with a base, and their waivers are not stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from auditor.config import Config
from auditor.errors import ConfigError, where
from auditor.models import SelectionInfo, Severity, severity_rank
from auditor.policies import Policy


@dataclass(frozen=True)
class Selection:
    policy: tuple[str, ...] = ()  # ids or globs; none: every policy
    skip_policy: tuple[str, ...] = ()
    min_severity: Severity | None = None

    def merged(self, config: Config) -> tuple[Selection, dict[str, str]]:
        """This run's selection: each key from the command line if given there, else the
        config's; with where each came from (for errors)."""
        own = config.policies
        origin: dict[str, str] = {}
        values: dict[str, object] = {}
        for key, flag in (("policy", "--policy"), ("skip_policy", "--skip-policy"),
                          ("min_severity", "--min-severity")):
            given = getattr(self, key)
            if given:
                values[key], origin[key] = given, flag
            elif own is not None and getattr(own, key):
                configured = getattr(own, key)
                values[key] = tuple(configured) if isinstance(configured, list) else configured
                origin[key] = (f"{where(config.file, config.line_of(('policies', key)))}: "
                               f"policies.{key}")
        return Selection(**values), origin  # type: ignore[arg-type]

    def choose(self, pack: list[Policy], config: Config
               ) -> tuple[list[Policy], SelectionInfo | None]:
        """The policies to evaluate, and what the report says about the choice (None when
        nothing was narrowed)."""
        chosen, origin = self.merged(config)
        for key in ("policy", "skip_policy"):
            for pattern in getattr(chosen, key):
                if not any(fnmatchcase(p.id, pattern) for p in pack):
                    raise ConfigError(f"{origin[key]}: {pattern!r} matches no policy (see "
                                      "`auditor policies list`)")
        if not (chosen.policy or chosen.skip_policy or chosen.min_severity):
            return pack, None
        kept = [p for p in pack if chosen.keeps(p)]
        if not kept:
            raise ConfigError("the selection leaves no policy to evaluate (" + "; ".join(
                f"{origin[k]} {v}" for k, v in chosen.described()) + ")")
        info = SelectionInfo(
            policy=list(chosen.policy), skip_policy=list(chosen.skip_policy),
            min_severity=chosen.min_severity, selected=[p.id for p in kept],
            skipped=[p.id for p in pack if not chosen.keeps(p)])
        return kept, info

    def keeps(self, policy: Policy) -> bool:
        return ((not self.policy or any(fnmatchcase(policy.id, g) for g in self.policy))
                and not any(fnmatchcase(policy.id, g) for g in self.skip_policy)
                and (self.min_severity is None
                     or severity_rank(policy.severity) >= severity_rank(self.min_severity)))

    def described(self) -> list[tuple[str, str]]:
        out = [(k, ",".join(v)) for k, v in (("policy", self.policy),
                                              ("skip_policy", self.skip_policy)) if v]
        return out + ([("min_severity", self.min_severity)] if self.min_severity else [])

