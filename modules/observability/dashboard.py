"""The environment's CloudWatch dashboard body, built from plain names. Pure: no Pulumi.

Dashboard body structure: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html

What each section shows, and why these metrics:

* **Batch, per team queue** — AWS Batch publishes job state-transition metrics (how many jobs entered
  RUNNABLE, RUNNING, FAILED, ...) in the ``AWS/Batch`` namespace with a ``JobQueueName`` dimension, at no
  charge (https://docs.aws.amazon.com/batch/latest/userguide/using_cloudwatch_metrics.html). The widget
  uses a ``SEARCH`` expression on that dimension, so it shows every such metric of the queue — and keeps
  working as AWS adds metrics — without this code hard-coding metric names. These are counts of
  transitions, not a queue-depth gauge (Batch publishes none; a job's current state is only in the API).
* **Failed jobs per team** — ``AWS/Events`` ``TriggeredRules`` of each team's failed-jobs rule: one per
  FAILED event, the same number the team's alarm and e-mails are based on.
* **Metadata service** — API Gateway ``Count``/``4xx``/``5xx``, the load balancer's healthy and unhealthy
  targets, the ECS service's CPU and memory (whichever the metadata layer has).
* **Database** — ``AWS/RDS`` CPU, connections and free storage (an instance) or Aurora capacity (a cluster).
* **Warehouse** — ``AWS/Redshift`` CPU, disk, connections and health (provisioned) or every
  ``AWS/Redshift-Serverless`` metric of the workgroup (a SEARCH, as for Batch).

Layers that are not deployed in the environment get a text widget saying so, never an empty graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import naming
from modules.observability.signals import (
    LB_NAMESPACES,
    SERVING_ERRORS,
    SERVING_METRICS_NAMESPACE,
    SERVING_MODEL_DIMENSION,
    SERVING_REQUESTS,
    SERVING_SECONDS,
    DatabaseKind,
    ServingSignals,
    Signals,
    WarehouseKind,
)

GRID = 24  # the dashboard grid is 24 units wide
PERIOD = 300
# A dashboard's alarm-status widget shows at most 100 alarms.
MAX_ALARMS_PER_WIDGET = 100


class _Layout:
    """Places widgets left to right, top to bottom, on the 24-unit grid."""

    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, widget: dict[str, Any], width: int, height: int) -> None:
        if self._x + width > GRID:
            self._newline()
        self.widgets.append({**widget, "x": self._x, "y": self._y, "width": width, "height": height})
        self._x += width
        self._row_height = max(self._row_height, height)

    def full(self, widget: dict[str, Any], height: int) -> None:
        self._newline()
        self.add(widget, GRID, height)
        self._newline()

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x = 0
        self._row_height = 0


def _text(markdown: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"markdown": markdown}}


def _metrics(title: str, region: str, metrics: list[list[Any]], stat: str = "Sum", **props: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "stat": stat,
            "period": PERIOD,
            "metrics": metrics,
            **props,
        },
    }


def _search(expression_id: str, namespace: str, dimension: str, value: str, stat: str, label: str) -> list[Any]:
    query = f'{{{namespace},{dimension}}} {dimension}="{value}"'
    return [{"expression": f"SEARCH('{query}', '{stat}', {PERIOD})", "id": expression_id, "label": label}]


def dashboard_body(signals: Signals[str], alarm_arns: Sequence[str] = ()) -> dict[str, Any]:
    env, region = signals.environment, signals.region
    layout = _Layout()
    layout.full(
        _text(
            f"# Strata `{env}`\n"
            f"Alarms publish to the SNS topic `{naming.alarm_topic(env)}` (the stack's `alertEmails`); each "
            f"team's failed Batch jobs go to `{naming.team_topic(env, '<team>')}` (the team file's `contacts`). "
            "See docs/observability.md."
        ),
        height=2,
    )
    if alarm_arns:
        layout.full(
            {
                "type": "alarm",
                "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)[:MAX_ALARMS_PER_WIDGET]},
            },
            height=3,
        )

    # ---- Batch
    layout.full(_text("## Batch jobs per team queue"), height=1)
    if signals.teams:
        layout.add(
            _metrics(
                "Failed jobs per team (FAILED events)",
                region,
                [["AWS/Events", "TriggeredRules", "RuleName", t.failed_jobs_rule, {"label": t.team}] for t in signals.teams],
            ),
            width=12,
            height=6,
        )
        for team in signals.teams:
            layout.add(
                _metrics(
                    f"{team.team}: jobs entering each state, per queue",
                    region,
                    [
                        _search(f"q{i}", "AWS/Batch", "JobQueueName", queue, "Sum", f"{queue} ${{PROP('MetricName')}}")
                        for i, queue in enumerate(team.queues)
                    ],
                ),
                width=12,
                height=6,
            )
    else:
        layout.full(_text("No team has a queue in this environment."), height=1)

    # ---- metadata service
    layout.full(_text("## Metadata service"), height=1)
    m = signals.metadata
    if m is None or not any(vars(m).values()):
        layout.full(_text("The metadata service is not deployed in this environment."), height=1)
    else:
        if m.rest_api_name or m.http_api_id:
            rest = bool(m.rest_api_name)
            dim = ["ApiName", m.rest_api_name] if rest else ["ApiId", m.http_api_id]
            codes = ("4XXError", "5XXError") if rest else ("4xx", "5xx")
            layout.add(
                _metrics(
                    "API requests and errors",
                    region,
                    [["AWS/ApiGateway", metric, *dim] for metric in ("Count", *codes)],
                ),
                width=8,
                height=6,
            )
        if m.load_balancer and m.target_group:
            namespace = LB_NAMESPACES[m.load_balancer_kind]
            dims = ["LoadBalancer", m.load_balancer, "TargetGroup", m.target_group]
            layout.add(
                _metrics(
                    "Healthy / unhealthy tasks (load balancer)",
                    region,
                    [[namespace, "HealthyHostCount", *dims], [namespace, "UnHealthyHostCount", *dims]],
                    stat="Minimum",
                ),
                width=8,
                height=6,
            )
        if m.ui_load_balancer:
            lb = ["LoadBalancer", m.ui_load_balancer]
            groups = [g for g in (m.ui_backend_target_group, m.ui_static_target_group) if g]
            layout.add(
                _metrics(
                    "Metaflow UI: requests, 5xx, healthy tasks",
                    region,
                    [
                        ["AWS/ApplicationELB", "RequestCount", *lb],
                        ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb],
                        *(["AWS/ApplicationELB", "HealthyHostCount", *lb, "TargetGroup", g] for g in groups),
                    ],
                ),
                width=8,
                height=6,
            )
        if m.ecs_cluster and m.ecs_service:
            dims = ["ClusterName", m.ecs_cluster, "ServiceName", m.ecs_service]
            layout.add(
                _metrics(
                    "Service CPU and memory (%)",
                    region,
                    [["AWS/ECS", "CPUUtilization", *dims], ["AWS/ECS", "MemoryUtilization", *dims]],
                    stat="Average",
                ),
                width=8,
                height=6,
            )

    # ---- database
    layout.full(_text("## Metadata database"), height=1)
    d = signals.database
    if d is None:
        layout.full(_text("The metadata database is not deployed in this environment."), height=1)
    else:
        dim = ["DBInstanceIdentifier" if d.kind is DatabaseKind.INSTANCE else "DBClusterIdentifier", d.identifier]
        panels = [("CPU (%)", "CPUUtilization", "Average"), ("Connections", "DatabaseConnections", "Maximum")]
        if d.kind is DatabaseKind.INSTANCE:
            panels.append(("Free storage (bytes)", "FreeStorageSpace", "Minimum"))
        else:  # Aurora storage grows by itself; what moves is capacity (ACUs; 0 while paused)
            panels.append(("Capacity (ACU)", "ServerlessDatabaseCapacity", "Average"))
        for title, metric, stat in panels:
            layout.add(_metrics(title, region, [["AWS/RDS", metric, *dim]], stat=stat), width=8, height=6)

    # ---- warehouse
    layout.full(_text("## Warehouse"), height=1)
    w = signals.warehouse
    if w is None:
        layout.full(_text("The warehouse is not deployed in this environment."), height=1)
    elif w.kind is WarehouseKind.PROVISIONED:
        dim = ["ClusterIdentifier", w.name]
        for title, metric, stat in (
            ("CPU (%)", "CPUUtilization", "Average"),
            ("Disk used (%)", "PercentageDiskSpaceUsed", "Average"),
            ("Connections", "DatabaseConnections", "Maximum"),
            ("Health (1 = healthy)", "HealthStatus", "Minimum"),
        ):
            layout.add(_metrics(title, region, [["AWS/Redshift", metric, *dim]], stat=stat), width=6, height=6)
    else:
        layout.add(
            _metrics(
                f"Redshift Serverless workgroup {w.name}",
                region,
                [_search("w0", "AWS/Redshift-Serverless", "Workgroup", w.name, "Average", "${PROP('MetricName')}")],
            ),
            width=24,
            height=6,
        )
    _serving(layout, region, signals.serving)
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": layout.widgets}


def _serving(layout: _Layout, region: str, sv: ServingSignals | None) -> None:
    """Per team: requests, failed requests and seconds in inference per model (SEARCH: models come and go), the
    team's mean latency (seconds / requests over its namespace), and a table per model of requests, errors and
    mean latency, from the collector's EMF records (a Logs Insights query: CloudWatch metric math cannot pair two
    SEARCH results model by model, while each EMF record carries one model's counters side by side)."""
    layout.full(_text("## Model serving (Seldon / MLServer)"), height=1)
    if sv is None:
        layout.full(_text("Model serving is not deployed in this environment."), height=1)
        return
    ns = SERVING_METRICS_NAMESPACE
    dims = f"ClusterName,Namespace,{SERVING_MODEL_DIMENSION}"
    for team, namespace in sv.namespaces:
        where = f'ClusterName="{sv.cluster}" Namespace="{namespace}"'

        def per_model(expression_id: str, metric: str, where: str = where) -> list[Any]:
            query = f'{{{ns},{dims}}} MetricName="{metric}" {where}'
            return [{"expression": f"SEARCH('{query}', 'Sum', {PERIOD})", "id": expression_id, "label": "${PROP('Dim.model')}"}]

        for title, expression_id, metric in (
            ("requests per model", "r", SERVING_REQUESTS),
            ("failed requests (5xx) per model", "e", SERVING_ERRORS),
            ("seconds in inference per model", "s", SERVING_SECONDS),
        ):
            layout.add(_metrics(f"{team}: {title}", region, [per_model(expression_id, metric)]), width=6, height=6)
        team_dims = ["ClusterName", sv.cluster, "Namespace", namespace]
        layout.add(
            _metrics(
                f"{team}: mean latency (s)",
                region,
                [
                    [ns, SERVING_SECONDS, *team_dims, {"id": "sec", "visible": False}],
                    [ns, SERVING_REQUESTS, *team_dims, {"id": "req", "visible": False}],
                    [{"expression": "sec / req", "id": "lat", "label": "mean latency (s)"}],
                ],
            ),
            width=6,
            height=6,
        )
        layout.full(_log_table(f"{team}: latency per model", region, sv.log_group, per_model_latency_query(namespace)), height=6)


def per_model_latency_query(namespace: str) -> str:
    """Logs Insights over the serving collector's EMF records of one namespace: per model, its requests, failed
    requests and mean latency in milliseconds over the dashboard's time range (each record holds one scrape's
    deltas of the counters, so the sums are the window's totals)."""
    return " | ".join(
        (
            f"filter Namespace = '{namespace}' and ispresent({SERVING_MODEL_DIMENSION})",
            f"stats sum({SERVING_REQUESTS}) as requests, sum({SERVING_ERRORS}) as errors, "
            f"sum({SERVING_SECONDS}) * 1000 / sum({SERVING_REQUESTS}) as mean_latency_ms by {SERVING_MODEL_DIMENSION}",
            "sort mean_latency_ms desc",
        )
    )


def _log_table(title: str, region: str, log_group: str, query: str) -> dict[str, Any]:
    """A Logs Insights widget (billed per GB scanned when the dashboard is viewed: a usage line in the cost model)."""
    return {
        "type": "log",
        "properties": {"title": title, "region": region, "view": "table", "query": f"SOURCE '{log_group}' | {query}"},
    }


def metric_count(body: dict[str, Any]) -> int:
    """Metrics and expressions on the dashboard (the free tier covers dashboards of up to 50 metrics)."""
    return sum(len(w["properties"].get("metrics", [])) for w in body["widgets"] if w["type"] == "metric")
