"""The command line: parse options, call one function, print, exit. No logic here.

Implementation modules are imported inside the commands so ``auditor --help`` stays fast
and never imports the cloud SDKs.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import click

from auditor import __version__
from auditor.errors import AuditorError, ConfigError, ExitCode, InputError

if TYPE_CHECKING:
    from datetime import datetime

    from auditor.config import Config
    from auditor.models import Report
    from auditor.outcome import OutcomeOptions
    from auditor.selection import Selection
    from auditor.triage import Triage

FORMATS = ("table", "json", "sarif", "markdown", "junit", "github")
SEVERITIES = ("low", "medium", "high", "critical")  # models.SEVERITIES: not imported for --help
THRESHOLDS = (*SEVERITIES, "never")
GC_YOUNG = 20_000


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
    # A fleet's report is ~100k small objects, none of them cyclic: with the default
    # threshold (700) the collector walks the whole heap again and again, a third of a
    # warm run. Larger young generations keep the collector for what it is for.
    gc.set_threshold(GC_YOUNG, 20, 20)
    try:
        cli.main(args=list(args) if args is not None else None)
    except Exception as exc:  # the last guard, by design
        try:
            shown = " ".join(repr(exc).splitlines())
        except Exception:  # a repr that fails must not hide the error
            shown = type(exc).__name__
        _say(f"error: internal error: {shown} (please report this)", err=True)
        sys.exit(ExitCode.CANNOT_START)


def _say(text: str, err: bool = False, nl: bool = True) -> None:
    """Text for a person at a terminal: what came from the inputs cannot send control
    sequences (see auditor.terminal)."""
    from auditor.terminal import visible_lines

    click.echo(visible_lines(text), err=err, nl=nl)


def _no_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from auditor import cache

        cache.disable()


def _config_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                     help="Environments evaluated at once, each in a worker process; the "
                     "report is the same in any case. [default: the number of cores]")(f)
    f = click.option("--no-cache", is_flag=True, expose_value=False, callback=_no_cache,
                     help="Neither read nor write the parse cache (in $XDG_CACHE_HOME/"
                     "runbook-auditor, or $AUDITOR_CACHE_DIR).")(f)
    f = click.option("--env", "envs", multiple=True, metavar="NAME",
                     help="Environment to audit (repeatable). [default: all]")(f)
    return click.option(
        "--config", "config_path", metavar="FILE",
        help="auditor.yaml, or a directory holding one. [default: ./auditor.yaml]")(f)


def _jobs(given: int | None) -> int:
    from auditor.parallel import cores

    return given or cores()


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from auditor.checks.clock import parse_time

    moment = parse_time(value)
    if moment is None:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time")
    return moment


def _report_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options every reporting command shares (an option bundle, as MkDocs does)."""
    for option in reversed([
        click.option("--format", "fmt", type=click.Choice(FORMATS),
                     help="Output format. [default: table on a terminal, else json]"),
        click.option("--output", type=click.Path(dir_okay=False, writable=True),
                     metavar="FILE", help="Write the report here instead of standard output."),
        click.option("--fail-on", type=click.Choice(THRESHOLDS), default="high",
                     show_default=True,
                     help="Exit 1 when a check fails at or above this severity."),
        click.option("--policies", "policy_dirs", multiple=True, metavar="DIR",
                     type=click.Path(file_okay=False),
                     help="Extra policy directory (repeatable)."),
        click.option("--policy", "select_ids", multiple=True, metavar="ID",
                     help="Evaluate only this policy (an id or a glob such as 'rds-*'; "
                     "repeatable). [default: the config's policies.policy, else all]"),
        click.option("--skip-policy", "skip_ids", multiple=True, metavar="ID",
                     help="Do not evaluate this policy (id or glob; repeatable). [default: "
                     "the config's policies.skip_policy]"),
        click.option("--min-severity", type=click.Choice(SEVERITIES),
                     help="Evaluate only policies of this severity or above. [default: the "
                     "config's policies.min_severity, else all]"),
        click.option("--waivers", metavar="FILE",
                     help="Waiver file. [default: the config's `waivers`, else "
                     ".auditor-waivers.yaml beside the config, if present]"),
        click.option("--baseline", metavar="REPORT.json|DIR", multiple=True,
                     type=click.Path(),
                     help="Compare with this JSON report (or a directory of them, or "
                     "repeated: e.g. a nightly run's per-environment reports): only new "
                     "findings fail the gate."),
        click.option("--source-url", metavar="URL",
                     help="Prefix for file:line links (e.g. https://github.com/o/r/blob/SHA/). "
                     "[default: from GitHub Actions' variables, if set]"),
        click.option("--quiet", "-q", is_flag=True,
                     help="Table: one line per failing finding. No progress display."),
        click.option("--verbose", "-v", is_flag=True, help="Table: the passed checks too."),
        click.option("--no-color", is_flag=True,
                     help="No colour on a terminal (also: the NO_COLOR variable)."),
        click.option("--now", metavar="TIME", callback=_moment,
                     help="Judge as of this moment (ISO 8601, e.g. 2026-12-24T09:00Z): "
                     "waiver expiry, certificate and backup ages. [default: the clock; "
                     "for a --live snapshot, when it was recorded]"),
    ]):
        f = option(f)
    return _config_options(f)


