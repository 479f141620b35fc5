"""`strata local ...`: the local cloud commands (platform install)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from infra.config import ConfigError

app = typer.Typer(help="A whole Strata platform in a moto server on this machine.", no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True)


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
    (on Batch, then on Step Functions)."""
    from localcloud import session  # imports Pulumi: only when the command runs

    try:
        session.up(project_dir, port, team, state_dir, console, on_batch=batch, step_functions=step_functions)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc.render()}")
        raise typer.Exit(1) from None
    except session.LocalCloudError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def down(
    project_dir: Path = typer.Option(Path("."), help="The Strata repository."),
    state_dir: Path = typer.Option(None, help="As given to `up`."),
) -> None:
    """Stop the moto server that `up` started (by its recorded PID)."""
    from localcloud import session

    session.down(project_dir, state_dir, console)
