"""Pure tests of modules.datastore.policies: the documents are exactly as narrow as they claim.

A team's slice of the datastore (``core.iam.team_prefix_statements``) is tested in ``test_core_iam.py``."""

from __future__ import annotations

import json

import pytest

from core import naming
from modules.datastore import policies

BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
LOGS = "arn:aws:s3:::acme-ml-dev-access-logs"
ACCOUNT = "123456789012"


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


def test_key_alias():
    assert naming.datastore_key_alias("dev") == "alias/strata-dev-datastore"
