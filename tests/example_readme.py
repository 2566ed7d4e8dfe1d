"""What the embedded example (examples/chess-ai) should report, read from its README.

The README's tables are the one list of the example's planted defects: the tests derive the
findings they expect from them, so a policy that fires on the example is added by adding its
row there (and its policy and examples), not by editing test after test.

- ``planted()``: the table ``| policy id | resource | file:line | ... |`` of declared-side
  defects. One row per finding: the resource it names (``Kind/name[item]``), and the places
  of ``file:line``, the first of which is the line the finding points at.
- ``drift()``: the table ``| policy | field | Git (file:line) | live | ... |`` of the recorded
  snapshot's drift; the Git location is the ``declared_at`` of the finding.
- ``unknown_offline()`` and ``expected_to_pass()``: the policy ids the sections "Declared
  checks that are `unknown` offline" and "Declared checks expected to pass" name.

A place is a code span `path:LINE` or `path:FIRST-LAST` (other code spans in a cell are
values); `:LINE` is a line of the file of the place before it, and a bare file name
(`variables.tf:108`) a file in that place's directory. Every place must be a line of a file
of the example. A table that says less than this is an error naming its README line, never
a row read half-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from tests.conftest import EXAMPLE

README = EXAMPLE / "README.md"  # read at each call: a test may point it at another copy

PLANTED_COLUMNS = ("policy id", "resource", "file:line")
DRIFT_COLUMNS = ("policy", "field", "Git (file:line)", "live", "most likely changed by")
PLACE = re.compile(r"(?P<file>[^\s:`]*):(?P<first>\d+)(?:-(?P<last>\d+))?")
RESOURCE = re.compile(r"(?P<kind>[A-Za-z][\w.]*)/(?P<name>[^\[\]/]+)(?:\[(?P<item>[^\]]+)\])?")
CODE = re.compile(r"`([^`]*)`")


class ReadmeError(ValueError):
    """The README's tables do not say what the tests need, at this line."""


@dataclass(frozen=True)
class Place:
    file: str  # relative to the example's directory, as a report names it
    first: int
    last: int

    @property
    def at(self) -> str:
        """``file:line`` of the place's first line: where a finding points."""
        return f"{self.file}:{self.first}"

    def __str__(self) -> str:
        return self.at if self.first == self.last else f"{self.at}-{self.last}"


@dataclass(frozen=True)
class Planted:
    """A declared-side defect: one finding of ``policy`` on ``resource`` at ``places[0]``."""

    policy: str
    resource: str  # Kind/name[item], as resource_key() prints a finding's
    places: tuple[Place, ...]
    what: str
    readme_line: int

    @property
    def at(self) -> Place:
        return self.places[0]

    @property
    def key(self) -> tuple[str, str, str]:
        """(policy, Kind/name[item], file:line): what identifies its finding."""
        return (self.policy, self.resource, self.at.at)


@dataclass(frozen=True)
class Drift:
    """A field the night's fixes changed live: one drift finding of ``policy`` whose
    ``declared_at`` is ``place``."""

    policy: str
    field: str  # as the README words it (HPA `chess-ai` `spec.minReplicas`)
    declared: str  # Git's value as the README words it (``3``, ``not declared``)
    place: Place
    live: str
    cause: str
    readme_line: int

    @property
    def key(self) -> tuple[str, str]:
        """(policy, declared_at): what identifies its finding."""
        return (self.policy, self.place.at)


def resource_key(kind: str, name: str, item: str | None) -> str:
    """A finding's resource as the README's ``resource`` column writes it."""
    return f"{kind}/{name}" + (f"[{item}]" if item else "")


def planted() -> list[Planted]:
    rows = []
    for line, cells in _table(PLANTED_COLUMNS):
        where = f"{_name()}:{line}"
        policy = _policy(cells["policy id"], where)
        resource = _code_only(cells["resource"], where, "resource")
        if not RESOURCE.fullmatch(resource):
            raise ReadmeError(f"{where}: resource {resource!r} is not Kind/name[item]")
        places = _places(cells["file:line"], where)
        if not places:
            raise ReadmeError(f"{where}: file:line names no `path:LINE`")
        rows.append(Planted(policy, resource, places, cells.get("what", ""), line))
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise ReadmeError(f"{_name()}: a planted finding is listed twice: "
                          f"{sorted(k for k in keys if keys.count(k) > 1)}")
    return rows