@cli.command()
@_report_options
@click.option("--base-ref", metavar="REF",
              help="Compare with the same config where this branch left REF (their merge "
              "base; checked out in a temporary worktree): only new findings fail the gate.")
def scan(config_path: str | None, envs: tuple[str, ...], fmt: str | None, output: str | None,
         fail_on: str, policy_dirs: tuple[str, ...], waivers: str | None,
         baseline: tuple[str, ...], source_url: str | None, now: datetime | None,
         base_ref: str | None, jobs: int | None, select_ids: tuple[str, ...],
         skip_ids: tuple[str, ...], min_severity: str | None, quiet: bool, verbose: bool,
         no_color: bool) -> None:
    """Audit declared config (Helm, manifests, Terraform): no credentials, no network.

    Exit codes: 0 nothing failed at or above --fail-on; 1 something did; 2 the audit could
    not start; 3 the audit is incomplete (some input or check errored). With --baseline or
    --base-ref, only new findings count; waived findings never do.
    """
    from auditor import config, pipeline
    from auditor.outcome import OutcomeOptions

    if baseline and base_ref:
        raise click.UsageError("give --baseline or --base-ref, not both")
    _report(pipeline.scan, config.load(config_path),
            pipeline.ScanOptions(environments=envs, now=now, jobs=_jobs(jobs)), fmt, output,
            fail_on, policy_dirs, OutcomeOptions(waivers, baseline, base_ref, source_url, now),
            _selection(select_ids, skip_ids, min_severity), _view(quiet, verbose, no_color))


@cli.command()
@_report_options
@click.option("--section", metavar="SECTION",
              help="Triage one runbook section: only the policies that guard it, only the "
              "live kinds they read; then its commands with the real names. Its anchor "
              "(scale-up-pods, page/#anchor) or title.")
@click.option("--live", "live_file", type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="Audit against a recorded snapshot instead of the APIs.")
def audit(config_path: str | None, envs: tuple[str, ...], fmt: str | None,
          output: str | None, fail_on: str, policy_dirs: tuple[str, ...],
          waivers: str | None, baseline: tuple[str, ...], source_url: str | None,
          now: datetime | None, live_file: str | None, quiet: bool, jobs: int | None,
          select_ids: tuple[str, ...], skip_ids: tuple[str, ...],
          min_severity: str | None, verbose: bool, no_color: bool,
          section: str | None) -> None:
    """Audit declared config, the live state (read-only) and the drift between them.

    Live state comes from the Kubernetes API, AWS and TLS endpoints named in the config,
    or from a snapshot (--live). Same exit codes as scan; an API that could not be read
    makes the checks that need it `error` (exit 3 when nothing failed).
    """
    from auditor import config, pipeline
    from auditor.outcome import OutcomeOptions

    options = pipeline.ScanOptions(environments=envs,
                                   live_file=FsPath(live_file) if live_file else None,
                                   progress=_progress(quiet), now=now, jobs=_jobs(jobs))
    _report(pipeline.audit, config.load(config_path), options, fmt, output, fail_on,
            policy_dirs, OutcomeOptions(waivers, baseline, None, source_url, now),
            _selection(select_ids, skip_ids, min_severity), _view(quiet, verbose, no_color),
            section)


