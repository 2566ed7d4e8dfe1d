"""Variable values from ``.tfvars`` files, and the ones Terraform loads by itself.

Terraform's order, later wins: ``terraform.tfvars``, ``terraform.tfvars.json``, then
``*.auto.tfvars`` and ``*.auto.tfvars.json`` in lexical order of file name (all from the
directory it runs in), then ``-var-file`` (here: the config's ``var_files``), then ``-var``
(the config's ``vars``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

from auditor import inputs
from auditor.models import Location, Problem
from auditor.terraform import loader
from auditor.unknown import Unknown


def auto_files(directory: FsPath) -> list[FsPath]:
    """The var files Terraform loads from ``directory`` without being asked, in order."""
    inputs.probe(directory)
    if not directory.is_dir():
        return []
    first = [directory / n for n in ("terraform.tfvars", "terraform.tfvars.json")]
    for path in first:
        inputs.probe(path)
    auto = [*directory.glob("*.auto.tfvars"), *directory.glob("*.auto.tfvars.json")]
    return [p for p in first if p.is_file()] + sorted(
        (p for p in auto if p.is_file()), key=lambda p: p.name)


def read_files(paths: list[FsPath], rel: Callable[[FsPath], str],
               problems: list[Problem]) -> dict[str, Any]:
    """The values of ``paths``, later files winning; unreadable files become problems."""
    values: dict[str, Any] = {}
    for path in paths:
        shown = rel(path)
        found, error = read(path, shown)
        if error:
            problems.append(Problem(f"tfvars {shown}", error.message,
                                    Location(shown, error.line)))
            continue
        values.update(found)
    return values


def read(path: FsPath, shown: str) -> tuple[dict[str, Any], loader.ParseError | None]:
    text, error = loader.read_text(path, shown)
    if error:
        return {}, error
    if path.name.endswith(".json"):
        return _json(text, shown)
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        data = hcl2.loads(text, serialization_options=loader.options())
    except UnexpectedInput as exc:
        return {}, loader.ParseError(shown, getattr(exc, "line", None),
                                     loader.unexpected(exc))
    except LarkError as exc:
        return {}, loader.ParseError(shown, None, f"invalid HCL ({type(exc).__name__})")
    except RecursionError:
        return {}, loader.ParseError(shown, None, loader.TOO_DEEP)
    # tfvars hold literals; an expression there is not something we can trust offline.
    return {k: (Unknown(f"{shown}: {k} is an expression") if isinstance(v, str) and "${" in v
                else v) for k, v in data.items()}, None


def _json(text: str, shown: str) -> tuple[dict[str, Any], loader.ParseError | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, loader.ParseError(shown, exc.lineno, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return {}, loader.ParseError(shown, None, loader.TOO_DEEP_JSON)
    if not isinstance(data, dict):
        return {}, loader.ParseError(shown, 1, "a .tfvars.json file must hold a JSON object")
    return data, None  # JSON values are literal: "${" in them is text, not an expression