def drift() -> list[Drift]:
    rows = []
    for line, cells in _table(DRIFT_COLUMNS):
        where = f"{_name()}:{line}"
        git = cells["Git (file:line)"]
        places = _places(git, where)
        if len(places) != 1:
            raise ReadmeError(f"{where}: Git (file:line) must name one place, not {places}")
        declared = git.split("(`", 1)[0].strip()
        rows.append(Drift(_policy(cells["policy"], where), cells["field"], declared,
                          places[0], cells["live"], cells["most likely changed by"], line))
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise ReadmeError(f"{_name()}: two drift rows share policy and Git line: {keys}")
    return rows


def unknown_offline() -> set[str]:
    """The policies each bullet of the section opens with (- `policy-id`: ...)."""
    ids = set()
    for line, text in _section("Declared checks that are `unknown` offline"):
        if text.startswith("- "):
            first = CODE.match(text[2:])
            if not first:
                raise ReadmeError(f"{_name()}:{line}: the bullet opens with no `policy-id`")
            ids.add(_policy(f"`{first[1]}`", f"{_name()}:{line}"))
    return ids


def expected_to_pass(known: set[str]) -> set[str]:
    """The policy ids of ``known`` the section names (its other code spans are values)."""
    return {c for _, text in _section("Declared checks expected to pass")
            for c in CODE.findall(text) if c in known}


# ---- reading -------------------------------------------------------------------------------

def _name() -> str:
    try:
        return str(README.relative_to(EXAMPLE.parent.parent))
    except ValueError:
        return str(README)


def _lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def _cells(row: str) -> list[str]:
    """A table row's cells; a ``|`` inside a code span is text, not a border."""
    cells, cell, code = [], "", False
    for ch in row.strip().removeprefix("|").removesuffix("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return [*cells, cell.strip()]


def _table(columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(README line, {header: cell}) of each row of the one table whose header has
    ``columns`` (in any order, among others)."""
    lines = _lines()
    found = [i for i, text in enumerate(lines)
             if text.startswith("|") and set(columns) <= set(_cells(text))]
    if len(found) != 1:
        raise ReadmeError(
            f"{_name()}: expected one table with the columns {' | '.join(columns)}, found "
            f"{len(found)}" + ("" if found else " (the README's table lacks one of them)"))
    start = found[0]
    header = _cells(lines[start])
    if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[start + 1].strip()):
        raise ReadmeError(f"{_name()}:{start + 2}: no |---| line under the table's header")
    rows = []
    for i in range(start + 2, len(lines)):
        if not lines[i].startswith("|"):
            break
        cells = _cells(lines[i])
        if len(cells) != len(header):
            raise ReadmeError(f"{_name()}:{i + 1}: {len(cells)} cells, the header has "
                              f"{len(header)}")
        rows.append((i + 1, dict(zip(header, cells, strict=True))))
    if not rows:
        raise ReadmeError(f"{_name()}:{start + 1}: the table has no rows")
    return rows


def _section(title: str) -> list[tuple[int, str]]:
    """(README line, text) of the lines under the heading ``title``, to the next heading."""
    lines = _lines()
    starts = [i for i, text in enumerate(lines) if re.fullmatch(r"#+ " + re.escape(title), text)]
    if len(starts) != 1:
        raise ReadmeError(f"{_name()}: expected one heading {title!r}, found {len(starts)}")
    out = []
    for i in range(starts[0] + 1, len(lines)):
        if lines[i].startswith("#"):
            break
        out.append((i + 1, lines[i]))
    return out


def _code_only(cell: str, where: str, column: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    if not match:
        raise ReadmeError(f"{where}: the {column} cell must be one code span, not {cell!r}")
    return match[1]


def _policy(cell: str, where: str) -> str:
    policy = _code_only(cell, where, "policy")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy):
        raise ReadmeError(f"{where}: {policy!r} is not a policy id")
    return policy


def _places(cell: str, where: str) -> tuple[Place, ...]:
    """Every `path:LINE[-LAST]` code span of ``cell``, in order; other code spans are
    values, not places."""
    places: list[Place] = []
    for span in CODE.findall(cell):
        match = PLACE.fullmatch(span)
        if not match:
            continue
        file, first = match["file"], int(match["first"])
        last = int(match["last"] or first)
        if not file or "/" not in file:
            if not places:
                raise ReadmeError(f"{where}: `{span}` has no place before it to be read with")
            parent = PurePosixPath(places[-1].file)
            file = str(parent.with_name(file)) if file else str(parent)
        path = EXAMPLE / file
        if not path.is_file():
            raise ReadmeError(f"{where}: `{span}`: {file} is no file of the example")
        length = len(path.read_text(encoding="utf-8").splitlines())
        if not 1 <= first <= last <= length:
            raise ReadmeError(f"{where}: `{span}`: {file} has lines 1-{length}")
        places.append(Place(file, first, last))
    return tuple(places)
