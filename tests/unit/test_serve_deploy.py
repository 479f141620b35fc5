"""`strata serve deploy` through the CLI, with S3 in moto (in process), a fake Metaflow reader (serve_fakes.FakeRuns: the
same checks as the real child process, which tests/e2e/test_serve.py runs against real runs) and, without --dry-run,
a fake ``CustomObjectsApi``.

Every refusal: exit 1, one ``error:`` line naming the fix, no traceback, and nothing written to S3, the output
directory or the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from seldon_crds import crd_errors
from serve_fakes import BUCKET, ROOTS, FakeCustomObjects, FakeRuns, write_profile
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from strata.cli import app
from strata.serve import cli as serve_cli

X = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]]
Y = [0, 1, 1, 0]
runner = CliRunner()


@pytest.fixture
def world(tmp_path, monkeypatch) -> Any:
    home = tmp_path / "mf"
    for team in ("fraud", "forecasting"):
        write_profile(home, team)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.setenv("METAFLOW_PROFILE", "dev-fraud")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    model = LogisticRegression().fit(X, Y)
    runs = FakeRuns(
        {
            "TrainFlow/1": (ROOTS["fraud"], {"model": model, "rows": X}),
            "TrainFlow/2": (ROOTS["fraud"], {"model": LogisticRegression().fit(X, [1, 0, 0, 1])}),
            "TrainFlow/3": (ROOTS["fraud"], {"model": LogisticRegression()}),  # never fitted
            "TrainFlow/4": (ROOTS["fraud"], {"model": _Unpicklable()}),
            "TrainFlow/9": (ROOTS["forecasting"], {"model": model}),
        }
    )
    api = FakeCustomObjects()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setattr(serve_cli.deps, "s3", lambda: s3)
        monkeypatch.setattr(serve_cli.deps, "fetcher", runs)
        monkeypatch.setattr(serve_cli.deps, "connect", lambda team: api)
        yield {"s3": s3, "runs": runs, "api": api, "tmp": tmp_path}


class _Unpicklable:
    def __init__(self) -> None:
        # A generator: pickle refuses it (a lambda would not do: dill, which pulumi imports, extends pickle to them).
        self.state = (i for i in range(3))

    def predict(self, rows: list) -> list:
        return [0 for _ in rows]


def keys(world) -> list[str]:
    return sorted(o["Key"] for o in world["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", []))


def deploy(*args: str):  # noqa: ANN201
    return runner.invoke(app, ["serve", "deploy", *args])


def test_dry_run_uploads_v1_and_writes_the_model(world):
    out = world["tmp"] / "v1"
    result = deploy("iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert keys(world) == ["teams/fraud/models/iris/1/model-settings.json", "teams/fraud/models/iris/1/model.joblib"]
    model = yaml.safe_load((out / "model-iris-v1.yaml").read_text())
    assert model["spec"]["storageUri"] == f"s3://{BUCKET}/teams/fraud/models/iris/1"
    assert crd_errors("models", model) == []
    assert world["api"].calls == [], "a dry run never talks to the cluster"


def test_a_canary_dry_run_is_the_next_version_split_with_the_current_one(world):
    assert deploy("iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(world["tmp"] / "v1")).exit_code == 0
    out = world["tmp"] / "v2"
    result = deploy("iris", "--run", "TrainFlow/2", "--canary-weight", "20", "--dry-run", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "iris-v2 gets 20% of the requests, iris-v1 80%" in result.output
    experiment = yaml.safe_load((out / "experiment-iris.yaml").read_text())
    assert {c["name"]: c["weight"] for c in experiment["spec"]["candidates"]} == {"iris-v1": 80, "iris-v2": 20}
    assert crd_errors("experiments", experiment) == []
    assert "teams/fraud/models/iris/2/model.joblib" in keys(world)


def _refused(world, result, *needles: str, before: list[str] | None = None) -> None:
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in result.output, result.output
    assert keys(world) == (before or []), "nothing is written to S3"
    assert world["api"].objects == {}
    assert not (world["tmp"] / "out").exists(), "nothing is written to the output directory"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--canary-weight", "0"], ["between 1 and 99"]),
        (["--canary-weight", "100"], ["between 1 and 99"]),
        (["--canary-weight", "-3"], ["between 1 and 99"]),
        (["--canary-weight", "20"], ["no current version", "deploy it first without --canary-weight"]),
    ],
)
def test_bad_weights_are_refused_before_anything_is_written(world, args, needles):
    result = deploy("iris", "--run", "TrainFlow/1", *args, "--dry-run", "-o", str(world["tmp"] / "out"))
    _refused(world, result, *needles)


def test_a_non_integer_weight_is_refused_by_the_cli(world):
    result = deploy("iris", "--run", "TrainFlow/1", "--canary-weight", "20.5", "--dry-run", "-o", str(world["tmp"] / "out"))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert keys(world) == []


@pytest.mark.parametrize(
    ("name", "needle"),
    [("Iris", "not a valid Kubernetes name"), ("iris_1", "not a valid Kubernetes name"), ("a" * 61, "too long")],
)
def test_bad_names_are_refused(world, name, needle):
    _refused(world, deploy(name, "--run", "TrainFlow/1", "--dry-run", "-o", str(world["tmp"] / "out")), needle)
    assert world["runs"].calls == [], "the name is checked before the run is read"


@pytest.mark.parametrize(
    ("run", "extra", "needles"),
    [
        ("TrainFlow/77", [], ["no run TrainFlow/77"]),
        ("TrainFlow", [], ["give FLOW/RUN_ID"]),
        ("TrainFlow/1", ["--artifact", "weights"], ["no artifact 'weights'", "--artifact"]),
        ("TrainFlow/1", ["--artifact", "rows"], ["not a model", "predict"]),
        ("TrainFlow/3", [], ["unfitted", "fit()"]),
        ("TrainFlow/4", [], ["cannot be saved with joblib"]),
        ("TrainFlow/9", [], ["belongs to another team"]),
    ],
)
def test_bad_runs_and_artifacts_are_refused_and_write_nothing(world, run, extra, needles):
    result = deploy("iris", "--run", run, *extra, "--dry-run", "-o", str(world["tmp"] / "out"))
    _refused(world, result, *needles)


def test_another_teams_run_is_refused_for_the_profile_named_by_team(world, monkeypatch):
    monkeypatch.setenv("METAFLOW_PROFILE", "dev-fraud")
    result = deploy("iris", "--run", "TrainFlow/1", "--team", "forecasting", "--dry-run", "-o", str(world["tmp"] / "out"))
    _refused(world, result, "belongs to another team")


def test_missing_profile_and_options_are_explained(world, monkeypatch):
    _refused(
        world,
        deploy("iris", "--run", "TrainFlow/1", "--team", "nobody", "--dry-run", "-o", str(world["tmp"] / "out")),
        "strata configure",
    )
    _refused(world, deploy("iris", "--run", "TrainFlow/1", "--dry-run"), "--dry-run needs -o DIR")
    _refused(world, deploy("iris", "--run", "TrainFlow/1", "-o", str(world["tmp"] / "out")), "for --dry-run only")
    monkeypatch.delenv("METAFLOW_PROFILE")
    _refused(world, deploy("iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(world["tmp"] / "out")), "METAFLOW_PROFILE")


def test_a_profile_without_kubernetes_cannot_deploy(world, tmp_path, monkeypatch):
    write_profile(tmp_path / "mf", "fraud", env="nok8s", namespace=False)
    monkeypatch.setenv("METAFLOW_PROFILE", "nok8s-fraud")
    _refused(world, deploy("iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(world["tmp"] / "out")), "no Kubernetes layer")


def test_versions_are_never_overwritten(world):
    for i in range(3):
        assert deploy("iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(world["tmp"] / f"v{i}")).exit_code == 0
    assert [k for k in keys(world) if k.endswith("model.joblib")] == [
        f"teams/fraud/models/iris/{v}/model.joblib" for v in (1, 2, 3)
    ]
    assert Path(world["tmp"] / "v2" / "model-iris-v3.yaml").exists()
