"""The metadata layer: Aurora PostgreSQL Serverless v2, the Metaflow metadata service on ECS Fargate,
and its private front door with one API key per team, a child component chosen by ``frontDoor``:
``http-api`` (API Gateway HTTP API + VPC link + Cloud Map, ``http_api.py``) or ``rest-api-nlb`` (REST API
+ VPC link + internal NLB, one API key and usage plan per team, ``rest_api.py``). Both put a Lambda
REQUEST authorizer in front of the service that names the caller's team from its key and refuses writes
to another team's runs (run owners in a DynamoDB table declared here). The front door is the only way in:
Batch jobs call the API with their team's key like every other client (docs/metadata-tenancy.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from core import iam, naming
from core.settings import Team
from modules.base import Component, LayerArgs, LogKeyArgs, ProtectArgs
from modules.metadata import policies
from modules.metadata.front_door import FrontDoorArgs, MetadataFrontDoor, ServiceAttachment
from modules.metadata.http_api import HttpApiFrontDoor
from modules.metadata.rest_api import RestApiFrontDoor
from modules.metadata.settings import ApiEndpointType, FrontDoor, MetadataSettings
from modules.metadata.ui import MetadataUi, MetadataUiArgs

# Aurora Serverless v2 instances have this class; capacity comes from the cluster's ACU range.
SERVERLESS_CLASS = "db.serverless"
# Free Performance Insights retention (longer retention is billed). https://aws.amazon.com/rds/performance-insights/pricing/
PERFORMANCE_INSIGHTS_DAYS = 7
# Keys of 48 letters and digits: ~285 bits, and no character a shell or an HTTP header would mangle.
API_KEY_LENGTH = 48
# ``strata:metadata.frontDoor`` -> the child component that puts an API in front of the service.
FRONT_DOORS: dict[FrontDoor, Callable[[str, FrontDoorArgs, pulumi.ResourceOptions], MetadataFrontDoor]] = {
    FrontDoor.HTTP_API: HttpApiFrontDoor,
    FrontDoor.REST_API_NLB: RestApiFrontDoor,
}


@dataclass
class MetadataArgs(LayerArgs, ProtectArgs, LogKeyArgs):
    """Inputs of :class:`Metadata`. ``environment`` is part of every physical name; ``protect`` covers the
    cluster and its instances; ``log_kms_key_arn`` encrypts the service's, the API's and the authorizer's
    log groups."""

    settings: MetadataSettings
    """``strata:metadata`` (validated): database, service, API and UI settings."""
    teams: Sequence[Team]
    """Teams of this environment; each gets an API key, its secret and the right to read it."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (>= 2 AZs) for the database, the tasks and the VPC link. No public IPs."""
    client_security_group_id: pulumi.Input[str]
    """Security group of Batch compute. Admitted only to the execute-api interface endpoint of a PRIVATE REST
    API (443); never to the service or the NLB: jobs call the API with their team's key."""
    kms_key_arn: pulumi.Input[str]
    """The platform key (``Datastore.kms_key_arn``): encrypts storage, Performance Insights, the DB secret and
    the run-owners table."""
    job_role_arns: Mapping[str, pulumi.Input[str]]
    """team -> its Batch job role (``Compute.job_role_arns``); gets read access to the team's key only."""
    vpc_cidr: pulumi.Input[str] | None = None
    """Who may reach the UI when ``ui.allowedCidrs`` is empty (the VPC's CIDR). UI only."""
    access_log_bucket: pulumi.Input[str] | None = None
    """``Datastore.elb_log_bucket``: the UI's ALB writes its access logs there. UI only."""


