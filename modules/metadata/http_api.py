"""The ``http-api`` front door: API Gateway HTTP API -> VPC link -> Cloud Map, no load balancer.

HTTP APIs have no usage plans, so a Lambda REQUEST authorizer checks ``x-api-key`` against the teams' keys
(hashes only) and the ownership of the run a write touches (decisions cached per key, method and path).
The Cloud Map name is the VPC link's target only: the service admits the link's group and nothing else,
so Batch jobs call the API with their team's key too. $0.50/month for the private DNS zone + $0.10 per
running task + $1.00 per million requests.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from core import naming
from modules.metadata import policies
from modules.metadata.front_door import FrontDoorArgs, MetadataFrontDoor, ServiceAttachment

# The service's name in the private namespace, where the VPC link finds the tasks (SRV records).
CLOUD_MAP_SERVICE = "metadata"


class HttpApiFrontDoor(MetadataFrontDoor):
    """HTTP API + VPC link + Cloud Map + a key-checking Lambda authorizer (``frontDoor: http-api``)."""

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:metadata:HttpApiFrontDoor", name, args, opts)
        link_sg = self._security_group("link", "API VPC link: to the service only", "API Gateway VPC link")
        _namespace, registry = self._service_discovery()
        api = self._api(link_sg, registry, args.keys)
        self.attachment = ServiceAttachment(
            service_registries={
                "registry_arn": registry.arn,
                "container_name": policies.SERVICE_CONTAINER,
                "container_port": policies.SERVICE_PORT,
            }
        )
        # The documented shape of an HTTP API's default endpoint (what api_endpoint reports), built from the
        # id so that it is known wherever the id is. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop.html
        self.api_url = pulumi.Output.all(api.id, self._aws.region, self._aws.dns_suffix).apply(
            lambda v: policies.api_url(v[0], v[1], v[2])
        )
        self.http_api_id = api.id
        self.register_outputs({"api_url": self.api_url, "http_api_id": self.http_api_id})

    def _service_discovery(self) -> tuple[aws.servicediscovery.PrivateDnsNamespace, aws.servicediscovery.Service]:
        """A private DNS name for the tasks, which the HTTP API's VPC link resolves through Cloud Map (SRV
        records carry the port). Resolving it gives no way in: the service's group admits the link's group
        only. $0.50/month for the zone + $0.10 per task."""
        n = self._name
        namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{n}-namespace", name=naming.metadata_namespace(self._env), vpc=self._args.vpc_id,
            description=f"Strata {self._env} private service names", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        registry = aws.servicediscovery.Service(
            f"{n}-registry",
            name=CLOUD_MAP_SERVICE,
            dns_config={
                "namespace_id": namespace.id,
                "routing_policy": "MULTIVALUE",
                "dns_records": [{"type": "A", "ttl": 10}, {"type": "SRV", "ttl": 10}],
            },
            # ECS reports task health to Cloud Map, so only healthy tasks are returned.
            health_check_custom_config={"failure_threshold": 1},
            tags=self._tags,
            opts=self._child(),
        )
        return namespace, registry

    def _api(
        self, link_sg: aws.ec2.SecurityGroup, registry: aws.servicediscovery.Service, keys: Mapping[str, pulumi.Output[str]]
    ) -> aws.apigatewayv2.Api:
        """HTTP API -> VPC link -> Cloud Map: no load balancer. HTTP APIs have no usage plans, so a Lambda
        REQUEST authorizer checks x-api-key against the teams' keys (hashes only) and run ownership."""
        n, a, s = self._name, self._args, self._args.settings
        api = aws.apigatewayv2.Api(
            f"{n}-api", name=naming.metadata_name(self._env), protocol_type="HTTP",
            description=f"Strata {self._env}: Metaflow metadata service (x-api-key per team)", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        link = aws.apigatewayv2.VpcLink(
            f"{n}-link", name=naming.metadata_name(self._env), subnet_ids=a.subnet_ids, security_group_ids=[link_sg.id],
            tags=self._tags, opts=self._child(),
        )  # fmt: skip
        integration = aws.apigatewayv2.Integration(
            f"{n}-integration",
            api_id=api.id,
            integration_type="HTTP_PROXY",
            integration_method="ANY",
            integration_uri=registry.arn,
            connection_type="VPC_LINK",
            connection_id=link.id,
            payload_format_version="1.0",
            timeout_milliseconds=29000,
            opts=self._child(),
        )
        authorizer_fn = self._authorizer_function(keys)
        authorizer = aws.apigatewayv2.Authorizer(
            f"{n}-authorizer",
            api_id=api.id,
            name=naming.metadata_name(self._env, "keys"),
            authorizer_type="REQUEST",
            authorizer_uri=authorizer_fn.invoke_arn,
            authorizer_payload_format_version="2.0",
            enable_simple_responses=True,
            # The cache key is the team's key, the method and the path: a decision about one run is never
            # served for another (policies.HTTP_IDENTITY_SOURCES).
            identity_sources=list(policies.HTTP_IDENTITY_SOURCES),
            authorizer_result_ttl_in_seconds=s.api.authorizer_cache_seconds,
            opts=self._child(),
        )
        aws.lambda_.Permission(
            f"{n}-authorizer",
            action="lambda:InvokeFunction",
            function=authorizer_fn.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.all(api.execution_arn, authorizer.id).apply(lambda v: f"{v[0]}/authorizers/{v[1]}"),
            opts=self._child(),
        )
        aws.apigatewayv2.Route(
            f"{n}-route",
            api_id=api.id,
            route_key="$default",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            authorization_type="CUSTOM",
            authorizer_id=authorizer.id,
            opts=self._child(),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{n}-api-logs", name=naming.metadata_log_group(self._env, "metadata-api"), retention_in_days=s.api.access_log_retention_days,
            kms_key_id=self._args.log_kms_key_arn, tags=self._tags, opts=self._child(),
        )  # fmt: skip
        aws.apigatewayv2.Stage(
            f"{n}-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings={"destination_arn": access_logs.arn, "format": policies.access_log_format()},
            default_route_settings={
                "throttling_rate_limit": s.api.throttle_rate_limit,
                "throttling_burst_limit": s.api.throttle_burst_limit,
            },
            tags=self._tags,
            opts=self._child(),
        )
        return api
