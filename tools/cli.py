"""Platform commands added to `strata` when the platform is installed: validate, capacity, cost, diagram, plan-json, manifests, local."""

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
    pools = Table(title="Each team's compute environments, each on its own (maxVcpus: the team's cap)", title_justify="left")
    for col in ("team", "kind", "maxVcpus", "max tasks", "binds first", "by maxvCpus", "by memory", "by subnet IPs"):
        pools.add_column(col, justify="left" if col in ("team", "kind", "binds first") else "right")
    for p in r.pools:
        by = {lim.name: _n(lim.tasks) for lim in p.limits}
        pools.add_row(
            p.team,
            p.kind,
            f"{p.max_vcpus:,}",
            f"{p.tasks:,}",
            p.binding.name,
            by["maxvCpus"],
            by.get("memory", "-"),
            by["subnet IPs"],
        )
    console.print(pools)

    console.print()
    queues = Table(title="Each team's queues: their compute environments together (subnet IPs shared)", title_justify="left")
    for col in ("team", "queue", "compute environments", "cap (vCPUs)", "max tasks", "binds first"):
        queues.add_column(col, justify="right" if col in ("cap (vCPUs)", "max tasks") else "left")
    rows = {(t.team, t.queue): t for t in r.teams}
    for q in r.queues:
        t = rows[(q.team, q.kind)]
        cap = "-" if t.cap_vcpus is None else f"{t.cap_vcpus:,}"
        queues.add_row(q.team, q.name or q.kind, " then ".join(p.kind for p in q.pools), cap, f"{t.tasks:,}", t.binding)
    console.print(queues)
    console.print(
        f"every team's compute environments busy at once: {r.all_pools_tasks:,} tasks. Team caps are maxVcpus "
        "(on-demand + spotVcpus), gpuMaxVcpus and fargateVcpus in stacks/teams/*.yaml; Batch enforces them "
        "(each team's compute environments are sized to them, none is shared).",
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
    console.print(
        "also capping every team together, per account and adjustable (Service Quotas; not visible offline):", highlight=False
    )
    for kind, quota in dict((p.kind, p.external_quota) for p in r.pools).items():
        console.print(f"  {kind}: {quota}", highlight=False)
    h = r.headline
    if h.pools:
        console.print(
            f"[bold]max concurrent {r.size} tasks on one team's {h.kind} queue: {h.tasks:,}[/bold] "
            f"(team {h.team}; binds first: {h.binding})",
            highlight=False,
        )
    else:
        console.print(f"[bold]no team has a {h.kind} compute environment[/bold]", highlight=False)
    if r.workload is not None:
        _print_workload(console, r.workload)


def _print_workload(console: Console, a: cr.WorkloadAnswer) -> None:
    w, s = a.workload, a.submission
    shape = " x ".join(f"{n:,}" for n in w.shape) + " = " if len(w.shape) > 1 else ""
    console.print(
        f"\n[bold]workload {w.spec}[/bold]: {shape}{w.tasks:,} tasks of {w.size} on the {w.kind} queue", highlight=False
    )
    best = f"team {a.queue.team}, the most of any team; "
    if not a.queue.pools:
        console.print(f"  fits: no - no team has a {w.kind} compute environment", highlight=False)
    elif a.fits:
        console.print(
            f"  fits: yes - all {w.tasks:,} at once ({best}room for {a.queue.tasks:,}; binds first: {a.queue.binding})",
            highlight=False,
        )
    else:
        console.print(
            f"  fits: no - {a.queue.tasks:,} at once, so {a.waves} waves ({best}binds first: {a.queue.binding})",
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
        console.print(f"  team {t.team}: {t.tasks:,} at once (binds first: {t.binding}) - {fits}", highlight=False)


def register(app: typer.Typer) -> None:
    from localcloud.cli import app as local_app
    from tools.cost_report import cost_command
    from tools.diagram import diagram
    from tools.manifests import manifests
    from tools.plancli import plan_json

    app.command()(validate)
    app.command()(capacity)
    app.command(name="plan-json")(plan_json)
    app.command()(manifests)
    app.command(name="cost")(cost_command)
    app.command()(diagram)
    app.add_typer(local_app, name="local")
