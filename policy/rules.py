"""Strata's CrossGuard rules: the platform's invariants, checked by the Pulumi engine on every
`pulumi preview` / `pulumi up --policy-pack policy`.

Importable on its own (``__main__.py`` only wraps :data:`POLICIES` in a ``PolicyPack``, which starts
a gRPC server and blocks). Resource rules read a resource's inputs (``args.props``, camelCase);
stack rules read every resource's outputs and see relations (a bucket and its encryption
configuration are two resources). tests/gates/test_policy_pack.py feeds them what a mocks run of
every stack declares, and mutated copies that must fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKETS = (BUCKET, BUCKET_V2)
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KMS_KEY = "aws:kms/key:Key"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

# Databases and warehouses that AWS can expose on a public endpoint (``publiclyAccessible``).
PUBLICLY_ACCESSIBLE_TYPES = (
    "aws:rds/instance:Instance",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:redshift/cluster:Cluster",
    "aws:redshiftserverless/workgroup:Workgroup",
    "aws:dms/replicationInstance:ReplicationInstance",
)

# Storage that must be encrypted at rest, and the input that says so.
ENCRYPTION_INPUTS = {
    "aws:rds/cluster:Cluster": "storageEncrypted",
    "aws:rds/instance:Instance": "storageEncrypted",
    "aws:redshift/cluster:Cluster": "encrypted",
    "aws:ebs/volume:Volume": "encrypted",
    "aws:efs/fileSystem:FileSystem": "encrypted",
}

# Resources that hold data (or the keys to it): protected in production, so neither
# `pulumi destroy` nor a refactor deletes them. Issue 3 "No data loss".
STATEFUL_TYPES = (
    *BUCKETS,
    KMS_KEY,
    "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance",
    "aws:redshift/cluster:Cluster",
    "aws:redshiftserverless/namespace:Namespace",
    "aws:dynamodb/table:Table",
    "aws:efs/fileSystem:FileSystem",
)

REQUIRED_TAGS = ("environment", "managed-by")

# The AWS types Strata declares that accept tags (their pulumi_aws class takes ``tags``);
# tests/gates/test_policy_pack.py keeps this list complete for every type the program declares.
TAGGABLE_TYPES = frozenset(
    {
        "aws:apigateway/apiKey:ApiKey",
        "aws:apigateway/restApi:RestApi",
        "aws:apigateway/stage:Stage",
        "aws:apigateway/usagePlan:UsagePlan",
        "aws:apigateway/vpcLink:VpcLink",
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigatewayv2/vpcLink:VpcLink",
        "aws:appautoscaling/target:Target",
        "aws:batch/computeEnvironment:ComputeEnvironment",
        "aws:batch/jobDefinition:JobDefinition",
        "aws:batch/jobQueue:JobQueue",
        "aws:batch/schedulingPolicy:SchedulingPolicy",
        "aws:budgets/budget:Budget",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:dynamodb/table:Table",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/instance:Instance",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/addon:Addon",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:kms/key:Key",
        "aws:lambda/function:Function",
        "aws:lb/listener:Listener",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:redshift/cluster:Cluster",
        "aws:redshift/parameterGroup:ParameterGroup",
        "aws:redshift/subnetGroup:SubnetGroup",
        "aws:redshiftserverless/namespace:Namespace",
        "aws:redshiftserverless/workgroup:Workgroup",
        "aws:s3/bucket:Bucket",
        "aws:secretsmanager/secret:Secret",
        "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
        "aws:servicediscovery/service:Service",
        "aws:sfn/stateMachine:StateMachine",
        "aws:sns/topic:Topic",
        "aws:sqs/queue:Queue",
        "aws:ssm/parameter:Parameter",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
)

DEFAULT_PRODUCTION_ENVIRONMENTS = ["prod"]
PRODUCTION_CONFIG = PolicyConfigSchema(
    properties={
        "productionEnvironments": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_PRODUCTION_ENVIRONMENTS,
            "description": "Values of the `environment` tag that mark a production stack.",
        }
    }
)


# ---------------------------------------------------------------- helpers


def _true(value: Any) -> bool:
    """Pulumi bool, or the provider's string form ("true") that launch templates take."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return props.get("tags") or props.get("tagsAll") or {}


def _production_environments(args: Any) -> list[str]:
    config = args.get_config() or {}
    return list(config.get("productionEnvironments") or DEFAULT_PRODUCTION_ENVIRONMENTS)


# ---------------------------------------------------------------- resource rules


def _kms_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != KMS_KEY:
        return
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not _true(args.props.get("enableKeyRotation")):
        report("KMS keys rotate their key material yearly: set enable_key_rotation=True.")


def _volumes_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == LAUNCH_TEMPLATE:
        for mapping in _list(props.get("blockDeviceMappings")):
            if mapping.get("noDevice") or mapping.get("virtualName"):
                continue  # no EBS volume behind this mapping
            if not _true((mapping.get("ebs") or {}).get("encrypted")):
                report(f"Launch template volume {mapping.get('deviceName', '?')} is not encrypted: set ebs.encrypted.")
    elif args.resource_type == INSTANCE:
        devices = [("root", props.get("rootBlockDevice") or {})] + [
            (d.get("deviceName", "?"), d) for d in _list(props.get("ebsBlockDevices"))
        ]
        for name, device in devices:
            if not _true(device.get("encrypted")):
                report(f"Instance volume {name} is not encrypted: set encrypted=True.")
    elif args.resource_type in ENCRYPTION_INPUTS:
        key = ENCRYPTION_INPUTS[args.resource_type]
        if not _true(props.get(key)):
            report(f"Storage is not encrypted at rest: set {key}=True.")


