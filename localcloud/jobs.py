"""AWS Batch jobs in the local cloud, run as local processes.

moto's "simple" Batch backend (``{"batch": {"use_docker": false}}``) marks every submitted job SUCCEEDED
without running anything. :func:`install` replaces that step, inside the moto server process, with one
that runs the job's command (job definition + overrides, ``Ref::`` parameters filled in) as a local
process with the job's environment, in a scratch directory, and reports the exit code the way Batch does
(RUNNING, then SUCCEEDED or FAILED with ``container.exitCode``); its output goes to the job's
``/aws/batch/job`` log stream in moto.

Nothing leaves the machine: the process gets moto's endpoint and fake credentials, never the caller's
environment, and every plain-HTTP call that is not to the loopback goes to a **dead proxy** — a loopback
port that accepts and closes at once — so the EC2 instance-metadata probe Metaflow makes inside a job
fails in milliseconds instead of reaching 169.254.169.254. Dependencies are not pip-installed
(``METAFLOW_SKIP_INSTALL_DEPENDENCIES``): the job uses this Python (metaflow, boto3) as its image.

Like a warm container image, the "image" keeps its compiled bytecode: every job of the server shares one
``PYTHONPYCACHEPREFIX`` (the server's own, which `strata local up` sets, else ``<work root>/pycache``), and a
job runs in its slot's directory (``slot-<n>``, emptied first), so the Metaflow code package it extracts has
the same paths as the last job's and Python reuses the bytecode instead of compiling Metaflow again in the
half a dozen Python processes of every job.

Pure helpers (:func:`job_command`, :func:`job_environment`) are unit-tested; :func:`install` needs moto.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.naming import BATCH_LOG_GROUP
from localcloud.server import FAKE_CREDENTIALS

log = logging.getLogger("strata.localcloud.jobs")

# A job that runs longer than this without its own timeout is stopped (Batch has no default; a stuck
# local process would otherwise hold the server).
DEFAULT_TIMEOUT_S = 1800
# Lines of a job's output kept in its CloudWatch log stream.
MAX_LOG_LINES = 5000


def max_parallel_jobs(environ: Mapping[str, str] = os.environ) -> int:
    """How many jobs run at once (``STRATA_LOCAL_BATCH_MAX_PARALLEL``, default twice the CPU count, at least 4):
    a wide foreach waits in RUNNABLE, as on a full compute environment, instead of forking the machine to death.

    Twice the CPUs so that `strata local up`'s two walks (a three-way foreach on Batch and the same flow on Step
    Functions, at the same time) do not queue behind each other: with one job per CPU, the third task of the
    foreach alone waited a whole task's length on a 2-CPU machine."""
    raw = environ.get("STRATA_LOCAL_BATCH_MAX_PARALLEL")
    if raw is None:
        return max(4, 2 * (os.cpu_count() or 2))
    value = int(raw)
    if value < 1:
        raise ValueError(f"STRATA_LOCAL_BATCH_MAX_PARALLEL must be >= 1, got {raw!r}")
    return value


def job_command(command: Sequence[str] | str, parameters: Mapping[str, str]) -> list[str]:
    """The container command with ``Ref::<name>`` replaced by the job's parameters (as Batch does)."""
    parts = [command] if isinstance(command, str) else list(command)
    out = []
    for part in parts:
        for name, value in parameters.items():
            part = part.replace(f"Ref::{name}", value)
        out.append(part)
    if not out:
        raise ValueError("the job has no command (neither its definition nor its overrides give one)")
    return out


def job_environment(
    job_env: Mapping[str, str],
    *,
    endpoint: str,
    region: str,
    dead_proxy: str,
    python_bin: str,
    home: str,
    job_id: str,
    queue: str,
    pycache: str | None = None,
) -> dict[str, str]:
    """The process environment: the job's own variables, plus what the local cloud's "container" provides
    (``pycache``: the image's shared bytecode cache, ``PYTHONPYCACHEPREFIX``).

    The caller's environment is not inherited (no real credentials can leak into a job)."""
    env = {
        "PATH": os.pathsep.join([python_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **({"PYTHONPYCACHEPREFIX": pycache} if pycache else {}),
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # Batch sets these in every container.
        "AWS_BATCH_JOB_ID": job_id,
        "AWS_BATCH_JOB_ATTEMPT": "1",
        "AWS_BATCH_JQ_NAME": queue,
        "AWS_BATCH_CE_NAME": "strata-local-process",
        "AWS_EXECUTION_ENV": "AWS_ECS_EC2",
    }
    env.update(job_env)
    # The local cloud's network: every AWS SDK call goes to moto; nothing else goes anywhere.
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "METAFLOW_S3_ENDPOINT_URL": endpoint,
            **FAKE_CREDENTIALS,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HTTP_PROXY": dead_proxy,
            "HTTPS_PROXY": dead_proxy,
            "http_proxy": dead_proxy,
            "https_proxy": dead_proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # No pip in a job: the local Python is the image.
            "METAFLOW_SKIP_INSTALL_DEPENDENCIES": "1",
        }
    )
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


