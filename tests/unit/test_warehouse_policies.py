"""Pure tests of modules/warehouse (policies, settings, bootstrap SQL) and of the team policy's warehouse part:
a team's COPY/UNLOAD role and its Data API access reach only that team's things."""

from __future__ import annotations

import json

import pytest

from core import naming
from modules.compute import policies as compute_policies
from modules.team import policies as team_policies
from modules.warehouse import policies, settings, sql

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "us-east-1"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "s3.us-east-1.amazonaws.com"
CLUSTER = naming.warehouse_name(ENV)
CLUSTER_ARN = f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:{CLUSTER}"
WORKGROUP_ARN = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
TEAMS = ("fraud", "fraud-x", "research")


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def data_api(mode: str, team: str) -> list[dict]:
    return policies.data_api_statements(
        mode=mode,
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        warehouse_arn=CLUSTER_ARN if mode == "provisioned" else WORKGROUP_ARN,
        warehouse_name=CLUSTER,
        database=naming.WAREHOUSE_DATABASE,
        db_user=naming.warehouse_db_user(team) if mode == "provisioned" else None,
    )


# ---------------------------------------------------------------- names


def test_names_are_per_environment_and_per_team() -> None:
    assert naming.warehouse_name("prod") == "strata-prod"
    assert naming.warehouse_role("dev", "fraud") == "strata-dev-fraud-warehouse"
    # Team names have no '_': the database names are one-to-one with team names.
    assert naming.warehouse_db_user("fraud-x") == "fraud_x"
    assert naming.warehouse_db_role("fraud-x") == "team_fraud_x"
    assert naming.warehouse_db_user("fraud-x") != naming.warehouse_db_user("fraud")


def test_the_longest_names_still_make_a_valid_warehouse_role() -> None:
    team = "a" + "b" * 23  # 24 characters, the maximum
    assert naming.team_name_problems("abcdefghijkl", team) == []
    assert len(naming.warehouse_role("abcdefghijkl", team)) <= 64


# ---------------------------------------------------------------- COPY/UNLOAD roles


@pytest.mark.parametrize("mode", ["provisioned", "serverless"])
def test_copy_unload_trust_admits_redshift_for_the_team_user_only(mode: str) -> None:
    user = policies.team_db_user(
        mode, provisioned_user="fraud", data_scientist_role_name=naming.data_scientist_role(ENV, "fraud")
    )
    arn = policies.db_user_arn("aws", REGION, ACCOUNT, CLUSTER, user)
    doc = policies.copy_unload_trust_policy([arn])
    (s,) = doc["Statement"]
    assert s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole"
    assert s["Principal"] == {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]}
    assert s["Condition"] == {"StringEquals": {"sts:ExternalId": [arn]}}
    expected = "fraud" if mode == "provisioned" else "IAMR:strata-dev-fraud-ds"
    assert arn == f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbuser:{CLUSTER}/{expected}"


