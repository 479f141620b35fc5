"""`strata configure`: reads the team's SSM parameter with the caller's credentials and installs it safely."""

import json

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from strata import profiles
from strata.cli import app

PROFILE = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_BATCH_JOB_QUEUE": "arn:aws:batch:us-east-1:123456789012:job-queue/q"}


@pytest.fixture
def aws(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mf"))
    with mock_aws():
        boto3.client("ssm").put_parameter(Name=profiles.parameter_name("dev", "fraud"), Type="String", Value=json.dumps(PROFILE))
        yield tmp_path / "mf"


def test_configure_writes_the_profile(aws):
    result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 0, result.output
    written = json.loads((aws / "config_dev-fraud.json").read_text())
    assert written == PROFILE
    assert "METAFLOW_PROFILE=dev-fraud" in result.output


def test_configure_never_overwrites_a_different_file_without_force(aws):
    aws.mkdir(parents=True)
    target = aws / "config_dev-fraud.json"
    target.write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": "mine"}))
    result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 1
    assert "--force" in result.output
    assert json.loads(target.read_text()) == {"METAFLOW_BATCH_JOB_QUEUE": "mine"}, "the user's file was changed"
    forced = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(target.read_text()) == PROFILE


def test_configure_is_idempotent(aws):
    runner = CliRunner()
    assert runner.invoke(app, ["configure", "-e", "dev", "-t", "fraud"]).exit_code == 0
    again = runner.invoke(app, ["configure", "-e", "dev", "-t", "fraud"])
    assert again.exit_code == 0 and "already up to date" in again.output


def test_unknown_team_is_a_clear_error(aws):
    result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "nobody"])
    assert result.exit_code == 1
    assert "/strata/dev/teams/nobody/metaflow-profile" in result.output
    assert "Traceback" not in result.output


def test_sdk_parameter_name_matches_the_platform():
    from core import naming

    assert profiles.parameter_name("prod", "x") == naming.profile_parameter("prod", "x")
    assert profiles.profile_name("prod", "x") == naming.profile_name("prod", "x")
