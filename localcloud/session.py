"""`strata local up` / `down` / `status`: a whole platform in a moto server on this machine.

up: start moto -> deploy the `local` stack with the local engine (rich progress) -> write every
team's Metaflow profile and a shell env file under .strata/local/ -> run the sample flow as one team on
its Batch queue (jobs run as local processes) and, at the same time, deploy the same flow to Step Functions,
trigger it and wait for the execution (localcloud/walk.py) -> print where the run's artifacts landed,
which Batch jobs ran and what the execution did -> print how long each phase took. The server is left
running; its PID is recorded so that `down` stops exactly that process.

The server's log and its Batch jobs' scratch directories live under .strata/local/ too (moto.log, jobs/),
where `status` names them and `down` removes them (``--keep-logs`` keeps them). So does the compiled
bytecode of every process the local cloud starts (pycache/, :func:`use_bytecode_cache`), which `down` keeps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core import naming
from localcloud.server import FAKE_CREDENTIALS, configure_moto, is_up, spawn_moto
from localcloud.walk import StepFunctionsRun, WalkError, batch_jobs, client, flow_env, metaflow, step_functions_run
from strata.output import python_command, shown_path, strata_command

if TYPE_CHECKING:  # Pulumi and the engine load only when a command deploys (status and down stay quick)
    from localcloud.engine import LocalEngine
    from localcloud.runner import ProgramRun

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

    @property
    def log(self) -> Path:
        """The moto server's output (every request, every Batch job's start and exit)."""
        return self.root / "moto.log"

    @property
    def jobs(self) -> Path:
        """Batch jobs' scratch directories (a failed job's is kept as failed-<job id>)."""
        return self.root / "jobs"

    @property
    def pycache(self) -> Path:
        """Compiled bytecode of the local cloud's processes: a cache, not a log, so `down` keeps it."""
        return self.root / "pycache"

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


