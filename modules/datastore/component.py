"""The data layer: a KMS key and a hardened, versioned S3 datastore with per-team prefixes and access logs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import naming
from modules.base import Component, LayerArgs, ProtectArgs
from modules.datastore import policies
from modules.datastore.settings import DatastoreSettings


@dataclass
class DatastoreArgs(LayerArgs, ProtectArgs):
    """Inputs of :class:`Datastore`. ``environment`` is part of the bucket names and of the key alias;
    ``protect`` covers both buckets and the key."""

    name_prefix: str
    """``strata:namePrefix``: makes the globally unique bucket names (``<prefix>-<env>-datastore``)."""
    settings: DatastoreSettings
    """Lifecycle settings (``strata:datastore``): version expiry, multipart abort, tiering, log expiry."""
    teams: Sequence[str]
    """Team names; each gets the prefix ``naming.team_prefix(team)`` in :attr:`Datastore.team_prefixes`."""
    elb_log_prefix: str | None = None
    """When set (e.g. ``metadata-ui/``), Elastic Load Balancing may write access logs under it in the
    access-log bucket (the Metaflow UI's ALB); see :attr:`Datastore.elb_log_bucket`."""


class Datastore(Component):
    """KMS key, datastore bucket (SSE-KMS, versioned, private, TLS only) and its access-log bucket."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    kms_key_id: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    elb_log_bucket: pulumi.Output[str] | None
    """The access-log bucket's name, known only once ELB may write to it (an ALB checks at creation)."""
    team_prefixes: dict[str, str]

    def __init__(self, name: str, args: DatastoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:datastore:Datastore", name, None, opts)
        tags = dict(args.tags)
        s = args.settings
        # Stateful resources: refuse deletion when the stack protects them, and keep them in AWS if
        # they ever leave the program. Their logical names below must never change (URN stability).
        stateful = self._stateful(args.protect)

        # The default key policy (account root, delegating to IAM) is kept on purpose: team roles get
        # kms:Decrypt/GenerateDataKey through their IAM policies (core.iam.team_prefix_statements),
        # so adding a team never edits the key policy, and a hand-written key policy risks locking
        # the account out of the key. https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
        self._key = aws.kms.Key(
            f"{name}-key",
            description=f"Strata {args.environment}: encrypts the S3 datastore",
            enable_key_rotation=True,
            # The longest waiting period: a mistaken deletion can be cancelled for 30 days.
            deletion_window_in_days=30,
            tags=tags,
            opts=stateful,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=naming.datastore_key_alias(args.environment),
            target_key_id=self._key.key_id,
            opts=self._child(),
        )

        account_id = self._aws.account_id

        self._log_bucket = aws.s3.Bucket(
            f"{name}-logs",
            bucket=naming.log_bucket(args.name_prefix, args.environment),
            tags=tags,
            opts=stateful,
        )
        # S3 server access log delivery only supports SSE-S3 on the destination bucket, not SSE-KMS.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
        log_pab, log_versioning = self._harden(f"{name}-logs", self._log_bucket, sse_algorithm="AES256")

        self._bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # Explicit and stable: the SDK profile and every team role refer to it by name.
            # Never force_destroy: deleting the stack must not delete data.
            bucket=naming.datastore_bucket(args.name_prefix, args.environment),
            tags=tags,
            opts=stateful,
        )
        bucket_pab, bucket_versioning = self._harden(f"{name}-bucket", self._bucket, sse_algorithm="aws:kms")

        policy_inputs = [self._log_bucket.arn, self._bucket.arn, account_id]
        if args.elb_log_prefix:
            # The region's Elastic Load Balancing account writes ALB access logs (the UI's).
            policy_inputs.append(aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).arn)

        def log_policy_document(log_arn: str, bucket_arn: str, account: str, elb_arn: str | None = None) -> str:
            # elb_arn comes only with a prefix (above); the prefix test narrows it for the type checker.
            elb_prefix = args.elb_log_prefix
            extra = [policies.elb_access_log_statement(log_arn, elb_prefix, account, elb_arn)] if elb_arn and elb_prefix else []
            return json.dumps(policies.log_bucket_policy(log_arn, bucket_arn, account, policies.DATASTORE_LOG_PREFIX, extra))

        log_policy = aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=self._log_bucket.id,
            policy=pulumi.Output.all(*policy_inputs).apply(lambda v: log_policy_document(*v)),
            # S3 rejects concurrent policy and public-access-block writes on one bucket.
            opts=self._child(depends_on=[log_pab]),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=self._bucket.id,
            policy=self._bucket.arn.apply(lambda arn: json.dumps(policies.datastore_bucket_policy(arn))),
            opts=self._child(depends_on=[bucket_pab]),
        )

        self._lifecycle(f"{name}-bucket", self._bucket, self._datastore_rules(s), bucket_versioning)
        self._lifecycle(f"{name}-logs", self._log_bucket, self._log_rules(s), log_versioning)

        aws.s3.BucketLogging(
            f"{name}-bucket-logging",
            bucket=self._bucket.id,
            target_bucket=self._log_bucket.id,
            target_prefix=policies.DATASTORE_LOG_PREFIX,
            # Delivery is authorised by the log bucket's policy; S3 validates it when logging is enabled.
            opts=self._child(depends_on=[log_policy]),
        )

        self.bucket_name = self._bucket.bucket
        self.bucket_arn = self._bucket.arn
        self.kms_key_arn = self._key.arn
        self.kms_key_id = self._key.key_id
        self.log_bucket_name = self._log_bucket.bucket
        # Carries the policy as a dependency: whoever uses it is created after ELB may write.
        self.elb_log_bucket = (
            pulumi.Output.all(self._log_bucket.bucket, log_policy.id).apply(lambda v: v[0]) if args.elb_log_prefix else None
        )
        self.team_prefixes = {team: naming.team_prefix(team) for team in args.teams}

        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "kms_key_arn": self.kms_key_arn,
                "kms_key_id": self.kms_key_id,
                "log_bucket_name": self.log_bucket_name,
                "elb_log_bucket": self.elb_log_bucket,
                "team_prefixes": self.team_prefixes,
            }
        )

    # ------------------------------------------------------------------ helpers

    def _harden(self, prefix: str, bucket: aws.s3.Bucket, *, sse_algorithm: str) -> tuple[pulumi.Resource, pulumi.Resource]:
        """Encryption, versioning, no public access, ACLs disabled. Returns (public access block, versioning)."""
        child = self._child()
        if sse_algorithm == "aws:kms":
            default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=self._key.arn
            )
            # An S3 Bucket Key cuts KMS requests (and their cost) by up to 99%.
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
            bucket_key: bool | None = True
        else:
            default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm=sse_algorithm
            )
            bucket_key = None
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default, bucket_key_enabled=bucket_key
                )
            ],
            opts=child,
        )
        # Versioning: an overwrite or delete is recoverable until the noncurrent version expires.
        versioning = aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        pab = aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ACLs off: the bucket owner owns every object; access is IAM + bucket policy only.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
        aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        return pab, versioning

    def _lifecycle(
        self,
        prefix: str,
        bucket: aws.s3.Bucket,
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgs],
        versioning: pulumi.Resource,
    ) -> None:
        aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=bucket.id,
            rules=rules,
            # Noncurrent-version rules need versioning in place first (the provider's documented order).
            opts=self._child(depends_on=[versioning]),
        )

    @staticmethod
    def _datastore_rules(s: DatastoreSettings) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        whole_bucket = aws.s3.BucketLifecycleConfigurationRuleFilterArgs()
        rules = [
            # Parts of abandoned multipart uploads are billed as storage until aborted.
            _abort_incomplete_uploads_rule(s, whole_bucket),
            # Versioning keeps every overwritten artifact; bound how long, and drop the delete
            # markers left behind once their versions are gone.
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=whole_bucket,
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=s.noncurrent_version_expiration_days
                ),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
            ),
        ]
        if s.tiering_after_days is not None:
            # Intelligent-Tiering moves cold artifacts to cheaper tiers with no retrieval fee;
            # objects under 128 KB are neither transitioned nor charged for monitoring.
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-overview.html
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="intelligent-tiering",
                    status="Enabled",
                    filter=whole_bucket,
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=s.tiering_after_days, storage_class="INTELLIGENT_TIERING"
                        )
                    ],
                )
            )
        return rules

    @staticmethod
    def _log_rules(s: DatastoreSettings) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        whole_bucket = aws.s3.BucketLifecycleConfigurationRuleFilterArgs()
        return [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=whole_bucket,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=s.access_log_expiration_days),
                # A deleted or overwritten log stays recoverable as long as a datastore version does.
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=s.noncurrent_version_expiration_days
                ),
            ),
            _abort_incomplete_uploads_rule(s, whole_bucket),
        ]


def _abort_incomplete_uploads_rule(
    s: DatastoreSettings, whole_bucket: aws.s3.BucketLifecycleConfigurationRuleFilterArgs
) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """A lifecycle rule for both buckets: abort multipart uploads left incomplete after the configured days."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-multipart-uploads",
        status="Enabled",
        filter=whole_bucket,
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=s.abort_incomplete_upload_days
        ),
    )
