"""Provisioned Redshift: cluster subnet groups, parameter groups, clusters and audit logging.

Redshift Serverless has no moto backend: its types are in ``NOT_EMULATED`` (engine.py), listed loudly by
``strata local up``; the ``local`` stack uses ``strata:warehouse.mode: provisioned`` instead.
"""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource, tf_bool

# https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html (identifier <= 63)
_IDENTIFIER_MAX = 63
_GROUP_NAME_MAX = 255
_DEFAULT_DESCRIPTION = "Managed by Pulumi"  # what the provider sends when no description is given


@resource("aws:redshift/subnetGroup:SubnetGroup")
def subnet_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    group = physical_name(name, inputs, max_len=_GROUP_NAME_MAX, lowercase=True)
    ctx.client("redshift").create_cluster_subnet_group(
        ClusterSubnetGroupName=group,
        Description=inputs.get("description") or _DEFAULT_DESCRIPTION,
        SubnetIds=inputs["subnetIds"],
        Tags=key_value_tags(inputs.get("tags")) or [],
    )
    return Created(id=group, outputs={"name": group, "arn": ctx.arn("redshift", f"subnetgroup:{group}")}, physical_name=group)


@resource("aws:redshift/parameterGroup:ParameterGroup")
def parameter_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """The group is created in moto; its parameters are not: moto has no ModifyClusterParameterGroup."""
    group = physical_name(name, inputs, max_len=_GROUP_NAME_MAX, lowercase=True)
    ctx.client("redshift").create_cluster_parameter_group(
        ParameterGroupName=group,
        ParameterGroupFamily=inputs["family"],
        Description=inputs.get("description") or _DEFAULT_DESCRIPTION,
        Tags=key_value_tags(inputs.get("tags")) or [],
    )
    parameters = {p["name"]: p["value"] for p in inputs.get("parameters") or []}
    if parameters:
        listing = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items()))
        ctx.note(
            f"Redshift parameter group {group}: moto has no ModifyClusterParameterGroup, so its parameters "
            f"({listing}) are in the Pulumi state only, not in moto"
        )
    return Created(id=group, outputs={"name": group, "arn": ctx.arn("redshift", f"parametergroup:{group}")}, physical_name=group)


@resource("aws:redshift/cluster:Cluster")
def cluster(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ident = physical_name(
        name, inputs, key="clusterIdentifier", prefix_key="clusterIdentifierPrefix", max_len=_IDENTIFIER_MAX, lowercase=True
    )
    if inputs.get("snapshotIdentifier") or inputs.get("snapshotArn"):
        raise ValueError("restoring a Redshift cluster from a snapshot is not emulated; declare a new cluster")
    if inputs.get("masterPasswordWo"):
        raise ValueError("write-only master passwords (masterPasswordWo) are not emulated; use manageMasterPassword")
    managed = bool(inputs.get("manageMasterPassword"))
    if not managed and not inputs.get("masterPassword"):
        # What the provider (and AWS) refuse: a cluster needs a password or a managed one.
        raise ValueError("one of masterPassword or manageMasterPassword is required")
    redshift = ctx.client("redshift")
    node_count = inputs.get("numberOfNodes") or 1
    cluster_type = inputs.get("clusterType") or ("single-node" if node_count == 1 else "multi-node")
    redshift.create_cluster(
        **compact(
            ClusterIdentifier=ident,
            NodeType=inputs["nodeType"],
            ClusterType=cluster_type,
            NumberOfNodes=node_count if cluster_type == "multi-node" else None,
            DBName=inputs.get("databaseName"),
            MasterUsername=inputs.get("masterUsername"),
            MasterUserPassword=inputs.get("masterPassword"),
            ManageMasterPassword=managed or None,
            MasterPasswordSecretKmsKeyId=inputs.get("masterPasswordSecretKmsKeyId"),
            Encrypted=tf_bool(inputs.get("encrypted")),
            KmsKeyId=inputs.get("kmsKeyId"),
            PubliclyAccessible=inputs.get("publiclyAccessible", False),
            EnhancedVpcRouting=inputs.get("enhancedVpcRouting"),
            IamRoles=inputs.get("iamRoles") or None,
            DefaultIamRoleArn=inputs.get("defaultIamRoleArn"),
            ClusterSubnetGroupName=inputs.get("clusterSubnetGroupName"),
            ClusterParameterGroupName=inputs.get("clusterParameterGroupName"),
            VpcSecurityGroupIds=inputs.get("vpcSecurityGroupIds") or None,
            AutomatedSnapshotRetentionPeriod=inputs.get("automatedSnapshotRetentionPeriod"),
            ManualSnapshotRetentionPeriod=inputs.get("manualSnapshotRetentionPeriod"),
            PreferredMaintenanceWindow=inputs.get("preferredMaintenanceWindow"),
            AllowVersionUpgrade=inputs.get("allowVersionUpgrade"),
            ClusterVersion=inputs.get("clusterVersion"),
            Port=inputs.get("port"),
            AvailabilityZone=inputs.get("availabilityZone"),
            MultiAZ=inputs.get("multiAz"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )
    if managed:
        ctx.note(
            f"Redshift cluster {ident}: moto ignores ManageMasterPassword, so no Secrets Manager secret exists "
            "for its admin password (masterPasswordSecretArn is empty locally; AWS creates and rotates one)"
        )
    described = redshift.describe_clusters(ClusterIdentifier=ident)["Clusters"][0]
    endpoint = described.get("Endpoint") or {}
    address, port = endpoint.get("Address"), endpoint.get("Port")
    return Created(
        id=ident,
        outputs=compact(
            clusterIdentifier=ident,
            arn=ctx.arn("redshift", f"cluster:{ident}"),
            # The provider reports "<address>:<port>" as the endpoint and the address alone as dnsName.
            endpoint=f"{address}:{port}" if address else None,
            dnsName=address,
            port=port,
            databaseName=described.get("DBName"),
            clusterType=cluster_type,
            numberOfNodes=described.get("NumberOfNodes"),
            encrypted="true" if described.get("Encrypted") else "false",
            publiclyAccessible=bool(described.get("PubliclyAccessible")),
            enhancedVpcRouting=bool(described.get("EnhancedVpcRouting")),
            iamRoles=[r["IamRoleArn"] for r in described.get("IamRoles") or []],
            clusterNamespaceArn=described.get("ClusterNamespaceArn"),
            masterPasswordSecretArn=described.get("MasterPasswordSecretArn"),
        ),
        physical_name=ident,
    )


@resource("aws:redshift/logging:Logging")
def logging(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ident = inputs["clusterIdentifier"]
    destination = inputs.get("logDestinationType")
    if destination not in (None, "s3", "cloudwatch"):
        raise ValueError(f"logDestinationType must be s3 or cloudwatch, got {destination!r}")
    if destination == "cloudwatch" and not inputs.get("logExports"):
        raise ValueError("audit logging to CloudWatch needs logExports")
    if destination in (None, "s3") and not inputs.get("bucketName"):
        raise ValueError("audit logging to S3 needs bucketName")
    ctx.client("redshift").enable_logging(
        **compact(
            ClusterIdentifier=ident,
            LogDestinationType=destination,
            LogExports=inputs.get("logExports") or None,
            BucketName=inputs.get("bucketName"),
            S3KeyPrefix=inputs.get("s3KeyPrefix"),
        )
    )
    return Created(id=ident, outputs={"clusterIdentifier": ident})
