"""Serving here: MLServer on 127.0.0.1 (``mlserver start <dir>`` in a child process), the V2 request body, and the
weighted router that stands in for a Seldon ``Experiment``.

MLServer 1.7's worker pool crashes with uvloop >= 0.22 (../shared/FACTS.md): ``parallel_workers: 0`` serves in the
main process, which is also what a single-user local server needs. Its gRPC and metrics ports are free ports picked
here, so several local servers (and anything on 8081/8082) can coexist.

The router is the simplest honest stand-in for Seldon's experiment routing: one MLServer serves every version (a
multi-model repository, ``<NAME>-v<N>/``), and a small HTTP server on the public port sends each
``POST /v2/models/<NAME>/infer`` to version ``N`` with probability weight/100 (Seldon draws at random too). The
response is MLServer's own, so its ``model_name`` says which version answered. The router is the standard library's
threading HTTP server and urllib: a web framework would add a dependency for a few dozen lines.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from strata.serve import SERVE_EXTRA_HINT
from strata.serve.manifests import SETTINGS_FILE, ServeProblem

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_FILE = "mlserver.log"


def require_serve_extra() -> None:
    """mlserver and mlserver-sklearn (the ``strata-sdk[serve]`` extra) must be importable; say how to get them."""
    import importlib.util

    missing = [m for m in ("mlserver", "mlserver_sklearn", "sklearn", "joblib") if importlib.util.find_spec(m) is None]
    if missing:
        raise ServeProblem(f"{', '.join(missing)} not installed: {SERVE_EXTRA_HINT}")


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port_free(port: int, host: str = HOST) -> None:
    """Refuse a port something already listens on (before any download or start)."""
    if not 0 < port < 65536:
        raise ServeProblem(f"--port {port}: give a port between 1 and 65535")
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            raise ServeProblem(f"port {port} on {host} is in use: pass another --port") from None


def infer_url(name: str, port: int, host: str = HOST) -> str:
    return f"http://{host}:{port}/v2/models/{name}/infer"


def server_settings(port: int, grpc_port: int, metrics_port: int) -> dict[str, Any]:
    return {
        "host": HOST,
        "http_port": port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": 0,
        "debug": False,
    }


def write_repository(root: Path, port: int) -> None:
    """MLServer's settings.json for a repository whose models are already in ``root/<model>/``."""
    settings = server_settings(port, free_port(), free_port())
    (root / "settings.json").write_text(json.dumps(settings, indent=2))


def place_model(root: Path, model: str, artifact: Path, settings: Mapping[str, Any]) -> Path:
    """``root/<model>/`` with the artifact and its model-settings.json, renamed ``model`` (the URL's name)."""
    folder = root / model
    folder.mkdir(parents=True, exist_ok=True)
    if artifact.resolve() != (folder / artifact.name).resolve():
        shutil.copyfile(artifact, folder / artifact.name)
    (folder / SETTINGS_FILE).write_text(json.dumps({**settings, "name": model}, indent=2))
    return folder


def mlserver_command() -> list[str]:
    script = Path(sys.executable).parent / "mlserver"
    if script.exists():
        return [str(script)]
    if found := shutil.which("mlserver"):
        return [found]
    raise ServeProblem(f"no `mlserver` command found: {SERVE_EXTRA_HINT}")


