"""Pure tests of modules.datastore.policies: the documents are exactly as narrow as they claim."""

from __future__ import annotations

import fnmatch
import json

import pytest

from core import naming
from modules.datastore import policies

BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
LOGS = "arn:aws:s3:::acme-ml-dev-access-logs"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
ACCOUNT = "123456789012"
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


# ---------------------------------------------------------------- TLS only


def test_tls_only_statement_denies_plain_http_on_bucket_and_objects():
    s = policies.tls_only_statement(BUCKET)
    assert s == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_datastore_bucket_policy_is_only_the_tls_deny():
    doc = policies.datastore_bucket_policy(BUCKET)
    assert doc["Version"] == "2012-10-17"
    assert doc["Statement"] == [policies.tls_only_statement(BUCKET)]
    # No "deny unencrypted PutObject": default encryption covers it and the deny breaks multipart clients.
    assert "s3:x-amz-server-side-encryption" not in json.dumps(doc)
    assert all(s["Effect"] == "Deny" for s in doc["Statement"]), "the bucket policy grants nothing"


# ---------------------------------------------------------------- log bucket


def test_log_bucket_policy_lets_only_s3_logging_for_the_datastore_write_under_its_prefix():
    doc = policies.log_bucket_policy(LOGS, BUCKET, ACCOUNT)
    allow, deny = doc["Statement"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Effect"] == "Allow" and allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"{LOGS}/datastore/*"
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": BUCKET},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert deny == policies.tls_only_statement(LOGS)


def test_log_bucket_policy_without_account_and_with_another_prefix():
    doc = policies.log_bucket_policy(LOGS, BUCKET, prefix="other/")
    allow = doc["Statement"][0]
    assert allow["Resource"] == f"{LOGS}/other/*"
    assert allow["Condition"] == {"ArnLike": {"aws:SourceArn": BUCKET}}


@pytest.mark.parametrize("bad", ["", "datastore", "/datastore/", "data*/", "d?/"])
def test_log_bucket_policy_rejects_loose_prefixes(bad):
    with pytest.raises(ValueError):
        policies.log_bucket_policy(LOGS, BUCKET, ACCOUNT, prefix=bad)


def test_log_bucket_policy_rejects_wildcard_source():
    with pytest.raises(ValueError):
        policies.log_bucket_policy(LOGS, "arn:aws:s3:::*", ACCOUNT)


# ---------------------------------------------------------------- team prefixes


@pytest.mark.parametrize("team", TEAMS)
def test_team_statements_name_only_the_team_prefix_and_key(team):
    prefix = naming.team_prefix(team)
    statements = policies.team_prefix_statements(BUCKET, prefix, KEY)
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
    for s in policies.team_prefix_statements(BUCKET, prefix, KEY):
        assert s["Effect"] == "Allow" and "Principal" not in s, s
        for action in _actions(s):
            assert "*" not in action, f"{s['Sid']}: wildcard action {action}"
        for resource in _resources(s):
            assert resource in (BUCKET, KEY, f"{BUCKET}/{prefix}*"), f"{s['Sid']}: unexpected resource {resource}"
            # The only '*' allowed is the one that follows the team's own prefix.
            assert resource.count("*") == (1 if resource == f"{BUCKET}/{prefix}*" else 0), resource


def test_a_team_reaches_its_objects_and_no_one_elses():
    """'fraud' must not reach 'fraud-detection' (prefix of the other's name) nor anything outside teams/fraud/."""
    fraud = policies.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
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
    fraud = policies.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
    assert _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud/")
    assert _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud/MyFlow/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/fraud-detection/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix="teams/")
    assert not _allows(fraud, "s3:ListBucket", BUCKET, s3_prefix=None), "listing the whole bucket"


def test_kms_is_limited_to_the_datastore_key():
    fraud = policies.team_prefix_statements(BUCKET, naming.team_prefix("fraud"), KEY)
    assert _allows(fraud, "kms:Decrypt", KEY) and _allows(fraud, "kms:GenerateDataKey", KEY)
    assert not _allows(fraud, "kms:Decrypt", OTHER_KEY)
    assert not _allows(fraud, "kms:ScheduleKeyDeletion", KEY)


@pytest.mark.parametrize("bad", ["", "teams/fraud", "/teams/fraud/", "teams/*/", "teams/fr?ud/", "*"])
def test_team_statements_reject_loose_prefixes(bad):
    with pytest.raises(ValueError):
        policies.team_prefix_statements(BUCKET, bad, KEY)


@pytest.mark.parametrize(("bucket", "key"), [("arn:aws:s3:::*", KEY), (BUCKET, "*"), ("", KEY), (BUCKET, "")])
def test_team_statements_reject_wildcard_or_empty_arns(bucket, key):
    with pytest.raises(ValueError):
        policies.team_prefix_statements(bucket, "teams/fraud/", key)


def test_key_alias():
    assert naming.datastore_key_alias("dev") == "alias/strata-dev-datastore"
