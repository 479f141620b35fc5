"""Platform commands added to `strata` when the platform is installed: validate, capacity, plan-json, local."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from infra.config import ConfigError, Platform, load_from_files
from strata.output import console
from tools import capacity_report as cr

# Never folded at 80 columns when piped: printed commands stay runnable (strata.output).
err = console(stderr=True)
out = console()


def require_project(project_dir: Path) -> None:
    """Exit 2 with a hint when ``project_dir`` is not a Strata repository."""
    if not (project_dir / "Pulumi.yaml").exists():
        err.print(f"[red]error:[/red] {project_dir.resolve()} has no Pulumi.yaml; pass --project-dir")
        raise typer.Exit(2)


def load_or_exit(project_dir: Path, stack: str) -> Platform:
    """The validated platform, or every config problem on stderr (file, key, fix) and exit 1."""
    require_project(project_dir)
    try:
        return load_from_files(project_dir, stack)
    except ConfigError as exc:
        err.print(exc.render(), highlight=False, markup=False)
        raise typer.Exit(1) from None


def validate(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """Check a stack file and the team files without deploying: exit 0, or every problem on stderr."""
    platform = load_or_exit(project_dir, stack)
    teams = ", ".join(t.name for t in platform.teams) or "none"
    out.print(f"stack {stack!r} is valid: region {platform.region}, teams: {teams}")


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def capacity(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    workload: str = typer.Option(
        None,
        "--workload",
        "-w",
        help="A job mix COUNT:<K>vcpu:<G>gib[:cpu|spot|gpu|fargate]; COUNT is N or NxM, e.g. 200x100:1vcpu:4gib.",
    ),
    subnet_ips: int = typer.Option(
        None,
        "--subnet-ips",
        min=0,
        help="Free IPs in the private subnets (needed for an adopted VPC, whose sizes are unknown offline).",
    ),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
    fmt: ReportFormat = typer.Option(ReportFormat.TABLE, "--format", help="table (default) or json."),
) -> None:
    """How many Batch tasks the stack runs at once per compute environment, queue and team, the limit that
    binds first, the Batch quotas used, and for --workload: does it fit, and how long submitting it takes."""
    try:
        parsed = cr.parse_workload(workload) if workload is not None else None
    except cr.WorkloadError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    platform = load_or_exit(project_dir, stack)
    report = cr.capacity_report(platform, parsed, subnet_ips)
    if fmt is ReportFormat.JSON:
        import json

        typer.echo(json.dumps(cr.as_dict(report), indent=2))
        return
    _print_report(out, report, platform.region)


def _n(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{seconds:,.0f} s ({minutes} min {rest} s)" if minutes < 60 else f"{seconds:,.0f} s ({seconds / 3600:.1f} h)"


def _print_report(console: Console, r: cr.CapacityReport, region: str) -> None:
    console.print(f"[bold]stack {r.stack!r}[/bold] ({region}): tasks of {r.size}", highlight=False)

    console.print()
    pools = Table(title="Compute environments, each on its own", title_justify="left")
    for col in ("kind", "maxVcpus", "max tasks", "binds first", "by maxvCpus", "by memory", "by subnet IPs"):
        pools.add_column(col, justify="left" if col in ("kind", "binds first") else "right")
    for p in r.pools:
        by = {lim.name: _n(lim.tasks) for lim in p.limits}
        pools.add_row(
            p.kind, f"{p.max_vcpus:,}", f"{p.tasks:,}", p.binding.name, by["maxvCpus"], by.get("memory", "-"), by["subnet IPs"]
        )
    console.print(pools)

    console.print()
    queues = Table(title="Queues: their compute environments together (subnet IPs shared)", title_justify="left")
    for col in ("queue", "compute environments", "max tasks", "binds first"):
        queues.add_column(col, justify="right" if col == "max tasks" else "left")
    for q in r.queues:
        queues.add_row(q.kind, " then ".join(p.kind for p in q.pools), f"{q.tasks:,}", q.binding)
    console.print(queues)
    console.print(f"every compute environment busy at once: {r.all_pools_tasks:,} tasks", highlight=False)

    if r.teams:
        console.print()
        teams = Table(title="Teams: min(team cap, queue)", title_justify="left")
        for col in ("team", "queue", "cap (vCPUs)", "max tasks", "binds first"):
            teams.add_column(col, justify="right" if col in ("cap (vCPUs)", "max tasks") else "left")
        for t in r.teams:
            teams.add_row(t.team, t.queue, "-" if t.cap_vcpus is None else f"{t.cap_vcpus:,}", f"{t.tasks:,}", t.binding)
        console.print(teams)
        if not cr.TEAM_CAPS_ENFORCED:
            console.print(
                "team caps are maxVcpus / gpuMaxVcpus in stacks/teams/*.yaml; Batch does not enforce them yet "
                "(every team's queue shares the compute environments), so one team can take a whole queue.",
                highlight=False,
            )

    console.print()
    quotas = Table(title="AWS Batch quotas (fixed, per region)", title_justify="left")
    for col in ("quota", "used", "limit", "note"):
        quotas.add_column(col, justify="right" if col in ("used", "limit") else "left")
    for q in r.quotas:
        quotas.add_row(q.name, f"{q.used:,}", f"{q.limit:,}", q.note)
    quotas.add_row("array size", "-", f"{cr.BATCH_MAX_ARRAY_SIZE:,}", "children per array job")
    quotas.add_row("SubmitJob rate (per account)", "-", f"{cr.BATCH_SUBMIT_JOB_TPS} TPS", "sets how long submitting takes")
    console.print(quotas)

    console.print()
    console.print(f"subnet IPs for Batch: {_n(r.batch_ips)} ({r.ip_source})", highlight=False)
    console.print("also capping each pool, per account and adjustable (Service Quotas; not visible offline):", highlight=False)
    for p in r.pools:
        console.print(f"  {p.kind}: {p.external_quota}", highlight=False)
    h = r.headline
    if h.pools:
        console.print(
            f"[bold]max concurrent {r.size} tasks on the {h.kind} queue: {h.tasks:,}[/bold] (binds first: {h.binding})",
            highlight=False,
        )
    else:
        console.print(
            f"[bold]the stack has no {h.kind} compute environment[/bold] (strata:compute.{h.kind}.enabled)", highlight=False
        )
    if r.workload is not None:
        _print_workload(console, r.workload)


def _print_workload(console: Console, a: cr.WorkloadAnswer) -> None:
    w, s = a.workload, a.submission
    shape = " x ".join(f"{n:,}" for n in w.shape) + " = " if len(w.shape) > 1 else ""
    console.print(
        f"\n[bold]workload {w.spec}[/bold]: {shape}{w.tasks:,} tasks of {w.size} on the {w.kind} queue", highlight=False
    )
    if not a.queue.pools:
        console.print(
            f"  fits: no - the stack has no {w.kind} compute environment (strata:compute.{w.kind}.enabled)", highlight=False
        )
    elif a.fits:
        console.print(
            f"  fits: yes - all {w.tasks:,} at once (room for {a.queue.tasks:,}; binds first: {a.queue.binding})", highlight=False
        )
    else:
        console.print(
            f"  fits: no - {a.queue.tasks:,} at once, so {a.waves} waves (binds first: {a.queue.binding})",
            highlight=False,
        )
    console.print(
        f"  submission at {cr.BATCH_SUBMIT_JOB_TPS} SubmitJob/s: one job per task {s.single_calls:,} calls = "
        f"{_duration(s.single_seconds)}; as array jobs (<= {cr.BATCH_MAX_ARRAY_SIZE:,} children) {s.array_calls:,} "
        f"call{'s' if s.array_calls != 1 else ''} = "
        f"{_duration(s.array_seconds)}",
        highlight=False,
    )
    console.print(
        "  Metaflow submits one job per foreach task (no array jobs), and its --max-workers (run: 16, step-functions "
        "create: 100 per foreach) caps how many run at once: docs/capacity.md",
        highlight=False,
    )
    if w.tasks > cr.BATCH_MAX_SUBMITTED_JOBS:
        console.print(f"  more than {cr.BATCH_MAX_SUBMITTED_JOBS:,} jobs cannot wait in SUBMITTED at once", highlight=False)
    for t in a.teams:
        fits = "fits" if t.tasks >= w.tasks else f"{math.ceil(w.tasks / t.tasks)} waves" if t.tasks else "cannot run"
        enforced = "" if t.enforced else ", not enforced yet"
        console.print(f"  team {t.team}: {t.tasks:,} at once (binds first: {t.binding}{enforced}) - {fits}", highlight=False)


def register(app: typer.Typer) -> None:
    from localcloud.cli import app as local_app
    from tools.plancli import plan_json

    app.command()(validate)
    app.command()(capacity)
    app.command(name="plan-json")(plan_json)
    app.add_typer(local_app, name="local")
