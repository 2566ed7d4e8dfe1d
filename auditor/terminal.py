"""Text from inputs, made safe to show on a terminal or in a CI log.

Resource names, file names, messages and reasons come from charts, Terraform, live objects
and pull requests. Control characters among them (ESC starts the sequences that clear the
screen, move the cursor, retitle the terminal or recolour a CI log; a newline can fake a
line of our own) and the bidirectional overrides that make text read otherwise than it is
are shown as escapes (``\\x1b``, ``\\u202e``) instead of being sent, and what a CI runner
would take for a workflow command (``::error``, ``##[group]``) is broken up the same way.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Every control and bidi character shown as an escape, newlines included (one field
    stays one line); ``##[`` too, which a CI runner reads as a command anywhere in a line."""
    return _UNSAFE.sub(lambda m: _shown(m.group()), text).replace("##[", "##\\x5b")


def visible_lines(text: str) -> str:
    """The same, keeping line breaks: for whole outputs whose lines are ours. A line that
    (wrapped, indented) would begin with ``::`` is not left to read as a workflow command."""
    return "\n".join(_not_a_command(visible(line)) for line in text.split("\n"))


def _not_a_command(line: str) -> str:
    stripped = line.lstrip()
    if not stripped.startswith("::"):
        return line
    return line[:len(line) - len(stripped)] + "\\x3a" + stripped[1:]
