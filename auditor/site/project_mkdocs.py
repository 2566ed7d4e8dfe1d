"""A project's own ``mkdocs.yml`` (beside its ``site/``): only its ``nav`` is used.

The file is in the pull request's hands, and MkDocs' own loader runs code for it
(``!!python/object`` tags), as do ``hooks:``, a theme's ``custom_dir`` (templates rendered
outside any sandbox), plugins and some Markdown extensions (``pymdownx.snippets`` reads
any file). So the site is always built with the bundled configuration; the project's file
is read as plain data (safe YAML) for its page order, and any other setting that differs
from the bundled one is named in a warning rather than honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.yamlfile import read_document


def nav(mkdocs_file: FsPath, bundled: FsPath, warn: Callable[[str], None]) -> list[Any] | None:
    """The project's nav (None when it has none); an InputError for a file that is not
    plain YAML data or a nav that is not one."""
    # Safe YAML: a python/object tag (or any other non-data) is an invalid-YAML error.
    doc = read_document(mkdocs_file, str(mkdocs_file), "mkdocs.yml", InputError)
    data = doc.data if isinstance(doc.data, dict) else {}
    ours = yaml.safe_load(bundled.read_text(encoding="utf-8")) or {}
    ignored = [k for k, v in data.items() if k != "nav" and ours.get(k, object()) != v]
    if ignored:
        warn(f"warning: {mkdocs_file}: {', '.join(map(str, ignored))} ignored: the site is "
             "built with the bundled MkDocs settings (only nav is taken from this file)")
    found = data.get("nav")
    if found is not None and not _is_nav(found):
        raise InputError(f"{mkdocs_file}:{doc.lines.get(('nav',), 1)}: nav: expected a list "
                         "of page paths and {title: page or list} entries")
    return found


def _is_nav(node: Any) -> bool:
    if isinstance(node, str):
        return True
    if isinstance(node, list):
        return all(_is_nav(item) for item in node)
    if isinstance(node, dict):
        return len(node) == 1 and all(isinstance(k, str) and _is_nav(v) and not
                                      isinstance(v, dict) for k, v in node.items())
    return False
