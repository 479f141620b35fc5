"""Pure tests of core/iam.py: the IAM building blocks several layers share.

A team's slice of the datastore (``team_prefix_statements``, ``team_data_statements``) is exactly its prefix
and the key; the argument checks refuse wildcards; the service values follow the partition's DNS suffix.
"""

from __future__ import annotations

import fnmatch
import json

import pytest

from core import iam, naming

BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
VIA = "s3.us-east-1.amazonaws.com"
TEAMS = ["fraud", "fraud-detection", "forecasting", "research"]


def _resources(statement: dict) -> list[str]:
    r = statement["Resource"]
    return [r] if isinstance(r, str) else list(r)


def _actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else list(a)


def _allows(statements: list[dict], action: str, resource: str, s3_prefix: str | None = None) -> bool:
    """A tiny evaluator for the Allow statements these functions produce (exact + '*' wildcards)."""
    for s in statements:
        if s["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in _actions(s)):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _resources(s)):
            continue
        like = s.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if like is not None and (s3_prefix is None or not any(fnmatch.fnmatchcase(s3_prefix, p) for p in like)):
            continue
        return True
    return False


# ---------------------------------------------------------------- team prefixes


@pytest.mark.parametrize("team", TEAMS)
def test_team_statements_name_only_the_team_prefix_and_key(team):
    prefix = naming.team_prefix(team)
    statements = iam.team_prefix_statements(BUCKET, prefix, KEY)
    text = json.dumps(statements)
    for other in TEAMS:
        if other != team:
            assert naming.team_prefix(other) not in text, f"{team}'s statements name {other}'s prefix"
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"ListOwnPrefix", "BucketLocation", "ReadWriteOwnPrefix", "UseDatastoreKey"}
    assert by_sid["ReadWriteOwnPrefix"]["Resource"] == f"{BUCKET}/{prefix}*"
    assert by_sid["ListOwnPrefix"]["Resource"] == BUCKET
    assert by_sid["ListOwnPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}
    assert by_sid["BucketLocation"] == {
        "Sid": "BucketLocation",
        "Effect": "Allow",
        "Action": "s3:GetBucketLocation",
        "Resource": BUCKET,
    }
    assert by_sid["UseDatastoreKey"]["Resource"] == KEY
    assert sorted(by_sid["UseDatastoreKey"]["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


@pytest.mark.parametrize("team", TEAMS)
def test_no_wildcard_beyond_the_prefix(team):
    prefix = naming.team_prefix(team)
    for s in iam.team_prefix_statements(BUCKET, prefix, KEY):
        assert s["Effect"] == "Allow" and "Principal" not in s, s
        for action in _actions(s):
            assert "*" not in action, f"{s['Sid']}: wildcard action {action}"
        for resource in _resources(s):
            assert resource in (BUCKET, KEY, f"{BUCKET}/{prefix}*"), f"{s['Sid']}: unexpected resource {resource}"
            # The only '*' allowed is the one that follows the team's own prefix.
            assert resource.count("*") == (1 if resource == f"{BUCKET}/{prefix}*" else 0), resource


def test_a_team_reaches_its_objects_and_no_one_elses():
    """'fraud' must not reach 'fraud-detection' (prefix of the other's name) nor anything outside teams/fraud/."""
    fraud = iam.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert _allows(fraud, action, f"{BUCKET}/teams/fraud/Flow/1/step/data.pkl")
        assert not _allows(fraud, action, f"{BUCKET}/teams/fraud-detection/Flow/1/data.pkl"), action
        assert not _allows(fraud, action, f"{BUCKET}/teams/research/x"), action
        assert not _allows(fraud, action, f"{BUCKET}/other/teams/fraud/x"), action
        assert not _allows(fraud, action, f"{BUCKET}/teams/fraud"), action
    assert not _allows(fraud, "s3:DeleteObjectVersion", f"{BUCKET}/teams/fraud/x"), "permanent deletes stay with the platform"
    assert not _allows(fraud, "s3:PutBucketPolicy", BUCKET)
    assert not _allows(fraud, "s3:GetObject", "arn:aws:s3:::another-bucket/teams/fraud/x")


def test_listing_is_limited_to_the_prefix():
    fraud = iam.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
    assert _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud/")
    assert _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud/MyFlow/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud-detection/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix=None), "listing the whole bucket"


def test_kms_is_limited_to_the_datastore_key():
    fraud = iam.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
    assert _allows(fraud, "kms:Decrypt", KEY) and _allows(fraud, "kms:GenerateDataKey", KEY)
    assert not _allows(fraud, "kms:Decrypt", OTHER_KEY)
    assert not _allows(fraud, "kms:ScheduleKeyDeletion", KEY)


@pytest.mark.parametrize("bad", ["", "teams/fraud", "/teams/fraud/", "teams/*/", "teams/fr?ud/", "*"])
def test_team_statements_reject_loose_prefixes(bad):
    with pytest.raises(ValueError):
        iam.team_prefix_statements(BUCKET, bad, KEY)


@pytest.mark.parametrize(("bucket", "key"), [("arn:aws:s3:::*", KEY), (BUCKET, "*"), ("", KEY), (BUCKET, "")])
def test_team_statements_reject_wildcard_or_empty_arns(bucket, key):
    with pytest.raises(ValueError):
        iam.team_prefix_statements(bucket, "teams/fraud/", key)


# ---------------------------------------------------------------- with kms:ViaService


def test_team_data_statements_are_the_prefix_statements_with_the_key_through_s3_only() -> None:
    prefix = naming.team_prefix("fraud")
    plain = iam.team_prefix_statements(BUCKET, prefix, KEY)
    via = iam.team_data_statements(BUCKET, prefix, KEY, kms_via_service=VIA)
    assert [s["Sid"] for s in via] == [s["Sid"] for s in plain], "same statements, same order"
    for before, after in zip(plain, via, strict=True):
        if before["Sid"] == "UseDatastoreKey":
            assert after == {**before, "Condition": {"StringEquals": {"kms:ViaService": VIA}}}
        else:
            assert after == before, before["Sid"]
    assert iam.team_data_statements(BUCKET, prefix, KEY) == plain, "without kms_via_service: the prefix statements"


def test_team_data_statements_do_not_mutate_the_prefix_statements() -> None:
    prefix = naming.team_prefix("fraud")
    first = iam.team_prefix_statements(BUCKET, prefix, KEY)
    iam.team_data_statements(BUCKET, prefix, KEY, kms_via_service=VIA)
    assert "kms:ViaService" not in json.dumps(iam.team_prefix_statements(BUCKET, prefix, KEY))
    assert "kms:ViaService" not in json.dumps(first)


# ---------------------------------------------------------------- services and ARN patterns


def test_via_service_follows_the_region_and_the_partition_dns_suffix() -> None:
    assert iam.s3_via_service("eu-west-1") == "s3.eu-west-1.amazonaws.com"
    assert iam.s3_via_service("cn-north-1", "amazonaws.com.cn") == "s3.cn-north-1.amazonaws.com.cn"
    assert iam.via_service("dynamodb", "us-east-1") == "dynamodb.us-east-1.amazonaws.com"
    for bad in (("s3", "", "amazonaws.com"), ("s3", "us-east-1", ""), ("", "us-east-1", "amazonaws.com")):
        with pytest.raises(ValueError):
            iam.via_service(*bad)
    with pytest.raises(ValueError):
        iam.s3_via_service("")


@pytest.mark.parametrize("service", [iam.ECS_TASKS_SERVICE, "ec2.amazonaws.com"])
def test_service_trust_policy_admits_one_service(service: str) -> None:
    doc = iam.service_trust_policy(service)
    assert doc["Version"] == iam.VERSION == "2012-10-17"
    assert doc["Statement"] == [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]


def test_batch_arn_patterns_follow_partition_region_and_account() -> None:
    assert iam.batch_jobs_arn("aws", "us-east-1", "123") == "arn:aws:batch:us-east-1:123:job/*"
    prefix = naming.job_definition_prefix("dev", "fraud")
    assert iam.team_job_definitions_arn("aws-cn", "cn-north-1", "123", prefix, revision=False) == (
        "arn:aws-cn:batch:cn-north-1:123:job-definition/strata-dev-fraud_*"
    )
    assert iam.team_job_definitions_arn("aws-cn", "cn-north-1", "123", prefix, revision=True) == (
        "arn:aws-cn:batch:cn-north-1:123:job-definition/strata-dev-fraud_*:*"
    )
    assert not hasattr(iam, "batch_job_definitions_arn"), "no pattern for every job definition of the account"


# ---------------------------------------------------------------- a team's job definitions

DEFINITIONS = "arn:aws:batch:us-east-1:123456789012:job-definition/"


@pytest.mark.parametrize("team", TEAMS)
def test_a_teams_job_definition_pattern_matches_its_own_names_only(team) -> None:
    """``fraud``'s pattern must not match ``fraud-detection``'s definitions (nor Metaflow's ``metaflow_<hash>``)."""
    own = iam.team_job_definitions_arn(
        "aws", "us-east-1", "123456789012", naming.job_definition_prefix("dev", team), revision=True
    )
    assert fnmatch.fnmatchcase(f"{DEFINITIONS}{naming.job_definition_prefix('dev', team)}0a1b2c:3", own)
    for other in TEAMS:
        if other != team:
            theirs = f"{DEFINITIONS}{naming.job_definition_prefix('dev', other)}0a1b2c:3"
            assert not fnmatch.fnmatchcase(theirs, own), f"{team}'s {own} matches {theirs}"
    assert not fnmatch.fnmatchcase(f"{DEFINITIONS}metaflow_0a1b2c:3", own), "Metaflow's own, untagged names"
    assert not fnmatch.fnmatchcase(f"{DEFINITIONS}{naming.job_definition_prefix('prod', team)}0a1b2c:3", own), "other env"


def test_the_submit_pattern_needs_a_revision() -> None:
    """AWS evaluates a job definition's tags at SubmitJob only when the job names a revision: without one,
    the ``:*`` pattern matches nothing, so the ``aws:ResourceTag`` condition cannot be side-stepped."""
    prefix = naming.job_definition_prefix("dev", "fraud")
    submit = iam.team_job_definitions_arn("aws", "us-east-1", "123456789012", prefix, revision=True)
    register = iam.team_job_definitions_arn("aws", "us-east-1", "123456789012", prefix, revision=False)
    assert fnmatch.fnmatchcase(f"{DEFINITIONS}{prefix}0a1b2c:12", submit)
    assert not fnmatch.fnmatchcase(f"{DEFINITIONS}{prefix}0a1b2c", submit), "a definition named without its revision"
    assert fnmatch.fnmatchcase(f"{DEFINITIONS}{prefix}0a1b2c", register)


@pytest.mark.parametrize("bad", ["", "*", "strata-dev-*", "strata-dev-fr?ud_"])
def test_team_job_definitions_arn_refuses_a_loose_prefix(bad) -> None:
    with pytest.raises(ValueError, match="name_prefix"):
        iam.team_job_definitions_arn("aws", "us-east-1", "123456789012", bad, revision=True)


def test_team_submit_conditions_tag_the_job_and_require_the_teams_resources() -> None:
    assert iam.team_submit_conditions("fraud") == {
        "StringEquals": {"aws:RequestTag/team": "fraud", "aws:ResourceTag/team": "fraud"}
    }
    assert iam.team_submit_conditions("fraud") is not iam.team_submit_conditions("fraud"), "a fresh dict each call"
    for bad in ("", "*", "fr?ud"):
        with pytest.raises(ValueError, match="team"):
            iam.team_submit_conditions(bad)


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize("bad", ["", None, "*", "arn:aws:s3:::b*", "arn:aws:s3:::b?"])
def test_concrete_refuses_empty_or_wildcard_values(bad) -> None:
    with pytest.raises(ValueError, match="what"):
        iam.concrete("what", bad)


def test_concrete_and_require_arn_return_the_value() -> None:
    assert iam.concrete("name", "fraud") == "fraud"
    assert iam.require_arn("key", KEY) == KEY
    with pytest.raises(ValueError, match="must be an ARN"):
        iam.require_arn("key", "alias/strata-dev-datastore")
    with pytest.raises(ValueError, match="concrete"):
        iam.require_arn("key", "arn:aws:kms:us-east-1:1:key/*")


@pytest.mark.parametrize("bad", ["", "teams/fraud", "/teams/fraud/", "teams/*/", "teams/fr?ud/"])
def test_check_prefix_wants_a_relative_prefix_ending_in_a_slash(bad: str) -> None:
    with pytest.raises(ValueError):
        iam.check_prefix(bad)
    assert iam.check_prefix("teams/fraud/") == "teams/fraud/"
