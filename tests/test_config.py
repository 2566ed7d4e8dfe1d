from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.config import load
from auditor.errors import ConfigError

GOOD = """
service: chess-ai
environments:
  prod:
    helm:
      chart: helm/chess-ai
      release: chess-ai
      namespace: chess-ai
      values: [a.yaml]
    terraform: {dirs: [tf]}
    params: {min_days: 14, rds-backups: {min_days: 30}}
"""


def test_valid_config_resolves_paths(project: Callable[[dict[str, str]], Path]) -> None:
    root = project({"auditor.yaml": GOOD})
    config = load(str(root))  # a directory means its auditor.yaml
    env = config.environments["prod"]
    assert env.helm is not None and env.helm.values == ["a.yaml"]
    assert config.path("tf") == (root / "tf").resolve()
    assert config.rel(root / "tf" / "main.tf") == "tf/main.tf"


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("      values: [a.yaml]", "      valuez: [a.yaml]"),
     ":8: environments.prod.helm.valuez: unknown key"),
    (GOOD.replace("      release: chess-ai\n", ""),
     ":4: environments.prod.helm.release: Field required"),
    (GOOD.replace("{dirs: [tf]}", "{dirs: tf}"),
     ":9: environments.prod.terraform.dirs: Input should be a valid list"),
    ("service: x\nenvironments: {}\n", ":2: environments: "),
    ("service: x\nfacts:\n  values_keys:\n    pool_size: 'db..pool'\n"
     "environments: {p: {manifests: [m.yaml]}}\n",
     ":4: facts.values_keys.pool_size: 'db..pool' is not a values key"),
    ("service: [x\n", ": invalid YAML"),
    ("- a\n- b\n", ":1: the config must be a mapping"),
])
def test_errors_name_file_key_and_line(project: Callable[[dict[str, str]], Path], text: str,
                                       expected: str) -> None:
    root = project({"auditor.yaml": text})
    with pytest.raises(ConfigError) as err:
        load(str(root / "auditor.yaml"))
    message = err.value.format_message()
    assert expected in message
    assert "auditor.yaml" in message and "\n" not in message


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(str(tmp_path / "nope.yaml"))


def _message(root: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load(str(root / "auditor.yaml"))
    message = err.value.format_message()
    assert "\n" not in message and "auditor.yaml" in message
    return message


def test_non_utf8_config_is_one_line_with_the_line(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({})
    (root / "auditor.yaml").write_bytes(b"service: caf\xe9\nenvironments: {}\n")
    message = _message(root)
    assert message.endswith("auditor.yaml:1: invalid YAML: not UTF-8 text (byte 0xe9 on line 1)")


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("      namespace: chess-ai\n", "      namespace: chess-ai\n      release: x\n"),
     ":8: environments.prod.helm.release: duplicate key 'release' (first at line 6)"),
    (GOOD + "service: again\n", ":11: service: duplicate key 'service' (first at line 1)"),
    ("service: x\nenvironments:\n  prod: {manifests: [a]}\n  prod: {manifests: [b]}\n",
     ":4: environments.prod: duplicate key"),
    ("service: x\nenvironments:\n  prod: {}\n",
     ":3: environments.prod: environment prod declares nothing to audit: "
     "add helm, manifests, terraform, kubernetes, aws or endpoints"),
    ("service: x\nenvironments:\n  prod:\n    manifests: []\n    terraform: {dirs: []}\n"
     "    endpoints: []\n", ":3: environments.prod: environment prod declares"),
    (GOOD.replace("      values: [a.yaml]", "      set:\n        ok.key: 1\n        a..b: 2"),
     ":10: environments.prod.helm.set: invalid --set key 'a..b'"),
    (GOOD.replace("      values: [a.yaml]", "      set: {'': 1}"),
     ":8: environments.prod.helm.set: invalid --set key ''"),
    (GOOD.replace("      values: [a.yaml]", "      set: {'[0]': 1}"),
     ":8: environments.prod.helm.set: invalid --set key '[0]'"),
])
def test_config_holes(project: Callable[[dict[str, str]], Path], text: str,
                      expected: str) -> None:
    assert expected in _message(project({"auditor.yaml": text}))


def test_merge_keys_share_settings_between_environments(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({"auditor.yaml": """
        service: s
        environments:
          staging: &base
            manifests: [m]
            params: {min_days: 3}
          prod:
            <<: *base
            params: {min_days: 30}
        """})
    config = load(str(root))
    assert config.environments["prod"].manifests == ["m"]
    assert config.environments["prod"].params == {"min_days": 30}
    assert config.line_of(("environments", "prod", "manifests")) == 4


def test_paths_outside_the_config_dir_are_relative(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({"team/auditor.yaml": "service: s\nenvironments:\n"
                                         "  prod: {manifests: [../shared/m.yaml]}\n"})
    config = load(str(root / "team"))
    assert config.rel(root / "shared" / "m.yaml") == "../shared/m.yaml"
    assert config.rel(root / "team" / "x" / ".." / "y.yaml") == "y.yaml"
    assert config.rel(root.parent / "elsewhere") == "../../elsewhere"


def test_a_live_only_environment_is_valid(project: Callable[[dict[str, str]], Path]) -> None:
    """Where there is no Terraform or chart, `auditor audit` still reads what runs."""
    root = project({"auditor.yaml": "service: x\nenvironments:\n  prod:\n"
                                    "    aws: {region: us-east-1, db_instances: [db]}\n"})
    assert load(str(root)).environments["prod"].aws is not None


def test_a_plan_file_is_an_input_wherever_it_lives(
        project: Callable[[dict[str, str]], Path]) -> None:
    """With one directory the plan may lie outside it (a CI build folder): it is still
    one of the files the run reads, which no --output may replace."""
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n    terraform:\n"
                                    "      dirs: [infra]\n      plan: build/plan.json\n"})
    files, dirs = load(str(root)).inputs()
    assert root / "build" / "plan.json" in files
    assert root / "infra" in dirs and root / "build" not in dirs
