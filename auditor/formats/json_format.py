"""The JSON report: the model itself (its schema is ``schemas/report.schema.json``)."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from auditor.models import Report

# The lists a fleet's report is made of (tens of thousands of entries): serialized one entry
# at a time, so the run never holds the whole document (and the serializer's growing buffer
# beside it) on top of the report. In the model's field order, the order they are written in.
_STREAMED = tuple(n for n in Report.model_fields if n in ("findings", "not_applicable", "passed"))


def render(report: Report) -> bytes:
    """UTF-8 bytes: what :func:`chunks` writes, in one piece."""
    return b"".join(chunks(report))


def chunks(report: Report) -> Iterator[bytes]:
    """The report as the serializer writes it with ``indent=2``, byte for byte, in pieces of
    one list entry each."""
    shell = report.model_copy(update={name: [] for name in _STREAMED})
    rest = shell.__pydantic_serializer__.to_json(shell, indent=2) + b"\n"
    for name in _STREAMED:
        # A top-level key is the only thing at two spaces' indent after a newline: a string
        # holds no raw newline, and nested keys are indented further.
        empty = b'\n  "' + name.encode() + b'": []'
        before, found, rest = rest.partition(empty)
        if not found:  # never: the model's own fields, serialized empty just above
            raise RuntimeError(f"{name} is not a top-level list of the report")
        yield before
        yield from _entries(name, getattr(report, name))
    yield rest


def _entries(name: str, items: list[BaseModel]) -> Iterator[bytes]:
    key = b'\n  "' + name.encode() + b'": ['
    if not items:
        yield key + b"]"
        return
    yield key
    sep = b"\n    "
    for i, item in enumerate(items):
        text = item.__pydantic_serializer__.to_json(item, indent=2)
        yield (sep if i == 0 else b"," + sep) + text.replace(b"\n", sep)
    yield b"\n  ]"
