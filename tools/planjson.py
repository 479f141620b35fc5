"""A Terraform plan JSON (the `terraform show -json` shape) of what the Pulumi program declares.

pulumi-aws is bridged from the Terraform AWS provider, so every ``aws:`` resource has a Terraform
twin with the same attributes (snake_case there, camelCase in Pulumi). Written as a plan, the
program can be scanned by the field's Terraform scanners (checkov ``--framework terraform_plan``).

Pure: no Pulumi import. Input is one :class:`PlanResource` per declared custom resource (built from
the local engine's registrations by :func:`plan_resources`); output is a plain dict:

- ``planned_values.root_module.resources[]``: ``address``, ``mode``, ``type``, ``name``, ``values``
  (snake_case attributes; nested blocks as lists of objects; maps such as ``tags`` kept as maps);
- ``configuration.root_module.resources[].expressions.<attr>.references``: for every input that
  is another resource's output (its id, ARN or name), ``["<address>.<attr>", "<address>"]`` — the
  value itself is left null in ``planned_values``, as Terraform does for values known only after
  apply. That is what makes checkov's graph link a bucket to its public access block, versioning,
  encryption and logging resources.

A reference is found by value: an input string equal to an identity output (``id``, ``arn``,
``name``...) of a resource the input's owner depends on. The mocks hand out unique ids and ARNs, so
this is exact for a mocks run; a resource outside the dependencies is matched only by id or ARN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = "1.2"
# The Terraform release whose plan format this imitates (checkov only requires the key).
TERRAFORM_VERSION = "1.9.0"

# ---------------------------------------------------------------- types

# Pulumi type token -> Terraform resource type, each checked against the Terraform AWS provider's
# resource list (website/docs/r/<type without aws_>.html.markdown in hashicorp/terraform-provider-aws,
# and the resource types checkov's own checks name). Every type the program declares must be here:
# anything else is reported by unknown_types() and fails tests/unit/test_planjson.py.
TYPE_TABLE: dict[str, str] = {
    "aws:kms/key:Key": "aws_kms_key",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "aws_cloudwatch_log_resource_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/instanceProfile:InstanceProfile": "aws_iam_instance_profile",
    "aws:batch/computeEnvironment:ComputeEnvironment": "aws_batch_compute_environment",
    "aws:batch/jobQueue:JobQueue": "aws_batch_job_queue",
    "aws:batch/schedulingPolicy:SchedulingPolicy": "aws_batch_scheduling_policy",
    "aws:batch/jobDefinition:JobDefinition": "aws_batch_job_definition",
    "aws:ssm/parameter:Parameter": "aws_ssm_parameter",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:rds/clusterInstance:ClusterInstance": "aws_rds_cluster_instance",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "aws_rds_cluster_parameter_group",
    "aws:redshift/cluster:Cluster": "aws_redshift_cluster",
    "aws:redshiftserverless/namespace:Namespace": "aws_redshiftserverless_namespace",
    "aws:redshiftserverless/workgroup:Workgroup": "aws_redshiftserverless_workgroup",
    "aws:dynamodb/table:Table": "aws_dynamodb_table",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "aws_secretsmanager_secret_policy",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:sfn/stateMachine:StateMachine": "aws_sfn_state_machine",
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:ecs/cluster:Cluster": "aws_ecs_cluster",
    "aws:ecs/service:Service": "aws_ecs_service",
    "aws:ecs/taskDefinition:TaskDefinition": "aws_ecs_task_definition",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:apigateway/account:Account": "aws_api_gateway_account",
    "aws:apigateway/apiKey:ApiKey": "aws_api_gateway_api_key",
    "aws:apigateway/authorizer:Authorizer": "aws_api_gateway_authorizer",
    "aws:apigateway/deployment:Deployment": "aws_api_gateway_deployment",
    "aws:apigateway/integration:Integration": "aws_api_gateway_integration",
    "aws:apigateway/method:Method": "aws_api_gateway_method",
    "aws:apigateway/methodSettings:MethodSettings": "aws_api_gateway_method_settings",
    "aws:apigateway/resource:Resource": "aws_api_gateway_resource",
    "aws:apigateway/restApi:RestApi": "aws_api_gateway_rest_api",
    "aws:apigateway/restApiPolicy:RestApiPolicy": "aws_api_gateway_rest_api_policy",
    "aws:apigateway/stage:Stage": "aws_api_gateway_stage",
    "aws:apigateway/usagePlan:UsagePlan": "aws_api_gateway_usage_plan",
    "aws:apigateway/usagePlanKey:UsagePlanKey": "aws_api_gateway_usage_plan_key",
    "aws:apigateway/vpcLink:VpcLink": "aws_api_gateway_vpc_link",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/listenerRule:ListenerRule": "aws_lb_listener_rule",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:apigatewayv2/api:Api": "aws_apigatewayv2_api",
    "aws:apigatewayv2/authorizer:Authorizer": "aws_apigatewayv2_authorizer",
    "aws:apigatewayv2/integration:Integration": "aws_apigatewayv2_integration",
    "aws:apigatewayv2/route:Route": "aws_apigatewayv2_route",
    "aws:apigatewayv2/stage:Stage": "aws_apigatewayv2_stage",
    "aws:apigatewayv2/vpcLink:VpcLink": "aws_apigatewayv2_vpc_link",
    "aws:appautoscaling/policy:Policy": "aws_appautoscaling_policy",
    "aws:appautoscaling/target:Target": "aws_appautoscaling_target",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": "aws_service_discovery_private_dns_namespace",
    "aws:servicediscovery/service:Service": "aws_service_discovery_service",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": "aws_ce_cost_allocation_tag",
    "aws:redshift/logging:Logging": "aws_redshift_logging",
    "aws:redshift/parameterGroup:ParameterGroup": "aws_redshift_parameter_group",
    "aws:redshift/subnetGroup:SubnetGroup": "aws_redshift_subnet_group",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "aws_ecs_cluster_capacity_providers",
    "aws:scheduler/schedule:Schedule": "aws_scheduler_schedule",
    "aws:cloudwatch/eventBus:EventBus": "aws_cloudwatch_event_bus",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "aws_cloudwatch_log_metric_filter",
    "aws:budgets/budgetAction:BudgetAction": "aws_budgets_budget_action",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:autoscaling/attachment:Attachment": "aws_autoscaling_attachment",
}

# Pulumi modules whose Terraform types do not repeat the module name (aws:ec2/vpc -> aws_vpc), or
# spell it differently (aws:apigateway/restApi -> aws_api_gateway_rest_api).
_MODULE_PREFIX = {
    "ec2": "",
    "apigateway": "api_gateway",
    "servicediscovery": "service_discovery",
    "costexplorer": "ce",
}


def snake(name: str) -> str:
    """``computeResources`` -> ``compute_resources``; ``cidrIpv4`` -> ``cidr_ipv4``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def derived_type(token: str) -> str:
    """The Terraform type the token's shape suggests: ``aws_<module>_<resource>``, with the module
    rules of ``_MODULE_PREFIX``. A guess for tokens outside :data:`TYPE_TABLE`."""
    package, module_and_resource, _ = token.split(":")
    module, resource = module_and_resource.split("/")
    resource = snake(resource)
    module = _MODULE_PREFIX.get(module, module)
    if module and not resource.startswith(f"{module}_"):
        resource = f"{module}_{resource}"
    return f"{package}_{resource}"


