"""tools/planjson.py: Pulumi registrations -> Terraform plan JSON, without Pulumi."""

from __future__ import annotations

import json

import pytest

from tools import planjson
from tools.planjson import PlanResource


def res(typ: str, name: str, inputs: dict, deps: tuple[str, ...] = (), **outputs) -> PlanResource:
    urn = f"urn:pulumi:t::strata::{typ}::{name}"
    return PlanResource(urn=urn, type=typ, name=name, inputs=inputs, dependencies=deps, outputs={"id": f"{name}-id", **outputs})


def urn(r: PlanResource) -> str:
    return r.urn


def by_address(plan: dict) -> tuple[dict, dict]:
    planned = {r["address"]: r for r in plan["planned_values"]["root_module"]["resources"]}
    configured = {r["address"]: r for r in plan["configuration"]["root_module"]["resources"]}
    return planned, configured


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("aws:s3/bucketVersioning:BucketVersioning", "aws_s3_bucket_versioning"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:ec2/vpc:Vpc", "aws_vpc"),
        ("aws:ec2/subnet:Subnet", "aws_subnet"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("aws:iam/role:Role", "aws_iam_role"),
        ("aws:batch/computeEnvironment:ComputeEnvironment", "aws_batch_compute_environment"),
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:costexplorer/costAllocationTag:CostAllocationTag", "aws_ce_cost_allocation_tag"),
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws_iam_openid_connect_provider"),
    ],
)
def test_terraform_types(token, expected):
    assert planjson.terraform_type(token) == expected, token


def test_the_generic_rule_agrees_with_the_table_except_the_listed_exceptions():
    """The table is the checked truth; the derivation is only a fallback. The disagreements are
    exactly the provider's irregular names, so the rule itself is right for the rest."""
    disagree = {t for t, tf in planjson.TYPE_TABLE.items() if planjson.derived_type(t) != tf}
    assert disagree == {
        "aws:s3/bucketV2:BucketV2",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:lb/loadBalancer:LoadBalancer",  # Terraform's aws_lb
    }, disagree


def test_snake_case():
    assert planjson.snake("computeResources") == "compute_resources"
    assert planjson.snake("cidrIpv4") == "cidr_ipv4"
    assert planjson.snake("httpPutResponseHopLimit") == "http_put_response_hop_limit"
    assert planjson.snake("ec2Configurations") == "ec2_configurations"


@pytest.fixture()
def small_plan() -> dict:
    key = res(
        "aws:kms/key:Key", "key", {"enableKeyRotation": True, "deletionWindowInDays": 30.0}, arn="arn:aws:kms:r:1:key/key-id"
    )
    bucket = res(
        "aws:s3/bucket:Bucket", "data-bucket", {"bucket": "acme-data", "tags": {"managed-by": "strata"}}, bucket="acme-data"
    )
    pab = res(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "data-bucket-public-access",
        {"bucket": "data-bucket-id", "blockPublicAcls": True},
        deps=(bucket.urn,),
    )
    sse = res(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "data-bucket-encryption",
        {
            "bucket": "data-bucket-id",
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": "arn:aws:kms:r:1:key/key-id",
                    }
                }
            ],
        },
        deps=(bucket.urn, key.urn),
    )
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt",
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2.0}},
    )
    subnets = [res("aws:ec2/subnet:Subnet", f"private-{i}", {"mapPublicIpOnLaunch": False}) for i in range(2)]
    ce = res(
        "aws:batch/computeEnvironment:ComputeEnvironment",
        "cpu",
        {
            "type": "MANAGED",
            "computeResources": {
                "type": "EC2",
                "minVcpus": 0.0,
                "maxVcpus": 64.0,
                "instanceTypes": ["c6i"],
                "ec2Configurations": [{"imageType": "ECS_AL2023"}],
                "subnets": ["private-0-id", "private-1-id"],
                "launchTemplate": {"launchTemplateId": "lt-id", "version": "1"},
            },
            "tags": {"team": "fraud"},
        },
        deps=(template.urn, *(s.urn for s in subnets)),
        arn="arn:aws:batch:r:1:compute-environment/cpu",
    )
    queue = res(
        "aws:batch/jobQueue:JobQueue",
        "queue",
        {"computeEnvironmentOrders": [{"order": 1.0, "computeEnvironment": "arn:aws:batch:r:1:compute-environment/cpu"}]},
        deps=(ce.urn,),
    )
    secret = PlanResource(
        urn="urn:x::secret-version", type="aws:secretsmanager/secretVersion:SecretVersion", name="pw",
        inputs={"secretString": "hunter2"}, secret_inputs=("secretString",),
    )  # fmt: skip
    return planjson.to_terraform_plan([key, bucket, pab, sse, template, *subnets, ce, queue, secret])


