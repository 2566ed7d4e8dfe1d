"""Declared-vs-live drift: pair each declared object with its live counterpart, name the
command that most likely made them differ, and the one that puts Git's value back.

Pairing is :mod:`auditor.drift.pairing`; the comparison itself is
:mod:`auditor.drift.compare` under the rules of :mod:`auditor.drift.normalize` (per-kind
defaults in :mod:`auditor.drift.defaults`); the likely cause and the restoring command are
:mod:`auditor.drift.commands`. The named checks in :mod:`auditor.checks.drift` turn each
difference into a finding.
"""
