"""The observability and cost-control layer: the environment's log key, log retention, dashboard, alarms,
per-team failed-job alerts, budgets and cost-allocation tags.

Two components, because the key must exist before every other layer's log group while the dashboard,
alarms and rules need every other layer's names:

* :class:`ObservabilityKey` (``strata:observability:ObservabilityKey``) — declared first; its
  ``key_arn`` is passed to each layer that creates a log group (network flow logs, Step Functions,
  the metadata service) and to :class:`Observability`.
* :class:`Observability` (``strata:observability:Observability``) — declared last.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from core import naming
from core.settings import Team
from modules.base import Component, LayerArgs, ProtectArgs
from modules.observability import alarms, budgets, dashboard, policies
from modules.observability.settings import REQUIRED_TAG_KEYS, ObservabilitySettings
from modules.observability.signals import (
    DatabaseSignals,
    MetadataSignals,
    ServingSignals,
    Signals,
    TeamSignals,
    WarehouseSignals,
)

# ------------------------------------------------------------------------------------------ the key


@dataclass
class ObservabilityKeyArgs(LayerArgs, ProtectArgs):
    """Inputs of :class:`ObservabilityKey`. ``environment`` is part of the key's alias; ``protect`` covers the
    key (logs it encrypted stay readable); ``tags`` go on the key."""


class ObservabilityKey(Component):
    """One customer managed KMS key for the environment's log groups and alert topics ($1/month)."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:observability:ObservabilityKey", name, None, opts)
        # A key of its own rather than the datastore key: the datastore key's policy stays the AWS
        # default (IAM decides who reads data), and this one names the log and alerting services.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Strata {args.environment}: encrypts CloudWatch log groups and alert topics",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(self._aws.partition, self._aws.dns_suffix, self._aws.account_id, self._aws.region).apply(
                lambda v: json.dumps(
                    policies.key_policy(partition=v[0], dns_suffix=v[1], account_id=v[2], region=v[3]), sort_keys=True
                )
            ),
            tags=dict(args.tags),
            # Logs encrypted with a deleted key can never be read again: stateful.
            opts=self._stateful(args.protect),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=naming.observability_key_alias(args.environment),
            target_key_id=key.key_id,
            opts=self._child(),
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id})


# ------------------------------------------------------------------------------- the observability


@dataclass
class ObservabilityArgs(LayerArgs):
    """Inputs of :class:`Observability`. ``environment`` is part of every name; ``tags`` go on shared
    resources, team resources add ``team`` and ``cost-center`` from the team."""

    settings: ObservabilitySettings
    """``strata:observability``: alert e-mails, environment budget, retention, thresholds, switches."""
    teams: Sequence[Team]
    """Teams of the environment: each gets a topic (its ``contacts``), a failed-jobs rule, an alarm and a
    budget (its ``monthly_budget_usd``, required here)."""
    job_queue_arns: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """``Compute.job_queue_arns``: team -> kind -> queue ARN. Every team in ``teams`` needs >= 1 queue."""
    kms_key_arn: pulumi.Input[str]
    """``ObservabilityKey.key_arn``: encrypts the Batch log group and every topic."""
    metadata: MetadataSignals[pulumi.Input[str]] | None = None
    """The metadata layer's API, load balancer and ECS names (fields may be Inputs); None until it exists."""
    database: DatabaseSignals[pulumi.Input[str]] | None = None
    """The metadata database (``identifier`` may be an Input); None until it exists."""
    warehouse: WarehouseSignals[pulumi.Input[str]] | None = None
    """The warehouse (``name`` may be an Input); None until it exists."""
    serving: ServingSignals | None = None
    """Model serving's cluster and team namespaces (plain names): a dashboard section and a per-team errors alarm."""


