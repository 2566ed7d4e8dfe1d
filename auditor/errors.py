"""The error tree and the exit codes, owned in one place.

Every error that stops an audit before it starts is a :class:`UsageError` subclass; Click
prints it as one line and exits with its code. Problems found *while* auditing (a file
that does not parse, a value that cannot be resolved) are not exceptions: they become
``error``/``unknown`` results in the report, so one bad file never hides the others.
Any other exception is a bug: ``auditor.cli.main`` turns it into one ``internal error``
line and exit 2, never a traceback (which would exit 1, read by CI as "findings").
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import click


class ExitCode(IntEnum):
    OK = 0  # nothing failed at or above the threshold
    FINDINGS = 1  # failing findings at or above --fail-on
    CANNOT_START = 2  # usage error, invalid config, invalid policy file
    INCOMPLETE = 3  # the audit ran, some inputs or checks ended in error, nothing failed


class AuditorError(click.ClickException):
    """An error that stops the audit before it starts (exit 2)."""

    exit_code = ExitCode.CANNOT_START

    def __init__(self, message: str, *more: str) -> None:
        """``more``: further mistakes found at once, each shown on its own line."""
        super().__init__(message)
        self.lines = (message, *more)

    def format_message(self) -> str:
        return "\n".join(self.lines)

    def show(self, file: object = None) -> None:
        from auditor.terminal import visible  # names in messages come from the inputs

        for line in self.lines:  # a line break inside one is shown, not obeyed
            click.echo(f"error: {visible(line)}", err=True)


class ConfigError(AuditorError):
    """auditor.yaml is missing or invalid."""


class PolicyError(AuditorError):
    """A policy file is invalid."""


class InputError(AuditorError):
    """A file given on the command line cannot be used."""


def where(file: str, line: int | None) -> str:
    """``file:line`` (or just ``file``), the prefix of every located message."""
    return f"{file}:{line}" if line else file


def first_error(exc: Any) -> tuple[str, str]:
    """(where, what) of the first error a pydantic ValidationError holds: one line to
    name the field of an input that does not have the expected shape."""
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "(top level)", str(first["msg"])
