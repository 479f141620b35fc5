"""Start, configure and stop the moto server that plays AWS for the local cloud.

The server runs as a separate process (``python -m localcloud.motoserver``: moto plus the local-cloud
hooks, Batch jobs as local processes and runnable Step Functions executions) so that the CLI can record its
PID, leave it running between commands, and let other processes (Metaflow, boto3 scripts) talk to
the same emulated account.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

# moto's fake credentials: what every client of the local cloud (the CLI, Metaflow, Batch jobs) uses.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# How long a fresh server may take before we give up. It normally answers in under a second;
# loading the AWS-managed IAM policies adds a little.
_START_TIMEOUT_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """A running ``moto.server`` subprocess."""

    host: str
    port: int
    log_path: str
    job_dir: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    # A temporary directory start_moto made for the log and the jobs' scratch space: stop() removes it.
    owned_dir: str | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owned_dir:
            shutil.rmtree(self.owned_dir, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-chars:].strip()
        except OSError:
            return ""

    def wait_until_up(self, timeout: float = _START_TIMEOUT_S) -> None:
        """Wait until the server answers; stop it and raise (with its log's tail) if it exits or never answers."""
        assert self.process is not None, "not started by spawn_moto"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"moto server exited with code {self.process.returncode}: {tail}")
            if is_up(self.endpoint):
                return
            time.sleep(0.05)
        tail = self.log_tail()
        self.stop()
        raise TimeoutError(f"moto server on {self.endpoint} did not answer within {timeout:.0f} s: {tail}")


def is_up(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a moto server answers ``GET /moto-api/`` at ``endpoint``."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_moto(
    port: int | None = None, host: str = "127.0.0.1", log_path: str | None = None, job_dir: str | None = None
) -> MotoServer:
    """Start ``python -m localcloud.motoserver`` on ``host:port`` (a free port when None) and wait until it answers
    (:func:`spawn_moto`, then :meth:`MotoServer.wait_until_up`)."""
    server = spawn_moto(port, host, log_path, job_dir)
    server.wait_until_up()
    return server


def spawn_moto(
    port: int | None = None, host: str = "127.0.0.1", log_path: str | None = None, job_dir: str | None = None
) -> MotoServer:
    """Start ``python -m localcloud.motoserver`` without waiting for it: the caller can work while it boots
    (about a second, most of it importing moto), then calls :meth:`MotoServer.wait_until_up`.

    ``MOTO_IAM_LOAD_MANAGED_POLICIES`` makes the AWS-managed policy ARNs (e.g.
    ``arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole``) exist, so attaching them works as on
    AWS. ``MOTO_PORT`` lets moto's own internal callbacks (Step Functions -> Batch) reach the server.
    The server's output goes to ``log_path``, a file rather than a pipe, because the server outlives the
    process that started it; Batch jobs run in ``job_dir`` (localcloud/jobs.py). Without them both go to a
    new temporary directory that :meth:`MotoServer.stop` removes (`strata local up` keeps them under
    .strata/local/, and `strata local down` removes them).
    """
    port = port or free_port(host)
    owned = None
    if log_path is None:
        owned = tempfile.mkdtemp(prefix=f"strata-moto-{port}-")
        log_path = os.path.join(owned, "moto.log")
        job_dir = job_dir or os.path.join(owned, "jobs")
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", MOTO_PORT=str(port))
    if job_dir:
        env["STRATA_LOCAL_JOB_DIR"] = job_dir
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            # moto's server plus the local-cloud hooks (Batch jobs run as local processes: localcloud/jobs.py).
            [sys.executable, "-m", "localcloud.motoserver", "-H", host, "-p", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not killed with the CLI's process group
        )
    return MotoServer(host=host, port=port, log_path=log_path, job_dir=job_dir, process=process, owned_dir=owned)


def configure_moto(endpoint: str) -> None:
    """Batch without Docker (jobs then run as local processes, localcloud/jobs.py) and Step Functions
    executions that actually run (localcloud/sfn.py). Set before any state machine is created."""
    body = json.dumps({"batch": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}).encode()
    req = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
