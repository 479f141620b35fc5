"""`strata warehouse query` against the local cloud: moto's Redshift Data API never finishes a statement, so a
query there is cancelled after a moment and explained, instead of hanging until the 300 s timeout."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from strata import warehouse
from strata.cli import app

PROVISIONED = {
    "STRATA_WAREHOUSE_MODE": "provisioned",
    "STRATA_WAREHOUSE_REGION": "us-east-1",
    "STRATA_WAREHOUSE_DATABASE": "analytics",
    "STRATA_WAREHOUSE_CLUSTER": "strata-local",
    "STRATA_WAREHOUSE_DB_USER": "fraud",
}


class NeverFinishes:
    """The Data API as moto serves it: every statement stays STARTED."""

    def __init__(self, endpoint: str) -> None:
        self.meta = SimpleNamespace(endpoint_url=endpoint)
        self.calls: list[str] = []

    def execute_statement(self, **kwargs: Any) -> dict:
        self.calls.append("execute_statement")
        return {"Id": "st-1"}

    def describe_statement(self, **kwargs: Any) -> dict:
        self.calls.append("describe_statement")
        return {"Id": kwargs["Id"], "Status": "STARTED"}

    def cancel_statement(self, **kwargs: Any) -> dict:
        self.calls.append("cancel_statement")
        return {"Status": True}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    (tmp_path / "config_local-fraud.json").write_text(json.dumps(PROVISIONED))
    return tmp_path


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost:4566", True),
        ("http://[::1]:5000", True),
        ("https://redshift-data.us-east-1.amazonaws.com", False),
        ("http://10.0.0.5:5000", False),
        (None, False),
    ],
)
def test_the_local_cloud_is_recognised_by_its_loopback_endpoint(url, local):
    assert warehouse.is_local_endpoint(url) is local


def test_a_local_query_is_cancelled_after_a_moment_and_explained(home):
    client, clock = NeverFinishes("http://127.0.0.1:5000"), Clock()
    with pytest.raises(warehouse.LocalCloudCannotQuery) as info:
        warehouse.query("select 1", env="local", team="fraud", client=client, sleep=clock.sleep, clock=clock)
    message = str(info.value)
    assert "moto" in message and "never finishes" in message
    assert "strata configure --env dev --team fraud" in message, "says what works instead"
    assert client.calls[-1] == "cancel_statement", "the statement does not keep running"
    assert clock.now <= warehouse.LOCAL_CLOUD_WAIT_SECONDS, "not the 300 s default timeout"


def test_a_shorter_timeout_than_the_local_wait_is_honoured(home):
    client, clock = NeverFinishes("http://127.0.0.1:5000"), Clock()
    with pytest.raises(warehouse.QueryTimeout) as info:
        warehouse.query("select 1", env="local", team="fraud", timeout=1, client=client, sleep=clock.sleep, clock=clock)
    assert not isinstance(info.value, warehouse.LocalCloudCannotQuery)
    assert "still STARTED after 1 s" in str(info.value)


def test_a_remote_endpoint_waits_the_whole_timeout(home):
    client, clock = NeverFinishes("https://redshift-data.us-east-1.amazonaws.com"), Clock()
    with pytest.raises(warehouse.QueryTimeout) as info:
        warehouse.query("select 1", env="local", team="fraud", timeout=30, client=client, sleep=clock.sleep, clock=clock)
    assert not isinstance(info.value, warehouse.LocalCloudCannotQuery)
    assert clock.now >= 30


def test_the_cli_exits_1_with_the_explanation(home, monkeypatch):
    monkeypatch.setattr(warehouse, "_client", lambda region: NeverFinishes("http://127.0.0.1:5000"))
    result = CliRunner().invoke(app, ["warehouse", "query", "select 1", "--env", "local", "--team", "fraud"])
    assert result.exit_code == 1
    assert "the local cloud cannot run SQL" in result.output and "Traceback" not in result.output


def test_a_missing_local_profile_points_at_the_env_file(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("METAFLOW_PROFILE", "local-fraud")
    with pytest.raises(warehouse.WarehouseNotConfigured, match=r"source \.strata/local/env"):
        warehouse.load_settings()
