"""Policy documents of the datastore layer, as plain dicts.

Pure functions of ARNs (no Pulumi import) so that they are unit-tested without mocks and reused by
the modules that grant a team its slice of the datastore (``team_prefix_statements``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Statement = dict[str, Any]
PolicyDocument = dict[str, Any]

VERSION = "2012-10-17"
# Sid of the TLS-only deny. Stable on purpose: the local cloud recognises it (moto applies a Deny on
# object actions to every caller, ignoring Condition) and the gates assert on it.
TLS_ONLY_SID = "DenyInsecureTransport"
# The service principal that delivers S3 server access logs.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
LOGGING_SERVICE = "logging.s3.amazonaws.com"
# Where the datastore bucket's access logs land inside the log bucket.
DATASTORE_LOG_PREFIX = "datastore/"

# Object actions a team principal gets under its own prefix. DeleteObject on a versioned bucket only
# adds a delete marker: permanent deletion (DeleteObjectVersion) stays with the platform, so a leaked
# team credential cannot destroy history. AbortMultipartUpload lets clients clean up failed uploads.
TEAM_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
# SSE-KMS needs GenerateDataKey to write and Decrypt to read and to complete multipart uploads.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
# (Encrypt is not used by S3 itself; it lets tools encrypt small payloads with the same key.)
TEAM_KMS_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

_WILDCARDS = ("*", "?")


def _no_wildcards(what: str, value: str) -> None:
    if not value or any(w in value for w in _WILDCARDS):
        raise ValueError(f"{what} must be a concrete, non-empty value without '*' or '?': {value!r}")


def tls_only_statement(bucket_arn: str) -> Statement:
    """Deny every request to the bucket and its objects that does not use TLS.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
    """
    _no_wildcards("bucket_arn", bucket_arn)
    return {
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def datastore_bucket_policy(bucket_arn: str) -> PolicyDocument:
    """The datastore bucket's policy: TLS only.

    Deliberately no "deny PutObject without SSE-KMS headers": the bucket's default encryption already
    encrypts every object with the key, and such a deny breaks multipart uploads of some clients.
    Access itself is granted by IAM (``team_prefix_statements``), not by the bucket policy.
    """
    return {"Version": VERSION, "Statement": [tls_only_statement(bucket_arn)]}


def elb_access_log_statement(log_bucket_arn: str, prefix: str, account_id: str, elb_account_arn: str) -> Statement:
    """Elastic Load Balancing may write a load balancer's access logs under ``<prefix>AWSLogs/<account>/``.

    The writer is the region's ELB account (``aws.elb.get_service_account``). ALB access logs need an
    SSE-S3 bucket, which the access-log bucket is.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"""
    _no_wildcards("log_bucket_arn", log_bucket_arn)
    _no_wildcards("account_id", account_id)
    _no_wildcards("elb_account_arn", elb_account_arn)
    _check_prefix(prefix)
    return {
        "Sid": "ElbAccessLogs",
        "Effect": "Allow",
        "Principal": {"AWS": elb_account_arn},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/{prefix}AWSLogs/{account_id}/*",
    }


def log_bucket_policy(
    log_bucket_arn: str,
    source_bucket_arn: str,
    account_id: str | None = None,
    prefix: str = DATASTORE_LOG_PREFIX,
    extra_statements: Sequence[Statement] = (),
) -> PolicyDocument:
    """The log bucket's policy: S3 log delivery may write under ``prefix`` for ``source_bucket_arn`` only.

    With Object Ownership ``BucketOwnerEnforced`` ACL grants to the log-delivery group are ignored,
    so a bucket policy is the only way to authorise delivery. ``aws:SourceArn`` (and, when given,
    ``aws:SourceAccount``) stop any other bucket from writing its logs here (confused deputy).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
    """
    _no_wildcards("log_bucket_arn", log_bucket_arn)
    _no_wildcards("source_bucket_arn", source_bucket_arn)
    _check_prefix(prefix)
    condition: dict[str, dict[str, str]] = {"ArnLike": {"aws:SourceArn": source_bucket_arn}}
    if account_id is not None:
        _no_wildcards("account_id", account_id)
        condition["StringEquals"] = {"aws:SourceAccount": account_id}
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "S3ServerAccessLogsPolicy",
                "Effect": "Allow",
                "Principal": {"Service": LOGGING_SERVICE},
                "Action": "s3:PutObject",
                # A single string, exactly "<bucket>/<prefix>*": the narrowest resource delivery needs.
                "Resource": f"{log_bucket_arn}/{prefix}*",
                "Condition": condition,
            },
            *extra_statements,
            tls_only_statement(log_bucket_arn),
        ],
    }


def _check_prefix(prefix: str) -> None:
    """A prefix must end with '/' so that ``teams/fraud/*`` cannot match ``teams/fraud-detection/...``."""
    _no_wildcards("prefix", prefix)
    if prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"prefix must not start with '/' and must end with '/': {prefix!r}")


def team_prefix_statements(bucket_arn: str, prefix: str, kms_key_arn: str) -> list[Statement]:
    """IAM statements giving one principal read/write/delete under ``prefix`` of the datastore, and nothing else.

    * objects: ``TEAM_OBJECT_ACTIONS`` on ``<bucket>/<prefix>*`` only;
    * listing: ``s3:ListBucket`` on the bucket, only for ``s3:prefix`` values inside ``prefix``;
    * ``s3:GetBucketLocation`` (SDKs call it to find the bucket's region);
    * the datastore key: ``TEAM_KMS_ACTIONS`` on that one key.

    Attach to a role's policy; the statements carry no Principal.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
    """
    _no_wildcards("bucket_arn", bucket_arn)
    _no_wildcards("kms_key_arn", kms_key_arn)
    _check_prefix(prefix)
    return [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        },
        {
            "Sid": "BucketLocation",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": list(TEAM_OBJECT_ACTIONS),
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            "Sid": "UseDatastoreKey",
            "Effect": "Allow",
            "Action": list(TEAM_KMS_ACTIONS),
            "Resource": kms_key_arn,
        },
    ]