class Observability(Component):
    """Batch log group, alert topics, failed-job rules, alarms, dashboard, budgets, cost-allocation tags."""

    alarm_topic_arn: pulumi.Output[str]
    team_topic_arns: dict[str, pulumi.Output[str]]
    failed_jobs_rule_arns: dict[str, pulumi.Output[str]]
    alarm_arns: dict[str, pulumi.Output[str]]
    dashboard_name: pulumi.Output[str] | None
    batch_log_group_name: pulumi.Output[str] | None
    budget_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)  # before registering anything
        super().__init__("strata:observability:Observability", name, None, opts)
        self._name = name
        env = args.environment
        s = args.settings
        tags = dict(args.tags)
        partition, account_id, region = self._aws.partition, self._aws.account_id, self._aws.region

        # ---- logs: Batch writes every job's output to /aws/batch/job unless a job definition names
        # another group (Metaflow names none). Owning it gives it a retention (the default is "never
        # expire", billed at $0.03/GB-month forever) and the environment's key.
        self.batch_log_group_name = None
        if s.manage_batch_log_group:
            group = aws.cloudwatch.LogGroup(
                f"{name}-batch-logs",
                name=naming.BATCH_LOG_GROUP,
                retention_in_days=s.log_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=tags,
                opts=self._child(),
            )
            self.batch_log_group_name = group.name

        # ---- the platform's alarm topic
        alarm_topic = aws.sns.Topic(
            f"{name}-alarms",
            name=naming.alarm_topic(env),
            display_name=f"Strata {env} alarms",
            kms_master_key_id=args.kms_key_arn,
            tags=tags,
            opts=self._child(),
        )
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=alarm_topic.arn,
            policy=pulumi.Output.all(alarm_topic.arn, partition, account_id, region).apply(
                lambda v: json.dumps(
                    policies.alarm_topic_policy(
                        topic_arn=v[0], partition=v[1], account_id=v[2], region=v[3], alarm_prefix=naming.alarm_prefix(env)
                    ),
                    sort_keys=True,
                )
            ),
            opts=self._child(),
        )
        for email in s.alert_emails:
            self._email(f"{name}-alarms-{email}", alarm_topic, email)
        self.alarm_topic_arn = alarm_topic.arn

        # ---- per team: topic (its contacts) <- rule (its FAILED jobs), and only that rule may publish
        self.team_topic_arns = {}
        self.failed_jobs_rule_arns = {}
        message_paths, message_template = policies.failed_job_message(env)
        for team in args.teams:
            team_tags = {**tags, "team": team.name, "cost-center": team.cost_center}
            queue_arns = list(args.job_queue_arns[team.name].values())
            topic = aws.sns.Topic(
                f"{name}-{team.name}-alerts",
                name=naming.team_topic(env, team.name),
                display_name=f"Strata {env} {team.name}",
                kms_master_key_id=args.kms_key_arn,
                tags=team_tags,
                opts=self._child(),
            )
            for email in team.contacts:
                self._email(f"{name}-{team.name}-alerts-{email}", topic, email)
            rule = aws.cloudwatch.EventRule(
                f"{name}-{team.name}-batch-failed",
                name=naming.failed_jobs_rule(env, team.name),
                description=f"Strata {env}: FAILED Batch jobs of team {team.name}, to its topic",
                event_pattern=pulumi.Output.all(*queue_arns).apply(
                    lambda arns: json.dumps(policies.failed_jobs_pattern(arns), sort_keys=True)
                ),
                tags=team_tags,
                opts=self._child(),
            )
            topic_policy = aws.sns.TopicPolicy(
                f"{name}-{team.name}-alerts-policy",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, rule.arn).apply(
                    lambda v: json.dumps(policies.team_topic_policy(topic_arn=v[0], rule_arn=v[1]), sort_keys=True)
                ),
                opts=self._child(),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{team.name}-batch-failed-target",
                rule=rule.name,
                target_id="team-topic",
                arn=topic.arn,
                input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                    input_paths=message_paths, input_template=message_template
                ),
                # Deliveries before the topic policy exists would be refused.
                opts=self._child(depends_on=[topic_policy]),
            )
            self.team_topic_arns[team.name] = topic.arn
            self.failed_jobs_rule_arns[team.name] = rule.arn

        # ---- alarms: one resource per spec. The specs only branch on which signals exist, so the other
        # layers' names may still be Outputs here; they go straight into the alarms' dimensions.
        specs = alarms.alarm_specs(
            Signals(
                environment=env,
                region="",  # alarms are regional resources: the provider's region
                teams=tuple(
                    TeamSignals(team=t.name, queues=(), failed_jobs_rule=naming.failed_jobs_rule(env, t.name)) for t in args.teams
                ),
                metadata=args.metadata,
                database=args.database,
                warehouse=args.warehouse,
                serving=args.serving,
            ),
            s.alarms,
        )
        self.alarm_arns = {}
        for spec in specs:
            alarm_team = next((t for t in args.teams if t.name == spec.team), None)
            alarm_tags = {**tags, "team": alarm_team.name, "cost-center": alarm_team.cost_center} if alarm_team else tags
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-{spec.key}",
                name=spec.name,
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=spec.dimensions,
                statistic=spec.statistic,
                period=spec.period,
                evaluation_periods=spec.evaluation_periods,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=[alarm_topic.arn],
                ok_actions=[alarm_topic.arn],
                tags=alarm_tags,
                opts=self._child(),
            )
            self.alarm_arns[spec.key] = alarm.arn

        # ---- the dashboard (a pure function of plain names)
        self.dashboard_name = None
        if s.dashboard:
            resolved = pulumi.Output.all(
                region=region,
                alarm_arns=list(self.alarm_arns.values()),
                queues={t.name: list(args.job_queue_arns[t.name].values()) for t in args.teams},
                metadata=_resolved(args.metadata),
                database=_resolved(args.database),
                warehouse=_resolved(args.warehouse),
            )
            board = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=naming.dashboard(env),
                dashboard_body=resolved.apply(lambda v: json.dumps(_dashboard(env, args.teams, v, args.serving), sort_keys=True)),
                opts=self._child(),
            )
            self.dashboard_name = board.dashboard_name

        # ---- budgets: the environment's and one per team, alerting by e-mail at 80% / 100%
        self.budget_names = {}
        team_budgets: list[tuple[str, float, Sequence[str]]] = []
        for t in args.teams:
            assert t.monthly_budget_usd is not None  # _check
            team_budgets.append((t.name, t.monthly_budget_usd, t.contacts))
        for budget_spec in budgets.budget_specs(env, s.monthly_budget_usd, s.alert_emails, team_budgets):
            budget_team = next((t for t in args.teams if t.name == budget_spec.team), None)
            budget = aws.budgets.Budget(
                f"{name}-budget-{budget_spec.key}",
                name=budget_spec.name,
                budget_type="COST",
                time_unit="MONTHLY",
                limit_amount=budget_spec.limit_amount,
                limit_unit="USD",
                cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[budget_spec.tag_filter])],
                notifications=[aws.budgets.BudgetNotificationArgs(**n) for n in budgets.notifications(budget_spec.emails)],
                tags={**tags, "team": budget_team.name, "cost-center": budget_team.cost_center} if budget_team else tags,
                opts=self._child(),
            )
            self.budget_names[budget_spec.key] = budget.name

        # ---- cost-allocation tags: only the payer account may activate them, and only once the key has
        # been seen on a resource; a budget filtered on a tag that is not active sees $0.
        if s.activate_cost_allocation_tags:
            for key in REQUIRED_TAG_KEYS:
                aws.costexplorer.CostAllocationTag(f"{name}-cost-tag-{key}", tag_key=key, status="Active", opts=self._child())

        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "team_topic_arns": self.team_topic_arns,
                "failed_jobs_rule_arns": self.failed_jobs_rule_arns,
                "alarm_arns": self.alarm_arns,
                "dashboard_name": self.dashboard_name,
                "batch_log_group_name": self.batch_log_group_name,
                "budget_names": self.budget_names,
            }
        )

    def _email(self, logical: str, topic: aws.sns.Topic, email: str) -> None:
        # The address must confirm the subscription (SNS e-mails a link); until then nothing is
        # delivered, and SNS deletes unconfirmed subscriptions after 48 hours — re-run `pulumi up`.
        aws.sns.TopicSubscription(logical, topic=topic.arn, protocol="email", endpoint=email, opts=self._child())


