"""Reads a Terraform directory (``*.tf`` and ``*.tf.json``): blocks with their raw
(unevaluated) attributes and the line of every attribute and nested block.

python-hcl2 evaluates nothing; its ``DocumentView`` keeps line numbers on the parse tree
(a private ``_meta`` attribute, hence the 8.1.x pin, covered by tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

from auditor import cache, inputs, project
from auditor.paths import Path


@dataclass
class Block:
    kind: str  # resource, data, variable, locals, module, output, ...
    labels: list[str]
    attrs: dict[str, Any]  # raw python-hcl2 values: expressions are "${...}" strings
    file: str
    line: int
    lines: dict[Path, int] = field(default_factory=dict)  # attribute path -> line
    module: str = ""  # "module.db." when read through a module call, "" at the root

    @property
    def local_address(self) -> str:
        """The address inside its own module, as its module's expressions name it."""
        prefix = {"data": "data.", "module": "module."}.get(self.kind, "")
        return prefix + ".".join(self.labels)

    @property
    def address(self) -> str:
        """The full Terraform address, e.g. ``module.db.aws_db_instance.main``."""
        return self.module + self.local_address


@dataclass
class ParseError:
    file: str
    line: int | None
    message: str


TOO_DEEP = "nested too deeply to be read (brackets, braces or blocks hundreds of levels deep)"
TOO_DEEP_JSON = "invalid JSON: nested too deeply"


def unexpected(exc: Any) -> str:
    """What the parser met, by kind and place, never by its text: a file that is not
    Terraform (a credentials file a link points to) must not be echoed in a report."""
    token = getattr(exc, "token", None)
    what = (f"unexpected {token.type.lower().replace('_', ' ')}" if token is not None
            else "unexpected end of file" if type(exc).__name__ == "UnexpectedEOF"
            else "unexpected character")
    column = getattr(exc, "column", None)
    return f"invalid HCL: {what}" + (f" (column {column})" if column else "")


def options() -> Any:
    import hcl2

    return hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                     with_comments=False)


def read_text(path: FsPath, shown: str) -> tuple[str, ParseError | None]:
    """The file's text; a UTF-8 byte order mark is ignored, as Terraform does. A file from
    outside the project (auditor.project) is not read."""
    refused = project.refusal(path)
    if refused:
        return "", ParseError(shown, None, refused)
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO, a device
        return "", ParseError(shown, None, "not a regular file: not read")
    try:
        return path.read_text(encoding="utf-8-sig"), None
    except OSError as exc:
        return "", ParseError(shown, None, f"cannot read: {exc.strerror}")
    except UnicodeDecodeError:
        return "", ParseError(shown, None, "not UTF-8 text")


def load_file(path: FsPath, shown: str) -> tuple[list[Block], ParseError | None]:
    """The file's blocks. A module called many times (per instance, per environment, under
    another relative name) is parsed once: parses are kept by text alone, and each call gets
    its own Block objects (its name and module prefix differ) over the shared,
    never-modified attributes."""
    text, error = read_text(path, shown)
    if error:
        return [], error
    blocks, error = _parsed(text, path.name.endswith(".tf.json"))
    return ([replace(b, file=shown) for b in blocks],
            None if error is None else replace(error, file=shown))


@lru_cache(maxsize=2048)  # bounded: a fleet's distinct files do not all stay in memory
def _parsed(text: str, json: bool) -> tuple[tuple[Block, ...], ParseError | None]:
    """Parsed once per process, and across runs through the persistent cache (the blocks'
    file is left empty: :func:`load_file` names it)."""
    store = cache.store()
    if store is None:
        return _parse(text, json)
    entry = cache.key("terraform", _parser_version(), "json" if json else "hcl", text,
                      cache.code_version(__name__, "auditor.terraform.tfjson"))
    if (hit := _decode(store.get("terraform", entry))) is not None:
        return hit
    found, error = _parse(text, json)
    store.put("terraform", entry, _encode(found, error))
    return found, error


def _parse(text: str, json: bool) -> tuple[tuple[Block, ...], ParseError | None]:
    if json:
        from auditor.terraform.tfjson import blocks

        parse, deep = blocks, TOO_DEEP_JSON
    else:
        parse, deep = _parse_hcl, TOO_DEEP
    try:
        found, error = parse(text, "")
    except RecursionError:  # out of stack outside the parse's own guard (an import)
        found, error = [], ParseError("", None, deep)
    if error is not None and error.message == deep:
        # Out of stack, maybe because the parse began deep in another call chain: this
        # verdict is kept for every later read, so it is the file's own, judged again
        # from the bottom of a new thread's stack. (Out of stack to start the thread
        # raises: nothing is kept.)
        found, error = _on_fresh_stack(parse, text, deep)
    return tuple(found), error


