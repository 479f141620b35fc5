"""What a metadata front door is: the contract between :class:`~modules.metadata.Metadata` and the child
component that puts an API in front of its service (``modules/metadata/http_api.py``,
``modules/metadata/rest_api.py``; ``strata:metadata.frontDoor`` picks one).

A front door owns everything that exists for it alone: its security group (and the service's rule that
admits it), the API with its stage and access logs, how each team's key is checked, and what the service
registers with (a Cloud Map entry or the NLB's target group). ``Metadata`` declares the database, the
team keys and the service, hands the keys and the service's security group in, and reads back the URLs,
the monitoring dimensions and a :class:`ServiceAttachment`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

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
    """Batch compute's group: may reach the service through the front door's own path (NLB, endpoint)."""
    service_security_group_id: pulumi.Input[str]
    """The service's group: the front door adds the rule that lets its own group in, on the service port."""


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
    """``METAFLOW_SERVICE_URL``: the API's default endpoint."""
    internal_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_INTERNAL_URL``: how Batch jobs reach the service inside the VPC."""
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
