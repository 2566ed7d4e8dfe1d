"""Scalars as Kubernetes and Helm read them (go-yaml v2, then JSON), not as YAML 1.1 does.

Each row says what Kubernetes stores for ``k: SCALAR`` and what PyYAML's YAML 1.1 makes of
it: every row is a scalar on which the two disagree, or one that must stay the same. The
table is checked against the reader (``yamlfile`` in the Kubernetes dialect) and, row by
row, against Helm's own reader (the Helm SDK's ``values_from_yaml``, Go code: the same
sigs.k8s.io/yaml conversion kubectl and client-go use).
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import pytest
import yaml

from auditor import yamlgo
from auditor.yamlfile import HELM_VALUES, KUBERNETES, YAML11, YamlError, load_all, load_first

ERROR = object()  # Kubernetes (and Helm) refuse the document

# (scalar, what Kubernetes stores, what YAML 1.1 / PyYAML reads)
SCALARS: list[tuple[str, Any, Any]] = [
    ("=", "=", ERROR),  # PyYAML: the !!value tag
    ("yes", True, True),
    ("no", False, False),
    ("on", True, True),
    ("off", False, False),
    ("y", True, "y"),
    ("Y", True, "Y"),
    ("n", False, "n"),
    ("N", False, "N"),
    ("nO", "nO", "nO"),
    ("True", True, True),
    ("tRue", "tRue", "tRue"),
    ("0777", 511, 511),
    ("0o777", 511, "0o777"),
    ("0O17", 15, "0O17"),
    ("08", 8, "08"),
    ("09.5", 9.5, 9.5),
    ("0x1F", 31, 31),
    ("0b101", 5, 5),
    ("1:30", "1:30", 90),  # sexagesimal in YAML 1.1
    ("1:30.5", "1:30.5", 90.5),
    ("190:20:30", "190:20:30", 685230),
    ("1e3", 1000, "1e3"),
    ("1E3", 1000, "1E3"),
    ("1.0e3", 1000, "1.0e3"),
    ("-1e3", -1000, "-1e3"),
    ("1.0", 1, 1.0),  # JSON has one kind of number: the API server reads 1
    ("1.", 1, 1.0),
    ("0.1", 0.1, 0.1),
    (".5", 0.5, 0.5),
    ("1_000", 1000, 1000),
    ("1e1_0", 10**10, "1e1_0"),
    ("+1", 1, 1),
    ("-0", 0, 0),
    (".inf", ERROR, math.inf),
    ("-.inf", ERROR, -math.inf),
    ("+.INF", ERROR, math.inf),
    (".nan", ERROR, ERROR),  # (NaN != NaN: the 1.1 side is checked by isnan below)
    ("1.5e400", "1.5e400", "1.5e400"),  # out of range: Go leaves the text
    ("~", None, None),
    ("null", None, None),
    ("NULL", None, None),
    ("", None, None),
    ("<<", "<<", ERROR),
    ("2001-12-14", "2001-12-14", datetime.date(2001, 12, 14)),  # Go: text
    ("0x1p-2", "0x1p-2", "0x1p-2"),
    ("_1", "_1", "_1"),
    ("+", "+", "+"),
    (".", ".", "."),
    ("!!int '12'", 12, 12),
    ("!!float 1", 1, 1.0),
    ("!!str 1", "1", "1"),
    ("!!int abc", ERROR, ERROR),
    ("!!bool 1", ERROR, ERROR),
    ("!!binary aGVsbG8=", "hello", b"hello"),
    ("!foo bar", "bar", ERROR),  # an unknown tag leaves the text to go-yaml
    ("'yes'", "yes", "yes"),
    ('"0777"', "0777", "0777"),
]

# (key, the JSON key Kubernetes stores)
KEYS: list[tuple[str, Any]] = [
    ("yes", "true"), ("y", "true"), ("on", "true"), ("off", "false"), ("1", "1"),
    ("0777", "511"), ("1.5", "1.5"), ("0.1", "0.1"), ("1e6", "1e+06"),
    ("1234567.0", "1.234567e+06"), ("0.00001", "1e-05"), ("0.0001", "0.0001"),
    ("-0.0", "-0"), (".inf", ".inf"), ("=", "="), ("1:30", "1:30"), ("~", ERROR),
    ("null", ERROR), ("18446744073709551615", ERROR), ("2001-01-01", "2001-01-01"),
]


def _read(text: str, dialect: Any = KUBERNETES) -> Any:
    try:
        return load_first(text, dialect=dialect).data
    except YamlError:
        return ERROR


def _same(got: Any, want: Any) -> bool:
    if want is ERROR or got is ERROR:
        return got is want
    return json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True) \
        and type(got) is type(want)


@pytest.mark.parametrize(("scalar", "kubernetes", "yaml11"), SCALARS, ids=[s[0] for s in SCALARS])
def test_a_scalar_reads_as_kubernetes_stores_it(scalar: str, kubernetes: Any,
                                                yaml11: Any) -> None:
    got = _read(f"k: {scalar}\n")
    assert _same(got if got is ERROR else got["k"], kubernetes)
    # The row is worth having: PyYAML's own reading is as the table says.
    try:
        old: Any = yaml.safe_load(f"k: {scalar}\n")["k"]
    except (yaml.YAMLError, ValueError, KeyError):  # PyYAML's constructors raise these too
        old = ERROR
    if scalar == ".nan":
        assert math.isnan(old)
    elif old is ERROR or yaml11 is ERROR:
        assert old is yaml11
    else:
        assert old == yaml11 and type(old) is type(yaml11)


@pytest.mark.parametrize(("key", "stored"), KEYS, ids=[k[0] for k in KEYS])
def test_a_mapping_key_becomes_the_json_key_kubernetes_stores(key: str, stored: Any) -> None:
    got = _read(f"{key}: v\n")
    assert got is ERROR if stored is ERROR else got == {stored: "v"}


def _helm_reads(text: str) -> Any:
    helm_python = pytest.importorskip("helm_python")
    try:
        return helm_python.values_from_yaml(text)
    except helm_python.HelmError:
        return ERROR


@pytest.mark.parametrize("text", [f"k: {s}\n" for s, _, _ in SCALARS]
                         + [f"{k}: v\n" for k, _ in KEYS])
def test_helm_reads_each_row_as_we_do(text: str) -> None:
    """The table's Kubernetes column is what Go reads (Helm's reader, in Go)."""
    assert _same(_read(text, HELM_VALUES), _helm_reads(text))


@pytest.mark.parametrize("text", [
    "a: 1\n<<: {a: 2}\n",  # go-yaml v2: a merge key overrides the keys before it
    "<<: {a: 2}\na: 1\n",
    "<<: [{a: 1, b: 1}, {a: 2, c: 2}]\n",  # earlier mappings of the list win
    "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n",
    "a: 1\na: 2\n",  # the last duplicate wins
    "y: 1\ntrue: 2\n",  # two spellings of one key
    "a: 1\n---\nb: 2\n",  # only the first document is read
    "k: 1\n...\nj: 2\n",
    "k: !!set {a, b}\n",
    "k: [1, yes, =, 1e3, 0o10]\n",
    "big: 9223372036854775807\n",  # through a float64, as Helm keeps values
    "neg: -9223372036854775809\n",
    "k: !!binary '/w=='\n",  # not UTF-8: JSON replaces the byte
    "",
    "# only a comment\n",
])
def test_helm_reads_documents_as_we_do(text: str) -> None:
    got = _read(text, HELM_VALUES)
    assert _same({} if got is None else got, _helm_reads(text))


def test_kubernetes_keeps_integers_exact_where_helm_values_go_through_a_float() -> None:
    assert _read("m: 9223372036854775807\n") == {"m": 9223372036854775807}
    assert _read("m: 9223372036854775807\n", HELM_VALUES) == {"m": 9223372036854776000}


def test_yaml11_stays_the_dialect_of_the_tools_own_files() -> None:
    assert load_all("a: y\nb: 1:30\n", dialect=YAML11)[0].data == {"a": "y", "b": 90}
    with pytest.raises(YamlError, match="unsupported tag"):
        load_all("a: =\n")


def test_strict_still_refuses_a_duplicate_but_not_a_merged_key() -> None:
    with pytest.raises(YamlError, match="duplicate key 'a' \\(first at line 1\\)"):
        load_first("a: 1\na: 2\n", strict=True, dialect=KUBERNETES)
    doc = load_first("<<: {a: 2}\na: 1\n", strict=True, dialect=KUBERNETES)
    assert doc.data == {"a": 1} and doc.lines[("a",)] == 2


def test_merged_keys_keep_the_lines_of_the_mapping_they_came_from() -> None:
    doc = load_first("base: &b\n  a: 1\n  b: 2\nsvc:\n  a: 0\n  <<: *b\n",
                     dialect=KUBERNETES)
    assert doc.data["svc"] == {"a": 1, "b": 2}  # the merge came after a: 0, and wins
    assert doc.lines[("svc", "a")] == 2 and doc.lines[("svc", "b")] == 3


def test_float32_key_formatting() -> None:
    # FormatFloat(f, 'g', -1, 32): float32 digits, %e from an exponent of 6 or below -4
    assert yamlgo.key(3.14159265358979) == "3.1415927"
    assert yamlgo.key(100000.0) == "100000"
    assert yamlgo.key(1e39) == ".inf"  # beyond float32
    assert yamlgo.key(-2.5e-7) == "-2.5e-07"
