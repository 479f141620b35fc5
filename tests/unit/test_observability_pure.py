"""modules/observability pure parts: names, policies, event pattern, alarms, budgets, dashboard body."""

from __future__ import annotations

import json
import re

import pytest

from core import naming
from modules.observability import alarms, budgets, dashboard, policies
from modules.observability.settings import AlarmThresholds
from modules.observability.signals import (
    DatabaseKind,
    DatabaseSignals,
    LoadBalancerKind,
    MetadataSignals,
    Signals,
    TeamSignals,
    WarehouseKind,
    WarehouseSignals,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
LONG_ENV, LONG_TEAM = "e" * 12, "t" * 24  # the longest names infra/config.py accepts
FRAUD = TeamSignals(
    team="fraud", queues=("strata-dev-fraud-cpu", "strata-dev-fraud-gpu"), failed_jobs_rule="strata-dev-fraud-batch-failed"
)
RESEARCH = TeamSignals(team="research", queues=("strata-dev-research-cpu",), failed_jobs_rule="strata-dev-research-batch-failed")


def full_signals(**overrides) -> Signals:
    base = dict(
        environment="dev",
        region=REGION,
        teams=(FRAUD, RESEARCH),
        metadata=MetadataSignals(
            rest_api_name="strata-dev-metadata",
            load_balancer="net/strata-dev-md/abc",
            target_group="targetgroup/strata-dev-md/def",
            load_balancer_kind=LoadBalancerKind.NETWORK,
            ecs_cluster="strata-dev",
            ecs_service="metadata",
        ),
        database=DatabaseSignals(kind=DatabaseKind.INSTANCE, identifier="strata-dev-metadata"),
        warehouse=WarehouseSignals(kind=WarehouseKind.PROVISIONED, name="strata-dev-warehouse"),
    )
    return Signals(**{**base, **overrides})


# ------------------------------------------------------------------------------------- names


def test_names_fit_their_services_for_the_longest_env_and_team():
    rule = naming.failed_jobs_rule(LONG_ENV, LONG_TEAM)
    assert len(rule) <= 64 and re.fullmatch(r"[.\-_A-Za-z0-9]+", rule), rule
    for topic in (naming.alarm_topic(LONG_ENV), naming.team_topic(LONG_ENV, LONG_TEAM)):
        assert len(topic) <= 256 and re.fullmatch(r"[-_A-Za-z0-9]+", topic), topic
    for budget in (naming.team_budget(LONG_ENV, LONG_TEAM), naming.environment_budget(LONG_ENV)):
        assert len(budget) <= 100 and ":" not in budget and "\\" not in budget, budget
    assert re.fullmatch(r"[-_A-Za-z0-9]{1,255}", naming.dashboard(LONG_ENV))
    assert naming.alarm("dev", "db-cpu").startswith(naming.alarm_prefix("dev"))


def test_team_and_environment_budget_names_cannot_collide():
    # a team called "environment" still gets a different budget than the environment itself
    assert naming.team_budget("dev", "environment") != naming.environment_budget("dev")


# ---------------------------------------------------------------------------------- policies


def test_key_policy_lets_logs_use_the_key_only_for_this_accounts_log_groups():
    doc = policies.key_policy(partition="aws", account_id=ACCOUNT, region=REGION, dns_suffix="amazonaws.com")
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    logs = by_sid["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}
    }
    assert set(logs["Action"]) == {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}
    publishers = by_sid["AlarmsAndEventsPublishToEncryptedTopics"]
    assert publishers["Principal"] == {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    root = by_sid["AccountAdministersThroughIam"]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    # no statement grants anything to everyone
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in doc["Statement"])


def test_team_topic_accepts_only_its_own_rule():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:strata-dev-fraud-alerts"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/strata-dev-fraud-batch-failed"
    doc = policies.team_topic_policy(topic_arn=topic, rule_arn=rule)
    (statement,) = doc["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sns:Publish" and statement["Resource"] == topic
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}


def test_alarm_topic_accepts_only_this_environments_alarms():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:strata-dev-alarms"
    doc = policies.alarm_topic_policy(
        topic_arn=topic, partition="aws", account_id=ACCOUNT, region=REGION, alarm_prefix="strata-dev-"
    )
    (statement,) = doc["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and statement["Resource"] == topic
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:strata-dev-*"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_failed_jobs_pattern_matches_only_failures_of_the_given_queues():
    queues = [
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-fraud-gpu",
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-fraud-cpu",
    ]
    pattern = policies.failed_jobs_pattern(queues)
    assert pattern == {
        "source": ["aws.batch"],
        "detail-type": ["Batch Job State Change"],
        "detail": {"status": ["FAILED"], "jobQueue": sorted(queues)},
    }
    with pytest.raises(ValueError, match="at least one job queue"):
        policies.failed_jobs_pattern([])


def test_failed_job_message_never_forwards_the_container_environment():
    paths, template = policies.failed_job_message("dev")
    assert all(not p.startswith("$.detail.container") and p != "$.detail" and p != "$" for p in paths.values()), paths
    assert set(re.findall(r"<(\w+)>", template)) == set(paths), template
    assert json.loads(template).startswith("Strata dev: AWS Batch job"), "the template is a JSON string"


# ------------------------------------------------------------------------------------ alarms


def test_alarms_for_every_signal():
    specs = {s.key: s for s in alarms.alarm_specs(full_signals(), AlarmThresholds())}
    assert set(specs) == {
        "fraud-failed-jobs",
        "research-failed-jobs",
        "api-5xx",
        "metadata-unhealthy",
        "db-cpu",
        "db-connections",
        "db-free-storage",
        "warehouse-disk",
        "warehouse-health",
    }
    failed = specs["fraud-failed-jobs"]
    assert (failed.namespace, failed.metric, failed.dimensions) == (
        "AWS/Events",
        "TriggeredRules",
        {"RuleName": FRAUD.failed_jobs_rule},
    )
    assert (failed.statistic, failed.period, failed.threshold, failed.comparison) == (
        "Sum",
        900,
        5,
        "GreaterThanOrEqualToThreshold",
    )
    assert failed.team == "fraud" and failed.name == "strata-dev-fraud-failed-jobs"
    api = specs["api-5xx"]
    assert (api.namespace, api.metric, api.dimensions) == ("AWS/ApiGateway", "5XXError", {"ApiName": "strata-dev-metadata"})
    lb = specs["metadata-unhealthy"]
    assert lb.namespace == "AWS/NetworkELB" and lb.treat_missing_data == "breaching"
    assert lb.dimensions == {"LoadBalancer": "net/strata-dev-md/abc", "TargetGroup": "targetgroup/strata-dev-md/def"}
    storage = specs["db-free-storage"]
    assert storage.threshold == 2 * 1024**3 and storage.comparison == "LessThanThreshold"
    assert specs["db-cpu"].dimensions == {"DBInstanceIdentifier": "strata-dev-metadata"}
    assert specs["warehouse-disk"].dimensions == {"ClusterIdentifier": "strata-dev-warehouse"}
    assert all(s.name.startswith(naming.alarm_prefix("dev")) for s in specs.values())


def test_the_metaflow_ui_gets_health_and_5xx_alarms_and_a_dashboard_widget():
    ui = MetadataSignals(
        rest_api_name="strata-prod-metadata",
        ui_load_balancer="app/strata-prod-ui/111",
        ui_backend_target_group="targetgroup/strata-prod-ui-backend/222",
        ui_static_target_group="targetgroup/strata-prod-ui-static/333",
    )
    specs = {s.key: s for s in alarms.alarm_specs(full_signals(metadata=ui), AlarmThresholds())}
    for part, group in (
        ("backend", "targetgroup/strata-prod-ui-backend/222"),
        ("static", "targetgroup/strata-prod-ui-static/333"),
    ):
        spec = specs[f"ui-{part}-unhealthy"]
        assert (spec.namespace, spec.metric, spec.statistic) == ("AWS/ApplicationELB", "HealthyHostCount", "Minimum"), spec
        assert spec.dimensions == {"LoadBalancer": "app/strata-prod-ui/111", "TargetGroup": group}, spec
        assert spec.treat_missing_data == "breaching" and spec.comparison == "LessThanThreshold", spec
    errors = specs["ui-5xx"]
    assert (errors.metric, errors.dimensions, errors.threshold) == (
        "HTTPCode_Target_5XX_Count",
        {"LoadBalancer": "app/strata-prod-ui/111"},
        5,
    )
    body = json.dumps(dashboard.dashboard_body(full_signals(metadata=ui)))
    assert "Metaflow UI" in body and "targetgroup/strata-prod-ui-backend/222" in body
    without = {s.key for s in alarms.alarm_specs(full_signals(), AlarmThresholds())}
    assert not {k for k in without if k.startswith("ui-")}, without


def test_thresholds_come_from_the_stack():
    t = AlarmThresholds(failed_jobs=10, api_errors=1, db_cpu_percent=90, db_connections=400, db_free_storage_gb=20)
    specs = {s.key: s for s in alarms.alarm_specs(full_signals(), t)}
    assert specs["fraud-failed-jobs"].threshold == 10
    assert specs["api-5xx"].threshold == 1
    assert specs["db-cpu"].threshold == 90 and specs["db-connections"].threshold == 400
    assert specs["db-free-storage"].threshold == 20 * 1024**3


def test_only_teams_are_watched_before_the_other_layers_exist():
    specs = alarms.alarm_specs(full_signals(metadata=None, database=None, warehouse=None), AlarmThresholds())
    assert [s.key for s in specs] == ["fraud-failed-jobs", "research-failed-jobs"]


def test_http_api_aurora_and_serverless_variants():
    specs = {
        s.key: s
        for s in alarms.alarm_specs(
            full_signals(
                metadata=MetadataSignals(http_api_id="a1b2c3"),
                database=DatabaseSignals(kind=DatabaseKind.CLUSTER, identifier="strata-dev-md"),
                warehouse=WarehouseSignals(kind=WarehouseKind.SERVERLESS, name="strata-dev"),
            ),
            AlarmThresholds(),
        )
    }
    assert (specs["api-5xx"].metric, specs["api-5xx"].dimensions) == ("5xx", {"ApiId": "a1b2c3"})
    assert specs["db-cpu"].dimensions == {"DBClusterIdentifier": "strata-dev-md"}
    assert "db-free-storage" not in specs, "Aurora storage grows by itself: no free-storage alarm"
    assert not any(k.startswith("warehouse") for k in specs), "Redshift Serverless gets no alarm"
    assert "metadata-unhealthy" not in specs, "no load balancer, no target-health alarm"


def test_without_a_load_balancer_the_ecs_service_is_the_health_signal():
    """The metadata layer as built: HTTP API -> VPC link -> Cloud Map, no load balancer."""
    http_api = MetadataSignals(http_api_id="a1b2c3", ecs_cluster="strata-dev-metadata", ecs_service="strata-dev-metadata")
    specs = {s.key: s for s in alarms.alarm_specs(full_signals(metadata=http_api), AlarmThresholds())}
    health = specs["metadata-unhealthy"]
    assert (health.namespace, health.metric, health.dimensions) == (
        "AWS/ECS",
        "CPUUtilization",
        {"ClusterName": "strata-dev-metadata", "ServiceName": "strata-dev-metadata"},
    )
    # ECS publishes nothing while the service has no RUNNING task: missing data must alarm.
    assert (health.statistic, health.period, health.evaluation_periods) == ("SampleCount", 60, 5)
    assert (health.threshold, health.comparison, health.treat_missing_data) == (1, "LessThanThreshold", "breaching")
    # a load balancer, when there is one, is the better signal (target health, not just a running task)
    with_lb = {s.key: s for s in alarms.alarm_specs(full_signals(), AlarmThresholds())}
    assert with_lb["metadata-unhealthy"].namespace == "AWS/NetworkELB"
    # half the ECS names is no signal
    half = MetadataSignals(http_api_id="a1b2c3", ecs_cluster="strata-dev-metadata")
    assert "metadata-unhealthy" not in {s.key for s in alarms.alarm_specs(full_signals(metadata=half), AlarmThresholds())}


# ----------------------------------------------------------------------------------- budgets


def test_budgets_per_team_and_environment_with_80_and_100_percent_alerts():
    specs = budgets.budget_specs(
        "dev", 1500, ["oncall@example.com"], [("fraud", 800, ["fraud@example.com"]), ("research", 300, ["r@example.com"])]
    )
    by_key = {s.key: s for s in specs}
    assert set(by_key) == {"environment", "fraud", "research"}
    fraud = by_key["fraud"]
    assert (fraud.name, fraud.limit_amount, fraud.tag_filter, fraud.emails) == (
        "strata-dev-team-fraud",
        "800.00",
        "user:team$fraud",
        ("fraud@example.com",),
    )
    env = by_key["environment"]
    assert (env.tag_filter, env.limit_amount, env.emails) == ("user:environment$dev", "1500.00", ("oncall@example.com",))
    notes = budgets.notifications(fraud.emails)
    assert [(n["notification_type"], n["threshold"]) for n in notes] == [
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    ]
    assert all(n["threshold_type"] == "PERCENTAGE" and n["comparison_operator"] == "GREATER_THAN" for n in notes)
    assert all(n["subscriber_email_addresses"] == ["fraud@example.com"] for n in notes)


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        ([("fraud", 0, ["a@example.com"])], "must be > 0"),
        ([("fraud", 10, [])], "1-10 e-mail subscribers"),
        ([("fraud", 10, [f"a{i}@example.com" for i in range(11)])], "1-10 e-mail subscribers"),
    ],
)
def test_budget_specs_refuse_what_aws_would(teams, message):
    with pytest.raises(ValueError, match=message):
        budgets.budget_specs("dev", 100, ["oncall@example.com"], teams)


