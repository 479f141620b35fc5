"""S3 buckets and the per-aspect bucket resources of pulumi-aws 7."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from .registry import DNS_SUFFIX, PARTITION, Created, Ctx, compact, key_value_tags, pascal_keys, physical_name, resource

# The v6-style inline blocks on Bucket. pulumi-aws 7 deprecates them in favour of one resource per
# aspect; the engine emulates the separate resources only, and refuses the inline form rather than
# creating a bucket that silently lacks the configuration.
_INLINE_BUCKET_BLOCKS = (
    "accelerationStatus",
    "acl",
    "corsRules",
    "grants",
    "lifecycleRules",
    "logging",
    "objectLockConfiguration",
    "policy",
    "replicationConfiguration",
    "requestPayer",
    "serverSideEncryptionConfiguration",
    "versioning",
    "website",
)

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose buckets)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# The service principal S3 server access logging writes with.
_LOGGING_PRINCIPAL = "logging.s3.amazonaws.com"


def _policy_lock(bucket: str) -> str:
    return f"s3:bucket-policy:{bucket}"


@resource("aws:s3/bucket:Bucket")
def bucket(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    inline = [block for block in _INLINE_BUCKET_BLOCKS if block in inputs]
    if inline:
        raise NotImplementedError(
            f"inline {', '.join(inline)} on aws:s3/bucket:Bucket is not emulated: declare the separate "
            "aws:s3/bucket* resources instead (the pulumi-aws 7 form)"
        )
    s3 = ctx.client("s3")
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html: 3-63, lowercase.
    bucket_name = physical_name(name, inputs, key="bucket", prefix_key="bucketPrefix", max_len=63, lowercase=True)
    if not _BUCKET_NAME.match(bucket_name) or ".." in bucket_name:
        # moto accepts names AWS rejects (e.g. with "_"); fail here as `pulumi up` would on AWS.
        raise ValueError(
            f"invalid S3 bucket name {bucket_name!r}: 3-63 characters of a-z, 0-9, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    params: dict[str, Any] = {"Bucket": bucket_name}
    if ctx.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    if inputs.get("objectLockEnabled"):
        params["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**params)
    tags = key_value_tags(inputs.get("tags"))
    if tags:
        s3.put_bucket_tagging(Bucket=bucket_name, Tagging={"TagSet": tags})
    return Created(
        id=bucket_name,
        outputs={
            "bucket": bucket_name,
            "arn": f"arn:{PARTITION}:s3:::{bucket_name}",
            "bucketDomainName": f"{bucket_name}.s3.{DNS_SUFFIX}",
            "bucketRegionalDomainName": f"{bucket_name}.s3.{ctx.region}.{DNS_SUFFIX}",
            "bucketRegion": ctx.region,
            "objectLockEnabled": bool(inputs.get("objectLockEnabled")),
        },
        physical_name=bucket_name,
    )


@resource("aws:s3/bucketVersioning:BucketVersioning")
def bucket_versioning(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    config = inputs["versioningConfiguration"]
    ctx.client("s3").put_bucket_versioning(
        **compact(
            Bucket=inputs["bucket"],
            VersioningConfiguration=compact(Status=config["status"], MFADelete=config.get("mfaDelete")),
            MFA=inputs.get("mfa"),
            ExpectedBucketOwner=inputs.get("expectedBucketOwner"),
        )
    )
    return Created(id=inputs["bucket"])


@resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def bucket_encryption(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    rules = pascal_keys(inputs["rules"], {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"})
    ctx.client("s3").put_bucket_encryption(
        **compact(
            Bucket=inputs["bucket"],
            ServerSideEncryptionConfiguration={"Rules": rules},
            ExpectedBucketOwner=inputs.get("expectedBucketOwner"),
        )
    )
    return Created(id=inputs["bucket"])


@resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def bucket_public_access_block(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    settings = {flag: bool(inputs.get(flag, False)) for flag in flags}
    ctx.client("s3").put_public_access_block(
        Bucket=inputs["bucket"],
        PublicAccessBlockConfiguration=pascal_keys(settings),
    )
    return Created(id=inputs["bucket"], outputs=settings)


@resource("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def bucket_ownership_controls(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ctx.client("s3").put_bucket_ownership_controls(
        Bucket=inputs["bucket"],
        OwnershipControls={"Rules": [{"ObjectOwnership": inputs["rule"]["objectOwnership"]}]},
    )
    return Created(id=inputs["bucket"])


def moto_safe_policy(policy: str) -> tuple[str | None, list[str]]:
    """The policy with its conditional Deny statements removed, and the removed statements' Sids.

    moto evaluates a bucket-policy Deny on object actions for every caller and ignores
    ``Condition``, so the standard TLS-only statement (Deny when ``aws:SecureTransport`` is false)
    would block all object I/O in the local cloud, although on AWS it only blocks plain HTTP.
    Returns None for the policy when nothing is left to put.
    """
    doc = json.loads(policy)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept, dropped = [], []
    for index, statement in enumerate(statements):
        if statement.get("Effect") == "Deny" and statement.get("Condition"):
            dropped.append(statement.get("Sid") or f"Statement[{index}]")
        else:
            kept.append(statement)
    if not dropped:
        return policy, []
    return (json.dumps({**doc, "Statement": kept}) if kept else None), dropped


@resource("aws:s3/bucketPolicy:BucketPolicy")
def bucket_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """Put the policy minus its conditional Denies; the state keeps the original (see moto_safe_policy)."""
    bucket_name = inputs["bucket"]
    policy, dropped = moto_safe_policy(inputs["policy"])
    with ctx.serialized(_policy_lock(bucket_name)):
        if policy is not None:
            ctx.client("s3").put_bucket_policy(Bucket=bucket_name, Policy=policy)
    if dropped:
        ctx.note(
            f"s3 bucket {bucket_name}: conditional Deny statement(s) {', '.join(dropped)} not put into moto "
            "(moto applies a Deny to every caller and ignores Condition); the stack state keeps them"
        )
    return Created(id=bucket_name)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A Terraform-shaped lifecycle rule in the S3 API's shape."""
    api_rule = pascal_keys(rule, {"id": "ID"})
    tags_and = api_rule.get("Filter", {}).get("And", {})
    if "Tags" in tags_and:  # a map in the Terraform schema, a list of Key/Value in the API
        tags_and["Tags"] = key_value_tags(rule["filter"]["and"]["tags"])
    if "Filter" not in api_rule and "Prefix" not in api_rule:
        api_rule["Filter"] = {"Prefix": ""}  # what the provider sends for "the whole bucket"
    return api_rule


@resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def bucket_lifecycle_configuration(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ctx.client("s3").put_bucket_lifecycle_configuration(
        **compact(
            Bucket=inputs["bucket"],
            LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in inputs["rules"]]},
            ExpectedBucketOwner=inputs.get("expectedBucketOwner"),
            TransitionDefaultMinimumObjectSize=inputs.get("transitionDefaultMinimumObjectSize"),
        )
    )
    return Created(id=inputs["bucket"])


def _put_logging_with_grant(ctx: Ctx, bucket_name: str, status: dict[str, Any]) -> None:
    """Put a logging configuration while the target bucket carries exactly moto's required grant.

    moto refuses PutBucketLogging unless the *target* bucket already has a policy (or ACL) letting
    the logging service write, matched by exact string, and it fails with a 500 when any statement of
    that policy has a string Principal such as ``"*"``. AWS makes neither check for buckets with ACLs
    disabled, and a program need not order the log bucket's policy before the logging resource. So
    the engine puts a grant-only policy on the target, sets the logging configuration, and restores
    the target's own policy, under the target's policy lock so that no concurrent BucketPolicy
    is lost.
    """
    s3 = ctx.client("s3")
    target = status["LoggingEnabled"]["TargetBucket"]
    prefix = status["LoggingEnabled"]["TargetPrefix"]
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": _LOGGING_PRINCIPAL},
                "Action": ["s3:PutObject"],
                "Resource": f"arn:{PARTITION}:s3:::{target}/{prefix}*",
            }
        ],
    }
    with ctx.serialized(_policy_lock(target)):
        try:
            original = s3.get_bucket_policy(Bucket=target)["Policy"]
        except ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchBucketPolicy":
                raise
            original = None
        s3.put_bucket_policy(Bucket=target, Policy=json.dumps(grant))
        try:
            s3.put_bucket_logging(Bucket=bucket_name, BucketLoggingStatus=status)
        finally:
            if original is None:
                s3.delete_bucket_policy(Bucket=target)
            else:
                s3.put_bucket_policy(Bucket=target, Policy=original)


@resource("aws:s3/bucketLogging:BucketLogging")
def bucket_logging(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    enabled = compact(
        TargetBucket=inputs["targetBucket"],
        TargetPrefix=inputs.get("targetPrefix", ""),
        TargetGrants=pascal_keys(inputs.get("targetGrants"), {"id": "ID", "uri": "URI"}),
        TargetObjectKeyFormat=pascal_keys(inputs.get("targetObjectKeyFormat")),
    )
    _put_logging_with_grant(ctx, inputs["bucket"], {"LoggingEnabled": enabled})
    return Created(id=inputs["bucket"])
