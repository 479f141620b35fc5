"""IAM documents of the network layer (the VPC flow-log role), as plain dicts. No Pulumi import."""

from __future__ import annotations

from typing import Any

from core.iam import VERSION

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


def flow_logs_trust_policy(account_id: str) -> dict[str, Any]:
    """Only the VPC Flow Logs service, acting for this account, may assume the role (confused deputy).

    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    """
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": FLOW_LOGS_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def flow_logs_role_policy(log_group_arn: str) -> dict[str, Any]:
    """Write flow-log records into one log group and nothing else.

    ``log_group_arn`` is the group's ARN without the ``:*`` suffix (as ``aws.cloudwatch.LogGroup.arn``
    gives it); its streams are ``<group arn>:log-stream:<name>``. No ``logs:CreateLogGroup``: the
    group is declared here. Scoping every action to the group is what terraform-aws-modules/vpc ships
    (AWS's own example uses "*"). https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    """
    if not log_group_arn or "*" in log_group_arn:
        raise ValueError(f"log_group_arn must be one log group's ARN, got {log_group_arn!r}")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }
