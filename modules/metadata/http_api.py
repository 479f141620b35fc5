"""The ``http-api`` front door: API Gateway HTTP API -> VPC link -> Cloud Map, no load balancer.

HTTP APIs have no usage plans, so a Lambda REQUEST authorizer checks ``x-api-key`` against the teams' keys
(hashes only, cached per key). Batch jobs reach the service by its Cloud Map name. $0.50/month for the
private DNS zone + $0.10 per running task + $1.00 per million requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from core import naming
from modules.metadata import policies
from modules.metadata.front_door import FrontDoorArgs, MetadataFrontDoor, ServiceAttachment

# The service's name in the private namespace: METAFLOW_SERVICE_INTERNAL_URL is http://metadata.<namespace>:8080.
CLOUD_MAP_SERVICE = "metadata"


class HttpApiFrontDoor(MetadataFrontDoor):
    """HTTP API + VPC link + Cloud Map + a key-checking Lambda authorizer (``frontDoor: http-api``)."""

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:metadata:HttpApiFrontDoor", name, args, opts)
        link_sg = self._security_group("link", "API VPC link: to the service only", "API Gateway VPC link")
        namespace, registry = self._service_discovery()
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
        self.internal_url = namespace.name.apply(lambda ns: policies.internal_url(CLOUD_MAP_SERVICE, ns))
        self.http_api_id = api.id
        self.register_outputs({"api_url": self.api_url, "internal_url": self.internal_url, "http_api_id": self.http_api_id})

    def _service_discovery(self) -> tuple[aws.servicediscovery.PrivateDnsNamespace, aws.servicediscovery.Service]:
        """A private DNS name for the tasks: Batch jobs use it directly, the HTTP API's VPC link resolves
        it through Cloud Map (SRV records carry the port). $0.50/month for the zone + $0.10 per task."""
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
        REQUEST authorizer checks x-api-key against the teams' keys (hashes only, cached per key)."""
        n, a, s = self._name, self._args, self._args.settings
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
            identity_sources=[f"$request.header.{policies.API_KEY_HEADER}"],
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

    def _authorizer_function(self, keys: Mapping[str, pulumi.Output[str]]) -> aws.lambda_.Function:
        n = self._name
        fn_name = naming.metadata_name(self._env, "authorizer")
        logs = aws.cloudwatch.LogGroup(
            f"{n}-authorizer-logs", name=naming.lambda_log_group(fn_name), retention_in_days=self._args.settings.api.access_log_retention_days,
            kms_key_id=self._args.log_kms_key_arn, tags=self._tags, opts=self._child(),
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
            timeout=3,
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(policies.AUTHORIZER_SOURCE)}),
            environment={"variables": {"KEY_HASHES": secret_hashes}},
            tags=self._tags,
            opts=self._child(depends_on=[logs_policy, logs]),
        )
