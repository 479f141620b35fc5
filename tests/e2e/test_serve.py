"""`strata serve` end to end in the local cloud: the local stack deployed into a moto server, examples/flows/train_flow.py
run as team fraud (local compute, the team's S3 datastore), then the data scientist's commands as subprocesses:

- `strata serve deploy iris --run TrainFlow/<id> --dry-run -o DIR` (version 1), then again with `--canary-weight 20`
  (version 2): the artifacts land under teams/fraud/models/iris/<N>/, the Models point there, the Experiment splits
  80/20, and both validate against the Seldon v2.6.0 CRDs;
- `strata serve local iris --run ...`: a real MLServer on 127.0.0.1 answers a V2 request with the predictions the model
  object itself makes on the same rows; Ctrl-C (SIGINT) stops it with exit 0 and no traceback;
- `strata serve local iris --experiment DIR`: both versions behind the Experiment's weights; over 1,000 requests each
  version's share is within 5 points of 80/20;
- team forecasting deploying fraud's run is refused, and nothing is written to either team's models.

No cluster is involved (--dry-run); applying is tested against a fake API in tests/unit/test_serve_cluster.py.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import yaml
from argo_support import clean_env
from local_stack import deployed_local_stack
from serve_support import crd_errors, wait_for_line

from core import naming
from localcloud import session

REPO = Path(__file__).resolve().parents[2]
TRAIN_FLOW = REPO / "examples" / "flows" / "train_flow.py"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> Any:
    with deployed_local_stack(tmp_path_factory, "serve-cloud", ("fraud", "forecasting")) as deployed:
        work = deployed["paths"].work / "serve"
        work.mkdir(parents=True, exist_ok=True)
        yield {**deployed, "work": work}


def team_env(cloud, team: str) -> dict[str, str]:
    return {**clean_env(), **cloud["env"], "METAFLOW_PROFILE": naming.profile_name(session.STACK, team), "METAFLOW_USER": "e2e"}


def profile(cloud, team: str) -> dict[str, str]:
    return json.loads(cloud["paths"].profile(team).read_text())


def bucket(cloud) -> str:
    return profile(cloud, "fraud")["METAFLOW_DATASTORE_SYSROOT_S3"].split("/")[2]


def s3(cloud) -> Any:
    env = cloud["env"]
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def model_keys(cloud, team: str) -> list[str]:
    listed = s3(cloud).list_objects_v2(Bucket=bucket(cloud), Prefix=f"teams/{team}/models/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def strata(cloud, team: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "strata.cli", *args],
        cwd=cloud["work"],
        env=team_env(cloud, team),
        text=True,
        capture_output=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(cloud) -> dict[str, Any]:
    """train_flow.py run as fraud; the run id, and the model's own predictions on its test rows (Metaflow's client)."""
    id_file = cloud["work"] / "train-run-id"
    proc = subprocess.run(
        [sys.executable, str(TRAIN_FLOW), "--no-pylint", "run", "--run-id-file", str(id_file)],
        cwd=cloud["work"],
        env=team_env(cloud, "fraud"),
        text=True,
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"train_flow.py failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    run_id = id_file.read_text().strip()
    code = (
        "import json; from metaflow import Run, namespace; namespace(None); "
        f"r = Run('TrainFlow/{run_id}'); rows = r.data.test_rows; "
        "print(json.dumps({'rows': rows, 'predictions': r.data.model.predict(rows).tolist()}))"
    )
    read = subprocess.run(
        [sys.executable, "-c", code], cwd=cloud["work"], env=team_env(cloud, "fraud"), text=True, capture_output=True, timeout=300
    )
    assert read.returncode == 0, read.stderr[-3000:]
    return {"pathspec": f"TrainFlow/{run_id}", **json.loads(read.stdout.strip().splitlines()[-1])}


@pytest.fixture(scope="module")
def deployed(cloud, trained, tmp_path_factory) -> dict[str, Any]:
    """deploy v1 (--dry-run), then v2 as a 20% canary (--dry-run)."""
    v1, v2 = tmp_path_factory.mktemp("serve-v1"), tmp_path_factory.mktemp("serve-v2")
    first = strata(cloud, "fraud", "serve", "deploy", "iris", "--run", trained["pathspec"], "--dry-run", "-o", str(v1))
    assert first.returncode == 0, first.stdout + first.stderr
    second = strata(
        cloud,
        "fraud",
        "serve",
        "deploy",
        "iris",
        "--run",
        trained["pathspec"],
        "--canary-weight",
        "20",
        "--dry-run",
        "-o",
        str(v2),
    )
    assert second.returncode == 0, second.stdout + second.stderr
    return {"v1": v1, "v2": v2, "output": first.stdout + second.stdout}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def test_deploy_uploads_each_version_under_the_teams_prefix(cloud, deployed):
    keys = model_keys(cloud, "fraud")
    for version in (1, 2):
        assert f"teams/fraud/models/iris/{version}/model.joblib" in keys, keys
        assert f"teams/fraud/models/iris/{version}/model-settings.json" in keys, keys
    body = s3(cloud).get_object(Bucket=bucket(cloud), Key="teams/fraud/models/iris/2/model-settings.json")["Body"].read()
    settings = json.loads(body)
    assert settings["implementation"] == "mlserver_sklearn.SKLearnModel" and settings["parameters"]["uri"] == "./model.joblib"


def test_the_dry_run_writes_models_under_teams_fraud_and_an_80_20_experiment(cloud, deployed):
    assert sorted(p.name for p in deployed["v1"].iterdir()) == ["model-iris-v1.yaml"]
    assert sorted(p.name for p in deployed["v2"].iterdir()) == ["experiment-iris.yaml", "model-iris-v2.yaml"]
    namespace = profile(cloud, "fraud")["METAFLOW_KUBERNETES_NAMESPACE"]
    for version, folder in ((1, deployed["v1"]), (2, deployed["v2"])):
        model = load(folder / f"model-iris-v{version}.yaml")
        assert model["metadata"] == {**model["metadata"], "name": f"iris-v{version}", "namespace": namespace}
        assert model["spec"]["storageUri"] == f"s3://{bucket(cloud)}/teams/fraud/models/iris/{version}"
        assert model["spec"]["server"] == "mlserver" and model["spec"]["secretName"] == "strata-s3-storage"
        assert crd_errors("models", model) == []
    experiment = load(deployed["v2"] / "experiment-iris.yaml")
    assert experiment["spec"]["default"] == "iris-v1"
    assert {c["name"]: c["weight"] for c in experiment["spec"]["candidates"]} == {"iris-v1": 80, "iris-v2": 20}
    assert crd_errors("experiments", experiment) == []


def _serve(cloud, team: str, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "strata.cli", "serve", "local", *args],
        cwd=cloud["work"],
        env=team_env(cloud, team),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = wait_for_line(proc, "ready in", timeout=180)
    return proc, line.rsplit(" ", 1)[-1]


def _stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


def test_local_serves_the_runs_model_with_mlserver_and_stops_cleanly(cloud, trained):
    from strata.serve.local import free_port

    port = free_port()
    proc, url = _serve(cloud, "fraud", "iris", "--run", trained["pathspec"], "--port", str(port))
    try:
        assert url == f"http://127.0.0.1:{port}/v2/models/iris/infer"
        rows = trained["rows"]
        body = {"inputs": [{"name": "predict", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": sum(rows, [])}]}
        answer = httpx.post(url, json=body, timeout=30).json()
        assert answer["outputs"][0]["data"] == trained["predictions"], answer
        data = cloud["work"] / "rows.json"
        data.write_text(json.dumps(rows))
        predicted = strata(cloud, "fraud", "serve", "predict", "iris", "--data", str(data), "--url", url)
        assert predicted.returncode == 0, predicted.stderr
        assert json.loads(predicted.stdout)["outputs"]["predict"] == trained["predictions"]
    finally:
        code, stderr = _stop(proc)
    assert code == 0 and "Traceback" not in stderr, stderr
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2)


def test_the_experiment_splits_1000_requests_80_20_within_5_points(cloud, deployed, trained):
    from strata.serve.local import free_port

    port = free_port()
    proc, url = _serve(cloud, "fraud", "iris", "--experiment", str(deployed["v2"]), "--port", str(port))
    try:
        row = trained["rows"][0]
        body = {"inputs": [{"name": "predict", "shape": [1, len(row)], "datatype": "FP64", "data": row}]}
        seen: collections.Counter[str] = collections.Counter()
        with httpx.Client() as client:
            for _ in range(1000):
                answer = client.post(url, json=body, timeout=30).json()
                seen[answer["model_name"]] += 1
                assert answer["outputs"][0]["data"] == trained["predictions"][:1]
    finally:
        code, stderr = _stop(proc)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert set(seen) == {"iris-v1", "iris-v2"}, seen
    assert abs(seen["iris-v1"] / 10 - 80) <= 5 and abs(seen["iris-v2"] / 10 - 20) <= 5, seen


def test_another_team_deploying_frauds_run_is_refused_and_writes_nothing(cloud, deployed, trained, tmp_path):
    before = {team: model_keys(cloud, team) for team in ("fraud", "forecasting")}
    out = tmp_path / "foreign"
    proc = strata(cloud, "forecasting", "serve", "deploy", "iris", "--run", trained["pathspec"], "--dry-run", "-o", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "belongs to another team" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert {team: model_keys(cloud, team) for team in ("fraud", "forecasting")} == before
    assert not out.exists()


def test_a_non_model_artifact_is_refused_and_writes_nothing(cloud, deployed, trained, tmp_path):
    before = model_keys(cloud, "fraud")
    proc = strata(
        cloud,
        "fraud",
        "serve",
        "deploy",
        "iris",
        "--run",
        trained["pathspec"],
        "--artifact",
        "test_rows",
        "--dry-run",
        "-o",
        str(tmp_path / "x"),
    )
    assert proc.returncode == 1 and "not a model" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    missing = strata(
        cloud, "fraud", "serve", "deploy", "iris", "--run", "TrainFlow/999999", "--dry-run", "-o", str(tmp_path / "y")
    )
    assert missing.returncode == 1 and "no run TrainFlow/999999" in missing.stderr, missing.stderr
    assert model_keys(cloud, "fraud") == before
    assert os.listdir(tmp_path) == []
