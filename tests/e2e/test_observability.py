"""The observability and cost-control layer of the `local` stack, deployed into a fresh moto server
with the pieces `strata local up` uses: dashboards, alarms, topics, rules and budgets exist as the
stack and team files say, and every AWS resource of the stack carries the required tags.

Tags are read back from moto — through the Resource Groups Tagging API where moto's backend lists the
type, through the service's own tag API otherwise. Types neither can answer for are listed in
``UNCHECKABLE`` with the reason; a new type that is neither checked nor listed fails the test.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from core import naming
from infra.config import load_from_files
from localcloud.default_tags import is_taggable
from localcloud.engine import ResourceRecord
from localcloud.server import configure_moto, start_moto
from localcloud.session import STACK, deploy
from modules.observability.settings import MANAGED_BY, REQUIRED_TAG_KEYS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# Taggable types whose tags cannot be read back from moto, and why.
UNCHECKABLE = {
    "aws:budgets/budget:Budget": "moto's Budgets backend drops CreateBudget's ResourceTags and has no ListTagsForResource",
    "aws:apigatewayv2/stage:Stage": "moto's API Gateway v2 GetTags does not route stage ARNs (answers 404)",
}


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict[str, Any]:
    """The local stack in its own moto server (not the shared one: tags are checked account-wide)."""
    server = start_moto(log_path=str(tmp_path_factory.mktemp("moto") / "moto.log"))
    try:
        configure_moto(server.endpoint)
        platform = load_from_files(REPO, STACK)
        run, engine = deploy(REPO, server.endpoint, platform.region, Console(file=io.StringIO()))
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=platform.region)
        clients: dict[str, Any] = {}

        def client(service: str) -> Any:
            if service not in clients:
                clients[service] = session.client(service, endpoint_url=server.endpoint)
            return clients[service]

        yield {"platform": platform, "outputs": run.outputs, "engine": engine, "client": client}
    finally:
        server.stop()


def teams(local) -> list:
    return list(local["platform"].teams)


# ------------------------------------------------------------------------------- what is watched


def test_the_dashboard_watches_every_team_queue(local):
    body = json.loads(local["client"]("cloudwatch").get_dashboard(DashboardName=naming.dashboard(STACK))["DashboardBody"])
    text = json.dumps(body)
    queues = [r.arn.rsplit("/", 1)[1] for r in local["engine"].resources if r.type == "aws:batch/jobQueue:JobQueue"]
    assert queues, "the local stack has job queues"
    for queue in queues:
        assert f'JobQueueName=\\"{queue}\\"' in text, f"dashboard {naming.dashboard(STACK)} misses queue {queue}"
    for team in teams(local):
        assert naming.failed_jobs_rule(STACK, team.name) in text, team.name
    assert local["outputs"]["dashboard"] == naming.dashboard(STACK)


def test_an_alarm_per_team_to_the_alarm_topic(local):
    cloudwatch = local["client"]("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"strata-{STACK}-")["MetricAlarms"]}
    thresholds = local["platform"].settings.observability.alarms
    for team in teams(local):
        alarm = alarms.get(naming.alarm(STACK, f"{team.name}-failed-jobs"))
        assert alarm is not None, f"no failed-jobs alarm for {team.name}: {sorted(alarms)}"
        assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": naming.failed_jobs_rule(STACK, team.name)}]
        assert alarm["Threshold"] == thresholds.failed_jobs
    topic = local["outputs"]["alarmTopicArn"]
    assert alarms and all(a["AlarmActions"] == [topic] for a in alarms.values()), sorted(alarms)


def test_alarms_and_dashboard_watch_the_metadata_layer(local):
    """Issue 5: the metadata API's 5xx, the service's health (its ECS service: no load balancer) and the
    Aurora cluster's CPU and connections — by the names moto gave the metadata layer's resources."""
    client = local["client"]
    md = naming.metadata_name(STACK)
    (api,) = [a for a in client("apigatewayv2").get_apis()["Items"] if a["Name"] == md]
    (db,) = client("rds").describe_db_clusters(DBClusterIdentifier=md)["DBClusters"]
    (service,) = client("ecs").describe_services(cluster=md, services=[md])["services"]
    expected = {
        "api-5xx": ("AWS/ApiGateway", "5xx", {"ApiId": api["ApiId"]}),
        "metadata-unhealthy": ("AWS/ECS", "CPUUtilization", {"ClusterName": md, "ServiceName": service["serviceName"]}),
        "db-cpu": ("AWS/RDS", "CPUUtilization", {"DBClusterIdentifier": db["DBClusterIdentifier"]}),
        "db-connections": ("AWS/RDS", "DatabaseConnections", {"DBClusterIdentifier": db["DBClusterIdentifier"]}),
    }
    found = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms(AlarmNamePrefix=f"strata-{STACK}-")["MetricAlarms"]}
    for key, (namespace, metric, dimensions) in expected.items():
        name = naming.alarm(STACK, key)
        assert name in found, f"no alarm {name} in moto: {sorted(found)}"
        a = found[name]
        got = (a["Namespace"], a["MetricName"], _kv(a["Dimensions"], "Name", "Value"))
        assert got == (namespace, metric, dimensions), f"{a['AlarmArn']}: {got}"
    assert naming.alarm(STACK, "db-free-storage") not in found, "Aurora: no free-storage alarm"
    text = client("cloudwatch").get_dashboard(DashboardName=naming.dashboard(STACK))["DashboardBody"]
    for needle in (f'"ApiId", "{api["ApiId"]}"', f'"ClusterName", "{md}"', f'"DBClusterIdentifier", "{md}"'):
        assert needle in text, f"dashboard {naming.dashboard(STACK)} lacks {needle}"


# ------------------------------------------------------------------------------- who is alerted


def subscribers(local, topic_arn: str) -> list[str]:
    subs = local["client"]("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert all(s["Protocol"] == "email" for s in subs), subs
    return sorted(s["Endpoint"] for s in subs)


def test_the_alarm_topic_reaches_the_stacks_alert_emails(local):
    topic = local["outputs"]["alarmTopicArn"]
    assert subscribers(local, topic) == sorted(local["platform"].settings.observability.alert_emails)
    attributes = local["client"]("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == local["outputs"]["observabilityKeyArn"], topic


def test_each_teams_failed_jobs_reach_its_contacts_through_its_rule(local):
    events, sns = local["client"]("events"), local["client"]("sns")
    queues = {r.name: r.arn for r in local["engine"].resources if r.type == "aws:batch/jobQueue:JobQueue"}
    for team in teams(local):
        topic = local["outputs"]["teamAlertTopics"][team.name]
        assert subscribers(local, topic) == sorted(team.contacts), team.name
        rule_name = naming.failed_jobs_rule(STACK, team.name)
        rule = events.describe_rule(Name=rule_name)
        pattern = json.loads(rule["EventPattern"])
        own = sorted(arn for name, arn in queues.items() if name.startswith(f"compute-{team.name}-"))
        assert pattern["detail"] == {"status": ["FAILED"], "jobQueue": own}, f"{rule_name}: {pattern}"
        (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        assert target["Arn"] == topic, rule_name
        policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        assert [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in policy["Statement"]] == [rule["Arn"]], topic


# ----------------------------------------------------------------------------- what each may spend


def test_budgets_per_team_and_for_the_environment(local):
    budgets = local["client"]("budgets")
    account = local["client"]("sts").get_caller_identity()["Account"]
    settings = local["platform"].settings.observability
    expected = {naming.environment_budget(STACK): (settings.monthly_budget_usd, f"user:environment${STACK}")}
    expected |= {naming.team_budget(STACK, t.name): (t.monthly_budget_usd, f"user:team${t.name}") for t in teams(local)}
    found = {b["BudgetName"]: b for b in budgets.describe_budgets(AccountId=account)["Budgets"]}
    assert set(found) == set(expected), sorted(found)
    for name, (amount, tag_filter) in expected.items():
        b = found[name]
        assert float(b["BudgetLimit"]["Amount"]) == amount and b["BudgetLimit"]["Unit"] == "USD", name
        assert b["CostFilters"] == {"TagKeyValue": [tag_filter]} and b["TimeUnit"] == "MONTHLY", name
        notes = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)["Notifications"]
        assert sorted((n["NotificationType"], n["Threshold"]) for n in notes) == [
            ("ACTUAL", 80.0),
            ("ACTUAL", 100.0),
            ("FORECASTED", 100.0),
        ], name


def test_cost_allocation_tags_are_listed_as_not_emulated(local):
    declared = {r.name for r in local["engine"].not_emulated_used() if r.type.startswith("aws:costexplorer/")}
    assert declared == {f"observability-cost-tag-{k}" for k in REQUIRED_TAG_KEYS}


# ----------------------------------------------------------------------------------------- tags


def _kv(tags: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags}


def _tag_readers(client: Callable[[str], Any]) -> dict[str, Callable[[ResourceRecord], dict[str, str]]]:
    """Per-service tag APIs, by the ARN's service, for types the tagging API does not list in moto."""

    def ec2(r: ResourceRecord) -> dict[str, str]:
        return _kv(client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": [r.id]}])["Tags"])

    def iam(r: ResourceRecord) -> dict[str, str]:
        name = r.arn.rsplit("/", 1)[1]
        if ":role/" in r.arn:
            return _kv(client("iam").list_role_tags(RoleName=name)["Tags"])
        if ":oidc-provider/" in r.arn:
            return _kv(client("iam").list_open_id_connect_provider_tags(OpenIDConnectProviderArn=r.arn)["Tags"])
        if ":instance-profile/" in r.arn:
            # moto has no ListInstanceProfileTags; GetInstanceProfile returns the tags too
            return _kv(client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags", []))
        return _kv(client("iam").list_policy_tags(PolicyArn=r.arn)["Tags"])

    def listener(r: ResourceRecord) -> dict[str, str]:
        (described,) = client("elbv2").describe_tags(ResourceArns=[r.arn])["TagDescriptions"]
        return _kv(described["Tags"])

    return {
        "ec2": ec2,
        "iam": iam,
        "elasticloadbalancing": listener,
        "batch": lambda r: client("batch").list_tags_for_resource(resourceArn=r.arn)["tags"],
        "events": lambda r: _kv(client("events").list_tags_for_resource(ResourceARN=r.arn)["Tags"]),
        "apigateway": lambda r: client("apigatewayv2").get_tags(ResourceArn=r.arn)["Tags"],
        "rds": lambda r: _kv(client("rds").list_tags_for_resource(ResourceName=r.arn)["TagList"]),
        "redshift": lambda r: _kv([t["Tag"] for t in client("redshift").describe_tags(ResourceName=r.arn)["TaggedResources"]]),
        "servicediscovery": lambda r: _kv(client("servicediscovery").list_tags_for_resource(ResourceARN=r.arn)["Tags"]),
    }


def _by_type(client: Callable[[str], Any]) -> dict[str, Callable[[ResourceRecord], dict[str, str]]]:
    """Types whose state holds a name rather than an ARN (EKS): read with the service's describe call."""

    def node_group(r: ResourceRecord) -> dict[str, str]:
        cluster, name = r.id.split(":", 1)  # pulumi-aws's id: "<cluster>:<node group>"
        return client("eks").describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"].get("tags", {})

    return {
        "aws:eks/cluster:Cluster": lambda r: client("eks").describe_cluster(name=r.id)["cluster"].get("tags", {}),
        "aws:eks/nodeGroup:NodeGroup": node_group,
    }


@pytest.fixture(scope="module")
def resource_tags(local) -> dict[str, Any]:
    """Every taggable resource's tags as moto has them: ``{"tags": {record: tags}, "how": {type: api},
    "unreadable": [...], "unchecked": {types}}``."""
    client = local["client"]
    listed: dict[str, dict[str, str]] = {}
    for page in client("resourcegroupstaggingapi").get_paginator("get_resources").paginate():
        for mapping in page["ResourceTagMappingList"]:
            listed[mapping["ResourceARN"]] = _kv(mapping["Tags"])
    readers = _tag_readers(client)
    typed = _by_type(client)
    found: dict[ResourceRecord, dict[str, str]] = {}
    how: dict[str, str] = {}
    unreadable: list[str] = []
    unchecked: set[str] = set()
    for r in local["engine"].resources:
        if r.not_emulated_reason or not is_taggable(r.type):
            continue
        if r.type in UNCHECKABLE:
            unchecked.add(r.type)
            continue
        service = r.arn.split(":")[2] if r.arn else ""
        if r.arn in listed:
            found[r], how[r.type] = listed[r.arn], "resourcegroupstaggingapi"
        elif r.type in typed:
            found[r], how[r.type] = typed[r.type](r), "eks describe"
        elif service in readers:
            try:
                found[r], how[r.type] = readers[service](r), f"{service} tag API"
            except ClientError as err:
                unreadable.append(f"{r}: its tags cannot be read from moto ({err}); list {r.type} in UNCHECKABLE with why")
        else:
            unreadable.append(f"{r}: no way to read its tags from moto; add a reader or list {r.type} in UNCHECKABLE")
    return {"tags": found, "how": how, "unreadable": unreadable, "unchecked": unchecked}


def test_every_aws_resource_carries_the_required_tags(resource_tags):
    assert not resource_tags["unreadable"], "\n".join(resource_tags["unreadable"])
    problems = [
        f"{r.urn or r.name} ({r.type}): tags {tags}"
        for r, tags in resource_tags["tags"].items()
        if any(not tags.get(k) for k in REQUIRED_TAG_KEYS) or tags["environment"] != STACK or tags["managed-by"] != MANAGED_BY
    ]
    assert not problems, "\n".join(problems)
    unchecked = resource_tags["unchecked"]
    assert unchecked == set(UNCHECKABLE), f"UNCHECKABLE lists types the stack does not declare: {set(UNCHECKABLE) - unchecked}"
    # the tagging API does the bulk of the work, and every layer's types were looked at
    assert "resourcegroupstaggingapi" in resource_tags["how"].values() and len(resource_tags["how"]) >= 20, resource_tags["how"]


def test_team_resources_carry_their_team_and_cost_center(local, resource_tags):
    """A team's resources are allocated to the team's cost center, never to the stack's."""
    cost_centers = {t.name: t.cost_center for t in teams(local)}
    stack_cost_center = local["platform"].settings.tags["cost-center"]
    assert stack_cost_center not in cost_centers.values(), "each local team needs a cost center of its own, or this cannot fail"
    gaps = sorted(
        f"{r.urn}: cost-center {tags.get('cost-center')!r}, team {tags['team']}'s is {cost_centers[tags['team']]!r}"
        for r, tags in resource_tags["tags"].items()
        if tags.get("team") in cost_centers and tags.get("cost-center") != cost_centers[tags["team"]]
    )
    assert not gaps, "\n".join(gaps)
    for team in teams(local):
        tagged = {r.urn for r, tags in resource_tags["tags"].items() if tags.get("team") == team.name}
        assert any(f"::observability-{team.name}-alerts" in urn for urn in tagged), f"{team.name}: {sorted(tagged)}"
