"""Policy files: ``policies/*.yaml`` (and ``--policies DIR``), validated by pydantic.

A policy is data: which runbook section it protects, which resources it applies to, the
condition under which it fails (see :mod:`auditor.conditions`) or the named cross-resource
check it calls, templates for its message and remediation, and pass/fail examples that the
test suite runs. A bad file stops the audit (exit 2) with file, field and line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor import cache, conditions, kinds, paths
from auditor.config import FACTS
from auditor.errors import PolicyError, where
from auditor.models import Severity
from auditor.paths import Path
from auditor.yamlfile import nearest_line, read_document

# A link to the top-level policies/ folder, so wheels ship the pack as package data.
PACK_DIR = FsPath(__file__).parent / "policy_pack"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Runbook(_Strict):
    section: str = Field(description="The runbook section's title, as on the site.")
    anchor: str = Field(description="Site path and anchor, e.g. high-latency/#hpa-present.")


class Parameter(_Strict):
    default: Any
    description: str
    fact: str | None = Field(
        None, description="The auditor.yaml `facts` key that sets it for the service (e.g. "
        "ready_path, values_keys.pool_size); `params` still win.")


class AppliesTo(_Strict):
    kinds: list[str] = Field(min_length=1)
    each: str | None = Field(
        None, description="Evaluate per item: 'containers', 'serving_container' or a path."
    )
    where: dict[str, Any] | None = Field(
        None, description="A condition an item must meet for the check to apply at all "
        "(otherwise it is not applicable: neither a pass nor a fail).")
    related: list[str] = Field(
        default_factory=list, description="Kinds a `cel:` condition reads as "
        "related.KIND: the objects of that kind in the resource's namespace (and the "
        "cluster-scoped ones).")

    @field_validator("kinds", "related")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        return _known(value)

    @field_validator("each")
    @classmethod
    def _known_each(cls, value: str | None) -> str | None:
        if (why := _each_problem(value)) is not None:
            raise ValueError(why)
        return value


def _known(value: list[str]) -> list[str]:
    for kind in value:
        if (why := kinds.problem(kind)) is not None:
            raise ValueError(why)
    return value


class Remediation(_Strict):
    text: str
    commands: list[str] = Field(default_factory=list, description="Commands that fix it.")
    checks: list[str] = Field(default_factory=list, description="Commands that only look "
                              "(what to see before or after the fix).")
    value: str | None = Field(
        None, description="When the remedy is a value: a template of the value that "
        "resolves a failing finding where its location sets it (a YAML scalar: 7, true, "
        "\"0.5\"). Rendering to nothing means this finding's remedy is not one value. "
        "`auditor fix` writes it into the values file or Terraform.")
    renders: str | None = Field(
        None, description="With `value` true, for a remedy that is a chart's toggle: the "
        "kind of object the toggle makes the chart render (PodDisruptionBudget). Where no "
        "values key was found for the finding, `auditor fix` tries the enabled/create keys "
        "guarding the chart's templates of that kind, and keeps one a scan with it "
        "confirms.")


class Example(_Strict):
    name: str
    resources: list[dict[str, Any]] = Field(
        description="Kubernetes manifests, or {kind, name, body} for other resources."
    )
    params: dict[str, Any] = Field(default_factory=dict)
    side: Literal["declared", "live", "drift"] = "declared"
    declared: list[dict[str, Any]] = Field(
        default_factory=list, description="Drift examples: the declared side (`resources` "
        "is the live one).")
    environment: str = "prod"
    message: str | None = Field(
        None, description="Text the message of the expected result must contain (fail, "
        "unknown and error examples): what a person reads is part of the check.")
    path: str | None = Field(
        None, description="The field the expected result points at, in path syntax "
        "(`spec.ports[0].targetPort`; empty: the resource itself): a finding's file:line "
        "comes from it.")

    item: str | None = Field(
        None, description="The item of the expected result (a container, a port, a rule): "
        "with the resource, a finding's identity, which waivers and baselines key on.")
    details: dict[str, Any] | None = Field(
        None, description="Entries the expected result's `details` (the report's "
        "machine-readable facts of a finding) must include, with these values.")

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        return None if value is None else paths.format(paths.parse(value))  # one spelling


class Examples(_Strict):
    passing: list[Example] = Field(alias="pass", min_length=1)
    failing: list[Example] = Field(alias="fail", min_length=1)
    unknown: list[Example] = Field(default_factory=list)
    error: list[Example] = Field(
        default_factory=list, description="Inputs the check must report as not read.")
    not_applicable: list[Example] = Field(
        default_factory=list, description="Inputs the check must not apply to at all.")


class Policy(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    severity: Severity
    description: str
    runbook: Runbook
    sides: list[Literal["declared", "live", "drift"]] = Field(min_length=1)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    applies_to: AppliesTo | None = None
    condition: dict[str, Any] | None = None
    check: str | None = Field(None, description="A named check in auditor.checks.")
    partial: bool | list[str] = Field(
        False, description="Kinds checked each on its own (true: all of `requires`): when "
        "one of them could not be read, report an error for it and still evaluate the "
        "others. A condition's kinds always are.")
    requires: list[str] = Field(
        default_factory=list,
        description="Kinds a named check reads (applies_to.kinds for a condition): when the "
        "live side could not read one, the policy is an error there, not a pass.")
    applies_when_set: list[str] = Field(
        default_factory=list, description="Parameters of which at least one must have a "
        "value (a fact of the service) for the policy to apply: until then it is not "
        "applicable, and the report names the key that turns it on.")
    locate: str | None = Field(None, description="Path (under the item) to point findings at.")
    message: str
    remediation: Remediation
    examples: Examples
    file: str = Field("", exclude=True)
    # Why it is not evaluated (its examples misbehave): every side reports this error.
    broken: str | None = Field(None, exclude=True)

    @field_validator("requires")
    @classmethod
    def _known_requires(cls, value: list[str]) -> list[str]:
        return _known(value)

    @model_validator(mode="after")
    def _one_kind_of_logic(self) -> Policy:
        from auditor import checks  # the registry; imported late to avoid a cycle

        if isinstance(self.partial, list) and not set(self.partial) <= set(self.requires):
            raise ValueError("partial lists kinds that are not under requires")
        for name, param in self.parameters.items():
            if param.fact is not None and param.fact not in FACTS:
                raise ValueError(f"parameter {name}: unknown fact {param.fact!r} (known: "
                                 f"{', '.join(FACTS)})")
        if "live" in self.sides and (unread := [k for k in self.needs()
                                               if k not in kinds.LIVE]):
            raise ValueError(f"sides: the live side does not read {', '.join(unread)}: a "
                             "live check of it would check nothing (drop live from sides)")
        for name in self.applies_when_set:
            if name not in self.parameters:
                raise ValueError(f"applies_when_set: {name!r} is not under parameters")
        if self.check is not None:
            try:
                if self.check not in checks.CHECKS:  # a built-in is known without its code
                    checks.find(self.check)
            except LookupError as exc:
                raise ValueError(str(exc)) from None
            if self.condition is not None:
                raise ValueError("give either 'check' or 'condition', not both")
        else:
            if self.condition is None or self.applies_to is None:
                raise ValueError("a policy needs 'applies_to' and 'condition', or 'check'")
        return self

    def needs(self) -> list[str]:
        if self.requires:
            return self.requires
        return [*self.applies_to.kinds, *self.applies_to.related] if self.applies_to else []

    def independent_kinds(self) -> set[str]:
        """The kinds whose objects are checked each on its own (see ``partial``)."""
        if self.check is None:  # a condition judges one object at a time (its related
            # kinds, read by CEL, are needed whole)
            return set(self.applies_to.kinds) if self.applies_to else set()
        if self.partial is True:
            return set(self.requires)
        return set(self.partial or [])

    def params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults, then the service's facts (``overrides["facts"]``, flat keys), then the
        environment's ``params`` (for every policy, then for this one)."""
        values = {name: p.default for name, p in self.parameters.items()}
        facts = overrides.get("facts")
        if isinstance(facts, dict):
            for name, p in self.parameters.items():
                if p.fact is not None and facts.get(p.fact) is not None:
                    values[name] = facts[p.fact]
        for name in values:
            if name in overrides:  # parameter names never look like policy ids
                values[name] = overrides[name]
        own = overrides.get(self.id)
        if isinstance(own, dict):
            values.update({k: v for k, v in own.items() if k in values})
        return values

    def unmet(self, params: dict[str, Any]) -> str | None:
        """Why the policy does not apply with these parameters (a fact nobody gave), or
        None. The reason names the keys that turn it on."""
        if not self.applies_when_set or any(
                params.get(n) not in (None, "", []) for n in self.applies_when_set):
            return None
        keys = []
        for name in self.applies_when_set:
            fact = self.parameters[name].fact
            keys.append(f"facts.{fact}" if fact else f"params.{self.id}.{name}")
        what = "; ".join(self.parameters[n].description.strip().rstrip(".")
                         for n in self.applies_when_set)
        return (f"needs a fact of the service: set {' or '.join(keys)} in auditor.yaml "
                f"({what})")


