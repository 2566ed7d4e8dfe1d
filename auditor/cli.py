"""The command line: parse options, call one function, print, exit. No logic here.

Implementation modules are imported inside the commands so ``auditor --help`` stays fast
and never imports the cloud SDKs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path as FsPath

import click

from auditor import __version__
from auditor.errors import AuditorError, ExitCode

FORMATS = ("table", "json", "sarif", "markdown", "junit")
THRESHOLDS = ("low", "medium", "high", "critical", "never")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runbook-auditor")
def cli() -> None:
    """Check declared (and live) config against the runbook's policies."""


def main(args: Sequence[str] | None = None) -> None:
    """The ``auditor`` console script: the CLI, with a last guard.

    Click reports its own errors (usage, :class:`AuditorError`) as one line. Anything else
    is a bug, but a traceback would exit 1, which CI reads as "findings": it is one line
    and exit 2 instead.
    """
    try:
        cli.main(args=list(args) if args is not None else None)
    except Exception as exc:  # the last guard, by design
        try:
            shown = " ".join(repr(exc).splitlines())
        except Exception:  # a repr that fails must not hide the error
            shown = type(exc).__name__
        click.echo(f"error: internal error: {shown} (please report this)", err=True)
        sys.exit(ExitCode.CANNOT_START)


@cli.command()
@click.option("--config", "config_path", metavar="FILE",
              help="auditor.yaml, or a directory holding one. [default: ./auditor.yaml]")
@click.option("--env", "envs", multiple=True, metavar="NAME",
              help="Environment to scan (repeatable). [default: all]")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format. [default: table on a terminal, else json]")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write the report here instead of standard output.")
@click.option("--fail-on", type=click.Choice(THRESHOLDS), default="high", show_default=True,
              help="Exit 1 when a check fails at or above this severity.")
@click.option("--policies", "policy_dirs", multiple=True, metavar="DIR",
              type=click.Path(file_okay=False), help="Extra policy directory (repeatable).")
def scan(config_path: str | None, envs: tuple[str, ...], fmt: str | None, output: str | None,
         fail_on: str, policy_dirs: tuple[str, ...]) -> None:
    """Audit declared config (Helm, manifests, Terraform): no credentials, no network.

    Exit codes: 0 nothing failed at or above --fail-on; 1 something did; 2 the audit could
    not start; 3 the audit is incomplete (some input or check errored).
    """
    from auditor import config as config_mod
    from auditor import pipeline, policies
    from auditor.formats import renderer
    from auditor.report import gate

    config = config_mod.load(config_path)
    pack = policies.load_all([FsPath(d) for d in policy_dirs])
    pipeline.validate_params(config, pack)
    report = pipeline.scan(config, pack, pipeline.ScanOptions(environments=envs))
    code = gate(report, fail_on)  # decided before rendering, so every format can say it
    chosen = fmt or ("table" if sys.stdout.isatty() and not output else "json")
    text = renderer(chosen)(report)
    if output:
        try:
            FsPath(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AuditorError(f"{output}: cannot write report: {exc.strerror}") from None
    else:
        click.echo(text, nl=False)
    sys.exit(code)


@cli.group(name="policies")
def policies_group() -> None:
    """List, show and validate policies."""


@policies_group.command(name="list")
@click.option("--policies", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
              metavar="DIR", help="Extra policy directory (repeatable).")
def policies_list(policy_dirs: tuple[str, ...]) -> None:
    """One line per policy: id, severity, sides, runbook section."""
    from auditor import policies

    for p in policies.load_all([FsPath(d) for d in policy_dirs]):
        click.echo(f"{p.id:28} {p.severity:9} {'+'.join(p.sides):14} {p.runbook.section}")


@policies_group.command(name="show")
@click.argument("policy_id")
@click.option("--policies", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
              metavar="DIR", help="Extra policy directory (repeatable).")
def policies_show(policy_id: str, policy_dirs: tuple[str, ...]) -> None:
    """Everything about one policy: what, why, parameters, remediation."""
    from auditor import policies

    found = {p.id: p for p in policies.load_all([FsPath(d) for d in policy_dirs])}
    if policy_id not in found:
        raise click.UsageError(f"no policy {policy_id!r} (see `auditor policies list`)")
    click.echo(policies.describe(found[policy_id]), nl=False)


@policies_group.command(name="validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def policies_validate(directory: str | None) -> None:
    """Validate policy files and run their pass/fail examples (default: the built-in pack)."""
    from auditor import policies
    from auditor.examples import run_examples

    target = FsPath(directory) if directory else policies.PACK_DIR
    loaded = policies.load_dir(target)
    problems = [msg for p in loaded for msg in run_examples(p)]
    for msg in problems:
        click.echo(f"error: {msg}", err=True)
    if problems:
        sys.exit(ExitCode.CANNOT_START)
    click.echo(f"{len(loaded)} policies valid in {target}, all examples behave as declared")
