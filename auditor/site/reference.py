"""The policy reference, generated from ``policies/``: an index, and one page per check
with what it checks, why (the runbook cause, linked to its section), its parameters and
defaults, its remediation templates and its pass/fail examples as YAML.

Checks that a report names but the pack lacks (from a ``--policies`` directory) get a
page too, with what the report records, so every finding's check link resolves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from jinja2 import ChainableUndefined

from auditor.models import PolicyInfo
from auditor.policies import Example, Policy
from auditor.site import md
from auditor.site.findings import reference_page
from auditor.templates import BoundedSandbox, bounded, shell_word

INDEX = "policies/index.md"
# A page (``common-issues/high-latency``) -> its source file, or None when no page has it.
PageResolver = Callable[[str], str | None]
_EXAMPLES = (("passing", "success", "Passes"), ("failing", "failure", "Fails"),
             ("unknown", "question", "Undecided"), ("not_applicable", "note", "Not applicable"))


def render(pack: Sequence[Policy], extra: Sequence[PolicyInfo], resolve: PageResolver,
           names: dict[str, str], guards: dict[str, str] | None = None) -> dict[str, str]:
    """{page path: Markdown} for the index and every check (commands filled with
    ``names`` and the parameters' defaults; ``guards``: the runbook section of each)."""
    env = md.markdown_env()
    entries = [_from_policy(p, resolve, names, (guards or {}).get(p.id)) for p in pack]
    known = {p.id for p in pack}
    entries += [_from_info(i, resolve) for i in extra if i.id not in known]
    entries.sort(key=lambda e: e["id"])
    pages = {reference_page(e["id"]): env.get_template("policy.md.j2").render(p=e)
             for e in entries}
    index = [{**e, "link": md.link(e["id"], md.href(INDEX, reference_page(e["id"]))),
              "why": _why(e["anchor"], e["section"], INDEX, resolve)} for e in entries]
    pages[INDEX] = env.get_template("policies-index.md.j2").render(policies=index)
    return pages


def _why(anchor: str, section: str, source: str, resolve: PageResolver) -> md.Md:
    """The section's title linked to its heading (strict mode checks the anchor)."""
    page, _, heading = anchor.partition("/#")
    target = resolve(page)
    if target is None:
        return md.Md(f"{md.escape(section)} ({md.code(anchor)})")
    return md.link(section, md.href(source, target, heading))


def _paragraphs(text: str) -> list[str]:
    return [p for p in (" ".join(b.split()) for b in text.split("\n\n")) if p]


def _common(p: Policy | PolicyInfo, resolve: PageResolver, guard: str | None = None
            ) -> dict[str, Any]:
    anchor = guard or (p.runbook.anchor if isinstance(p, Policy) else p.runbook)
    section = p.runbook.section if isinstance(p, Policy) else p.runbook_section
    # The title becomes the page's H1 and MkDocs copies it, decoded, into <title>: keep
    # only characters that cannot open markup there.
    return {"id": p.id, "title": re.sub(r"[<>&\"'`]", "", p.title), "severity": p.severity,
            "anchor": anchor,
            "section": section, "description": _paragraphs(p.description),
            "why": _why(anchor, section, reference_page(p.id), resolve)}


def _from_policy(p: Policy, resolve: PageResolver, names: dict[str, str],
                 guard: str | None = None) -> dict[str, Any]:
    logic = md.Md(f"named check {md.code(p.check)}") if p.check else md.Md("a condition")
    defaults = {n: param.default for n, param in p.parameters.items()}
    values = {**names, **defaults, "names": names, "params": defaults}  # as the engine gives
    return {**_common(p, resolve, guard), "builtin": True, "sides": ", ".join(p.sides),
            "logic": logic,
            "parameters": [{"name": n, "default": _yaml_inline(param.default),
                            "description": param.description}
                           for n, param in p.parameters.items()],
            "fix": _fill(p.remediation.text, values),
            "commands": [c for c in (_fill(c, values, command=True)
                                     for c in p.remediation.commands) if c.strip()],
            "checks": [c for c in (_fill(c, values, command=True)
                                   for c in p.remediation.checks) if c.strip()],
            "examples": [{"kind": kind, "label": label, "name": ex.name, "yaml": _yaml(ex)}
                         for attr, kind, label in _EXAMPLES
                         for ex in getattr(p.examples, attr)]}


def _from_info(info: PolicyInfo, resolve: PageResolver) -> dict[str, Any]:
    return {**_common(info, resolve), "builtin": False, "sides": "as reported",
            "logic": "from a report"}


class _Placeholder(ChainableUndefined):
    """What a finding would fill in, shown as ``<name>``."""

    def __str__(self) -> str:
        return f"<{(self._undefined_name or 'value').replace('_', '-')}>"


_TEXT = BoundedSandbox(undefined=_Placeholder)
_COMMAND = BoundedSandbox(undefined=_Placeholder, finalize=shell_word)


def _fill(template: str, values: dict[str, Any], command: bool = False) -> str:
    """A remediation template filled with the service's names and the parameters'
    defaults (in a command, each one shell word); what only a finding knows stays a
    placeholder."""
    try:
        env = _COMMAND if command else _TEXT
        return bounded(env.from_string(template), values).strip()
    except Exception:  # a template only a real finding can fill: show it as written
        return template.strip()


def _yaml_inline(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000)
    return text.strip().removesuffix("...").strip()


def _yaml(example: Example) -> str:
    data = example.model_dump(by_alias=True, exclude_defaults=True, exclude={"name"})
    data = {"resources": example.resources, **data}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=88,
                          allow_unicode=True)
