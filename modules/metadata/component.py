"""The metadata layer: Aurora PostgreSQL Serverless v2, the Metaflow metadata service on ECS Fargate,
and its private front door with one API key per team: ``http-api`` (API Gateway HTTP API + VPC link +
Cloud Map + a key-checking Lambda authorizer) or ``rest-api-nlb`` (REST API + VPC link + internal NLB,
one API key and usage plan per team)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from core import naming
from infra import config
from modules.metadata import policies
from modules.metadata.ui import MetadataUi, MetadataUiArgs

# Aurora Serverless v2 instances have this class; capacity comes from the cluster's ACU range.
SERVERLESS_CLASS = "db.serverless"
# Free Performance Insights retention (longer retention is billed). https://aws.amazon.com/rds/performance-insights/pricing/
PERFORMANCE_INSIGHTS_DAYS = 7
# Keys of 48 letters and digits: ~285 bits, and no character a shell or an HTTP header would mangle.
API_KEY_LENGTH = 48
CLOUD_MAP_SERVICE = "metadata"


@dataclass
class MetadataArgs:
    """Inputs of :class:`Metadata`."""

    environment: str
    """Environment (stack) name; part of every physical name."""
    settings: config.MetadataSettings
    """``strata:metadata`` (validated): database, service, API and UI settings."""
    teams: Sequence[config.Team]
    """Teams of this environment; each gets an API key, its secret and the right to read it."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (>= 2 AZs) for the database, the tasks and the VPC link. No public IPs."""
    client_security_group_id: pulumi.Input[str]
    """Security group of Batch compute: may reach the service directly (``METAFLOW_SERVICE_INTERNAL_URL``)."""
    kms_key_arn: pulumi.Input[str]
    """The platform key (``Datastore.kms_key_arn``): encrypts storage, Performance Insights and the DB secret."""
    job_role_arns: Mapping[str, pulumi.Input[str]]
    """team -> its Batch job role (``Compute.job_role_arns``); gets read access to the team's key only."""
    protect: bool
    """``strata:protect``: Pulumi ``protect`` + ``retain_on_delete`` on the cluster and its instances."""
    tags: Mapping[str, str]
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The observability key (``ObservabilityKey.key_arn``): encrypts the three log groups. None: CloudWatch's own key."""
    datastore_bucket_arn: pulumi.Input[str] | None = None
    datastore_bucket_name: pulumi.Input[str] | None = None
    """The datastore (``Datastore.bucket_arn`` / ``bucket_name``): the UI backend reads team roots. UI only."""
    vpc_cidr: pulumi.Input[str] | None = None
    """Who may reach the UI when ``ui.allowedCidrs`` is empty (the VPC's CIDR). UI only."""
    access_log_bucket: pulumi.Input[str] | None = None
    """``Datastore.elb_log_bucket``: the UI's ALB writes its access logs there. UI only."""


