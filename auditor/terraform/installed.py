"""Where ``terraform init`` put the modules a root directory calls.

``.terraform/modules/modules.json`` is Terraform's own record: each module call's key (the
call names from the root, ``"db.inner"``) and the directory it was downloaded or linked
to, relative to the root. The file is read bounded; a directory outside the project, or
one that is not there, is left out (the call is then reported as not read offline).
"""

from __future__ import annotations

import json
from pathlib import Path as FsPath

from auditor import inputs, project
from auditor.limits import too_deep
from auditor.terraform import loader

MODULES_JSON = (".terraform", "modules", "modules.json")


def installed(root: FsPath) -> dict[str, FsPath]:
    """Module call key -> its directory, as ``terraform init`` recorded it."""
    path = root.joinpath(*MODULES_JSON)
    inputs.probe(path)
    if not path.is_file():
        return {}
    text, error = loader.read_text(path, "")
    try:
        data = json.loads(text) if error is None else {}
    except (ValueError, RecursionError):  # Terraform's own file: without it, no modules
        return {}
    listed = data.get("Modules") if isinstance(data, dict) and not too_deep(data) else None
    out = {}
    for entry in listed if isinstance(listed, list) else []:
        key = entry.get("Key") if isinstance(entry, dict) else None
        where = entry.get("Dir") if isinstance(entry, dict) else None
        if not (isinstance(key, str) and key and isinstance(where, str)):
            continue
        inputs.probe(root / where)  # where a link on the way leads is part of its state
        directory = (root / where).resolve()
        if directory.is_dir() and project.refusal(directory) is None:
            out[key] = directory
    return out


def call_key(address: str) -> str:
    """``module.db["a"].module.inner`` -> ``db.inner``: how modules.json names a call."""
    parts = [p.split("[", 1)[0] for p in address.split(".")]
    return ".".join(p for i, p in enumerate(parts) if i % 2 == 1)
