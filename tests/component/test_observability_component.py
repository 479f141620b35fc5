"""Component tests of modules.observability under Pulumi mocks: the key, the Batch log group, the alert
topics and who may publish to them, the failed-job rules, alarms, dashboard, budgets and
cost-allocation tags — and the network's flow-log group taking the key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from core import capacity
from core.settings import Team
from localcloud.default_tags import is_taggable
from modules.network.component import Network, NetworkArgs
from modules.network.settings import Egress, NetworkMode, NetworkSettings
from modules.observability.component import Observability, ObservabilityArgs, ObservabilityKey, ObservabilityKeyArgs
from modules.observability.settings import AlarmThresholds, ObservabilitySettings
from modules.observability.signals import DatabaseKind, DatabaseSignals, MetadataSignals, WarehouseKind, WarehouseSignals

REGION, ACCOUNT = "us-east-1", "123456789012"
TAGS = {"environment": "dev", "managed-by": "strata", "cost-center": "ml-platform"}
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/observability"
FRAUD = Team("fraud", "cc-4410", ("fraud-ml@example.com", "fraud-lead@example.com"), 20, 64, 16, ("arn:aws:iam::1:root",), 800)
RESEARCH = Team("research", "cc-9000", ("research@example.com",), 5, 32, 0, ("arn:aws:iam::1:root",), 300)
QUEUES = {
    "fraud": {
        "cpu": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-fraud-cpu",
        "gpu": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-fraud-gpu",
    },
    "research": {"cpu": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/strata-dev-research-cpu"},
}
SETTINGS = ObservabilitySettings(alert_emails=("oncall@example.com",), monthly_budget_usd=1500)

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUDGET = "aws:budgets/budget:Budget"
COST_TAG = "aws:costexplorer/costAllocationTag:CostAllocationTag"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"


# ---------------------------------------------------------------- mocks


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str = ""
    parent: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    dependencies: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return _arn(self.typ, self.name, self.inputs)


def _arn(typ: str, name: str, inputs: dict[str, Any]) -> str:
    physical = inputs.get("name") or name
    return {
        TOPIC: f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical}",
        RULE: f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{physical}",
        ALARM: f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{physical}",
        KEY: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
        LOG_GROUP: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}",
    }.get(typ, f"arn:aws:mock:{REGION}:{ACCOUNT}:{physical}")


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, Res] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources[args.name] = Res(args.typ, args.name, dict(args.inputs))
        state = {**args.inputs, "arn": _arn(args.typ, args.name, args.inputs)}
        if args.typ == KEY:
            state["keyId"] = f"{args.name}-key-id"
        return [f"{args.name}_id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        answers = {
            "aws:index/getRegion:getRegion": {"region": REGION, "name": REGION, "id": REGION},
            "aws:index/getCallerIdentity:getCallerIdentity": {"accountId": ACCOUNT, "arn": "x", "userId": "x", "id": ACCOUNT},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {"names": ["us-east-1a", "us-east-1b"], "id": REGION},
            "aws:ec2/getAmi:getAmi": {"id": "ami-1", "architecture": "arm64", "name": "al2023"},
        }
        assert args.token in answers, f"unexpected invoke {args.token}"
        return answers[args.token]


class Monitor(MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, tuple[str, Any]] = {}

    def RegisterResource(self, request):
        self.registrations[request.name] = (self.make_urn(request.parent, request.type, request.name), request)
        return super().RegisterResource(request)


@dataclass
class Deployment:
    resources: dict[str, Res]
    outputs: dict[str, Any]
    component_urn: str

    def of_type(self, typ: str) -> list[Res]:
        return sorted((r for r in self.resources.values() if r.typ == typ), key=lambda r: r.name)

    def one(self, name: str) -> Res:
        assert name in self.resources, f"{name} was not declared; declared: {sorted(self.resources)}"
        return self.resources[name]


def deploy(build) -> Deployment:
    mocks = Mocks()
    monitor = Monitor(mocks)
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack="dev", preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        return pulumi.Output.from_input(build()).apply(outputs.update)

    run()
    component_urn = ""
    for name, (urn, request) in monitor.registrations.items():
        if request.type == "strata:observability:Observability":
            component_urn = urn
        if name in mocks.resources:
            r = mocks.resources[name]
            r.urn, r.parent, r.protect, r.retain_on_delete = urn, request.parent, request.protect, request.retainOnDelete
            r.dependencies = list(request.dependencies)
    return Deployment(mocks.resources, outputs, component_urn)


def observability(settings: ObservabilitySettings = SETTINGS, teams=(FRAUD, RESEARCH), **signals) -> Deployment:
    def build():
        key = ObservabilityKey("obs-key", ObservabilityKeyArgs(environment="dev", protect=True, tags=TAGS))
        obs = Observability(
            "obs",
            ObservabilityArgs(
                environment="dev",
                settings=settings,
                teams=list(teams),
                job_queue_arns={t.name: QUEUES[t.name] for t in teams},
                kms_key_arn=key.key_arn,
                tags=TAGS,
                **signals,
            ),
        )
        return {
            "key": key.key_arn,
            "alarm_topic": obs.alarm_topic_arn,
            "team_topics": obs.team_topic_arns,
            "alarms": obs.alarm_arns,
            "dashboard": obs.dashboard_name,
            "budgets": obs.budget_names,
            "batch_logs": obs.batch_log_group_name,
        }

    return deploy(build)


@pytest.fixture(scope="module")
def d() -> Deployment:
    return observability()


@pytest.fixture(scope="module")
def full() -> Deployment:
    """With every other layer's signals, given as Outputs (as the other layers will pass them)."""
    return observability(
        metadata=MetadataSignals(
            rest_api_name=pulumi.Output.from_input("strata-dev-metadata"),
            load_balancer=pulumi.Output.from_input("app/strata-dev-md/1"),
            target_group=pulumi.Output.from_input("targetgroup/strata-dev-md/2"),
            ecs_cluster="strata-dev",
            ecs_service="metadata",
        ),
        database=DatabaseSignals(kind=DatabaseKind.INSTANCE, identifier=pulumi.Output.from_input("strata-dev-md")),
        warehouse=WarehouseSignals(kind=WarehouseKind.PROVISIONED, name=pulumi.Output.from_input("strata-dev-wh")),
    )


