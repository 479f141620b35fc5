"""Run SQL on your team's warehouse through the Redshift Data API, with your own AWS credentials.

    from strata import warehouse
    rows = warehouse.query("select store, sum(units) as units from fraud.sales group by 1", env="dev", team="fraud")
    rows = warehouse.query("select * from fraud.scores where day = :day", params={"day": "2026-11-01"})

No driver, no password, no network route to the warehouse: the Data API is an AWS API, so your IAM
credentials (the team's data-scientist role) are all it takes. The platform lets that role get database
credentials for your team's own database user only.

Where the warehouse is comes from your team's profile (``strata configure`` installs it): the
``STRATA_WAREHOUSE_*`` keys of ``$METAFLOW_HOME/config_<env>-<team>.json``. boto3 only; no platform code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from strata import profiles

KEY_PREFIX = "STRATA_WAREHOUSE_"
SERVERLESS = "serverless"
PROVISIONED = "provisioned"
DEFAULT_TIMEOUT = 300.0
# Poll DescribeStatement quickly at first (most statements finish in well under a second), then back off
# so a long query does not burn through the Data API's request quota.
FIRST_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 2.0
RUNNING = ("SUBMITTED", "PICKED", "STARTED")
# Statement names show up in SYS_QUERY_HISTORY and the console: who ran what.
STATEMENT_NAME = "strata-warehouse-query"
# The local cloud (moto) accepts a Data API statement but never finishes it (localcloud/README.md): against a
# loopback endpoint a statement still running after this long is cancelled and explained, not waited on for
# the full timeout.
LOCAL_CLOUD_WAIT_SECONDS = 2.0


class WarehouseError(Exception):
    """A problem the data scientist can act on; the message says what."""


class WarehouseNotConfigured(WarehouseError):
    """No profile, or a profile without warehouse settings."""


class QueryFailed(WarehouseError):
    """Redshift ran the statement and it failed (or was aborted)."""

    def __init__(self, message: str, statement_id: str | None = None) -> None:
        super().__init__(message)
        self.statement_id = statement_id


class QueryTimeout(WarehouseError):
    """The statement was still running when the timeout passed; it has been cancelled."""

    def __init__(self, message: str, statement_id: str) -> None:
        super().__init__(message)
        self.statement_id = statement_id


class LocalCloudCannotQuery(QueryTimeout):
    """The Data API is the local cloud's (moto), which never finishes a statement: SQL cannot run there."""


def is_local_endpoint(url: str | None) -> bool:
    """True for a loopback endpoint (``http://127.0.0.1:<port>``, localhost): the local cloud, not AWS."""
    host = (urlsplit(url).hostname or "") if url else ""
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True)
class Settings:
    """Where a team's warehouse is, from its profile."""

    mode: str
    region: str
    database: str
    profile: str = ""
    workgroup: str | None = None
    cluster: str | None = None
    db_user: str | None = None
    copy_role_arn: str | None = None

    def target(self) -> dict[str, str]:
        """The ExecuteStatement arguments that pick the warehouse and the identity in it."""
        if self.mode == SERVERLESS:
            # No DbUser, no SecretArn: the Data API calls redshift-serverless:GetCredentials with the
            # caller's IAM identity, which becomes the database user (IAMR:<role>).
            return {"WorkgroupName": self.workgroup or "", "Database": self.database}
        return {"ClusterIdentifier": self.cluster or "", "Database": self.database, "DbUser": self.db_user or ""}

    @property
    def name(self) -> str:
        return (self.workgroup if self.mode == SERVERLESS else self.cluster) or ""


def _profile_path(env: str | None, team: str | None, home: Path | None) -> tuple[Path, str]:
    home = home or profiles.metaflow_home()
    if env and team:
        name = profiles.profile_name(env, team)
    elif env or team:
        raise WarehouseNotConfigured("give both env and team (e.g. --env dev --team fraud), or neither")
    elif os.environ.get("METAFLOW_PROFILE"):
        name = os.environ["METAFLOW_PROFILE"]
    else:
        raise WarehouseNotConfigured("which warehouse? pass env and team (--env dev --team fraud) or set METAFLOW_PROFILE")
    return profiles.profile_path(name, home), name