def _read_record(paths: Paths) -> dict | None:
    try:
        return json.loads(paths.server.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise LocalCloudError(f"cannot read {paths.server}: {exc}; delete it if no local cloud is running") from None


def recorded_server(paths: Paths) -> dict | None:
    """The server `up` recorded, if its process is still alive."""
    info = _read_record(paths)
    return info if info and _pid_alive(int(info["pid"])) else None


def use_bytecode_cache(paths: Paths) -> None:
    """Keep the compiled bytecode of this process and of every process it starts (the moto server, its Batch
    jobs, the Metaflow runs) in ``paths.pycache``, unless ``PYTHONPYCACHEPREFIX`` already names a place.

    An environment without bytecode (a venv installed by uv, which compiles nothing, in a shell with
    ``PYTHONDONTWRITEBYTECODE``) otherwise compiles moto, pulumi_aws or Metaflow from source in each of the
    dozens of Python processes of an `up` (measured: 8 s of its CPU and wall time with the Batch walk alone).
    The cache is never written next to the sources, which is what ``PYTHONDONTWRITEBYTECODE`` protects, so it
    is lifted for these processes.
    https://docs.python.org/3/library/sys.html#sys.pycache_prefix"""
    cache = os.environ.get("PYTHONPYCACHEPREFIX") or str(paths.pycache)
    os.environ["PYTHONPYCACHEPREFIX"] = cache
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = cache  # this process: read at every import from now on
    sys.dont_write_bytecode = False


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


# Metaflow stops every command with "Unknown user" unless METAFLOW_USER, SUDO_USER, USERNAME or USER names
# someone other than root (metaflow.util.get_username); CI shells and containers often set none of them.
# The env file keeps a user the shell already has and otherwise names one, in the order walk.local_user uses.
_USER_BLOCK = """\
# Metaflow refuses to run without a user name (METAFLOW_USER, SUDO_USER, USERNAME or USER; never root),
# and CI shells often set none: keep yours, else use the login name, else strata-local.
if [ -z "${METAFLOW_USER:-}" ]; then
  for _strata_user in "${SUDO_USER:-}" "${USERNAME:-}" "${USER:-}" "${LOGNAME:-}" "$(id -un 2>/dev/null)" strata-local; do
    if [ -n "$_strata_user" ] && [ "$_strata_user" != root ]; then break; fi
  done
  export METAFLOW_USER="$_strata_user"
  unset _strata_user
fi
"""


def write_env_file(env: dict[str, str], paths: Paths, example_team: str, project_dir: Path | None = None) -> None:
    project_dir = project_dir or Path.cwd()
    python = os.path.abspath(sys.executable)  # absolute, links kept (the venv's python): sourced from anywhere
    flow = (project_dir / SAMPLE_FLOW).resolve()
    lines = [
        "# Strata local cloud: `source` this file to point AWS SDKs, the AWS CLI and Metaflow at it.",
        "# The credentials are moto's fake ones; nothing here reaches AWS.",
        *(f"export {k}={v}" for k, v in env.items()),
        _USER_BLOCK.rstrip("\n"),
        f"# then: METAFLOW_PROFILE={naming.profile_name(STACK, example_team)} {python} {flow} run --with batch",
    ]
    paths.env_file.write_text("\n".join(lines) + "\n")


def write_profiles(paths: Paths, outputs: dict) -> list[str]:
    """Write every team's Metaflow profile (``teamProfiles`` stack output) where ``METAFLOW_HOME`` points."""
    for name, profile in outputs["teamProfiles"].items():
        paths.profile(name).write_text(json.dumps(profile, indent=2, sort_keys=True) + "\n")
    return sorted(outputs["teamProfiles"])


@dataclass
class Phases:
    """Wall time of each phase of `up`, for its last line (and benchmarks/local_up.py, which parses it)."""

    started: float = field(default_factory=time.monotonic)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = time.monotonic() - start

    def summary(self) -> str:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        return f"phases: {parts}; total {time.monotonic() - self.started:.1f} s"


def deploy(project_dir: Path, endpoint: str, region: str, console: Console) -> tuple[ProgramRun, LocalEngine]:
    """Preview (to count resources, no cloud calls), then deploy with a progress bar."""
    from localcloud.engine import LocalEngine
    from localcloud.runner import run_program

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


def run_sample_flow(project_dir: Path, paths: Paths, env: dict[str, str], team: str, on_batch: bool = True) -> str:
    """Run the sample flow as ``team`` (on its Batch queue unless ``on_batch`` is false) on the S3 datastore
    in moto; returns the run id."""
    paths.work.mkdir(parents=True, exist_ok=True)
    run_id_file = paths.work / "last-run-id"
    run_id_file.unlink(missing_ok=True)
    flow = (project_dir / SAMPLE_FLOW).resolve()
    child_env = flow_env(env, naming.profile_name(STACK, team))
    args = ["run", *(["--with", "batch"] if on_batch else []), "--run-id-file", str(run_id_file)]
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
        console.print(f"  - NOT EMULATED {typ} ({len(names)}: {', '.join(sorted(names))}): {reason}", highlight=False)
    for note in engine.emulation_notes:
        console.print(f"  - {note}", highlight=False)


def print_artifacts(artifacts: list[dict], run_id: str, datastore_root: str, console: Console) -> None:
    root = f"{datastore_root}/RegionForecastFlow/data/"
    table = Table(title=f"RegionForecastFlow/{run_id}: {len(artifacts)} artifacts, all under {root}")
    for column in ("step/task", "artifact", "bytes", "object"):
        table.add_column(column)
    for a in artifacts:
        table.add_row(a["step"], a["name"], str(a["bytes"]), a["location"].removeprefix(root))
    console.print(table)


def print_batch_jobs(env: dict[str, str], queue: str, console: Console) -> list[dict]:
    """The team queue's jobs of the interactive run as moto reports them (each ran as a local process)."""
    jobs = [j for j in batch_jobs(client(env, "batch"), queue) if not j["jobName"].startswith("SFN-")]
    table = Table(title=f"AWS Batch jobs on {queue.rsplit('/', 1)[-1]} (in moto; each ran as a local process)")
    for column in ("job", "status", "exit code", "job id"):
        table.add_column(column)
    for job in jobs:
        table.add_row(job["jobName"], job["status"], str(job.get("container", {}).get("exitCode", "")), job["jobId"])
    console.print(table)
    return jobs


def run_step_functions(
    project_dir: Path, paths: Paths, env: dict[str, str], team: str, profile: dict[str, str]
) -> StepFunctionsRun:
    """Deploy the sample flow to Step Functions as ``team``, trigger it and wait for the execution.

    It runs in its own directory: the Batch run may be writing Metaflow's local metadata in paths.work."""
    flow = (project_dir / SAMPLE_FLOW).resolve()
    cwd = paths.work / "step-functions"
    cwd.mkdir(parents=True, exist_ok=True)
    try:
        return step_functions_run(flow, cwd, flow_env(env, naming.profile_name(STACK, team)), profile, cwd)
    except WalkError as exc:
        raise LocalCloudError(str(exc)) from None


def print_step_functions_run(
    run: StepFunctionsRun, paths: Paths, env: dict[str, str], profile: dict[str, str], console: Console
) -> None:
    """Show what the execution ran: each step's tasks, which are Batch jobs of the team's queue."""
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


def _in_parallel(tasks: dict[str, Callable[[], Any]], phases: Phases) -> dict[str, Any]:
    """Run the walks at the same time (each is mostly subprocesses and waiting on moto); every one finishes
    before the first error is raised, so nothing is left running behind the CLI's back."""
    if not tasks:
        return {}

    def timed(name: str, task: Callable[[], Any]) -> Any:
        with phases.phase(name):
            return task()

    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="strata-walk") as pool:
        futures = {name: pool.submit(timed, name, task) for name, task in tasks.items()}
    errors = {name: f.exception() for name, f in futures.items() if f.exception() is not None}
    if len(errors) == 1:
        raise next(iter(errors.values()))
    if errors:
        raise LocalCloudError("\n".join(f"{name}: {error}" for name, error in errors.items()))
    return {name: f.result() for name, f in futures.items()}


