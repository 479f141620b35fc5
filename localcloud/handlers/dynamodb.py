"""DynamoDB tables."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html (TableName)
_TABLE_NAME_MAX = 255


def _key_schema(inputs: dict[str, Any]) -> list[dict[str, str]]:
    schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    return schema


def _unsupported(inputs: dict[str, Any]) -> None:
    """Inputs this handler does not carry into moto: refuse rather than silently drop them."""
    dropped = [
        key
        for key in (
            "globalSecondaryIndexes",
            "localSecondaryIndexes",
            "replicas",
            "importTable",
            "restoreSourceName",
            "restoreSourceTableArn",
            "restoreBackupArn",
            "streamEnabled",
        )
        if inputs.get(key)
    ]
    if dropped:
        raise ValueError(
            f"the local DynamoDB handler does not emulate {', '.join(dropped)}; extend localcloud/handlers/dynamodb.py"
        )


@resource("aws:dynamodb/table:Table")
def table(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    _unsupported(inputs)
    dynamodb = ctx.client("dynamodb")
    table_name = physical_name(name, inputs, max_len=_TABLE_NAME_MAX)
    # The provider's default billing mode is PROVISIONED; then capacities are required.
    billing = inputs.get("billingMode") or "PROVISIONED"
    throughput = None
    if billing == "PROVISIONED":
        throughput = {"ReadCapacityUnits": inputs["readCapacity"], "WriteCapacityUnits": inputs["writeCapacity"]}
    sse = inputs.get("serverSideEncryption") or {}
    sse_spec = None
    if sse.get("enabled"):
        sse_spec = compact(Enabled=True, SSEType="KMS", KMSMasterKeyId=sse.get("kmsKeyArn"))
    created = dynamodb.create_table(
        **compact(
            TableName=table_name,
            AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]],
            KeySchema=_key_schema(inputs),
            BillingMode=billing,
            ProvisionedThroughput=throughput,
            SSESpecification=sse_spec,
            TableClass=inputs.get("tableClass"),
            DeletionProtectionEnabled=inputs.get("deletionProtectionEnabled"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["TableDescription"]
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    pitr = inputs.get("pointInTimeRecovery") or {}
    if pitr.get("enabled"):
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification=compact(
                PointInTimeRecoveryEnabled=True, RecoveryPeriodInDays=pitr.get("recoveryPeriodInDays")
            ),
        )
    return Created(
        id=table_name,
        outputs=compact(
            name=table_name,
            arn=created["TableArn"],
            billingMode=billing,
            streamArn=created.get("LatestStreamArn"),
            streamLabel=created.get("LatestStreamLabel"),
            deletionProtectionEnabled=bool(inputs.get("deletionProtectionEnabled")),
        ),
        physical_name=table_name,
    )
