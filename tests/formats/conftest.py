"""A small but varied report for the output formats, built from the pydantic models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from auditor.models import (
    INPUT_ERROR,
    SEVERITIES,
    STATUSES,
    Finding,
    FindingLocation,
    PassedCheck,
    PolicyInfo,
    Remediation,
    Report,
    ResourceRef,
    Summary,
    fingerprint,
)

SITE = "https://runbooks.example.com/chess/"
SCRIPT = "<script>alert(1)</script>"
LONG_MESSAGE = ("Deployment has | a pipe\nand a newline, and goes on " + "and on " * 30).strip()

POLICIES = [
    PolicyInfo(id="liveness-probe", title="Containers have a liveness probe",
               severity="critical", runbook="common-issues/crash-loop/#liveness",
               runbook_section="1. Crash loop", description="Restart hung pods."),
    PolicyInfo(id="hpa-present", title="Deployments scale with an HPA", severity="high",
               runbook="common-issues/high-latency/#scale-up-pods",
               runbook_section="2. High Latency: Scale Up Pods", description="More pods."),
    PolicyInfo(id="memory-limits", title="Containers set memory limits", severity="medium",
               runbook="common-issues/oom/#limits", runbook_section="3. OOM",
               description="Bound memory."),
    PolicyInfo(id="rds-backups", title="RDS keeps backups", severity="low",
               runbook="data/backups/#rds", runbook_section="4. Backups",
               description="Keep seven days."),
    PolicyInfo(id="log-retention", title="Logs are retained", severity="medium",
               runbook="observability/#retention", runbook_section="5. Logs",
               description="Keep logs (no findings: helpUri from the site URL)."),
]


def finding(policy: str, status: str, env: str, name: str, *, side: str = "declared",
            kind: str = "Deployment", namespace: str | None = "chess-ai",
            item: str | None = None, file: str | None = None, line: int | None = None,
            message: str = "something is wrong", link: bool = True,
            commands: list[str] | None = None) -> Finding:
    info = next((p for p in POLICIES if p.id == policy), None)
    runbook = info.runbook if info else ""
    return Finding(
        policy=policy, title=info.title if info else "Input could not be read",
        severity=info.severity if info else "high", status=status,  # type: ignore[arg-type]
        environment=env, side=side,  # type: ignore[arg-type]
        resource=ResourceRef(kind=kind, name=name, namespace=namespace, source="helm"),
        item=item, message=message,
        location=FindingLocation(file=file, line=line) if file else None,
        runbook=runbook, runbook_url=SITE + runbook if info and link else None,
        remediation=Remediation(text=f"Fix {name}.", commands=commands or []),
        fingerprint=fingerprint(policy, env, kind, namespace, name, item),
    )


def default_findings() -> list[Finding]:
    return [
        # prod: the same defect declared (located) and live (not located)
        finding("liveness-probe", "fail", "prod", "api", item="web",
                file="helm/chess-ai/templates/deployment.yaml", line=42,
                message="container web has no livenessProbe",
                commands=["helm upgrade chess-ai helm/chess-ai -n chess-ai",
                          "kubectl -n chess-ai rollout status deployment/api"]),
        finding("liveness-probe", "fail", "prod", "api", item="web", side="live",
                message="container web has no livenessProbe (live)"),
        finding("hpa-present", "fail", "prod", "worker", side="live",
                message="no HPA targets worker", commands=["kubectl get hpa -n chess-ai"]),
        finding("memory-limits", "unknown", "prod", SCRIPT, file="helm/values.yaml",
                message="memory limit comes from an unset value"),
        # staging
        finding("hpa-present", "fail", "staging", SCRIPT, file="helm/values-staging.yaml",
                line=7, message=LONG_MESSAGE, commands=["echo ```; kubectl get hpa"]),
        finding("rds-backups", "error", "staging", "db", kind="aws_db_instance",
                namespace=None, side="live", link=False, message="AccessDenied on rds"),
        Finding(policy=INPUT_ERROR, title="Input could not be read", severity="high",
                status="error", environment="staging", side="declared",
                resource=ResourceRef(kind="File", name="terraform/main.tf", source="terraform"),
                item=None, message="terraform/main.tf:3: unexpected '}'",
                location=FindingLocation(file="terraform/main.tf", line=3), runbook="",
                remediation=Remediation(text="Fix the file."),
                fingerprint=fingerprint(INPUT_ERROR, "staging", "File", None,
                                        "terraform/main.tf", None)),
    ]


def passed_check(policy: str, env: str, kind: str, name: str, item: str | None = None,
                 namespace: str | None = "chess-ai") -> PassedCheck:
    return PassedCheck(policy=policy, environment=env, side="declared",
                       resource=ResourceRef(kind=kind, name=name, namespace=namespace,
                                            source="helm chart helm/chess-ai"),
                       item=item, fingerprint=fingerprint(policy, env, kind, namespace, name,
                                                          item))


def default_passed() -> list[PassedCheck]:
    return [passed_check("hpa-present", "prod", "Deployment", "api"),
            passed_check("hpa-present", "staging", "Deployment", "api"),
            passed_check("log-retention", "prod", "HelmValues", "chess-ai"),
            passed_check("memory-limits", "prod", "Deployment", "api", item="web")]


def make_report(findings: list[Finding] | None = None, *,
                passes: dict[str, int] | None = None, passed: list[PassedCheck] | None = None,
                **fields: Any) -> Report:
    findings = default_findings() if findings is None else findings
    if passed is None:
        passed = default_passed() if passes is None else []
    if passes is None:
        passes = {}
        for p in passed:
            passes[p.policy] = passes.get(p.policy, 0) + 1
    by_status: dict[str, int] = {s: sum(1 for f in findings if f.status == s) for s in STATUSES}
    by_status["pass"] = sum(passes.values())
    summary = Summary(
        by_status=by_status,
        by_severity={s: sum(1 for f in findings if f.status == "fail" and f.severity == s)
                     for s in SEVERITIES},
        passes=passes)
    values: dict[str, Any] = {
        "generated_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "tool": {"name": "runbook-auditor", "version": "0.1.0"},
        "service": "chess-ai", "environments": ["prod", "staging"],
        "summary": summary, "findings": findings, "policies": POLICIES, "passed": passed,
    } | fields
    return Report(**values)


@pytest.fixture
def report_factory() -> Callable[..., Report]:
    """``report_factory(findings=None, passes=None, **report_fields)``: the default report,
    or one with other findings, pass counts or top-level fields."""
    return make_report


@pytest.fixture
def report() -> Report:
    return make_report()


@pytest.fixture
def finding_factory() -> Callable[..., Finding]:
    """``finding_factory(policy, status, env, name, **options)``: one finding."""
    return finding