class Metadata(pulumi.ComponentResource):
    """Postgres, the metadata service and its API, and one API key per team."""

    api_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_URL``: the HTTP API's endpoint."""
    internal_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_INTERNAL_URL``: the service's Cloud Map name (inside the VPC)."""
    api_key_secret_arns: dict[str, pulumi.Output[str]]
    api_keys: dict[str, pulumi.Output[str]]
    """team -> key, as Pulumi secrets."""
    cluster_arn: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    database_secret_arn: pulumi.Output[str]
    database_cluster_identifier: pulumi.Output[str]
    """The Aurora cluster's identifier (``AWS/RDS`` dimension ``DBClusterIdentifier``)."""
    ecs_cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    http_api_id: pulumi.Output[str] | None
    """The HTTP API's id (``AWS/ApiGateway`` dimension ``ApiId``); None with ``rest-api-nlb``."""
    rest_api_name: pulumi.Output[str] | None
    """The REST API's name (``AWS/ApiGateway`` dimension ``ApiName``); None with ``http-api``."""
    load_balancer_arn_suffix: pulumi.Output[str] | None
    """The internal NLB (``AWS/NetworkELB`` dimension ``LoadBalancer``); None with ``http-api``."""
    target_group_arn_suffix: pulumi.Output[str] | None
    """Its target group (dimension ``TargetGroup``); None with ``http-api``."""
    ui: MetadataUi | None
    """The Metaflow UI (``ui.enabled``): ``url``, ``load_balancer_dns_name``; None when off."""

    def __init__(self, name: str, args: MetadataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(name, args)
        super().__init__("strata:metadata:Metadata", name, None, opts)
        self._name = name
        self._args = args
        self._env = args.environment
        self._tags = dict(args.tags)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke)
        self._partition = partition.partition
        self._dns_suffix = partition.dns_suffix
        self._account = aws.get_caller_identity_output(opts=invoke).account_id

        rest = args.settings.front_door is config.FrontDoor.REST_API_NLB
        db_sg, service_sg, link_sg = self._security_groups(rest)
        cluster, secret_arn = self._database(db_sg)
        keys = self._team_keys()
        self.http_api_id = self.rest_api_name = self.load_balancer_arn_suffix = self.target_group_arn_suffix = None
        if rest:
            nlb, target_group = self._load_balancer(link_sg)
            ecs_cluster, service, execution = self._service(cluster, secret_arn, service_sg, None, target_group)
            rest_api = self._rest_api(nlb, keys)
            self.api_url = pulumi.Output.all(rest_api.id, self._region, self._dns_suffix).apply(
                lambda v: policies.rest_api_url(v[0], v[1], v[2])
            )
            self.internal_url = self._nlb_dns.apply(policies.nlb_internal_url)
            self.rest_api_name = rest_api.name
            self.load_balancer_arn_suffix = nlb.arn.apply(policies.elb_arn_suffix)
            self.target_group_arn_suffix = target_group.arn.apply(policies.elb_arn_suffix)
        else:
            namespace, registry = self._service_discovery()
            ecs_cluster, service, execution = self._service(cluster, secret_arn, service_sg, registry)
            api = self._api(link_sg, registry, keys)
            # The documented shape of an HTTP API's default endpoint (what api_endpoint reports), built from the
            # id so that it is known wherever the id is. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop.html
            self.api_url = pulumi.Output.all(api.id, self._region, self._dns_suffix).apply(
                lambda v: policies.api_url(v[0], v[1], v[2])
            )
            self.internal_url = namespace.name.apply(lambda ns: policies.internal_url(CLOUD_MAP_SERVICE, ns))
            self.http_api_id = api.id
        self.ui = self._ui(cluster, secret_arn, db_sg, ecs_cluster, execution) if args.settings.ui.enabled else None
        self.cluster_arn = cluster.arn
        self.database_endpoint = cluster.endpoint
        self.database_secret_arn = secret_arn
        self.database_cluster_identifier = cluster.cluster_identifier
        self.ecs_cluster_name = ecs_cluster.name
        self.service_name = service.name
        self.register_outputs(
            {
                "api_url": self.api_url,
                "internal_url": self.internal_url,
                "api_key_secret_arns": self.api_key_secret_arns,
                "api_keys": self.api_keys,
                "cluster_arn": self.cluster_arn,
                "database_endpoint": self.database_endpoint,
                "database_secret_arn": self.database_secret_arn,
                "database_cluster_identifier": self.database_cluster_identifier,
                "ecs_cluster_name": self.ecs_cluster_name,
                "service_name": self.service_name,
                "http_api_id": self.http_api_id,
                "rest_api_name": self.rest_api_name,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "target_group_arn_suffix": self.target_group_arn_suffix,
                "ui_url": self.ui.url if self.ui else None,
            }
        )

    # ------------------------------------------------------------------ network

    def _security_groups(self, rest: bool) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Database: 5432 from the service only. Service: 8080 from the front door and Batch only.
        Front door (the HTTP API's VPC link, or the internal NLB): out to the service only; the NLB also
        takes 8080 from Batch. No group allows anything from the internet."""
        n, a = self._name, self._args

        def group(suffix: str, what: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{n}-{suffix}-sg",
                vpc_id=a.vpc_id,
                description=f"Strata {self._env} metadata {what}",
                tags=self._tags,
                opts=self._child(),
            )

        db_sg = group("db", "database: Postgres from the service only")
        service_sg = group("service", "service: HTTP from the API's VPC link and Batch")
        if rest:
            link_sg = group("nlb", "internal NLB: from the REST API's VPC link and Batch, to the service only")
        else:
            link_sg = group("link", "API VPC link: to the service only")

        def ingress(suffix: str, sg, port: int, source, what: str) -> None:
            aws.vpc.SecurityGroupIngressRule(
                f"{n}-{suffix}", security_group_id=sg.id, ip_protocol="tcp", from_port=port, to_port=port,
                referenced_security_group_id=source, description=what, tags=self._tags, opts=self._child(),
            )  # fmt: skip

        ingress("db-from-service", db_sg, policies.DB_PORT, service_sg.id, "Postgres from the metadata service tasks")
        if rest:
            ingress("service-from-nlb", service_sg, policies.SERVICE_PORT, link_sg.id, "Internal NLB (REST API VPC link)")
            ingress("nlb-from-batch", link_sg, policies.SERVICE_PORT, a.client_security_group_id, "Metaflow in Batch jobs")
        else:
            ingress("service-from-link", service_sg, policies.SERVICE_PORT, link_sg.id, "API Gateway VPC link")
        ingress("service-from-batch", service_sg, policies.SERVICE_PORT, a.client_security_group_id, "Metaflow in Batch jobs")
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-service-egress", security_group_id=service_sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
            description="Image pulls, Secrets Manager, CloudWatch Logs, the database", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-{'nlb' if rest else 'link'}-to-service", security_group_id=link_sg.id, ip_protocol="tcp", from_port=policies.SERVICE_PORT,
            to_port=policies.SERVICE_PORT, referenced_security_group_id=service_sg.id, description="To the service only",
            tags=self._tags, opts=self._child(),
        )  # fmt: skip
        return db_sg, service_sg, link_sg

    # ------------------------------------------------------------------ database

    def _database(self, db_sg: aws.ec2.SecurityGroup) -> tuple[aws.rds.Cluster, pulumi.Output[str]]:
        n, a, s = self._name, self._args, self._args.settings
        db = s.database
        major = db.engine_version.split(".")[0]
        # Stateful: refuse deletion when the stack protects, keep in AWS if it ever leaves the program.
        # Logical names below must never change (URN stability).
        stateful = pulumi.ResourceOptions(parent=self, protect=a.protect, retain_on_delete=a.protect)
        subnets = aws.rds.SubnetGroup(
            f"{n}-db-subnets", name=naming.metadata_name(self._env), subnet_ids=a.subnet_ids,
            description=f"Strata {self._env} metadata database: private subnets", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        params = aws.rds.ClusterParameterGroup(
            f"{n}-db-params",
            name=naming.metadata_name(self._env, f"pg{major}"),
            family=f"aurora-postgresql{major}",
            description=f"Strata {self._env} metadata: TLS only" + (", idle sessions closed" if s.auto_pause else ""),
            parameters=policies.cluster_parameters(s),
            tags=self._tags,
            opts=self._child(),
        )
        identifier = naming.metadata_name(self._env)
        cluster = aws.rds.Cluster(
            f"{n}-db",
            cluster_identifier=identifier,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=db.engine_version,
            database_name=policies.DATABASE_NAME,
            master_username=policies.MASTER_USERNAME,
            # RDS generates the password and keeps it in Secrets Manager (encrypted with the platform key),
            # so it is never in the program, the state, a stack file or a task definition.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=a.kms_key_arn,
            storage_encrypted=True,
            kms_key_id=a.kms_key_arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[db_sg.id],
            db_cluster_parameter_group_name=params.name,
            serverlessv2_scaling_configuration={
                "min_capacity": db.min_capacity,
                "max_capacity": db.max_capacity,
                **({"seconds_until_auto_pause": db.seconds_until_auto_pause} if s.auto_pause else {}),
            },
            backup_retention_period=db.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            deletion_protection=db.deletion_protection,
            skip_final_snapshot=not db.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if db.final_snapshot else None,
            iam_database_authentication_enabled=False,
            tags=self._tags,
            opts=stateful,
        )
        for i in range(db.instances):
            aws.rds.ClusterInstance(
                f"{n}-db-{i}",
                identifier=f"{identifier}-{i}",
                cluster_identifier=cluster.cluster_identifier,
                instance_class=SERVERLESS_CLASS,
                engine=cluster.engine,
                engine_version=cluster.engine_version,
                db_subnet_group_name=subnets.name,
                publicly_accessible=False,
                # Encrypted with the platform key; 7 days is the free retention.
                performance_insights_enabled=True,
                performance_insights_kms_key_id=a.kms_key_arn,
                performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS,
                # Readers fail over in order; tier 1 keeps them pausing and resuming with the writer.
                promotion_tier=min(i, 1),
                auto_minor_version_upgrade=True,
                tags=self._tags,
                opts=stateful,
            )
        secret_arn = cluster.master_user_secrets.apply(_master_secret_arn)
        return cluster, secret_arn

    # ------------------------------------------------------------------ per-team keys

    def _team_keys(self) -> dict[str, pulumi.Output[str]]:
        """A random key per team (pulumi_random: one generator for any front door, the value a Pulumi
        secret), stored in the team's secret, readable by the team's two roles only."""
        n, a = self._name, self._args
        self.api_key_secret_arns, self.api_keys = {}, {}
        for team in a.teams:
            # The team's cost center, not the platform's: the secret is billed to the team.
            tags = {**self._tags, "team": team.name, "cost-center": team.cost_center}
            key = random.RandomPassword(f"{n}-{team.name}-key", length=API_KEY_LENGTH, special=False, opts=self._child())
            secret = aws.secretsmanager.Secret(
                f"{n}-{team.name}-key",
                name=naming.metadata_api_key_secret(self._env, team.name),
                description=f"Metaflow metadata API key of team {team.name} in {self._env} (read by `strata configure`)",
                # The AWS-managed key: a team role needs no grant on the platform key to read its own secret.
                recovery_window_in_days=7,
                tags=tags,
                opts=self._child(),
            )
            aws.secretsmanager.SecretVersion(
                f"{n}-{team.name}-key", secret_id=secret.id, secret_string=key.result, opts=self._child()
            )
            ds_role = pulumi.Output.all(self._partition, self._account).apply(
                lambda v, t=team.name: f"arn:{v[0]}:iam::{v[1]}:role/{naming.data_scientist_role(self._env, t)}"
            )
            job_role = a.job_role_arns[team.name]
            aws.secretsmanager.SecretPolicy(
                f"{n}-{team.name}-key",
                secret_arn=secret.arn,
                block_public_policy=True,
                policy=pulumi.Output.all(secret.arn, self._partition, self._account, ds_role, job_role).apply(
                    lambda v: json.dumps(
                        policies.api_key_secret_policy(
                            secret_arn=v[0], partition=v[1], account_id=v[2], env=self._env, readers=[v[3], v[4]]
                        )
                    )
                ),
                opts=self._child(),
            )
            # The job role is the compute layer's; this grants it the team's key only (Metaflow in a Batch
            # job sends the key it was started with; the policy lets `strata` tooling in jobs read it too).
            aws.iam.RolePolicy(
                f"{n}-{team.name}-job-key",
                role=pulumi.Output.from_input(job_role).apply(lambda arn: arn.rsplit("/", 1)[-1]),
                name="metadata-api-key",
                policy=secret.arn.apply(lambda arn: json.dumps(policies.api_key_read_policy(arn))),
                opts=self._child(),
            )
            self.api_key_secret_arns[team.name] = secret.arn
            self.api_keys[team.name] = pulumi.Output.secret(key.result)
        return self.api_keys

    # ------------------------------------------------------------------ service

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

    def _service(
        self,
        cluster: aws.rds.Cluster,
        secret_arn: pulumi.Output[str],
        service_sg: aws.ec2.SecurityGroup,
        registry: aws.servicediscovery.Service | None,
        target_group: aws.lb.TargetGroup | None = None,
    ) -> tuple[aws.ecs.Cluster, aws.ecs.Service, aws.iam.Role]:
        """The ECS cluster, the service, and the execution role (the UI's tasks use it too)."""
        n, a, s = self._name, self._args, self._args.settings
        svc = s.service
        ecs_cluster = aws.ecs.Cluster(
            f"{n}-cluster",
            name=naming.metadata_name(self._env),
            # Container Insights bills custom metrics per task; off unless the stack asks for it.
            settings=[{"name": "containerInsights", "value": "enabled" if svc.container_insights else "disabled"}],
            tags=self._tags,
            opts=self._child(),
        )
        logs = aws.cloudwatch.LogGroup(
            f"{n}-service-logs", name=naming.metadata_log_group(self._env, "metadata-service"), retention_in_days=svc.log_retention_days,
            kms_key_id=self._args.log_kms_key_arn, tags=self._tags, opts=self._child(),
        )  # fmt: skip
        execution = aws.iam.Role(
            f"{n}-execution",
            assume_role_policy=json.dumps(policies.service_trust_policy(policies.ECS_TASKS_SERVICE)),
            description=f"Strata {self._env}: ECS starts the metadata service (image, logs, DB secret)",
            tags=self._tags,
            opts=self._child(),
        )
        aws.iam.RolePolicyAttachment(
            f"{n}-execution", role=execution.name,
            policy_arn=self._partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policies.ECS_TASK_EXECUTION_POLICY}"),
            opts=self._child(),
        )  # fmt: skip
        execution_policy = aws.iam.RolePolicy(
            f"{n}-execution-secret",
            role=execution.id,
            name="database-secret",
            policy=pulumi.Output.all(secret_arn, a.kms_key_arn, self._region, self._dns_suffix).apply(
                lambda v: json.dumps(
                    policies.execution_role_policy(v[0], v[1], kms_via_service=policies.secretsmanager_via_service(v[2], v[3]))
                )
            ),
            opts=self._child(),
        )
        # The service calls no AWS API: its task role has no policy at all.
        task_role = aws.iam.Role(
            f"{n}-task",
            assume_role_policy=json.dumps(policies.service_trust_policy(policies.ECS_TASKS_SERVICE)),
            description=f"Strata {self._env}: the metadata service's own role (no permissions)",
            tags=self._tags,
            opts=self._child(),
        )
        definitions = pulumi.Output.all(cluster.endpoint, secret_arn, logs.name, self._region).apply(
            lambda v: json.dumps(
                policies.container_definitions(settings=s, db_host=v[0], master_secret_arn=v[1], log_group=v[2], region=v[3])
            )
        )
        task = aws.ecs.TaskDefinition(
            f"{n}-task",
            family=naming.metadata_name(self._env),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": svc.cpu_architecture},
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn,
            container_definitions=definitions,
            tags=self._tags,
            opts=self._child(),
        )
        service = aws.ecs.Service(
            f"{n}-service",
            name=naming.metadata_name(self._env),
            cluster=ecs_cluster.arn,
            task_definition=task.arn,
            desired_count=svc.desired_count,
            launch_type="FARGATE",
            platform_version="1.4.0",
            network_configuration={"subnets": a.subnet_ids, "security_groups": [service_sg.id], "assign_public_ip": False},
            service_registries={
                "registry_arn": registry.arn,
                "container_name": policies.SERVICE_CONTAINER,
                "container_port": policies.SERVICE_PORT,
            }
            if registry is not None
            else None,
            # rest-api-nlb: tasks register with the NLB's ip target group (awsvpc tasks are ip targets).
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": policies.SERVICE_CONTAINER,
                    "container_port": policies.SERVICE_PORT,
                }
            ]
            if target_group is not None
            else None,
            # Migrations run before the service answers; give new tasks time before NLB health counts.
            health_check_grace_period_seconds=120 if target_group is not None else None,
            # A deployment whose tasks never get healthy (bad image, failed migration) rolls back.
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_execute_command=False,
            propagate_tags="SERVICE",
            tags=self._tags,
            # Autoscaling owns the task count once it exists.
            opts=self._child(
                depends_on=[execution_policy, *([self._listener] if target_group is not None else [])],
                ignore_changes=["desiredCount"] if s.autoscaling else None,
            ),
        )
        if s.autoscaling:
            target = aws.appautoscaling.Target(
                f"{n}-scaling",
                service_namespace="ecs",
                scalable_dimension="ecs:service:DesiredCount",
                resource_id=pulumi.Output.all(ecs_cluster.name, service.name).apply(lambda v: f"service/{v[0]}/{v[1]}"),
                min_capacity=svc.desired_count,
                max_capacity=svc.max_count,
                tags=self._tags,
                opts=self._child(),
            )
            aws.appautoscaling.Policy(
                f"{n}-scaling-cpu",
                name=naming.metadata_name(self._env, "cpu"),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": svc.target_cpu_percent,
                    "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                },
                opts=self._child(),
            )
        return ecs_cluster, service, execution

    # ------------------------------------------------------------------ API

    def _api(
        self, link_sg: aws.ec2.SecurityGroup, registry: aws.servicediscovery.Service, keys: Mapping[str, pulumi.Output[str]]
    ) -> aws.apigatewayv2.Api:
        """HTTP API -> VPC link -> Cloud Map: no load balancer. HTTP APIs have no usage plans, so a Lambda
        REQUEST authorizer checks x-api-key against the teams' keys (hashes only, cached per key)."""
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

    # ------------------------------------------------------------------ rest-api-nlb front door

    def _load_balancer(self, nlb_sg: aws.ec2.SecurityGroup) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup]:
        """An internal NLB ($0.0225/hour = $16.43/month + $0.006 per NLCU-hour): the REST API's VPC link
        (v1) can only target an NLB. Batch jobs reach the service through it too (METAFLOW_SERVICE_INTERNAL_URL)."""
        n, a = self._name, self._args
        nlb = aws.lb.LoadBalancer(
            f"{n}-nlb",
            name=naming.metadata_name(self._env),
            load_balancer_type="network",
            internal=True,
            subnets=a.subnet_ids,
            security_groups=[nlb_sg.id],
            # The VPC link reaches the NLB over PrivateLink, from no security group; its traffic is API
            # Gateway's, already key-checked. Batch traffic still meets the group's inbound rules.
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html
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
            deregistration_delay="30",
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
        """REST API ({proxy+} ANY, API key required) -> VPC link -> NLB; one API key + usage plan per team.
        $3.50 per million requests. PRIVATE adds an execute-api interface endpoint ($0.01/AZ-hour)."""
        n, a, s = self._name, self._args, self._args.settings
        private = s.endpoint_type is config.ApiEndpointType.PRIVATE
        endpoint = self._execute_api_endpoint() if private else None
        api = aws.apigateway.RestApi(
            f"{n}-rest-api",
            name=naming.metadata_name(self._env),
            description=f"Strata {self._env}: Metaflow metadata service (x-api-key per team)",
            endpoint_configuration={
                "types": s.endpoint_type.value,
                **({"vpc_endpoint_ids": [endpoint.id]} if endpoint is not None else {}),
            },
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
        method = aws.apigateway.Method(
            f"{n}-proxy-any",
            rest_api=api.id,
            resource_id=proxy.id,
            http_method="ANY",
            # API keys identify the team; usage plans meter it. No authorizer in this mode.
            authorization="NONE",
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
            uri=self._nlb_dns.apply(lambda d: f"{policies.nlb_internal_url(d)}/{{proxy}}"),
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
            # A new deployment whenever the route or its integration changes (a stage serves a snapshot).
            triggers={"redeployment": pulumi.Output.all(proxy.id, method.id, integration.id, integration.uri).apply(
                lambda v: policies.key_hash("|".join(str(x) for x in v))
            )},
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
            policy=pulumi.Output.all(self._partition, self._region, self._account).apply(
                lambda v: json.dumps(policies.apigateway_logs_policy(*v))
            ),
            opts=self._child(),
        )  # fmt: skip
        return aws.apigateway.Account(
            f"{n}-apigw-account", cloudwatch_role_arn=logs_role.arn, opts=self._child(depends_on=[logs_policy])
        )

    def _execute_api_endpoint(self) -> aws.ec2.VpcEndpoint:
        """PRIVATE REST API: an execute-api interface endpoint in the private subnets ($0.01/AZ-hour),
        HTTPS from Batch only; private DNS makes the API's default URL resolve to it inside the VPC."""
        n, a = self._name, self._args
        sg = aws.ec2.SecurityGroup(
            f"{n}-execute-api-sg", vpc_id=a.vpc_id, description=f"Strata {self._env} metadata: execute-api endpoint",
            tags=self._tags, opts=self._child(),
        )  # fmt: skip
        aws.vpc.SecurityGroupIngressRule(
            f"{n}-execute-api-from-batch", security_group_id=sg.id, ip_protocol="tcp", from_port=443, to_port=443,
            referenced_security_group_id=a.client_security_group_id, description="Metaflow in Batch jobs",
            tags=self._tags, opts=self._child(),
        )  # fmt: skip
        return aws.ec2.VpcEndpoint(
            f"{n}-execute-api",
            vpc_id=a.vpc_id,
            service_name=self._region.apply(lambda r: f"com.amazonaws.{r}.execute-api"),
            vpc_endpoint_type="Interface",
            subnet_ids=a.subnet_ids,
            security_group_ids=[sg.id],
            private_dns_enabled=True,
            tags=self._tags,
            opts=self._child(),
        )

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
            # Hashes, not keys; still a Pulumi secret so they never show in plain state or previews.
            environment={"variables": {"KEY_HASHES": pulumi.Output.secret(hashes)}},
            tags=self._tags,
            opts=self._child(depends_on=[logs_policy, logs]),
        )

    # ------------------------------------------------------------------ UI

    def _ui(
        self,
        cluster: aws.rds.Cluster,
        secret_arn: pulumi.Output[str],
        db_sg: aws.ec2.SecurityGroup,
        ecs_cluster: aws.ecs.Cluster,
        execution: aws.iam.Role,
    ) -> MetadataUi:
        a, s = self._args, self._args.settings
        assert a.datastore_bucket_arn is not None and a.datastore_bucket_name is not None  # _check
        cidrs = list(s.ui.allowed_cidrs) or [a.vpc_cidr]
        return MetadataUi(
            f"{self._name}-ui",
            MetadataUiArgs(
                environment=self._env,
                settings=s,
                vpc_id=a.vpc_id,
                subnet_ids=a.subnet_ids,
                allowed_cidrs=pulumi.Output.all(*cidrs),
                ecs_cluster_arn=ecs_cluster.arn,
                execution_role_arn=execution.arn,
                db_host=cluster.endpoint,
                db_secret_arn=secret_arn,
                db_security_group_id=db_sg.id,
                datastore_bucket_arn=a.datastore_bucket_arn,
                datastore_bucket_name=a.datastore_bucket_name,
                kms_key_arn=a.kms_key_arn,
                deletion_protection=a.protect,
                tags=self._tags,
                log_kms_key_arn=a.log_kms_key_arn,
                access_log_bucket=a.access_log_bucket,
            ),
            opts=self._child(),
        )

    def _child(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)


def _master_secret_arn(secrets: list | None) -> str:
    """The RDS-managed secret's ARN (``master_user_secrets[0].secret_arn``)."""
    if secrets:
        first = secrets[0]
        arn = first.get("secret_arn") if isinstance(first, dict) else getattr(first, "secret_arn", None)
        if arn:
            return arn
    raise ValueError("the cluster reported no managed master user secret (manage_master_user_password is on)")


def _nlb_dns_name(dns_name: str | None) -> str:
    """The NLB's DNS name, which AWS always reports once the load balancer exists."""
    if dns_name:
        return dns_name
    raise ValueError("the load balancer reported no DNS name")


def _check(name: str, args: MetadataArgs) -> None:
    """Contradictory inputs fail at construction (config validation normally catches them first)."""
    s, problems = args.settings, []
    if not s.enabled:
        problems.append("the metadata layer is disabled (strata:metadata.enabled); do not declare it")
    if s.endpoint_type is config.ApiEndpointType.PRIVATE and s.front_door is not config.FrontDoor.REST_API_NLB:
        problems.append("a PRIVATE endpoint needs the rest-api-nlb front door (HTTP APIs have none)")
    missing = sorted({t.name for t in args.teams} - set(args.job_role_arns))
    if missing:
        problems.append(f"no job role for teams {missing}")
    if s.ui.enabled:
        if args.datastore_bucket_arn is None or args.datastore_bucket_name is None:
            problems.append("the UI needs datastore_bucket_arn and datastore_bucket_name")
        if not s.ui.allowed_cidrs and args.vpc_cidr is None:
            problems.append("the UI needs ui.allowedCidrs or vpc_cidr (who may reach it)")
    if problems:
        raise ValueError(f"Metadata {name!r}: " + "; ".join(problems))
