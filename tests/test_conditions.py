"""The condition language: three-valued logic and validation with locations."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.conditions import ConditionError, evaluate, validate
from auditor.unknown import Unknown

ITEM = {"resources": {"requests": {"memory": "8192Mi"}, "limits": {"memory": "8Gi"}},
        "image": "registry:5000/app:latest", "port": "http", "n": 3,
        "odd": Unknown("not known offline")}


def ev(cond: dict[str, Any], params: dict[str, Any] | None = None) -> object:
    validate(cond)
    return evaluate(cond, ITEM, params or {})


def test_missing_and_exists() -> None:
    assert ev({"missing": "resources.limits.cpu"}) is True
    assert ev({"exists": "resources.limits.memory"}) is True
    assert isinstance(ev({"missing": "odd"}), Unknown)
    assert isinstance(ev({"missing": "odd.deeper"}), Unknown)


def test_compare_is_semantic() -> None:
    assert ev({"compare": ["resources.requests.memory", "==",
                           {"path": "resources.limits.memory"}]}) is True
    assert ev({"compare": ["resources.limits.memory", "<", {"param": "floor"}]},
              {"floor": "256Mi"}) is False
    assert ev({"compare": [{"path": "absent", "default": 10}, ">", 5]}) is True
    assert ev({"compare": ["absent", "<", 5]}) is False  # absence is a `missing:` question
    assert isinstance(ev({"compare": ["port", "<", 5]}), Unknown)  # not a number: unknown


def test_three_valued_any_all_not() -> None:
    unknown = {"missing": "odd"}
    true, false = {"exists": "n"}, {"missing": "n"}
    assert ev({"any": [unknown, true]}) is True
    assert isinstance(ev({"any": [unknown, false]}), Unknown)
    assert ev({"all": [unknown, false]}) is False
    assert isinstance(ev({"all": [unknown, true]}), Unknown)
    assert isinstance(ev({"not": unknown}), Unknown)
    assert ev({"not": false}) is True


def test_one_of_and_matches() -> None:
    assert ev({"one_of": ["n", ["3", 4]]}) is True
    assert ev({"one_of": [{"param": "environment"}, {"param": "prod_envs"}]},
              {"environment": "prod", "prod_envs": ["prod"]}) is True
    assert ev({"matches": ["image", ":latest$"]}) is True
    assert ev({"matches": ["absent", "x"]}) is False


def test_parameterised_paths() -> None:
    assert ev({"exists": "{key}"}, {"key": "resources.limits.memory"}) is True


@pytest.mark.parametrize(("cond", "path"), [
    ({"nope": "x"}, ("condition",)),
    ({"any": []}, ("condition", "any")),
    ({"any": [{"missing": 3}]}, ("condition", "any", 0, "missing")),
    ({"compare": ["a", "=>", 1]}, ("condition", "compare")),
    ({"all": [{"matches": ["a", "("]}]}, ("condition", "all", 0, "matches")),
    ({"one_of": ["a", "b"]}, ("condition", "one_of")),
    ({"missing": "x", "exists": "y"}, ("condition",)),
])
def test_validation_errors_carry_their_path(cond: dict[str, Any], path: tuple[Any, ...]) -> None:
    with pytest.raises(ConditionError) as err:
        validate(cond)
    assert err.value.path == path
