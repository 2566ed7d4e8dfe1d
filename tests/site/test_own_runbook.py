"""A team's own runbook: its sections claim the checks that guard them; the rest get a
page of their own; without a runbook, one generated from the pack, naming no service."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

CHART = {
    "web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "web/templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: nginx:1.27.2
                  readinessProbe: {httpGet: {path: /, port: 80}}
        """,
}
OWN = {
    **CHART,
    "auditor.yaml": """
        service: web
        runbook: docs/runbook
        runbook_sections: {hpa-present: on-call/#crashes}
        environments:
          prod:
            helm: {chart: web, release: web}
        """,
    "docs/runbook/index.md": "# Web runbook\n\nCall the web team.\n",
    "docs/runbook/on-call.md": """
        # On call

        ## The pods crash { #crashes }

        {{ findings("crashes", "liveness-probe", "memory-limits") }}

        Look at `kubectl logs`.
        """,
}


def _scan(run_cli: Run, root: Path) -> dict[str, str]:
    result = run_cli("scan", "--config", str(root), "--format", "json", "--output",
                     str(root / "report.json"))
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads((root / "report.json").read_text())
    return {f["policy"]: f["runbook"] for f in report["findings"]}


def _text(html: Path) -> str:
    page = html.read_text("utf-8")
    page = page[page.find("<article"):page.find("</article>")]
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_sections_claim_checks_in_the_page_and_the_config(run_cli: Run,
                                                          project: Project) -> None:
    root = project(OWN)
    links = _scan(run_cli, root)
    assert links["liveness-probe"] == "on-call/#crashes"      # claimed in the page
    assert links["memory-limits"] == "on-call/#crashes"
    assert links["hpa-present"] == "on-call/#crashes"         # claimed in the config
    assert links["cpu-limits"] == "checks/#cpu-limits"        # claimed by no section
    out = root / "site-out"
    built = run_cli("site", "build", "--config", str(root), "--report",
                    str(root / "report.json"), "--output", str(out))
    assert built.exit_code == 0, built.stderr
    crashes = _text(out / "on-call" / "index.html")
    assert "container web of Deployment web has no livenessProbe" in crashes
    assert "no HorizontalPodAutoscaler targets it" in crashes
    other = _text(out / "checks" / "index.html")
    assert "has no CPU request or limit" in other
    assert "Call the web team." in _text(out / "index.html")


def test_a_claim_of_an_unknown_check_is_a_config_error(run_cli: Run, project: Project) -> None:
    files = {**OWN, "auditor.yaml": OWN["auditor.yaml"].replace("hpa-present", "hpa-presnet")}
    root = project(files)
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2
    assert ":3: runbook_sections.hpa-presnet: no such policy" in result.stderr


def test_without_a_runbook_the_site_shows_one_from_the_pack_naming_no_service(
        run_cli: Run, project: Project) -> None:
    root = project({**CHART, "auditor.yaml": """
        service: web
        environments:
          prod:
            helm: {chart: web, release: web}
        """})
    links = _scan(run_cli, root)
    assert links["hpa-present"] == "common-issues/high-latency/#scale-up-pods"
    out = root / "site-out"
    built = run_cli("site", "build", "--config", str(root), "--report",
                    str(root / "report.json"), "--output", str(out))
    assert built.exit_code == 0, built.stderr
    latency = _text(out / "common-issues" / "high-latency" / "index.html")
    assert "Deployment web: no HorizontalPodAutoscaler targets it" in latency
    pages = [_text(p) for p in (out / "common-issues").rglob("index.html")]
    pages += [_text(p) for p in (out / "emergency").rglob("index.html")]
    for text in pages:
        for word in ("chess", "move database", "@", "example.com", "PagerDuty", "Slack"):
            assert word.lower() not in text.lower(), (word, text[:200])


def test_init_can_start_a_runbook(run_cli: Run, project: Project) -> None:
    root = project(CHART)
    result = run_cli("init", str(root), "--runbook")
    assert result.exit_code == 0, result.stderr
    assert "runbook: runbook" in (root / "auditor.yaml").read_text()
    page = (root / "runbook" / "common-issues" / "high-latency.md").read_text()
    [claim] = [line for line in page.splitlines() if 'findings("scale-up-pods"' in line]
    assert '"hpa-present"' in claim and '"latency-alarm"' in claim
    links = _scan(run_cli, root)
    assert links["hpa-present"] == "common-issues/high-latency/#scale-up-pods"