@pytest.fixture(scope="module")
def wired() -> Deployment:
    """The signals as infra/program.py passes them from the Metadata component's outputs: an HTTP API (no
    load balancer), the ECS service, an Aurora cluster."""
    return observability(
        metadata=MetadataSignals(
            http_api_id=pulumi.Output.from_input("a1b2c3d4e5"),
            ecs_cluster=pulumi.Output.from_input("strata-dev-metadata"),
            ecs_service=pulumi.Output.from_input("strata-dev-metadata"),
        ),
        database=DatabaseSignals(kind=DatabaseKind.CLUSTER, identifier=pulumi.Output.from_input("strata-dev-metadata")),
    )


# ---------------------------------------------------------------- the key


def test_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups(d):
    key = d.one("obs-key-key")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30, key.urn
    assert key.protect and key.retain_on_delete, f"{key.urn}: logs encrypted with it must stay readable"
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    logs = statements["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}, key.urn
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*", (
        key.urn
    )
    alias = d.one("obs-key-key-alias")
    assert alias.inputs["name"] == "alias/strata-dev-observability" and alias.inputs["targetKeyId"] == "obs-key-key-key-id", (
        alias.urn
    )
    assert d.outputs["key"] == key.arn


# ---------------------------------------------------------------- logs


def test_batch_log_group_has_retention_and_the_key(d):
    group = d.one("obs-batch-logs")
    assert group.inputs["name"] == "/aws/batch/job", group.urn
    assert group.inputs["retentionInDays"] == 30 and group.inputs["kmsKeyId"] == KEY_ARN.replace(
        "observability", "obs-key-key"
    ), group.urn
    assert d.outputs["batch_logs"] == "/aws/batch/job"