# --------------------------------------------------------------------------------- dashboard


def widget_titles(body: dict) -> list[str]:
    return [w["properties"].get("title") or w["properties"].get("markdown", "") for w in body["widgets"]]


def test_dashboard_covers_batch_metadata_database_and_warehouse():
    arns = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:strata-dev-db-cpu"]
    body = dashboard.dashboard_body(full_signals(), arns)
    json.dumps(body)  # serialisable as is
    widgets = body["widgets"]
    alarm_widget = next(w for w in widgets if w["type"] == "alarm")
    assert alarm_widget["properties"]["alarms"] == arns
    failed = next(w for w in widgets if w["properties"].get("title") == "Failed jobs per team (FAILED events)")
    assert failed["properties"]["metrics"] == [
        ["AWS/Events", "TriggeredRules", "RuleName", FRAUD.failed_jobs_rule, {"label": "fraud"}],
        ["AWS/Events", "TriggeredRules", "RuleName", RESEARCH.failed_jobs_rule, {"label": "research"}],
    ]
    fraud = next(w for w in widgets if w["properties"].get("title", "").startswith("fraud:"))
    expressions = [m[0]["expression"] for m in fraud["properties"]["metrics"]]
    assert expressions == [
        "SEARCH('{AWS/Batch,JobQueueName} JobQueueName=\"strata-dev-fraud-cpu\"', 'Sum', 300)",
        "SEARCH('{AWS/Batch,JobQueueName} JobQueueName=\"strata-dev-fraud-gpu\"', 'Sum', 300)",
    ]
    metrics = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"] if isinstance(m[0], str)]
    namespaces_metrics = {(m[0], m[1]) for m in metrics}
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/NetworkELB", "HealthyHostCount"),
        ("AWS/NetworkELB", "UnHealthyHostCount"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/Redshift", "PercentageDiskSpaceUsed"),
        ("AWS/Redshift", "HealthStatus"),
    } <= namespaces_metrics
    assert all(w["properties"]["region"] == REGION for w in widgets if w["type"] == "metric")


