"""Field-by-field comparison of a declared object with its live counterpart, by meaning.

The walk starts from what the declared side says (see :mod:`auditor.drift.normalize` for
the rules): a declared field missing or different live is a :class:`Difference`; a
live-only field is one only inside a closed object, or when it differs from the server's
default. Scalars compare by value (``1`` == ``1000m`` where a quantity is expected,
``"5432"`` == ``5432``, ``"true"`` == ``true``); a declared value that is not known
offline is never drift, a live one that is not known is reported as such. A value a
snapshot keeps only as a hash (:mod:`auditor.drift.hidden`) compares by hash.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from auditor.drift.hidden import REDACTED, is_marker, matches, render
from auditor.drift.normalize import ANY, KEYS, UNORDERED, Pattern, Rules
from auditor.paths import MISSING, Path, get
from auditor.quantities import parse_quantity
from auditor.unknown import Unknown

__all__ = ["Difference", "diff", "render", "same"]
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Difference:
    path: Path  # in the declared body (the would-be path when only live has it)
    field: str  # stable label: list items by key, e.g. spec.containers[app].image
    declared: Any  # MISSING when the declared side does not say it
    live: Any  # MISSING when the live object lacks it
    from_default: bool = False  # `declared` is the server default of an omitted field
    unknown: str | None = None  # why the live value is not known


def diff(rules: Rules, declared: Any, live: Any) -> list[Difference]:
    walk = _Walk(rules)
    for root in rules.roots:
        walk.value(get(declared, root), get(live, root), root,
                   tuple(str(k) for k in root), _root_label(root), get(live, root[:-1]))
    return walk.out


@dataclass
class _Walk:
    rules: Rules
    out: list[Difference] = field(default_factory=list)

    def value(self, d: Any, live: Any, path: Path, pat: Pattern, label: str, parent: Any,
              from_default: bool = False) -> None:
        if self.rules.skips(pat) or isinstance(d, Unknown):
            return
        if d is MISSING:
            default = self._default(pat, parent)
            if live not in (MISSING, REDACTED) and default is not None and default is not ANY:
                self.value(default, live, path, pat, label, parent, from_default=True)
            return
        if isinstance(live, Unknown):
            self.out.append(Difference(path, label, d, MISSING, unknown=live.reason))
        elif live == REDACTED:
            self.out.append(Difference(path, label, d, MISSING, unknown=(
                "the snapshot keeps it only as <redacted>, so it cannot be compared")))
        elif is_marker(live):
            if not matches(d, live):
                self.out.append(Difference(path, label, d, live, from_default))
        elif live is MISSING or (_empty(live) and not _empty(d)):
            default = self._default(pat, parent)
            if not (_empty(d) or (default is not None and same(d, default, pat))):
                self.out.append(Difference(path, label, d, live, from_default))
        elif isinstance(d, dict) and isinstance(live, dict):
            self._dict(d, live, path, pat, label, from_default)
        elif isinstance(d, list) and isinstance(live, list):
            self._list(d, live, path, pat, label, from_default)
        elif not same(d, live, pat):
            self.out.append(Difference(path, label, d, live, from_default))

    def _default(self, pat: Pattern, parent: Any) -> Any:
        default = self.rules.default(pat)
        return default(parent) if callable(default) else default

    def _dict(self, d: dict[str, Any], live: dict[str, Any], path: Path, pat: Pattern,
              label: str, from_default: bool) -> None:
        for key, value in d.items():
            self.value(value, live.get(key, MISSING), (*path, key), (*pat, str(key)),
                       _key_label(label, key), live, from_default)
        for key in live.keys() - d.keys():
            sub = (*pat, str(key))
            if self.rules.skips(sub) or _empty(live[key]):
                continue
            if self.rules.default(sub) is not None:
                self.value(MISSING, live[key], (*path, key), sub, _key_label(label, key), live)
            elif self.rules.is_closed(pat):
                self.out.append(Difference((*path, key), _key_label(label, key), MISSING,
                                           live[key]))

    def _list(self, d: list[Any], live: list[Any], path: Path, pat: Pattern, label: str,
              from_default: bool) -> None:
        if any(isinstance(i, Unknown) for i in d):
            return  # an unresolved item could be any of the live ones
        name = pat[-1] if pat else ""
        declared_items, live_items = _keyed(name, d), _keyed(name, live)
        if declared_items is not None and live_items is not None:
            for key, (i, item) in declared_items.items():
                self.value(item, live_items.get(key, (0, MISSING))[1], (*path, i),
                           (*pat, "*"), f"{label}[{key}]", live, from_default)
            for key in live_items.keys() - declared_items.keys():  # the release owns the list
                self.out.append(Difference(path, f"{label}[{key}]", MISSING,
                                           live_items[key][1]))
        elif name in UNORDERED and not any(isinstance(i, dict | list) for i in d + live):
            if Counter(map(_canon, d)) != Counter(map(_canon, live)):
                self.out.append(Difference(path, label, d, live, from_default))
        elif len(d) == len(live) and any(isinstance(i, dict) for i in d):
            for i, (a, b) in enumerate(zip(d, live, strict=True)):
                self.value(a, b, (*path, i), (*pat, "*"), f"{label}[{i}]", live, from_default)
        elif not same(d, live, pat):  # order matters (args, command): the list as one
            self.out.append(Difference(path, label, d, live, from_default))


def _keyed(name: str, items: list[Any]) -> dict[str, tuple[int, Any]] | None:
    """{key: (index, item)} when every item has a distinct key, else None."""
    key_of = KEYS.get(name)
    if key_of is None or not all(isinstance(i, dict) for i in items):
        return None
    out: dict[str, tuple[int, Any]] = {}
    for i, item in enumerate(items):
        key = key_of(item)
        if key is None or isinstance(key, Unknown) or str(key) in out:
            return None
        out[str(key)] = (i, item)
    return out


def same(a: Any, b: Any, pat: Pattern = ()) -> bool:
    """Equal by meaning: quantities where one is expected, numbers however spelt, a value
    and the hash marker a snapshot keeps of it."""
    if is_marker(a) or is_marker(b):
        return matches(a, b) if is_marker(b) else matches(b, a)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], (*pat, str(k))) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, (*pat, "*")) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    if _is_quantity(pat):
        qa, qb = parse_quantity(a), parse_quantity(b)
        if qa is not None and qb is not None:
            return qa == qb
    if _numeric(a) and _numeric(b):
        return parse_quantity(a) == parse_quantity(b)
    return bool(a == b)


def _is_quantity(pat: Pattern) -> bool:
    return ("limits" in pat or "requests" in pat or pat[-1:] in (("sizeLimit",), ("storage",),
            ("averageValue",)) or pat[-2:] == ("target", "value"))


def _numeric(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and bool(_NUMBER.match(value.strip())))


def _canon(value: Any) -> str:
    return str(parse_quantity(value)) if _numeric(value) else str(value).lower() \
        if isinstance(value, bool) else str(value)


def _empty(value: Any) -> bool:
    return value is None or value is MISSING or value in ("", {}, [])


def _root_label(root: Path) -> str:
    label = ""
    for key in root:
        label = _key_label(label, key)
    return label


def _key_label(label: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{label}[{key}]"
    text = str(key)
    if _IDENT.match(text):
        return f"{label}.{text}" if label else text
    return f'{label}["{text}"]'