def load_settings(env: str | None = None, team: str | None = None, home: Path | None = None) -> Settings:
    """The warehouse settings of profile ``<env>-<team>`` (default: ``$METAFLOW_PROFILE``)."""
    path, name = _profile_path(env, team, home)
    fix = profiles.refresh_hint(name)
    try:
        profile = json.loads(path.read_text())
    except FileNotFoundError:
        raise WarehouseNotConfigured(f"no profile {name!r} at {path}: {profiles.configure_hint(name)}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise WarehouseNotConfigured(f"cannot read the profile {path}: {exc}; {fix}") from None
    keys = {k[len(KEY_PREFIX) :]: v for k, v in profile.items() if k.startswith(KEY_PREFIX)} if isinstance(profile, dict) else {}
    if not keys:
        raise WarehouseNotConfigured(
            f"profile {name!r} has no {KEY_PREFIX}* settings: the environment has no warehouse, or the profile predates it: {fix}"
        )
    mode = keys.get("MODE")
    needed = {SERVERLESS: ("REGION", "DATABASE", "WORKGROUP"), PROVISIONED: ("REGION", "DATABASE", "CLUSTER", "DB_USER")}
    if mode not in needed:
        raise WarehouseNotConfigured(f"profile {name!r}: {KEY_PREFIX}MODE is {mode!r}, not serverless or provisioned; {fix}")
    if missing := [KEY_PREFIX + k for k in needed[mode] if not keys.get(k)]:
        raise WarehouseNotConfigured(f"profile {name!r} lacks {', '.join(missing)}; {fix}")
    return Settings(
        profile=name,
        mode=mode,
        region=keys["REGION"],
        database=keys["DATABASE"],
        workgroup=keys.get("WORKGROUP"),
        cluster=keys.get("CLUSTER"),
        db_user=keys.get("DB_USER"),
        copy_role_arn=keys.get("COPY_ROLE_ARN"),
    )


def parameters(params: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """``{"day": date(2026, 11, 1)}`` -> the Data API's ``[{"name": "day", "value": "2026-11-01"}]`` (for ``:day``)."""
    out = []
    for key, value in (params or {}).items():
        if not key or not key.replace("_", "a").isalnum():
            raise WarehouseError(f"parameter name {key!r}: use letters, digits and '_' (referenced as :{key} in the SQL)")
        if value is None:
            raise WarehouseError(f"parameter {key!r} is None: the Data API has no NULL parameter; write NULL in the SQL instead")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dt.datetime | dt.date | dt.time):
            text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
        else:
            text = str(value)
        out.append({"name": key, "value": text})
    return out


def query(
    sql: str,
    *,
    env: str | None = None,
    team: str | None = None,
    params: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    client: Any = None,
    home: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Run ``sql`` as your team and return its rows as dicts (column name -> Python value).

    ``params`` fill ``:name`` placeholders. A statement still running after ``timeout`` seconds is
    cancelled and :class:`QueryTimeout` raised. ``client`` (a boto3 ``redshift-data`` client or anything
    with its four methods) and ``sleep``/``clock`` exist for tests."""
    if not sql or not sql.strip():
        raise WarehouseError("no SQL given")
    if timeout <= 0:
        raise WarehouseError(f"timeout must be positive, got {timeout}")
    settings = load_settings(env, team, home)
    client = client or _client(settings.region)
    # A boto3 request: string fields plus the list of Parameters, hence ``Any`` values.
    request: dict[str, Any] = {**settings.target(), "Sql": sql, "StatementName": STATEMENT_NAME}
    if params:
        request["Parameters"] = parameters(params)
    local = is_local_endpoint(getattr(getattr(client, "meta", None), "endpoint_url", None))
    statement_id = _call(settings, "run the statement", client.execute_statement, **request)["Id"]
    if local and timeout > LOCAL_CLOUD_WAIT_SECONDS:
        try:
            described = _wait(settings, client, statement_id, LOCAL_CLOUD_WAIT_SECONDS, sleep, clock)
        except QueryTimeout as exc:
            raise LocalCloudCannotQuery(_local_cloud_message(settings, exc.statement_id), exc.statement_id) from None
    else:
        described = _wait(settings, client, statement_id, timeout, sleep, clock)
    if not described.get("HasResultSet"):
        return []
    return _rows(settings, client, statement_id)


def _local_cloud_message(settings: Settings, statement_id: str) -> str:
    env, _, team = settings.profile.partition("-")
    team = team or "<team>"
    return (
        f"the local cloud cannot run SQL: its Redshift Data API (moto) accepts a statement but never finishes it, so "
        f"statement {statement_id} was cancelled after {LOCAL_CLOUD_WAIT_SECONDS:g} s instead of waiting for the timeout. "
        f"The warehouse itself is deployed locally: `aws redshift describe-clusters --cluster-identifier {settings.name}` "
        f"shows it (after `source {profiles.LOCAL_ENV_FILE}`). To run queries, use a deployed environment: "
        f"`strata configure --env dev --team {team}`, then `strata warehouse query '...' --env dev --team {team}`."
    )


def _client(region: str) -> Any:
    try:
        # boto3 honours AWS_ENDPOINT_URL, which is how the local cloud is reached.
        return boto3.client("redshift-data", region_name=region)
    except BotoCoreError as exc:
        raise WarehouseError(f"could not create a Redshift Data API client: {exc}") from None


def _call(settings: Settings, what: str, fn: Callable[..., dict], **kwargs: Any) -> dict:
    """One Data API call, with AWS's errors turned into messages a data scientist can act on."""
    try:
        return fn(**kwargs)
    except NoCredentialsError:
        raise WarehouseError("no AWS credentials found: log in (e.g. `aws sso login`) or set AWS_PROFILE") from None
    except NoRegionError:
        raise WarehouseError("no AWS region configured: set AWS_DEFAULT_REGION") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", str(exc))
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            raise WarehouseError(
                f"your credentials may not {what} on {settings.name}: assume your team's data-scientist role "
                f"(strata-<env>-<team>-ds) first ({message})"
            ) from None
        if code == "ResourceNotFoundException":
            raise WarehouseError(f"cannot {what}: {message}") from None
        raise WarehouseError(f"the Data API refused to {what} on {settings.name}: {code}: {message}") from None
    except BotoCoreError as exc:
        raise WarehouseError(f"could not reach the Redshift Data API: {exc}") from None


def _wait(
    settings: Settings, client: Any, statement_id: str, timeout: float, sleep: Callable[[float], None], clock: Callable[[], float]
) -> dict:
    deadline = clock() + timeout
    delay = FIRST_POLL_SECONDS
    while True:
        described = _call(settings, "read the statement's status", client.describe_statement, Id=statement_id)
        status = described.get("Status")
        if status == "FINISHED":
            return described
        if status == "FAILED":
            raise QueryFailed(
                f"the query failed: {described.get('Error') or 'no reason given'} (statement {statement_id})", statement_id
            )
        if status == "ABORTED":
            raise QueryFailed(f"the query was cancelled (statement {statement_id})", statement_id)
        if status not in RUNNING:
            raise QueryFailed(f"unexpected statement status {status!r} (statement {statement_id})", statement_id)
        remaining = deadline - clock()
        if remaining <= 0:
            cancelled = _cancel(client, statement_id)
            raise QueryTimeout(
                f"the query was still {status} after {timeout:g} s; "
                + ("it has been cancelled" if cancelled else "cancelling it failed, it may still run")
                + f" (statement {statement_id}). Pass a longer timeout (--timeout) for long queries.",
                statement_id,
            )
        sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_SECONDS)


def _cancel(client: Any, statement_id: str) -> bool:
    try:
        client.cancel_statement(Id=statement_id)
    except (ClientError, BotoCoreError):
        return False
    return True


def _rows(settings: Settings, client: Any, statement_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    columns: list[tuple[str, str]] | None = None
    token: str | None = None
    while True:
        kwargs = {"Id": statement_id, **({"NextToken": token} if token else {})}
        page = _call(settings, "read the result", client.get_statement_result, **kwargs)
        if columns is None:  # every page repeats the metadata; the first one names the columns
            columns = _column_names(page.get("ColumnMetadata") or [])
        for record in page.get("Records") or []:
            if len(record) != len(columns):
                raise WarehouseError(f"statement {statement_id}: a row has {len(record)} values for {len(columns)} columns")
            rows.append({name: _value(cell, type_name) for (name, type_name), cell in zip(columns, record, strict=True)})
        token = page.get("NextToken")
        if not token:
            return rows


def _column_names(metadata: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(name, type)`` per column; repeated names (``select 1, 1``) get ``_2``, ``_3``... so no value is lost."""
    seen: dict[str, int] = {}
    columns = []
    for i, column in enumerate(metadata):
        name = column.get("name") or column.get("label") or f"column_{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        columns.append((name, (column.get("typeName") or "").lower()))
    return columns


def _value(cell: Mapping[str, Any], type_name: str) -> Any:
    """A Data API ``Field`` as a Python value, typed by the cell and the column's Redshift type."""
    if cell.get("isNull"):
        return None
    for key in ("booleanValue", "longValue", "doubleValue", "blobValue"):
        if key in cell:
            return cell[key]
    text = cell.get("stringValue")
    if text is None:
        return None
    try:
        if type_name in ("numeric", "decimal"):
            return Decimal(text)
        if type_name == "date":
            return dt.date.fromisoformat(text)
        if type_name in ("timestamp", "timestamptz"):
            return dt.datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return text  # an unusual rendering: keep the text rather than fail the whole query
    return text
