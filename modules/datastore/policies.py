"""Policy documents of the datastore layer, as plain dicts.

Pure functions of ARNs (no Pulumi import) so that they are unit-tested without mocks. A team's slice of
the datastore (the statements every team role carries) is ``core.iam.team_prefix_statements``: the roles
that carry it belong to other layers, which import the core, never this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.iam import VERSION, PolicyDocument, Statement, check_prefix, concrete

# Sid of the TLS-only deny. Stable on purpose: the local cloud recognises it (moto applies a Deny on
# object actions to every caller, ignoring Condition) and the gates assert on it.
TLS_ONLY_SID = "DenyInsecureTransport"
# The service principal that delivers S3 server access logs.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
LOGGING_SERVICE = "logging.s3.amazonaws.com"
# Where the datastore bucket's access logs land inside the log bucket.
DATASTORE_LOG_PREFIX = "datastore/"


def tls_only_statement(bucket_arn: str) -> Statement:
    """Deny every request to the bucket and its objects that does not use TLS.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
    """
    concrete("bucket_arn", bucket_arn)
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
    Access itself is granted by IAM (``core.iam.team_prefix_statements``), not by the bucket policy.
    """
    return {"Version": VERSION, "Statement": [tls_only_statement(bucket_arn)]}


def elb_access_log_statement(log_bucket_arn: str, prefix: str, account_id: str, elb_account_arn: str) -> Statement:
    """Elastic Load Balancing may write a load balancer's access logs under ``<prefix>AWSLogs/<account>/``.

    The writer is the region's ELB account (``aws.elb.get_service_account``). ALB access logs need an
    SSE-S3 bucket, which the access-log bucket is.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"""
    concrete("log_bucket_arn", log_bucket_arn)
    concrete("account_id", account_id)
    concrete("elb_account_arn", elb_account_arn)
    check_prefix(prefix)
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
    concrete("log_bucket_arn", log_bucket_arn)
    concrete("source_bucket_arn", source_bucket_arn)
    check_prefix(prefix)
    condition: dict[str, dict[str, str]] = {"ArnLike": {"aws:SourceArn": source_bucket_arn}}
    if account_id is not None:
        concrete("account_id", account_id)
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