@pytest.mark.parametrize("bad", [[], ["*"], [f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbuser:{CLUSTER}/*"], [CLUSTER_ARN]])
def test_copy_unload_trust_refuses_missing_wildcard_or_non_user_arns(bad: list[str]) -> None:
    with pytest.raises(ValueError):
        policies.copy_unload_trust_policy(bad)


def test_copy_unload_permissions_are_the_team_prefix_exactly_as_its_job_role() -> None:
    prefix = naming.team_prefix("fraud")
    doc = policies.copy_unload_policy(BUCKET, prefix, KEY, kms_via_service=VIA)
    assert doc["Statement"] == compute_policies.job_role_policy(BUCKET, prefix, KEY, kms_via_service=VIA)["Statement"]
    objects = {r for s in doc["Statement"] for r in _list(s["Resource"]) if r.startswith(f"{BUCKET}/")}
    assert objects == {f"{BUCKET}/teams/fraud/*"}
    (kms,) = [s for s in doc["Statement"] if any(a.startswith("kms:") for a in _list(s["Action"]))]
    assert kms["Resource"] == KEY
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": VIA}}, "the key only through S3 (UNLOAD uses SSE-KMS)"


def test_team_prefixes_do_not_overlap_for_similar_names() -> None:
    fraud = json.dumps(policies.copy_unload_policy(BUCKET, naming.team_prefix("fraud"), KEY, kms_via_service=VIA))
    assert "teams/fraud/*" in fraud and "teams/fraud-x" not in fraud


# ---------------------------------------------------------------- Data API


def test_provisioned_data_api_is_the_teams_own_user_on_this_cluster() -> None:
    by_sid = {s["Sid"]: s for s in data_api("provisioned", "fraud")}
    creds = by_sid["WarehouseCredentialsOwnUser"]
    assert creds["Action"] == "redshift:GetClusterCredentials"
    assert creds["Resource"] == [
        f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbuser:{CLUSTER}/fraud",
        f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbname:{CLUSTER}/{naming.WAREHOUSE_DATABASE}",
    ]
    deny = by_sid["WarehouseNoUserOrGroupChanges"]
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {"redshift:CreateClusterUser", "redshift:JoinGroup"}
    assert by_sid["WarehouseRunStatements"] == {
        "Sid": "WarehouseRunStatements",
        "Effect": "Allow",
        "Action": "redshift-data:ExecuteStatement",
        "Resource": CLUSTER_ARN,
    }
    assert "redshift-serverless:GetCredentials" not in json.dumps(by_sid)


def test_serverless_data_api_is_the_callers_identity_on_this_workgroup() -> None:
    by_sid = {s["Sid"]: s for s in data_api("serverless", "fraud")}
    assert by_sid["WarehouseCredentialsOwnIdentity"]["Action"] == "redshift-serverless:GetCredentials"
    assert by_sid["WarehouseCredentialsOwnIdentity"]["Resource"] == WORKGROUP_ARN
    assert by_sid["WarehouseRunStatements"]["Resource"] == WORKGROUP_ARN
    assert "redshift:GetClusterCredentials" not in json.dumps(by_sid)


@pytest.mark.parametrize("mode", ["provisioned", "serverless"])
def test_statements_can_be_read_or_cancelled_by_their_owner_only(mode: str) -> None:
    statements = data_api(mode, "fraud")
    stars = [s for s in statements if "*" in _list(s["Resource"])]
    assert [s["Sid"] for s in stars] == ["WarehouseOwnStatementsOnly"], "'*' only where AWS names no resource"
    (own,) = stars
    assert set(own["Action"]) == {
        "redshift-data:DescribeStatement",
        "redshift-data:GetStatementResult",
        "redshift-data:CancelStatement",
    }
    assert own["Condition"] == {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}
    for s in statements:
        assert all("*" not in a for a in _list(s["Action"])), s
    # Nothing to run many statements, list every statement, or use a secret instead of IAM.
    text = json.dumps(statements)
    for action in ("BatchExecuteStatement", "ListStatements", "secretsmanager:", "iam:PassRole"):
        assert action not in text, action


@pytest.mark.parametrize("mode", ["provisioned", "serverless"])
@pytest.mark.parametrize("team", TEAMS)
def test_data_api_names_no_other_team(mode: str, team: str) -> None:
    text = json.dumps(data_api(mode, team))
    for other in TEAMS:
        if other != team:
            assert f'/{naming.warehouse_db_user(other)}"' not in text, f"{team} may act as {other}: {text}"


@pytest.mark.parametrize(
    "override",
    [
        {"mode": "redshift"},
        {"warehouse_arn": "arn:aws:redshift:us-east-1:1:cluster:*"},
        {"warehouse_arn": "not-an-arn"},
        {"warehouse_arn": None},
        {"db_user": None},
        {"db_user": "*"},
        {"database": ""},
    ],
)
def test_data_api_refuses_wildcards_and_missing_values(override: dict) -> None:
    kwargs = dict(
        mode="provisioned",
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        warehouse_arn=CLUSTER_ARN,
        warehouse_name=CLUSTER,
        database="analytics",
        db_user="fraud",
    )
    kwargs.update(override)
    with pytest.raises(ValueError):
        policies.data_api_statements(**kwargs)


def test_serverless_takes_no_db_user() -> None:
    with pytest.raises(ValueError, match="IAM identity"):
        policies.data_api_statements(
            mode="serverless",
            partition="aws",
            region=REGION,
            account_id=ACCOUNT,
            warehouse_arn=WORKGROUP_ARN,
            warehouse_name=CLUSTER,
            database="analytics",
            db_user="fraud",
        )


def test_role_tags_map_serverless_sessions_to_the_team_database_role() -> None:
    assert policies.data_scientist_role_tags("serverless", "team_fraud") == {"RedshiftDbRoles": "team_fraud"}
    assert policies.data_scientist_role_tags("provisioned", "team_fraud") == {}


def test_the_team_policy_carries_the_warehouse_statements_last() -> None:
    kwargs = dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn=BUCKET,
        team_prefix="teams/fraud/",
        kms_key_arn=KEY,
        job_queue_arns=[f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-fraud-cpu"],
        job_definition_prefix="strata-dev-fraud_",
        job_log_group="/strata/dev/batch/fraud",
        job_log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/strata/dev/batch/fraud",
        job_role_arn=f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-job",
        profile_parameter_arn=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/strata/dev/teams/fraud/metaflow-profile",
        kms_via_service=VIA,
    )
    without = team_policies.data_scientist_policy(**kwargs)["Statement"]
    warehouse = data_api("provisioned", "fraud")
    with_it = team_policies.data_scientist_policy(**kwargs, extra_statements=warehouse)["Statement"]
    assert with_it[: len(without)] == without, "nothing else changes"
    assert with_it[len(without) :] == warehouse


# ---------------------------------------------------------------- settings


def test_audit_log_groups_are_where_redshift_exports() -> None:
    assert settings.audit_log_groups("serverless", "strata-dev") == {
        "connectionlog": "/aws/redshift/strata-dev/connectionlog",
        "userlog": "/aws/redshift/strata-dev/userlog",
        "useractivitylog": "/aws/redshift/strata-dev/useractivitylog",
    }
    assert settings.audit_log_groups("provisioned", "strata-dev")["userlog"] == "/aws/redshift/cluster/strata-dev/userlog"
    with pytest.raises(ValueError):
        settings.audit_log_groups("provisioned", "a/b")


def test_cluster_type_and_final_snapshot() -> None:
    assert settings.cluster_type(1) == "single-node"
    assert settings.cluster_type(2) == "multi-node"
    with pytest.raises(ValueError):
        settings.cluster_type(0)
    assert settings.final_snapshot_identifier("strata-prod") == "strata-prod-final"


def test_database_parameters_require_tls_and_log_every_query() -> None:
    assert settings.DATABASE_PARAMETERS == {"require_ssl": "true", "enable_user_activity_logging": "true"}


def test_profile_keys_per_mode() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-warehouse"
    assert settings.profile_keys(mode="serverless", region=REGION, name=CLUSTER, database="analytics", copy_role_arn=role) == {
        "STRATA_WAREHOUSE_MODE": "serverless",
        "STRATA_WAREHOUSE_REGION": REGION,
        "STRATA_WAREHOUSE_DATABASE": "analytics",
        "STRATA_WAREHOUSE_COPY_ROLE_ARN": role,
        "STRATA_WAREHOUSE_WORKGROUP": CLUSTER,
    }
    provisioned = settings.profile_keys(
        mode="provisioned", region=REGION, name=CLUSTER, database="analytics", copy_role_arn=role, db_user="fraud"
    )
    assert provisioned["STRATA_WAREHOUSE_CLUSTER"] == CLUSTER and provisioned["STRATA_WAREHOUSE_DB_USER"] == "fraud"
    assert "STRATA_WAREHOUSE_WORKGROUP" not in provisioned
    with pytest.raises(ValueError):
        settings.profile_keys(mode="provisioned", region=REGION, name=CLUSTER, database="analytics", copy_role_arn=role)
    with pytest.raises(ValueError):
        settings.profile_keys(mode="serverless", region="", name=CLUSTER, database="analytics", copy_role_arn=role)


# ---------------------------------------------------------------- bootstrap SQL


def test_bootstrap_sql_revokes_public_use_of_roles_and_grants_each_team_its_own() -> None:
    arns = {t: f"arn:aws:iam::{ACCOUNT}:role/{naming.warehouse_role(ENV, t)}" for t in ("research", "fraud-x")}
    statements = sql.bootstrap_statements("provisioned", arns)
    assert statements[0] == "REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL;"
    assert "REVOKE CREATE ON SCHEMA public FROM PUBLIC;" in statements
    assert statements[2:8] == [
        "CREATE ROLE team_fraud_x;",
        "CREATE SCHEMA IF NOT EXISTS fraud_x;",
        "GRANT ALL ON SCHEMA fraud_x TO ROLE team_fraud_x;",
        f"GRANT ASSUMEROLE ON '{arns['fraud-x']}' TO ROLE team_fraud_x FOR COPY, UNLOAD;",
        "CREATE USER fraud_x PASSWORD DISABLE;",
        "GRANT ROLE team_fraud_x TO fraud_x;",
    ]
    grants = [s for s in statements if s.startswith("GRANT ASSUMEROLE")]
    assert len(grants) == 2 and all(arns[t] in g for t, g in zip(sorted(arns), grants, strict=True))


def test_serverless_bootstrap_creates_no_users() -> None:
    statements = sql.bootstrap_statements("serverless", {"fraud": f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-warehouse"})
    assert not any(s.startswith("CREATE USER") for s in statements)
    assert "CREATE ROLE team_fraud;" in statements


@pytest.mark.parametrize("arn", ["arn:aws:iam::1:role/x'; DROP TABLE t; --", "not-an-arn", "arn:aws:iam::1:role/a b"])
def test_bootstrap_sql_refuses_anything_that_could_escape_the_literal(arn: str) -> None:
    with pytest.raises(ValueError):
        sql.bootstrap_statements("serverless", {"fraud": arn})
