"""The ``rest-api-nlb`` front door: API Gateway REST API -> VPC link -> internal NLB.

REST APIs have usage plans: each team's key is an API key with its own throttle and daily quota, and the
endpoint may be PRIVATE (an execute-api interface endpoint). The same Lambda REQUEST authorizer as the
HTTP API's names the team and checks the ownership of the run a write touches. Their VPC links (v1) can
only target an NLB; it admits nothing but the VPC link (Batch jobs call the API with their team's key).
$16.43/month for the NLB + NLCUs + $3.50 per million requests; PRIVATE adds $0.01 per AZ-hour for the
endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from core import naming
from modules.metadata import policies
from modules.metadata.front_door import FrontDoorArgs, MetadataFrontDoor, ServiceAttachment
from modules.metadata.settings import ApiEndpointType

# Migrations run before the service answers: new tasks get this long before NLB health checks count.
HEALTH_CHECK_GRACE_SECONDS = 120


class RestApiFrontDoor(MetadataFrontDoor):
    """REST API + VPC link + internal NLB, one API key and usage plan per team, and the key authorizer
    (``frontDoor: rest-api-nlb``)."""

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:metadata:RestApiFrontDoor", name, args, opts)
        # No inbound rule: the VPC link's traffic reaches the NLB over PrivateLink, which the group does not
        # filter (see _load_balancer), and nothing else may reach it. (A group's description cannot change
        # without replacing the group and so the NLB's, hence "and Batch", which no rule admits any more.)
        nlb_sg = self._security_group(
            "nlb", "internal NLB: from the REST API's VPC link and Batch, to the service only", "Internal NLB (REST API VPC link)"
        )
        nlb, target_group = self._load_balancer(nlb_sg)
        rest_api = self._rest_api(nlb, args.keys)
        # awsvpc tasks are ip targets: the service registers them with the NLB's target group.
        self.attachment = ServiceAttachment(
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": policies.SERVICE_CONTAINER,
                    "container_port": policies.SERVICE_PORT,
                }
            ],
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
            depends_on=[self._listener],
        )
        self.api_url = pulumi.Output.all(rest_api.id, self._aws.region, self._aws.dns_suffix).apply(
            lambda v: policies.rest_api_url(v[0], v[1], v[2])
        )
        self.rest_api_name = rest_api.name
        self.load_balancer_arn_suffix = nlb.arn.apply(policies.elb_arn_suffix)
        self.target_group_arn_suffix = target_group.arn.apply(policies.elb_arn_suffix)
        self.register_outputs(
            {
                "api_url": self.api_url,
                "rest_api_name": self.rest_api_name,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "target_group_arn_suffix": self.target_group_arn_suffix,
            }
        )

    def _load_balancer(self, nlb_sg: aws.ec2.SecurityGroup) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup]:
        """An internal NLB ($0.0225/hour = $16.43/month + $0.006 per NLCU-hour): the REST API's VPC link
        (v1) can only target an NLB. It is the link's target and nothing else's: its group admits no one."""
        n, a = self._name, self._args
        nlb = aws.lb.LoadBalancer(
            f"{n}-nlb",
            name=naming.metadata_name(self._env),
            load_balancer_type="network",
            internal=True,
            subnets=a.subnet_ids,
            security_groups=[nlb_sg.id],
            # The VPC link reaches the NLB over PrivateLink, from no security group; its traffic is API
            # Gateway's, already key-checked and authorised. Any other traffic meets the group's inbound
            # rules, and there are none. https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html
            enforce_security_group_inbound_rules_on_private_link_traffic="off",
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=a.settings.database.deletion_protection,
            tags=self._tags,
            opts=self._child(),
        )
        target_group = aws.lb.TargetGroup(
            f"{n}-targets",
            name=naming.metadata_name(self._env),
            target_type="ip",  # awsvpc tasks register by IP
            protocol="TCP",
            port=policies.SERVICE_PORT,
            vpc_id=a.vpc_id,
            deregistration_delay=policies.DEREGISTRATION_DELAY,
            health_check={
                "protocol": "HTTP",
                "path": policies.health_check_path(a.settings),
                "port": "traffic-port",
                "matcher": "200",
                "interval": 30,
                "healthy_threshold": 3,
                "unhealthy_threshold": 3,
            },
            tags=self._tags,
            opts=self._child(),
        )
        self._nlb_dns = nlb.dns_name.apply(_nlb_dns_name)
        self._listener = aws.lb.Listener(
            f"{n}-listener",
            load_balancer_arn=nlb.arn,
            port=policies.SERVICE_PORT,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            tags=self._tags,
            opts=self._child(),
        )
        return nlb, target_group

    def _rest_api(self, nlb: aws.lb.LoadBalancer, keys: Mapping[str, pulumi.Output[str]]) -> aws.apigateway.RestApi:
        """REST API ({proxy+} ANY, API key required, key authorizer) -> VPC link -> NLB; one API key + usage
        plan per team. $3.50 per million requests. PRIVATE adds an execute-api interface endpoint ($0.01/AZ-hour)."""
        n, a, s = self._name, self._args, self._args.settings
        private = s.endpoint_type is ApiEndpointType.PRIVATE
        endpoint = self._execute_api_endpoint() if private else None
        endpoint_configuration: aws.apigateway.RestApiEndpointConfigurationArgsDict = {"types": s.endpoint_type.value}
        if endpoint is not None:
            endpoint_configuration["vpc_endpoint_ids"] = [endpoint.id]
        api = aws.apigateway.RestApi(
            f"{n}-rest-api",
            name=naming.metadata_name(self._env),
            description=f"Strata {self._env}: Metaflow metadata service (x-api-key per team)",
            endpoint_configuration=endpoint_configuration,
            # merge: keeps the endpoint association if AWS adds more (provider docs for PRIVATE).
            put_rest_api_mode="merge" if private else None,
            tags=self._tags,
            opts=self._child(),
        )
        deploy_after: list[pulumi.Resource] = []
        if endpoint is not None:
            deploy_after.append(
                aws.apigateway.RestApiPolicy(
                    f"{n}-rest-api-policy",
                    rest_api_id=api.id,
                    policy=pulumi.Output.all(api.execution_arn, endpoint.id).apply(
                        lambda v: json.dumps(policies.private_api_policy(v[0], v[1]))
                    ),
                    opts=self._child(),
                )
            )
        link = aws.apigateway.VpcLink(
            f"{n}-vpc-link", name=naming.metadata_name(self._env), target_arn=nlb.arn,
            description=f"Strata {self._env}: REST API to the metadata NLB", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        proxy = aws.apigateway.Resource(
            f"{n}-proxy", rest_api=api.id, parent_id=api.root_resource_id, path_part=policies.PROXY_PATH, opts=self._child()
        )
        authorizer = self._authorizer(api, keys)
        method = aws.apigateway.Method(
            f"{n}-proxy-any",
            rest_api=api.id,
            resource_id=proxy.id,
            http_method="ANY",
            # Both checks: the API key must be on the team's usage plan (throttle, quota), and the authorizer
            # names the team from the same key and refuses writes to another team's runs.
            authorization="CUSTOM",
            authorizer_id=authorizer.id,
            api_key_required=True,
            request_parameters={"method.request.path.proxy": True},
            opts=self._child(),
        )
        integration = aws.apigateway.Integration(
            f"{n}-proxy-integration",
            rest_api=api.id,
            resource_id=proxy.id,
            http_method=method.http_method,
            type="HTTP_PROXY",
            integration_http_method="ANY",
            uri=self._nlb_dns.apply(lambda d: f"{policies.nlb_url(d)}/{{proxy}}"),
            connection_type="VPC_LINK",
            connection_id=link.id,
            request_parameters={"integration.request.path.proxy": "method.request.path.proxy"},
            timeout_milliseconds=29000,
            opts=self._child(),
        )
        deployment = aws.apigateway.Deployment(
            f"{n}-deployment",
            rest_api=api.id,
            description=f"Strata {self._env} metadata API",
            # A new deployment whenever the route, its authorizer or its integration changes (a stage serves a
            # snapshot).
            triggers={"redeployment": pulumi.Output.all(
                proxy.id, method.id, method.authorization, authorizer.id, authorizer.identity_source,
                authorizer.authorizer_result_ttl_in_seconds, integration.id, integration.uri,
            ).apply(lambda v: policies.key_hash("|".join(str(x) for x in v)))},
            opts=self._child(depends_on=[method, integration, *deploy_after]),
        )  # fmt: skip
        access_logs = aws.cloudwatch.LogGroup(
            f"{n}-api-logs", name=policies.access_log_group_name(self._env), retention_in_days=s.api.access_log_retention_days,
            kms_key_id=a.log_kms_key_arn, tags=self._tags, opts=self._child(),
        )  # fmt: skip
        account = self._account_logging_role() if s.api.manage_account_logging_role else None
        stage = aws.apigateway.Stage(
            f"{n}-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=policies.REST_STAGE,
            access_log_settings={"destination_arn": access_logs.arn, "format": policies.rest_access_log_format()},
            xray_tracing_enabled=False,
            tags=self._tags,
            opts=self._child(depends_on=[account] if account is not None else None),
        )
        # Stage-wide throttle (every team together); each team's usage plan throttles below it.
        aws.apigateway.MethodSettings(
            f"{n}-stage-throttle",
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "throttling_rate_limit": s.api.throttle_rate_limit,
                "throttling_burst_limit": s.api.throttle_burst_limit,
                "metrics_enabled": True,
            },
            opts=self._child(),
        )
        plan = s.usage_plan
        for team in a.teams:
            tags = {**self._tags, "team": team.name}
            # The key's value is the team's random key: the Secrets Manager secret and `strata configure`
            # are the same for either front door.
            api_key = aws.apigateway.ApiKey(
                f"{n}-{team.name}-api-key",
                name=naming.metadata_name(self._env, team.name),
                description=f"Metaflow metadata API key of team {team.name} in {self._env}",
                value=keys[team.name],
                enabled=True,
                tags=tags,
                opts=self._child(),
            )
            usage_plan = aws.apigateway.UsagePlan(
                f"{n}-{team.name}-usage-plan",
                name=naming.metadata_name(self._env, team.name),
                description=f"Team {team.name}: its own throttle and daily quota",
                api_stages=[{"api_id": api.id, "stage": stage.stage_name}],
                throttle_settings={"rate_limit": plan.rate_limit, "burst_limit": plan.burst_limit},
                quota_settings={"limit": plan.quota_per_day, "period": "DAY"},
                tags=tags,
                opts=self._child(),
            )
            aws.apigateway.UsagePlanKey(
                f"{n}-{team.name}-usage-plan-key",
                key_id=api_key.id,
                key_type="API_KEY",
                usage_plan_id=usage_plan.id,
                opts=self._child(),
            )
        return api

    def _authorizer(self, api: aws.apigateway.RestApi, keys: Mapping[str, pulumi.Output[str]]) -> aws.apigateway.Authorizer:
        """The REQUEST authorizer (the HTTP API's function and code: it answers a REST API with an IAM policy
        for the method ARN), cached per key, method and path (``policies.REST_IDENTITY_SOURCE``)."""
        n, s = self._name, self._args.settings
        fn = self._authorizer_function(keys)
        authorizer = aws.apigateway.Authorizer(
            f"{n}-rest-authorizer",
            rest_api=api.id,
            name=naming.metadata_name(self._env, "keys"),
            type="REQUEST",
            authorizer_uri=fn.invoke_arn,
            identity_source=policies.REST_IDENTITY_SOURCE,
            authorizer_result_ttl_in_seconds=s.api.authorizer_cache_seconds,
            opts=self._child(),
        )
        aws.lambda_.Permission(
            f"{n}-authorizer",
            action="lambda:InvokeFunction",
            function=fn.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.all(api.execution_arn, authorizer.id).apply(lambda v: f"{v[0]}/authorizers/{v[1]}"),
            opts=self._child(),
        )
        return authorizer

    def _account_logging_role(self) -> aws.apigateway.Account:
        """API Gateway's account-level CloudWatch role (REST access logs need it). One per account and region:
        the stack with ``api.manageAccountLoggingRole`` owns it; its role writes every Strata environment's
        access-log group, so the other stacks in the account log through it."""
        n = self._name
        logs_role = aws.iam.Role(
            f"{n}-apigw-logs",
            assume_role_policy=json.dumps(policies.service_trust_policy(policies.APIGATEWAY_SERVICE)),
            description="Strata: API Gateway writes the metadata APIs' access logs (account-wide setting)",
            tags=self._tags,
            opts=self._child(),
        )
        logs_policy = aws.iam.RolePolicy(
            f"{n}-apigw-logs", role=logs_role.id, name="access-logs",
            policy=pulumi.Output.all(self._aws.partition, self._aws.region, self._aws.account_id).apply(
                lambda v: json.dumps(policies.apigateway_logs_policy(*v))
            ),
            opts=self._child(),
        )  # fmt: skip
        return aws.apigateway.Account(
            f"{n}-apigw-account", cloudwatch_role_arn=logs_role.arn, opts=self._child(depends_on=[logs_policy])
        )

    def _execute_api_endpoint(self) -> aws.ec2.VpcEndpoint:
        """PRIVATE REST API: an execute-api interface endpoint in the private subnets ($0.01/AZ-hour),
        HTTPS from Batch only; private DNS makes the API's default URL resolve to it inside the VPC. Batch
        jobs reach the API (and so the service) this way only, with their team's key."""
        n, a = self._name, self._args
        sg = aws.ec2.SecurityGroup(
            f"{n}-execute-api-sg", vpc_id=a.vpc_id, description=f"Strata {self._env} metadata: execute-api endpoint",
            tags=self._tags, opts=self._child(),
        )  # fmt: skip
        self._ingress("execute-api-from-batch", sg.id, a.client_security_group_id, "Metaflow in Batch jobs", port=443)
        return aws.ec2.VpcEndpoint(
            f"{n}-execute-api",
            vpc_id=a.vpc_id,
            service_name=self._aws.region.apply(lambda r: f"com.amazonaws.{r}.execute-api"),
            vpc_endpoint_type="Interface",
            subnet_ids=a.subnet_ids,
            security_group_ids=[sg.id],
            private_dns_enabled=True,
            tags=self._tags,
            opts=self._child(),
        )


def _nlb_dns_name(dns_name: str | None) -> str:
    """The NLB's DNS name, which AWS always reports once the load balancer exists."""
    if dns_name:
        return dns_name
    raise ValueError("the load balancer reported no DNS name")
