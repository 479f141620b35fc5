"""Start, configure and stop the moto server that plays AWS for the local cloud.

The server runs as a separate process (``python -m localcloud.motoserver``: moto plus the local-cloud
hooks, Batch jobs as local processes and runnable Step Functions executions) so that the CLI can record its
PID, leave it running between commands, and let other processes (Metaflow, boto3 scripts) talk to
the same emulated account.
"""

from __future__ import annotations

import json
import os
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
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def is_up(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a moto server answers ``GET /moto-api/`` at ``endpoint``."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_moto(port: int | None = None, host: str = "127.0.0.1", log_path: str | None = None) -> MotoServer:
    """Start ``python -m localcloud.motoserver`` on ``host:port`` (a free port when None) and wait until it answers.

    ``MOTO_IAM_LOAD_MANAGED_POLICIES`` makes the AWS-managed policy ARNs (e.g.
    ``arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole``) exist, so attaching them works as on
    AWS. ``MOTO_PORT`` lets moto's own internal callbacks (Step Functions -> Batch) reach the server.
    The server's output goes to ``log_path`` (default: ``<tmp>/moto-<port>.log``), a file rather than
    a pipe, because the server outlives the process that started it.
    """
    port = port or free_port(host)
    log_path = log_path or os.path.join(tempfile.gettempdir(), f"moto-{port}.log")
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", MOTO_PORT=str(port))
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
    server = MotoServer(host=host, port=port, log_path=log_path, process=process)
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, errors="replace") as log:
                tail = log.read()[-2000:].strip()
            raise RuntimeError(f"moto server exited with code {process.returncode} (log {log_path}): {tail}")
        if is_up(server.endpoint):
            return server
        time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"moto server on {server.endpoint} did not answer within {_START_TIMEOUT_S:.0f} s (log {log_path})")


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
