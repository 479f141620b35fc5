"""One team's foothold in an environment: its data-scientist role and its Metaflow profile parameter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import naming
from infra import config
from modules.compute.policies import s3_via_service
from modules.team import policies
from modules.warehouse import WarehouseAccess

QUEUE_KINDS = ("cpu", "gpu", "fargate")


@dataclass
class TeamArgs:
    """Inputs of :class:`TeamComponent`."""

    environment: str
    """Environment (stack) name; part of the role and parameter names."""
    team: config.Team
    """The team: its name, and ``principals``, the only IAM ARNs that may assume the role."""
    bucket_arn: pulumi.Input[str]
    """ARN of the datastore bucket; the role gets ``naming.team_prefix(team)`` in it."""
    kms_key_arn: pulumi.Input[str]
    """ARN of the datastore KMS key; usable through S3 only."""
    job_queue_arns: Mapping[str, pulumi.Input[str]]
    """The team's own queues by kind (``cpu`` required; ``gpu``, ``fargate`` optional):
    ``Compute.job_queue_arns[team]``. Never pass another team's queues."""
    job_role_arn: pulumi.Input[str]
    """The team's Batch job role (``Compute.job_role_arns[team]``): the only role it may pass."""
    fargate_execution_role_arn: pulumi.Input[str] | None
    """``Compute.fargate_execution_role_arn``; None when Fargate is disabled."""
    profile_json: pulumi.Input[str]
    """The team's Metaflow profile, rendered by the program; stored as-is (no secrets in it)."""
    tags: Mapping[str, str]
    """Tags put on every taggable resource (plus the team's ``team`` and ``cost-center``)."""
    step_functions_role_arn: pulumi.Input[str] | None = None
    """``Orchestration.step_functions_role_arn``: with ``eventbridge_role_arn``, the role may manage the state
    machines and schedules named ``naming.state_machine_name_prefix(env, team)`` and pass these two roles."""
    eventbridge_role_arn: pulumi.Input[str] | None = None
    """``Orchestration.eventbridge_role_arn``; given together with ``step_functions_role_arn`` or not at all."""
    metadata_api_key_secret_arn: pulumi.Input[str] | None = None
    """``Metadata.api_key_secret_arns[team]``: the role may read this one secret (the team's API key)."""
    warehouse: WarehouseAccess | None = None
    """``Warehouse.team_access[team]``: Data API statements for the role (as the team's own database user
    only) and the tags the role carries (Serverless: ``RedshiftDbRoles``). None when there is no warehouse."""


class TeamComponent(pulumi.ComponentResource):
    """The data-scientist role (assumable only by the team's principals) and the profile parameter."""

    data_scientist_role_arn: pulumi.Output[str]
    data_scientist_role_name: pulumi.Output[str]
    profile_parameter_name: pulumi.Output[str]
    profile_parameter_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:team:Team", name, None, opts)
        team = args.team
        kinds = set(args.job_queue_arns)
        if "cpu" not in kinds or not kinds <= set(QUEUE_KINDS):
            raise ValueError(
                f"TeamComponent {name!r}: job_queue_arns of team {team.name!r} must have a 'cpu' queue and only "
                f"kinds {', '.join(QUEUE_KINDS)}; got {sorted(kinds)}"
            )
        if (args.step_functions_role_arn is None) != (args.eventbridge_role_arn is None):
            raise ValueError(f"TeamComponent {name!r}: step_functions_role_arn and eventbridge_role_arn go together")
        with_sfn = args.step_functions_role_arn is not None
        # The team's cost center over whatever the caller passed: the team's resources are billed to it.
        tags = {**args.tags, "team": team.name, "cost-center": team.cost_center}
        child = pulumi.ResourceOptions(parent=self)

        # Standard tier: free, 4 KB. The size check runs at deploy time because the profile is an
        # Output; a clear error beats AWS's ValidationException (or a silent switch to a paid tier).
        value = pulumi.Output.from_input(args.profile_json).apply(_fits_standard_parameter)
        parameter = aws.ssm.Parameter(
            f"{name}-profile",
            name=naming.profile_parameter(args.environment, team.name),
            type="String",
            tier="Standard",
            value=value,
            description=f"Metaflow profile of team {team.name} in {args.environment} (non-secret; written by Strata)",
            tags=tags,
            opts=child,
        )

        role = aws.iam.Role(
            f"{name}-data-scientist",
            name=naming.data_scientist_role(args.environment, team.name),
            assume_role_policy=json.dumps(policies.trust_policy(team.principals)),
            description=f"Data scientists of team {team.name} in {args.environment}: own prefix, queues and profile only",
            tags={**tags, **(args.warehouse.role_tags if args.warehouse else {})},
            opts=child,
        )

        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke)
        identity = aws.get_caller_identity_output(opts=invoke)
        prefix = naming.team_prefix(team.name)
        queue_arns = pulumi.Output.all(*[args.job_queue_arns[k] for k in sorted(kinds)])
        document = pulumi.Output.all(
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=region.region,
            account_id=identity.account_id,
            bucket_arn=args.bucket_arn,
            kms_key_arn=args.kms_key_arn,
            job_queue_arns=queue_arns,
            job_role_arn=args.job_role_arn,
            fargate_execution_role_arn=args.fargate_execution_role_arn,
            profile_parameter_arn=parameter.arn,
            step_functions_role_arn=args.step_functions_role_arn,
            eventbridge_role_arn=args.eventbridge_role_arn,
            metadata_key=args.metadata_api_key_secret_arn,
            warehouse_statements=args.warehouse.statements if args.warehouse else [],
        ).apply(
            lambda v: json.dumps(
                policies.data_scientist_policy(
                    partition=v["partition"],
                    region=v["region"],
                    account_id=v["account_id"],
                    bucket_arn=v["bucket_arn"],
                    team_prefix=prefix,
                    kms_key_arn=v["kms_key_arn"],
                    job_queue_arns=list(v["job_queue_arns"]),
                    job_role_arn=v["job_role_arn"],
                    profile_parameter_arn=v["profile_parameter_arn"],
                    fargate_execution_role_arn=v["fargate_execution_role_arn"],
                    kms_via_service=s3_via_service(v["region"], v["dns_suffix"]),
                    state_machine_name_prefix=naming.state_machine_name_prefix(args.environment, team.name) if with_sfn else None,
                    step_functions_role_arn=v["step_functions_role_arn"],
                    eventbridge_role_arn=v["eventbridge_role_arn"],
                    metadata_api_key_secret_arn=v["metadata_key"],
                    warehouse_statements=v["warehouse_statements"],
                )
            )
        )
        aws.iam.RolePolicy(f"{name}-data-scientist", role=role.id, name="team-access", policy=document, opts=child)

        self.data_scientist_role_arn = role.arn
        self.data_scientist_role_name = role.name
        self.profile_parameter_name = parameter.name
        self.profile_parameter_arn = parameter.arn
        self.register_outputs(
            {
                "data_scientist_role_arn": self.data_scientist_role_arn,
                "data_scientist_role_name": self.data_scientist_role_name,
                "profile_parameter_name": self.profile_parameter_name,
                "profile_parameter_arn": self.profile_parameter_arn,
            }
        )


def _fits_standard_parameter(value: str) -> str:
    if problem := policies.profile_size_problem(value):
        raise ValueError(f"{problem}: drop unused keys from the profile, or store it as an Advanced parameter")
    return value