def test_a_second_stack_in_the_account_leaves_the_batch_log_group_alone():
    dep = observability(settings=SETTINGS.model_copy(update={"manage_batch_log_group": False}))
    assert not dep.of_type(LOG_GROUP), [r.urn for r in dep.of_type(LOG_GROUP)]
    assert dep.outputs["batch_logs"] is None


def test_network_flow_log_group_takes_the_key():
    settings = NetworkSettings(mode=NetworkMode.CREATE, cidr="10.20.0.0/16", az_count=2, egress=Egress.NONE)
    plan = capacity.plan_subnets("10.20.0.0/16", 2, capacity.address_demand(cpu_vcpus=64, gpu_vcpus=0, fargate_vcpus=0), False)

    def build():
        net = Network("net", NetworkArgs(environment="dev", settings=settings, subnets=plan, tags=TAGS, log_kms_key_arn=KEY_ARN))
        return {"vpc": net.vpc_id}

    group = deploy(build).one("net-flow-logs")
    assert group.inputs["kmsKeyId"] == KEY_ARN, group.urn


# ---------------------------------------------------------------- alert topics and rules


def test_alarm_topic_is_encrypted_reaches_the_alert_emails_and_takes_only_this_environments_alarms(d):
    topic = d.one("obs-alarms")
    assert topic.inputs["name"] == "strata-dev-alarms" and topic.inputs["kmsMasterKeyId"].endswith("obs-key-key"), topic.urn
    policy = d.one("obs-alarms-policy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert policy.inputs["arn"] == topic.arn and statement["Resource"] == topic.arn, policy.urn
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}, policy.urn
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:strata-dev-*", (
        policy.urn
    )
    subs = [s for s in d.of_type(SUBSCRIPTION) if s.inputs["topic"] == topic.arn]
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subs] == [("email", "oncall@example.com")], [
        s.urn for s in subs
    ]