@cli.command()
@_config_options
@click.option("--policy", "select_ids", multiple=True, metavar="ID",
              help="Only the findings of this policy (id or glob; repeatable).")
@click.option("--write", is_flag=True, help="Apply the diff to the files instead of printing "
              "it.")
@click.option("--force", is_flag=True, help="With --write: also change a file that has "
              "changes git has not committed.")
@click.option("--adopt-live", is_flag=True, help="Write the live value of each drifted "
              "field into the line of Git that declares it (the incident's change, made "
              "durable), instead of the declared findings' values.")
@click.option("--live", "live_file", type=click.Path(dir_okay=False, exists=True),
              metavar="SNAPSHOT", help="With --adopt-live: the live state from a snapshot "
              "(auditor snapshot) instead of the live APIs.")
@click.option("--waivers", metavar="FILE", help="Waiver file (as for scan): what it waives "
              "is not changed.")
def fix(config_path: str | None, envs: tuple[str, ...], jobs: int | None,
        select_ids: tuple[str, ...], write: bool, force: bool, adopt_live: bool,
        live_file: str | None, waivers: str | None) -> None:
    """Print (or, with --write, apply) the change to the team's own files that resolves
    the declared findings whose remedy is a value: in the values file and key, or at the
    Terraform line, that sets it; where nothing sets it yet, as a key the chart reads in
    the environment's values file, or an argument of the environment's module call. Every
    other byte of each file is kept. Each edit is kept only if a scan of a copy with it
    shows its findings gone and nothing new; what is not edited says why. Nothing live
    is changed."""
    from auditor import config as config_mod
    from auditor import fixes, output, pipeline, policies
    from auditor.outcome import OutcomeOptions, finish

    config = config_mod.load(config_path)
    if absent := config.absent(envs):
        raise ConfigError(*absent)
    pack = policies.load_checked([])
    pipeline.validate_params(config, pack)
    chosen, _ = _selection(select_ids, (), None).choose(pack, config)
    if live_file and not adopt_live:
        raise click.UsageError("--live is for --adopt-live")
    options = pipeline.ScanOptions(environments=envs, jobs=_jobs(jobs),
                                   live_file=FsPath(live_file) if live_file else None)
    run = pipeline.audit if adopt_live else pipeline.scan
    report = run(config, chosen, options)
    # Waivers and inline suppressions: what the team accepted is not changed.
    finish(report, config, pack, run, options, OutcomeOptions(waivers, (), None, None, None))
    # Each edit is checked by scanning a copy with it, under every policy the config runs.
    everything, _ = _selection((), (), None).choose(pack, config)
    edits, skips, changes = fixes.plan(config, report, "drift" if adopt_live else "declared",
                                       everything)
    for s in skips:
        _say(f"not fixed: {s.finding.policy} {s.finding.resource.ident}: {s.why}", err=True)
    if not write:
        if changes:  # a patch for `git apply`; escaped only for a terminal
            text = fixes.diff(changes)
            if sys.stdout.isatty():
                _say(text, nl=False)
            else:
                click.echo(text, nl=False)
        _say(f"{len(edits)} line(s) in {len(changes)} file(s) would change"
             + (" (--write applies them)" if edits else ""), err=True)
        sys.exit(ExitCode.OK)
    unclean = [] if force else fixes.dirty(config, list(changes))
    if unclean:
        raise ConfigError(*(f"{f}: {why}: commit or stash them, or give --force"
                            for f, why in unclean))
    for file, (_, new) in changes.items():
        output.write(fixes.target(config, file), new)
    _say(f"fixed {sum(len(e.findings) for e in edits)} finding(s): {len(edits)} line(s) in "
         f"{len(changes)} file(s)", err=True)
    sys.exit(ExitCode.OK)


