"""Values a drift finding never prints: container env values, args and commands, a
ConfigMap's data, and whatever live value was kept only as a hash. They are compared by
value and shown as ``(hidden)``: not even a hash of them leaves, since a hash of a weak
secret confirms a guess.

Live objects keep such values only as hash markers (:mod:`auditor.live.markers`; a list
such as ``args`` element by element), or, in old snapshots, as ``<redacted>``. A declared
value matches a marker when it hashes to it; ``<redacted>`` cannot be compared at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from auditor.live.markers import is_marker, matches
from auditor.paths import MISSING

__all__ = ["REDACTED", "SHOWN", "hidden", "is_marker", "matches", "render", "scrub"]
REDACTED = "<redacted>"  # what an old snapshot kept of a secret-looking value
SHOWN = "(hidden)"  # what a message shows of a hidden value
# Labels (see compare.Difference.field) whose value itself is hidden: an env var's value,
# args and command (a container's, a probe's or a hook's exec), a ConfigMap's data.
_HIDDEN = re.compile(r"(\.env\[[^\]]*\]\.value|\.(args|command)(\[\d+\])?)$"
                     r"|^(data|binaryData)([.\[]|$)")
_ENV_ITEM = re.compile(r"\.env\[[^\]]*\]$")


def hidden(label: str, value: Any = None) -> bool:
    """Whether the value at ``label`` (or this value) is hidden in messages."""
    return is_marker(value) or bool(_HIDDEN.search(label) or _ENV_ITEM.search(label)
                                     or label.endswith(".env"))


def render(value: Any, label: str = "") -> str:
    """A value for a message: compact, and never an env value, args, a command, a
    ConfigMap's content or a hashed live value (``(hidden)`` instead)."""
    if value is MISSING:
        return "(absent)"
    if value == REDACTED:
        return REDACTED
    if is_marker(value) or _HIDDEN.search(label):
        return SHOWN
    if _ENV_ITEM.search(label) and isinstance(value, dict) and "value" in value:
        return SHOWN  # an env var added or replaced whole: its value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value
    text = json.dumps(scrub(value, env=label.endswith(".env")), sort_keys=True,
                      separators=(",", ":"), default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def scrub(value: Any, env: bool = False) -> Any:
    """``value`` with every env value, args, command and marker shown as ``(hidden)``
    (``env``: ``value`` is an env list or one of its items)."""
    if is_marker(value):
        return SHOWN
    if isinstance(value, list):
        return [scrub(v, env) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if (key in ("args", "command") and isinstance(item, list | str)) or (
                env and key == "value"):
            out[key] = SHOWN
        else:
            out[key] = scrub(item, env=key == "env")
    return out
