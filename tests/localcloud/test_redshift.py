"""The local engine's Redshift handlers against a real moto server: the provisioned warehouse the program
declares exists in moto with its settings; Redshift Serverless is declared NOT EMULATED, loudly."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from core import naming
from core.settings import Team
from localcloud import NOT_EMULATED, LocalEngine, RecordingMonitor
from modules.warehouse.component import Warehouse, WarehouseArgs
from modules.warehouse.settings import WarehouseMode, WarehouseSettings

ACCOUNT = "123456789012"  # moto's default account


def network(prefix: str, cidr: str) -> tuple[aws.ec2.Vpc, list[aws.ec2.Subnet]]:
    vpc = aws.ec2.Vpc(f"{prefix}-vpc", cidr_block=cidr)
    subnets = [
        aws.ec2.Subnet(
            f"{prefix}-subnet-{i}",
            vpc_id=vpc.id,
            cidr_block=cidr.replace(".0.0/16", f".{i}.0/24"),
            availability_zone=f"us-east-1{z}",
        )
        for i, z in enumerate("ab")
    ]
    return vpc, subnets


def fraud() -> Team:
    return Team(
        name="fraud",
        cost_center="cc-4410",
        contacts=("fraud@example.com",),
        priority=10,
        max_vcpus=8,
        gpu_max_vcpus=0,
        principals=(f"arn:aws:iam::{ACCOUNT}:root",),
        monthly_budget_usd=10,
    )


def test_the_provisioned_warehouse_exists_in_moto_as_declared(engine: LocalEngine, deploy, cloud):
    """The Warehouse component, unchanged, under the local engine (RecordingMonitor resolves references)."""
    env = "whlocal"
    name = naming.warehouse_name(env)

    def program():
        vpc, subnets = network("wh", "10.61.0.0/16")
        key = aws.kms.Key("wh-key", enable_key_rotation=True)
        bucket = aws.s3.Bucket("wh-bucket", bucket="strata-test-warehouse-data")
        w = Warehouse(
            "wh",
            WarehouseArgs(
                environment=env,
                settings=WarehouseSettings(mode=WarehouseMode.PROVISIONED, snapshot_retention_days=3),
                teams=[fraud()],
                vpc_id=vpc.id,
                subnet_ids=[s.id for s in subnets],
                bucket_arn=bucket.arn,
                kms_key_arn=key.arn,
                protect=False,
                tags={"environment": env},
            ),
        )
        return {
            "key_arn": key.arn,
            "arn": w.arn,
            "endpoint": w.endpoint,
            "sg": w.security_group_id,
            "subnets": [s.id for s in subnets],
            "roles": w.copy_role_arns,
            "statements": w.team_access["fraud"].statements,
        }

    out = deploy(engine, program, monitor=RecordingMonitor(engine))
    redshift = cloud("redshift")
    (c,) = redshift.describe_clusters(ClusterIdentifier=name)["Clusters"]
    assert c["Encrypted"] is True and c["KmsKeyId"] == out["key_arn"]
    assert c["PubliclyAccessible"] is False
    assert c["EnhancedVpcRouting"] is True
    assert [r["IamRoleArn"] for r in c["IamRoles"]] == [out["roles"]["fraud"]]
    assert out["roles"]["fraud"] == f"arn:aws:iam::{ACCOUNT}:role/{naming.warehouse_role(env, 'fraud')}"
    assert c["ClusterSubnetGroupName"] == name and c["ClusterParameterGroups"][0]["ParameterGroupName"] == name
    assert [g["VpcSecurityGroupId"] for g in c["VpcSecurityGroups"]] == [out["sg"]]
    assert c["AutomatedSnapshotRetentionPeriod"] == 3
    assert c["PreferredMaintenanceWindow"] == "sun:05:00-sun:05:30"
    assert (c["NodeType"], c["NumberOfNodes"], c["DBName"], c["MasterUsername"]) == ("ra3.xlplus", 1, "analytics", "strata_admin")
    assert {"Key": "environment", "Value": env} in c["Tags"]
    assert out["arn"] == f"arn:aws:redshift:us-east-1:{ACCOUNT}:cluster:{name}"
    assert out["endpoint"] == f"{c['Endpoint']['Address']}:{c['Endpoint']['Port']}"

    (group,) = redshift.describe_cluster_subnet_groups(ClusterSubnetGroupName=name)["ClusterSubnetGroups"]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(out["subnets"])
    logging = redshift.describe_logging_status(ClusterIdentifier=name)
    assert logging["LoggingEnabled"] is True and logging["LogDestinationType"] == "cloudwatch"
    assert logging["LogExports"] == ["connectionlog", "userlog", "useractivitylog"]
    groups = cloud("logs").describe_log_groups(logGroupNamePrefix=f"/aws/redshift/cluster/{name}/")["logGroups"]
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups} == {
        f"/aws/redshift/cluster/{name}/{k}": 365 for k in ("connectionlog", "userlog", "useractivitylog")
    }

    role = cloud("iam").get_role(RoleName=naming.warehouse_role(env, "fraud"))["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == [f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:{name}/fraud"]
    policy = json.loads(
        json.dumps(cloud("iam").get_role_policy(RoleName=role["RoleName"], PolicyName="team-prefix")["PolicyDocument"])
    )
    assert "arn:aws:s3:::strata-test-warehouse-data/teams/fraud/*" in json.dumps(policy)
    run = next(s for s in out["statements"] if s["Sid"] == "WarehouseRunStatements")
    assert run["Resource"] == out["arn"]

    notes = "\n".join(engine.emulation_notes)
    assert f"Redshift cluster {name}: moto ignores ManageMasterPassword" in notes, "the missing secret is said, not faked"
    assert f"Redshift parameter group {name}: moto has no ModifyClusterParameterGroup" in notes
    assert "require_ssl=true" in notes


def test_multi_node_cluster_and_s3_audit_logging(engine: LocalEngine, deploy, cloud):
    def program():
        cluster = aws.redshift.Cluster(
            "rs-multi",
            cluster_identifier="strata-test-multi",
            node_type="ra3.xlplus",
            cluster_type="multi-node",
            number_of_nodes=3,
            master_username="admin_user",
            manage_master_password=True,
            encrypted="true",
        )
        logs = aws.s3.Bucket("rs-audit", bucket="strata-test-redshift-audit")
        aws.redshift.Logging(
            "rs-multi-logging",
            cluster_identifier=cluster.cluster_identifier,
            log_destination_type="s3",
            bucket_name=logs.bucket,
            s3_key_prefix="audit/",
        )
        return {"nodes": cluster.number_of_nodes, "encrypted": cluster.encrypted, "public": cluster.publicly_accessible}

    out = deploy(engine, program)
    (c,) = cloud("redshift").describe_clusters(ClusterIdentifier="strata-test-multi")["Clusters"]
    assert (c["NumberOfNodes"], c["Encrypted"], c["PubliclyAccessible"]) == (3, True, False)
    assert out == {"nodes": 3, "encrypted": "true", "public": False}
    status = cloud("redshift").describe_logging_status(ClusterIdentifier="strata-test-multi")
    assert (status["BucketName"], status["S3KeyPrefix"], status["LogDestinationType"]) == (
        "strata-test-redshift-audit",
        "audit/",
        "s3",
    )


def test_a_cluster_without_any_password_is_refused_as_aws_would(engine: LocalEngine, deploy):
    def program():
        aws.redshift.Cluster("rs-nopass", cluster_identifier="strata-test-nopass", node_type="ra3.xlplus", master_username="a")
        return {}

    with pytest.raises(Exception, match="masterPassword or manageMasterPassword"):
        deploy(engine, program)


def test_serverless_is_not_emulated_and_says_so(engine: LocalEngine, deploy, cloud):
    reason = "moto has no Redshift Serverless backend"
    assert NOT_EMULATED["aws:redshiftserverless/namespace:Namespace"] == reason
    assert NOT_EMULATED["aws:redshiftserverless/workgroup:Workgroup"] == reason

    def program():
        ns = aws.redshiftserverless.Namespace("sls-namespace", namespace_name="strata-test-sls", manage_admin_password=True)
        wg = aws.redshiftserverless.Workgroup("sls-workgroup", namespace_name=ns.namespace_name, workgroup_name="strata-test-sls")
        return {"ns_id": ns.id, "wg_id": wg.id, "wg_arn": wg.arn}

    out = deploy(engine, program)
    records = {r.name: r for r in engine.not_emulated_used()}
    assert set(records) == {"sls-namespace", "sls-workgroup"}
    assert all(r.not_emulated_reason == reason for r in records.values())
    assert "NOT EMULATED (moto has no Redshift Serverless backend)" in str(records["sls-workgroup"])
    assert out["wg_id"] == "sls-workgroup-not-emulated" and out["wg_arn"] is None, "a synthetic id, and no ARN made up"
    clusters = cloud("redshift").describe_clusters()["Clusters"]
    assert "strata-test-sls" not in [c["ClusterIdentifier"] for c in clusters]


def test_the_serverless_warehouse_fails_with_the_reason_under_the_local_engine(engine: LocalEngine, deploy):
    """Team access needs the workgroup's ARN, which only AWS computes: the deployment stops and says why."""

    def program():
        vpc, subnets = network("slsw", "10.62.0.0/16")
        key = aws.kms.Key("slsw-key")
        w = Warehouse(
            "slsw",
            WarehouseArgs(
                environment="slsw",
                settings=WarehouseSettings(mode=WarehouseMode.SERVERLESS),
                teams=[fraud()],
                vpc_id=vpc.id,
                subnet_ids=[s.id for s in subnets],
                bucket_arn="arn:aws:s3:::strata-test-none",
                kms_key_arn=key.arn,
                protect=False,
                tags={},
            ),
        )
        return {"statements": w.team_access["fraud"].statements}

    with pytest.raises(Exception, match="NOT EMULATED") as info:
        deploy(engine, program, monitor=RecordingMonitor(engine))
    assert "mode: provisioned" in str(info.value)
    assert {r.name for r in engine.not_emulated_used()} == {"slsw-namespace", "slsw-workgroup"}


def test_preview_makes_no_cluster(moto_server, deploy, cloud):
    engine = LocalEngine(moto_server.endpoint, preview=True)

    def program():
        aws.redshift.Cluster(
            "rs-preview", cluster_identifier="strata-test-preview", node_type="ra3.xlplus", manage_master_password=True
        )
        return {}

    deploy(engine, program, preview=True)
    assert "strata-test-preview" not in [c["ClusterIdentifier"] for c in cloud("redshift").describe_clusters()["Clusters"]]
    pulumi.runtime.settings.set_root_resource(None)