EACH = ("containers", "serving_container")


def _each_problem(each: str | None) -> str | None:
    """``each`` is a named iteration or a path to a list, written ``PATH[*]`` (a bare word
    like ``container`` would otherwise be a path to nothing, and check nothing)."""
    if each is None or each in EACH:
        return None
    if each.endswith("[*]"):
        try:
            paths.parse(each.removesuffix("[*]"))
            return None
        except ValueError as exc:
            return str(exc)
    return (f"unknown {each!r}: one of {', '.join(EACH)}, or a path to a "
            "list written PATH[*] (e.g. spec.rules[*])")


def policy_files(directory: FsPath) -> list[FsPath]:
    """The policy files of a directory, in the order they load."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_dir(directory: FsPath) -> list[Policy]:
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory not found")
    return [load_file(f) for f in policy_files(directory)]


def load_file(path: FsPath) -> Policy:
    shown = str(path)
    doc = read_document(path, shown, "policy file", PolicyError)
    if not isinstance(doc.data, dict):
        raise PolicyError(f"{where(shown, doc.line)}: a policy file must be a mapping")
    try:
        policy = Policy.model_validate({**doc.data, "file": shown})
    except ValidationError as exc:
        raise PolicyError(_describe(exc, shown, doc.lines)) from None
    declared = {*policy.parameters, *conditions.RESERVED_PARAMS}
    defaults = {name: p.default for name, p in policy.parameters.items()}
    for field_name in ("condition", "locate"):
        try:
            unknown = sorted(conditions.param_refs(getattr(policy, field_name)) - declared)
        except ValueError as exc:  # a malformed {placeholder}
            raise PolicyError(f"{where(shown, doc.lines.get((field_name,)))}: {field_name}: "
                              f"{exc}") from None
        if unknown:
            raise PolicyError(f"{where(shown, doc.lines.get((field_name,)))}: {field_name}: "
                              f"parameter {unknown[0]!r} is not declared under parameters")
    if policy.applies_to is not None and policy.applies_to.where is not None:
        try:
            conditions.validate(policy.applies_to.where, ("applies_to", "where"), defaults)
        except conditions.ConditionError as exc:
            line = nearest_line(doc.lines, exc.path)
            raise PolicyError(f"{where(shown, line)}: {exc}") from None
        unknown = sorted(conditions.param_refs(policy.applies_to.where) - declared)
        if unknown:
            raise PolicyError(f"{where(shown, doc.lines.get(('applies_to',)))}: applies_to.where:"
                              f" parameter {unknown[0]!r} is not declared under parameters")
    if policy.condition is not None:
        try:
            conditions.validate(policy.condition, defaults=defaults)
        except conditions.ConditionError as exc:
            line = nearest_line(doc.lines, exc.path)
            raise PolicyError(f"{where(shown, line)}: {exc}") from None
    _check_templates(policy, shown, doc.lines)
    if path.stem != policy.id:
        raise PolicyError(f"{where(shown, doc.lines.get(('id',)))}: id: {policy.id!r} must "
                          f"match the file name {path.stem!r}")
    return policy


def _check_templates(policy: Policy, shown: str, lines: dict[Path, int]) -> None:
    """Jinja syntax errors stop the audit at load time, not halfway through a report."""
    from jinja2 import TemplateSyntaxError

    from auditor.templates import check

    fields: list[tuple[Path, str, bool]] = [
        (("message",), policy.message, False),
        (("remediation", "text"), policy.remediation.text, False),
        *((("remediation", "commands", i), c, True)
          for i, c in enumerate(policy.remediation.commands)),
        *((("remediation", "checks", i), c, True)
          for i, c in enumerate(policy.remediation.checks))]
    # Checking is a large part of loading a pack: a set already found valid by this code
    # and Jinja is not checked again (the engine compiles what it renders).
    store = cache.store()
    entry = cache.key("templates", _jinja_version(), cache.code_version("auditor.templates"),
                      *(f"{command}:{template}" for _, template, command in fields)) \
        if store is not None else ""
    if store is not None and store.get("templates", entry) is True:
        return
    for key, template, command in fields:
        try:
            check(template, command=command)  # as the engine will compile it
        # SyntaxError and the others: Python's compiler refused the generated code.
        except (TemplateSyntaxError, SyntaxError, RecursionError, MemoryError) as exc:
            why = exc.message if isinstance(exc, TemplateSyntaxError) else (
                "nested too deeply to compile")
            name = ".".join(str(k) for k in key)
            raise PolicyError(f"{where(shown, lines.get(key))}: {name}: invalid template: "
                              f"{why}") from None
    if store is not None:
        store.put("templates", entry, True)


@lru_cache(maxsize=1)
def _jinja_version() -> str:
    from importlib.metadata import version

    return version("Jinja2")


def load_all(extra_dirs: list[FsPath]) -> list[Policy]:
    """The built-in pack plus the user's directories; an id defined twice is an error."""
    policies: dict[str, Policy] = {}
    for directory in [PACK_DIR, *extra_dirs]:
        for policy in load_dir(directory):
            if policy.id in policies:
                raise PolicyError(f"{policy.file}: id: {policy.id!r} is already defined in "
                                  f"{policies[policy.id].file}")
            policies[policy.id] = policy
    return sorted(policies.values(), key=lambda p: p.id)


