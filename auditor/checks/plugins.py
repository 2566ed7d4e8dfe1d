"""Named checks from other packages: the ``runbook_auditor.checks`` entry point group.

A team ships its own relational checks as a Python package, without forking::

    # pyproject.toml of the team's package
    [project.entry-points."runbook_auditor.checks"]
    "acme.queue_consumers" = "acme_checks:queue_consumers"

and a policy calls it with ``check: acme.queue_consumers``. A plugin's name has a dot (its
own prefix), so no two plugins, and no built-in check, can take the same name. The
function has the built-in checks' signature, ``(CheckContext) -> list[Outcome]`` (see
:mod:`auditor.checks.base`). Plugins are loaded only when a policy names one; a plugin
that fails to import is an error for the policies that name it, at load time.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from auditor.checks.base import Check

GROUP = "runbook_auditor.checks"
NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")


class PluginError(LookupError):
    """A plugin check that is not installed, or does not load."""


@cache
def installed() -> dict[str, EntryPoint]:
    """The plugin checks of every installed package, by name (valid names only)."""
    return {ep.name: ep for ep in entry_points(group=GROUP) if NAME.fullmatch(ep.name)}


@cache
def load(name: str) -> Check:
    entry = installed().get(name)
    if entry is None:
        have = ", ".join(sorted(installed())) or "none installed"
        raise PluginError(f"no installed package provides check {name!r} (entry point "
                          f"group {GROUP}; plugin checks: {have})")
    try:
        check = entry.load()
    except Exception as exc:  # the plugin's own import failing, whatever it raises
        raise PluginError(f"check {name!r} ({entry.value}) does not load: {exc!r}") from None
    if not callable(check):
        raise PluginError(f"check {name!r} ({entry.value}) is not a function")
    return check  # type: ignore[no-any-return]
