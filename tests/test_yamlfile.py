from __future__ import annotations

import time

import pytest

from auditor import paths
from auditor.yamlfile import YamlError, decode, load_all, load_one


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


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("a: 1\nx: !custom hi\n", 2, "unsupported tag '!custom'"),
    ("a: 1\n\ny: !!int abc\n", 3, "invalid !!int value 'abc'"),
    ("z: !!float nope\n", 1, "invalid !!float value"),
    ("m: !thing {a: 1}\n", 1, "unsupported tag '!thing'"),
    ("s: !!set {a, b}\n", 1, "unsupported tag '!!set'"),
    ("a: &a [1, *a]\n", 1, "refers to itself"),
])
def test_constructor_errors_are_yaml_errors_with_a_line(text: str, line: int,
                                                        fragment: str) -> None:
    with pytest.raises(YamlError) as err:
        load_all(text)
    assert err.value.line == line and fragment in str(err.value)


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        levels.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    start = time.perf_counter()
    with pytest.raises(YamlError, match="expands to too many nodes"):
        load_all("\n".join(levels) + "\n")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("depth", [600, 990, 5000])
def test_deep_nesting_is_a_yaml_error(depth: int) -> None:
    with pytest.raises(YamlError, match="nest"):
        load_all("a: " + "[" * depth + "]" * depth + "\n")


def test_merge_keys_like_helm_and_kubectl() -> None:
    text = ("defaults: &defaults\n"   # 1
            "  cpu: 1\n"              # 2
            "  memory: 1Gi\n"         # 3
            "  probe: {path: /ready}\n"  # 4
            "extra: &extra\n"         # 5
            "  memory: 9Gi\n"         # 6
            "  tier: gold\n"          # 7
            "one:\n"                  # 8
            "  memory: 2Gi\n"         # 9
            "  <<: *defaults\n"       # 10
            "many:\n"                 # 11
            "  <<: [*defaults, *extra]\n"  # 12
            "  cpu: 4\n")             # 13
    doc = load_one(text)
    assert doc.data["one"] == {"cpu": 1, "memory": "2Gi", "probe": {"path": "/ready"}}
    assert doc.data["many"] == {"cpu": 4, "memory": "1Gi", "probe": {"path": "/ready"},
                                "tier": "gold"}  # explicit wins, then earlier merges
    assert doc.lines[("one", "memory")] == 9  # the explicit key
    assert doc.lines[("one", "cpu")] == 2  # where the merged key is written
    assert doc.lines[("one", "probe", "path")] == 4
    assert doc.lines[("many", "cpu")] == 13
    assert doc.lines[("many", "memory")] == 3 and doc.lines[("many", "tier")] == 7
    with pytest.raises(YamlError, match="merge key"):
        load_one("a: {<<: 3}\n")


def test_duplicate_keys_are_errors_with_line_and_path() -> None:
    with pytest.raises(YamlError) as err:
        load_one("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert err.value.line == 4 and err.value.path == ("a", "b")
    assert "duplicate key 'b' (first at line 2)" in str(err.value)
    with pytest.raises(YamlError, match="duplicate key"):
        load_all("kind: A\n---\nitems:\n  - {x: 1, x: 2}\n")
    assert load_one("a: 1\na: 2\n", strict=False).data == {"a": 2}
    # An explicit key over a merged one is not a duplicate.
    assert load_one("d: &d {a: 1}\ne: {<<: *d, a: 2}\n").data["e"] == {"a": 2}


def test_decode_names_the_line_of_the_bad_byte() -> None:
    assert decode("a: é\n".encode()) == "a: é\n"
    with pytest.raises(YamlError) as err:
        decode(b"a: 1\nb: caf\xe9\n")
    assert err.value.line == 2 and "not UTF-8" in str(err.value)