def test_planned_values_have_the_terraform_shape(small_plan):
    planned, _ = by_address(small_plan)
    assert small_plan["terraform_version"] and small_plan["format_version"]
    assert set(planned) >= {
        "aws_s3_bucket.data_bucket",
        "aws_s3_bucket_public_access_block.data_bucket_public_access",
        "aws_batch_compute_environment.cpu",
        "aws_secretsmanager_secret_version.pw",
    }
    for r in planned.values():
        assert r["mode"] == "managed" and r["address"] == f"{r['type']}.{r['name']}", r
    key = planned["aws_kms_key.key"]["values"]
    assert key == {"enable_key_rotation": True, "deletion_window_in_days": 30}, key  # 30.0 -> 30
    assert planned["aws_s3_bucket.data_bucket"]["values"]["tags"] == {"managed-by": "strata"}  # maps keep their keys


def test_nested_blocks_are_lists_with_terraform_names(small_plan):
    planned, _ = by_address(small_plan)
    ce = planned["aws_batch_compute_environment.cpu"]["values"]
    resources = ce["compute_resources"]
    assert isinstance(resources, list) and len(resources) == 1, ce
    assert resources[0]["instance_type"] == ["c6i"], resources  # Pulumi's instanceTypes
    assert resources[0]["ec2_configuration"] == [{"image_type": "ECS_AL2023"}], resources
    assert resources[0]["min_vcpus"] == 0 and resources[0]["max_vcpus"] == 64
    assert resources[0]["launch_template"][0]["version"] == "1"
    queue = planned["aws_batch_job_queue.queue"]["values"]
    assert queue["compute_environment_order"][0]["order"] == 1, queue
    sse = planned["aws_s3_bucket_server_side_encryption_configuration.data_bucket_encryption"]["values"]
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms", sse


def test_inputs_from_other_resources_become_references(small_plan):
    planned, configured = by_address(small_plan)
    pab = "aws_s3_bucket_public_access_block.data_bucket_public_access"
    assert planned[pab]["values"]["bucket"] is None  # known only after apply, as in a real plan
    assert configured[pab]["expressions"]["bucket"]["references"] == ["aws_s3_bucket.data_bucket.id", "aws_s3_bucket.data_bucket"]
    sse = configured["aws_s3_bucket_server_side_encryption_configuration.data_bucket_encryption"]["expressions"]
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["kms_master_key_id"]["references"] == ["aws_kms_key.key.arn", "aws_kms_key.key"]
    ce = configured["aws_batch_compute_environment.cpu"]["expressions"]["compute_resources"][0]
    assert ce["launch_template"][0]["launch_template_id"]["references"] == ["aws_launch_template.lt.id", "aws_launch_template.lt"]
    assert ce["subnets"]["references"] == [
        "aws_subnet.private_0.id",
        "aws_subnet.private_0",
        "aws_subnet.private_1.id",
        "aws_subnet.private_1",
    ]
    queue = configured["aws_batch_job_queue.queue"]["expressions"]
    assert queue["compute_environment_order"][0]["compute_environment"]["references"][1] == "aws_batch_compute_environment.cpu"
    assert planjson.references(small_plan)[pab] == {"aws_s3_bucket.data_bucket"}


def test_plain_values_are_not_references(small_plan):
    planned, configured = by_address(small_plan)
    assert planned["aws_s3_bucket.data_bucket"]["values"]["bucket"] == "acme-data"
    assert configured["aws_s3_bucket.data_bucket"]["expressions"] == {}