@dataclass
class MLServer:
    """A running ``mlserver start <root>`` (its own session: Ctrl-C reaches us, and we stop it)."""

    root: Path
    port: int
    models: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    ready_after: float | None = None

    def start(self) -> MLServer:
        write_repository(self.root, self.port)
        log = (self.root / LOG_FILE).open("wb")
        self.started = time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [*mlserver_command(), "start", str(self.root)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=env,
            start_new_session=True,
        )
        log.close()
        return self

    def log_tail(self, lines: int = 15) -> str:
        path = self.root / LOG_FILE
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> float:
        """Seconds from start until every model answers ready; a ServeProblem (with MLServer's log) otherwise."""
        assert self.process is not None
        urls = [f"http://{HOST}:{self.port}/v2/models/{m}/ready" for m in self.models]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServeProblem(f"MLServer stopped (exit {self.process.returncode}) before it was ready:\n{self.log_tail()}")
            if all(_get_ok(u) for u in urls):
                self.ready_after = time.monotonic() - self.started
                return self.ready_after
            time.sleep(0.1)
        self.stop()
        raise ServeProblem(f"MLServer was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate MLServer (SIGTERM, then SIGKILL after a grace period) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# ---------------------------------------------------------------- V2 requests


def v2_request(data: Any) -> dict[str, Any]:
    """A V2 inference request body from ``data``: a V2 body (an object with ``inputs``) as it is, or rows of numbers
    (a list of lists, or one list for a single row) as one FP64 tensor ``[rows, columns]``."""
    if isinstance(data, Mapping):
        if not isinstance(data.get("inputs"), list):
            raise ServeProblem('the request is a JSON object without an "inputs" list: give a V2 request body or a list of rows')
        return dict(data)
    if isinstance(data, list) and data and all(isinstance(v, int | float) and not isinstance(v, bool) for v in data):
        data = [data]
    if not (isinstance(data, list) and data and all(isinstance(r, list) and r for r in data)):
        raise ServeProblem("the request must be a V2 body ({'inputs': [...]}) or a non-empty list of rows of numbers")
    widths = {len(r) for r in data}
    if len(widths) != 1:
        raise ServeProblem(f"every row must have the same number of columns, got {sorted(widths)}")
    flat = [v for row in data for v in row]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        raise ServeProblem("rows must hold numbers only")
    return {"inputs": [{"name": "predict", "shape": [len(data), widths.pop()], "datatype": "FP64", "data": flat}]}


def infer(url: str, body: Mapping[str, Any], client: Any = None, timeout: float = 30.0) -> dict[str, Any]:
    """POST ``body`` to ``url`` (a V2 infer URL); the response body. ``client``: an httpx.Client to reuse."""
    try:
        import httpx
    except ImportError:
        raise ServeProblem(f"httpx not installed: {SERVE_EXTRA_HINT}") from None
    try:
        if client is not None:
            response = client.post(url, json=body, timeout=timeout)
        else:
            response = httpx.post(url, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServeProblem(f"no answer from {url} ({type(exc).__name__}): is `strata serve local` running?") from None
    if response.status_code != 200:
        raise ServeProblem(f"{url} answered {response.status_code}: {response.text[:500]}")
    return dict(response.json())


def outputs(response: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The response's outputs by name, each as rows (its flat ``data`` reshaped by its ``shape``)."""
    shaped = {}
    for out in response.get("outputs") or []:
        data, shape = list(out.get("data") or []), list(out.get("shape") or [])
        if len(shape) == 2 and shape[1] > 1:
            data = [data[i : i + shape[1]] for i in range(0, len(data), shape[1])]
        shaped[out["name"]] = data
    return shaped


# ---------------------------------------------------------------- the experiment router


@dataclass
class Split:
    """Weighted choice among upstream model names (weights in percent, summing to 100)."""

    weights: Mapping[str, int]
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if sum(self.weights.values()) != 100 or any(w <= 0 for w in self.weights.values()):
            raise ServeProblem(f"router weights must be positive and sum to 100, got {dict(self.weights)}")

    def choose(self) -> str:
        with self.lock:  # random.Random is not thread-safe under the threading server
            return self.rng.choices(list(self.weights), weights=list(self.weights.values()))[0]


def _handler(name: str, upstream_port: int, split: Split) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without it each answer waits ~40 ms for an ACK

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, path: str, body: bytes | None) -> None:
            request = urllib.request.Request(
                f"http://{HOST}:{upstream_port}{path}",
                data=body,
                method="POST" if body is not None else "GET",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    self._send(response.status, response.read(), response.headers.get("Content-Type", "application/json"))
            except urllib.error.HTTPError as exc:
                self._send(exc.code, exc.read())
            except (urllib.error.URLError, OSError) as exc:
                self._send(502, json.dumps({"error": f"MLServer unreachable: {exc}"}).encode())

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") in (f"/v2/models/{name}/infer", f"/v2/models/{name}.experiment/infer"):
                self._forward(f"/v2/models/{split.choose()}/infer", body)
            else:
                self._forward(self.path, body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") == f"/v2/models/{name}/ready":
                self._forward(f"/v2/models/{next(iter(split.weights))}/ready", None)
            else:
                self._forward(self.path, None)

    return Handler


@dataclass
class Router:
    """``POST /v2/models/<name>/infer`` on ``port``, sent to one of ``split``'s models on the MLServer at
    ``upstream_port``; other paths pass through."""

    name: str
    port: int
    upstream_port: int
    split: Split
    server: ThreadingHTTPServer | None = None

    def start(self) -> Router:
        try:
            self.server = ThreadingHTTPServer((HOST, self.port), _handler(self.name, self.upstream_port, self.split))
        except OSError as exc:
            raise ServeProblem(f"the router cannot listen on {HOST}:{self.port} ({exc}): pass another --port") from None
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="strata-serve-router", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops `strata serve local` as Ctrl-C does (the child is stopped, no traceback)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
