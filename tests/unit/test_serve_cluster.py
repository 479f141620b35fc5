"""Applying, status, promote and rollback against a fake ``CustomObjectsApi`` (serve_fakes.FakeCustomObjects).

There is no Kubernetes API server here: these tests check what `strata serve` asks of the API (which objects it
creates, replaces and deletes, in which namespace) and that it copes with the API's answers (404, 409, 403). Whether
a real Seldon v2.6.0 control plane then loads the model is not tested here."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from kubernetes.client.exceptions import ApiException
from moto import mock_aws
from seldon_crds import crd_errors
from serve_fakes import BUCKET, ROOTS, FakeCustomObjects, FakeRuns, write_profile
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from strata.cli import app
from strata.serve import cli as serve_cli
from strata.serve.cluster import Cluster, current_version
from strata.serve.manifests import ServeProblem, Target, render_model

runner = CliRunner()
NS = "team-fraud"


@pytest.fixture
def world(tmp_path, monkeypatch) -> Any:
    home = tmp_path / "mf"
    write_profile(home, "fraud")
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.setenv("METAFLOW_PROFILE", "dev-fraud")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    runs = FakeRuns({"TrainFlow/1": (ROOTS["fraud"], {"model": model}), "TrainFlow/2": (ROOTS["fraud"], {"model": model})})
    api = FakeCustomObjects()
    api.add_server(NS)  # as the platform declares it: 0 replicas
    connected: list[str] = []

    def connect(team):  # noqa: ANN001, ANN202
        connected.append(team.context)
        return api

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setattr(serve_cli.deps, "s3", lambda: s3)
        monkeypatch.setattr(serve_cli.deps, "fetcher", runs)
        monkeypatch.setattr(serve_cli.deps, "connect", connect)
        yield {"api": api, "s3": s3, "connected": connected}


def serve(*args: str):  # noqa: ANN201
    return runner.invoke(app, ["serve", *args])


def canary(world) -> None:
    first = serve("deploy", "iris", "--run", "TrainFlow/1")
    assert first.exit_code == 0, first.output
    second = serve("deploy", "iris", "--run", "TrainFlow/2", "--canary-weight", "20")
    assert second.exit_code == 0, second.output


def test_deploy_applies_the_model_in_the_teams_namespace_with_the_teams_context(world):
    result = serve("deploy", "iris", "--run", "TrainFlow/1")
    assert result.exit_code == 0, result.output
    assert "Model iris-v1 created in namespace team-fraud" in result.output
    assert world["connected"] == ["strata-dev-fraud"], "the context `strata configure` wrote"
    assert world["api"].calls == [("create", "models", "iris-v1"), ("scale", "servers", "mlserver")]
    model = world["api"].objects[(NS, "models", "iris-v1")]
    assert crd_errors("models", {k: v for k, v in model.items()}) == []


def test_deploy_starts_the_teams_stopped_server_once(world):
    """The platform's Server idles at 0 replicas ($0); the first deploy starts one, later ones leave it."""
    first = serve("deploy", "iris", "--run", "TrainFlow/1")
    assert first.exit_code == 0, first.output
    assert "started Server mlserver in team-fraud" in " ".join(first.output.split())
    assert world["api"].objects[(NS, "servers", "mlserver")]["spec"]["replicas"] == 1
    second = serve("deploy", "iris", "--run", "TrainFlow/2", "--canary-weight", "20")
    assert second.exit_code == 0, second.output
    assert [c for c in world["api"].calls if c[0] == "scale"] == [("scale", "servers", "mlserver")], "started once"


