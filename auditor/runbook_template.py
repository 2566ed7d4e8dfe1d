"""A runbook to start from, generated from the policy pack: the standard sections.

One page per runbook page the pack's checks name (high error rate, high latency, pod
crashes, ...), one section per failure cause, each claiming the checks that guard it with
``{{ findings("heading-id", "policy-id", ...) }}``. It says nothing of any one service:
no contacts, no names, no numbers; each section asks its team for what only they know.
The site shows it for a config that names no runbook; ``auditor init --runbook`` writes it
into a repository for the team to make its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path as FsPath

from auditor import output
from auditor.policies import Policy


def _split(section: str) -> tuple[str, str]:
    """``"1. High Error Rate (5xx): Out of Memory (OOM)"`` -> (page title, section title)."""
    page, _, sub = section.partition(":")
    page = page.split(". ", 1)[1] if page[:1].isdigit() and ". " in page else page
    return page.strip(), sub.strip()


def pages(policies: Iterable[Policy]) -> dict[str, str]:
    """Relative file name -> Markdown (Jinja: the site renders it) of every page."""
    by_page: dict[str, dict[str, list[Policy]]] = {}
    titles: dict[str, str] = {}
    section_titles: dict[str, str] = {}
    for policy in sorted(policies, key=lambda p: p.id):
        page, _, heading = policy.runbook.anchor.partition("/#")
        by_page.setdefault(page, {}).setdefault(heading, []).append(policy)
        page_title, sub = _split(policy.runbook.section)
        titles.setdefault(page, page_title)
        if sub:
            section_titles.setdefault(policy.runbook.anchor, sub)
    out = {"index.md": _index(by_page, titles)}
    for page, sections in sorted(by_page.items()):
        lines = [f"# {titles[page]}", "",
                 "What this failure looks like for this service, how to diagnose it and who "
                 "to call: write it here. Each section below shows the current findings of "
                 "the checks that guard against its cause.", ""]
        for heading, guarded in sorted(sections.items()):
            anchor = f"{page}/#{heading}"
            title = section_titles.get(anchor) or heading.replace(
                "-", " ").title()
            ids = ", ".join(f'"{p.id}"' for p in guarded)
            lines += [f"## {title} {{ #{heading} }}", "",
                      f'{{{{ findings("{heading}", {ids}) }}}}', "",
                      "Checks that guard against it:", "",
                      *(f"- `{p.id}`: {p.title}" for p in guarded), ""]
        out[f"{page}.md"] = "\n".join(lines)
    return out


def _index(by_page: dict[str, dict[str, list[Policy]]], titles: dict[str, str]) -> str:
    lines = ["# Runbook", "",
             "The failure causes runbook-auditor checks for, one page each. This runbook was "
             "generated: give the tool your own (`runbook:` in auditor.yaml, or `auditor "
             "init --runbook` to start from this one).", ""]
    lines += [f"- [{titles[page]}]({page}.md)" for page in sorted(by_page)]
    return "\n".join(lines) + "\n"


def write(policies: Iterable[Policy], dest: FsPath) -> list[FsPath]:
    """Write the pages under ``dest``; an existing file is never replaced (it is skipped)."""
    written = []
    for rel, text in pages(policies).items():
        path = dest / rel
        if path.exists() or path.is_symlink():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        output.write(path, text)
        written.append(path)
    return written
