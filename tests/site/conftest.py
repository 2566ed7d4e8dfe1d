"""Factories for the site tests: a project (a copy of the example) with a tiny runbook
source of its own whose headings are exactly the policies' anchors, reports written as
JSON, and a build through the CLI that returns the built HTML."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.models import (
    Finding,
    FindingLocation,
    PassedCheck,
    Remediation,
    Report,
    ResourceRef,
    Summary,
    fingerprint,
)
from auditor.policies import load_all
from auditor.site.build import policy_info
from tests.conftest import EXAMPLE, CliResult

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
PACK = {p.id: p for p in load_all([])}


def fixture_site(site: Path) -> Path:
    """One page per anchor page, one heading per anchor, each followed by the hook, and a
    command and a sentence that use names."""
    headings: dict[str, dict[str, str]] = {}
    for p in PACK.values():
        page, _, heading = p.runbook.anchor.partition("/#")
        headings.setdefault(page, {})[heading] = p.runbook.section
    for page, ids in headings.items():
        lines = [f"# {page.rsplit('/', 1)[-1].replace('-', ' ').title()}", ""]
        for heading, section in ids.items():
            lines += [f"## {section} {{#{heading}}}", "", f'{{{{ findings("{heading}") }}}}', "",
                      "```bash", "kubectl get pods -n {{ names.namespace }}", "```", ""]
        path = site / f"{page}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
    (site / "index.md").write_text(
        "# Runbook\n\n{## a Jinja comment ##}\nRelease {{ names.release }} of "
        "`{{ names.namespace }}`; the DB is {{ names.db_identifier }}; "
        "unknown: {{ names.foo_bar }}.\n\n```bash\naws rds describe-db-instances "
        "--db-instance-identifier {{ names.db_identifier }} --region {{ names.region }}\n"
        "curl https://{{ names.endpoint }}/health\n```\n", encoding="utf-8")
    return site


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """The example's config (real names) with its own small site/ source."""
    dest = tmp_path / "proj"
    shutil.copytree(EXAMPLE, dest)
    # The copy holds chess-ai's runbook (and its page order): replaced by the small one.
    shutil.rmtree(dest / "site")
    (dest / "mkdocs.yml").unlink()
    fixture_site(dest / "site")
    return dest


def finding(policy: str, status: str = "fail", *, env: str = "prod", side: str = "declared",
            kind: str = "Deployment", name: str = "chess-ai", namespace: str | None = "chess-ai",
            item: str | None = None, message: str = "something is wrong",
            file: str | None = None, line: int | None = None,
            commands: list[str] | None = None, runbook: str | None = None) -> Finding:
    p = PACK[policy]
    return Finding(
        policy=policy, title=p.title, severity=p.severity, status=status,  # type: ignore[arg-type]
        environment=env, side=side,  # type: ignore[arg-type]
        resource=ResourceRef(kind=kind, name=name, namespace=namespace, source="helm"),
        item=item, message=message,
        location=FindingLocation(file=file, line=line) if file else None,
        runbook=p.runbook.anchor if runbook is None else runbook,
        remediation=Remediation(text=f"Fix {name}.", commands=commands or []),
        fingerprint=fingerprint(policy, env, kind, namespace, name, item))


def passed(policy: str, env: str = "prod", name: str = "chess-ai") -> PassedCheck:
    return PassedCheck(policy=policy, environment=env, side="declared",
                       resource=ResourceRef(kind="Deployment", name=name, namespace="chess-ai",
                                            source="helm"),
                       fingerprint=fingerprint(policy, env, "Deployment", "chess-ai", name, None))


def report(findings: list[Finding], *, at: datetime = T0, passes: list[PassedCheck] | None = None,
           environments: list[str] | None = None, **fields: Any) -> Report:
    statuses = {s: sum(f.status == s for f in findings) for s in ("fail", "error", "unknown")}
    values: dict[str, Any] = {
        "generated_at": at, "tool": {"name": "runbook-auditor", "version": "0.1.0"},
        "service": "chess-ai",
        "environments": environments or sorted({f.environment for f in findings} or {"prod"}),
        "summary": Summary(by_status={**statuses, "pass": len(passes or [])},
                           by_severity={}, passes={}),
        "findings": findings, "passed": passes or [],
        "policies": [policy_info(p) for p in PACK.values()],
    } | fields
    return Report(**values)


@dataclass
class Site:
    result: CliResult
    out: Path

    def html(self, page: str = "") -> str:
        path = self.out / page / "index.html" if page else self.out / "index.html"
        return path.read_text(encoding="utf-8")

    def article(self, page: str) -> str:
        """The page's content, without the theme's navigation and search."""
        text = self.html(page)
        return text[text.index("<article"):text.index("</article>")]

    def all_html(self) -> dict[str, str]:
        return {p.relative_to(self.out).as_posix(): p.read_text(encoding="utf-8")
                for p in self.out.rglob("*.html")}


BuildSite = Callable[..., Site]


@pytest.fixture
def build_site(run_cli: Callable[..., CliResult], proj: Path, tmp_path: Path) -> BuildSite:
    """``build_site(*reports, extra_args...)``: write the reports as JSON, build, return the
    site (asserting nothing: tests check the exit code)."""
    counter = iter(range(1000))

    def build(*reports: Report, args: tuple[str, ...] = (), config: Path | None = None) -> Site:
        out = tmp_path / f"out{next(counter)}"
        files = []
        for r in reports:
            path = tmp_path / f"report-{next(counter)}.json"
            path.write_text(r.model_dump_json(), encoding="utf-8")
            files += ["--report", str(path)]
        result = run_cli("site", "build", "--config", str(config or proj), *files,
                         "--output", str(out), *args)
        return Site(result, out)

    return build


def days(n: int) -> timedelta:
    return timedelta(days=n)
