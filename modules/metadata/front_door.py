"""What a metadata front door is: the contract between :class:`~modules.metadata.Metadata` and the child
component that puts an API in front of its service (``modules/metadata/http_api.py``,
``modules/metadata/rest_api.py``; ``strata:metadata.frontDoor`` picks one).

A front door owns everything that exists for it alone: its security group (and the service's rule that
admits it), the API with its stage and access logs, the Lambda REQUEST authorizer that checks each team's
key and the ownership of the run a write touches (``policies.AUTHORIZER_SOURCE``), and what the service
registers with (a Cloud Map entry or the NLB's target group). ``Metadata`` declares the database, the
team keys, the run-owners table and the service, hands the keys, the table and the service's security
group in, and reads back the API's URL, the monitoring dimensions and a :class:`ServiceAttachment`.

The front door is the service's only way in: nothing else is admitted to the service's port, so every
client (laptops, Batch jobs, Step Functions) sends a team key and meets the authorizer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from core import naming
from core.settings import Team
from modules.base import Component, LayerArgs, LogKeyArgs
from modules.metadata import policies
from modules.metadata.settings import MetadataSettings


@dataclass(kw_only=True)
class FrontDoorArgs(LayerArgs, LogKeyArgs):
    """Inputs of a front door (``log_kms_key_arn`` encrypts its access-log groups)."""

    settings: MetadataSettings
    """``strata:metadata`` (validated): ``frontDoor``, ``endpointType``, ``api``, ``usagePlan``."""
    teams: Sequence[Team]
    """Teams of this environment: each one's key opens the API."""
    keys: Mapping[str, pulumi.Output[str]]
    """team -> its API key (a Pulumi secret), from ``Metadata``'s random key per team."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """The private subnets of the service (the VPC link, the NLB, the execute-api endpoint)."""
    client_security_group_id: pulumi.Input[str]
    """Batch compute's group: admitted on 443 to the execute-api interface endpoint of a PRIVATE REST API,
    and nowhere else (never to the service or the NLB: jobs use the API and its key like everyone else)."""
    service_security_group_id: pulumi.Input[str]
    """The service's group: the front door adds the rule that lets its own group in, on the service port."""
    owners_table_arn: pulumi.Input[str]
    owners_table_name: pulumi.Input[str]
    """The run-owners table (``Metadata``'s, stateful): the authorizer reads and claims run owners there."""
    kms_key_arn: pulumi.Input[str]
    """The platform key that encrypts the owners table: the authorizer uses it through DynamoDB only."""


