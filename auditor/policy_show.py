"""``auditor policies show ID``: one policy as a person at a terminal reads it.

What it applies to and the condition as the file writes them (YAML, not Python reprs), its
parameters as a table, and its message and remediation rendered the way a scan renders them
(:func:`auditor.templates.compiled`, the engine's environments and filters), with the
parameters' defaults and visible placeholders (``<release>``, ``<name>``,
``<item.image>``) for what only a scan knows. A placeholder tests false, as a value a finding
lacks does; a template that then prints nothing is rendered again with them true, then for
each kind the policy reads (``{% if kind == "Ingress" %}``). One that still prints nothing,
or cannot render without a real finding (a placeholder compared with a number), is shown as
its source, each line marked ``[template]``.

Everything that comes from a policy file (``--policies DIR`` is a pull request's code) is
shown through :func:`auditor.terminal.visible`: it cannot send control sequences.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from jinja2 import meta
from jinja2.exceptions import SecurityError

from auditor.policies import Policy
from auditor.shell import Shell
from auditor.templates import TemplateBoundError, bounded, compiled
from auditor.terminal import visible

WIDTH = 100
FALLBACK = "[template]"  # starts every line that shows a template's source, not its output
_DEFAULT_COLUMN = 32  # wider defaults (regexes) are shown in full, the rest of the row below

# Asked of any object by Jinja and its sandbox: a placeholder must not answer them.
_NOT_FIELDS = frozenset({"jinja_pass_arg", "unsafe_callable", "alters_data"})
_BARE = re.compile(r"<[A-Za-z0-9_.*\[\]-]+>")  # safe unquoted in a command: ours, no input
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Placeholder(str):
    """A value only a scan knows, printed as its placeholder (``<item.image>``). Its fields
    and items are placeholders too, a loop over it sees one item, and what a string method
    makes of it is still unknown: the same placeholder. It tests false, as a value a finding
    lacks does (``{% if values_key %}``), or true (``_truthy``) on a second try."""

    _path: str
    _truthy: bool

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("_") or name in _NOT_FIELDS:
            raise AttributeError(name)
        return self._child(f"{self._path}.{name}")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self
        if isinstance(key, str) and _KEY.fullmatch(key):
            return self._child(f"{self._path}.{key}")
        return self._child(f"{self._path}[{key!r}]")

    def __iter__(self) -> Iterator[str]:
        yield self._child(f"{self._path}[*]")

    def __bool__(self) -> bool:
        return self._truthy

    def _child(self, path: str) -> Placeholder:
        return placeholder(path, truthy=self._truthy)

    def _same(self, *args: Any, **kwargs: Any) -> Placeholder:
        return self

    strip = lstrip = rstrip = lower = upper = title = capitalize = casefold = _same
    swapcase = removeprefix = removesuffix = replace = _same


class PlaceholderWord(Placeholder, Shell):
    """A placeholder a command prints as it is (``<release>``, not ``'<release>'``): the
    runbook's style, and a copied command that still has one fails at once."""


def placeholder(path: str, text: str | None = None, truthy: bool = True) -> Placeholder:
    """The placeholder for ``path`` (shown as ``text``, default ``<path>``)."""
    shown = text if text is not None else f"<{path}>"
    value = (PlaceholderWord if _BARE.fullmatch(shown) else Placeholder)(shown)
    value._path, value._truthy = path, truthy
    return value


class _Names(dict[str, Any]):
    """A mapping whose missing keys are placeholders (``prefix`` + key)."""

    def __init__(self, values: dict[str, Any], prefix: str = "", truthy: bool = True) -> None:
        super().__init__(values)
        self.prefix, self.truthy = prefix, truthy

    def __missing__(self, key: str) -> Placeholder:
        return placeholder(f"{self.prefix}{key}", truthy=self.truthy)


def _names() -> _Names:
    """The environment's names as a scan without a config has them: the engine's own
    placeholders (``<chart-dir>``, ``<db-instance-id>``). A scan always has them."""
    from auditor.pipeline import PLACEHOLDERS

    return _Names({**{k: placeholder(k, v) for k, v in PLACEHOLDERS.items()},
                   "service": placeholder("service"),
                   "environment": placeholder("environment")})


