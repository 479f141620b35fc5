"""Run the program with echo mocks and export what it declares: the Terraform plan JSON
(`strata plan-json`), and the registrations the security gates read (IAM documents, policy pack).

:class:`ArnMocks` is ``localcloud.plan.PlainMocks`` (same ids, ``<name>-id``, same invokes) with two
additions the scanners need: ARNs in each service's real format (IAM linters check that an
action's resource ARN has the shape AWS documents, e.g. ``arn:aws:s3:::bucket`` for
``s3:ListBucket``), plus the outputs other resources consume (auto-generated names, a launch
template's version); and it records every resource's returned state by URN.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from localcloud.plan import ACCOUNT, REGION, PlainMocks
from localcloud.runner import ProgramRun, run_program
from tools import planjson

# The input holding a resource's physical name, where it is not ``name``.
_NAME_INPUTS = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/clusterInstance:ClusterInstance": "identifier",
    "aws:rds/instance:Instance": "identifier",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:redshift/cluster:Cluster": "clusterIdentifier",
    "aws:redshiftserverless/namespace:Namespace": "namespaceName",
    "aws:redshiftserverless/workgroup:Workgroup": "workgroupName",
}
# Types whose physical name Pulumi generates when the program gives none (logical name + a random
# suffix); others need no name or take it as a required input.
_AUTONAMED = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:iam/role:Role",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/policy:Policy",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:lambda/function:Function",
        "aws:sns/topic:Topic",
        "aws:sfn/stateMachine:StateMachine",
        "aws:dynamodb/table:Table",
        "aws:secretsmanager/secret:Secret",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/service:Service",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    }
)

# ARN formats (https://docs.aws.amazon.com/service-authorization/latest/reference/ "resource types"
# table of each service); {p} is the physical name, {i} the id.
_ARNS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{p}",
    "aws:iam/role:Role": "arn:aws:iam::{a}:role/{p}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:aws:iam::{a}:instance-profile/{p}",
    "aws:iam/policy:Policy": "arn:aws:iam::{a}:policy/{p}",
    "aws:kms/key:Key": "arn:aws:kms:{r}:{a}:key/{i}",
    "aws:kms/alias:Alias": "arn:aws:kms:{r}:{a}:{p}",
    "aws:batch/computeEnvironment:ComputeEnvironment": "arn:aws:batch:{r}:{a}:compute-environment/{p}",
    "aws:batch/jobQueue:JobQueue": "arn:aws:batch:{r}:{a}:job-queue/{p}",
    "aws:batch/schedulingPolicy:SchedulingPolicy": "arn:aws:batch:{r}:{a}:scheduling-policy/{p}",
    "aws:batch/jobDefinition:JobDefinition": "arn:aws:batch:{r}:{a}:job-definition/{p}:1",
    "aws:ssm/parameter:Parameter": "arn:aws:ssm:{r}:{a}:parameter/{q}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{r}:{a}:log-group:{p}",
    "aws:sfn/stateMachine:StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{p}",
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{r}:{a}:table/{p}",
    "aws:secretsmanager/secret:Secret": "arn:aws:secretsmanager:{r}:{a}:secret:{p}-AbCdEf",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{r}:{a}:repository/{p}",
    "aws:eks/cluster:Cluster": "arn:aws:eks:{r}:{a}:cluster/{p}",
    "aws:rds/instance:Instance": "arn:aws:rds:{r}:{a}:db:{p}",
    "aws:rds/clusterInstance:ClusterInstance": "arn:aws:rds:{r}:{a}:db:{p}",
    "aws:rds/cluster:Cluster": "arn:aws:rds:{r}:{a}:cluster:{p}",
    "aws:rds/subnetGroup:SubnetGroup": "arn:aws:rds:{r}:{a}:subgrp:{p}",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "arn:aws:rds:{r}:{a}:cluster-pg:{p}",
    "aws:lambda/function:Function": "arn:aws:lambda:{r}:{a}:function:{p}",
    "aws:sns/topic:Topic": "arn:aws:sns:{r}:{a}:{p}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{r}:{a}:rule/{p}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{r}:{a}:alarm:{p}",
    "aws:cloudwatch/dashboard:Dashboard": "arn:aws:cloudwatch::{a}:dashboard/{p}",
    "aws:ecs/cluster:Cluster": "arn:aws:ecs:{r}:{a}:cluster/{p}",
    "aws:ecs/service:Service": "arn:aws:ecs:{r}:{a}:service/{p}",
    "aws:ecs/taskDefinition:TaskDefinition": "arn:aws:ecs:{r}:{a}:task-definition/{p}:1",
    "aws:apigatewayv2/api:Api": "arn:aws:apigateway:{r}::/apis/{i}",
    "aws:apigatewayv2/stage:Stage": "arn:aws:apigateway:{r}::/apis/stage/{i}",
    "aws:apigatewayv2/vpcLink:VpcLink": "arn:aws:apigateway:{r}::/vpclinks/{i}",
    "aws:servicediscovery/service:Service": "arn:aws:servicediscovery:{r}:{a}:service/{i}",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": "arn:aws:servicediscovery:{r}:{a}:namespace/{i}",
    "aws:budgets/budget:Budget": "arn:aws:budgets::{a}:budget/{p}",
    "aws:redshift/cluster:Cluster": "arn:aws:redshift:{r}:{a}:cluster:{p}",
    "aws:redshift/parameterGroup:ParameterGroup": "arn:aws:redshift:{r}:{a}:parametergroup:{p}",
    "aws:redshift/subnetGroup:SubnetGroup": "arn:aws:redshift:{r}:{a}:subnetgroup:{p}",
    "aws:redshiftserverless/namespace:Namespace": "arn:aws:redshift-serverless:{r}:{a}:namespace/{i}",
    "aws:redshiftserverless/workgroup:Workgroup": "arn:aws:redshift-serverless:{r}:{a}:workgroup/{i}",
}
# EC2 resource types in ARNs: arn:aws:ec2:<region>:<account>:<kind>/<id>.
_EC2_KINDS = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/routeTable:RouteTable": "route-table",
    "aws:ec2/internetGateway:InternetGateway": "internet-gateway",
    "aws:ec2/natGateway:NatGateway": "natgateway",
    "aws:ec2/eip:Eip": "elastic-ip",
    "aws:ec2/instance:Instance": "instance",
    "aws:ec2/securityGroup:SecurityGroup": "security-group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security-group",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpc-endpoint",
    "aws:ec2/flowLog:FlowLog": "vpc-flow-log",
    "aws:ec2/launchTemplate:LaunchTemplate": "launch-template",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security-group-rule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security-group-rule",
}


def _autoname(name: str) -> str:
    """A stable stand-in for Pulumi's random suffix (the same run twice gives the same plan)."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


