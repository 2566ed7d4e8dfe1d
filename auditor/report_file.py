"""Saved JSON reports read back: for the site, for baselines and for ``auditor report``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path as FsPath

from pydantic import ValidationError

from auditor.errors import InputError, first_error
from auditor.limits import MAX_DEPTH, too_deep
from auditor.models import REPORT_VERSION, Report


def expand(paths: Sequence[str | FsPath]) -> list[FsPath]:
    """Files as given; a directory as every ``*.json`` under it, in name order."""
    out: list[FsPath] = []
    for given in map(FsPath, paths):
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.json") if p.is_file())
            if not found:
                raise InputError(f"{given}: no *.json reports in this directory")
            out += found
        else:
            out.append(given)
    return out


def read_report(path: str | FsPath) -> Report:
    """One report, validated (exit 2 with a one-line reason otherwise); times in UTC."""
    path = FsPath(path)
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read report: {exc.strerror}") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InputError(f"{path}: not a JSON report: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"{path}: not a JSON report: nested too deeply") from None
    if too_deep(data):
        raise InputError(f"{path}: not a JSON report: nested more than {MAX_DEPTH} levels deep")
    try:
        report = Report.model_validate(data)
    except ValidationError as exc:
        field, problem = first_error(exc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError(f"{path}: not a valid report: {field}: {problem}{more}") from None
    if report.version != REPORT_VERSION:
        raise InputError(f"{path}: report version {report.version!r} is not supported "
                         f"(this auditor reads version {REPORT_VERSION})")
    # One clock for ordering and labels: a time without a zone is taken as UTC.
    at = report.generated_at
    report.generated_at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return report