class DeadProxy:
    """A loopback port that accepts a connection and closes it at once: proxied requests fail fast."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.refused = 0  # connections accepted and closed (each one a request that went nowhere)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, name="strata-dead-proxy", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.refused += 1  # before closing: whoever sees the close sees the count
            conn.close()
            log.info("dead proxy: closed connection %d (a job's non-loopback HTTP call; nothing left the machine)", self.refused)


def _run(job: Any, endpoint: str, region: str, dead_proxy: str, work_root: Path, slots: queue.Queue[int]) -> None:
    """Wait for a free slot (the job is RUNNABLE meanwhile), run the job to completion in this thread and
    record its outcome on the moto job."""
    from moto.batch.utils import JobStatus

    job.status = JobStatus.RUNNABLE.value
    slot = slots.get()
    try:
        _run_now(job, endpoint, region, dead_proxy, work_root, slot)
    finally:
        slots.put(slot)


def _run_now(job: Any, endpoint: str, region: str, dead_proxy: str, work_root: Path, slot: int) -> None:
    from moto.batch.utils import JobStatus

    job.status = JobStatus.RUNNING.value
    details = job._container_details()
    workdir = work_root / f"slot-{slot}"  # the same path for every job of this slot: see the module docstring
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    lines: list[str] = []
    exit_code = 1
    try:
        command = job_command(details["command"], job.parameters)
        env = job_environment(
            {e["name"]: e["value"] for e in details["environment"]},
            endpoint=endpoint,
            region=region,
            dead_proxy=dead_proxy,
            python_bin=str(Path(sys.executable).parent),
            home=str(workdir),
            job_id=job.job_id,
            queue=job.job_queue.name,
            pycache=os.environ.get("PYTHONPYCACHEPREFIX") or str(work_root / "pycache"),
        )
        timeout = job._get_attempt_duration() or DEFAULT_TIMEOUT_S
        log.info("batch job %s (%s): running %s in %s", job.job_id, job.job_name, command[:2], workdir)
        try:
            proc = subprocess.run(
                command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
            )
            exit_code = proc.returncode
            lines = (proc.stdout + proc.stderr).splitlines()
        except subprocess.TimeoutExpired as err:
            exit_code, job.job_stopped_reason = 137, f"Job attempt duration exceeded timeout ({timeout} s)"
            lines = [str(err)]
        except OSError as err:
            exit_code, job.job_stopped_reason = 127, f"CannotStartContainerError: {err}"
            lines = [str(err)]
    except Exception as err:  # a malformed job: fail it, never the server
        job.job_stopped_reason = f"local job runner: {err}"
        lines = [repr(err)]
    finally:
        _write_logs(job, lines)
        job.exit_code = exit_code
        if exit_code != 0 and job.job_stopped_reason is None:
            job.job_stopped_reason = "Essential container in task exited"
        if exit_code == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:  # kept for inspection, out of the slot's way
            kept = work_root / f"failed-{job.job_id}"
            try:
                workdir.rename(kept)
                log.info("batch job %s (%s): scratch directory kept in %s", job.job_id, job.job_name, kept)
            except OSError as err:
                log.info("batch job %s (%s): could not keep its scratch directory: %s", job.job_id, job.job_name, err)
        job._mark_stopped(success=exit_code == 0)
        log.info("batch job %s (%s): exit %s", job.job_id, job.job_name, exit_code)


def log_group_of(container: Mapping[str, Any] | None) -> str:
    """The log group a job's output goes to, as AWS Batch decides it: the definition's ``awslogs-group`` when it
    logs through the awslogs driver, else ``/aws/batch/job`` (moto always uses the latter)."""
    config = (container or {}).get("logConfiguration") or {}
    if config.get("logDriver", "awslogs") == "awslogs":
        return (config.get("options") or {}).get("awslogs-group") or BATCH_LOG_GROUP
    return BATCH_LOG_GROUP


def _write_logs(job: Any, lines: list[str]) -> None:
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines[-MAX_LOG_LINES:] if line.strip()]
    job.log_stream_name = job._stream_name
    group = log_group_of(getattr(job.job_definition, "container_properties", None))
    job._log_group = group
    backend = job._log_backend
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, job.log_stream_name)
    if events:
        backend.put_log_events(group, job.log_stream_name, events)


def install(endpoint: str, work_root: Path | None = None) -> DeadProxy:
    """Make moto's simple Batch backend run jobs as local processes (call once, in the server process)."""
    from moto.batch_simple.models import BatchSimpleBackend

    proxy = DeadProxy()
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(max_parallel_jobs()):
        slots.put(slot)
    root = Path(work_root or tempfile.mkdtemp(prefix="strata-batch-jobs-"))
    root.mkdir(parents=True, exist_ok=True)

    def _mark_job_as_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
        self.backend._jobs[job.job_id] = job
        job.job_started_at = datetime.now()
        job.log_stream_name = job._stream_name
        if include_start_attempt:
            job._start_attempt()
        if job.array_properties.get("size"):
            return  # the parent of an array job: its children run, it reports their summary
        region = job.job_queue.arn.split(":")[3]
        threading.Thread(
            target=_run, args=(job, endpoint, region, proxy.url, root, slots), name=f"strata-batch-{job.job_id[:8]}", daemon=True
        ).start()

    BatchSimpleBackend._mark_job_as_finished = _mark_job_as_finished  # type: ignore[method-assign]
    log.info("Batch jobs run as local processes under %s (dead proxy %s)", root, proxy.url)
    return proxy