def _extra_outputs(typ: str, inputs: dict[str, Any], resource_id: str, physical: str, arn: str | None) -> dict[str, Any]:
    """Computed outputs that other resources of the program consume."""
    if typ == "aws:lambda/function:Function":
        return {"invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"}
    if typ == "aws:apigatewayv2/api:Api":
        return {
            "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{resource_id}",
            "apiEndpoint": f"https://{resource_id}.execute-api.{REGION}.amazonaws.com",
        }
    if typ == "aws:rds/cluster:Cluster":
        outputs: dict[str, Any] = {
            "endpoint": f"{physical}.cluster-plan.{REGION}.rds.amazonaws.com",
            "readerEndpoint": f"{physical}.cluster-ro-plan.{REGION}.rds.amazonaws.com",
            "clusterResourceId": f"cluster-{resource_id}",
        }
        if inputs.get("manageMasterUserPassword"):
            secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-{resource_id}-AbCdEf"
            outputs["masterUserSecrets"] = [{"secretArn": secret, "secretStatus": "active", "kmsKeyId": ""}]
        return outputs
    if typ == "aws:redshiftserverless/namespace:Namespace":
        return {"namespaceId": resource_id}
    if typ == "aws:redshiftserverless/workgroup:Workgroup":
        return {"workgroupId": resource_id}
    if typ == "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
        return {"hostedZone": f"Z{resource_id}"}
    return {}


class ArnMocks(PlainMocks):
    """PlainMocks with real-format ARNs and the consumed outputs; ``states`` maps URN -> state."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        if not args.custom or args.typ.startswith("pulumi:providers:"):
            return resource_id, state
        state = dict(state)
        name_input = _NAME_INPUTS.get(args.typ, "name")
        physical = args.inputs.get(name_input)
        if not physical and args.typ in _AUTONAMED:
            physical = state[name_input] = _autoname(args.name)
        physical = physical or args.name
        template = _ARNS.get(args.typ)
        if template is None and args.typ in _EC2_KINDS:
            template = f"arn:aws:ec2:{{r}}:{{a}}:{_EC2_KINDS[args.typ]}/{{i}}"
        if template:
            state["arn"] = template.format(r=REGION, a=ACCOUNT, p=physical, q=str(physical).lstrip("/"), i=resource_id)
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = resource_id
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1, defaultVersion=1)
        if args.typ == "aws:ec2/eip:Eip":
            state["allocationId"] = resource_id  # an EIP's id is its allocation id
        if args.typ == "aws:ec2/instance:Instance":
            state["primaryNetworkInterfaceId"] = f"{resource_id}-eni"
        state.update(_extra_outputs(args.typ, args.inputs, resource_id, physical, state.get("arn")))
        return resource_id, state

    def new_resource_with_urn(self, args, urn: str | None):
        """Called by ``localcloud.engine.RecordingMonitor`` with the registration's URN."""
        resource_id, state = self.new_resource(args)
        if urn:
            with self._lock:
                self.states[urn] = state
        return resource_id, state


def run_stack(project_dir: Path, stack: str) -> tuple[ProgramRun, ArnMocks]:
    """The program for ``stack`` under :class:`ArnMocks`: every registration and every state."""
    mocks = ArnMocks()
    return run_program(Path(project_dir), stack, mocks), mocks


def export_plan(project_dir: Path, stack: str) -> dict[str, Any]:
    """The Terraform plan JSON of ``stack`` (see :mod:`tools.planjson`)."""
    run, mocks = run_stack(project_dir, stack)
    return planjson.to_terraform_plan(planjson.plan_resources(run.registrations, mocks.states))