@cli.command()
@_config_options
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True),
              metavar="FILE", help="Where to write the snapshot (JSON).")
@click.option("--quiet", is_flag=True, help="No progress display.")
def snapshot(config_path: str | None, envs: tuple[str, ...], output: str, quiet: bool,
             jobs: int | None) -> None:
    """Record the live state (redacted: no secret values) for `audit --live`."""
    from auditor import config as config_mod
    from auditor import pipeline
    from auditor import snapshot as snapshot_mod

    config = config_mod.load(config_path)
    _refuse_inputs(output, config)
    state = pipeline.snapshot_state(config, pipeline.ScanOptions(
        environments=envs, progress=_progress(quiet), jobs=_jobs(jobs)))
    # Owner-only (0600): a snapshot describes the production estate.
    snapshot_mod.write(FsPath(output), snapshot_mod.dump(config.service, state))
    unread = sum(len(c.unavailable) for c in state.values())
    _say(f"snapshot written to {output}"
               + (f" ({unread} kinds could not be read)" if unread else ""), err=True)
    sys.exit(ExitCode.INCOMPLETE if unread else ExitCode.OK)


def _selection(select_ids: tuple[str, ...], skip_ids: tuple[str, ...],
               min_severity: str | None) -> Selection:
    from auditor.selection import Selection

    return Selection(select_ids, skip_ids, min_severity)  # type: ignore[arg-type]


def _view(quiet: bool, verbose: bool, no_color: bool) -> dict[str, Any]:
    if quiet and verbose:
        raise click.UsageError("give --quiet or --verbose, not both")
    return {"detail": "quiet" if quiet else "verbose" if verbose else "normal",
            "no_color": no_color}


def _report(run: Callable[..., Report], config: Config, options: Any,
            fmt: str | None, output: str | None, fail_on: str,
            policy_dirs: tuple[str, ...], outcome: OutcomeOptions,
            selection: Selection | None = None, view: dict[str, Any] | None = None,
            section: str | None = None) -> None:
    from auditor import pipeline, policies
    from auditor.outcome import finish
    from auditor.report import gate

    if output:
        _refuse_inputs(output, config, policy_dirs, outcome.waivers, outcome.baseline,
                       options.live_file)
    if absent := config.absent(options.environments):
        raise ConfigError(*absent)
    pack = policies.load_checked([FsPath(d) for d in policy_dirs])
    pipeline.validate_params(config, pack)
    selection = selection or _selection((), (), None)
    triage = None
    if section is not None:
        from auditor import triage as triage_mod

        if selection.policy:
            raise click.UsageError("give --section or --policy, not both")
        triage = triage_mod.resolve(config, pack, section)
        selection = dataclasses.replace(selection, policy=triage.policies)
        options = dataclasses.replace(options, kinds=triage.kinds)
    chosen, selected = selection.choose(pack, config)
    if triage is not None and selected is not None:
        selected.section = triage.section.ref
    report = run(config, chosen, options)
    report.selection = selected
    finish(report, config, pack, run, options, outcome)
    code = gate(report, fail_on)  # decided before rendering, so every format can say it
    _emit(report, fmt, output, view or {})
    if triage is not None:
        terminal = sys.stdout.isatty() and not output
        _commands(triage, config, report, (fmt or ("table" if terminal else "json")) == "table"
                  and not output)
    sys.exit(code)


def _commands(triage: Triage, config: Config, report: Report, table: bool) -> None:
    """The section's commands with the environment's real names, after its findings (on
    stderr when stdout holds a machine-readable report)."""
    from auditor.site.pages import names_for
    from auditor.triage import fill

    lines = []
    envs: list[str | None] = [*report.environments] or [None]
    for env in envs:  # each environment's own names
        names = names_for(config, env)
        lines += [f"\nCommands of {triage.section.label} ({triage.section.ref})"
                  + (f", {env}:" if env and len(report.environments) > 1 else ":")]
        lines += [f"  {fill(c, names)}" for c in triage.commands] or ["  (none in the runbook)"]
    _say("\n".join(lines), err=not table)


