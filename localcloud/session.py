"""`strata local up` / `strata local down`: a whole platform in a moto server on this machine.

up: start moto -> deploy the `local` stack with the local engine (rich progress) -> write every
team's Metaflow profile and a shell env file under .strata/local/ -> run the sample flow as one team on
its Batch queue (jobs run as local processes) and the S3 datastore in moto -> print where its artifacts
landed and which Batch jobs ran -> deploy the same flow to Step Functions, trigger it and wait for the
execution (localcloud/walk.py). The server is left running; its PID is recorded so that `down` stops
exactly that process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core import naming
from infra.config import load_from_files
from localcloud.engine import LocalEngine
from localcloud.runner import ProgramRun, run_program
from localcloud.server import FAKE_CREDENTIALS, configure_moto, start_moto
from localcloud.walk import WalkError, batch_jobs, client, flow_env, metaflow, step_functions_run

STACK = "local"
SAMPLE_FLOW = Path("examples/flows/foreach_flow.py")
SCHEDULED_FLOW = Path("examples/flows/scheduled_flow.py")


class LocalCloudError(Exception):
    """Something the user can act on; the message says what."""


@dataclass(frozen=True)
class Paths:
    root: Path  # .strata/local

    @property
    def server(self) -> Path:
        return self.root / "server.json"

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs.json"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def profile(self, team: str) -> Path:
        return self.root / f"config_{naming.profile_name(STACK, team)}.json"


def paths_for(project_dir: Path, state_dir: Path | None = None) -> Paths:
    return Paths((state_dir or project_dir / ".strata" / STACK).resolve())


def _pid_alive(pid: int) -> bool:
    try:  # reap it first if it is our own child, or a stopped server would linger as a zombie
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recorded_server(paths: Paths) -> dict | None:
    if not paths.server.exists():
        return None
    info = json.loads(paths.server.read_text())
    return info if _pid_alive(int(info["pid"])) else None


def cloud_env(endpoint: str, region: str, paths: Paths) -> dict[str, str]:
    """What any shell needs to use the local cloud (also written to the env file)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "METAFLOW_HOME": str(paths.root),
        "METAFLOW_S3_ENDPOINT_URL": endpoint,
    }


def write_env_file(env: dict[str, str], paths: Paths, example_team: str) -> None:
    lines = [
        "# Strata local cloud: `source` this file to point AWS SDKs, the AWS CLI and Metaflow at it.",
        "# The credentials are moto's fake ones; nothing here reaches AWS.",
        *(f"export {k}={v}" for k, v in env.items()),
        f"# then: METAFLOW_PROFILE={naming.profile_name(STACK, example_team)} python examples/flows/foreach_flow.py run",
    ]
    paths.env_file.write_text("\n".join(lines) + "\n")


def write_profiles(paths: Paths, outputs: dict) -> list[str]:
    """Write every team's Metaflow profile (``teamProfiles`` stack output) where ``METAFLOW_HOME`` points."""
    for name, profile in outputs["teamProfiles"].items():
        paths.profile(name).write_text(json.dumps(profile, indent=2, sort_keys=True) + "\n")
    return sorted(outputs["teamProfiles"])