def test_dashboard_says_which_layers_are_not_deployed():
    body = dashboard.dashboard_body(full_signals(metadata=None, database=None, warehouse=None))
    texts = widget_titles(body)
    for layer in ("metadata service", "metadata database", "warehouse"):
        assert any(f"The {layer} is not deployed in this environment." in t for t in texts), (layer, texts)
    assert not any(w["type"] == "alarm" for w in body["widgets"]), "no alarms, no alarm widget"


def test_dashboard_serverless_warehouse_uses_a_search_on_its_workgroup():
    body = dashboard.dashboard_body(full_signals(warehouse=WarehouseSignals(kind=WarehouseKind.SERVERLESS, name="strata-dev")))
    w = next(w for w in body["widgets"] if w["properties"].get("title", "").startswith("Redshift Serverless"))
    assert w["properties"]["metrics"][0][0]["expression"] == (
        "SEARCH('{AWS/Redshift-Serverless,Workgroup} Workgroup=\"strata-dev\"', 'Average', 300)"
    )


def test_dashboard_layout_stays_on_the_grid_and_never_overlaps():
    body = dashboard.dashboard_body(full_signals(teams=tuple(FRAUD for _ in range(7))), ["a"] * 150)
    cells: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        assert 0 <= w["x"] and w["x"] + w["width"] <= dashboard.GRID, w
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"overlap at {(x, y)}: {w}"
                cells.add((x, y))
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == dashboard.MAX_ALARMS_PER_WIDGET


