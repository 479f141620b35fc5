"""Pure logic of modules/metadata and the strata:metadata config rules, without mocks."""

import json

import pytest

from core.issues import Issues
from infra.config import ConfigError, _check_metadata
from modules.metadata import policies as mp
from modules.metadata.settings import MetadataSettings
from modules.network.settings import NetworkSettings

SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!cluster-abc"
KEY_ARN = "arn:aws:kms:us-east-1:111111111111:key/k"


def settings(**data) -> MetadataSettings:
    return MetadataSettings.model_validate(data)


def defs(s: MetadataSettings) -> dict:
    out = mp.container_definitions(settings=s, db_host="db.example", master_secret_arn=SECRET, log_group="/g", region="us-east-1")
    return {c["name"]: c for c in out}


def test_db_login_comes_from_secrets_never_environment():
    for name, c in defs(settings()).items():
        env = {e["name"]: e["value"] for e in c["environment"]}
        assert "MF_METADATA_DB_PSWD" not in env and "MF_METADATA_DB_USER" not in env, name
        assert {s["name"]: s["valueFrom"] for s in c["secrets"]} == {
            "MF_METADATA_DB_USER": f"{SECRET}:username::",
            "MF_METADATA_DB_PSWD": f"{SECRET}:password::",
        }, name
        assert env["MF_METADATA_DB_SSL_MODE"] == "require", name


