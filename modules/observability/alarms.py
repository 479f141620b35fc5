"""The environment's CloudWatch alarms, as plain specifications. Pure: no Pulumi.

Every alarm watches a metric AWS publishes by itself (no custom metrics, no agents):

* failed Batch jobs per team: ``AWS/Events`` ``TriggeredRules`` of the team's failed-jobs rule (one per
  FAILED event of the team's queues). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
* the metadata API: ``AWS/ApiGateway`` ``5XXError`` (REST, by ``ApiName``) or ``5xx`` (HTTP API, by ``ApiId``);
  its load balancer: ``HealthyHostCount`` of the target group; without a load balancer (HTTP API -> VPC
  link -> Cloud Map), the ECS service's own ``AWS/ECS`` ``CPUUtilization``, which ECS publishes only while
  the service has a RUNNING task — no data means no task. (ECS stops and replaces a service task whose
  essential container fails its health check, so a task that stays RUNNING passes it.)
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html
* the Metaflow UI (when on): ``AWS/ApplicationELB`` ``HealthyHostCount`` of its backend and static-app
  target groups, and ``HTTPCode_Target_5XX_Count`` of its ALB.
* the database: ``AWS/RDS`` ``CPUUtilization``, ``DatabaseConnections``, ``FreeStorageSpace`` (instances;
  Aurora storage grows by itself, so clusters get no storage alarm).
* a provisioned warehouse: ``AWS/Redshift`` ``PercentageDiskSpaceUsed`` and ``HealthStatus``. Redshift
  Serverless gets none: it has no disk to fill and bills only while queries run (the budget watches that).

Pricing: $0.10 per standard-resolution alarm metric a month, the first 10 free per account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol

from core import naming
from modules.observability.signals import (
    LB_NAMESPACES,
    SERVING_ERRORS,
    SERVING_METRICS_NAMESPACE,
    DatabaseKind,
    N,
    Signals,
    WarehouseKind,
)

GIB = 1024**3


class Thresholds(Protocol):
    """``modules.observability.settings.AlarmThresholds`` (any object with these attributes)."""

    failed_jobs: int
    api_errors: int
    db_cpu_percent: int
    db_connections: int
    db_free_storage_gb: int
    warehouse_disk_percent: int


@dataclass(frozen=True)
class AlarmSpec(Generic[N]):
    key: str
    """Short, stable id: the alarm's logical-name suffix and the part of its name after ``strata-<env>-``."""
    name: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, str | N]
    """Our own names (a team's rule) and the other layers' (``N``: as the signals hold them)."""
    statistic: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison: str
    treat_missing_data: str = "notBreaching"
    team: str | None = None
    """Set on a team's alarm (it gets the team's tags)."""