@dataclass(frozen=True)
class ServiceAttachment:
    """How the metadata service's tasks join the front door: arguments of its ``aws.ecs.Service``."""

    service_registries: aws.ecs.ServiceServiceRegistriesArgsDict | None = None
    """The Cloud Map entry the tasks register in (``http-api``)."""
    load_balancers: Sequence[aws.ecs.ServiceLoadBalancerArgsDict] | None = None
    """The target group the tasks register with (``rest-api-nlb``)."""
    health_check_grace_period_seconds: int | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before the service (ECS refuses a target group that no listener uses)."""


class MetadataFrontDoor(Component):
    """The base of both front doors: what ``Metadata`` reads, and the options of their children.

    Until the front doors became components, their resources were declared directly under ``Metadata``
    (this component's parent). Every child therefore carries ``aliases=[Alias(parent=<Metadata>)]``: Pulumi
    finds it under its old URN and updates it in place instead of deleting and recreating it (a new API id,
    a new NLB DNS name, new API keys). Children keep the names they had, which is why a front door takes
    its parent's name (``f"{name}-api"`` and the like): the type token tells the two components apart.
    ``tests/gates/test_urn_aliases.py`` proves each alias against ``tests/golden/all-urns-<stack>.txt``.
    """

    api_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_URL`` and ``METAFLOW_SERVICE_INTERNAL_URL``: the API's default endpoint."""
    attachment: ServiceAttachment
    http_api_id: pulumi.Output[str] | None = None
    """``AWS/ApiGateway`` dimension ``ApiId`` (``http-api``)."""
    rest_api_name: pulumi.Output[str] | None = None
    """``AWS/ApiGateway`` dimension ``ApiName`` (``rest-api-nlb``)."""
    load_balancer_arn_suffix: pulumi.Output[str] | None = None
    """``AWS/NetworkELB`` dimension ``LoadBalancer`` (``rest-api-nlb``)."""
    target_group_arn_suffix: pulumi.Output[str] | None = None
    """``AWS/NetworkELB`` dimension ``TargetGroup`` (``rest-api-nlb``)."""

    def __init__(self, t: str, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(t, name, None, opts)
        self._name = name
        self._args = args
        self._env = args.environment
        self._tags = dict(args.tags)
        parent = opts.parent if opts is not None else None
        self._moved_from = [pulumi.Alias(parent=parent)] if parent is not None else None

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Parented to this front door, aliased to the same resource directly under ``Metadata`` (see above)."""
        return pulumi.ResourceOptions(parent=self, aliases=self._moved_from, **kwargs)

    def _security_group(self, suffix: str, what: str, service_rule: str) -> aws.ec2.SecurityGroup:
        """The front door's own group: out to the service only, and the service's rule that lets it in.
        No group allows anything from the internet."""
        n, a = self._name, self._args
        sg = aws.ec2.SecurityGroup(
            f"{n}-{suffix}-sg",
            vpc_id=a.vpc_id,
            description=f"Strata {self._env} metadata {what}",
            tags=self._tags,
            opts=self._child(),
        )
        self._ingress(f"service-from-{suffix}", a.service_security_group_id, sg.id, service_rule)
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-{suffix}-to-service", security_group_id=sg.id, ip_protocol="tcp", from_port=policies.SERVICE_PORT,
            to_port=policies.SERVICE_PORT, referenced_security_group_id=a.service_security_group_id,
            description="To the service only", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        return sg

    def _ingress(
        self, suffix: str, sg_id: pulumi.Input[str], source: pulumi.Input[str], what: str, port: int = policies.SERVICE_PORT
    ) -> None:
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{suffix}", security_group_id=sg_id, ip_protocol="tcp", from_port=port, to_port=port,
            referenced_security_group_id=source, description=what, tags=self._tags, opts=self._child(),
        )  # fmt: skip

    def _authorizer_function(self, keys: Mapping[str, pulumi.Output[str]]) -> aws.lambda_.Function:
        """The Lambda behind both front doors' REQUEST authorizer (``policies.AUTHORIZER_SOURCE``): its log
        group, and a role that writes those logs and reads and claims run owners in the owners table."""
        n, a = self._name, self._args
        fn_name = naming.metadata_name(self._env, "authorizer")
        logs = aws.cloudwatch.LogGroup(
            f"{n}-authorizer-logs", name=naming.lambda_log_group(fn_name), retention_in_days=a.settings.api.access_log_retention_days,
            kms_key_id=a.log_kms_key_arn, tags=self._tags, opts=self._child(),
        )  # fmt: skip
        role = aws.iam.Role(
            f"{n}-authorizer",
            assume_role_policy=json.dumps(policies.service_trust_policy(policies.LAMBDA_SERVICE)),
            description=f"Strata {self._env}: metadata API key authorizer (writes its own logs only)",
            tags=self._tags,
            opts=self._child(),
        )
        logs_policy = aws.iam.RolePolicy(
            f"{n}-authorizer-logs", role=role.id, name="own-logs",
            policy=logs.arn.apply(lambda arn: json.dumps(policies.lambda_logs_policy(arn))), opts=self._child(),
        )  # fmt: skip
        owners_policy = aws.iam.RolePolicy(
            f"{n}-authorizer-owners",
            role=role.id,
            name="run-owners",
            policy=pulumi.Output.all(a.owners_table_arn, a.kms_key_arn, self._aws.region, self._aws.dns_suffix).apply(
                lambda v: json.dumps(
                    policies.authorizer_table_policy(
                        table_arn=v[0], kms_key_arn=v[1], dynamodb_via=policies.dynamodb_via_service(v[2], v[3])
                    )
                )
            ),
            opts=self._child(),
        )
        # A key not (yet) generated is left out: the authorizer fails closed, never open.
        teams = sorted(keys)
        hashes = pulumi.Output.all(*[keys[t] for t in teams]).apply(
            lambda ks: policies.key_hashes({t: k for t, k in zip(teams, ks, strict=True) if k is not None})
        )
        # Hashes, not keys; still a Pulumi secret so they never show in plain state or previews. (Annotated:
        # pulumi's Output.secret infers its type only from the assignment's declared type.)
        secret_hashes: pulumi.Output[str] = pulumi.Output.secret(hashes)
        return aws.lambda_.Function(
            f"{n}-authorizer",
            name=fn_name,
            role=role.arn,
            runtime="python3.12",
            handler="index.handler",
            architectures=["arm64"],
            memory_size=128,
            # A cold start (importing boto3 at 128 MB) plus a GetItem and a conditional PutItem fit well inside it.
            timeout=5,
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(policies.AUTHORIZER_SOURCE)}),
            environment={"variables": {"KEY_HASHES": secret_hashes, "OWNERS_TABLE": a.owners_table_name}},
            tags=self._tags,
            opts=self._child(depends_on=[logs_policy, owners_policy, logs]),
        )
