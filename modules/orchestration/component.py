"""The orchestration layer: what Metaflow's ``step-functions create`` needs in an environment.

Per team: a Step Functions execution role, an EventBridge role for ``@schedule``, a DynamoDB table for
Metaflow's foreach state, and a state-machine name prefix; for the environment: the execution-history log
group (with its log-delivery resource policy). State machines and schedule rules themselves are created by
data scientists (Metaflow), not here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from core import iam, naming
from core.settings import LOG_RETENTION_DAYS
from modules.base import Component, LayerArgs, LogKeyArgs, ProtectArgs
from modules.orchestration import policies
from modules.orchestration.settings import OrchestrationSettings


@dataclass
class OrchestrationArgs(LayerArgs, ProtectArgs, LogKeyArgs):
    """Inputs of :class:`Orchestration`. ``environment`` is part of the table, role, log group and state-machine
    prefix names; ``protect`` also turns on DynamoDB deletion protection on the state tables;
    ``log_kms_key_arn`` encrypts the execution-history log group."""

    settings: OrchestrationSettings
    """``strata:orchestration``: ``log_retention_days`` of the execution-history log group."""
    teams: Sequence[str]
    """Team names of this environment; each gets its roles, its table and ``naming.state_machine_prefix(env, team)``."""
    job_queue_arns: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """team -> queue kind -> queue ARN (``Compute.job_queue_arns``): the only queues the team's Step Functions
    role may submit to. Must have exactly the teams of ``teams``."""
    job_role_arns: Mapping[str, pulumi.Input[str]]
    """team -> its Batch job role (``Compute.job_role_arns``, named ``naming.job_role(env, team)``); each gets
    an inline policy for the team's state table, which Metaflow's tasks read and write."""
    kms_key_arn: pulumi.Input[str]
    """The platform's KMS key (the datastore key): encrypts the state tables."""
    cost_centers: Mapping[str, str] = field(default_factory=dict)
    """team -> its cost center: a team's table and roles are billed to it (the ``cost-center`` tag)."""


