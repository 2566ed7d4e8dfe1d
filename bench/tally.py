"""What a scan report says about its checks, per environment: how many were evaluated (pass
or fail), failed, and were unknown, each unknown's reason, and the input problems apart (a
module not downloaded, a file not parsed). bench/accuracy.py prints it for the Terraform
corpora. Reasons are shortened so that one cause is one line: the modules an address sits
in, instance keys and the file:line of an input problem are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

INPUT_ERROR = "input-error"
WIDTH = 130
SHORTER = [  # applied in order
    (re.compile(r"^cannot be evaluated: "), ""),
    (re.compile(r"^[^\s:]+:\d+: "), ""),  # where an input problem is
    (re.compile(r"^(?:output \S+ of module\.\S+: )?module \S+ \((\S+)\) is not downloaded here"
                r".*"), r"module \1 not downloaded: run terraform init"),
    (re.compile(r"\[(?:\"[^\"]*\"|\d+)\]"), ""),  # instance keys
    (re.compile(r"\bmodule\.[\w-]+\.(?=[\w-])"), ""),  # the modules an address sits in
]


def reason(message: str) -> str:
    for pattern, replacement in SHORTER:
        message = pattern.sub(replacement, message)
    return message if len(message) <= WIDTH else message[:WIDTH - 1] + "…"


@dataclass
class Tally:
    evaluated: int = 0
    failed: int = 0
    unknown: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, policy)
    problems: Counter[str] = field(default_factory=Counter)  # shortened input problems

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.evaluated + other.evaluated, self.failed + other.failed,
                     self.unknown + other.unknown, self.problems + other.problems)

    def counts(self) -> str:
        return (f"evaluated {self.evaluated:4}  failed {self.failed:4}  unknown "
                f"{self.unknown.total():4}  input problems {self.problems.total():3}")


def tally(report: dict[str, Any]) -> dict[str, Tally]:
    """Environment -> its tally."""
    envs = {name: Tally() for name in report.get("environments", [])}
    for passed in report["passed"]:
        envs.setdefault(passed["environment"], Tally()).evaluated += 1
    for f in report["findings"]:
        env = envs.setdefault(f["environment"], Tally())
        if f["policy"] == INPUT_ERROR:
            env.problems[reason(str(f["message"]))] += 1
        elif f["status"] == "fail":
            env.evaluated += 1
            env.failed += 1
        elif f["status"] == "unknown":
            env.unknown[(reason(str(f["message"])), f["policy"])] += 1
    return envs


def lines(report: dict[str, Any], detail: bool) -> list[str]:
    """One line of counts; with ``detail`` one per environment, then the reasons."""
    envs = tally(report)
    total = sum(envs.values(), Tally())
    out = [f"    checks  {total.counts()}"]
    if not detail:
        return out
    out += [f"      {name:30} {t.counts()}" for name, t in sorted(envs.items())]
    by_reason: Counter[str] = Counter()
    policies: dict[str, set[str]] = {}
    for (why, policy), n in total.unknown.items():
        by_reason[why] += n
        policies.setdefault(why, set()).add(policy)
    out += [f"      unknown {n:4}  {why}  [{', '.join(sorted(policies[why]))}]"
            for why, n in by_reason.most_common()]
    out += [f"      input   {n:4}  {why}" for why, n in total.problems.most_common()]
    return out
