"""One strict MkDocs build through its Python API, its warnings turned into one error.

MkDocs is imported here only (it costs ~130 ms and prints nothing of its own): the
config is the top-level ``mkdocs.yml`` with the staging dir as ``docs_dir``, the output as
``site_dir`` and the service's site name. Every warning MkDocs or a plugin logs is
collected; with any (or a failed builder check, run on the written site) the build is an
:class:`SiteBuildError`, exit 2, listing them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path as FsPath

from auditor.errors import AuditorError

MAX_SHOWN = 20


class SiteBuildError(AuditorError):
    """The site did not build cleanly (exit 2)."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def run_mkdocs(mkdocs_file: FsPath, docs_dir: FsPath, site_dir: FsPath, site_name: str,
               nav: list[object] | None, check: Callable[[], list[str]]) -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # material's end-of-life banner
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    logger.addHandler(collect)
    aborted = ""
    try:
        cfg = load_config(config_file=str(mkdocs_file), docs_dir=str(docs_dir),
                          site_dir=str(site_dir), site_name=site_name, strict=True, nav=nav)
        build(cfg)
    except MkDocsException as exc:  # Abort is also a SystemExit: catch it by name
        aborted = exc.format_message().strip()
    except OSError as exc:
        aborted = f"{exc.filename or mkdocs_file}: {exc.strerror}"
    finally:
        logger.removeHandler(collect)
    written = (site_dir / "sitemap.xml").exists()  # a strict abort comes after writing
    problems = [*check(), *collect.messages] if written else collect.messages
    if aborted and not problems:
        problems = [aborted]
    if problems:
        shown = problems[:MAX_SHOWN]
        more = len(problems) - len(shown)
        raise SiteBuildError(
            f"the site did not build (strict mode, {len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}):\n  " + "\n  ".join(shown)
            + (f"\n  … and {more} more" if more else ""))