class Orchestration(Component):
    """Per team: Step Functions role, EventBridge schedule role, foreach state table, prefix. One log group."""

    step_functions_role_arns: dict[str, pulumi.Output[str]]
    """team -> ``METAFLOW_SFN_IAM_ROLE``."""
    eventbridge_role_arns: dict[str, pulumi.Output[str]]
    """team -> ``METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE``."""
    state_table_names: dict[str, pulumi.Output[str]]
    """team -> ``METAFLOW_SFN_DYNAMO_DB_TABLE``."""
    state_table_arns: dict[str, pulumi.Output[str]]
    log_group_name: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    execution_log_group_arn: pulumi.Output[str]
    """``METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN`` (the log group ARN with ``:*``, as Step Functions wants it)."""
    state_machine_prefixes: dict[str, str]
    """team -> ``METAFLOW_SFN_STATE_MACHINE_PREFIX``."""
    data_scientist_statements: dict[str, pulumi.Output[list[iam.Statement]]]
    """team -> what its data-scientist role may do here (``policies.data_scientist_statements``): its own state
    machines, executions and schedule rules, passing its own two roles above each to its service only. The
    program hands them to the team (``TeamArgs.extra_statements``)."""

    def __init__(self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:orchestration:Orchestration", name, None, opts)
        teams = list(args.teams)
        if not teams:
            raise ValueError(f"Orchestration {name!r}: an environment without teams needs no orchestration")
        if len(set(teams)) != len(teams):
            raise ValueError(f"Orchestration {name!r}: duplicate team names in {teams}")
        for what, mapping in (("job_queue_arns", args.job_queue_arns), ("job_role_arns", args.job_role_arns)):
            if set(mapping) != set(teams):
                raise ValueError(
                    f"Orchestration {name!r}: {what} must have exactly the teams {sorted(teams)}; got {sorted(mapping)}"
                )
        if args.settings.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"Orchestration {name!r}: log_retention_days {args.settings.log_retention_days} is not a CloudWatch retention"
            )

        self._name, self._args = name, args
        env = args.environment
        tags = dict(args.tags)
        where = self._aws.where
        self.state_machine_prefixes = {team: naming.state_machine_prefix(env, team) for team in teams}
        # Checked pairwise: no team's prefix starts another's (the IAM patterns below rely on it).
        policies.team_name_prefixes({team: naming.state_machine_name_prefix(env, team) for team in teams})
        self._dynamodb_via = where.apply(lambda w: policies.dynamodb_via_service(w["region"], w["dns_suffix"]))

        # Stateful, and kept: the environment's shared foreach table of releases before per-team tables. An
        # execution started before the upgrade still reads its foreach state from here, so it is neither deleted
        # nor emptied; no role is granted it any more. Its logical name must never change (URN stability).
        self._table("state-table", naming.state_table(env), tags)

        # Encrypted with the log key when one is given, else with CloudWatch Logs' default encryption; never
        # with the datastore key: CloudWatch Logs can use a customer managed key only if the key policy lets
        # the logs.<region> service principal use it, and the datastore key keeps the default key policy
        # (account root, delegating to IAM), through which a service principal cannot be granted.
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-log-group",
            name=naming.step_functions_log_group(env),
            retention_in_days=args.settings.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            tags=tags,
            opts=self._child(),
        )
        # Deploy time, not run time: with this resource policy in place no state machine's role needs the
        # account-wide logs:PutResourcePolicy to deliver execution history.
        aws.cloudwatch.LogResourcePolicy(
            f"{name}-log-delivery",
            policy_name=naming.step_functions_log_policy(env),
            policy_document=pulumi.Output.all(w=where, arn=log_group.arn).apply(
                lambda v: json.dumps(
                    policies.log_delivery_policy(v["w"]["partition"], v["w"]["region"], v["w"]["account_id"], v["arn"])
                )
            ),
            opts=self._child(),
        )

        self.step_functions_role_arns, self.eventbridge_role_arns = {}, {}
        self.state_table_names, self.state_table_arns = {}, {}
        self.data_scientist_statements = {}
        for team in teams:
            self._team(team, tags)

        self.log_group_name = log_group.name
        self.log_group_arn = log_group.arn
        self.execution_log_group_arn = log_group.arn.apply(policies.execution_log_group_arn)
        self.register_outputs(
            {
                "step_functions_role_arns": self.step_functions_role_arns,
                "eventbridge_role_arns": self.eventbridge_role_arns,
                "state_table_names": self.state_table_names,
                "state_table_arns": self.state_table_arns,
                "log_group_name": self.log_group_name,
                "log_group_arn": self.log_group_arn,
                "execution_log_group_arn": self.execution_log_group_arn,
                "state_machine_prefixes": self.state_machine_prefixes,
            }
        )

    def _table(self, suffix: str, table_name: str, tags: Mapping[str, str]) -> aws.dynamodb.Table:
        """A foreach state table in Metaflow's schema. Stateful: an execution in flight reads the foreach
        cardinality and parent task ids from it."""
        args = self._args
        return aws.dynamodb.Table(
            f"{self._name}-{suffix}",
            name=table_name,
            # On demand: no capacity to size or pay for while idle (storage only, first 25 GB free).
            # Metaflow writes a handful of small items per foreach; provisioned capacity would bill
            # by the hour and throttle a 20,000-way fan-out.
            billing_mode="PAY_PER_REQUEST",
            hash_key=policies.STATE_TABLE_HASH_KEY,
            attributes=[{"name": policies.STATE_TABLE_HASH_KEY, "type": "S"}],
            # Metaflow stamps every item with an expiry (workflow timeout + 90 days); TTL deletes are free.
            ttl={"attribute_name": policies.STATE_TABLE_TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True},
            # The platform key, not the AWS-owned default: key use is in CloudTrail and revocable.
            server_side_encryption={"enabled": True, "kms_key_arn": args.kms_key_arn},
            deletion_protection_enabled=args.protect,
            tags=dict(tags),
            opts=self._stateful(args.protect),
        )

    def _team(self, team: str, platform_tags: Mapping[str, str]) -> None:
        """One team's table, Step Functions role, EventBridge role, and its job role's grant on the table."""
        args, n, env, where = self._args, self._name, self._args.environment, self._aws.where
        tags = {**platform_tags, naming.TEAM_TAG: team}
        if team in args.cost_centers:
            tags["cost-center"] = args.cost_centers[team]
        child = self._child()
        name_prefix = naming.state_machine_name_prefix(env, team)
        table = self._table(f"{team}-state-table", naming.team_state_table(env, team), tags)

        sfn_role = aws.iam.Role(
            f"{n}-{team}-step-functions",
            name=naming.step_functions_role(env, team),
            assume_role_policy=where.apply(
                lambda w: json.dumps(
                    policies.step_functions_trust_policy(w["partition"], w["region"], w["account_id"], name_prefix)
                )
            ),
            description=f"Strata {env}: execution role of team {team}'s Metaflow state machines (its queues and table)",
            tags=tags,
            opts=child,
        )
        queues = pulumi.Output.all(*args.job_queue_arns[team].values())
        aws.iam.RolePolicy(
            f"{n}-{team}-step-functions",
            role=sfn_role.id,
            name="metaflow-state-machines",
            policy=pulumi.Output.all(w=where, queues=queues, table=table.arn, key=args.kms_key_arn, via=self._dynamodb_via).apply(
                lambda v: json.dumps(
                    policies.step_functions_role_policy(
                        partition=v["w"]["partition"],
                        region=v["w"]["region"],
                        account_id=v["w"]["account_id"],
                        team=team,
                        job_queue_arns=list(v["queues"]),
                        job_definition_prefix=naming.job_definition_prefix(env, team),
                        state_table_arn=v["table"],
                        kms_key_arn=v["key"],
                        dynamodb_via=v["via"],
                    )
                )
            ),
            opts=child,
        )

        events_role = aws.iam.Role(
            f"{n}-{team}-eventbridge",
            name=naming.eventbridge_role(env, team),
            assume_role_policy=where.apply(
                lambda w: json.dumps(policies.eventbridge_trust_policy(w["partition"], w["region"], w["account_id"], name_prefix))
            ),
            description=f"Strata {env}: team {team}'s EventBridge schedules may start its state machines, nothing else",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{n}-{team}-eventbridge",
            role=events_role.id,
            name="start-team-state-machines",
            policy=where.apply(
                lambda w: json.dumps(
                    policies.eventbridge_role_policy(
                        partition=w["partition"], region=w["region"], account_id=w["account_id"], name_prefix=name_prefix
                    )
                )
            ),
            opts=child,
        )

        # Metaflow's Batch tasks write the foreach state; the job roles belong to the compute layer, so
        # the grant is an inline policy of its own (named after its purpose) on each team's role.
        def job_role_name(_arn: str) -> str:
            return naming.job_role(env, team)

        aws.iam.RolePolicy(
            f"{n}-job-{team}",
            # The compute layer names job roles naming.job_role(); going through the role's ARN Output
            # makes this policy wait for the role (and fail with it).
            role=pulumi.Output.from_input(args.job_role_arns[team]).apply(job_role_name),
            name="sfn-state-table",
            policy=pulumi.Output.all(table=table.arn, key=args.kms_key_arn, via=self._dynamodb_via).apply(
                lambda v: json.dumps(
                    policies.job_role_state_table_policy(state_table_arn=v["table"], kms_key_arn=v["key"], dynamodb_via=v["via"])
                )
            ),
            opts=child,
        )

        self.step_functions_role_arns[team] = sfn_role.arn
        self.eventbridge_role_arns[team] = events_role.arn
        self.state_table_names[team] = table.name
        self.state_table_arns[team] = table.arn
        roles = pulumi.Output.all(w=where, sfn=sfn_role.arn, events=events_role.arn)
        self.data_scientist_statements[team] = roles.apply(_data_scientist_statements(env, team))


def _data_scientist_statements(env: str, team: str) -> Callable[[dict[str, Any]], list[iam.Statement]]:
    """``{"w": where, "sfn": role ARN, "events": role ARN}`` -> the team's statements (for an ``apply``)."""
    name_prefix = naming.state_machine_name_prefix(env, team)

    def statements(v: dict[str, Any]) -> list[iam.Statement]:
        return policies.data_scientist_statements(
            partition=v["w"]["partition"],
            region=v["w"]["region"],
            account_id=v["w"]["account_id"],
            team=team,
            name_prefix=name_prefix,
            step_functions_role_arn=v["sfn"],
            eventbridge_role_arn=v["events"],
        )

    return statements