def test_migrations_run_first_and_the_image_is_pinned():
    c = defs(settings())
    assert c["migrate"]["command"] == ["/opt/latest/bin/python3", "/root/run_goose.py"] and not c["migrate"]["essential"]
    assert c["metadata"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert c["metadata"]["image"] == c["migrate"]["image"] == "netflixoss/metaflow_metadata_service:v2.5.0"
    assert {e["name"]: e["value"] for e in c["metadata"]["environment"]}["MF_MIGRATION_ENDPOINTS_ENABLED"] == "0"


def test_health_check_is_deep_unless_the_database_pauses():
    always_on = defs(settings(database={"minCapacity": 0.5}))["metadata"]["healthCheck"]["command"]
    pausing = defs(settings(database={"minCapacity": 0}))["metadata"]["healthCheck"]["command"]
    assert "/healthcheck" in always_on[-1] and "/ping" in pausing[-1]


def test_force_ssl_always_and_idle_timeout_only_when_pausing():
    paused = {p["name"]: p["value"] for p in mp.cluster_parameters(settings())}
    assert paused == {"rds.force_ssl": "1", "idle_session_timeout": "60000"}
    assert {p["name"] for p in mp.cluster_parameters(settings(database={"minCapacity": 0.5}))} == {"rds.force_ssl"}


def test_execution_role_reads_only_the_db_secret_through_secretsmanager():
    doc = mp.execution_role_policy(SECRET, KEY_ARN, kms_via_service="secretsmanager.us-east-1.amazonaws.com")
    resources = [s["Resource"] for s in doc["Statement"]]
    assert resources == [SECRET, KEY_ARN] and "*" not in json.dumps(resources)
    assert doc["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"


def test_secret_policy_denies_other_strata_roles():
    own = ["arn:aws:iam::111111111111:role/strata-dev-fraud-ds", "arn:aws:iam::111111111111:role/strata-dev-fraud-job"]
    doc = mp.api_key_secret_policy(secret_arn=SECRET, partition="aws", account_id="111111111111", env="dev", readers=own)
    st = doc["Statement"][0]
    assert st["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in st["Action"]
    assert st["Condition"]["ArnLike"]["aws:PrincipalArn"] == "arn:aws:iam::111111111111:role/strata-dev-*"
    assert st["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == sorted(own)
    with pytest.raises(ValueError):
        mp.api_key_read_statement("arn:aws:secretsmanager:us-east-1:1:secret:*")


def test_authorizer_holds_hashes_and_accepts_exactly_the_team_keys(monkeypatch):
    """Reads need no table: the key check alone (tests/unit/test_metadata_authorizer.py runs the writes)."""
    keys = {"fraud": "f" * 48, "research": "r" * 48}
    hashes = mp.key_hashes(keys)
    assert "f" * 48 not in hashes and sorted(json.loads(hashes).values()) == ["fraud", "research"]
    monkeypatch.setenv("KEY_HASHES", hashes)
    monkeypatch.setenv("OWNERS_TABLE", "strata-x-metadata-owners")
    namespace: dict = {}
    exec(compile(mp.AUTHORIZER_SOURCE, "index.py", "exec"), namespace)

    def read(headers: dict) -> dict:
        return namespace["handler"](
            {"version": "2.0", "headers": headers, "rawPath": "/flows", "requestContext": {"http": {"method": "GET"}}}, None
        )

    assert read({"X-Api-Key": "f" * 48}) == {"isAuthorized": True, "context": {"team": "fraud", "decision": "read"}}
    assert read({"x-api-key": "nope"})["isAuthorized"] is False
    assert read({})["isAuthorized"] is False


def check(data: dict, production: bool = False, network: dict | None = None) -> list[str]:
    issues = Issues()
    sections = {"metadata": MetadataSettings.model_validate(data), "production": production}
    if network is not None:
        sections["network"] = NetworkSettings.model_validate(network)
    _check_metadata(sections, "stacks/Pulumi.x.yaml", issues)
    return [f"{i.key}: {i.problem}" for i in issues]


# A complete, valid Cognito-authenticated UI.
UI = {
    "enabled": True,
    "domainName": "metaflow.ml.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-1111-2222-3333-444455556666",
    "auth": "cognito",
    "cognitoUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123",
    "cognitoClientId": "client123",
    "cognitoDomain": "acme-ml",
}


def test_a_complete_ui_is_valid_with_a_nat_and_refused_without_one():
    db = {"minCapacity": 0.5}
    assert check({"ui": UI, "database": db}, network={"cidr": "10.20.0.0/16", "egress": "nat-gateway"}) == []
    problems = check({"ui": UI, "database": db}, network={"cidr": "10.20.0.0/16", "egress": "endpoints"})
    assert any(p.startswith("strata:metadata.ui:") and "identity provider" in p for p in problems), problems
    problems = check({"ui": UI, "database": db}, network={"mode": "adopt", "vpcId": "vpc-1"})
    assert any(p.startswith("strata:metadata.ui.allowedCidrs:") for p in problems), problems


def test_the_ui_is_refused_on_a_database_that_pauses():
    problems = check({"ui": UI}, network={"cidr": "10.20.0.0/16", "egress": "nat-gateway"})
    assert problems == [
        "strata:metadata.database.minCapacity: the Metaflow UI keeps a database connection open, "
        "so a database that pauses (minCapacity 0) never would"
    ], problems


@pytest.mark.parametrize(
    "data,key",
    [
        ({"database": {"engineVersion": "11.9"}}, "strata:metadata.database.engineVersion"),
        ({"database": {"engineVersion": "15.7"}}, "strata:metadata.database.engineVersion"),
        ({"database": {"engineVersion": "16.1"}}, "strata:metadata.database.engineVersion"),
        ({"service": {"imageTag": "latest"}}, "strata:metadata.service.imageTag"),
        ({"service": {"image": "netflixoss/metaflow_metadata_service:v2.5.0"}}, "strata:metadata.service.image"),
        ({"service": {"cpu": 256, "memory": 4096}}, "strata:metadata.service"),
        ({"ui": {"enabled": True}}, "strata:metadata.ui.auth"),
        ({"ui": {"enabled": True, "auth": "oidc"}}, "strata:metadata.ui"),
        ({"ui": {**UI, "certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}}, "strata:metadata.ui.certificateArn"),
        ({"ui": {**UI, "domainName": "https://metaflow.example.com"}}, "strata:metadata.ui.domainName"),
        ({"ui": {**UI, "cognitoDomain": "acme-ml.auth.us-east-1.amazoncognito.com"}}, "strata:metadata.ui.cognitoDomain"),
        ({"ui": {**UI, "allowedCidrs": ["10.0.0.1/16"]}}, "strata:metadata.ui.allowedCidrs"),
        ({"ui": {**UI, "staticImageTag": "latest"}}, "strata:metadata.ui.staticImageTag"),
        ({"ui": {**UI, "backendCpu": 256, "backendMemory": 8192}}, "strata:metadata.ui.backendCpu"),
        ({"endpointType": "PRIVATE"}, "strata:metadata.endpointType"),
        ({"enabled": False}, "strata:metadata.metadataMode"),
    ],
)
def test_bad_metadata_settings_name_the_key(data, key):
    problems = check(data)
    assert any(p.startswith(key + ":") for p in problems), problems


def test_defaults_are_valid_outside_production_and_rejected_in_it():
    assert check({}) == []
    problems = check({}, production=True)
    for key in ("database.instances", "database.backupRetentionDays", "database.deletionProtection", "database.finalSnapshot"):
        assert any(p.startswith(f"strata:metadata.{key}:") for p in problems), (key, problems)


def test_the_prod_stack_file_satisfies_the_production_rules():
    from pathlib import Path

    from infra.config import load_from_files

    try:
        p = load_from_files(Path(__file__).resolve().parents[2], "prod")
    except ConfigError as err:
        assert "strata:metadata" not in str(err), str(err)
        return
    db = p.settings.metadata.database
    assert db.instances >= 2 and db.backup_retention_days >= 30 and db.deletion_protection and db.final_snapshot
