"""The metadata API's key authorizer (``modules.metadata.policies.AUTHORIZER_SOURCE``), run as Lambda runs it:
the source exec'd as a module, its boto3 calls answered by moto's DynamoDB (in process), the owners table
created as the component declares it. Both event shapes: the HTTP API's (payload 2.0) and the REST API's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modules.metadata import policies as mp

TABLE = mp.owners_table_name("unit")
KEYS = {"alpha": "a" * 48, "beta": "b" * 48}
METHOD_ARN = "arn:aws:execute-api:us-east-1:111111111111:abc123/api/{method}{path}"


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The authorizer module's namespace, with an empty owners table in moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "KEY_HASHES": mp.key_hashes(KEYS),
        "OWNERS_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": mp.OWNERS_HASH_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": mp.OWNERS_HASH_KEY, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        namespace: dict[str, Any] = {"__name__": "index"}
        exec(compile(mp.AUTHORIZER_SOURCE, "index.py", "exec"), namespace)
        yield namespace


def http(ns: dict[str, Any], key: str | None, method: str, path: str) -> dict[str, Any]:
    """What the HTTP API's authorizer answers (payload format 2.0, simple responses)."""
    headers = {"X-Api-Key": key} if key is not None else {}
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": method}},
    }
    return ns["handler"](event, None)


def rest(ns: dict[str, Any], key: str | None, method: str, path: str) -> dict[str, Any]:
    """What the REST API's authorizer answers (an IAM policy for the method ARN)."""
    headers = {"x-api-key": key} if key is not None else {}
    arn = METHOD_ARN.format(method=method, path=path)
    event = {"type": "REQUEST", "methodArn": arn, "httpMethod": method, "path": path, "headers": headers}
    return ns["handler"](event, None)


def owner(run: str) -> str | None:
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"run": {"S": run}}).get("Item")
    return item["team"]["S"] if item else None


RUN = "/flows/TrainFlow/runs/17"


def test_the_first_write_claims_the_run_and_another_teams_write_is_denied(authorizer):
    first = http(authorizer, KEYS["alpha"], "POST", f"{RUN}/steps/start/step")
    assert first == {"isAuthorized": True, "context": {"team": "alpha", "decision": "own run"}}, first
    assert owner("TrainFlow/17") == "alpha"
    for method, path in (
        ("POST", f"{RUN}/steps/start/task"),
        ("POST", f"{RUN}/steps/start/tasks/1/artifact"),
        ("POST", f"{RUN}/steps/start/tasks/1/metadata"),
        ("POST", f"{RUN}/heartbeat"),
        ("PATCH", f"{RUN}/tag/mutate"),
    ):
        theirs = http(authorizer, KEYS["beta"], method, path)
        assert theirs == {"isAuthorized": False, "context": {"team": "beta", "decision": "run of team alpha"}}, (method, path)
        assert http(authorizer, KEYS["alpha"], method, path)["isAuthorized"] is True, (method, path)
    assert owner("TrainFlow/17") == "alpha", "a denied write must not change the owner"


def test_reads_stay_open_to_every_team(authorizer):
    http(authorizer, KEYS["alpha"], "POST", f"{RUN}/heartbeat")
    for path in ("/flows", "/flows/TrainFlow", f"{RUN}", f"{RUN}/steps/start/tasks/1/artifacts", "/ping"):
        answer = http(authorizer, KEYS["beta"], "GET", path)
        assert answer == {"isAuthorized": True, "context": {"team": "beta", "decision": "read"}}, path
    assert owner("TrainFlow/17") == "alpha", "a read claims nothing"


def test_an_unknown_or_missing_key_is_denied_everything(authorizer):
    for key in ("x" * 48, "", None):
        for method, path in (("GET", "/flows"), ("POST", "/flows/TrainFlow/run"), ("POST", f"{RUN}/heartbeat")):
            answer = http(authorizer, key, method, path)
            assert answer == {"isAuthorized": False, "context": {"team": "-", "decision": "unknown key"}}, (key, path)
    assert owner("TrainFlow/17") is None, "an unknown key claims nothing"


def test_creating_a_flow_or_a_run_is_allowed_to_every_team(authorizer):
    http(authorizer, KEYS["alpha"], "POST", f"{RUN}/heartbeat")
    for team in ("alpha", "beta"):
        for path in ("/flows/TrainFlow", "/flows/TrainFlow/run"):
            answer = http(authorizer, KEYS[team], "POST", path)
            assert answer == {"isAuthorized": True, "context": {"team": team, "decision": "create"}}, (team, path)
    # The new run is not the old one: beta's first write to its own run claims it for beta.
    assert http(authorizer, KEYS["beta"], "POST", "/flows/TrainFlow/runs/18/heartbeat")["isAuthorized"] is True
    assert (owner("TrainFlow/17"), owner("TrainFlow/18")) == ("alpha", "beta")


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/flows/TrainFlow"),  # not a create
        ("PUT", "/flows/TrainFlow/run"),
        ("POST", "/flows"),
        ("POST", "/upgrade"),  # the migration service's (never exposed; refused anyway)
        ("POST", "/flows/TrainFlow/run%73/17/heartbeat"),  # percent-encoded: refused, not decoded
        ("POST", "/flows/TrainFlow/runs/17/%2e%2e/heartbeat"),
        ("POST", "/flows/TrainFlow/runs/17/../18/heartbeat"),  # a dot segment
        ("POST", "/flows/TrainFlow/runs/17//heartbeat"),  # an empty segment
        ("POST", "/flows/TrainFlow/runs//heartbeat"),
    ],
)
def test_writes_outside_metaflows_paths_are_denied_and_claim_nothing(authorizer, method, path):
    answer = http(authorizer, KEYS["alpha"], method, path)
    assert answer == {"isAuthorized": False, "context": {"team": "alpha", "decision": "not a Metaflow write"}}, answer
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 0, "nothing claimed"