def terraform_type(token: str) -> str:
    """The Terraform type of a Pulumi token: the checked table first, else :func:`derived_type`."""
    return TYPE_TABLE.get(token) or derived_type(token)


def unknown_types(plan: Mapping[str, Any]) -> list[str]:
    """Types in ``plan`` that were not checked against the provider (derived, not from TYPE_TABLE)."""
    known = set(TYPE_TABLE.values())
    return sorted({r["type"] for r in plan["planned_values"]["root_module"]["resources"]} - known)


# ---------------------------------------------------------------- attributes

# Where Pulumi pluralises a Terraform block (a repeated block is one list in Pulumi): the Pulumi
# attribute path (snake_case, dots between nesting levels) -> the Terraform block name.
ATTRIBUTE_RENAMES: dict[str, dict[str, str]] = {
    "aws_batch_compute_environment": {
        "compute_resources.instance_types": "instance_type",
        "compute_resources.ec2_configurations": "ec2_configuration",
    },
    "aws_batch_job_queue": {"compute_environment_orders": "compute_environment_order"},
    "aws_s3_bucket_server_side_encryption_configuration": {"rules": "rule"},
    "aws_s3_bucket_lifecycle_configuration": {
        "rules": "rule",
        "rules.transitions": "transition",
        "rules.noncurrent_version_transitions": "noncurrent_version_transition",
    },
    "aws_s3_bucket": {"cors_rules": "cors_rule", "lifecycle_rules": "lifecycle_rule", "grants": "grant"},
    "aws_instance": {
        "ebs_block_devices": "ebs_block_device",
        "ephemeral_block_devices": "ephemeral_block_device",
        "network_interfaces": "network_interface",
    },
    "aws_iam_role": {"inline_policies": "inline_policy"},
    "aws_dynamodb_table": {
        "attributes": "attribute",
        "global_secondary_indexes": "global_secondary_index",
        "local_secondary_indexes": "local_secondary_index",
        "replicas": "replica",
    },
    "aws_ecs_cluster": {"settings": "setting"},
    "aws_ecs_service": {
        "load_balancers": "load_balancer",
        "capacity_provider_strategies": "capacity_provider_strategy",
        "ordered_placement_strategies": "ordered_placement_strategy",
    },
    "aws_ecs_task_definition": {"volumes": "volume"},
    "aws_lb_listener": {"default_actions": "default_action"},
    "aws_lb_listener_rule": {"actions": "action", "conditions": "condition"},
    "aws_lambda_function": {"code": "filename"},
    "aws_rds_cluster_parameter_group": {"parameters": "parameter"},
    "aws_db_parameter_group": {"parameters": "parameter"},
    "aws_redshift_parameter_group": {"parameters": "parameter"},
    "aws_redshiftserverless_workgroup": {"config_parameters": "config_parameter"},
    "aws_cloudwatch_metric_alarm": {"metric_queries": "metric_query"},
    "aws_budgets_budget": {"notifications": "notification", "cost_filters": "cost_filter"},
    "aws_eks_node_group": {"taints": "taint"},
    "aws_iam_openid_connect_provider": {"client_id_lists": "client_id_list", "thumbprint_lists": "thumbprint_list"},
}

