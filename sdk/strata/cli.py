"""The ``strata`` command.

Data-scientist commands need only this package. Platform commands (``validate``, ``capacity``, ``plan-json``, ``local``)
plug in through the ``strata.commands`` entry point of the platform install (``tools.cli``); without it, they explain how to
get it instead of failing with an import error.
"""

from __future__ import annotations

import os
from importlib import metadata
from importlib.metadata import entry_points

import typer
from rich.markup import escape
from rich.text import Text

from strata import __version__, kubeconfig, profiles, warehouse_cli
from strata import doctor as checkup
from strata.output import console, platform_hint, python_command
from strata.serve import cli as serve_cli

app = typer.Typer(
    help="Strata: your team's ML platform. `strata configure` installs your Metaflow profile.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = console(stderr=True)
out = console()
app.add_typer(warehouse_cli.app, name="warehouse")
app.add_typer(serve_cli.app, name="serve")

SDK_DISTRIBUTION = "strata-sdk"
PLATFORM_DISTRIBUTION = "strata-platform"
PLATFORM_COMMANDS = ("validate", "capacity", "plan-json", "manifests", "cost", "diagram", "local")


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_lines() -> list[str]:
    """The SDK's version, the platform's (when installed) and Metaflow's: what a bug report needs."""
    platform = _installed(PLATFORM_DISTRIBUTION)
    return [
        f"{SDK_DISTRIBUTION} {_installed(SDK_DISTRIBUTION) or __version__}",
        f"{PLATFORM_DISTRIBUTION} {platform}" if platform else f"{PLATFORM_DISTRIBUTION}: not installed (SDK only)",
        f"metaflow {_installed('metaflow') or 'not installed'}",
    ]


def _print_version(value: bool) -> None:
    if value:
        for line in version_lines():
            out.print(line, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the SDK and platform versions and exit."
    ),
) -> None:
    pass


@app.command()
def configure(
    env: str = typer.Option(..., "--env", "-e", help="Environment, e.g. dev or prod."),
    team: str = typer.Option(..., "--team", "-t", help="Your team, e.g. fraud."),
    region: str = typer.Option(None, help="AWS region (default: your AWS configuration)."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing, different profile file (and kubeconfig context of the same name)."
    ),
) -> None:
    """Fetch your team's Metaflow profile with your AWS credentials and install it (and, where the environment
    has the Kubernetes layer, your team's kubeconfig context)."""
    try:
        profile = profiles.with_api_key(profiles.fetch_profile(env, team, region), env, team, region)
        # Planned first: a kubeconfig conflict refuses before the profile file is touched.
        kube_plan = kubeconfig.plan(profile, env, team, force=force)
        installed = profiles.install_profile(profile, env, team, force=force)
        kube = kube_plan.write() if kube_plan else None
    except profiles.ProfileProblem as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    name = profiles.profile_name(env, team)
    verb = "installed" if installed.changed else "already up to date:"
    out.print(f"{verb} {installed.path}", highlight=False)
    if kube is not None:
        _print_kubeconfig(kube)
    out.print(f"use it with: [bold]METAFLOW_PROFILE={name} {python_command()} flow.py run[/bold]", highlight=False)
    # The profile is the team's (one SSM parameter for everyone): it must not name a user, or every run
    # would land in one person's namespace. A shell without a user name is warned about instead.
    if profiles.metaflow_user(os.environ) is None:
        err.print(f"[yellow]note:[/yellow] {profiles.no_user_hint()}", highlight=False)


def _print_kubeconfig(kube: kubeconfig.KubeInstalled) -> None:
    """What configure did to the kubeconfig, and what kubectl and Metaflow will use."""
    if not kube.changed:
        out.print(f"kubeconfig context {kube.context} already up to date in {kube.path}", highlight=False)
    elif kube.replaced:
        out.print(f"kubeconfig: replaced {', '.join(kube.replaced)} in {kube.path} (--force)", highlight=False)
    else:
        out.print(f"kubeconfig: added context {kube.context} (namespace {kube.namespace}) to {kube.path}", highlight=False)
    if kube.current_context_set:
        out.print(f"kubeconfig: current context is now {kube.context}", highlight=False)
    elif kube.current_context != kube.context:
        # Metaflow uses the current context; another cluster's context stays current until the user switches.
        err.print(
            f"[yellow]note:[/yellow] your current kubeconfig context is {kube.current_context}; Metaflow's @kubernetes and "
            f"argo-workflows use the current context: switch with [bold]kubectl config use-context {kube.context}[/bold]",
            highlight=False,
        )
    err.print(
        "[yellow]note:[/yellow] the context gets its token from `aws eks get-token` with your AWS credentials at the time "
        "kubectl or Metaflow runs: they must be your team's data-scientist role, and the cluster's API endpoint must be "
        "reachable from here (a private endpoint: VPN or a runner in the VPC; see modules/kubernetes/README.md, 'Reaching the API')",
        highlight=False,
    )
    if kubeconfig.aws_cli_missing():
        err.print("[yellow]note:[/yellow] no `aws` command on PATH: install the AWS CLI v2 for that token", highlight=False)


@app.command()
def doctor(
    env: str = typer.Option(None, "--env", "-e", help="Environment, e.g. dev (with --team)."),
    team: str = typer.Option(None, "--team", "-t", help="Your team, e.g. fraud (with --env)."),
    profile: str = typer.Option(
        None, "--profile", "-p", help="Profile to check (default: --env/--team, else $METAFLOW_PROFILE)."
    ),
) -> None:
    """Check, with your own AWS credentials, that Metaflow can run here with your team's profile: the profile file and
    the published one, your role, the datastore, job queues, the roles Metaflow passes, the metadata service, Step
    Functions, Kubernetes and the warehouse. One line per check; exit 1 on any failure (docs/doctor.md)."""
    try:
        name, env_name, team_name = checkup.resolve_profile(profile, env, team)
    except checkup.UsageError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    results = checkup.diagnose(name, env_name, team_name)
    styles = {checkup.PASS: "green", checkup.FAIL: "red", checkup.SKIP: "yellow"}
    for result in results:
        out.print(Text.assemble((result.status, styles[result.status]), result.line()[len(result.status) :]), highlight=False)
    counts = {s: sum(r.status == s for r in results) for s in styles}
    tally = f"{counts[checkup.PASS]} passed, {counts[checkup.FAIL]} failed, {counts[checkup.SKIP]} skipped"
    if counts[checkup.FAIL]:
        out.print(f"[red]{counts[checkup.FAIL]} problem(s)[/red] with profile {escape(name)}: {tally}", highlight=False)
        raise typer.Exit(1)
    out.print(f"ok: Metaflow can run here with profile {escape(name)} ({tally})", highlight=False)


def _platform_missing(command: str) -> None:
    @app.command(
        command,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="(platform command: not installed here)",
    )
    def missing() -> None:
        err.print(f"[red]error:[/red] {platform_hint(command)}", highlight=False)
        raise typer.Exit(2)


def _plug_in_platform() -> None:
    """The platform package adds its commands through the ``strata.commands`` entry point (its
    pyproject.toml); the SDK imports no platform code, so it installs and runs alone."""
    plugged = False
    try:
        for plugin in entry_points(group="strata.commands"):
            plugin.load()(app)
            plugged = True
    except ImportError:  # the platform without its dependencies (e.g. moto): say how to install it
        plugged = False
    if not plugged:
        for command in PLATFORM_COMMANDS:
            _platform_missing(command)


_plug_in_platform()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
