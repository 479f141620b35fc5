"""Composition of the platform's layers. Each layer is one component under modules/; this file only
wires their outputs together, and every difference between environments arrives as data (the stack
and team files, validated by infra.config) — never as a branch on the stack name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from core import naming
from core.profile import KubernetesProfile, ProfileInputs, render_profile
from core.settings import Team
from infra.config import ConfigError, Platform, load_from_pulumi
from modules.compute.component import Compute, ComputeArgs, WebIdentity
from modules.datastore.component import Datastore, DatastoreArgs
from modules.kubernetes.component import Cluster, ClusterArgs
from modules.kubernetes.manifests import data_scientist_group
from modules.kubernetes.namespace import TeamNamespace, TeamNamespaceArgs
from modules.metadata.component import Metadata, MetadataArgs
from modules.metadata.settings import MetadataMode
from modules.metadata.ui_spec import ACCESS_LOG_PREFIX as UI_ACCESS_LOG_PREFIX
from modules.network.component import Network, NetworkArgs
from modules.observability.component import Observability, ObservabilityArgs, ObservabilityKey, ObservabilityKeyArgs
from modules.observability.signals import (
    DatabaseKind,
    DatabaseSignals,
    LoadBalancerKind,
    MetadataSignals,
    ServingSignals,
    WarehouseKind,
    WarehouseSignals,
)
from modules.orchestration.component import Orchestration, OrchestrationArgs
from modules.serving.component import Serving, ServingArgs, ServingTeam
from modules.team.component import TeamArgs, TeamComponent
from modules.warehouse.component import Warehouse, WarehouseArgs


def base_tags(platform: Platform) -> dict[str, str]:
    """Tags on every resource; cost-allocation keys come first so stack files cannot drop them."""
    return {**platform.settings.tags, "environment": platform.environment, naming.MANAGED_BY_TAG: naming.MANAGED_BY}


def build(platform: Platform) -> dict[str, pulumi.Output[Any]]:
    """Declare every layer for one environment; returns the stack outputs."""
    env = platform.environment
    s = platform.settings
    tags = base_tags(platform)

    # First: every layer's log group is encrypted with this key (modules/observability/README.md).
    log_key = ObservabilityKey("observability-key", ObservabilityKeyArgs(environment=env, protect=s.protect, tags=tags))
    network = Network(
        "network",
        NetworkArgs(environment=env, settings=s.network, subnets=platform.subnets, tags=tags, log_kms_key_arn=log_key.key_arn),
    )
    datastore = Datastore(
        "datastore",
        DatastoreArgs(
            environment=env,
            name_prefix=s.name_prefix,
            settings=s.datastore,
            teams=[t.name for t in platform.teams],
            protect=s.protect,
            tags=tags,
            # The Metaflow UI's ALB logs into the access-log bucket.
            elb_log_prefix=UI_ACCESS_LOG_PREFIX if s.metadata.enabled and s.metadata.ui.enabled else None,
        ),
    )
    # The Kubernetes layer's cluster comes before compute: each team's job role trusts the team's service account
    # through the cluster's OIDC provider (IRSA), so Metaflow's pods on Argo run as the team's job role.
    cluster: Cluster | None = None
    if s.kubernetes.enabled and platform.teams:
        assert s.network.cidr is not None  # infra.config requires it with the layer on
        cluster = Cluster(
            "kubernetes",
            ClusterArgs(
                environment=env,
                settings=s.kubernetes,
                teams=platform.teams,
                region=platform.region,
                vpc_id=network.vpc_id,
                vpc_cidr=s.network.cidr,
                subnet_ids=network.private_subnet_ids,
                kms_key_arn=datastore.kms_key_arn,
                bucket_name=datastore.bucket_name,
                protect=s.protect,
                tags=tags,
                log_kms_key_arn=log_key.key_arn,
            ),
        )
    compute = Compute(
        "compute",
        ComputeArgs(
            environment=env,
            settings=s.compute,
            teams=platform.teams,
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.batch_security_group_id,
            bucket_arn=datastore.bucket_arn,
            kms_key_arn=datastore.kms_key_arn,
            tags=tags,
            # Each team's job log group: the environment's log retention and log key.
            log_kms_key_arn=log_key.key_arn,
            log_retention_days=s.observability.log_retention_days,
            web_identity=WebIdentity(
                provider_arn=cluster.oidc_provider_arn,
                issuer=cluster.oidc_issuer,
                namespaces={t.name: t.kubernetes.namespace for t in platform.teams if t.kubernetes is not None},
            )
            if cluster is not None
            else None,
        ),
    )

    # Step Functions serves teams: an environment without any declares none of it.
    orchestration: Orchestration | None = None
    if platform.teams:
        orchestration = Orchestration(
            "orchestration",
            OrchestrationArgs(
                environment=env,
                settings=s.orchestration,
                teams=[t.name for t in platform.teams],
                job_queue_arns=compute.job_queue_arns,
                job_role_arns=compute.job_role_arns,
                kms_key_arn=datastore.kms_key_arn,
                cost_centers={t.name: t.cost_center for t in platform.teams},
                protect=s.protect,
                tags=tags,
                log_kms_key_arn=log_key.key_arn,
            ),
        )

    # The metadata service (and a key per team) exists for teams; the profiles use it unless the stack
    # says metadataMode: local (the moto cloud, where ECS runs no task).
    metadata: Metadata | None = None
    if platform.teams and s.metadata.enabled:
        metadata = Metadata(
            "metadata",
            MetadataArgs(
                environment=env,
                settings=s.metadata,
                teams=platform.teams,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                client_security_group_id=network.batch_security_group_id,
                kms_key_arn=datastore.kms_key_arn,
                job_role_arns=compute.job_role_arns,
                protect=s.protect,
                tags=tags,
                log_kms_key_arn=log_key.key_arn,
                vpc_cidr=s.network.cidr,
                access_log_bucket=datastore.elb_log_bucket,
            ),
        )
    use_service = metadata is not None and s.metadata.metadata_mode is MetadataMode.SERVICE

    # The warehouse: Redshift Serverless (or a provisioned cluster), a COPY/UNLOAD role per team.
    warehouse: Warehouse | None = None
    if s.warehouse.enabled:
        warehouse = Warehouse(
            "warehouse",
            WarehouseArgs(
                environment=env,
                settings=s.warehouse,
                teams=platform.teams,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                bucket_arn=datastore.bucket_arn,
                kms_key_arn=datastore.kms_key_arn,
                protect=s.protect,
                tags=tags,
                log_kms_key_arn=log_key.key_arn,
            ),
        )

    profiles: dict[str, pulumi.Output] = {}
    roles: dict[str, pulumi.Output] = {}
    team_namespaces: dict[str, TeamNamespace] = {}
    for team in platform.teams:
        assert orchestration is not None
        warehouse_access = warehouse.team_access[team.name] if warehouse is not None else None
        fargate_role = compute.fargate_execution_role_arn

        def kubernetes_of(v: dict[str, Any], team: Team = team) -> KubernetesProfile | None:
            if cluster is None or team.kubernetes is None:
                return None
            return KubernetesProfile(
                namespace=team.kubernetes.namespace,
                service_account=naming.TEAM_SERVICE_ACCOUNT,
                container_registry=s.kubernetes.container_registry,
                container_image=team.kubernetes.container_image,
                event_bus=naming.TEAM_EVENT_BUS,
                event_source=naming.TEAM_EVENT_SOURCE,
                events_service_account=naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT,
                webhook_url=v["webhook_url"],
                internal_webhook_url=cluster.internal_webhook_urls[team.name],
                ui_url=v["argo_ui_url"],
                cluster_name=v["eks_cluster"],
                region=platform.region,
            )

        def profile_of(v: dict[str, Any], team: Team = team) -> dict[str, str]:
            return render_profile(
                ProfileInputs(
                    bucket_name=v["bucket"],
                    team_prefix=naming.team_prefix(team.name),
                    job_queue=v["queue"],
                    job_role_arn=v["job_role"],
                    job_definition_prefix=naming.job_definition_prefix(env, team.name),
                    job_log_group=v["job_log_group"],
                    fargate_execution_role_arn=v["fargate"],
                    sfn_iam_role=v["sfn_role"],
                    sfn_dynamo_db_table=v["sfn_table"],
                    events_sfn_access_iam_role=v["events_role"],
                    sfn_state_machine_prefix=orchestration.state_machine_prefixes[team.name],
                    sfn_execution_log_group_arn=v["sfn_logs"],
                    metadata="service" if use_service else "local",
                    service_url=v["service_url"],
                    service_internal_url=v["internal_url"],
                    api_key_secret_arn=v["api_key_secret"],
                    warehouse=warehouse.profile_keys(team.name, v["warehouse_role"], platform.region) if warehouse else None,
                    kubernetes=kubernetes_of(v, team),
                )
            )

        profile = pulumi.Output.all(
            bucket=datastore.bucket_name,
            queue=compute.job_queue_arns[team.name]["cpu"],
            job_role=compute.job_role_arns[team.name],
            fargate=fargate_role,
            job_log_group=compute.job_log_group_names[team.name],
            sfn_role=orchestration.step_functions_role_arns[team.name],
            sfn_table=orchestration.state_table_names[team.name],
            events_role=orchestration.eventbridge_role_arns[team.name],
            sfn_logs=orchestration.execution_log_group_arn,
            service_url=metadata.api_url if metadata is not None and use_service else None,
            internal_url=metadata.internal_url if metadata is not None and use_service else None,
            api_key_secret=metadata.api_key_secret_arns[team.name] if metadata is not None and use_service else None,
            warehouse_role=warehouse.copy_role_arns[team.name] if warehouse is not None else None,
            webhook_url=cluster.webhook_urls[team.name] if cluster is not None else None,
            argo_ui_url=cluster.ui_url if cluster is not None else None,
            eks_cluster=cluster.cluster_name if cluster is not None else None,
        ).apply(profile_of)
        component = TeamComponent(
            f"team-{team.name}",
            TeamArgs(
                environment=env,
                team=team,
                bucket_arn=datastore.bucket_arn,
                kms_key_arn=datastore.kms_key_arn,
                job_queue_arns=compute.job_queue_arns[team.name],
                job_role_arn=compute.job_role_arns[team.name],
                job_log_group_arn=compute.job_log_group_arns[team.name],
                fargate_execution_role_arn=fargate_role,
                profile_json=profile.apply(lambda p: json.dumps(p, indent=2, sort_keys=True)),
                tags={**tags, "team": team.name, "cost-center": team.cost_center},
                # What the other layers grant the team's data scientists on their resources, computed by each
                # of them: the team layer appends the statements in this order and imports none of them.
                extra_statements=[
                    orchestration.data_scientist_statements[team.name],
                    *([metadata.data_scientist_statements[team.name]] if metadata is not None else []),
                    *([warehouse_access.statements] if warehouse_access is not None else []),
                ],
                role_tags=warehouse_access.role_tags if warehouse_access is not None else {},
            ),
        )
        profiles[team.name] = profile
        roles[team.name] = component.data_scientist_role_arn
        if cluster is not None:
            # The team's namespace and everything in it; its data scientists' access entry maps their role there.
            team_namespaces[team.name] = TeamNamespace(
                f"kubernetes-team-{team.name}",
                TeamNamespaceArgs(
                    environment=env,
                    team=team,
                    cluster=cluster,
                    job_role_arn=compute.job_role_arns[team.name],
                    data_scientist_role_arn=component.data_scientist_role_arn,
                    data_scientist_role_name=component.data_scientist_role_name,
                    bucket_name=datastore.bucket_name,
                    region=platform.region,
                    vpc_cidr=s.network.cidr or "",
                    tags={**tags, "team": team.name, "cost-center": team.cost_center},
                ),
            )

    # Model serving on the cluster, after the teams' namespaces (its per-team objects go into them).
    serving: Serving | None = None
    if cluster is not None and s.serving.enabled:
        serving = Serving(
            "serving",
            ServingArgs(
                environment=env,
                settings=s.serving,
                provider=cluster.provider,
                region=platform.region,
                cluster_name=naming.eks_cluster(env),
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer=cluster.oidc_issuer,
                log_kms_key_arn=log_key.key_arn,
                teams=[
                    ServingTeam(
                        name=t.name,
                        namespace=t.kubernetes.namespace,
                        data_scientist_group=data_scientist_group(t.name),
                        namespace_ready=[team_namespaces[t.name]],
                    )
                    for t in platform.teams
                    if t.kubernetes is not None
                ],
                platform_ready=[*cluster.releases, *cluster.cluster_objects],
                tags=tags,
            ),
        )

    # Last: watches every layer. The metadata layer's front door is an HTTP API (no load balancer), so its
    # health is watched through the ECS service; its database is an Aurora cluster.
    observability = Observability(
        "observability",
        ObservabilityArgs(
            environment=env,
            settings=s.observability,
            teams=platform.teams,
            job_queue_arns=compute.job_queue_arns,
            kms_key_arn=log_key.key_arn,
            tags=tags,
            metadata=MetadataSignals(
                http_api_id=metadata.http_api_id,
                rest_api_name=metadata.rest_api_name,
                load_balancer=metadata.load_balancer_arn_suffix,
                target_group=metadata.target_group_arn_suffix,
                load_balancer_kind=LoadBalancerKind.NETWORK,
                ecs_cluster=metadata.ecs_cluster_name,
                ecs_service=metadata.service_name,
                ui_load_balancer=metadata.ui.load_balancer_arn_suffix if metadata.ui else None,
                ui_backend_target_group=metadata.ui.backend_target_group_arn_suffix if metadata.ui else None,
                ui_static_target_group=metadata.ui.static_target_group_arn_suffix if metadata.ui else None,
            )
            if metadata
            else None,
            database=DatabaseSignals(kind=DatabaseKind.CLUSTER, identifier=metadata.database_cluster_identifier)
            if metadata
            else None,
            warehouse=WarehouseSignals(kind=WarehouseKind(warehouse.mode), name=warehouse.name) if warehouse else None,
            serving=ServingSignals(
                cluster=naming.eks_cluster(env),
                namespaces=tuple(sorted(serving.namespaces.items())),
                error_threshold=s.serving.error_alarm_threshold,
                log_group=naming.serving_metrics_log_group(env),
            )
            if serving is not None
            else None,
        ),
    )

    outputs: dict[str, pulumi.Output[Any]] = {
        "environment": pulumi.Output.from_input(env),
        "region": pulumi.Output.from_input(platform.region),
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
        "datastoreBucket": datastore.bucket_name,
        "datastoreKmsKeyArn": datastore.kms_key_arn,
        "computeEnvironments": pulumi.Output.from_input(compute.compute_environment_arns),
        "teamProfiles": pulumi.Output.from_input(profiles),
        "teamProfileParameters": pulumi.Output.from_input(
            {t.name: naming.profile_parameter(env, t.name) for t in platform.teams}
        ),
        "teamDataScientistRoles": pulumi.Output.from_input(roles),
        "observabilityKeyArn": log_key.key_arn,
        "alarmTopicArn": observability.alarm_topic_arn,
        "teamAlertTopics": pulumi.Output.from_input(observability.team_topic_arns),
        "budgets": pulumi.Output.from_input(observability.budget_names),
    }
    if observability.dashboard_name is not None:
        outputs["dashboard"] = observability.dashboard_name
    if orchestration is not None:
        outputs |= {
            "stepFunctionsRoleArns": pulumi.Output.from_input(orchestration.step_functions_role_arns),
            "eventBridgeScheduleRoleArns": pulumi.Output.from_input(orchestration.eventbridge_role_arns),
            "sfnStateTables": pulumi.Output.from_input(orchestration.state_table_names),
            "sfnLogGroup": orchestration.log_group_name,
            "teamStateMachinePrefixes": pulumi.Output.from_input(orchestration.state_machine_prefixes),
        }
    if cluster is not None:
        outputs |= {
            "eksClusterName": cluster.cluster_name,
            "eksEndpoint": cluster.endpoint,
            "argoWorkflowsUiUrl": cluster.ui_url,
            "teamNamespaces": pulumi.Output.from_input(
                {t.name: t.kubernetes.namespace for t in platform.teams if t.kubernetes is not None}
            ),
            "argoEventsWebhookUrls": pulumi.Output.from_input(cluster.webhook_urls),
        }
    if serving is not None:
        outputs |= {
            "servingNamespaces": pulumi.Output.from_input(serving.namespaces),
            "servingInferenceUrls": pulumi.Output.from_input(serving.inference_urls),
        }
    if warehouse is not None:
        outputs |= {
            "warehouseMode": pulumi.Output.from_input(warehouse.mode),
            "warehouseName": pulumi.Output.from_input(warehouse.name),
            "warehouseDatabase": pulumi.Output.from_input(warehouse.database),
            "warehouseEndpoint": warehouse.endpoint,
            # The ARN of the Secrets Manager secret holding the admin password; never the password.
            "warehouseAdminSecretArn": warehouse.admin_secret_arn,
            "warehouseCopyRoles": pulumi.Output.from_input(warehouse.copy_role_arns),
            "warehouseBootstrapSql": warehouse.bootstrap_sql,
        }
    if metadata is not None:
        # Pulumi secrets: `pulumi stack output metadataApiKeys --show-secrets` for operators only. (Declared:
        # pulumi's Output.secret infers its type from the target only; the keys resolve to dict[str, str].)
        api_keys: pulumi.Output[Any] = pulumi.Output.secret(pulumi.Output.from_input(metadata.api_keys))
        outputs |= {
            "metadataApiUrl": metadata.api_url,
            "metadataInternalUrl": metadata.internal_url,
            "metadataApiKeySecrets": pulumi.Output.from_input(
                {t.name: naming.metadata_api_key_secret(env, t.name) for t in platform.teams}
            ),
            "metadataApiKeys": api_keys,
        }
        if metadata.ui is not None:
            # Users open the URL; DNS for ui.domainName must point at the internal ALB's name.
            outputs |= {"metadataUiUrl": metadata.ui.url, "metadataUiLoadBalancerDns": metadata.ui.load_balancer_dns_name}
    return outputs


def main(project_dir: Path) -> None:
    try:
        platform = load_from_pulumi(project_dir)
    except ConfigError as err:
        # A user's mistake: every problem, with file, key and fix; no traceback, no resource declared.
        raise pulumi.RunError(err.render()) from None
    for key, value in build(platform).items():
        pulumi.export(key, value)