def _context(policy: Policy, kind: str | None, truthy: bool) -> dict[str, Any]:
    """What the engine gives a template for one finding (``engine._result``): the
    parameters' defaults (a default of null is a fact only the config gives: a
    placeholder) and placeholders for the rest, the finding's own values (its fields, the
    check's details, its values key) testing ``truthy``."""
    names = _names()

    def unknown(path: str) -> Placeholder:
        return placeholder(path, truthy=truthy)

    params = _Names({n: unknown(n) if p.default is None else p.default
                     for n, p in policy.parameters.items()}, "params.", truthy)
    params["environment"] = names["environment"]
    return {**names, "name": placeholder("name"),
            "kind": kind if kind is not None else placeholder("kind"),
            "namespace": names["namespace"], "names": names, "params": params,
            "resource": unknown("resource"), "container": unknown("container"),
            "item": unknown("item"), "environment": names["environment"],
            "values_key": unknown("values_key"),
            "values_key_for": lambda text: unknown("values_key"),
            "values_has": lambda text: truthy}


@dataclass
class Rendered:
    """One template as ``policies show`` prints it."""

    field: str  # message, remediation.text, remediation.commands[0], ...
    source: str
    text: str = ""  # the rendering ("" when it rendered nothing)
    kind: str | None = None  # rendered for this kind: with <kind> it printed nothing
    fallback: str | None = None  # why the source is shown instead of a rendering


@dataclass
class RenderedPolicy:
    message: Rendered
    text: Rendered
    commands: list[Rendered] = field(default_factory=list)
    checks: list[Rendered] = field(default_factory=list)

    def all(self) -> list[Rendered]:
        return [self.message, self.text, *self.commands, *self.checks]


def render(policy: Policy) -> RenderedPolicy:
    """The message and remediation of a failing finding, as a scan would render them with
    the defaults and placeholders. Never raises: a template that cannot render is returned
    with ``fallback`` set."""
    kinds = list(dict.fromkeys([*(policy.applies_to.kinds if policy.applies_to else []),
                                *policy.requires]))
    remediation = policy.remediation
    return RenderedPolicy(
        _render(policy, "message", policy.message, False, kinds),
        _render(policy, "remediation.text", remediation.text, False, kinds),
        [_render(policy, f"remediation.commands[{i}]", c, True, kinds)
         for i, c in enumerate(remediation.commands)],
        [_render(policy, f"remediation.checks[{i}]", c, True, kinds)
         for i, c in enumerate(remediation.checks)])


def _render(policy: Policy, name: str, source: str, command: bool,
            kinds: list[str]) -> Rendered:
    out = Rendered(name, source)
    failed: Exception | None = None
    try:
        template = compiled(source, command=command)
        free = meta.find_undeclared_variables(template.environment.parse(source))
    except Exception as exc:  # checked when the policy loaded: not expected
        out.fallback = f"cannot compile it ({type(exc).__name__}: {exc})"
        return out
    # When it prints nothing (or trips over a placeholder), again with the finding's values
    # true, then for each kind in turn (`{% if kind == "Ingress" and helm_set %}`).
    for kind, truthy in [(k, t) for k in [None, *kinds] for t in (False, True)]:
        ctx = _context(policy, kind, truthy)
        ctx.update({v: placeholder(v, truthy=truthy) for v in free
                    if v not in ctx and v not in template.environment.globals})
        try:
            text = bounded(template, ctx).strip()
        except (TemplateBoundError, SecurityError) as exc:  # no placeholder changes that
            failed = exc
            break
        except Exception as exc:  # e.g. a placeholder compared with a number
            failed = failed or exc
            continue
        # As engine._render: a message or text has its whitespace folded.
        out.text = text if command else " ".join(text.split())
        if out.text:
            out.kind = kind
            return out
    if failed is not None:
        out.fallback = f"needs a real finding ({type(failed).__name__}: {failed})"
    else:
        out.fallback = "prints something only for some findings" + (
            f" (nothing with placeholders, nor for kind {', '.join(kinds)})" if kinds else "")
    return out