@pytest.mark.parametrize("team", [FRAUD, RESEARCH], ids=lambda t: t.name)
def test_each_teams_failed_jobs_go_to_its_own_topic_and_only_there(d, team):
    topic = d.one(f"obs-{team.name}-alerts")
    assert topic.inputs["name"] == f"strata-dev-{team.name}-alerts", topic.urn
    assert topic.inputs["kmsMasterKeyId"].endswith("obs-key-key"), topic.urn
    assert topic.inputs["tags"] == {**TAGS, "team": team.name, "cost-center": team.cost_center}, topic.urn
    subs = sorted(s.inputs["endpoint"] for s in d.of_type(SUBSCRIPTION) if s.inputs["topic"] == topic.arn)
    assert subs == sorted(team.contacts), topic.urn

    rule = d.one(f"obs-{team.name}-batch-failed")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.batch"] and pattern["detail-type"] == ["Batch Job State Change"], rule.urn
    assert pattern["detail"]["status"] == ["FAILED"], rule.urn
    assert pattern["detail"]["jobQueue"] == sorted(QUEUES[team.name].values()), f"{rule.urn}: only the team's own queues"

    target = d.one(f"obs-{team.name}-batch-failed-target")
    assert target.inputs["rule"] == rule.inputs["name"] and target.inputs["arn"] == topic.arn, target.urn
    transformer = target.inputs["inputTransformer"]
    assert "$.detail.container.environment" not in json.dumps(transformer), f"{target.urn}: never forward job environments"
    assert set(transformer["inputPaths"]) == {"job", "id", "queue", "reason", "time"}, target.urn
    policy = d.one(f"obs-{team.name}-alerts-policy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}, policy.urn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.arn}}, f"{policy.urn}: only the team's rule"
    assert policy.urn in target.dependencies, f"{target.urn} must wait for the topic policy"


# ---------------------------------------------------------------- alarms


def test_only_team_alarms_before_the_other_layers_exist(d):
    alarms = {a.inputs["name"]: a for a in d.of_type(ALARM)}
    assert set(alarms) == {"strata-dev-fraud-failed-jobs", "strata-dev-research-failed-jobs"}, [a.urn for a in alarms.values()]
    fraud = alarms["strata-dev-fraud-failed-jobs"]
    assert fraud.inputs["namespace"] == "AWS/Events" and fraud.inputs["metricName"] == "TriggeredRules", fraud.urn
    assert fraud.inputs["dimensions"] == {"RuleName": "strata-dev-fraud-batch-failed"}, fraud.urn
    assert fraud.inputs["threshold"] == 5 and fraud.inputs["period"] == 900, fraud.urn
    assert fraud.inputs["alarmActions"] == [d.one("obs-alarms").arn] == fraud.inputs["okActions"], fraud.urn
    assert fraud.inputs["tags"]["team"] == "fraud" and fraud.inputs["tags"]["cost-center"] == "cc-4410", fraud.urn


def test_alarms_on_every_signal_the_other_layers_pass(full):
    alarms = {a.inputs["name"]: a for a in full.of_type(ALARM)}
    assert {
        "strata-dev-api-5xx",
        "strata-dev-metadata-unhealthy",
        "strata-dev-db-cpu",
        "strata-dev-db-connections",
        "strata-dev-db-free-storage",
        "strata-dev-warehouse-disk",
        "strata-dev-warehouse-health",
    } <= set(alarms), sorted(alarms)
    api = alarms["strata-dev-api-5xx"]
    assert api.inputs["dimensions"] == {"ApiName": "strata-dev-metadata"} and api.inputs["metricName"] == "5XXError", api.urn
    lb = alarms["strata-dev-metadata-unhealthy"]
    assert lb.inputs["namespace"] == "AWS/ApplicationELB", lb.urn
    assert lb.inputs["dimensions"] == {"LoadBalancer": "app/strata-dev-md/1", "TargetGroup": "targetgroup/strata-dev-md/2"}, (
        lb.urn
    )
    assert alarms["strata-dev-db-cpu"].inputs["dimensions"] == {"DBInstanceIdentifier": "strata-dev-md"}
    assert alarms["strata-dev-warehouse-disk"].inputs["dimensions"] == {"ClusterIdentifier": "strata-dev-wh"}
    assert all(a.inputs["tags"]["environment"] == "dev" for a in alarms.values())


def test_alarms_on_the_metadata_layer_as_built(wired):
    """Issue 5: the metadata service's 5xx and health, the database's CPU and connections."""
    alarms = {a.inputs["name"]: a for a in wired.of_type(ALARM)}
    topic = wired.one("obs-alarms").arn
    expected = {
        "strata-dev-api-5xx": ("AWS/ApiGateway", "5xx", {"ApiId": "a1b2c3d4e5"}, "Sum", "notBreaching"),
        "strata-dev-metadata-unhealthy": (
            "AWS/ECS",
            "CPUUtilization",
            {"ClusterName": "strata-dev-metadata", "ServiceName": "strata-dev-metadata"},
            "SampleCount",
            "breaching",
        ),
        "strata-dev-db-cpu": (
            "AWS/RDS",
            "CPUUtilization",
            {"DBClusterIdentifier": "strata-dev-metadata"},
            "Average",
            "notBreaching",
        ),
        "strata-dev-db-connections": (
            "AWS/RDS",
            "DatabaseConnections",
            {"DBClusterIdentifier": "strata-dev-metadata"},
            "Maximum",
            "notBreaching",
        ),
    }
    assert set(alarms) == {"strata-dev-fraud-failed-jobs", "strata-dev-research-failed-jobs", *expected}, sorted(alarms)
    for name, (namespace, metric, dimensions, statistic, missing) in expected.items():
        a = alarms[name]
        got = (a.inputs["namespace"], a.inputs["metricName"], a.inputs["dimensions"], a.inputs["statistic"])
        assert got == (namespace, metric, dimensions, statistic), f"{a.urn}: {got}"
        assert a.inputs["treatMissingData"] == missing, a.urn
        assert a.inputs["alarmActions"] == [topic] == a.inputs["okActions"], a.urn
        assert a.inputs["tags"] == TAGS, f"{a.urn}: a platform alarm carries the stack's tags"
    assert alarms["strata-dev-api-5xx"].inputs["threshold"] == 5, alarms["strata-dev-api-5xx"].urn
    assert alarms["strata-dev-db-cpu"].inputs["threshold"] == 80, alarms["strata-dev-db-cpu"].urn
    assert alarms["strata-dev-db-connections"].inputs["threshold"] == 80, alarms["strata-dev-db-connections"].urn


def test_dashboard_shows_the_metadata_layer_as_built(wired):
    board = wired.one("obs-dashboard")
    body = json.loads(board.inputs["dashboardBody"])
    metrics = {
        w["properties"]["title"]: [m for m in w["properties"]["metrics"]] for w in body["widgets"] if w["type"] == "metric"
    }
    assert metrics.get("API requests and errors") == [
        ["AWS/ApiGateway", m, "ApiId", "a1b2c3d4e5"] for m in ("Count", "4xx", "5xx")
    ], f"{board.urn}: {sorted(metrics)}"
    ecs = ["ClusterName", "strata-dev-metadata", "ServiceName", "strata-dev-metadata"]
    assert metrics.get("Service CPU and memory (%)") == [
        ["AWS/ECS", "CPUUtilization", *ecs],
        ["AWS/ECS", "MemoryUtilization", *ecs],
    ], board.urn
    db = ["DBClusterIdentifier", "strata-dev-metadata"]
    assert metrics.get("CPU (%)") == [["AWS/RDS", "CPUUtilization", *db]], board.urn
    assert metrics.get("Connections") == [["AWS/RDS", "DatabaseConnections", *db]], board.urn
    assert metrics.get("Capacity (ACU)") == [["AWS/RDS", "ServerlessDatabaseCapacity", *db]], f"{board.urn}: Aurora capacity"
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(a.arn for a in wired.of_type(ALARM)), board.urn
    text = json.dumps(body)
    assert "is not deployed in this environment" in text and "The warehouse" in text, (
        f"{board.urn}: only the warehouse is missing"
    )
    assert "metadata service is not deployed" not in text and "metadata database is not deployed" not in text, board.urn


def test_alarm_thresholds_come_from_the_stack():
    dep = observability(
        settings=SETTINGS.model_copy(update={"alarms": AlarmThresholds(failed_jobs=10)}),
        database=DatabaseSignals(kind=DatabaseKind.CLUSTER, identifier="strata-dev-md"),
    )
    alarms = {a.inputs["name"]: a for a in dep.of_type(ALARM)}
    assert alarms["strata-dev-fraud-failed-jobs"].inputs["threshold"] == 10
    assert "strata-dev-db-free-storage" not in alarms, "Aurora: no storage alarm"
    assert alarms["strata-dev-db-cpu"].inputs["dimensions"] == {"DBClusterIdentifier": "strata-dev-md"}


# ---------------------------------------------------------------- dashboard


def test_dashboard_watches_every_team_queue_and_the_other_layers(full):
    board = full.one("obs-dashboard")
    assert board.inputs["dashboardName"] == "strata-dev" == full.outputs["dashboard"], board.urn
    body = json.loads(board.inputs["dashboardBody"])
    text = json.dumps(body)
    for arns in QUEUES.values():
        for arn in arns.values():
            assert f'JobQueueName=\\"{arn.rsplit("/", 1)[1]}\\"' in text, f"{board.urn}: {arn}"
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(a.arn for a in full.of_type(ALARM)), board.urn
    for needle in (
        '"ApiName", "strata-dev-metadata"',
        '"DBInstanceIdentifier", "strata-dev-md"',
        '"ClusterIdentifier", "strata-dev-wh"',
    ):
        assert needle in text, f"{board.urn}: {needle}"


def test_no_dashboard_when_the_stack_turns_it_off():
    dep = observability(settings=SETTINGS.model_copy(update={"dashboard": False}))
    assert not dep.of_type(DASHBOARD) and dep.outputs["dashboard"] is None


# ---------------------------------------------------------------- budgets and cost tags


def test_budgets_per_team_and_for_the_environment(d):
    budgets = {b.inputs["name"]: b for b in d.of_type(BUDGET)}
    assert set(budgets) == {"strata-dev-environment", "strata-dev-team-fraud", "strata-dev-team-research"}, sorted(budgets)
    fraud = budgets["strata-dev-team-fraud"]
    assert (fraud.inputs["budgetType"], fraud.inputs["timeUnit"], fraud.inputs["limitUnit"]) == ("COST", "MONTHLY", "USD"), (
        fraud.urn
    )
    assert fraud.inputs["limitAmount"] == "800.00", fraud.urn
    assert fraud.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:team$fraud"]}], fraud.urn
    notes = [(n["notificationType"], n["threshold"], n["subscriberEmailAddresses"]) for n in fraud.inputs["notifications"]]
    contacts = sorted(FRAUD.contacts)
    assert notes == [("ACTUAL", 80, contacts), ("ACTUAL", 100, contacts), ("FORECASTED", 100, contacts)], fraud.urn
    env = budgets["strata-dev-environment"]
    assert env.inputs["limitAmount"] == "1500.00", env.urn
    assert env.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:environment$dev"]}], env.urn
    assert all(n["subscriberEmailAddresses"] == ["oncall@example.com"] for n in env.inputs["notifications"]), env.urn


def test_cost_allocation_tags_only_where_the_stack_activates_them(d):
    assert not d.of_type(COST_TAG)
    dep = observability(settings=SETTINGS.model_copy(update={"activate_cost_allocation_tags": True}))
    tags = dep.of_type(COST_TAG)
    assert sorted((t.inputs["tagKey"], t.inputs["status"]) for t in tags) == [
        ("cost-center", "Active"),
        ("environment", "Active"),
        ("managed-by", "Active"),
        ("team", "Active"),
    ], [t.urn for t in tags]


# ---------------------------------------------------------------- every resource


def test_every_child_is_parented_and_every_taggable_resource_tagged(full):
    for r in full.resources.values():
        if r.name.startswith("obs-key") or r.urn == full.component_urn:
            continue
        assert r.parent == full.component_urn, f"{r.urn} is not a child of {full.component_urn}"
        if is_taggable(r.typ):
            tags = r.inputs.get("tags", {})
            team = next((t for t in (FRAUD, RESEARCH) if tags.get("team") == t.name), None)
            expected = {**TAGS, "cost-center": team.cost_center} if team else TAGS
            assert {k: tags.get(k) for k in TAGS} == expected, f"{r.urn} lacks the stack's (or its team's) tags"


def test_contradictory_inputs_fail_before_anything_is_declared():
    with pytest.raises(ValueError, match="team 'fraud' has no job queue"):
        Observability(
            "bad",
            ObservabilityArgs(
                environment="dev", settings=SETTINGS, teams=[FRAUD], job_queue_arns={}, kms_key_arn=KEY_ARN, tags=TAGS
            ),
        )
    no_budget = Team("fraud", "cc", ("a@example.com",), 1, 1, 0, ("arn:aws:iam::1:root",))
    with pytest.raises(ValueError, match="no monthly budget"):
        Observability(
            "bad",
            ObservabilityArgs(
                environment="dev", settings=SETTINGS, teams=[no_budget], job_queue_arns=QUEUES, kms_key_arn=KEY_ARN, tags=TAGS
            ),
        )
