"""Observability in every stack file, through the whole program (plain mocks): the alarms and the dashboard
watch the metadata layer the stack declares — its HTTP API's 5xx, its ECS service's health, its Aurora
cluster's CPU and connections — by the names the metadata layer gave those resources (issue 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import naming
from infra.config import load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]
STACKS = ["local", "dev", "staging", "prod"]

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
HTTP_API = "aws:apigatewayv2/api:Api"
REST_API = "aws:apigateway/restApi:RestApi"
NLB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECS_SERVICE = "aws:ecs/service:Service"
DB_CLUSTER = "aws:rds/cluster:Cluster"
METADATA_ALARMS = ("api-5xx", "metadata-unhealthy", "db-cpu", "db-connections", "db-free-storage")


@pytest.fixture(scope="module", params=STACKS)
def deployed(request) -> tuple[str, ProgramRun]:
    return request.param, run_program(REPO, request.param, PlainMocks())


def one(run: ProgramRun, typ: str):
    """The metadata layer's own resource of ``typ`` (not the optional UI's ALB, target groups or services, nor the
    Kubernetes layer's internal load balancer)."""
    found = [
        r
        for r in run.registrations
        if r.type == typ and r.custom and "strata:kubernetes:" not in r.urn and "strata:metadata:Ui$" not in r.urn
    ]
    assert len(found) == 1, f"{run.stack}: expected one {typ}, got {[r.urn for r in found]}"
    return found[0]


def alarms(stack: str, run: ProgramRun) -> dict:
    prefix = naming.alarm_prefix(stack)
    return {r.inputs["name"].removeprefix(prefix): r for r in run.registrations if r.type == ALARM}


def test_alarms_watch_the_metadata_layer_by_its_names(deployed):
    stack, run = deployed
    by_key = alarms(stack, run)
    if not load_from_files(REPO, stack).settings.metadata.enabled:
        assert not set(METADATA_ALARMS) & set(by_key), f"{stack}: no metadata layer, no metadata alarms: {sorted(by_key)}"
        return
    rest = [r for r in run.registrations if r.type == REST_API and r.custom]
    api, ecs, service, db = (one(run, t) for t in (REST_API if rest else HTTP_API, ECS_CLUSTER, ECS_SERVICE, DB_CLUSTER))
    expected = {
        "api-5xx": ("AWS/ApiGateway", "5XXError", {"ApiName": api.inputs["name"]})
        if rest
        else ("AWS/ApiGateway", "5xx", {"ApiId": f"{api.name}-id"}),
        "metadata-unhealthy": (
            "AWS/NetworkELB",
            "HealthyHostCount",
            {"LoadBalancer": one(run, NLB).inputs["name"], "TargetGroup": one(run, TARGET_GROUP).inputs["name"]},
        )
        if rest
        else (
            "AWS/ECS",
            "CPUUtilization",
            {"ClusterName": ecs.inputs["name"], "ServiceName": service.inputs["name"]},
        ),
        "db-cpu": ("AWS/RDS", "CPUUtilization", {"DBClusterIdentifier": db.inputs["clusterIdentifier"]}),
        "db-connections": ("AWS/RDS", "DatabaseConnections", {"DBClusterIdentifier": db.inputs["clusterIdentifier"]}),
    }
    for key, (namespace, metric, dimensions) in expected.items():
        assert key in by_key, f"{stack}: no alarm {key} watching {api.urn} / {service.urn} / {db.urn}; got {sorted(by_key)}"
        a = by_key[key]
        got = (a.inputs["namespace"], a.inputs["metricName"], a.inputs["dimensions"])
        assert got == (namespace, metric, dimensions), f"{a.urn}: {got}"
    # Aurora's storage grows by itself: no free-storage alarm on a cluster (modules/observability/alarms.py).
    assert "db-free-storage" not in by_key, f"{stack}: {by_key['db-free-storage'].urn} on an Aurora cluster"


def test_the_dashboard_shows_the_metadata_layer(deployed):
    stack, run = deployed
    board = one(run, DASHBOARD)
    body = json.loads(board.inputs["dashboardBody"])
    text = json.dumps(body)
    if not load_from_files(REPO, stack).settings.metadata.enabled:
        assert "The metadata service is not deployed" in text, board.urn
        return
    rest = [r for r in run.registrations if r.type == REST_API and r.custom]
    api, ecs, db = (one(run, t) for t in (REST_API if rest else HTTP_API, ECS_CLUSTER, DB_CLUSTER))
    for needle in (
        f'"AWS/ApiGateway", "5XXError", "ApiName", "{api.inputs["name"]}"'
        if rest
        else f'"AWS/ApiGateway", "5xx", "ApiId", "{api.name}-id"',
        f'"AWS/ECS", "CPUUtilization", "ClusterName", "{ecs.inputs["name"]}"',
        f'"AWS/RDS", "CPUUtilization", "DBClusterIdentifier", "{db.inputs["clusterIdentifier"]}"',
        f'"AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", "{db.inputs["clusterIdentifier"]}"',
    ):
        assert needle in text, f"{board.urn} ({stack}) lacks {needle}"
    assert "is not deployed in this environment" not in text.split("## Warehouse")[0], f"{board.urn}: a layer shown as missing"
    (strip,) = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    for key in ("api-5xx", "metadata-unhealthy", "db-cpu", "db-connections"):
        name = naming.alarm(stack, key)
        assert any(arn.endswith(f":{name}") for arn in strip), f"{board.urn} ({stack}): alarm {name} not in the status strip"