def _on_fresh_stack(parse: Callable[[str, str], tuple[list[Block], ParseError | None]],
                    text: str, deep: str) -> tuple[list[Block], ParseError | None]:
    result: list[tuple[list[Block], ParseError | None]] = []

    def run() -> None:
        try:
            result.append(parse(text, ""))
        except RecursionError:  # past the parse itself (the JSON walk)
            result.append(([], ParseError("", None, deep)))

    worker = threading.Thread(target=run, name="terraform-parse")
    worker.start()
    worker.join()
    return result[0] if result else ([], ParseError("", None, deep))


@lru_cache(maxsize=1)
def _parser_version() -> str:
    from importlib.metadata import version

    return version("python-hcl2")


def _encode(blocks: tuple[Block, ...], error: ParseError | None) -> dict[str, Any]:
    """An entry: the blocks without their file, which :func:`load_file` names."""
    return {"blocks": [{"kind": b.kind, "labels": b.labels, "attrs": b.attrs, "line": b.line,
                        "lines": [[list(k), v] for k, v in b.lines.items()]} for b in blocks],
            "error": None if error is None else [error.line, error.message]}


def _decode(data: Any) -> tuple[tuple[Block, ...], ParseError | None] | None:
    """An entry back into blocks; None for anything not of the shape written (rebuilt)."""
    try:
        blocks = tuple(Block(str(b["kind"]), [str(x) for x in b["labels"]], dict(b["attrs"]),
                             "", int(b["line"]), {tuple(k): int(v) for k, v in b["lines"]})
                       for b in data["blocks"])
        raw = data["error"]
        error = None if raw is None else ParseError(
            "", None if raw[0] is None else int(raw[0]), str(raw[1]))
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return blocks, error


def _parse_hcl(text: str, shown: str) -> tuple[list[Block], ParseError | None]:
    from hcl2.query import DocumentView
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        view = DocumentView.parse(text)
        opts = options()
        blocks = [_block(b, shown, opts) for b in view.blocks()]
    except UnexpectedInput as exc:
        return [], ParseError(shown, getattr(exc, "line", None), unexpected(exc))
    except (LarkError, ValueError, KeyError, AttributeError) as exc:
        # lark wraps what a transformer raised: running out of stack is still nesting.
        if isinstance(getattr(exc, "orig_exc", None) or exc.__context__, RecursionError):
            return [], ParseError(shown, None, TOO_DEEP)
        return [], ParseError(shown, None, f"invalid HCL ({type(exc).__name__})")
    except RecursionError:  # the parser recurses per level of nesting
        return [], ParseError(shown, None, TOO_DEEP)
    return blocks, None


def _block(view: Any, shown: str, opts: Any) -> Block:
    kind = view.block_type
    labels = list(view.name_labels)
    data = view.to_dict(options=opts)
    for label in labels:  # to_dict nests the body under each label
        data = data.get(label, data) if isinstance(data, dict) else data
    if kind == "locals" and isinstance(data, dict) and "locals" in data and not labels:
        data = data["locals"]
    attrs = {k: v for k, v in (data or {}).items() if k != "__is_block__"}
    lines: dict[Path, int] = {}
    _lines(view.body, (), lines)
    return Block(kind, labels, _strip_markers(attrs), shown, view.raw._meta.line, lines)


def _lines(body: Any, prefix: Path, out: dict[Path, int]) -> None:
    for attr in body.attributes():
        out[(*prefix, attr.name)] = attr.raw._meta.line
    counts: dict[str, int] = {}
    for nested in body.blocks():
        name = nested.block_type
        index = counts.get(name, 0)
        counts[name] = index + 1
        out[(*prefix, name, index)] = nested.raw._meta.line
        out.setdefault((*prefix, name), nested.raw._meta.line)
        _lines(nested.body, (*prefix, name, index), out)


def _strip_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_markers(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_strip_markers(v) for v in value]
    return value


def load_dir(directory: FsPath, rel: Any) -> tuple[list[Block], list[ParseError]]:
    blocks: list[Block] = []
    errors: list[ParseError] = []
    inputs.probe(directory)
    if not directory.is_dir():
        return [], [ParseError(rel(directory), None, "Terraform directory not found")]
    paths = [*directory.glob("*.tf"), *directory.glob("*.tf.json")]
    # Not only regular files: a link that leads nowhere or out, or a device, is an error
    # to report (skipped in silence, the directory would be audited as empty).
    for path in sorted(p for p in paths if not p.is_dir()):
        found, error = load_file(path, rel(path))
        blocks.extend(found)
        if error:
            errors.append(error)
    return blocks, errors
