"""Platform commands added to `strata` when the platform is installed: validate, local."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from infra.config import ConfigError, load_from_files

err = Console(stderr=True, soft_wrap=True)
out = Console()


def validate(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """Check a stack file and the team files without deploying: exit 0, or every problem on stderr."""
    if not (project_dir / "Pulumi.yaml").exists():
        err.print(f"[red]error:[/red] {project_dir.resolve()} has no Pulumi.yaml; pass --project-dir")
        raise typer.Exit(2)
    try:
        platform = load_from_files(project_dir, stack)
    except ConfigError as exc:
        err.print(exc.render(), highlight=False, markup=False)
        raise typer.Exit(1) from None
    teams = ", ".join(t.name for t in platform.teams) or "none"
    out.print(f"stack {stack!r} is valid: region {platform.region}, teams: {teams}")


def register(app: typer.Typer) -> None:
    from infra.plancli import plan_json
    from localcloud.cli import app as local_app

    app.command()(validate)
    app.command(name="plan-json")(plan_json)
    app.add_typer(local_app, name="local")
