from __future__ import annotations

import pytest

from auditor import paths
from auditor.yamlfile import YamlError, load_all, load_one


def test_lines_for_every_path() -> None:
    docs = load_all("a: 1\nb:\n  c: [x, y]\n  d:\n    - e: 8Gi\n---\nkind: X\n")
    assert len(docs) == 2
    first = docs[0]
    assert first.lines[("a",)] == 1
    assert first.lines[("b", "c")] == 3
    assert first.lines[("b", "d", 0, "e")] == 5
    assert docs[1].line == 7 and docs[1].data == {"kind": "X"}


def test_timestamps_stay_strings_like_kubernetes() -> None:
    assert load_one("t: 2024-01-01\n").data == {"t": "2024-01-01"}


def test_error_has_line() -> None:
    with pytest.raises(YamlError) as err:
        load_all("a: 1\nb: [1,\nc: 2\n")
    assert err.value.line == 3


def test_empty_documents_are_skipped() -> None:
    assert [d.data for d in load_all("---\n---\na: 1\n---\n")] == [{"a": 1}]
    assert load_one("").data == {}


def test_paths_roundtrip() -> None:
    p = paths.parse('spec.containers[0].resources["a.b"].x')
    assert p == ("spec", "containers", 0, "resources", "a.b", "x")
    assert paths.parse(paths.format(p)) == p
    assert paths.get({"a": [{"b": 1}]}, ("a", 0, "b")) == 1
    assert paths.get({"a": []}, ("a", 0)) is paths.MISSING