def test_metric_count():
    body = dashboard.dashboard_body(full_signals(metadata=None, database=None, warehouse=None))
    # failed-jobs widget (2 teams) + fraud (2 queues) + research (1 queue)
    assert dashboard.metric_count(body) == 5


# ------------------------------------------------------------------------------ idle cost


def test_idle_cost_charges_alarms_and_dashboards_beyond_the_free_tier():
    from tools.cost import idle_lines, total

    alarm, board = "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard"
    assert total(idle_lines([(alarm, f"a{i}", {}) for i in range(10)] + [(board, "d", {})])) == 0, "inside the free tier"
    lines = idle_lines([(alarm, f"a{i}", {}) for i in range(13)] + [(board, f"d{i}", {}) for i in range(4)])
    assert [(line.item, round(line.monthly, 2)) for line in lines] == [
        ("CloudWatch alarms x 3 beyond the free 10", 0.30),
        ("CloudWatch dashboards x 1 beyond the free 3", 3.00),
    ]
    # budgets, topics, rules and cost-allocation tags cost nothing at idle
    free = ["aws:budgets/budget:Budget", "aws:sns/topic:Topic", "aws:cloudwatch/eventRule:EventRule"]
    assert total(idle_lines([(t, "x", {}) for t in free])) == 0
