"""Commands for people to copy and paste during an incident: every word that came from an
input is shell-quoted, so a name like ``ns;id`` or ``db$(id)`` is text, never a command.

Placeholders (``<namespace>``) stay as they are: unquoted, a copied command that still has
one fails at once instead of running with a made-up name. Text with control characters is
written as bash's ``$'...'`` with escapes (``$'web\x1b[2J'``), so a command stays one
visible line. Text built by this module is a :class:`Shell` string; a command template
does not quote it again.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"<[a-z0-9][a-z0-9 _-]*>")
_SAFE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)  # what shlex.quote leaves bare
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069]")


class Shell(str):
    """Text that is already a command (or words of one), quoted where it needed to be."""

    __slots__ = ()


def q(value: object) -> Shell:
    """One shell word: as it is when it is safe or a placeholder, else single-quoted."""
    if isinstance(value, Shell):
        return value
    text = value if isinstance(value, str) else str(value)
    if PLACEHOLDER.fullmatch(text) or _SAFE.fullmatch(text):
        return Shell(text)
    return sq(text)


def sq(value: object) -> Shell:
    """Always quoted, single quotes as JSON patches are spelt: ``'{"spec":...}'``."""
    text = str(value)
    if _CONTROL.search(text):
        return _ansi_c(text)
    return Shell("'" + text.replace("'", "'\"'\"'") + "'")


def _ansi_c(text: str) -> Shell:
    def escape(char: str) -> str:
        code = ord(char)
        if char in "\\'":
            return "\\" + char
        if _CONTROL.match(char):
            return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"  # as UTF-8
        return char

    return Shell("$'" + "".join(escape(c) for c in text) + "'")


def dq(value: object) -> Shell:
    """Double-quoted when nothing in it is special (the runbook's spelling of
    ``--parameters "ParameterName=..."``), else single-quoted."""
    text = str(value)
    return Shell(f'"{text}"') if _SAFE.fullmatch(text) or PLACEHOLDER.fullmatch(text) \
        else sq(text)


def placed(value: str, before: str) -> str:
    """``value`` quoted for where it stands in a command that reads ``before`` up to it:
    one word outside quotes (:func:`q`); inside the command's own single or double quotes
    (a name in ``-p '{"name":"NAME"}'``), escaped for those quotes, so it cannot close them.
    A name with control characters there is not shown (``<name-not-shown>``)."""
    state = quote_state(before)
    if state is None:
        return q(value)
    if _CONTROL.search(value):
        return "<name-not-shown>"
    if state == "'":
        return value.replace("'", "'\"'\"'")
    return re.sub(r'([\\"$`])', r"\\\1", value)


def quote_state(text: str) -> str | None:
    """The quote open at the end of ``text`` (part of a shell command): ', " or None."""
    state: str | None = None
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif state == "'":
            state = None if c == "'" else state
        elif c == "\\":
            escaped = True
        elif state == '"':
            state = None if c == '"' else state
        elif c in "'\"":
            state = c
    return state
