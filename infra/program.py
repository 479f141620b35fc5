"""Composition of the platform's layers. Each layer is one component under modules/; this file only
wires their outputs together, and every difference between environments arrives as data (the stack
and team files, validated by infra.config) — never as a branch on the stack name."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi

from infra import naming
from infra.config import ConfigError, Platform, load_from_pulumi
from infra.profile import ProfileInputs, render_profile
from modules.compute import Compute, ComputeArgs
from modules.datastore import Datastore, DatastoreArgs
from modules.network import Network, NetworkArgs
from modules.team import TeamArgs, TeamComponent


def base_tags(platform: Platform) -> dict[str, str]:
    """Tags on every resource; cost-allocation keys come first so stack files cannot drop them."""
    return {**platform.settings.tags, "environment": platform.environment, "managed-by": "strata"}


def build(platform: Platform) -> dict[str, pulumi.Output]:
    """Declare every layer for one environment; returns the stack outputs."""
    env = platform.environment
    s = platform.settings
    tags = base_tags(platform)

    network = Network("network", NetworkArgs(environment=env, settings=s.network, subnets=platform.subnets, tags=tags))
    datastore = Datastore(
        "datastore",
        DatastoreArgs(
            environment=env,
            name_prefix=s.name_prefix,
            settings=s.datastore,
            teams=[t.name for t in platform.teams],
            protect=s.protect,
            tags=tags,
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
        ),
    )

    profiles: dict[str, pulumi.Output] = {}
    roles: dict[str, pulumi.Output] = {}
    for team in platform.teams:
        fargate_role = compute.fargate_execution_role_arn
        profile = pulumi.Output.all(
            bucket=datastore.bucket_name,
            queue=compute.job_queue_arns[team.name]["cpu"],
            job_role=compute.job_role_arns[team.name],
            fargate=fargate_role,
        ).apply(
            lambda v, team=team: render_profile(
                ProfileInputs(
                    bucket_name=v["bucket"],
                    team_prefix=naming.team_prefix(team.name),
                    job_queue=v["queue"],
                    job_role_arn=v["job_role"],
                    fargate_execution_role_arn=v["fargate"],
                )
            )
        )
        component = TeamComponent(
            f"team-{team.name}",
            TeamArgs(
                environment=env,
                team=team,
                bucket_arn=datastore.bucket_arn,
                kms_key_arn=datastore.kms_key_arn,
                job_queue_arns=compute.job_queue_arns[team.name],
                job_role_arn=compute.job_role_arns[team.name],
                fargate_execution_role_arn=fargate_role,
                profile_json=profile.apply(lambda p: json.dumps(p, indent=2, sort_keys=True)),
                tags={**tags, "team": team.name, "cost-center": team.cost_center},
            ),
        )
        profiles[team.name] = profile
        roles[team.name] = component.data_scientist_role_arn

    return {
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
    }


def main(project_dir: Path) -> None:
    try:
        platform = load_from_pulumi(project_dir)
    except ConfigError as err:
        # A user's mistake: every problem, with file, key and fix; no traceback, no resource declared.
        raise pulumi.RunError(err.render()) from None
    for key, value in build(platform).items():
        pulumi.export(key, value)
