"""``strata.warehouse.query`` and ``strata warehouse query``: settings from the team's profile, the Data API
flow (execute -> poll with backoff -> page through results), typed rows, and clear errors.

A fake Data API client (the four methods, scripted) covers paging, failures and timeouts; moto's
in-process Redshift Data API checks the real boto3 calls (moto answers every statement with the same
canned rows and never finishes one by itself, so the test moves its statement along)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from strata import warehouse
from strata.cli import app

SERVERLESS = {
    "STRATA_WAREHOUSE_MODE": "serverless",
    "STRATA_WAREHOUSE_REGION": "us-east-1",
    "STRATA_WAREHOUSE_DATABASE": "analytics",
    "STRATA_WAREHOUSE_WORKGROUP": "strata-dev",
    "STRATA_WAREHOUSE_COPY_ROLE_ARN": "arn:aws:iam::111111111111:role/strata-dev-fraud-warehouse",
}
PROVISIONED = {
    "STRATA_WAREHOUSE_MODE": "provisioned",
    "STRATA_WAREHOUSE_REGION": "us-east-1",
    "STRATA_WAREHOUSE_DATABASE": "analytics",
    "STRATA_WAREHOUSE_CLUSTER": "strata-local",
    "STRATA_WAREHOUSE_DB_USER": "fraud",
}
METAFLOW_KEYS = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/teams/fraud/metaflow"}


def write_profile(home: Path, env: str, team: str, keys: dict[str, str]) -> Path:
    path = home / f"config_{env}-{team}.json"
    path.write_text(json.dumps({**METAFLOW_KEYS, **keys}))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    write_profile(tmp_path, "dev", "fraud", SERVERLESS)
    write_profile(tmp_path, "local", "fraud", PROVISIONED)
    return tmp_path


def column(name: str, type_name: str) -> dict[str, Any]:
    return {"name": name, "typeName": type_name, "nullable": 1}


class FakeDataApi:
    """The four Data API methods ``query`` uses, scripted: a status per DescribeStatement call, result pages."""

    def __init__(
        self,
        statuses: list[str] | None = None,
        pages: list[dict[str, Any]] | None = None,
        has_result_set: bool = True,
        error: str | None = None,
        raise_on: dict[str, ClientError] | None = None,
    ) -> None:
        self.statuses = list(statuses or ["FINISHED"])
        self.pages = pages if pages is not None else [{"ColumnMetadata": [column("n", "int4")], "Records": [[{"longValue": 1}]]}]
        self.has_result_set = has_result_set
        self.error = error
        self.raise_on = raise_on or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _record(self, method: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((method, kwargs))
        if method in self.raise_on:
            raise self.raise_on[method]

    def execute_statement(self, **kwargs: Any) -> dict[str, Any]:
        self._record("execute_statement", kwargs)
        return {"Id": "11111111-2222-3333-4444-555555555555"}

    def describe_statement(self, **kwargs: Any) -> dict[str, Any]:
        self._record("describe_statement", kwargs)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Id": kwargs["Id"], "Status": status, "HasResultSet": self.has_result_set, "Error": self.error}

    def get_statement_result(self, **kwargs: Any) -> dict[str, Any]:
        self._record("get_statement_result", kwargs)
        index = int(kwargs.get("NextToken", "0"))
        page = dict(self.pages[index])
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page

    def cancel_statement(self, **kwargs: Any) -> dict[str, Any]:
        self._record("cancel_statement", kwargs)
        return {"Status": True}

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(client: FakeDataApi, clock: FakeClock | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    clock = clock or FakeClock()
    kwargs.setdefault("env", "dev")
    kwargs.setdefault("team", "fraud")
    return warehouse.query(kwargs.pop("sql", "select 1"), client=client, sleep=clock.sleep, clock=clock, **kwargs)


def client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ExecuteStatement")


# ---------------------------------------------------------------- settings from the profile


def test_serverless_statements_name_the_workgroup_and_no_user(home: Path) -> None:
    client = FakeDataApi()
    assert run(client) == [{"n": 1}]
    method, request = client.calls[0]
    assert method == "execute_statement"
    assert request == {
        "WorkgroupName": "strata-dev",
        "Database": "analytics",
        "Sql": "select 1",
        "StatementName": warehouse.STATEMENT_NAME,
    }, "no DbUser or SecretArn: the database user is the caller's IAM identity"


def test_provisioned_statements_name_the_cluster_and_the_team_user(home: Path) -> None:
    client = FakeDataApi()
    run(client, env="local")
    request = client.calls[0][1]
    assert (request["ClusterIdentifier"], request["DbUser"], request["Database"]) == ("strata-local", "fraud", "analytics")
    assert "WorkgroupName" not in request and "SecretArn" not in request


def test_metaflow_profile_selects_the_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAFLOW_PROFILE", "local-fraud")
    s = warehouse.load_settings()
    assert (s.mode, s.cluster, s.db_user, s.region) == ("provisioned", "strata-local", "fraud", "us-east-1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "METAFLOW_PROFILE"),
        ({"env": "dev"}, "both env and team"),
        ({"env": "prod", "team": "fraud"}, "strata configure --env prod --team fraud"),
    ],
)
def test_missing_profile_says_what_to_do(home: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(warehouse.WarehouseNotConfigured, match=message):
        warehouse.load_settings(**kwargs)


def test_a_profile_without_warehouse_keys_is_explained(home: Path) -> None:
    write_profile(home, "dev", "research", {})
    with pytest.raises(warehouse.WarehouseNotConfigured, match="no STRATA_WAREHOUSE_"):
        warehouse.load_settings("dev", "research")


@pytest.mark.parametrize(
    ("drop", "missing"), [("STRATA_WAREHOUSE_WORKGROUP", "WORKGROUP"), ("STRATA_WAREHOUSE_REGION", "REGION")]
)
def test_an_incomplete_profile_names_the_missing_key(home: Path, drop: str, missing: str) -> None:
    write_profile(home, "dev", "research", {k: v for k, v in SERVERLESS.items() if k != drop})
    with pytest.raises(warehouse.WarehouseNotConfigured, match=missing):
        warehouse.load_settings("dev", "research")


def test_an_unknown_mode_is_refused(home: Path) -> None:
    write_profile(home, "dev", "research", {**SERVERLESS, "STRATA_WAREHOUSE_MODE": "athena"})
    with pytest.raises(warehouse.WarehouseNotConfigured, match="athena"):
        warehouse.load_settings("dev", "research")


# ---------------------------------------------------------------- parameters


def test_parameters_become_named_strings(home: Path) -> None:
    client = FakeDataApi()
    run(client, sql="select :day, :n, :flag", params={"day": dt.date(2026, 11, 1), "n": 3, "flag": True})
    assert client.calls[0][1]["Parameters"] == [
        {"name": "day", "value": "2026-11-01"},
        {"name": "n", "value": "3"},
        {"name": "flag", "value": "true"},
    ]
    assert warehouse.parameters({"at": dt.datetime(2026, 11, 1, 12, 30)}) == [{"name": "at", "value": "2026-11-01 12:30:00"}]


@pytest.mark.parametrize(("params", "message"), [({"x": None}, "NULL"), ({"bad-name": 1}, "letters, digits")])
def test_unusable_parameters_are_refused_before_any_call(home: Path, params: dict, message: str) -> None:
    client = FakeDataApi()
    with pytest.raises(warehouse.WarehouseError, match=message):
        run(client, params=params)
    assert client.calls == []


def test_empty_sql_and_bad_timeout(home: Path) -> None:
    with pytest.raises(warehouse.WarehouseError, match="no SQL"):
        run(FakeDataApi(), sql="  ")
    with pytest.raises(warehouse.WarehouseError, match="timeout"):
        run(FakeDataApi(), timeout=0)


# ---------------------------------------------------------------- polling, paging, types


def test_polls_with_backoff_until_finished(home: Path) -> None:
    client = FakeDataApi(statuses=["SUBMITTED", "PICKED", "STARTED", "STARTED", "STARTED", "STARTED", "STARTED", "FINISHED"])
    clock = FakeClock()
    run(client, clock)
    assert client.methods().count("describe_statement") == 8
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0], "doubling from 0.1 s, capped at 2 s"


def test_pages_are_followed_and_values_typed(home: Path) -> None:
    metadata = [
        column("id", "int8"),
        column("score", "float8"),
        column("ok", "bool"),
        column("amount", "numeric"),
        column("day", "date"),
        column("at", "timestamp"),
        column("name", "varchar"),
        column("id", "int4"),
    ]
    pages = [
        {
            "ColumnMetadata": metadata,
            "Records": [
                [
                    {"longValue": 7},
                    {"doubleValue": 0.5},
                    {"booleanValue": True},
                    {"stringValue": "12.30"},
                    {"stringValue": "2026-11-01"},
                    {"stringValue": "2026-11-01 12:30:00"},
                    {"stringValue": "a"},
                    {"longValue": 1},
                ]
            ],
        },
        {
            "ColumnMetadata": metadata,
            "Records": [[{"isNull": True}] * 7 + [{"longValue": 2}]],
        },
    ]
    client = FakeDataApi(pages=pages)
    rows = run(client)
    assert rows[0] == {
        "id": 7,
        "score": 0.5,
        "ok": True,
        "amount": Decimal("12.30"),
        "day": dt.date(2026, 11, 1),
        "at": dt.datetime(2026, 11, 1, 12, 30),
        "name": "a",
        "id_2": 1,
    }
    assert rows[1] == {"id": None, "score": None, "ok": None, "amount": None, "day": None, "at": None, "name": None, "id_2": 2}
    assert [c for m, c in client.calls if m == "get_statement_result"] == [
        {"Id": "11111111-2222-3333-4444-555555555555"},
        {"Id": "11111111-2222-3333-4444-555555555555", "NextToken": "1"},
    ]


def test_statements_without_a_result_set_return_no_rows(home: Path) -> None:
    client = FakeDataApi(has_result_set=False)
    assert run(client, sql="create table fraud.t (x int)") == []
    assert "get_statement_result" not in client.methods()


# ---------------------------------------------------------------- failures


def test_a_failed_statement_raises_with_redshifts_reason(home: Path) -> None:
    client = FakeDataApi(statuses=["STARTED", "FAILED"], error='ERROR: relation "fraud.nope" does not exist')
    with pytest.raises(warehouse.QueryFailed, match='relation "fraud.nope" does not exist') as info:
        run(client)
    assert info.value.statement_id == "11111111-2222-3333-4444-555555555555"
    assert "get_statement_result" not in client.methods()


def test_an_aborted_statement_raises(home: Path) -> None:
    with pytest.raises(warehouse.QueryFailed, match="cancelled"):
        run(FakeDataApi(statuses=["ABORTED"]))


def test_timeout_cancels_the_statement(home: Path) -> None:
    client = FakeDataApi(statuses=["STARTED"])
    clock = FakeClock()
    with pytest.raises(warehouse.QueryTimeout, match="still STARTED after 1 s; it has been cancelled") as info:
        run(client, clock, timeout=1)
    assert client.methods()[-1] == "cancel_statement"
    assert client.calls[-1][1] == {"Id": info.value.statement_id}
    assert sum(clock.sleeps) == pytest.approx(1.0), "never sleeps past the deadline"


def test_a_failed_cancel_is_reported(home: Path) -> None:
    client = FakeDataApi(statuses=["STARTED"], raise_on={"cancel_statement": client_error("ValidationException")})
    with pytest.raises(warehouse.QueryTimeout, match="cancelling it failed"):
        run(client, timeout=0.5)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            client_error("AccessDeniedException", "not authorized to perform redshift-serverless:GetCredentials"),
            "data-scientist role",
        ),
        (client_error("ValidationException", "Workgroup strata-dev not found"), "ValidationException: Workgroup strata-dev"),
        (client_error("ResourceNotFoundException", "Statement not found"), "Statement not found"),
    ],
)
def test_aws_errors_become_actionable_messages(home: Path, error: ClientError, message: str) -> None:
    with pytest.raises(warehouse.WarehouseError, match=message):
        run(FakeDataApi(raise_on={"execute_statement": error}))


def test_unexpected_status_is_not_polled_forever(home: Path) -> None:
    with pytest.raises(warehouse.QueryFailed, match="unexpected statement status"):
        run(FakeDataApi(statuses=["EXPLODED"]))


# ---------------------------------------------------------------- the CLI


def test_cli_prints_a_table(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []

    def fake_query(sql: str, **kwargs: Any) -> list[dict]:
        calls.append({"sql": sql, **kwargs})
        return [{"store": "berlin", "units": 12}, {"store": "oslo", "units": None}]

    monkeypatch.setattr(warehouse, "query", fake_query)
    result = CliRunner().invoke(
        app, ["warehouse", "query", "select :d", "--env", "dev", "--team", "fraud", "-p", "d=2026-11-01", "--timeout", "9"]
    )
    assert result.exit_code == 0, result.output
    for text in ("store", "units", "berlin", "oslo", "NULL", "2 rows"):
        assert text in result.output, text
    assert calls == [{"sql": "select :d", "env": "dev", "team": "fraud", "params": {"d": "2026-11-01"}, "timeout": 9.0}]


def test_cli_json_and_no_rows(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse, "query", lambda sql, **kw: [{"day": dt.date(2026, 11, 1), "n": 1}])
    result = CliRunner().invoke(app, ["warehouse", "query", "select 1", "--json", "-e", "dev", "-t", "fraud"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"day": "2026-11-01", "n": 1}]
    monkeypatch.setattr(warehouse, "query", lambda sql, **kw: [])
    assert (
        "no rows" in CliRunner().invoke(app, ["warehouse", "query", "create table x (a int)", "-e", "dev", "-t", "fraud"]).output
    )


def test_cli_errors_exit_1_without_a_traceback(home: Path) -> None:
    result = CliRunner().invoke(app, ["warehouse", "query", "select 1", "--env", "prod", "--team", "fraud"])
    assert result.exit_code == 1
    assert "strata configure --env prod --team fraud" in result.output
    assert "Traceback" not in result.output
    bad = CliRunner().invoke(app, ["warehouse", "query", "select 1", "-e", "dev", "-t", "fraud", "-p", "novalue"])
    assert bad.exit_code == 1 and "name=value" in bad.output


# ---------------------------------------------------------------- against moto's Redshift Data API


@pytest.fixture
def moto_data_api(home: Path, monkeypatch: pytest.MonkeyPatch):
    from moto import mock_aws
    from moto.redshiftdata.models import redshiftdata_backends

    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield redshiftdata_backends["123456789012"]["us-east-1"]


def test_moto_receives_the_provisioned_call_and_its_canned_rows_are_typed(moto_data_api) -> None:
    backend = moto_data_api
    real_describe = backend.describe_statement

    def describe_then_finish(statement_id: str):
        # moto never finishes a statement by itself: the first poll sees STARTED, the next FINISHED.
        statement = real_describe(statement_id)
        if getattr(statement, "_polled", False):
            statement.status, statement.has_result_set = "FINISHED", True
        statement._polled = True
        return statement

    backend.describe_statement = describe_then_finish
    clock = FakeClock()
    rows = warehouse.query("select * from fraud.stores", env="local", team="fraud", sleep=clock.sleep, clock=clock)
    assert rows == [
        {"Number": 10, "Street": "Alpha st", "City": "Vancouver"},
        {"Number": 50, "Street": "Beta st", "City": "Toronto"},
        {"Number": 100, "Street": "Gamma av", "City": "Seattle"},
    ]
    (statement,) = backend.statements.values()
    assert (statement.cluster_identifier, statement.db_user, statement.database) == ("strata-local", "fraud", "analytics")
    assert statement.query_string == "select * from fraud.stores"
    assert statement.secret_arn is None, "IAM credentials, never a secret"


def test_moto_statement_that_never_finishes_is_cancelled(moto_data_api) -> None:
    clock = FakeClock()
    with pytest.raises(warehouse.QueryTimeout) as info:
        warehouse.query("select 1", env="local", team="fraud", timeout=3, sleep=clock.sleep, clock=clock)
    statement = moto_data_api.statements[info.value.statement_id]
    assert statement.status == "ABORTED", "the timed-out statement was cancelled in moto"
    client = boto3.client("redshift-data", region_name="us-east-1")
    assert client.describe_statement(Id=info.value.statement_id)["Status"] == "ABORTED"