def up(
    project_dir: Path,
    port: int | None,
    team: str | None,
    state_dir: Path | None,
    console: Console,
    on_batch: bool = True,
    step_functions: bool = True,
) -> Paths:
    from infra.config import load_from_files

    phases = Phases()
    project_dir = project_dir.resolve()
    paths = paths_for(project_dir, state_dir)
    if running := recorded_server(paths):
        raise LocalCloudError(
            f"a local cloud is already running (PID {running['pid']}, {running['endpoint']}); "
            f"run `{strata_command(explicit=True)} local down` first"
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.jobs.mkdir(parents=True, exist_ok=True)

    with phases.phase("start moto"):
        # The server boots (mostly importing moto) while this process reads the config.
        server = spawn_moto(port=port, log_path=str(paths.log), job_dir=str(paths.jobs))
        record = {"pid": server.pid, "port": server.port, "endpoint": server.endpoint, "started": time.time()}
        record |= {"log": str(paths.log), "jobs": str(paths.jobs), "stack": STACK}
        paths.server.write_text(json.dumps(record))
        try:
            platform = load_from_files(project_dir, STACK)  # ConfigError is reported by the CLI
            teams = [t.name for t in platform.teams]
            if not teams:
                raise LocalCloudError("the local stack has no teams: add a `local:` section to a file in stacks/teams/")
            team = team or teams[0]
            if team not in teams:
                raise LocalCloudError(f"team {team!r} is not in the local stack; choose one of: {', '.join(teams)}")
            try:
                server.wait_until_up()
            except (RuntimeError, TimeoutError) as exc:
                raise LocalCloudError(f"the moto server did not start: {exc}\n(its log: {shown_path(paths.log)})") from None
            configure_moto(server.endpoint)
        except BaseException:
            server.stop()
            paths.server.unlink(missing_ok=True)
            raise
    console.print(f"[green]moto server[/green] on {server.endpoint} (PID {server.pid}, log {shown_path(paths.log)})")

    with phases.phase("deploy"):
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
        write_env_file(env, paths, team, project_dir)
        paths.server.write_text(json.dumps(record | {"teams": teams, "team": team, "env_file": str(paths.env_file)}))
    console.print(f"deployed {len(engine.resources)} resources; profiles for {', '.join(teams)} in {paths.root}")
    print_emulation_gaps(engine, console)

    profile = run.outputs["teamProfiles"][team]
    name = naming.profile_name(STACK, team)
    where = "its Batch queue (each task a local process)" if on_batch else "local compute"
    console.print(
        f"[bold]running[/bold] {SAMPLE_FLOW} as team [cyan]{team}[/cyan] on {where} "
        f"(METAFLOW_PROFILE={name} ... run{' --with batch' if on_batch else ''})",
        highlight=False,
    )

    def flow_and_artifacts() -> tuple[str, list[dict]]:
        run_id = run_sample_flow(project_dir, paths, env, team, on_batch=on_batch)
        return run_id, artifact_locations(paths, env, team, run_id)

    walks: dict[str, Callable[[], Any]] = {"batch flow" if on_batch else "local flow": flow_and_artifacts}
    if step_functions:
        console.print(
            f"[bold]deploying[/bold] {SAMPLE_FLOW} to Step Functions and triggering it, at the same time "
            f"(METAFLOW_PROFILE={name} ... step-functions create, trigger)",
            highlight=False,
        )
        walks["step functions flow"] = lambda: run_step_functions(project_dir, paths, env, team, profile)

    with console.status(f"Metaflow: start -> fit (foreach) -> join -> end ({', '.join(walks)}) ..."):
        results = _in_parallel(walks, phases)
    run_id, artifacts = next(iter(results.values()))
    print_artifacts(artifacts, run_id, profile["METAFLOW_DATASTORE_SYSROOT_S3"], console)
    if on_batch:
        print_batch_jobs(env, profile["METAFLOW_BATCH_JOB_QUEUE"], console)
    if step_functions:
        print_step_functions_run(results["step functions flow"], paths, env, profile, console)

    python, strata = python_command(explicit=True), strata_command(explicit=True)
    console.print(
        f"\nThe local cloud keeps running. In any shell: [bold]source {shown_path(paths.env_file)}[/bold]\n"
        f"Run the sample flow yourself:\n"
        f"  [bold]METAFLOW_PROFILE={name} {python} {shown_path(project_dir / SAMPLE_FLOW)} run --with batch[/bold]\n"
        f"Schedule a flow on Step Functions as team {team} (state machine + daily EventBridge rule, in moto):\n"
        f"  [bold]METAFLOW_PROFILE={name} {python} {shown_path(project_dir / SCHEDULED_FLOW)} step-functions create[/bold]\n"
        f"  then see it (state machines and rules named {naming.state_machine_name_prefix(STACK, team)}*):\n"
        f"  [bold]METAFLOW_PROFILE={name} {python} -m localcloud.inspect_schedules[/bold]\n"
        f"Check it with: [bold]{strata} local status[/bold]; stop it with: [bold]{strata} local down[/bold]",
        highlight=False,
    )
    console.print(phases.summary(), highlight=False)
    return paths


@dataclass(frozen=True)
class Status:
    """What `strata local status` reports."""

    running: bool  # the recorded process is alive
    answering: bool  # and moto answers at its endpoint
    record: dict  # server.json (empty when nothing is recorded)
    paths: Paths

    @property
    def ok(self) -> bool:
        return self.running and self.answering


def status(project_dir: Path, state_dir: Path | None) -> Status:
    paths = paths_for(project_dir.resolve(), state_dir)
    record = _read_record(paths) or {}
    running = bool(record) and _pid_alive(int(record["pid"]))
    return Status(running=running, answering=running and is_up(record["endpoint"]), record=record, paths=paths)


def _remove_logs(paths: Paths) -> list[Path]:
    """The server log and the jobs' scratch directories (not the bytecode cache); returns what was removed."""
    removed = []
    if paths.log.exists():
        paths.log.unlink()
        removed.append(paths.log)
    if paths.jobs.exists():
        shutil.rmtree(paths.jobs, ignore_errors=True)
        removed.append(paths.jobs)
    return removed


def down(project_dir: Path, state_dir: Path | None, console: Console, keep_logs: bool = False) -> bool:
    """Stop the server `up` started (by its recorded PID), then remove its log and the jobs' scratch
    directories unless ``keep_logs``. Returns False if none was running."""
    paths = paths_for(project_dir.resolve(), state_dir)
    info = recorded_server(paths)
    if info is None:
        paths.server.unlink(missing_ok=True)
        console.print("no local cloud is running")
    else:
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
    if keep_logs:
        if paths.log.exists():
            console.print(f"kept the server log {shown_path(paths.log)} and the jobs' directories in {shown_path(paths.jobs)}")
    elif _remove_logs(paths):
        console.print(f"removed the server log and the jobs' scratch directories from {shown_path(paths.root)}")
    return info is not None
