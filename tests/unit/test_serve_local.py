"""`strata serve local` and `predict` without MLServer: the V2 request body, the outputs, the experiment router (over a
stub upstream that answers like MLServer), and the SDK without the serve extra. MLServer itself is exercised in
tests/e2e/test_serve.py."""

from __future__ import annotations

import collections
import json
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from strata.cli import app
from strata.serve import local
from strata.serve.artifact import model_problem
from strata.serve.manifests import ServeProblem

runner = CliRunner()


def test_rows_become_one_fp64_tensor():
    assert local.v2_request([[1, 2.5], [3, 4]]) == {
        "inputs": [{"name": "predict", "shape": [2, 2], "datatype": "FP64", "data": [1, 2.5, 3, 4]}]
    }
    assert local.v2_request([1, 2, 3])["inputs"][0]["shape"] == [1, 3]


def test_a_v2_body_is_sent_as_it_is():
    body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "INT64", "data": [1]}], "parameters": {"a": 1}}
    assert local.v2_request(body) == body


@pytest.mark.parametrize("bad", [[], [[1, 2], [3]], [["a"]], {"rows": []}, [[True]], "text", [[]]])
def test_bad_request_data_is_refused(bad):
    with pytest.raises(ServeProblem):
        local.v2_request(bad)


def test_outputs_are_reshaped_into_rows():
    response = {
        "outputs": [
            {"name": "predict", "shape": [3, 1], "data": [0, 1, 2]},
            {"name": "predict_proba", "shape": [2, 2], "data": [0.1, 0.9, 0.8, 0.2]},
        ]
    }
    assert local.outputs(response) == {"predict": [0, 1, 2], "predict_proba": [[0.1, 0.9], [0.8, 0.2]]}


def test_the_split_draws_1000_requests_within_5_points_of_80_20():
    split = local.Split({"iris-v1": 80, "iris-v2": 20}, rng=random.Random(13))
    seen = collections.Counter(split.choose() for _ in range(1000))
    assert abs(seen["iris-v1"] / 10 - 80) <= 5 and abs(seen["iris-v2"] / 10 - 20) <= 5, seen


@pytest.mark.parametrize("weights", [{"a": 80, "b": 30}, {"a": 100, "b": 0}, {"a": 50}])
def test_the_split_refuses_weights_that_do_not_sum_to_100_or_are_not_positive(weights):
    if sum(weights.values()) == 100 and all(w > 0 for w in weights.values()):
        pytest.skip("valid")
    with pytest.raises(ServeProblem):
        local.Split(weights)


@pytest.fixture
def upstream() -> Iterator[int]:
    """Answers ``POST /v2/models/<m>/infer`` with ``{"model_name": m}`` as MLServer does."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without it each answer waits ~40 ms for an ACK

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            model = self.path.split("/")[3]
            body = json.dumps({"model_name": model, "outputs": [{"name": "predict", "shape": [1, 1], "data": [1]}]}).encode()
            self.send_response(200 if model.startswith("iris-v") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_router_sends_1000_requests_80_20_within_5_points(upstream):
    port = local.free_port()
    router = local.Router("iris", port, upstream, local.Split({"iris-v1": 80, "iris-v2": 20}, rng=random.Random(5))).start()
    try:
        seen: collections.Counter[str] = collections.Counter()
        with httpx.Client() as client:
            for _ in range(1000):
                answer = local.infer(local.infer_url("iris", port), {"inputs": []}, client=client)
                seen[answer["model_name"]] += 1
    finally:
        router.stop()
    assert abs(seen["iris-v1"] / 10 - 80) <= 5 and abs(seen["iris-v2"] / 10 - 20) <= 5, seen


def test_predict_prints_the_outputs(upstream, tmp_path):
    data = tmp_path / "rows.json"
    data.write_text(json.dumps([[1.0, 2.0]]))
    result = runner.invoke(
        app, ["serve", "predict", "iris-v1", "--data", str(data), "--url", local.infer_url("iris-v1", upstream)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"model_name": "iris-v1", "outputs": {"predict": [1]}}


def test_predict_explains_a_server_that_is_not_running(tmp_path):
    data = tmp_path / "rows.json"
    data.write_text("[[1.0]]")
    result = runner.invoke(
        app, ["serve", "predict", "iris", "--data", str(data), "--url", local.infer_url("iris", local.free_port())]
    )
    assert result.exit_code == 1 and "is `strata serve local` running?" in result.output and "Traceback" not in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(app, ["serve", "predict", "iris", "--data", str(bad)])
    assert result.exit_code == 1 and "cannot read" in result.output


def test_model_problem_refuses_what_mlservers_sklearn_runtime_cannot_serve():
    from sklearn.linear_model import LogisticRegression

    assert "not a model" in (model_problem({"slope": 1.0}, "model") or "")
    assert "unfitted" in (model_problem(LogisticRegression(), "model") or "")
    assert model_problem(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "model") is None


BLOCK_SERVE_EXTRA = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('mlserver', 'mlserver_sklearn', 'httpx', 'sklearn', 'joblib'):
            raise ImportError(f'blocked {name}')
sys.meta_path.insert(0, Block())
import importlib.util
_real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split('.')[0] in ('mlserver', 'mlserver_sklearn', 'sklearn', 'joblib') else _real(name, *a)
sys.argv = ['strata', *sys.argv[1:]]
from strata.cli import main
main()
"""


def test_the_sdk_works_without_the_serve_extra_and_says_how_to_get_it(tmp_path):
    """The base SDK imports no mlserver, httpx or scikit-learn; `strata serve local` names the extra."""
    help_text = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVE_EXTRA, "serve", "--help"], capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0, help_text.stderr
    served = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVE_EXTRA, "serve", "local", "iris", "--version", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert served.returncode == 1, served.stdout + served.stderr
    assert "pip install 'strata-sdk[serve]'" in served.stderr and "Traceback" not in served.stderr, served.stderr


def test_local_refuses_a_busy_port_and_an_unclear_source(tmp_path, monkeypatch):
    from serve_fakes import write_profile

    write_profile(tmp_path / "mf", "fraud")
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mf"))
    monkeypatch.setenv("METAFLOW_PROFILE", "dev-fraud")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "local", "iris", "--version", "1", "--port", str(taken)])
    assert result.exit_code == 1 and f"port {taken} on 127.0.0.1 is in use" in result.output, result.output
    both = runner.invoke(app, ["serve", "local", "iris", "--version", "1", "--run", "F/1", "--port", str(local.free_port())])
    assert both.exit_code == 1 and "exactly one of --run" in both.output and "Traceback" not in both.output, both.output