def _refuse_inputs(output: str, config: Config, policy_dirs: Sequence[str] = (),
                   waivers: str | None = None, baseline: Sequence[str] = (),
                   live_file: FsPath | None = None) -> None:
    """Exit 2 before anything runs when --output would replace one of the run's inputs."""
    from auditor.output import refuse_inputs

    files, dirs = config.inputs()
    files += [FsPath(p) for p in (waivers, live_file) if p]
    for given in map(FsPath, baseline):  # a history folder may take the new report
        files += sorted(given.rglob("*.json")) if given.is_dir() else [given]
    refuse_inputs(output, files, [*dirs, *map(FsPath, policy_dirs)])


def _emit(report: Report, fmt: str | None, output: str | None,
          view: dict[str, Any] | None = None) -> None:
    from auditor.formats import renderer, streamer

    terminal = sys.stdout.isatty() and not output
    chosen = fmt or ("table" if terminal else "json")
    colour = False
    text: str | bytes | Iterable[bytes]
    if chosen == "table":
        import shutil

        from auditor.formats.table_format import Style, render

        view = view or {}
        colour = terminal and not view.get("no_color") and not os.environ.get("NO_COLOR")
        text = render(report, Style(
            width=max(shutil.get_terminal_size().columns, 60) if terminal else None,
            colour=colour, detail=view.get("detail", "normal")))
    elif (pieces := streamer(chosen)) is not None:
        # In pieces: a fleet's report is tens of MB, never held whole beside the report.
        text = pieces(report)
    else:
        text = renderer(chosen)(report)
    if output:
        _write(output, text)
        return
    try:
        if not isinstance(text, str | bytes):
            from auditor.output import put

            sys.stdout.flush()
            put(sys.stdout.buffer, text)
            sys.stdout.buffer.flush()
        elif chosen == "github" or (chosen == "table" and colour):
            # Each escapes what it holds itself; a coloured table on a terminal too (its
            # own colour codes are the only control sequences left in it).
            click.echo(text, nl=False)
        else:
            assert isinstance(text, str), "a format for people renders text"
            _say(text, nl=False)
    except BrokenPipeError:
        # The reader stopped reading (`| head`): it has what it wanted, and the gate still
        # decides the exit code. Nothing more may reach the closed pipe, even at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        raise AuditorError(f"cannot write the report to standard output: "
                           f"{exc.strerror or exc}") from None


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--config", "config_path", metavar="FILE",
              help="auditor.yaml, or a directory holding one. [default: ./auditor.yaml]")
@click.option("--fail-on", type=click.Choice(THRESHOLDS), default="high", show_default=True,
              help="Exit 1 when a check fails at or above this severity.")
@click.option("--waivers", metavar="FILE", help="Waiver file (as for scan).")
@click.option("--policies", "policy_dirs", multiple=True, metavar="DIR",
              type=click.Path(file_okay=False), help="Extra policy directory (repeatable).")
@click.option("--all", "gate_all", is_flag=True,
              help="Gate on every finding, not only on those the change adds.")
def precommit(files: tuple[str, ...], config_path: str | None, fail_on: str,
              waivers: str | None, policy_dirs: tuple[str, ...], gate_all: bool) -> None:
    """For a pre-commit hook: scan the environments whose charts, values, manifests or
    Terraform include FILES (the changed files), comparing with HEAD: only findings the
    change adds fail. Exit 0 at once when no environment reads FILES."""
    from auditor import config as config_mod
    from auditor import pipeline
    from auditor.outcome import OutcomeOptions
    from auditor.precommit import affected, base_ref

    config = config_mod.load(config_path)
    envs = affected(config, files, waivers)
    if not envs:
        sys.exit(ExitCode.OK)
    ref = None if gate_all else base_ref(config)
    _report(pipeline.scan, config, pipeline.ScanOptions(environments=tuple(envs),
                                                        jobs=_jobs(None)),
            "table", None, fail_on, policy_dirs, OutcomeOptions(waivers, (), ref, ""))