def show(policy: Policy, width: int = WIDTH) -> str:
    """The whole text of ``auditor policies show``: every line ends in a newline, and
    nothing from the policy file can send a control sequence."""
    out: list[str] = []
    out += _header(policy, width)
    out += _applies_to(policy)
    out += _condition(policy)
    out += _parameters(policy, width)
    out += _remediation(policy, width)
    out += _examples(policy)
    return "\n".join(out).rstrip("\n") + "\n"


def _header(policy: Policy, width: int) -> list[str]:
    lines = [f"{visible(policy.id)}: {visible(policy.title)}", "",
             f"  severity  {visible(str(policy.severity))}",
             f"  sides     {', '.join(map(visible, policy.sides))}",
             f"  runbook   {visible(policy.runbook.section)}",
             f"            {visible(policy.runbook.anchor)}"]
    if policy.file:
        lines.append(f"  file      {visible(policy.file)}")
    lines.append("")
    for line in policy.description.strip().split("\n"):
        lines += textwrap.wrap(visible(line), width, break_long_words=False,
                               break_on_hyphens=False) or [""]
    return [*lines, ""]


def _applies_to(policy: Policy) -> list[str]:
    lines = ["Applies to:"]
    scope = policy.applies_to
    if scope is not None:
        lines.append(f"  kinds: {', '.join(map(visible, scope.kinds))}")
        if scope.each:
            lines.append(f"  each:  {visible(scope.each)}")
        if scope.related:
            lines.append(f"  related (for cel): {', '.join(map(visible, scope.related))}")
        if scope.where is not None:
            lines += ["  where (else not applicable):", *_yaml_block(scope.where, 4)]
    else:
        lines.append(f"  what the check {visible(policy.check or '')} selects")
    if policy.applies_when_set:
        keys = [f"{visible(n)} (facts.{visible(fact)})" if (fact := policy.parameters[n].fact)
                else f"{visible(n)} (params.{visible(policy.id)}.{visible(n)})"
                for n in policy.applies_when_set]
        lines.append(f"  only once one of these is set (until then not applicable): "
                     f"{', '.join(keys)}")
    return [*lines, ""]


def _condition(policy: Policy) -> list[str]:
    if policy.check is not None:
        lines = ["Condition: a named check of the auditor", f"  check:    {visible(policy.check)}"]
        if policy.requires:
            lines.append(f"  requires: {', '.join(map(visible, policy.requires))}  (one the "
                         "live side could not read: an error, not a pass)")
        partial = policy.requires if policy.partial is True else policy.partial or []
        if partial:
            lines.append(f"  partial:  {', '.join(map(visible, partial))}  (checked each on "
                         "its own)")
    else:
        lines = ["Condition (it fails when this holds):", *_yaml_block(policy.condition, 2)]
    if policy.locate:
        lines.append(f"  findings point at: {visible(policy.locate)}")
    return [*lines, ""]


class _Dumper(yaml.SafeDumper):
    """Mappings in block style, lists that fit on a short line in flow style, as policy
    files write ``- matches: [image, {param: moving_tag_pattern}]``."""


def _short(value: Any) -> bool:
    return len(_flow_text(value)) <= _FLOW_WIDTH


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_short(data))


def _represent_dict(dumper: _Dumper, data: dict[Any, Any]) -> yaml.Node:
    # Block style; within a list written in flow style the emitter writes it in flow too.
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=False)


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    # A CEL expression over several lines reads as written, not as one escaped string.
    style = "|" if "\n" in data and data == data.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)
_FLOW_WIDTH = 60


def _yaml_block(value: Any, indent: int) -> list[str]:
    """A condition as the file writes it: YAML, keys in the file's order."""
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
    text = text.removesuffix("...\n")
    return [" " * indent + visible(line) for line in text.rstrip("\n").split("\n")]


def _flow_text(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9,
                          sort_keys=False).rstrip("\n")
    return text.removesuffix("\n...").rstrip("\n")


def _flow(value: Any) -> str:
    """A value as one would write it in auditor.yaml (YAML flow style), on one line; a
    string with control characters in the escapes the rest of the output uses."""
    if isinstance(value, str) and visible(value) != value:
        return visible(value)
    return visible(_flow_text(value))


