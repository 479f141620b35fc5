"""The local engine's DynamoDB handler (localcloud/handlers/dynamodb.py) against a real moto server:
what the program declares must exist in moto with the declared settings, and the state must carry
moto's ARN. Uses the session's shared server and the `engine`/`deploy`/`cloud` fixtures."""

from __future__ import annotations

import pulumi_aws as aws
import pytest

from localcloud import LocalEngineError

ACCOUNT = "123456789012"  # moto's default account


def test_state_table_on_demand_ttl_pitr_kms_and_deletion_protection(engine, deploy, cloud):
    def program():
        key = aws.kms.Key("ddb-key", description="state table")
        table = aws.dynamodb.Table(
            "ddb-state",
            name="strata-test-sfn-state",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pathspec",
            attributes=[{"name": "pathspec", "type": "S"}],
            ttl={"attribute_name": "ttl", "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
            deletion_protection_enabled=True,
            tags={"team": "platform"},
        )
        return {"arn": table.arn, "name": table.name, "id": table.id, "key": key.arn}

    out = deploy(engine, program)
    ddb = cloud("dynamodb")
    t = ddb.describe_table(TableName="strata-test-sfn-state")["Table"]
    assert out["arn"] == t["TableArn"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/strata-test-sfn-state"
    assert out["name"] == out["id"] == "strata-test-sfn-state"
    assert t["KeySchema"] == [{"AttributeName": "pathspec", "KeyType": "HASH"}]
    assert t["AttributeDefinitions"] == [{"AttributeName": "pathspec", "AttributeType": "S"}]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["SSEDescription"]["SSEType"] == "KMS" and t["SSEDescription"]["KMSMasterKeyArn"] == out["key"]
    assert t["DeletionProtectionEnabled"] is True
    ttl = ddb.describe_time_to_live(TableName="strata-test-sfn-state")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    pitr = ddb.describe_continuous_backups(TableName="strata-test-sfn-state")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = ddb.list_tags_of_resource(ResourceArn=t["TableArn"])["Tags"]
    assert {"Key": "team", "Value": "platform"} in tags
    # Deletion protection is real in moto too: the table refuses DeleteTable.
    with pytest.raises(ddb.exceptions.ClientError, match="DeletionProtectionEnabled"):
        ddb.delete_table(TableName="strata-test-sfn-state")


def test_provisioned_table_with_a_range_key_and_an_auto_name(engine, deploy, cloud):
    def program():
        table = aws.dynamodb.Table(
            "ddb-provisioned",
            hash_key="pk",
            range_key="sk",
            attributes=[{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
            read_capacity=1,
            write_capacity=2,
        )
        return {"name": table.name}

    out = deploy(engine, program)
    assert out["name"].startswith("ddb-provisioned-")
    t = cloud("dynamodb").describe_table(TableName=out["name"])["Table"]
    assert t["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert (t["ProvisionedThroughput"]["ReadCapacityUnits"], t["ProvisionedThroughput"]["WriteCapacityUnits"]) == (1, 2)
    assert t.get("DeletionProtectionEnabled") is False
    ttl = cloud("dynamodb").describe_time_to_live(TableName=out["name"])["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_inputs_the_handler_cannot_honour_are_refused(engine, deploy):
    def program():
        table = aws.dynamodb.Table(
            "ddb-with-gsi",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}, {"name": "g", "type": "S"}],
            global_secondary_indexes=[{"name": "by-g", "hash_key": "g", "projection_type": "ALL"}],
        )
        return {"name": table.name}

    with pytest.raises(LocalEngineError, match="globalSecondaryIndexes"):
        deploy(engine, program)
