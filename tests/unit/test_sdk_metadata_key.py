"""`strata configure` adds the team's metadata API key from Secrets Manager to the local profile file only."""

import json
import stat

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from strata import profiles
from strata.cli import app

SERVICE = {"METAFLOW_DEFAULT_METADATA": "service", "METAFLOW_SERVICE_URL": "https://abc.execute-api.us-east-1.amazonaws.com"}
KEY = "k" * 48


@pytest.fixture
def aws(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mf"))
    with mock_aws():
        yield tmp_path / "mf"


def put(env: str, team: str, profile: dict, key: str | None = KEY) -> None:
    boto3.client("ssm").put_parameter(Name=profiles.parameter_name(env, team), Type="String", Value=json.dumps(profile))
    if key is not None:
        boto3.client("secretsmanager").create_secret(Name=profiles.api_key_secret_name(env, team), SecretString=key)


def test_service_profile_gets_the_key_in_the_file_only(aws):
    put("dev", "fraud", SERVICE)
    result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 0, result.output
    path = aws / "config_dev-fraud.json"
    written = json.loads(path.read_text())
    assert written == {**SERVICE, "METAFLOW_SERVICE_AUTH_KEY": KEY}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "a file holding the key must be private"
    stored = json.loads(boto3.client("ssm").get_parameter(Name=profiles.parameter_name("dev", "fraud"))["Parameter"]["Value"])
    assert "METAFLOW_SERVICE_AUTH_KEY" not in stored and KEY not in json.dumps(stored)
    assert KEY not in result.output, "the key is never printed"


def test_local_metadata_profile_needs_no_key(aws):
    put("local", "fraud", {"METAFLOW_DEFAULT_METADATA": "local"}, key=None)
    result = CliRunner().invoke(app, ["configure", "--env", "local", "--team", "fraud"])
    assert result.exit_code == 0, result.output
    assert "METAFLOW_SERVICE_AUTH_KEY" not in json.loads((aws / "config_local-fraud.json").read_text())


def test_missing_key_is_a_clear_error(aws):
    put("dev", "fraud", SERVICE, key=None)
    result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 1
    assert "strata/dev/teams/fraud/metadata-api-key" in result.output and "Traceback" not in result.output


def test_sdk_secret_name_matches_the_platform():
    from core import naming

    assert profiles.api_key_secret_name("prod", "x") == naming.metadata_api_key_secret("prod", "x")
