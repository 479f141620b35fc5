"""tools/guards.py: secret detectors, the stateful rule table, URN/alias resolution, the IAM evaluator.

Every detector gets a positive and a negative control, so none of the gates built on it can pass by
detecting nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from core import secret_guard
from core.secret_guard import Secret
from tools import guards

# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "name",
    [
        "dbPassword",
        "aws:secretKey",
        "aws:token",
        "apiKey",
        "api_key",
        "x-api-key",
        "METAFLOW_SERVICE_AUTH_KEY",
        "privateKey",
        "clientSecret",
        "slackWebhookToken",
        "GITHUB_TOKEN",
        "connectionString",
        "masterPassword",
    ],
)
def test_secret_bearing_keys_are_recognised(name):
    assert secret_guard.is_secret_key(name), name


@pytest.mark.parametrize(
    "name",
    [
        "aws:accessKey",  # an access key *id*; the secret half is aws:secretKey
        "dbPasswordSecretArn",
        "oidcClientSecretArn",
        "tokenTtlSeconds",
        "secretRotationDays",
        "passwordLength",
        "kmsKeyId",
        "namePrefix",
        "cost-center",
        "METAFLOW_SERVICE_HEADERS",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE",
        "sshPublicKey",
        "httpTokens",  # EC2 instance metadata: "required" means IMDSv2
    ],
)
def test_references_and_settings_are_not_secret_keys(name):
    assert not secret_guard.is_secret_key(name), name


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "d41d8cd98f00b204e9800998ecf8427e",  # 32 hex digits
        "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
        "xoxb-123456789012-abcdefghij",
        '{"x-api-key": "Zx8Kp2Lq9Wm4Rt7Yv3Bn6Hj1Gf5Ds0Ae"}',
    ],
)
def test_secret_looking_values_are_recognised(value):
    assert secret_guard.looks_like_secret_value(value), value


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:kms:us-east-1:123456789012:key/080d05a7-ffef-446a-85c9-cea717f13adc",
        "080d05a7-ffef-446a-85c9-cea717f13adc",
        "s3://strata-local-local-datastore/teams/fraud/metaflow",
        "https://abcdef1234.execute-api.us-east-1.amazonaws.com/v1",
        "strata-production-forecasting-fargate-queue",
        "compute-fargate-execution-1b81818",
        "/strata/prod/teams/fraud/metaflow-profile",
        "short",
        42,
    ],
)
def test_arns_urls_uuids_and_names_are_not_secret_values(value):
    assert not secret_guard.looks_like_secret_value(value), value


def test_plaintext_secret_paths_in_config_values():
    p = secret_guard.plaintext_secret_paths
    assert p("aws:secretKey", "abc") == [""]
    assert p("aws:secretKey", {"secure": "v1:ciphertext"}) == []
    assert p("strata:tags", {"deployToken": "ghp_x", "owner": "ml"}) == [".deployToken"]
    assert p("strata:x", {"db": {"password": "hunter2", "user": "admin"}}) == [".db.password"]
    assert p("strata:x", {"db": {"password": {"secure": "v1:x"}}}) == []
    assert p("strata:secrets", {"db": "hunter2", "dbArn": "arn:aws:secretsmanager:..."}) == [".db"]
    assert p("strata:apiTokens", ["a", {"secure": "v1:x"}]) == ["[0]"]
    # flags, nulls and references are never plaintext secrets
    assert p("strata:x", {"manageMasterUserPassword": True, "dbPassword": None, "passwordSecretArn": "arn:x"}) == []
    assert p("strata:secretsManager", {"rotationDays": 30, "kmsKeyId": "alias/x"}) == []
    # a secret-named key that holds a reference to the secret is fine
    assert p("strata:dbPassword", "arn:aws:secretsmanager:us-east-1:1:secret:db") == []
    assert p("strata:apiKeySecrets", {"fraud": "strata/dev/teams/fraud/metadata-api-key"}) == []
    assert p("strata:apiKeySecrets", {"fraud": "Zx8Kp2/Lq9Wm4Rt7"}) == [".fraud"]
    # a key Pulumi.yaml declares secret: the whole value, whatever its name
    assert p("strata:license", "abc", required=True) == [""]
    assert p("strata:license", {"secure": "v1:x"}, required=True) == []


def test_plaintext_outputs_are_found_and_secret_ones_pass():
    tree = {
        "bucket": "strata-dev-datastore",
        "dbPassword": "hunter2",
        "apiToken": Secret("t0k3n"),
        "nested": {"clientSecret": Secret({"v": 1}), "blob": "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"},
        "profiles": {"fraud": {"METAFLOW_SERVICE_AUTH_KEY": "k"}},
        "flags": {"manageMasterUserPassword": True},
        "metadataApiKeySecrets": {"fraud": "strata/dev/teams/fraud/metadata-api-key"},  # names, not values
    }
    assert secret_guard.plaintext_secrets_in_tree(tree) == [
        "dbPassword",
        "nested.blob",
        "profiles.fraud.METAFLOW_SERVICE_AUTH_KEY",
    ]
    assert secret_guard.plaintext_secrets_in_tree(Secret(tree)) == []


def test_secret_bearing_inputs_must_be_pulumi_secrets():
    inputs = {
        "masterPassword": "hunter2",
        "secretString": "x",
        "manageMasterUserPassword": True,
        "metadataOptions": {"httpTokens": "required"},
        "environment": {"variables": {"API_TOKEN": "t"}},
    }
    assert secret_guard.plaintext_secret_inputs(inputs, ["secretString"]) == ["masterPassword", "environment.variables.API_TOKEN"]
    assert secret_guard.plaintext_secret_inputs(inputs, ["secretString", "masterPassword", "environment"]) == []


def test_task_definition_secrets_must_use_secrets_not_environment():
    bad = json.dumps(
        [
            {
                "name": "metadata",
                "environment": [
                    {"name": "MF_METADATA_DB_PSWD", "value": "x"},  # the metadata service's own variable
                    {"name": "DB_PASSWORD", "value": "hunter2"},
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "UPSTREAM", "value": "Zx8Kp2Lq9Wm4Rt7Yv3Bn6Hj1Gf5Ds0Ae"},
                ],
                "secrets": [{"name": "API_KEY", "valueFrom": "plain"}],
            }
        ]
    )
    problems = secret_guard.task_definition_secret_problems(bad)
    assert len(problems) == 4, problems
    assert any("DB_PASSWORD" in p for p in problems) and any("UPSTREAM" in p for p in problems)
    assert any("API_KEY" in p and "valueFrom" in p for p in problems)
    good = [
        {
            "name": "metadata",
            "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}],
        }
    ]
    assert secret_guard.task_definition_secret_problems(good) == []


def test_profile_secret_problems():
    clean = {
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/teams/fraud/metaflow",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/strata-dev-fraud-job",
        "METAFLOW_BATCH_JOB_QUEUE": "arn:aws:batch:us-east-1:123456789012:job-queue/strata-dev-fraud-cpu",
    }
    assert secret_guard.profile_secret_problems(clean) == []
    dirty = {
        **clean,
        "METAFLOW_SERVICE_AUTH_KEY": "x",
        "METAFLOW_SERVICE_HEADERS": '{"x-api-key": "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"}',
    }
    problems = secret_guard.profile_secret_problems(dirty)
    assert [p.split(":")[0] for p in problems] == ["METAFLOW_SERVICE_AUTH_KEY", "METAFLOW_SERVICE_HEADERS"]


# ---------------------------------------------------------------- stateful resources


@dataclass
class Reg:
    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    parent: str = "urn:pulumi:prod::strata::pulumi:pulumi:Stack::strata-prod"
    protect: bool = True
    retain_on_delete: bool = True
    aliases: list[Any] = field(default_factory=list)
    urn: str = ""
    id: str = ""

    def __post_init__(self):
        self.urn = self.urn or f"urn:pulumi:prod::strata::{self.type}::{self.name}"
        self.id = self.id or f"{self.name}-id"


def test_every_rule_type_is_stateful_and_unknown_stores_are_named():
    for typ in guards.STATEFUL_RULES:
        assert guards.is_stateful_type(typ), typ
    regs = [Reg("aws:efs/fileSystem:FileSystem", "fs"), Reg("aws:s3/bucket:Bucket", "b"), Reg("aws:ec2/vpc:Vpc", "v")]
    assert guards.unknown_stateful_types(regs) == ["aws:efs/fileSystem:FileSystem"]
    assert not guards.is_stateful_type("aws:rds/clusterInstance:ClusterInstance")
    assert not guards.is_stateful_type("aws:s3/bucketPolicy:BucketPolicy")


def test_bucket_needs_versioning_and_no_force_destroy():
    bucket = Reg("aws:s3/bucket:Bucket", "data", {"bucket": "acme-prod-datastore"})
    versioning = Reg(
        "aws:s3/bucketVersioning:BucketVersioning",
        "data-versioning",
        {"bucket": "data-id", "versioningConfiguration": {"status": "Enabled"}},
    )
    assert guards.stateful_problems([bucket, versioning]) == {}
    suspended = Reg(versioning.type, versioning.name, {"bucket": "data-id", "versioningConfiguration": {"status": "Suspended"}})
    assert "no BucketVersioning" in guards.stateful_problems([bucket, suspended])[bucket.urn][0]
    forced = Reg(bucket.type, "data", {"bucket": "acme-prod-datastore", "forceDestroy": True})
    assert any("forceDestroy" in p for p in guards.stateful_problems([forced, versioning])[forced.urn])


def test_protect_and_retain_are_required():
    key = Reg(
        "aws:kms/key:Key", "k", {"enableKeyRotation": True, "deletionWindowInDays": 30}, protect=False, retain_on_delete=False
    )
    assert guards.stateful_problems([key])[key.urn] == ["Pulumi protect is not set", "Pulumi retainOnDelete is not set"]


@pytest.mark.parametrize(
    ("typ", "good", "bad", "expected"),
    [
        ("aws:kms/key:Key", {"enableKeyRotation": True}, {"deletionWindowInDays": 7}, "enableKeyRotation"),
        (
            "aws:rds/cluster:Cluster",
            {"deletionProtection": True, "backupRetentionPeriod": 7, "finalSnapshotIdentifier": "final"},
            {"deletionProtection": True, "backupRetentionPeriod": 7, "skipFinalSnapshot": True},
            "skipFinalSnapshot",
        ),
        (
            "aws:rds/instance:Instance",
            {"deletionProtection": True, "backupRetentionPeriod": 14, "finalSnapshotIdentifier": "final"},
            {"deletionProtection": True, "backupRetentionPeriod": 1, "finalSnapshotIdentifier": "final"},
            "backupRetentionPeriod",
        ),
        (
            "aws:dynamodb/table:Table",
            {"deletionProtectionEnabled": True, "pointInTimeRecovery": {"enabled": True}},
            {"deletionProtectionEnabled": True},
            "pointInTimeRecovery",
        ),
        (
            "aws:redshift/cluster:Cluster",
            {"automatedSnapshotRetentionPeriod": 7, "finalSnapshotIdentifier": "final"},
            {"automatedSnapshotRetentionPeriod": 7, "skipFinalSnapshot": False},
            "finalSnapshotIdentifier",
        ),
        ("aws:rds/globalCluster:GlobalCluster", {"deletionProtection": True}, {}, "deletionProtection"),
    ],
)
def test_rules_per_type(typ, good, bad, expected):
    assert guards.stateful_problems([Reg(typ, "ok", good)]) == {}
    problems = guards.stateful_problems([Reg(typ, "bad", bad)])
    assert any(expected in p for p in problems[f"urn:pulumi:prod::strata::{typ}::bad"]), problems


# ---------------------------------------------------------------- URNs and aliases

STACK_URN = "urn:pulumi:prod::strata::pulumi:pulumi:Stack::strata-prod"
# How Pulumi's mock monitor forms URNs: the stack type in front of top-level components...
COMPONENT_URN = "urn:pulumi:prod::strata::pulumi:pulumi:Stack$strata:datastore:Datastore::datastore"
# ...and only the parent's last type for children.
BUCKET_URN = "urn:pulumi:prod::strata::strata:datastore:Datastore$aws:s3/bucket:Bucket::datastore-bucket"
GOLDEN = "urn:pulumi:prod::strata::strata:datastore:Datastore$aws:s3/bucket:Bucket::datastore-bucket"


def _program(bucket_name: str, aliases: list[Any]) -> list[Reg]:
    component = Reg("strata:datastore:Datastore", "datastore", parent=STACK_URN, urn=COMPONENT_URN)
    bucket = Reg(
        "aws:s3/bucket:Bucket",
        bucket_name,
        parent=COMPONENT_URN,
        aliases=aliases,
        urn=f"urn:pulumi:prod::strata::strata:datastore:Datastore$aws:s3/bucket:Bucket::{bucket_name}",
    )
    return [component, bucket]


def test_canonical_urns_follow_the_engine_not_the_mock_monitor():
    regs = _program("datastore-bucket", [])
    canonical = guards.canonical_urns(regs, "prod", "strata")
    assert canonical[COMPONENT_URN] == "urn:pulumi:prod::strata::strata:datastore:Datastore::datastore"
    assert canonical[BUCKET_URN] == GOLDEN
    assert guards.stateful_urns(regs, "prod", "strata") == [GOLDEN]


def test_a_renamed_bucket_is_lost_unless_an_alias_maps_it():
    renamed = _program("datastore-data", [])
    assert guards.lost_urns([GOLDEN], renamed, "prod", "strata") == [GOLDEN]
    by_spec = _program("datastore-data", [{"name": "datastore-bucket", "parentUrn": ""}])
    assert guards.lost_urns([GOLDEN], by_spec, "prod", "strata") == []
    by_urn = _program("datastore-data", [GOLDEN])
    assert guards.lost_urns([GOLDEN], by_urn, "prod", "strata") == []
    wrong = _program("datastore-data", [{"name": "datastore-bucket", "noParent": True}])
    assert guards.lost_urns([GOLDEN], wrong, "prod", "strata") == [GOLDEN]
    assert guards.alias_urns(wrong[1], wrong, "prod", "strata") == {
        "urn:pulumi:prod::strata::aws:s3/bucket:Bucket::datastore-bucket"
    }


def test_unchanged_program_loses_nothing():
    assert guards.lost_urns([GOLDEN], _program("datastore-bucket", []), "prod", "strata") == []


# ---------------------------------------------------------------- IAM evaluator and team references

BUCKET = "arn:aws:s3:::acme-dev-datastore"
TEAM_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET,
            "Condition": {"StringLike": {"s3:prefix": ["teams/fraud/", "teams/fraud/*"]}},
        },
        {
            "Sid": "ReadWrite",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{BUCKET}/teams/fraud/*",
        },
    ],
}


@pytest.mark.parametrize(
    ("action", "resource", "context", "decision"),
    [
        ("s3:ListBucket", BUCKET, {"s3:prefix": "teams/fraud/"}, "allow"),
        ("s3:ListBucket", BUCKET, {"s3:prefix": "teams/fraud/metaflow/"}, "allow"),
        ("s3:ListBucket", BUCKET, {"s3:prefix": "teams/research/"}, "implicit-deny"),
        ("s3:ListBucket", BUCKET, {"s3:prefix": "teams/fraudster/"}, "implicit-deny"),
        ("s3:ListBucket", BUCKET, {}, "implicit-deny"),
        ("s3:getobject", f"{BUCKET}/teams/fraud/x", {}, "allow"),  # actions are case-insensitive
        ("s3:GetObject", f"{BUCKET}/teams/research/x", {}, "implicit-deny"),
        ("s3:DeleteObject", f"{BUCKET}/teams/fraud/x", {}, "implicit-deny"),
    ],
)
def test_policy_decision(action, resource, context, decision):
    assert guards.policy_decision([TEAM_POLICY], action, resource, context) == decision


def test_explicit_deny_wins_and_unknown_operators_raise():
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    assert guards.policy_decision([TEAM_POLICY, deny], "s3:GetObject", f"{BUCKET}/teams/fraud/x", {}) == "deny"
    odd = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}}}
        ]
    }
    with pytest.raises(ValueError, match="DateGreaterThan"):
        guards.policy_decision([odd], "s3:GetObject", "x", {"aws:CurrentTime": "y"})
    negated = {
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"k": "a"}}}]
    }
    assert guards.policy_decision([negated], "s3:GetObject", "x", {"k": "a"}) == "implicit-deny"
    assert guards.policy_decision([negated], "s3:GetObject", "x", {"k": "b"}) == "allow"


def test_foreign_team_references():
    assert guards.foreign_team_references(TEAM_POLICY, "fraud", ["fraud", "research", "fraud-x"]) == []
    leaky = {
        "Statement": [{"Sid": "Q", "Effect": "Allow", "Action": "batch:SubmitJob", "Resource": ["arn:q/strata-dev-research-cpu"]}]
    }
    assert guards.foreign_team_references(leaky, "fraud", ["research"]) == [
        "Q: arn:q/strata-dev-research-cpu names team 'research'"
    ]
    # a team whose name extends another's is not mistaken for it, in either direction
    own = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/teams/fraud-x/*"}]}
    assert guards.foreign_team_references(own, "fraud-x", ["fraud"]) == []
    assert guards.foreign_team_references(own, "fraud", ["fraud-x"]) != []
    condition = {"Statement": [{"Sid": "L", "Effect": "Allow", "Condition": {"StringLike": {"s3:prefix": ["teams/research/*"]}}}]}
    assert guards.foreign_team_references(condition, "fraud", ["research"])


def test_if_exists_operators_hold_when_the_key_is_absent():
    from tools.guards import conditions_hold

    condition = {"StringEqualsIfExists": {"aws:ResourceTag/team": "fraud"}}
    assert conditions_hold(condition, {}) is True
    assert conditions_hold(condition, {"aws:ResourceTag/team": "fraud"}) is True
    assert conditions_hold(condition, {"aws:ResourceTag/team": "research"}) is False
    assert conditions_hold({"StringEquals": {"aws:ResourceTag/team": "fraud"}}, {}) is False
    with pytest.raises(ValueError, match="not supported"):
        conditions_hold({"NumericLessThanIfExists": {"k": "1"}}, {})