# ---------------------------------------------------------------------------------------- helpers


def _check(args: ObservabilityArgs) -> None:
    for team in args.teams:
        if not args.job_queue_arns.get(team.name):
            raise ValueError(f"Observability: team {team.name!r} has no job queue in job_queue_arns")
        if not team.monthly_budget_usd or team.monthly_budget_usd <= 0:
            raise ValueError(f"Observability: team {team.name!r} has no monthly budget (monthlyBudgetUsd in its team file)")


def _queue_name(arn: str) -> str:
    """``arn:aws:batch:<region>:<account>:job-queue/<name>`` -> ``<name>``."""
    return arn.rsplit("/", 1)[-1]


def _resolved(signal: Any) -> pulumi.Output[Any]:
    """A signals dataclass with Input fields -> an Output of the same dataclass with plain fields."""
    if signal is None:
        return pulumi.Output.from_input(None)
    fields = {f.name: getattr(signal, f.name) for f in dataclasses.fields(signal)}
    return pulumi.Output.all(**fields).apply(lambda v: dataclasses.replace(signal, **v))


def _dashboard(env: str, teams: Sequence[Team], v: dict[str, Any], serving: ServingSignals | None = None) -> dict[str, Any]:
    signals = Signals(
        environment=env,
        region=v["region"],
        teams=tuple(
            TeamSignals(
                team=t.name,
                queues=tuple(sorted(_queue_name(a) for a in v["queues"][t.name])),
                failed_jobs_rule=naming.failed_jobs_rule(env, t.name),
            )
            for t in teams
        ),
        metadata=v["metadata"],
        database=v["database"],
        warehouse=v["warehouse"],
        serving=serving,
    )
    return dashboard.dashboard_body(signals, v["alarm_arns"])
