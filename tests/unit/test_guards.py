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
        # a URL inside a longer value (a profile's JSON): its host is a name
        '{"METAFLOW_ARGO_EVENTS_WEBHOOK_URL": "http://internal-strata-prod-eks-330616130174fda3.elb.us-east-1.amazonaws.com:30001"}',
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
    assert conditions_hold({"NumericLessThanIfExists": {"k": "1"}}, {}) is True
    assert conditions_hold({"NumericLessThanIfExists": {"k": "1"}}, {"k": "2"}) is False
    assert conditions_hold({"BoolIfExists": {"batch:Privileged": "false"}}, {}) is True
    assert conditions_hold({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:states:*:1:stateMachine:a*"}}, {}) is True


# ---------------------------------------------------------------- condition operators (IAM reference, edge cases)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html


def hold(operator: str, key: str, wanted: Any, context: dict[str, Any]) -> bool:
    return guards.conditions_hold({operator: {key: wanted}}, context)


@pytest.mark.parametrize(
    ("operator", "wanted", "got", "expected"),
    [
        ("StringEquals", "fraud", "fraud", True),
        ("StringEquals", "fraud", "Fraud", False),  # case-sensitive
        ("StringEquals", "f*", "fraud", False),  # no wildcards in StringEquals
        ("StringEquals", ["research", "fraud"], "fraud", True),  # any listed value (OR)
        ("StringNotEquals", ["research", "fraud"], "fraud", False),  # negated: none may match
        ("StringNotEquals", ["research", "fraud"], "forecasting", True),
        ("StringEqualsIgnoreCase", "FRAUD", "fraud", True),
        ("StringNotEqualsIgnoreCase", "FRAUD", "fraud", False),
        ("StringNotEqualsIgnoreCase", "FRAUD", "research", True),
        ("StringLike", "teams/fraud/*", "teams/fraud/a/b", True),
        ("StringLike", "teams/fraud/*", "teams/fraudster/a", False),
        ("StringLike", "team?", "teams", True),
        ("StringLike", "team?", "team", False),
        ("StringNotLike", "teams/fraud/*", "teams/research/x", True),
        ("NumericEquals", "1", "1.0", True),
        ("NumericNotEquals", "1", "2", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "0", "-1", False),
        ("NumericGreaterThanEquals", "0", "0", True),
        ("NumericLessThan", "10", "many", False),  # a request value that is no number matches no numeric test
        ("Bool", "false", False, True),  # a Python bool in the context is "true"/"false"
        ("Bool", "false", "true", False),
        ("Bool", True, "TRUE", True),
    ],
)
def test_single_valued_operators(operator, wanted, got, expected):
    assert hold(operator, "k", wanted, {"k": got}) is expected


def test_a_missing_key_fails_positive_operators_and_satisfies_negated_ones():
    for operator in ("StringEquals", "StringLike", "ArnLike", "NumericEquals", "Bool", "StringEqualsIgnoreCase"):
        assert hold(operator, "k", "1", {}) is False, operator
    for operator in ("StringNotEquals", "StringNotLike", "ArnNotLike", "NumericNotEquals", "StringNotEqualsIgnoreCase"):
        assert hold(operator, "k", "1", {}) is True, operator
    # an empty set is a missing key
    assert hold("StringEquals", "k", "1", {"k": []}) is False


def test_condition_key_names_are_case_insensitive():
    assert hold("StringEquals", "aws:ResourceTag/team", "fraud", {"AWS:resourcetag/TEAM": "fraud"})


def test_null_checks_whether_the_key_exists():
    assert hold("Null", "aws:RequestTag/team", "true", {}) is True
    assert hold("Null", "aws:RequestTag/team", "true", {"aws:RequestTag/team": "fraud"}) is False
    assert hold("Null", "aws:RequestTag/team", "false", {"aws:RequestTag/team": "fraud"}) is True
    assert hold("Null", "aws:TagKeys", "false", {"aws:TagKeys": []}) is False, "an empty set is a null value"
    assert hold("Null", "k", True, {}) is True  # a JSON true
    for bad in ("maybe", ["true", "false"]):
        with pytest.raises(ValueError, match="Null"):
            hold("Null", "k", bad, {})
    with pytest.raises(ValueError, match="Null"):
        hold("NullIfExists", "k", "true", {})
    with pytest.raises(ValueError, match="Null"):
        hold("ForAllValues:Null", "k", "true", {})


def test_for_all_values_is_a_subset_test_and_holds_vacuously():
    allowed = ["team", "cost-center"]
    assert hold("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["team"]})
    assert hold("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["team", "cost-center"]})
    assert not hold("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["team", "owner"]})
    # "It also returns true if there are no context keys in the request": the guide's warning, reproduced.
    assert hold("ForAllValues:StringEquals", "aws:TagKeys", allowed, {})
    assert hold("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": []})
    # The guide's table for a Deny with ForAllValues:StringNotLike "key1*" (reference_policies_condition_examples-multi-valued-context-keys).
    rule = ("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")
    assert not hold(*rule, {"aws:TagKeys": ["key1:legal"]})
    assert not hold(*rule, {"aws:TagKeys": ["key1:hr", "key1:personnel"]})
    assert hold(*rule, {"aws:TagKeys": ["key2:audit"]})
    assert hold(*rule, {})


def test_for_any_value_needs_one_match_and_fails_on_a_missing_key():
    assert hold("ForAnyValue:StringEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["owner", "team"]})
    assert not hold("ForAnyValue:StringEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["owner"]})
    assert not hold("ForAnyValue:StringEquals", "aws:TagKeys", "team", {})
    assert hold("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "team", {})
    assert hold("ForAnyValue:StringNotEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["team", "owner"]})
    assert not hold("ForAnyValue:StringNotEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["team"]})
    # a single value in the request is a set of one
    assert hold("ForAnyValue:StringLike", "aws:TagKeys", "te*", {"aws:TagKeys": "team"})


def test_a_multivalued_key_needs_a_set_operator_and_unknown_operators_raise():
    with pytest.raises(ValueError, match="ForAllValues or ForAnyValue"):
        hold("StringEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["team", "owner"]})
    assert hold("StringEquals", "aws:TagKeys", "team", {"aws:TagKeys": ["team"]})  # one value is a single value
    for operator in ("DateLessThan", "IpAddress", "BinaryEquals", "ForSomeValues:StringEquals", "StringEqualz"):
        with pytest.raises(ValueError, match="not supported|unknown set operator"):
            hold(operator, "k", "1", {"k": "1"})
    with pytest.raises(ValueError, match="policy variables"):
        hold("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}", {})
    with pytest.raises(ValueError, match="not a number"):
        hold("NumericLessThan", "k", "ten", {"k": "1"})
    # every test is evaluated: an unsupported operator after a failing one still raises
    with pytest.raises(ValueError, match="DateGreaterThan"):
        guards.conditions_hold({"StringEquals": {"k": "a"}, "DateGreaterThan": {"t": "x"}}, {"k": "b"})


def test_arn_operators_match_each_part_separately():
    machines = "arn:aws:states:*:123456789012:stateMachine:strata-dev-fraud_*"
    assert hold(
        "ArnLike",
        "aws:SourceArn",
        machines,
        {"aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:strata-dev-fraud_x"},
    )
    assert not hold(
        "ArnLike",
        "aws:SourceArn",
        machines,
        {"aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:strata-dev-research_x"},
    )
    # ArnEquals takes wildcards too (the IAM reference: both check each of the six parts with * and ?)
    assert hold(
        "ArnEquals",
        "aws:SourceArn",
        machines,
        {"aws:SourceArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:strata-dev-fraud_y"},
    )
    assert hold(
        "ArnNotLike",
        "aws:SourceArn",
        machines,
        {"aws:SourceArn": "arn:aws:states:us-east-1:999999999999:stateMachine:strata-dev-fraud_x"},
    )
    # a wildcard in one part does not reach into the next one; in the last part (the resource) it keeps colons
    assert not guards.arn_matches("arn:aws:iam::*:role/x", "arn:aws:iam::1:2:role/x")
    assert guards.arn_matches(
        "arn:aws:logs:us-east-1:1:log-group:/strata/dev/batch/fraud:*",
        "arn:aws:logs:us-east-1:1:log-group:/strata/dev/batch/fraud:log-stream:a",
    )
    assert guards.arn_matches("*", "anything") and not guards.arn_matches(
        "arn:aws:s3:::b/teams/fraud/*", "arn:aws:s3:::b/teams/research/x"
    )


# ---------------------------------------------------------------- statements: NotAction, NotResource, trust, several resources


def test_not_action_and_not_resource():
    everything_but_iam = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert guards.policy_decision([everything_but_iam], "s3:GetObject", "arn:aws:s3:::b/k", {}) == "allow"
    assert guards.policy_decision([everything_but_iam], "iam:PassRole", "arn:aws:iam::1:role/r", {}) == "implicit-deny"
    outside = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/teams/fraud/*"}]}
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert guards.policy_decision([allow_all, outside], "s3:GetObject", f"{BUCKET}/teams/fraud/x", {}) == "allow"
    assert guards.policy_decision([allow_all, outside], "s3:GetObject", f"{BUCKET}/teams/research/x", {}) == "deny"
    with pytest.raises(ValueError, match="Effect"):
        guards.policy_decision([{"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}], "s3:GetObject", "x", {})


SFN_TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:strata-dev-fraud_*"},
            },
        }
    ]
}


def test_trust_policies_are_evaluated_with_the_principal_and_source():
    states = {"Service": "states.amazonaws.com"}
    own = {
        "aws:SourceAccount": "123456789012",
        "aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:strata-dev-fraud_flow",
    }
    other = {**own, "aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:strata-dev-research_flow"}
    assert guards.policy_decision([SFN_TRUST], "sts:AssumeRole", None, own, principal=states) == "allow"
    assert guards.policy_decision([SFN_TRUST], "sts:AssumeRole", None, other, principal=states) == "implicit-deny"
    assert (
        guards.policy_decision([SFN_TRUST], "sts:AssumeRole", None, own, principal={"Service": "events.amazonaws.com"})
        == "implicit-deny"
    )
    assert guards.policy_decision([SFN_TRUST], "sts:AssumeRole", None, {}, principal=states) == "implicit-deny", (
        "no source: refused"
    )
    with pytest.raises(ValueError, match="principal"):
        guards.policy_decision([SFN_TRUST], "sts:AssumeRole", None, own)


def test_an_account_principal_names_every_principal_of_that_account():
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]}, "Action": "sts:AssumeRole"}]
    }
    decide = lambda arn: guards.policy_decision([trust], "sts:AssumeRole", None, {}, principal={"AWS": arn})  # noqa: E731
    assert decide("arn:aws:iam::123456789012:user/prober") == "allow"
    assert decide("arn:aws:sts::123456789012:assumed-role/x/y") == "allow"
    assert decide("arn:aws:iam::999999999999:user/prober") == "implicit-deny"
    exact = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/a"}, "Action": "sts:AssumeRole"}]}
    assert (
        guards.policy_decision([exact], "sts:AssumeRole", None, {}, principal={"AWS": "arn:aws:iam::1:role/b"}) == "implicit-deny"
    )
    assert guards.principal_matches("*", {"Service": "events.amazonaws.com"})


def test_a_request_on_several_resources_needs_every_one_allowed():
    queue = "arn:aws:batch:us-east-1:123456789012:job-queue/strata-dev-fraud-cpu"
    own = "arn:aws:batch:us-east-1:123456789012:job-definition/strata-dev-fraud_abc:1"
    theirs = "arn:aws:batch:us-east-1:123456789012:job-definition/strata-dev-research_abc:1"
    tags = {"aws:RequestTag/team": "fraud"}
    submit = [(queue, tags), (own, {**tags, "aws:ResourceTag/team": "fraud"})]
    assert guards.request_decision([GOOD_BATCH], "batch:SubmitJob", submit) == "allow"
    assert (
        guards.request_decision(
            [GOOD_BATCH], "batch:SubmitJob", [submit[0], (theirs, {**tags, "aws:ResourceTag/team": "research"})]
        )
        == "implicit-deny"
    )
    # B's definition re-tagged? It still lives under B's prefix, which A's statement does not name
    assert (
        guards.request_decision([GOOD_BATCH], "batch:SubmitJob", [submit[0], (theirs, {**tags, "aws:ResourceTag/team": "fraud"})])
        == "implicit-deny"
    )
    # without a revision the definition's tags are not evaluated by Batch: the ':*' pattern refuses it
    assert (
        guards.request_decision([GOOD_BATCH], "batch:SubmitJob", [submit[0], (own.removesuffix(":1"), tags)]) == "implicit-deny"
    )
    deny = {"Statement": [{"Effect": "Deny", "Action": "batch:SubmitJob", "Resource": queue}]}
    assert guards.request_decision([GOOD_BATCH, deny], "batch:SubmitJob", submit) == "deny"
    assert guards.request_decision([GOOD_BATCH], "batch:SubmitJob", []) == "implicit-deny"


# ---------------------------------------------------------------- tenancy invariants: each must be able to fail

ACCOUNT_ARN = "arn:aws:batch:us-east-1:123456789012"
JOB_DEFINITIONS = f"{ACCOUNT_ARN}:job-definition/strata-dev-fraud_*"
JOBS = f"{ACCOUNT_ARN}:job/*"
# Shaped like the contract of issue 11 (common brief): what a team's Batch statements should look like.
GOOD_BATCH = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SubmitToOwnQueues",
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": f"{ACCOUNT_ARN}:job-queue/strata-dev-fraud-cpu",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "fraud"}},
        },
        {
            "Sid": "SubmitOwnDefinitions",
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": f"{JOB_DEFINITIONS}:*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "fraud", "aws:RequestTag/team": "fraud"}},
        },
        {
            "Sid": "RegisterOwnDefinitions",
            "Effect": "Allow",
            "Action": "batch:RegisterJobDefinition",
            "Resource": JOB_DEFINITIONS,
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/team": "fraud",
                    "batch:AWSLogsGroup": "/strata/dev/batch/fraud",
                    "batch:LogDriver": "awslogs",
                },
                "Bool": {"batch:Privileged": "false"},
                "StringNotLikeIfExists": {"batch:User": ["root", "root:*", "0", "0:*"]},
            },
        },
        {
            "Sid": "StopOwnJobs",
            "Effect": "Allow",
            "Action": ["batch:TerminateJob", "batch:CancelJob"],
            "Resource": JOBS,
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "fraud"}},
        },
        {
            "Sid": "TagOwnJobs",
            "Effect": "Allow",
            "Action": "batch:TagResource",
            "Resource": JOBS,
            "Condition": {
                "StringEquals": {"aws:RequestTag/team": "fraud"},
                "StringEqualsIfExists": {"aws:ResourceTag/team": "fraud"},
            },
        },
        {"Sid": "ReadBatch", "Effect": "Allow", "Action": ["batch:DescribeJobs", "batch:ListJobs"], "Resource": "*"},
    ],
}


def _with(sid: str, **changes: Any) -> dict[str, Any]:
    """GOOD_BATCH with one statement changed (``Condition=None`` drops it)."""
    doc = json.loads(json.dumps(GOOD_BATCH))
    for s in doc["Statement"]:
        if s["Sid"] == sid:
            for k, v in changes.items():
                s.pop(k, None) if v is None else s.update({k: v})
    return doc


def test_the_contract_shaped_batch_policy_is_clean():
    assert guards.unsafe_batch_statements(GOOD_BATCH) == []
    # other spellings of the same guards are recognised too
    register = {
        "StringEquals": {"aws:RequestTag/team": "fraud", "batch:LogDriver": "awslogs"},
        "StringEqualsIgnoreCase": {"batch:AWSLogsGroup": "/strata/dev/batch/fraud"},
        "StringNotEqualsIgnoreCase": {"batch:Privileged": "true"},
        "StringNotLike": {"batch:User": ["root*", "0", "0:*"]},
    }
    assert guards.unsafe_batch_statements(_with("RegisterOwnDefinitions", Condition=register)) == []


@pytest.mark.parametrize(
    ("sid", "changes", "expected"),
    [
        # path 1: SubmitJob on every job definition, as the released policy had it
        ("SubmitOwnDefinitions", {"Condition": None}, "without both team tags"),
        ("SubmitOwnDefinitions", {"Resource": f"{ACCOUNT_ARN}:job-definition/*"}, "without a revision"),
        ("SubmitOwnDefinitions", {"Resource": "*"}, "without a revision"),
        (
            "SubmitOwnDefinitions",
            {"Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "fraud", "aws:RequestTag/team": "fraud"}}},
            "without both team tags",
        ),
        (
            "SubmitOwnDefinitions",
            {"Condition": {"StringLike": {"aws:ResourceTag/team": "*", "aws:RequestTag/team": "fraud"}}},
            "without both team tags",
        ),
        (
            "SubmitOwnDefinitions",
            {"Condition": {"StringEquals": {"aws:ResourceTag/team": "fraud", "aws:RequestTag/team": "research"}}},
            "to one team",
        ),
        (
            "SubmitOwnDefinitions",
            {"Condition": {"StringEquals": {"aws:ResourceTag/team": ["fraud", "research"], "aws:RequestTag/team": "fraud"}}},
            "without both team tags",
        ),
        # path 3: privileged containers and foreign log groups
        ("RegisterOwnDefinitions", {"Condition": None}, "batch:Privileged"),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/team": "fraud",
                        "batch:AWSLogsGroup": "/strata/dev/batch/fraud",
                        "batch:LogDriver": "awslogs",
                    }
                }
            },
            "batch:Privileged=true",
        ),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "Bool": {"batch:Privileged": "false"},
                    "StringEqualsIfExists": {
                        "aws:RequestTag/team": "fraud",
                        "batch:AWSLogsGroup": "/strata/dev/batch/fraud",
                        "batch:LogDriver": "awslogs",
                    },
                }
            },
            "batch:AWSLogsGroup",
        ),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "Bool": {"batch:Privileged": "false"},
                    "StringEquals": {
                        "aws:RequestTag/team": "fraud",
                        "batch:AWSLogsGroup": "/aws/batch/job",
                        "batch:LogDriver": "awslogs",
                    },
                }
            },
            "batch:AWSLogsGroup",
        ),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "Bool": {"batch:Privileged": "false"},
                    "StringLike": {
                        "aws:RequestTag/team": "fraud",
                        "batch:AWSLogsGroup": "/strata/*",
                        "batch:LogDriver": "awslogs",
                    },
                }
            },
            "batch:AWSLogsGroup",
        ),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "Bool": {"batch:Privileged": "false"},
                    "StringEquals": {"batch:AWSLogsGroup": "/strata/dev/batch/fraud", "batch:LogDriver": "awslogs"},
                }
            },
            "aws:RequestTag/team",
        ),
        (
            "RegisterOwnDefinitions",
            {
                "Condition": {
                    "Bool": {"batch:Privileged": "false"},
                    "StringEquals": {"aws:RequestTag/team": "fraud", "batch:AWSLogsGroup": "/strata/dev/batch/fraud"},
                }
            },
            "batch:LogDriver",
        ),
        # path 3: the root user, by name, by uid, or as user:group (Docker's --user)
        (
            "RegisterOwnDefinitions",
            {"Condition": {**GOOD_BATCH["Statement"][2]["Condition"], "StringNotLikeIfExists": {"batch:User": ["root", "0"]}}},
            "batch:User ['0:0', 'root:root', '0:1000']",
        ),
        (
            "RegisterOwnDefinitions",
            {"Condition": {k: v for k, v in GOOD_BATCH["Statement"][2]["Condition"].items() if k != "StringNotLikeIfExists"}},
            "batch:User ['root'",
        ),
        # path 9: another team's names
        ("RegisterOwnDefinitions", {"Resource": f"{ACCOUNT_ARN}:job-definition/*"}, "on any name"),
        ("StopOwnJobs", {"Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "fraud"}}}, "TerminateJob on jobs"),
        ("TagOwnJobs", {"Condition": {"StringEquals": {"aws:RequestTag/team": "fraud"}}}, "tagged for another team"),
        ("TagOwnJobs", {"Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "fraud"}}}, "aws:RequestTag/team pinned"),
        ("ReadBatch", {"Action": "batch:*"}, "SubmitJob on job definitions"),
        ("ReadBatch", {"Action": ["batch:Describe*", "batch:UntagResource"], "Resource": JOBS}, "UntagResource on jobs"),
    ],
)
def test_unsafe_batch_statements_are_found(sid, changes, expected):
    problems = guards.unsafe_batch_statements(_with(sid, **changes))
    assert any(expected in p for p in problems), problems


def test_forbidden_actions_are_found_through_wildcards_and_not_action():
    assert guards.forbidden_action_statements(GOOD_BATCH) == []
    for statement in (
        {"Sid": "X", "Effect": "Allow", "Action": "logs:PutResourcePolicy", "Resource": "*"},
        {"Sid": "X", "Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:us-east-1:1:*"},
        {"Sid": "X", "Effect": "Allow", "Action": "Logs:Put*", "Resource": "*"},
        {"Sid": "X", "Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
    ):
        assert guards.forbidden_action_statements({"Statement": [statement]}) == ["X: allows logs:PutResourcePolicy"], statement
    deny = {"Statement": [{"Sid": "X", "Effect": "Deny", "Action": "logs:PutResourcePolicy", "Resource": "*"}]}
    assert guards.forbidden_action_statements(deny) == []


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"httpTokens": "required", "httpPutResponseHopLimit": 1}, False),
        ({"httpEndpoint": "disabled"}, False),
        ({"httpTokens": "required", "httpPutResponseHopLimit": 2}, True),
        ({"httpTokens": "required"}, True),
        (None, True),
    ],
)
def test_launch_template_hop_limit(options, bad):
    assert bool(guards.launch_template_problems({"metadataOptions": options})) is bad


def test_a_profile_key_may_point_at_a_secret_but_not_hold_one():
    from core.secret_guard import profile_secret_problems

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf"
    assert profile_secret_problems({"METAFLOW_STRATA_API_KEY_SECRET": arn}) == []
    assert profile_secret_problems({"METAFLOW_STRATA_API_KEY_SECRET": "k3y-value-in-clear"})
    assert profile_secret_problems({"METAFLOW_SERVICE_AUTH_KEY": "abc"})