def _no_public_databases(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in PUBLICLY_ACCESSIBLE_TYPES and _true(args.props.get("publiclyAccessible")):
        report("Databases and warehouses stay in private subnets: set publicly_accessible=False.")


def _imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (LAUNCH_TEMPLATE, INSTANCE):
        return
    options = args.props.get("metadataOptions") or {}
    if options.get("httpEndpoint") == "disabled":
        return
    if options.get("httpTokens") != "required":
        report("IMDSv2 only: set metadata_options.http_tokens='required' (IMDSv1 is open to SSRF credential theft).")


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE_TYPES:
        return
    tags = _tags(args.props)
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    if missing:
        report(f"Missing tags {missing}: every taggable resource carries {list(REQUIRED_TAGS)} (cost allocation, ownership).")


def _log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    days = args.props.get("retentionInDays")
    if not days or days <= 0:
        report("Log group keeps logs forever (and bills for them): set retention_in_days.")


def _stateful_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in STATEFUL_TYPES:
        return
    environment = _tags(args.props).get("environment")
    if environment in _production_environments(args) and not args.opts.protect:
        report(f"Stateful resource in production ({environment}) without protect: set strata:protect (protect + retainOnDelete).")


# ---------------------------------------------------------------- stack rules


def _targets(resource: PolicyResource, prop: str, candidates: Iterable[PolicyResource]) -> list[PolicyResource]:
    """The resources ``resource.props[prop]`` refers to: its property dependencies when the engine
    reports them, else the candidates whose id or name equals the value."""
    deps = (resource.property_dependencies or {}).get(prop) or []
    if deps:
        return list(deps)
    value = resource.props.get(prop)
    return [c for c in candidates if value and value in (c.props.get("id"), c.props.get("bucket"))]


def _buckets_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = [r for r in args.resources if r.resource_type in BUCKETS]
    encrypted: set[str] = set()
    for r in args.resources:
        if r.resource_type in BUCKET_SSE and any(
            (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in _list(r.props.get("rules"))
        ):
            encrypted.update(t.urn for t in _targets(r, "bucket", buckets))
    for bucket in buckets:
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        if bucket.urn not in encrypted and not inline:
            report(
                "S3 bucket without a server-side encryption configuration (aws.s3.BucketServerSideEncryptionConfiguration).",
                bucket.urn,
            )


def _buckets_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = [r for r in args.resources if r.resource_type in BUCKETS]
    blocked: set[str] = set()
    for r in args.resources:
        if r.resource_type == BUCKET_PAB and all(_true(r.props.get(flag)) for flag in PUBLIC_ACCESS_FLAGS):
            blocked.update(t.urn for t in _targets(r, "bucket", buckets))
    for bucket in buckets:
        if bucket.urn not in blocked:
            report(f"S3 bucket without a public access block setting all of {list(PUBLIC_ACCESS_FLAGS)} to true.", bucket.urn)
        if str(bucket.props.get("acl") or "").startswith("public"):
            report("S3 bucket with a public canned ACL.", bucket.urn)


# ---------------------------------------------------------------- the pack

POLICIES = [
    ResourceValidationPolicy(
        name="kms-key-rotation",
        description="Symmetric KMS keys rotate their key material (encryption at rest).",
        enforcement_level=MANDATORY,
        validate=_kms_key_rotation,
    ),
    ResourceValidationPolicy(
        name="volumes-and-databases-encrypted",
        description="EBS volumes of launch templates and instances, and RDS/Redshift storage, are encrypted at rest.",
        enforcement_level=MANDATORY,
        validate=_volumes_encrypted,
    ),
    StackValidationPolicy(
        name="s3-buckets-encrypted",
        description="Every S3 bucket has a server-side encryption configuration (encryption at rest).",
        enforcement_level=MANDATORY,
        validate=_buckets_encrypted,
    ),
    StackValidationPolicy(
        name="s3-no-public-buckets",
        description="Every S3 bucket has a public access block with all four settings on, and no public ACL.",
        enforcement_level=MANDATORY,
        validate=_buckets_not_public,
    ),
    ResourceValidationPolicy(
        name="no-public-databases",
        description="RDS instances, Redshift clusters and workgroups are not publicly accessible.",
        enforcement_level=MANDATORY,
        validate=_no_public_databases,
    ),
    ResourceValidationPolicy(
        name="imdsv2-required",
        description="Launch templates and instances require IMDSv2 (session tokens).",
        enforcement_level=MANDATORY,
        validate=_imdsv2,
    ),
    ResourceValidationPolicy(
        name="stateful-protected-in-production",
        description="In production, buckets, KMS keys, databases and tables are protected (no delete by destroy or refactor).",
        enforcement_level=MANDATORY,
        validate=_stateful_protected,
        config_schema=PRODUCTION_CONFIG,
    ),
    ResourceValidationPolicy(
        name="required-tags",
        description=f"Every taggable resource carries the tags {', '.join(REQUIRED_TAGS)}.",
        enforcement_level=MANDATORY,
        validate=_required_tags,
    ),
    ResourceValidationPolicy(
        name="log-retention-set",
        description="Every CloudWatch log group has a retention period.",
        enforcement_level=MANDATORY,
        validate=_log_retention,
    ),
]