# Attributes that are maps (free keys, kept verbatim), not blocks; matched on the last path part.
MAP_ATTRIBUTES = frozenset(
    {
        "tags",
        "tags_all",
        "variables",
        "environment_variables",
        "dimensions",
        "request_parameters",
        "response_parameters",
        "stage_variables",
        "input_paths",
        "labels",  # an EKS node group's Kubernetes labels
    }
)

# Outputs that identify a resource and that other resources take as inputs, besides id and ARN.
_IDENTITY_OUTPUTS: dict[str, tuple[str, ...]] = {
    "aws_s3_bucket": ("bucket",),
    "aws_iam_role": ("name",),
    "aws_iam_instance_profile": ("name",),
    "aws_iam_policy": ("name",),
    "aws_kms_key": ("key_id",),
    "aws_cloudwatch_log_group": ("name",),
    "aws_batch_compute_environment": ("name",),
    "aws_batch_job_queue": ("name",),
    "aws_ssm_parameter": ("name",),
    "aws_launch_template": ("name",),
    "aws_eip": ("allocation_id",),
    "aws_instance": ("primary_network_interface_id",),
    "aws_eks_cluster": ("name",),
}

# When one value matches several resources (a role and its instance profile can share a name), the
# attribute that takes it says which type it means.
REFERENCE_TARGETS: dict[str, tuple[str, ...]] = {
    "instance_role": ("aws_iam_instance_profile",),
    "iam_instance_profile": ("aws_iam_instance_profile",),
    "role": ("aws_iam_role",),
    "iam_role_arn": ("aws_iam_role",),
    "service_role": ("aws_iam_role",),
    "bucket": ("aws_s3_bucket",),
    "target_bucket": ("aws_s3_bucket",),
    "vpc_id": ("aws_vpc",),
    "subnet_id": ("aws_subnet",),
    "subnets": ("aws_subnet",),
    "security_group_id": ("aws_security_group",),
    "launch_template_id": ("aws_launch_template",),
    "kms_key_id": ("aws_kms_key",),
    "kms_master_key_id": ("aws_kms_key",),
    "target_key_id": ("aws_kms_key",),
    "log_destination": ("aws_cloudwatch_log_group",),
    "compute_environment": ("aws_batch_compute_environment",),
    "allocation_id": ("aws_eip",),
    "network_interface_id": ("aws_instance",),
    "cluster_name": ("aws_eks_cluster",),
}

