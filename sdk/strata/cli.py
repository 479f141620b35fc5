"""The ``strata`` command.

Data-scientist commands need only this package. Platform commands (``validate``, ``local``) are
added from the platform install (``tools.cli``) when it is importable; otherwise they explain how to
get it instead of failing with an import error.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer
from rich.console import Console

from strata import profiles, warehouse_cli

app = typer.Typer(
    help="Strata: your team's ML platform. `strata configure` installs your Metaflow profile.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console()
app.add_typer(warehouse_cli.app, name="warehouse")


@app.command()
def configure(
    env: str = typer.Option(..., "--env", "-e", help="Environment, e.g. dev or prod."),
    team: str = typer.Option(..., "--team", "-t", help="Your team, e.g. fraud."),
    region: str = typer.Option(None, help="AWS region (default: your AWS configuration)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing, different profile file."),
) -> None:
    """Fetch your team's Metaflow profile with your AWS credentials and install it."""
    try:
        profile = profiles.with_api_key(profiles.fetch_profile(env, team, region), env, team, region)
        installed = profiles.install_profile(profile, env, team, force=force)
    except profiles.ProfileProblem as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    name = profiles.profile_name(env, team)
    verb = "installed" if installed.changed else "already up to date:"
    out.print(f"{verb} {installed.path}")
    out.print(f"use it with: [bold]METAFLOW_PROFILE={name} python flow.py run[/bold]")


def _platform_missing(command: str) -> None:
    @app.command(command, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def missing() -> None:
        err.print(
            f"[red]error:[/red] `strata {command}` is a platform command; install the platform "
            "(`pip install -e '.[dev]'` in the Strata repository) to use it."
        )
        raise typer.Exit(2)


# The platform's commands, shown with an install hint when only the SDK is installed.
PLATFORM_COMMANDS = ("validate", "capacity", "plan-json", "local")


def _plug_in_platform() -> None:
    """The platform package adds its commands through the ``strata.commands`` entry point (its
    pyproject.toml); the SDK imports no platform code, so it installs and runs alone."""
    plugins = entry_points(group="strata.commands")
    for plugin in plugins:
        plugin.load()(app)
    if not plugins:
        for command in PLATFORM_COMMANDS:
            _platform_missing(command)


_plug_in_platform()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