def load_checked(extra_dirs: list[FsPath]) -> list[Policy]:
    """:func:`load_all`, with the user's policies' examples run through the engine first
    (the pack's run in the test suite). A policy whose examples do not behave as declared
    would report wrong findings: it is reported as an error on every side it has, with the
    first misbehaving example, and the other policies run as usual."""
    out = []
    for policy in load_all(extra_dirs):
        if not FsPath(policy.file).is_relative_to(PACK_DIR) and (
                problems := _examples_fail(policy)):
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            why = problems[0].removeprefix(f"{policy.file}: ")
            policy = policy.model_copy(update={
                "broken": f"its examples do not behave as declared: {why}{more}; run "
                          "`auditor policies validate DIR`"})
        out.append(policy)
    return out


def _examples_fail(policy: Policy) -> list[str]:
    from auditor.examples import run_examples  # the engine: only for the user's policies

    return run_examples(policy)


def _describe(exc: ValidationError, file: str, lines: dict[Path, int]) -> str:
    # A misspelt key also makes the real one "missing": name the typo, it is the cause.
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    key = paths.format(loc) or "(policy)"  # fail[1].path, as a condition's places read
    line = nearest_line(lines, loc)
    message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
    message = message.removeprefix("Value error, ")
    return f"{where(file, line)}: {key}: {message}"
