"""Declared-vs-live drift: pair each declared object with its live counterpart, name the
command that most likely made them differ, and the one that puts Git's value back.

Pairing is :mod:`auditor.drift.pairing`; the comparison itself is
:mod:`auditor.drift.compare` under the rules of :mod:`auditor.drift.normalize` (per-kind
defaults in :mod:`auditor.drift.defaults`), with env values, args, commands and ConfigMap
data compared by value but shown only as hashes (:mod:`auditor.drift.hidden`). Security
groups compare as sets of grants (:mod:`auditor.drift.grants`), replicas under an HPA by
its bounds (:mod:`auditor.drift.replicas`). The likely cause and the restoring command
are :mod:`auditor.drift.commands` (and :mod:`auditor.drift.removal` for what only live
has). The named checks in :mod:`auditor.checks.drift` turn each difference into a finding
(:mod:`auditor.drift.findings`).
"""
