"""Values a drift finding never prints: container env values, args and commands, and a
ConfigMap's data. They are compared by value, and shown as a short sha256 of each side.

A snapshot keeps such values only as hash markers, ``{"$sha256": "<hex>"}`` (the sha256 of
the UTF-8 string; a list such as ``args`` element by element), or as ``<redacted>``. A
declared value matches a marker when its own hash is the marker's; ``<redacted>`` cannot
be compared at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from auditor.paths import MISSING

MARKER = "$sha256"
REDACTED = "<redacted>"  # what a snapshot keeps of a secret-looking value
SHOWN = 12  # hex digits of a hash a message shows
# Labels (see compare.Difference.field) whose value itself is hidden: an env var's value,
# args and command (a container's, a probe's or a hook's exec), a ConfigMap's data.
_HIDDEN = re.compile(r"(\.env\[[^\]]*\]\.value|\.(args|command)(\[\d+\])?)$"
                     r"|^(data|binaryData)([.\[]|$)")
_ENV_ITEM = re.compile(r"\.env\[[^\]]*\]$")


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {MARKER} and isinstance(value[MARKER], str)


def digest(value: Any) -> str:
    """The sha256 (hex) a snapshot would keep of ``value``; a list's is that of its items'
    hashes, so a declared list and a list of markers of the same items agree."""
    if is_marker(value):
        return str(value[MARKER]).lower()
    if isinstance(value, list):
        return _sha("\n".join(digest(v) for v in value))
    if isinstance(value, dict):
        return _sha(json.dumps({str(k): digest(v) for k, v in value.items()}, sort_keys=True))
    return _sha(_text(value))


def matches(declared: Any, marker: Any) -> bool:
    """Whether a declared scalar (or marker) is the value a live marker hashes."""
    if is_marker(declared):
        return digest(declared) == digest(marker)
    if isinstance(declared, dict | list):
        return False
    return _sha(_text(declared)) == digest(marker)


def short(value: Any) -> str:
    return f"sha256:{digest(value)[:SHOWN]}"


def hidden(label: str, value: Any = None) -> bool:
    """Whether the value at ``label`` (or this value) is shown only as a hash."""
    return is_marker(value) or bool(_HIDDEN.search(label) or _ENV_ITEM.search(label)
                                     or label.endswith(".env"))


def render(value: Any, label: str = "") -> str:
    """A value for a message: compact, and never an env value, args, a command or a
    ConfigMap's content (their short hash instead)."""
    if value is MISSING:
        return "(absent)"
    if value == REDACTED:
        return REDACTED
    if is_marker(value) or _HIDDEN.search(label):
        return short(value)
    if _ENV_ITEM.search(label) and isinstance(value, dict) and "value" in value:
        return short(value["value"])  # an env var added or replaced whole: its value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value
    text = json.dumps(scrub(value, env=label.endswith(".env")), sort_keys=True,
                      separators=(",", ":"), default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def scrub(value: Any, env: bool = False) -> Any:
    """``value`` with every env value, args, command and marker replaced by its short hash
    (``env``: ``value`` is an env list or one of its items)."""
    if is_marker(value):
        return short(value)
    if isinstance(value, list):
        return [scrub(v, env) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if (key in ("args", "command") and isinstance(item, list | str)) or (
                env and key == "value"):
            out[key] = short(item)
        else:
            out[key] = scrub(item, env=key == "env")
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