SENSITIVE = "(sensitive)"


@dataclass(frozen=True)
class PlanResource:
    """One declared custom resource, as the converter needs it."""

    urn: str
    type: str
    """The Pulumi type token (``aws:s3/bucket:Bucket``)."""
    name: str
    """The Pulumi logical name."""
    inputs: Mapping[str, Any]
    """Inputs as the engine received them (camelCase, secrets unwrapped, references as ids)."""
    dependencies: Sequence[str] = ()
    """URNs this resource depends on (property dependencies and ``depends_on``)."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """The state the engine returned (camelCase): ``id``, ``arn`` and whatever else it knows."""
    secret_inputs: Sequence[str] = ()
    """Top-level inputs that were secrets: written as :data:`SENSITIVE`, never in clear."""


def plan_resources(registrations: Iterable[Any], outputs: Mapping[str, Mapping[str, Any]] | None = None) -> list[PlanResource]:
    """The AWS custom resources among ``registrations`` (``localcloud.engine.Registration`` or any
    object with ``urn``, ``type``, ``name``, ``custom``, ``inputs``, ``dependencies``, ``id``).
    ``outputs`` maps a URN to the state the mocks returned; without it only the id is known."""
    outputs = outputs or {}
    resources = []
    for r in registrations:
        if not r.custom or not r.type.startswith("aws:") or r.type.startswith("pulumi:providers:"):
            continue
        state = dict(outputs.get(r.urn) or {})
        if getattr(r, "id", None):
            state.setdefault("id", r.id)
        resources.append(
            PlanResource(
                urn=r.urn,
                type=r.type,
                name=r.name,
                inputs=dict(r.inputs),
                dependencies=tuple(getattr(r, "dependencies", ()) or ()),
                outputs=state,
                secret_inputs=tuple(getattr(r, "secret_inputs", ()) or ()),
            )
        )
    return resources


# ---------------------------------------------------------------- conversion


@dataclass(frozen=True)
class _Target:
    address: str
    type: str
    urn: str
    identities: dict[str, str]  # value -> terraform attribute (id, arn, bucket, ...)


def _addresses(resources: Sequence[PlanResource]) -> dict[str, str]:
    """URN -> ``<type>.<name>``; Terraform names are identifiers, so ``-`` becomes ``_``."""
    addresses: dict[str, str] = {}
    taken: set[str] = set()
    for r in resources:
        base = f"{terraform_type(r.type)}.{re.sub(r'[^A-Za-z0-9_]', '_', r.name)}"
        address, n = base, 1
        while address in taken:  # same logical name under two parents: keep both, distinctly
            n += 1
            address = f"{base}_{n}"
        taken.add(address)
        addresses[r.urn] = address
    return addresses


def _targets(resources: Sequence[PlanResource], addresses: Mapping[str, str]) -> dict[str, _Target]:
    targets = {}
    for r in resources:
        tf_type = terraform_type(r.type)
        identities: dict[str, str] = {}
        for attr in (*_IDENTITY_OUTPUTS.get(tf_type, ()), "arn", "id"):  # later wins: id, then arn
            value = r.outputs.get(_camel(attr))
            if isinstance(value, str) and value:
                identities[value] = attr
        targets[r.urn] = _Target(addresses[r.urn], tf_type, r.urn, identities)
    return targets


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class _Converter:
    def __init__(self, resource: PlanResource, targets: Mapping[str, _Target]) -> None:
        self.resource = resource
        self.type = terraform_type(resource.type)
        self.renames = ATTRIBUTE_RENAMES.get(self.type, {})
        deps = [targets[u] for u in resource.dependencies if u in targets and u != resource.urn]
        others = [t for u, t in targets.items() if u != resource.urn]
        self.dependencies = list({t.urn: t for t in deps}.values())
        self.others = others

    def convert(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(values, expressions, sensitive_values) of the resource."""
        values: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        sensitive: dict[str, Any] = {}
        for key, value in sorted(self.resource.inputs.items()):
            name = self._name(snake(key), snake(key))
            if key in self.resource.secret_inputs:
                values[name], sensitive[name] = SENSITIVE, True
                continue
            values[name], expression = self._value(value, snake(key), name)
            if expression is not None:
                expressions[name] = expression
        return values, expressions, sensitive

    def _name(self, path: str, default: str) -> str:
        return self.renames.get(path, default)

    def _value(self, value: Any, path: str, attr: str) -> tuple[Any, Any]:
        """(planned value, configuration expression or None) of one input."""
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str):
            refs = self._references(value, attr)
            return (None, {"references": refs}) if refs else (value, None)
        if isinstance(value, Mapping):
            if attr in MAP_ATTRIBUTES:  # free-form keys and values: kept as they are
                return {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in value.items()}, None
            block, expression = self._block(value, path)
            return [block], ([expression] if expression else None)
        if isinstance(value, list | tuple):
            if any(isinstance(v, Mapping) for v in value):
                blocks, expressions = zip(*(self._block(v, path) for v in value), strict=True) if value else ((), ())
                return list(blocks), (list(expressions) if any(expressions) else None)
            items = [self._value(v, path, attr) for v in value]
            refs = [ref for _, expression in items if expression for ref in expression["references"]]
            if refs:  # Terraform cannot know a list holding values known only after apply
                return None, {"references": refs}
            return [v for v, _ in items], None
        if value is None or isinstance(value, bool | int | float):
            return value, None
        return _opaque(value), None

    def _block(self, value: Mapping[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        block: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        for key, item in sorted(value.items()):
            child = f"{path}.{snake(key)}"
            name = self._name(child, snake(key))
            block[name], expression = self._value(item, child, name)
            if expression is not None:
                expressions[name] = expression
        return block, expressions

    def _references(self, value: str, attr: str) -> list[str]:
        matches = [(t, t.identities[value]) for t in self.dependencies if value in t.identities]
        if not matches:  # e.g. an input whose Output carried no dependency: only ids and ARNs count
            matches = [(t, t.identities[value]) for t in self.others if t.identities.get(value) in ("id", "arn")]
        if len(matches) > 1 and attr in REFERENCE_TARGETS:
            preferred = [m for m in matches if m[0].type in REFERENCE_TARGETS[attr]]
            matches = preferred or matches
        refs: list[str] = []
        for target, output in sorted(matches, key=lambda m: m[0].address):
            refs += [f"{target.address}.{output}", target.address]
        return refs


def _opaque(value: Any) -> str:
    """A Pulumi asset or archive (or any other non-JSON input) as a short description: its path or
    URI when it has one. Terraform takes a file name there (``filename`` of a Lambda function)."""
    for attr in ("path", "uri"):
        if isinstance(getattr(value, attr, None), str):
            return getattr(value, attr)
    if isinstance(getattr(value, "assets", None), Mapping):
        return f"{type(value).__name__}({', '.join(sorted(value.assets))})"
    return type(value).__name__


def to_terraform_plan(resources: Sequence[PlanResource], terraform_version: str = TERRAFORM_VERSION) -> dict[str, Any]:
    """The Terraform plan JSON (as a dict) declaring ``resources``."""
    addresses = _addresses(resources)
    targets = _targets(resources, addresses)
    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for r in resources:
        address = addresses[r.urn]
        tf_type, name = address.split(".", 1)
        values, expressions, sensitive = _Converter(r, targets).convert()
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "schema_version": 0,
                "values": values,
                "sensitive_values": sensitive,
            }
        )
        configured.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": terraform_version,
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {"resources": configured},
        },
    }


def references(plan: Mapping[str, Any]) -> dict[str, set[str]]:
    """address -> the addresses it references (anywhere in its expressions). For tests and reports."""
    found: dict[str, set[str]] = {}

    def walk(node: Any, into: set[str]) -> None:
        if isinstance(node, Mapping):
            if "references" in node:
                into.update(ref for ref in node["references"] if ref.count(".") == 1)
            for v in node.values():
                walk(v, into)
        elif isinstance(node, list):
            for v in node:
                walk(v, into)

    for r in plan["configuration"]["root_module"]["resources"]:
        walk(r["expressions"], found.setdefault(r["address"], set()))
    return found
