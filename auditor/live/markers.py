"""Hash markers: a value that may be secret, kept only as a salted hash of its text.

A container's env values, args and command often carry credentials (``DB_PASSWORD``,
``--db-password=...``, a database URL), and a ConfigMap's data may too (see
:mod:`auditor.live.redact` for everything else that is hashed). Such a value becomes
``{"$sha256": "<hex HMAC-SHA256 of its UTF-8 text>", "$salt": "<hex key>"}``: drift can
still tell whether it equals the declared value (hashed with the same salt), and nobody
reading the snapshot learns it; the salt, random per run, keeps a weak secret from being
looked up in a table or matched across snapshots, and reports never show the hash at all.
A marker without ``$salt`` is a plain SHA-256 (snapshots recorded before salting). Lists are
marked element by element.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

KEY = "$sha256"
SALT = "$salt"
_salt = secrets.token_hex(16)  # this run's; a recording may pin one (use_salt)


def salt() -> str:
    return _salt


def use_salt(value: str) -> None:
    """Markers made from now on use the salt ``value`` (hex): a recording that must repeat
    exactly."""
    global _salt
    _salt = value


def marker(value: Any) -> dict[str, str]:
    """The marker of ``value``: a string's own text; a number as written, ``true``/
    ``false``, null as empty (as YAML would quote them), anything else as its JSON."""
    if is_marker(value):
        return dict(value)
    return {KEY: digest_of(text_of(value), _salt), SALT: _salt}


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float) or value is None:
        return "" if value is None else str(value)
    return json.dumps(value, sort_keys=True)


def digest_of(text: str, salt: str | None) -> str:
    data = text.encode("utf-8")
    if salt is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(bytes.fromhex(salt), data, hashlib.sha256).hexdigest()


def is_marker(value: Any) -> bool:
    return (isinstance(value, dict) and KEY in value and set(value) <= {KEY, SALT}
            and all(isinstance(v, str) for v in value.values()))


def matches(declared: Any, mark: dict[str, str]) -> bool:
    """Whether a declared scalar (or marker) is the value ``mark`` hashes."""
    if is_marker(declared):
        return bool(declared.get(SALT) == mark.get(SALT) and declared[KEY] == mark[KEY])
    if isinstance(declared, dict | list):
        return False
    return hmac.compare_digest(digest_of(text_of(declared), mark.get(SALT)), mark[KEY])


def mark_values(data: Any) -> Any:
    """A ConfigMap's ``data``/``binaryData``: every value marked, keys kept."""
    if not isinstance(data, dict):
        return data
    return {k: marker(v) for k, v in data.items()}