def _parameters(policy: Policy, width: int) -> list[str]:
    if not policy.parameters:
        return ["Parameters: none", ""]
    header = ("NAME", "DEFAULT", "FACT", "DESCRIPTION")
    rows = [(visible(name), _flow(p.default), visible(p.fact) if p.fact else "-",
             " ".join(visible(p.description).split()))
            for name, p in policy.parameters.items()]
    name_w = max(len(r[0]) for r in [header, *rows])
    default_w = max(len(r[1]) for r in [header, *rows] if len(r[1]) <= _DEFAULT_COLUMN)
    fact_w = max(len(r[2]) for r in [header, *rows])
    lead = 2 + name_w + 2 + default_w + 2
    desc_w = max(width - lead - fact_w - 2, 30)
    lines = textwrap.wrap(
        "Parameters (override them in auditor.yaml, under an environment's `params:`: "
        f"{{name: value}} for every policy, {{{visible(policy.id)}: {{name: value}}}} for "
        "this one. FACT: the key under `facts:` that sets it for the whole service; "
        "`params:` still win):", width, break_on_hyphens=False)
    for name, default, fact, description in [header, *rows]:
        wrapped = textwrap.wrap(description, desc_w, break_on_hyphens=False) or [""]
        first = f"  {name:<{name_w}}  {default:<{default_w}}  "
        rest = [f"{fact:<{fact_w}}  {wrapped[0]}", *(" " * (fact_w + 2) + w
                                                    for w in wrapped[1:])]
        if len(default) > default_w:  # shown in full; the row goes on below it
            lines.append(first.rstrip())
            first = " " * lead
        lines.append((first + rest[0]).rstrip())
        lines += [(" " * lead + r).rstrip() for r in rest[1:]]
    return [*lines, ""]


def _remediation(policy: Policy, width: int) -> list[str]:
    done = render(policy)
    lines = ["Rendered with the defaults; <...> is what a scan fills in (release, names, "
             "the finding's fields).", "", "Message (of a failing finding):"]
    lines += _prose(done.message, width)
    lines += ["", "Remediation:"]
    lines += _prose(done.text, width)
    for title, entries in (("Commands (that fix it):", done.commands),
                           ("Checks (that only look):", done.checks)):
        if entries:
            lines += ["", title]
            for entry in entries:
                lines += _command(entry)
    return [*lines, ""]


def _for_kind(entry: Rendered) -> list[str]:
    return [f"  # for kind {visible(entry.kind)}:"] if entry.kind else []


def _prose(entry: Rendered, width: int) -> list[str]:
    if entry.fallback is not None:
        return _source(entry)
    return [*_for_kind(entry), *textwrap.wrap(visible(entry.text), width,
                                              initial_indent="  ", subsequent_indent="  ",
                                              break_long_words=False,
                                              break_on_hyphens=False)]


def _command(entry: Rendered) -> list[str]:
    if entry.fallback is not None:
        return _source(entry)
    lines = entry.text.split("\n")
    return [*_for_kind(entry), f"  $ {visible(lines[0])}",
            *(f"    {visible(line)}" for line in lines[1:])]


def _source(entry: Rendered) -> list[str]:
    """The template itself, each line marked: it was not rendered."""
    return [f"  {FALLBACK} not rendered: {visible(entry.fallback or '')}",
            *(f"  {FALLBACK} {visible(line)}" for line in entry.source.strip().split("\n"))]


_EXAMPLE_KINDS: tuple[tuple[str, Callable[[Policy], list[Any]]], ...] = (
    ("pass", lambda p: p.examples.passing), ("fail", lambda p: p.examples.failing),
    ("unknown", lambda p: p.examples.unknown), ("error", lambda p: p.examples.error),
    ("not_applicable", lambda p: p.examples.not_applicable))


def _examples(policy: Policy) -> list[str]:
    counts = [(label, get(policy)) for label, get in _EXAMPLE_KINDS]
    lines = ["Examples (run by `auditor policies validate`): "
             + ", ".join(f"{len(found)} {label}" for label, found in counts)]
    for label, found in counts:
        if found:
            lines.append(f"  {label}:")
            lines += [f"    - {visible(example.name)}" for example in found]
    return lines