def alarm_specs(signals: Signals[N], t: Thresholds) -> list[AlarmSpec[N]]:
    env = signals.environment
    specs: list[AlarmSpec[N]] = []

    def add(key: str, description: str, **kwargs) -> None:
        specs.append(AlarmSpec(key=key, name=naming.alarm(env, key), description=f"Strata {env}: {description}", **kwargs))

    for team in signals.teams:
        add(
            f"{team.team}-failed-jobs",
            f"{t.failed_jobs}+ Batch jobs of team {team.team} failed within 15 minutes "
            f"(each failure also goes to the team's own topic)",
            namespace="AWS/Events",
            metric="TriggeredRules",
            dimensions={"RuleName": team.failed_jobs_rule},
            statistic="Sum",
            period=900,
            evaluation_periods=1,
            threshold=t.failed_jobs,
            comparison="GreaterThanOrEqualToThreshold",
            team=team.team,
        )

    sv = signals.serving
    for team_name, k8s_namespace in sv.namespaces if sv is not None else ():
        assert sv is not None
        add(
            f"{team_name}-serving-errors",
            f"team {team_name}'s models failed {sv.error_threshold}+ inference requests (5xx) within 5 minutes",
            namespace=SERVING_METRICS_NAMESPACE,
            metric=SERVING_ERRORS,
            dimensions={"ClusterName": sv.cluster, "Namespace": k8s_namespace},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=sv.error_threshold,
            comparison="GreaterThanOrEqualToThreshold",
            # No data: no request failed (or no model is deployed, or no collector runs: README).
            team=team_name,
        )

    def errors_5xx(key: str, what: str, namespace: str, metric: str, dimensions: Mapping[str, N]) -> None:
        add(
            key,
            f"{what} answered {t.api_errors}+ 5xx responses within 5 minutes",
            namespace=namespace,
            metric=metric,
            dimensions=dimensions,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=t.api_errors,
            comparison="GreaterThanOrEqualToThreshold",
        )

    def no_healthy_target(key: str, what: str, namespace: str, load_balancer: N, target_group: N) -> None:
        add(
            key,
            f"{what} has no healthy task behind its load balancer for 5 minutes",
            namespace=namespace,
            metric="HealthyHostCount",
            dimensions={"LoadBalancer": load_balancer, "TargetGroup": target_group},
            statistic="Minimum",
            period=60,
            evaluation_periods=5,
            threshold=1,
            comparison="LessThanThreshold",
            # No data from a load balancer that exists means no healthy target reported.
            treat_missing_data="breaching",
        )

    m = signals.metadata
    if m is not None:
        if m.rest_api_name:
            errors_5xx("api-5xx", "the metadata API", "AWS/ApiGateway", "5XXError", {"ApiName": m.rest_api_name})
        elif m.http_api_id:
            errors_5xx("api-5xx", "the metadata API", "AWS/ApiGateway", "5xx", {"ApiId": m.http_api_id})
        if m.load_balancer and m.target_group:
            no_healthy_target(
                "metadata-unhealthy", "the metadata service", LB_NAMESPACES[m.load_balancer_kind], m.load_balancer, m.target_group
            )
        elif m.ecs_cluster and m.ecs_service:
            add(
                "metadata-unhealthy",
                "the metadata service has had no running task for 5 minutes",
                namespace="AWS/ECS",
                metric="CPUUtilization",
                dimensions={"ClusterName": m.ecs_cluster, "ServiceName": m.ecs_service},
                # Any sample at all is a running task; the value does not matter.
                statistic="SampleCount",
                period=60,
                evaluation_periods=5,
                threshold=1,
                comparison="LessThanThreshold",
                # ECS publishes nothing for a service without RUNNING tasks: missing data is the signal.
                treat_missing_data="breaching",
            )

        if m.ui_load_balancer:
            for part, group in (("backend", m.ui_backend_target_group), ("static", m.ui_static_target_group)):
                if group:
                    no_healthy_target(
                        f"ui-{part}-unhealthy", f"the Metaflow UI {part}", "AWS/ApplicationELB", m.ui_load_balancer, group
                    )
            errors_5xx(
                "ui-5xx",
                "the Metaflow UI's tasks",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                {"LoadBalancer": m.ui_load_balancer},
            )

    d = signals.database
    if d is not None:
        dim = {"DBInstanceIdentifier" if d.kind is DatabaseKind.INSTANCE else "DBClusterIdentifier": d.identifier}
        add(
            "db-cpu",
            f"the metadata database averaged above {t.db_cpu_percent}% CPU for 15 minutes",
            namespace="AWS/RDS",
            metric="CPUUtilization",
            dimensions=dim,
            statistic="Average",
            period=300,
            evaluation_periods=3,
            threshold=t.db_cpu_percent,
            comparison="GreaterThanThreshold",
        )
        add(
            "db-connections",
            f"the metadata database has more than {t.db_connections} connections",
            namespace="AWS/RDS",
            metric="DatabaseConnections",
            dimensions=dim,
            statistic="Maximum",
            period=300,
            evaluation_periods=2,
            threshold=t.db_connections,
            comparison="GreaterThanThreshold",
        )
        if d.kind is DatabaseKind.INSTANCE:
            add(
                "db-free-storage",
                f"the metadata database has less than {t.db_free_storage_gb} GiB of free storage",
                namespace="AWS/RDS",
                metric="FreeStorageSpace",
                dimensions=dim,
                statistic="Minimum",
                period=300,
                evaluation_periods=1,
                threshold=t.db_free_storage_gb * GIB,
                comparison="LessThanThreshold",
            )

    w = signals.warehouse
    if w is not None and w.kind is WarehouseKind.PROVISIONED:
        dim = {"ClusterIdentifier": w.name}
        add(
            "warehouse-disk",
            f"the warehouse cluster uses more than {t.warehouse_disk_percent}% of its disk",
            namespace="AWS/Redshift",
            metric="PercentageDiskSpaceUsed",
            dimensions=dim,
            statistic="Average",
            period=300,
            evaluation_periods=2,
            threshold=t.warehouse_disk_percent,
            comparison="GreaterThanThreshold",
        )
        add(
            "warehouse-health",
            "the warehouse cluster reports unhealthy (HealthStatus 0) for 10 minutes",
            namespace="AWS/Redshift",
            metric="HealthStatus",
            dimensions=dim,
            statistic="Minimum",
            period=300,
            evaluation_periods=2,
            threshold=1,
            comparison="LessThanThreshold",
        )
    keys = [s.key for s in specs]
    if len(keys) != len(set(keys)):  # alarm names are unique per account and region
        raise ValueError(f"duplicate alarm keys: {sorted(k for k in keys if keys.count(k) > 1)}")
    return specs