def deploy(project_dir: Path, endpoint: str, region: str, console: Console) -> tuple[ProgramRun, LocalEngine]:
    """Preview (to count resources, no cloud calls), then deploy with a progress bar."""
    planned = run_program(project_dir, STACK, LocalEngine(endpoint, region=region, preview=True), preview=True)
    total = len(planned.custom_resources())
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]deploying[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("local stack", total=total)

        def on_event(kind: str, typ: str, name: str) -> None:
            progress.update(task, advance=1, description=f"{name} ({typ.split(':')[-1]})")

        engine = LocalEngine(endpoint, region=region, preview=False, on_event=on_event)
        run = run_program(project_dir, STACK, engine)
        progress.update(task, description="local stack: done")
    return run, engine


def run_sample_flow(
    project_dir: Path, paths: Paths, env: dict[str, str], team: str, console: Console, on_batch: bool = True
) -> str:
    """Run the sample flow as ``team`` (on its Batch queue unless ``on_batch`` is false) on the S3 datastore
    in moto; returns the run id."""
    paths.work.mkdir(parents=True, exist_ok=True)
    run_id_file = paths.work / "last-run-id"
    run_id_file.unlink(missing_ok=True)
    flow = (project_dir / SAMPLE_FLOW).resolve()
    child_env = flow_env(env, naming.profile_name(STACK, team))
    where = "its Batch queue (each task a local process)" if on_batch else "local compute"
    console.print(
        f"[bold]running[/bold] {SAMPLE_FLOW} as team [cyan]{team}[/cyan] on {where} "
        f"(METAFLOW_PROFILE={child_env['METAFLOW_PROFILE']}{' ... run --with batch' if on_batch else ''})"
    )
    args = ["run", *(["--with", "batch"] if on_batch else []), "--run-id-file", str(run_id_file)]
    with console.status("Metaflow: start -> fit (foreach) -> join -> end ..."):
        try:
            metaflow(flow, args, paths.work, child_env, paths.work / "last-run.log")
        except WalkError as exc:
            raise LocalCloudError(f"the sample flow failed: {exc}") from None
    return run_id_file.read_text().strip()


def artifact_locations(paths: Paths, env: dict[str, str], team: str, run_id: str) -> list[dict]:
    """Ask Metaflow's client (in the flow's environment) where each artifact of the run is stored."""
    child_env = flow_env(env, naming.profile_name(STACK, team))
    proc = subprocess.run(
        [sys.executable, "-m", "localcloud.inspect_run", "RegionForecastFlow", run_id],
        cwd=paths.work,
        env=child_env,
        text=True,
        capture_output=True,
    )
    if proc.returncode != 0:
        raise LocalCloudError(f"could not read the run back with Metaflow's client:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def print_emulation_gaps(engine: LocalEngine, console: Console) -> None:
    """What moto could not do, loudly: not-emulated types grouped by type, then behaviour notes."""
    by_type: dict[tuple[str, str], list[str]] = {}
    for record in engine.not_emulated_used():
        by_type.setdefault((record.type, record.not_emulated_reason or ""), []).append(record.name)
    if not by_type and not engine.emulation_notes:
        return
    console.print("[yellow]not emulated / emulation notes:[/yellow]")
    for (typ, reason), names in sorted(by_type.items()):
        console.print(f"  - NOT EMULATED {typ} ({len(names)}: {', '.join(sorted(names))}): {reason}")
    for note in engine.emulation_notes:
        console.print(f"  - {note}")


def print_batch_jobs(env: dict[str, str], queue: str, console: Console) -> list[dict]:
    """The team queue's jobs as moto reports them (each ran as a local process)."""
    jobs = batch_jobs(client(env, "batch"), queue)
    table = Table(title=f"AWS Batch jobs on {queue.rsplit('/', 1)[-1]} (in moto; each ran as a local process)")
    for column in ("job", "status", "exit code", "job id"):
        table.add_column(column)
    for job in jobs:
        table.add_row(job["jobName"], job["status"], str(job.get("container", {}).get("exitCode", "")), job["jobId"])
    console.print(table)
    return jobs


def print_step_functions_run(
    project_dir: Path, paths: Paths, env: dict[str, str], team: str, profile: dict[str, str], console: Console
) -> None:
    """Deploy the sample flow to Step Functions as ``team``, trigger it, wait, show what ran."""
    flow = (project_dir / SAMPLE_FLOW).resolve()
    name = naming.profile_name(STACK, team)
    console.print(f"[bold]deploying[/bold] {SAMPLE_FLOW} to Step Functions and triggering it (METAFLOW_PROFILE={name})")
    with console.status("Step Functions: create -> trigger -> execution running (Batch jobs as local processes) ..."):
        try:
            run = step_functions_run(flow, paths.work, flow_env(env, name), profile, paths.work)
        except WalkError as exc:
            raise LocalCloudError(str(exc)) from None
    jobs = {j["jobId"]: j for j in batch_jobs(client(env, "batch"), profile["METAFLOW_BATCH_JOB_QUEUE"])}
    table = Table(
        title=f"{run.execution_arn.rsplit(':', 2)[-2]}: execution {run.status} in {run.seconds:.0f} s (run {run.run_id})"
    )
    for column in ("step", "task = Batch job id", "job status", "exit code"):
        table.add_column(column)
    for step in ("start", "fit", "join", "end"):
        for task in run.tasks.get(step, []):
            job = jobs.get(task, {})
            table.add_row(step, task, job.get("status", "?"), str(job.get("container", {}).get("exitCode", "")))
    console.print(table)
    if run.status != "SUCCEEDED":
        raise LocalCloudError(
            f"the Step Functions execution ended {run.status}; see `aws stepfunctions get-execution-history "
            f"--execution-arn {run.execution_arn}` (source {paths.env_file} first)"
        )


def up(
    project_dir: Path,
    port: int | None,
    team: str | None,
    state_dir: Path | None,
    console: Console,
    on_batch: bool = True,
    step_functions: bool = True,
) -> Paths:
    project_dir = project_dir.resolve()
    paths = paths_for(project_dir, state_dir)
    if running := recorded_server(paths):
        raise LocalCloudError(
            f"a local cloud is already running (PID {running['pid']}, {running['endpoint']}); run `strata local down` first"
        )
    platform = load_from_files(project_dir, STACK)  # ConfigError is reported by the CLI
    teams = [t.name for t in platform.teams]
    if not teams:
        raise LocalCloudError("the local stack has no teams: add a `local:` section to a file in stacks/teams/")
    team = team or teams[0]
    if team not in teams:
        raise LocalCloudError(f"team {team!r} is not in the local stack; choose one of: {', '.join(teams)}")

    paths.root.mkdir(parents=True, exist_ok=True)
    server = start_moto(port=port)
    paths.server.write_text(
        json.dumps({"pid": server.pid, "port": server.port, "endpoint": server.endpoint, "started": time.time()})
    )
    configure_moto(server.endpoint)
    console.print(f"[green]moto server[/green] on {server.endpoint} (PID {server.pid})")

    try:
        run, engine = deploy(project_dir, server.endpoint, platform.region, console)
    except BaseException:
        server.stop()
        paths.server.unlink(missing_ok=True)
        raise
    # Secrets (the teams' metadata API keys) never reach the disk in clear: `pulumi stack output` shows
    # them as [secret] too. A data scientist fetches their own key with `strata configure`.
    paths.outputs.write_text(json.dumps(run.redacted_outputs(), indent=2, sort_keys=True, default=str))
    write_profiles(paths, run.outputs)
    env = cloud_env(server.endpoint, platform.region, paths)
    write_env_file(env, paths, team)
    console.print(f"deployed {len(engine.resources)} resources; profiles for {', '.join(teams)} in {paths.root}")
    print_emulation_gaps(engine, console)

    run_id = run_sample_flow(project_dir, paths, env, team, console, on_batch=on_batch)
    artifacts = artifact_locations(paths, env, team, run_id)
    root = f"{run.outputs['teamProfiles'][team]['METAFLOW_DATASTORE_SYSROOT_S3']}/RegionForecastFlow/data/"
    table = Table(title=f"RegionForecastFlow/{run_id}: {len(artifacts)} artifacts, all under {root}")
    for column in ("step/task", "artifact", "bytes", "object"):
        table.add_column(column)
    for a in artifacts:
        table.add_row(a["step"], a["name"], str(a["bytes"]), a["location"].removeprefix(root))
    console.print(table)
    profile = run.outputs["teamProfiles"][team]
    if on_batch:
        print_batch_jobs(env, profile["METAFLOW_BATCH_JOB_QUEUE"], console)
    if step_functions:
        print_step_functions_run(project_dir, paths, env, team, profile, console)
    profile_name = naming.profile_name(STACK, team)
    console.print(
        f"\nThe local cloud keeps running. In any shell: [bold]source {paths.env_file}[/bold]\n"
        f"Schedule a flow on Step Functions as team {team} (state machine + daily EventBridge rule, in moto):\n"
        f"  [bold]METAFLOW_PROFILE={profile_name} python {SCHEDULED_FLOW} step-functions create[/bold]\n"
        f"  then see it (state machines and rules named {naming.state_machine_name_prefix(STACK, team)}*):\n"
        f"  [bold]METAFLOW_PROFILE={profile_name} python -m localcloud.inspect_schedules[/bold]\n"
        f"Stop it with: [bold]strata local down[/bold]"
    )
    return paths


def down(project_dir: Path, state_dir: Path | None, console: Console) -> bool:
    """Stop the server `up` started (by its recorded PID). Returns False if none was running."""
    paths = paths_for(project_dir.resolve(), state_dir)
    info = recorded_server(paths)
    if info is None:
        paths.server.unlink(missing_ok=True)
        console.print("no local cloud is running")
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not _pid_alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    paths.server.unlink(missing_ok=True)
    console.print(f"stopped the local cloud (PID {pid}, {info['endpoint']})")
    return True