def test_secrets_are_never_written(small_plan):
    planned, _ = by_address(small_plan)
    version = planned["aws_secretsmanager_secret_version.pw"]
    assert version["values"]["secret_string"] == planjson.SENSITIVE, version
    assert version["sensitive_values"] == {"secret_string": True}
    assert "hunter2" not in json.dumps(small_plan)


def test_a_value_matching_a_resource_outside_the_dependencies_needs_an_id_or_arn():
    """Names are only trusted along dependencies: two role policies both named "team-datastore"
    must not reference each other."""
    role = PlanResource(
        urn="urn:role", type="aws:iam/role:Role", name="role-a", inputs={"name": "team-datastore"},
        outputs={"id": "role-a-id", "name": "team-datastore"},
    )  # fmt: skip
    a = res("aws:iam/rolePolicy:RolePolicy", "a", {"name": "team-datastore", "role": "role-a-id"})
    b = res("aws:iam/rolePolicy:RolePolicy", "b", {"name": "team-datastore"})
    plan = planjson.to_terraform_plan([a, b, role])
    _, configured = by_address(plan)
    assert set(configured["aws_iam_role_policy.a"]["expressions"]) == {"role"}  # by id, no dependency needed
    assert configured["aws_iam_role_policy.b"]["expressions"] == {}  # a name, and no dependency on the role


def test_ambiguous_values_resolve_by_the_attribute_type():
    role = res("aws:iam/role:Role", "ecs", {}, arn="arn:aws:iam::1:ecs")
    profile = res("aws:iam/instanceProfile:InstanceProfile", "ecs", {}, arn="arn:aws:iam::1:ecs")
    ce = res(
        "aws:batch/computeEnvironment:ComputeEnvironment",
        "ce",
        {"computeResources": {"type": "EC2", "instanceRole": "arn:aws:iam::1:ecs"}},
        deps=(role.urn, profile.urn),
    )
    _, configured = by_address(planjson.to_terraform_plan([role, profile, ce]))
    refs = configured["aws_batch_compute_environment.ce"]["expressions"]["compute_resources"][0]["instance_role"]["references"]
    assert refs == ["aws_iam_instance_profile.ecs.arn", "aws_iam_instance_profile.ecs"], refs


def test_duplicate_logical_names_get_distinct_addresses():
    a = PlanResource(urn="urn:a", type="aws:s3/bucket:Bucket", name="logs", inputs={})
    b = PlanResource(urn="urn:b", type="aws:s3/bucket:Bucket", name="logs", inputs={})
    planned, _ = by_address(planjson.to_terraform_plan([a, b]))
    assert set(planned) == {"aws_s3_bucket.logs", "aws_s3_bucket.logs_2"}


def test_assets_are_described_not_serialised():
    class FileArchive:
        path = "./authorizer"

    fn = PlanResource(urn="urn:f", type="aws:lambda/function:Function", name="fn", inputs={"code": FileArchive()})
    planned, _ = by_address(planjson.to_terraform_plan([fn]))
    assert planned["aws_lambda_function.fn"]["values"]["filename"] == "./authorizer"
    json.dumps(planned)  # serialisable


def test_unknown_types_are_reported():
    odd = PlanResource(urn="urn:o", type="aws:newservice/widget:Widget", name="w", inputs={})
    plan = planjson.to_terraform_plan([odd])
    assert planjson.unknown_types(plan) == ["aws_newservice_widget"]


def test_plan_resources_keeps_aws_custom_resources_only():
    class Reg:
        def __init__(self, typ, custom=True):
            self.urn, self.type, self.name, self.custom = f"urn:{typ}", typ, "n", custom
            self.inputs, self.dependencies, self.id, self.secret_inputs = {}, [], "n-id", []

    regs = [
        Reg("aws:s3/bucket:Bucket"),
        Reg("strata:datastore:Datastore", custom=False),
        Reg("random:index/randomPassword:RandomPassword"),
    ]
    kept = planjson.plan_resources(regs, {"urn:aws:s3/bucket:Bucket": {"arn": "arn:aws:s3:::b"}})
    assert [r.type for r in kept] == ["aws:s3/bucket:Bucket"]
    assert kept[0].outputs == {"arn": "arn:aws:s3:::b", "id": "n-id"}
