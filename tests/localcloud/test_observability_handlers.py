"""The local engine's observability types, really created in moto: SNS topics, policies and
subscriptions, EventBridge rules and targets, CloudWatch alarms and dashboards, Budgets — and the
provider's default tags (aws:defaultTags) landing on every taggable resource."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import config as runtime_config

from core.settings import Team
from localcloud import LocalEngine, RecordingMonitor
from localcloud import default_tags as dt
from localcloud.engine import NOT_EMULATED, LocalEngineError
from modules.observability.component import Observability, ObservabilityArgs, ObservabilityKey, ObservabilityKeyArgs
from modules.observability.settings import ObservabilitySettings
from modules.observability.signals import DatabaseKind, DatabaseSignals

ACCOUNT_QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/strata-hdl-{}-cpu"
DEFAULT_TAGS = {"environment": "hdl", "team": "platform", "cost-center": "platform", "managed-by": "strata"}


@contextmanager
def stack_config(values: dict[str, str]) -> Iterator[None]:
    """Pulumi runtime config as the CLI passes it (objects as JSON), restored afterwards."""
    before = dict(runtime_config.CONFIG.get())
    runtime_config.set_all_config({**before, **values})
    try:
        yield
    finally:
        runtime_config.set_all_config(before)


def default_tags_config(tags: dict[str, str]) -> dict[str, str]:
    return {dt.CONFIG_KEY: json.dumps({"tags": tags})}


def run(engine: LocalEngine, program) -> dict:
    """Deploy ``program`` (module-scoped fixtures cannot use conftest's function-scoped ``deploy``)."""
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(engine, project="strata", stack="t", preview=False, monitor=RecordingMonitor(engine))
    resolved: dict = {}

    @pulumi.runtime.test
    def _run():
        return pulumi.Output.from_input(program()).apply(resolved.update)

    _run()
    return resolved


# ------------------------------------------------------------------------------ the component


@pytest.fixture(scope="module")
def observed(moto_server):
    """The observability layer of a two-team environment `hdl`, deployed once into the shared moto server."""
    engine = LocalEngine(moto_server.endpoint)
    teams = [
        Team("alpha", "cc-1", ("alpha@example.com",), 10, 8, 0, ("arn:aws:iam::123456789012:root",), 40),
        Team("beta", "cc-2", ("beta@example.com", "beta2@example.com"), 10, 8, 0, ("arn:aws:iam::123456789012:root",), 60),
    ]

    def program():
        key = ObservabilityKey("hdl-obs-key", ObservabilityKeyArgs(environment="hdl", protect=False, tags={"environment": "hdl"}))
        obs = Observability(
            "hdl-obs",
            ObservabilityArgs(
                environment="hdl",
                settings=ObservabilitySettings(
                    alert_emails=("oncall@example.com",), monthly_budget_usd=100, activate_cost_allocation_tags=True
                ),
                teams=teams,
                job_queue_arns={t.name: {"cpu": ACCOUNT_QUEUE.format(t.name)} for t in teams},
                kms_key_arn=key.key_arn,
                tags={"environment": "hdl", "managed-by": "strata"},
                database=DatabaseSignals(kind=DatabaseKind.INSTANCE, identifier="strata-hdl-md"),
            ),
        )
        return {"key": key.key_arn, "alarm_topic": obs.alarm_topic_arn, "team_topics": obs.team_topic_arns}

    with stack_config(default_tags_config(DEFAULT_TAGS)):
        outputs = run(engine, program)
    return engine, outputs


def test_key_policy_lands_in_kms(observed, cloud):
    _, outputs = observed
    policy = json.loads(cloud("kms").get_key_policy(KeyId=outputs["key"], PolicyName="default")["Policy"])
    sids = {s["Sid"] for s in policy["Statement"]}
    assert "CloudWatchLogsEncryptsThisAccountsLogGroups" in sids, outputs["key"]


def test_batch_log_group_with_retention_and_key(observed, cloud):
    _, outputs = observed
    (group,) = cloud("logs").describe_log_groups(logGroupNamePrefix="/aws/batch/job")["logGroups"]
    assert group["retentionInDays"] == 30 and group["kmsKeyId"] == outputs["key"], group


def test_topics_are_encrypted_and_subscribed(observed, cloud):
    _, outputs = observed
    sns = cloud("sns")
    alarm = sns.get_topic_attributes(TopicArn=outputs["alarm_topic"])["Attributes"]
    assert alarm["KmsMasterKeyId"] == outputs["key"], alarm
    assert json.loads(alarm["Policy"])["Statement"][0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    beta = outputs["team_topics"]["beta"]
    subs = sns.list_subscriptions_by_topic(TopicArn=beta)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subs) == [("email", "beta2@example.com"), ("email", "beta@example.com")]
    policy = json.loads(sns.get_topic_attributes(TopicArn=beta)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":rule/strata-hdl-beta-batch-failed")


def test_failed_job_rule_targets_the_team_topic_with_a_transformed_message(observed, cloud):
    _, outputs = observed
    events = cloud("events")
    rule = events.describe_rule(Name="strata-hdl-alpha-batch-failed")
    assert json.loads(rule["EventPattern"])["detail"] == {"status": ["FAILED"], "jobQueue": [ACCOUNT_QUEUE.format("alpha")]}
    (target,) = events.list_targets_by_rule(Rule="strata-hdl-alpha-batch-failed")["Targets"]
    assert target["Arn"] == outputs["team_topics"]["alpha"] and target["Id"] == "team-topic"
    assert target["InputTransformer"]["InputPathsMap"]["job"] == "$.detail.jobName", target


def test_alarms_dashboard_and_budgets_exist(observed, cloud):
    _, outputs = observed
    alarms = {a["AlarmName"]: a for a in cloud("cloudwatch").describe_alarms(AlarmNamePrefix="strata-hdl-")["MetricAlarms"]}
    assert set(alarms) == {
        "strata-hdl-alpha-failed-jobs",
        "strata-hdl-beta-failed-jobs",
        "strata-hdl-db-cpu",
        "strata-hdl-db-connections",
        "strata-hdl-db-free-storage",
    }
    assert alarms["strata-hdl-db-cpu"]["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "strata-hdl-md"}]
    assert alarms["strata-hdl-db-cpu"]["AlarmActions"] == [outputs["alarm_topic"]]
    body = json.loads(cloud("cloudwatch").get_dashboard(DashboardName="strata-hdl")["DashboardBody"])
    assert any(w["type"] == "alarm" for w in body["widgets"])
    budgets = cloud("budgets")
    account = cloud("sts").get_caller_identity()["Account"]
    beta = budgets.describe_budget(AccountId=account, BudgetName="strata-hdl-team-beta")["Budget"]
    assert beta["BudgetLimit"] == {"Amount": "60.00", "Unit": "USD"} and beta["CostFilters"] == {
        "TagKeyValue": ["user:team$beta"]
    }
    notes = budgets.describe_notifications_for_budget(AccountId=account, BudgetName="strata-hdl-team-beta")["Notifications"]
    assert sorted((n["NotificationType"], n["Threshold"]) for n in notes) == [
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    ]


def test_cost_allocation_tags_are_declared_not_emulated(observed):
    engine, _ = observed
    not_emulated = {r.name: r.not_emulated_reason for r in engine.not_emulated_used()}
    assert set(not_emulated) == {f"hdl-obs-cost-tag-{k}" for k in ("environment", "team", "cost-center", "managed-by")}
    assert all(reason == NOT_EMULATED["aws:costexplorer/costAllocationTag:CostAllocationTag"] for reason in not_emulated.values())


# ------------------------------------------------------------------------------ default tags


def test_default_tags_are_merged_into_every_taggable_resource(observed, cloud):
    _, outputs = observed
    sns_tags = {
        t["Key"]: t["Value"] for t in cloud("sns").list_tags_for_resource(ResourceArn=outputs["team_topics"]["alpha"])["Tags"]
    }
    # the resource's own team and cost-center win over the provider's defaults
    assert sns_tags == {**DEFAULT_TAGS, "team": "alpha", "cost-center": "cc-1"}, sns_tags
    tagging = cloud("resourcegroupstaggingapi")
    found = tagging.get_resources(TagFilters=[{"Key": "environment", "Values": ["hdl"]}])["ResourceTagMappingList"]
    missing = {
        r["ResourceARN"]: sorted(set(DEFAULT_TAGS) - {t["Key"] for t in r["Tags"]})
        for r in found
        if not set(DEFAULT_TAGS) <= {t["Key"] for t in r["Tags"]}
    }
    assert not missing, missing
    kinds = {r["ResourceARN"].split(":")[2] for r in found}
    assert {"sns", "cloudwatch", "kms", "logs"} <= kinds, kinds


def test_state_reports_tags_all_like_the_provider(moto_server, deploy):
    engine = LocalEngine(moto_server.endpoint)

    def program():
        topic = aws.sns.Topic("dt-topic", tags={"team": "mine"})
        policy_doc = topic.arn.apply(lambda a: json.dumps({"Version": "2012-10-17", "Statement": []}))
        aws.sns.TopicPolicy("dt-topic-policy", arn=topic.arn, policy=policy_doc)
        return {"tags_all": topic.tags_all, "tags": topic.tags}

    with stack_config(default_tags_config({"team": "platform", "environment": "t"})):
        out = deploy(engine, program, monitor=RecordingMonitor(engine))
    assert out["tags"] == {"team": "mine"}
    assert out["tags_all"] == {"team": "mine", "environment": "t"}


def test_an_explicit_providers_default_tags_win_over_the_stack_config(moto_server, deploy, cloud):
    engine = LocalEngine(moto_server.endpoint)

    def program():
        provider = aws.Provider("dt-provider", region="us-east-1", default_tags={"tags": {"owner": "explicit"}})
        topic = aws.sns.Topic("dt-explicit", opts=pulumi.ResourceOptions(provider=provider))
        return {"arn": topic.arn}

    with stack_config(default_tags_config({"owner": "stack"})):
        out = deploy(engine, program, monitor=RecordingMonitor(engine))
    tags = {t["Key"]: t["Value"] for t in cloud("sns").list_tags_for_resource(ResourceArn=out["arn"])["Tags"]}
    assert tags == {"owner": "explicit"}


def test_taggable_types_are_read_from_pulumi_aws():
    assert dt.is_taggable("aws:sns/topic:Topic") and dt.is_taggable("aws:budgets/budget:Budget")
    assert dt.is_taggable("aws:ec2/vpc:Vpc") and dt.is_taggable("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert not dt.is_taggable("aws:iam/rolePolicy:RolePolicy")
    assert not dt.is_taggable("aws:cloudwatch/dashboard:Dashboard"), "CloudWatch dashboards take no tags"
    assert not dt.is_taggable("aws:nosuch/thing:Thing") and not dt.is_taggable("strata:x:Y")
    assert dt.tags_all("aws:iam/rolePolicy:RolePolicy", {"a": "b"}, {"c": "d"}) is None
    assert dt.parse('{"tags": {"a": 1}}') == {"a": "1"} and dt.parse(None) == {}
    with pytest.raises(ValueError, match="object with 'tags'"):
        dt.parse("[1]")


def test_handlers_refuse_what_aws_would_refuse(moto_server, deploy):
    engine = LocalEngine(moto_server.endpoint)

    def bad_dashboard():
        body = json.dumps({"widgets": [{"type": "text", "x": 20, "width": 8, "properties": {"markdown": "x"}}]})
        aws.cloudwatch.Dashboard("dt-bad-board", dashboard_name="dt-bad", dashboard_body=body)
        return {}

    with pytest.raises(LocalEngineError, match="leaves the 24-unit grid"):
        deploy(engine, bad_dashboard)

    def bad_budget():
        aws.budgets.Budget(
            "dt-bad-budget", name="a:b", budget_type="COST", time_unit="MONTHLY", limit_amount="1", limit_unit="USD"
        )
        return {}

    with pytest.raises(LocalEngineError, match="':' and"):
        deploy(engine, bad_budget)