def test_deploy_without_a_server_says_the_environment_has_no_serving(world):
    del world["api"].objects[(NS, "servers", "mlserver")]
    result = serve("deploy", "iris", "--run", "TrainFlow/1")
    assert result.exit_code != 0 and "no Server mlserver" in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_a_canary_applies_model_and_experiment_and_status_shows_the_weights(world):
    canary(world)
    api = world["api"]
    assert api.names("models") == ["iris-v1", "iris-v2"] and api.names("experiments") == ["iris"]
    experiment = api.objects[(NS, "experiments", "iris")]
    assert experiment["spec"]["default"] == "iris-v1"
    assert {c["name"]: c["weight"] for c in experiment["spec"]["candidates"]} == {"iris-v1": 80, "iris-v2": 20}
    api.objects[(NS, "models", "iris-v2")]["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    status = serve("status", "iris")
    assert status.exit_code == 0, status.output
    lines = {line.split()[1]: line for line in status.output.splitlines() if "iris-v" in line}
    assert "80%" in lines["iris-v1"] and "unknown" in lines["iris-v1"]
    assert "20%" in lines["iris-v2"] and "True" in lines["iris-v2"]


def test_a_second_canary_while_one_runs_is_refused_and_writes_nothing(world):
    canary(world)
    before = {k: dict(v) for k, v in world["api"].objects.items()}
    keys_before = world["s3"].list_objects_v2(Bucket=BUCKET)["KeyCount"]
    result = serve("deploy", "iris", "--run", "TrainFlow/2", "--canary-weight", "30")
    assert result.exit_code == 1 and "promote" in result.output and "rollback" in result.output, result.output
    assert world["api"].objects == before
    assert world["s3"].list_objects_v2(Bucket=BUCKET)["KeyCount"] == keys_before


def test_a_canary_needs_a_version_serving_in_the_cluster(world, tmp_path):
    """Version 1 uploaded by a dry run but never applied: nothing serves, so there is nothing to split with."""
    assert serve("deploy", "iris", "--run", "TrainFlow/1", "--dry-run", "-o", str(tmp_path / "v1")).exit_code == 0
    result = serve("deploy", "iris", "--run", "TrainFlow/2", "--canary-weight", "20")
    assert result.exit_code == 1 and "no current version of 'iris' in namespace team-fraud" in result.output, result.output
    assert world["api"].names("models") == [] and world["api"].names("experiments") == []


def test_promote_keeps_the_candidate_only(world):
    canary(world)
    result = serve("promote", "iris")
    assert result.exit_code == 0, result.output
    assert world["api"].names("models") == ["iris-v2"] and world["api"].names("experiments") == []
    assert [c for c in world["api"].calls if c[0] == "delete"] == [
        ("delete", "experiments", "iris"),
        ("delete", "models", "iris-v1"),
    ]
    again = serve("promote", "iris")
    assert again.exit_code == 1 and "nothing to promote" in again.output and "Traceback" not in again.output


def test_rollback_keeps_the_current_version_only(world):
    canary(world)
    result = serve("rollback", "iris")
    assert result.exit_code == 0, result.output
    assert world["api"].names("models") == ["iris-v1"] and world["api"].names("experiments") == []
    assert [c for c in world["api"].calls if c[0] == "delete"] == [
        ("delete", "experiments", "iris"),
        ("delete", "models", "iris-v2"),
    ]
    # after a rollback the next canary is version 3 (versions are never reused) against version 1
    result = serve("deploy", "iris", "--run", "TrainFlow/2", "--canary-weight", "10")
    assert result.exit_code == 0, result.output
    spec = world["api"].objects[(NS, "experiments", "iris")]["spec"]
    assert spec == {"default": "iris-v1", "candidates": [{"name": "iris-v1", "weight": 90}, {"name": "iris-v3", "weight": 10}]}


def test_apply_replaces_an_existing_object_with_its_resource_version():
    api = FakeCustomObjects()
    cluster = Cluster(api, NS)
    doc = render_model(Target("fraud", BUCKET, NS), "iris", 1)
    assert cluster.apply(doc) == "created"
    assert cluster.apply(doc) == "configured"
    assert api.calls == [("create", "models", "iris-v1"), ("create", "models", "iris-v1"), ("replace", "models", "iris-v1")]
    other = render_model(Target("fraud", BUCKET, "team-forecasting"), "iris", 1)
    with pytest.raises(ServeProblem, match="namespace"):
        cluster.apply(other)


def test_api_refusals_are_explained_not_raised():
    class Forbidden(FakeCustomObjects):
        def list_namespaced_custom_object(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(ServeProblem, match="data-scientist role"):
        current_version(Cluster(Forbidden(), NS), "iris")


def test_status_of_an_unknown_model_says_so(world):
    result = serve("status", "nothing")
    assert result.exit_code == 0 and "no version of 'nothing' in namespace team-fraud" in result.output
