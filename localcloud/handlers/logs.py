"""CloudWatch Logs log groups."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, physical_name, resource

# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
_LOG_GROUP_NAME_MAX = 512


@resource("aws:cloudwatch/logGroup:LogGroup")
def log_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    logs = ctx.client("logs")
    group_name = physical_name(name, inputs, max_len=_LOG_GROUP_NAME_MAX)
    logs.create_log_group(
        **compact(
            logGroupName=group_name,
            kmsKeyId=inputs.get("kmsKeyId"),
            logGroupClass=inputs.get("logGroupClass"),
            tags=inputs.get("tags") or None,
        )
    )
    retention = inputs.get("retentionInDays")
    if retention:  # 0 means "never expire" in the provider, which is the service default
        logs.put_retention_policy(logGroupName=group_name, retentionInDays=retention)
    return Created(
        id=group_name,
        outputs={
            "name": group_name,
            # The provider reports the ARN without the ":*" suffix DescribeLogGroups adds.
            "arn": ctx.arn("logs", f"log-group:{group_name}"),
            "retentionInDays": retention or 0,
            "logGroupClass": inputs.get("logGroupClass", "STANDARD"),
        },
        physical_name=group_name,
    )


@resource("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
def log_resource_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """An account-level resource policy of CloudWatch Logs (who may write to which log groups)."""
    policy_name = inputs["policyName"]
    ctx.client("logs").put_resource_policy(policyName=policy_name, policyDocument=inputs["policyDocument"])
    return Created(
        id=policy_name,
        outputs={"policyName": policy_name, "policyDocument": inputs["policyDocument"]},
        physical_name=policy_name,
    )
