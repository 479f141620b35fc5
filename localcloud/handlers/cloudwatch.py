"""CloudWatch dashboards and metric alarms."""

from __future__ import annotations

import json
from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
_DASHBOARD_GRID = 24


@resource("aws:cloudwatch/dashboard:Dashboard")
def dashboard(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """moto stores any body; AWS rejects malformed ones, so the structural rules that would fail a
    real PutDashboard are checked here (JSON object, widgets with a type and properties, on the grid)."""
    dashboard_name = inputs["dashboardName"]
    body = inputs["dashboardBody"]
    _check_body(json.loads(body))
    messages = ctx.client("cloudwatch").put_dashboard(DashboardName=dashboard_name, DashboardBody=body)
    if messages.get("DashboardValidationMessages"):
        raise ValueError(f"dashboard {dashboard_name}: {messages['DashboardValidationMessages']}")
    arn = f"arn:aws:cloudwatch::{ctx.account_id}:dashboard/{dashboard_name}"
    return Created(id=dashboard_name, outputs={"dashboardArn": arn}, physical_name=dashboard_name)


def _check_body(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        raise ValueError("a dashboard body is a JSON object with a 'widgets' list")
    for i, widget in enumerate(body["widgets"]):
        if not {"type", "properties"} <= set(widget):
            raise ValueError(f"widget {i} needs 'type' and 'properties'")
        x, width = widget.get("x", 0), widget.get("width", 6)
        if x < 0 or x + width > _DASHBOARD_GRID:
            raise ValueError(f"widget {i} leaves the {_DASHBOARD_GRID}-unit grid (x={x}, width={width})")


@resource("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    if inputs.get("metricQueries"):
        raise ValueError("metric-math alarms are not emulated by the local engine (none is declared by Strata)")
    cloudwatch = ctx.client("cloudwatch")
    alarm_name = physical_name(name, inputs, max_len=255)
    cloudwatch.put_metric_alarm(
        **compact(
            AlarmName=alarm_name,
            AlarmDescription=inputs.get("alarmDescription"),
            ActionsEnabled=inputs.get("actionsEnabled", True),
            AlarmActions=inputs.get("alarmActions"),
            OKActions=inputs.get("okActions"),
            InsufficientDataActions=inputs.get("insufficientDataActions"),
            Namespace=inputs.get("namespace"),
            MetricName=inputs.get("metricName"),
            Dimensions=key_value_tags(inputs.get("dimensions"), "Name", "Value"),
            Statistic=inputs.get("statistic"),
            ExtendedStatistic=inputs.get("extendedStatistic"),
            Period=inputs.get("period"),
            Unit=inputs.get("unit"),
            EvaluationPeriods=inputs["evaluationPeriods"],
            DatapointsToAlarm=inputs.get("datapointsToAlarm"),
            Threshold=inputs.get("threshold"),
            ComparisonOperator=inputs["comparisonOperator"],
            TreatMissingData=inputs.get("treatMissingData"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )
    arn = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["AlarmArn"]
    return Created(id=alarm_name, outputs={"arn": arn, "name": alarm_name}, physical_name=alarm_name)
