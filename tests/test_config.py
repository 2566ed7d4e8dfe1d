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
