"""One team's foothold in an environment: its data-scientist role and its Metaflow profile parameter."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from core import iam, naming
from core.naming import QUEUE_KINDS
from core.settings import Team
from modules.base import Component, LayerArgs
from modules.team import policies


@dataclass
class TeamArgs(LayerArgs):
    """Inputs of :class:`TeamComponent`. ``environment`` is part of the role and parameter names; ``tags``
    get the team's ``team`` and ``cost-center`` on top.

    The team layer knows no other layer: what the role may do on another layer's resources is computed by
    that layer and handed in by the program (``extra_statements``, ``role_tags``)."""

    team: Team
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
    job_log_group_arn: pulumi.Input[str]
    """The team's job log group (``Compute.job_log_group_arns[team]``, named ``naming.job_log_group``): the only
    group its job definitions may log to, and the only one it may read."""
    fargate_execution_role_arn: pulumi.Input[str] | None
    """``Compute.fargate_execution_role_arn``; None when Fargate is disabled."""
    profile_json: pulumi.Input[str]
    """The team's Metaflow profile, rendered by the program; stored as-is (no secrets in it)."""
    extra_statements: Sequence[pulumi.Input[Sequence[iam.Statement]]] = ()
    """Statements other layers grant this team's data scientists on their resources, appended in this order
    after the team's own: ``Orchestration.data_scientist_statements[team]`` (its state machines and
    schedules, passing the two orchestration roles), ``Metadata.data_scientist_statements[team]`` (its API
    key), ``Warehouse.team_access[team].statements`` (the Data API as its own database user). Each names only
    this team's resources; the layer that owns them checks that."""
    role_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags the role carries for another layer, on top of the team's (``Warehouse.team_access[team].role_tags``:
    on Serverless, ``RedshiftDbRoles``, the team's database role)."""


class TeamComponent(Component):
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
        # The team's cost center over whatever the caller passed: the team's resources are billed to it.
        tags = {**args.tags, "team": team.name, "cost-center": team.cost_center}

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
            opts=self._child(),
        )

        role = aws.iam.Role(
            f"{name}-data-scientist",
            name=naming.data_scientist_role(args.environment, team.name),
            assume_role_policy=json.dumps(policies.trust_policy(team.principals)),
            description=f"Data scientists of team {team.name} in {args.environment}: own prefix, queues and profile only",
            tags={**tags, **args.role_tags},
            opts=self._child(),
        )

        prefix = naming.team_prefix(team.name)
        queue_arns = pulumi.Output.all(*[args.job_queue_arns[k] for k in sorted(kinds)])
        document = pulumi.Output.all(
            where=self._aws.where,
            bucket_arn=args.bucket_arn,
            kms_key_arn=args.kms_key_arn,
            job_queue_arns=queue_arns,
            job_role_arn=args.job_role_arn,
            job_log_group_arn=args.job_log_group_arn,
            fargate_execution_role_arn=args.fargate_execution_role_arn,
            profile_parameter_arn=parameter.arn,
            extra=pulumi.Output.all(*args.extra_statements),
        ).apply(
            lambda v: json.dumps(
                policies.data_scientist_policy(
                    partition=v["where"]["partition"],
                    region=v["where"]["region"],
                    account_id=v["where"]["account_id"],
                    bucket_arn=v["bucket_arn"],
                    team_prefix=prefix,
                    kms_key_arn=v["kms_key_arn"],
                    job_queue_arns=list(v["job_queue_arns"]),
                    job_definition_prefix=naming.job_definition_prefix(args.environment, team.name),
                    job_log_group=naming.job_log_group(args.environment, team.name),
                    job_log_group_arn=v["job_log_group_arn"],
                    job_role_arn=v["job_role_arn"],
                    profile_parameter_arn=v["profile_parameter_arn"],
                    fargate_execution_role_arn=v["fargate_execution_role_arn"],
                    kms_via_service=iam.s3_via_service(v["where"]["region"], v["where"]["dns_suffix"]),
                    own_role_arn=(
                        f"arn:{v['where']['partition']}:iam::{v['where']['account_id']}:role/"
                        f"{naming.data_scientist_role(args.environment, team.name)}"
                    ),
                    extra_statements=[s for statements in v["extra"] for s in statements],
                )
            )
        )
        aws.iam.RolePolicy(f"{name}-data-scientist", role=role.id, name="team-access", policy=document, opts=self._child())

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
