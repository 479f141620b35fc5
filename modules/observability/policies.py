"""Policy documents, event patterns and messages of the observability layer. Pure: plain strings in,
plain dicts out (no Pulumi), unit-tested in tests/unit/test_observability_policies.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.iam import VERSION

# What CloudWatch Logs needs on a customer managed key to encrypt and read a log group, as AWS documents
# it ("Encrypt log data in CloudWatch Logs using AWS Key Management Service", step 2, the key policy):
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
# What a service publishing to an SSE-KMS encrypted SNS topic needs on the topic's key: CloudWatch alarms
# and EventBridge cannot use the AWS managed key alias/aws/sns, only a customer managed key whose policy
# names them. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
PUBLISHER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


def key_policy(*, partition: str, account_id: str, region: str, dns_suffix: str) -> dict[str, Any]:
    """The observability key's policy: the account administers it (through IAM), CloudWatch Logs may use
    it for this account's log groups in this region only, and CloudWatch alarms and EventBridge may use it
    to publish to the environment's encrypted topics."""
    root = f"arn:{partition}:iam::{account_id}:root"
    return {
        "Version": VERSION,
        "Statement": [
            {
                # The default key policy statement: without it nobody (not even the deployer) could manage
                # the key, and IAM policies could not grant its use. Key policies are per key, so "*" is
                # this key.
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # The encryption context CloudWatch Logs sends is the log group's ARN: limited to log
                # groups of this account and region, so the key cannot be used for anyone else's logs.
                "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": LOGS_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"}
                },
            },
            {
                # Who may publish is decided by each topic's policy (this account's alarms, one rule);
                # the key only has to let those services encrypt the message.
                "Sid": "AlarmsAndEventsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": PUBLISHER_KEY_ACTIONS,
                "Resource": "*",
            },
        ],
    }


def alarm_topic_policy(*, topic_arn: str, partition: str, account_id: str, region: str, alarm_prefix: str) -> dict[str, Any]:
    """Only this account's CloudWatch alarms named ``<alarm_prefix>*`` may publish to the alarm topic."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "EnvironmentAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{alarm_prefix}*"},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            }
        ],
    }


def team_topic_policy(*, topic_arn: str, rule_arn: str) -> dict[str, Any]:
    """Only the team's own failed-jobs rule (EventBridge) may publish to the team's topic."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "TeamFailedJobsRulePublishes",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def failed_jobs_pattern(queue_arns: Sequence[str]) -> dict[str, Any]:
    """Batch job state changes to FAILED in the given queues (a team's own).
    https://docs.aws.amazon.com/batch/latest/userguide/batch_cwe_events.html"""
    if not queue_arns:
        raise ValueError("a failed-jobs rule needs at least one job queue")
    return {
        "source": ["aws.batch"],
        "detail-type": ["Batch Job State Change"],
        "detail": {"status": ["FAILED"], "jobQueue": sorted(queue_arns)},
    }


def failed_job_message(environment: str) -> tuple[dict[str, str], str]:
    """EventBridge input transformer (input paths, template) for the team's e-mail.

    Only these fields are forwarded, never the whole event: a job event's ``detail`` carries the
    container's environment, and Metaflow puts METAFLOW_SERVICE_HEADERS (the team's metadata API key)
    there."""
    paths = {
        "job": "$.detail.jobName",
        "id": "$.detail.jobId",
        "queue": "$.detail.jobQueue",
        "reason": "$.detail.statusReason",
        "time": "$.time",
    }
    template = (
        f'"Strata {environment}: AWS Batch job <job> (<id>) FAILED at <time>. '
        'Queue: <queue>. Reason: <reason>. Logs: CloudWatch Logs group /aws/batch/job."'
    )
    return paths, template