@cli.command(name="report")
@click.argument("report_file", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format. [default: table on a terminal, else json]")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write here instead of standard output.")
@click.option("--exit-code", is_flag=True,
              help="Exit with the code the report's gate recorded (exit 2 for a report "
              "that was not gated).")
def report_cmd(report_file: str, fmt: str | None, output: str | None, exit_code: bool) -> None:
    """Render a saved JSON report in another format: one scan, several outputs (SARIF,
    a PR comment, annotations) in CI."""
    from auditor.report_file import read_report

    if output:
        from auditor.output import refuse_inputs

        refuse_inputs(output, [FsPath(report_file)])
    report = read_report(report_file)
    if exit_code and report.gate is None:  # nothing decided: never a silent pass
        raise InputError(f"{report_file}: the report was not gated (written by an older "
                         "auditor?): --exit-code has no code to give")
    _emit(report, fmt, output)
    sys.exit(report.gate.exit_code if exit_code and report.gate else ExitCode.OK)


def _write(output: str, text: str | bytes | Iterable[bytes]) -> None:
    from auditor import output as output_mod

    output_mod.write(FsPath(output), text)


def _progress(quiet: bool) -> Callable[[str], None]:
    """Progress lines on a terminal's stderr; silent in CI logs and with --quiet."""
    if quiet or not sys.stderr.isatty():
        return lambda _: None
    return lambda line: _say(f"  {line}", err=True)


@cli.command()
@click.argument("directory", required=False, default=".",
                type=click.Path(exists=True, file_okay=False))
@click.option("--service", help="The service's name. [default: the directory's]")
@click.option("--stdout", "to_stdout", is_flag=True,
              help="Print the config instead of writing DIRECTORY/auditor.yaml.")
@click.option("--runbook", "with_runbook", is_flag=True,
              help="Also start a runbook in DIRECTORY/runbook/ from the standard sections "
              "(one per failure cause the checks guard against), for the team to fill in.")
def init(directory: str, service: str | None, to_stdout: bool, with_runbook: bool) -> None:
    """Write a first auditor.yaml: the charts, per-environment values files, Terraform roots
    and tfvars found under DIRECTORY. Never overwrites a file."""
    from auditor import init as init_mod
    from auditor import runbook_template
    from auditor.config import DEFAULT_NAME, load
    from auditor.policies import load_all

    root = FsPath(directory)
    text = init_mod.render(root, service, runbook="runbook" if with_runbook else None)
    if to_stdout:
        click.echo(text, nl=False)
        return
    target = root / DEFAULT_NAME
    if os.path.lexists(target):
        raise InputError(f"{target}: already exists; not overwritten (use --stdout to see "
                         "what init would write)")
    if with_runbook:
        if os.path.lexists(root / "runbook"):
            raise InputError(f"{root / 'runbook'}: already exists; not overwritten")
        runbook_template.write(load_all([]), root / "runbook")
    _write(str(target), text)
    load(str(target))  # what init wrote must load: a bug here is ours, said at once
    _say(f"wrote {target}: run `auditor scan --config {target}`", err=True)


@cli.group(name="policies")
def policies_group() -> None:
    """List, show and validate policies."""


@policies_group.command(name="list")
@click.option("--policies", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
              metavar="DIR", help="Extra policy directory (repeatable).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="json: one object per policy, for scripts.")
@click.option("--severity", multiple=True, type=click.Choice(SEVERITIES),
              help="Only policies of this severity (repeatable).")
@click.option("--side", "sides", multiple=True, type=click.Choice(("declared", "live", "drift")),
              help="Only policies checked on this side (repeatable).")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only policies that read this kind, e.g. Deployment, DBInstance "
              "(repeatable; any case).")
def policies_list(policy_dirs: tuple[str, ...], fmt: str, severity: tuple[str, ...],
                  sides: tuple[str, ...], kinds: tuple[str, ...]) -> None:
    """One line per policy: id, severity, sides, runbook section (or JSON)."""
    import json

    from auditor import policies
    from auditor.policy_list import described, matching

    found = matching(policies.load_all([FsPath(d) for d in policy_dirs]), severity, sides,
                     kinds)
    if fmt == "json":  # escaped by the encoder; nothing here reaches a terminal raw
        click.echo(json.dumps([described(p) for p in found], indent=2, default=str))
        return
    for p in found:
        _say(f"{p.id:28} {p.severity:9} {'+'.join(p.sides):14} {p.runbook.section}")