class Metadata(Component):
    """Postgres, the metadata service and its API, and one API key per team."""

    api_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_URL``: the API's endpoint (the HTTP API's, or the REST API's stage)."""
    internal_url: pulumi.Output[str]
    """``METAFLOW_SERVICE_INTERNAL_URL``: the same API endpoint. Batch jobs have no direct path to the
    service; they send their team's key through the front door like every other client."""
    owners_table_name: pulumi.Output[str]
    owners_table_arn: pulumi.Output[str]
    """The run-owners table (``strata-<env>-metadata-owners``): ``{flow}/{run}`` -> the team that wrote it
    first. Stateful: protected, retained, point-in-time recovery."""
    api_key_secret_arns: dict[str, pulumi.Output[str]]
    data_scientist_statements: dict[str, pulumi.Output[list[iam.Statement]]]
    """team -> what its data-scientist role may do here: read its own API key (``strata configure``). The
    program hands them to the team (``TeamArgs.extra_statements``)."""
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
    front_door: MetadataFrontDoor
    """The API in front of the service (:data:`FRONT_DOORS`): ``HttpApiFrontDoor`` or ``RestApiFrontDoor``."""
    ui: MetadataUi | None
    """The Metaflow UI (``ui.enabled``): ``url``, ``load_balancer_dns_name``; None when off."""

    def __init__(self, name: str, args: MetadataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(name, args)
        super().__init__("strata:metadata:Metadata", name, None, opts)
        self._name = name
        self._args = args
        self._env = args.environment
        self._tags = dict(args.tags)

        db_sg, service_sg = self._security_groups()
        cluster, secret_arn = self._database(db_sg)
        owners = self._owners_table()
        self.owners_table_name, self.owners_table_arn = owners.name, owners.arn
        keys = self._team_keys()
        self.data_scientist_statements = {
            team: arn.apply(lambda a: [policies.api_key_read_statement(a)]) for team, arn in self.api_key_secret_arns.items()
        }
        # Same name as this component: its children keep the logical names they had when they were declared
        # here (the type token tells the two components apart). See MetadataFrontDoor for their aliases.
        self.front_door = FRONT_DOORS[args.settings.front_door](
            name,
            FrontDoorArgs(
                environment=self._env,
                tags=self._tags,
                log_kms_key_arn=args.log_kms_key_arn,
                settings=args.settings,
                teams=args.teams,
                keys=keys,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                client_security_group_id=args.client_security_group_id,
                service_security_group_id=service_sg.id,
                owners_table_arn=owners.arn,
                owners_table_name=owners.name,
                kms_key_arn=args.kms_key_arn,
            ),
            self._child(),
        )
        ecs_cluster, service, execution = self._service(cluster, secret_arn, service_sg, self.front_door.attachment)
        self.api_url = self.front_door.api_url
        # One URL for laptops and jobs: the keyed, authorised API (no direct path to the service exists).
        self.internal_url = self.api_url
        self.http_api_id = self.front_door.http_api_id
        self.rest_api_name = self.front_door.rest_api_name
        self.load_balancer_arn_suffix = self.front_door.load_balancer_arn_suffix
        self.target_group_arn_suffix = self.front_door.target_group_arn_suffix
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
                "owners_table_name": self.owners_table_name,
                "owners_table_arn": self.owners_table_arn,
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

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Database: 5432 from the service only. Service: 8080 from the front door only (which adds that rule
        with its own group): nothing else, Batch included, reaches the service without a key and the
        authorizer. No group allows anything from the internet."""
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
        # "and Batch" is history: no rule admits Batch any more. A group's description cannot change
        # without replacing the group, and the service's running tasks hold network interfaces in it.
        service_sg = group("service", "service: HTTP from the API's VPC link and Batch")

        def ingress(suffix: str, sg, port: int, source, what: str) -> None:
            aws.vpc.SecurityGroupIngressRule(
                f"{n}-{suffix}", security_group_id=sg.id, ip_protocol="tcp", from_port=port, to_port=port,
                referenced_security_group_id=source, description=what, tags=self._tags, opts=self._child(),
            )  # fmt: skip

        ingress("db-from-service", db_sg, policies.DB_PORT, service_sg.id, "Postgres from the metadata service tasks")
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-service-egress", security_group_id=service_sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
            description="Image pulls, Secrets Manager, CloudWatch Logs, the database", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        return db_sg, service_sg

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
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(**p) for p in policies.cluster_parameters(s)],
            tags=self._tags,
            opts=self._child(),
        )
        identifier = naming.metadata_name(self._env)
        scaling: aws.rds.ClusterServerlessv2ScalingConfigurationArgsDict = {
            "min_capacity": db.min_capacity,
            "max_capacity": db.max_capacity,
        }
        if s.auto_pause:
            scaling["seconds_until_auto_pause"] = db.seconds_until_auto_pause
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
            serverlessv2_scaling_configuration=scaling,
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
                # pulumi_aws types this argument as its EngineType enum only (the cluster's takes str or the
                # enum); the provider's schema is a string, and the cluster's engine is one of the enum's values.
                engine=cluster.engine,  # type: ignore[arg-type]
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

    # ------------------------------------------------------------------ run owners

    def _owners_table(self) -> aws.dynamodb.Table:
        """``{flow}/{run}`` -> the team whose key wrote to it first; the authorizer refuses other teams' writes.
        Declared here, not in a front door, so that changing ``frontDoor`` keeps it (and its URN).

        On demand: no capacity to pay for while idle (storage only, the first 25 GB free); one small item per
        run. Stateful: losing it would let the next writer claim every run, so it is protected and retained
        with the stack, deletion-protected, and point-in-time recoverable."""
        n, a = self._name, self._args
        return aws.dynamodb.Table(
            f"{n}-owners",
            name=policies.owners_table_name(self._env),
            billing_mode="PAY_PER_REQUEST",
            hash_key=policies.OWNERS_HASH_KEY,
            attributes=[{"name": policies.OWNERS_HASH_KEY, "type": "S"}],
            point_in_time_recovery={"enabled": True},
            # The platform key, not the AWS-owned default: key use is in CloudTrail and revocable.
            server_side_encryption={"enabled": True, "kms_key_arn": a.kms_key_arn},
            deletion_protection_enabled=a.protect,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=a.protect, retain_on_delete=a.protect),
        )

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

            def ds_role_arn(v: list[str], team_name: str = team.name) -> str:
                return f"arn:{v[0]}:iam::{v[1]}:role/{naming.data_scientist_role(self._env, team_name)}"

            ds_role = pulumi.Output.all(self._aws.partition, self._aws.account_id).apply(ds_role_arn)
            job_role = a.job_role_arns[team.name]
            aws.secretsmanager.SecretPolicy(
                f"{n}-{team.name}-key",
                secret_arn=secret.arn,
                block_public_policy=True,
                policy=pulumi.Output.all(secret.arn, self._aws.partition, self._aws.account_id, ds_role, job_role).apply(
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

    def _service(
        self,
        cluster: aws.rds.Cluster,
        secret_arn: pulumi.Output[str],
        service_sg: aws.ec2.SecurityGroup,
        attachment: ServiceAttachment,
    ) -> tuple[aws.ecs.Cluster, aws.ecs.Service, aws.iam.Role]:
        """The ECS cluster, the service (joined to the front door by ``attachment``), and the execution role
        (the UI's tasks use it too)."""
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
            policy_arn=self._aws.partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policies.ECS_TASK_EXECUTION_POLICY}"),
            opts=self._child(),
        )  # fmt: skip
        execution_policy = aws.iam.RolePolicy(
            f"{n}-execution-secret",
            role=execution.id,
            name="database-secret",
            policy=pulumi.Output.all(secret_arn, a.kms_key_arn, self._aws.region, self._aws.dns_suffix).apply(
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
        definitions = pulumi.Output.all(cluster.endpoint, secret_arn, logs.name, self._aws.region).apply(
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
            # http-api: a Cloud Map entry; rest-api-nlb: the NLB's target group and a health-check grace period.
            service_registries=attachment.service_registries,
            load_balancers=attachment.load_balancers,
            health_check_grace_period_seconds=attachment.health_check_grace_period_seconds,
            # A deployment whose tasks never get healthy (bad image, failed migration) rolls back.
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_execute_command=False,
            propagate_tags="SERVICE",
            tags=self._tags,
            # Autoscaling owns the task count once it exists.
            opts=self._child(
                depends_on=[execution_policy, *attachment.depends_on],
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
        cidrs: list[pulumi.Input[str]] = list(s.ui.allowed_cidrs)
        if not cidrs:
            assert a.vpc_cidr is not None  # _check
            cidrs = [a.vpc_cidr]
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
                deletion_protection=a.protect,
                tags=self._tags,
                log_kms_key_arn=a.log_kms_key_arn,
                access_log_bucket=a.access_log_bucket,
            ),
            opts=self._child(),
        )


def _master_secret_arn(secrets: Sequence[Any] | None) -> str:
    """The RDS-managed secret's ARN (``master_user_secrets[0].secret_arn``); the entries are
    ``ClusterMasterUserSecret`` objects, or plain dicts under Pulumi's mocks."""
    if secrets:
        first = secrets[0]
        arn = first.get("secret_arn") if isinstance(first, dict) else getattr(first, "secret_arn", None)
        if arn:
            return arn
    raise ValueError("the cluster reported no managed master user secret (manage_master_user_password is on)")


def _check(name: str, args: MetadataArgs) -> None:
    """Contradictory inputs fail at construction (config validation normally catches them first)."""
    s, problems = args.settings, []
    if not s.enabled:
        problems.append("the metadata layer is disabled (strata:metadata.enabled); do not declare it")
    if s.endpoint_type is ApiEndpointType.PRIVATE and s.front_door is not FrontDoor.REST_API_NLB:
        problems.append("a PRIVATE endpoint needs the rest-api-nlb front door (HTTP APIs have none)")
    missing = sorted({t.name for t in args.teams} - set(args.job_role_arns))
    if missing:
        problems.append(f"no job role for teams {missing}")
    if s.ui.enabled and not s.ui.allowed_cidrs and args.vpc_cidr is None:
        problems.append("the UI needs ui.allowedCidrs or vpc_cidr (who may reach it)")
    if problems:
        raise ValueError(f"Metadata {name!r}: " + "; ".join(problems))
