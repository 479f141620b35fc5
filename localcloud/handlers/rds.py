"""RDS / Aurora: subnet groups, cluster parameter groups, clusters (with the RDS-managed master secret)
and cluster instances."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html (identifier <= 63)
_IDENTIFIER_MAX = 63


@resource("aws:rds/subnetGroup:SubnetGroup")
def subnet_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    group = physical_name(name, inputs, max_len=255, lowercase=True)
    created = ctx.client("rds").create_db_subnet_group(
        DBSubnetGroupName=group,
        DBSubnetGroupDescription=inputs.get("description") or "Managed by Pulumi",
        SubnetIds=inputs["subnetIds"],
        Tags=key_value_tags(inputs.get("tags")) or [],
    )["DBSubnetGroup"]
    return Created(id=group, outputs={"name": group, "arn": created["DBSubnetGroupArn"]}, physical_name=group)


@resource("aws:rds/clusterParameterGroup:ClusterParameterGroup")
def cluster_parameter_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    rds = ctx.client("rds")
    group = physical_name(name, inputs, max_len=255, lowercase=True)
    created = rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=group,
        DBParameterGroupFamily=inputs["family"],
        Description=inputs.get("description") or "Managed by Pulumi",
        Tags=key_value_tags(inputs.get("tags")) or [],
    )["DBClusterParameterGroup"]
    params = [
        {"ParameterName": p["name"], "ParameterValue": p["value"], "ApplyMethod": p.get("applyMethod", "immediate")}
        for p in inputs.get("parameters") or []
    ]
    if params:
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=params)
    return Created(id=group, outputs={"name": group, "arn": created["DBClusterParameterGroupArn"]}, physical_name=group)


@resource("aws:rds/cluster:Cluster")
def cluster(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ident = physical_name(
        name, inputs, key="clusterIdentifier", prefix_key="clusterIdentifierPrefix", max_len=_IDENTIFIER_MAX, lowercase=True
    )
    scaling = inputs.get("serverlessv2ScalingConfiguration")
    created = ctx.client("rds").create_db_cluster(
        **compact(
            DBClusterIdentifier=ident,
            Engine=inputs["engine"],
            EngineMode=inputs.get("engineMode"),
            EngineVersion=inputs.get("engineVersion"),
            DatabaseName=inputs.get("databaseName"),
            MasterUsername=inputs.get("masterUsername"),
            ManageMasterUserPassword=inputs.get("manageMasterUserPassword"),
            MasterUserSecretKmsKeyId=inputs.get("masterUserSecretKmsKeyId"),
            StorageEncrypted=inputs.get("storageEncrypted"),
            KmsKeyId=inputs.get("kmsKeyId"),
            DBSubnetGroupName=inputs.get("dbSubnetGroupName"),
            VpcSecurityGroupIds=inputs.get("vpcSecurityGroupIds"),
            DBClusterParameterGroupName=inputs.get("dbClusterParameterGroupName"),
            BackupRetentionPeriod=inputs.get("backupRetentionPeriod"),
            PreferredBackupWindow=inputs.get("preferredBackupWindow"),
            CopyTagsToSnapshot=inputs.get("copyTagsToSnapshot"),
            DeletionProtection=inputs.get("deletionProtection"),
            EnableIAMDatabaseAuthentication=inputs.get("iamDatabaseAuthenticationEnabled"),
            ServerlessV2ScalingConfiguration=compact(
                MinCapacity=scaling.get("minCapacity"),
                MaxCapacity=scaling.get("maxCapacity"),
                SecondsUntilAutoPause=scaling.get("secondsUntilAutoPause"),
            )
            if scaling
            else None,
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["DBCluster"]
    secret = created.get("MasterUserSecret") or {}
    return Created(
        id=ident,
        outputs=compact(
            clusterIdentifier=ident,
            arn=created["DBClusterArn"],
            endpoint=created.get("Endpoint"),
            readerEndpoint=created.get("ReaderEndpoint"),
            port=created.get("Port", 5432),
            clusterResourceId=created.get("DbClusterResourceId"),
            engine=created.get("Engine", inputs["engine"]),
            engineVersion=created.get("EngineVersion", inputs.get("engineVersion")),
            masterUserSecrets=[
                {"secretArn": secret["SecretArn"], "secretStatus": secret.get("SecretStatus"), "kmsKeyId": secret.get("KmsKeyId")}
            ]
            if secret.get("SecretArn")
            else None,
        ),
        physical_name=ident,
    )


@resource("aws:rds/clusterInstance:ClusterInstance")
def cluster_instance(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ident = physical_name(name, inputs, key="identifier", prefix_key="identifierPrefix", max_len=_IDENTIFIER_MAX, lowercase=True)
    created = ctx.client("rds").create_db_instance(
        **compact(
            DBInstanceIdentifier=ident,
            DBClusterIdentifier=inputs["clusterIdentifier"],
            DBInstanceClass=inputs["instanceClass"],
            Engine=inputs["engine"],
            EngineVersion=inputs.get("engineVersion"),
            DBSubnetGroupName=inputs.get("dbSubnetGroupName"),
            PubliclyAccessible=inputs.get("publiclyAccessible"),
            EnablePerformanceInsights=inputs.get("performanceInsightsEnabled"),
            PerformanceInsightsKMSKeyId=inputs.get("performanceInsightsKmsKeyId"),
            PerformanceInsightsRetentionPeriod=inputs.get("performanceInsightsRetentionPeriod"),
            PromotionTier=inputs.get("promotionTier"),
            AutoMinorVersionUpgrade=inputs.get("autoMinorVersionUpgrade"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["DBInstance"]
    endpoint = created.get("Endpoint") or {}
    return Created(
        id=ident,
        outputs=compact(
            identifier=ident, arn=created["DBInstanceArn"], endpoint=endpoint.get("Address"), port=endpoint.get("Port"),
            dbiResourceId=created.get("DbiResourceId"), writer=None,
        ),
        physical_name=ident,
    )  # fmt: skip
