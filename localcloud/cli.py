"""`strata local ...`: the local cloud commands (platform install)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from infra.config import ConfigError
from strata.output import console as make_console
from strata.output import platform_hint, shown_path, strata_command

app = typer.Typer(help="A whole Strata platform in a moto server on this machine.", no_args_is_help=True)
console = make_console()
err = make_console(stderr=True)


def _session(needs_moto: bool = False):
    """localcloud.session, or a clear error when the platform's development dependencies (moto, Pulumi) are
    missing: the SDK alone, or `pip install -e .` without `[dev]`, has the command but not what it runs."""
    try:
        if needs_moto:  # the server's own process imports it: fail here, with the hint, not in its log
            import moto  # noqa: F401
        from localcloud import session
    except ModuleNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc.name} is not installed: {platform_hint('local')}", highlight=False)
        raise typer.Exit(2) from None
    return session


@app.command()
def up(
    port: int = typer.Option(None, help="Port for the moto server (default: a free one)."),
    team: str = typer.Option(None, help="Team to run the sample flow as (default: the first team)."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository."),
    state_dir: Path = typer.Option(None, help="Where profiles and the env file go (default: .strata/local)."),
    batch: bool = typer.Option(True, help="Run the sample flow on the team's Batch queue (jobs as local processes)."),
    step_functions: bool = typer.Option(True, help="Also deploy the sample flow to Step Functions, trigger it and wait."),
) -> None:
    """Start moto, deploy the `local` stack into it, write profiles + env file, run the sample flow
    (on Batch and, at the same time, on Step Functions); the last line says how long each phase took."""
    session = _session(needs_moto=True)
    session.use_bytecode_cache(session.paths_for(project_dir.resolve(), state_dir))
    try:
        session.up(project_dir, port, team, state_dir, console, on_batch=batch, step_functions=step_functions)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc.render()}", highlight=False)
        raise typer.Exit(1) from None
    except session.LocalCloudError as exc:
        paths = session.paths_for(project_dir.resolve(), state_dir)
        hint = f"\nthe server keeps running; its log is {shown_path(paths.log)}" if session.recorded_server(paths) else ""
        err.print(f"[red]error:[/red] {exc}{hint}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def down(
    project_dir: Path = typer.Option(Path("."), help="The Strata repository."),
    state_dir: Path = typer.Option(None, help="As given to `up`."),
    keep_logs: bool = typer.Option(False, "--keep-logs", help="Keep the server log and the jobs' scratch directories."),
) -> None:
    """Stop the moto server that `up` started (by its recorded PID) and remove its log and the jobs' scratch
    directories (under the state directory)."""
    session = _session()
    try:
        session.down(project_dir, state_dir, console, keep_logs=keep_logs)
    except session.LocalCloudError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def status(
    project_dir: Path = typer.Option(Path("."), help="The Strata repository."),
    state_dir: Path = typer.Option(None, help="As given to `up`."),
) -> None:
    """Is the local cloud running and answering? Its endpoint, PID, stack, teams, env file and log.
    Exits 1 when it is not running or not answering."""
    session = _session()
    try:
        state = session.status(project_dir, state_dir)
    except session.LocalCloudError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    record, strata = state.record, strata_command(explicit=True)
    if not state.running:
        gone = f" (the recorded server, PID {record['pid']}, has exited)" if record else ""
        err.print(f"no local cloud is running{gone}; start one with `{strata} local up`", highlight=False)
        raise typer.Exit(1)
    uptime = time.time() - float(record.get("started", time.time()))
    lines = [
        f"running: PID {record['pid']}, up {uptime / 60:.0f} min, {record['endpoint']} "
        + ("answering" if state.answering else "NOT answering"),
        f"stack: {record.get('stack', session.STACK)}; teams: {', '.join(record.get('teams', [])) or 'not deployed yet'}",
        f"env file: {shown_path(Path(record.get('env_file', state.paths.env_file)))} (source it in any shell)",
        f"server log: {shown_path(Path(record.get('log', state.paths.log)))}",
    ]
    for line in lines:
        console.print(line, highlight=False)
    if not state.answering:
        err.print(
            f"the server does not answer at {record['endpoint']}: see its log, then `{strata} local down` and "
            f"`{strata} local up`",
            highlight=False,
        )
        raise typer.Exit(1)