@policies_group.command(name="show")
@click.argument("policy_id")
@click.option("--policies", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
              metavar="DIR", help="Extra policy directory (repeatable).")
def policies_show(policy_id: str, policy_dirs: tuple[str, ...]) -> None:
    """Everything about one policy: what it applies to, its condition, its parameters, and
    its message and remediation rendered with the defaults (<...>: what a scan fills in)."""
    import shutil

    from auditor import policies
    from auditor.policy_show import show

    found = {p.id: p for p in policies.load_all([FsPath(d) for d in policy_dirs])}
    if policy_id not in found:
        raise click.UsageError(f"no policy {policy_id!r} (see `auditor policies list`)")
    width = (min(max(shutil.get_terminal_size().columns, 72), 120) if sys.stdout.isatty()
             else 100)
    _say(show(found[policy_id], width), nl=False)


@policies_group.command(name="validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def policies_validate(directory: str | None) -> None:
    """Validate policy files (against schemas/policy.schema.json, then as a scan loads them)
    and run their pass/fail examples (default: the built-in pack)."""
    from auditor import policies
    from auditor.examples import run_examples
    from auditor.policy_schema import check_dir

    target = FsPath(directory) if directory else policies.PACK_DIR
    loaded, problems = check_dir(target)
    if target.resolve() != policies.PACK_DIR.resolve():  # a scan would refuse a clash
        pack = {p.id: p.file for p in policies.load_dir(policies.PACK_DIR)}
        problems += [f"{p.file}: id: {p.id!r} is already defined in {pack[p.id]}"
                     for p in loaded if p.id in pack]
    if not problems:  # examples run once every file is valid
        problems = [msg for p in loaded for msg in run_examples(p)]
    for msg in problems:
        _say(f"error: {msg}", err=True)
    if problems:
        sys.exit(ExitCode.CANNOT_START)
    _say(f"{len(loaded)} policies valid in {target}, all examples behave as declared")


def _site_options(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed([
        click.option("--config", "config_path", metavar="FILE",
                     help="auditor.yaml, or a directory holding one: names for the commands. "
                     "[default: ./auditor.yaml if present]"),
        click.option("--report", "reports", multiple=True, metavar="REPORT.json|DIR",
                     type=click.Path(),
                     help="A JSON report (`--format json`), or a directory of them; repeat "
                     "for history and fleets: the newest report of each environment is "
                     "current."),
        click.option("--output", default="build/site", show_default=True, metavar="DIR",
                     type=click.Path(file_okay=False), help="Where to build the site."),
    ]):
        f = option(f)
    return f


@cli.group(name="site")
def site_group() -> None:
    """Build and preview the runbook site, annotated with the reports' findings."""


@site_group.command(name="build")
@_site_options
def site_build(config_path: str | None, reports: tuple[str, ...], output: str) -> None:
    """Render site/ and the reports into an MkDocs site (strict; exit 2 on any warning)."""
    from auditor.site.build import SiteOptions, build_site

    built = build_site(SiteOptions(config_path, reports, output, _progress(False)))
    _say(f"site built in {built.output} ({built.pages} pages, {built.reports} reports, "
               f"{built.findings} current findings); open {built.output / 'index.html'} "
               "through `auditor site serve`")


@site_group.command(name="serve")
@_site_options
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1.")
def site_serve(config_path: str | None, reports: tuple[str, ...], output: str,
               port: int) -> None:
    """Build the site, then serve it on 127.0.0.1 until interrupted."""
    import contextlib

    from auditor.site.build import SiteOptions, build_site
    from auditor.site.serve import make_server, url

    built = build_site(SiteOptions(config_path, reports, output, _progress(False)))
    try:
        server = make_server(built.output, port)
    except OSError as exc:
        raise AuditorError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}") from None
    _say(f"serving {built.output} at {url(server)} (Ctrl-C to stop)", err=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