def test_the_sandbox_token_endpoint_is_closed(authorizer):
    for method in ("GET", "POST"):
        answer = http(authorizer, KEYS["alpha"], method, "/auth/token")
        assert answer["isAuthorized"] is False and answer["context"]["decision"] == "closed path", answer


def test_rest_api_answers_are_policies_for_the_method_arn(authorizer):
    mine = rest(authorizer, KEYS["alpha"], "POST", f"{RUN}/heartbeat")
    (statement,) = mine["policyDocument"]["Statement"]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": METHOD_ARN.format(method="POST", path=f"{RUN}/heartbeat"),
    }, mine
    assert mine["principalId"] == "alpha" and mine["context"] == {"team": "alpha", "decision": "own run"}
    theirs = rest(authorizer, KEYS["beta"], "POST", f"{RUN}/heartbeat")
    assert theirs["policyDocument"]["Statement"][0]["Effect"] == "Deny", theirs
    assert theirs["context"] == {"team": "beta", "decision": "run of team alpha"}
    assert rest(authorizer, KEYS["beta"], "GET", RUN)["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    stranger = rest(authorizer, "x" * 48, "GET", RUN)
    assert stranger["principalId"] == "unknown" and stranger["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert rest(authorizer, KEYS["beta"], "POST", "/flows/TrainFlow/run")["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_a_lost_race_defers_to_the_team_that_claimed_first(authorizer):
    """Two writes to a fresh run at once: both read no owner, one conditional put wins, the other reads it."""
    real_owner_of = authorizer["owner_of"]
    calls: list[str] = []

    def racing_owner_of(run: str) -> str | None:
        calls.append(run)
        if len(calls) == 1:
            # beta's write lands between alpha's read and alpha's put.
            boto3.client("dynamodb").put_item(TableName=TABLE, Item={"run": {"S": run}, "team": {"S": "beta"}})
            return None
        return real_owner_of(run)

    authorizer["owner_of"] = racing_owner_of
    answer = http(authorizer, KEYS["alpha"], "POST", f"{RUN}/heartbeat")
    assert answer == {"isAuthorized": False, "context": {"team": "alpha", "decision": "run of team beta"}}, answer
    assert owner("TrainFlow/17") == "beta" and calls == ["TrainFlow/17", "TrainFlow/17"]


def test_a_dynamodb_failure_is_an_error_not_an_answer(authorizer, monkeypatch):
    """Fails closed without an answer API Gateway could cache: the request gets a 500, the client retries."""
    authorizer["OWNERS_TABLE"] = "strata-unit-metadata-missing"
    with pytest.raises(Exception, match="ResourceNotFound"):
        http(authorizer, KEYS["alpha"], "POST", f"{RUN}/heartbeat")
    assert http(authorizer, KEYS["alpha"], "GET", RUN)["isAuthorized"] is True, "reads need no table"


def test_the_cache_key_includes_method_and_path():
    """An Allow cached for one run must not serve a write to another: the key, the method and the path."""
    assert mp.HTTP_IDENTITY_SOURCES == ("$request.header.x-api-key", "$context.httpMethod", "$context.path")
    assert mp.REST_IDENTITY_SOURCE == "method.request.header.x-api-key,context.httpMethod,context.path"


def test_the_authorizer_role_may_only_read_and_claim_owners():
    table = "arn:aws:dynamodb:us-east-1:111111111111:table/strata-dev-metadata-owners"
    key = "arn:aws:kms:us-east-1:111111111111:key/k"
    doc = mp.authorizer_table_policy(table_arn=table, kms_key_arn=key, dynamodb_via="dynamodb.us-east-1.amazonaws.com")
    rows = {(s["Sid"], tuple(s["Action"]), s["Resource"]) for s in doc["Statement"]}
    assert rows == {
        ("RunOwners", ("dynamodb:GetItem", "dynamodb:PutItem"), table),
        ("OwnersKeyThroughDynamoDB", ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"), key),
    }, rows
    assert doc["Statement"][1]["Condition"] == {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}}
    for bad in ("*", f"{table[:-6]}*", "table"):
        with pytest.raises(ValueError, match="concrete ARN"):
            mp.authorizer_table_policy(table_arn=bad, kms_key_arn=key, dynamodb_via="x")
    assert mp.owners_table_name("dev") == "strata-dev-metadata-owners"
