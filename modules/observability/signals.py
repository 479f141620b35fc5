"""What the observability layer watches, described by plain names. Pure: no Pulumi.

The other layers (metadata, warehouse) may not exist in an environment yet, so every signal but the
teams' is optional. Given to the ``Observability`` component, the fields may be Pulumi inputs (an
API id or a database identifier that is an output of another layer); the component resolves them
before calling the pure functions (``dashboard.dashboard_body``, ``alarms.alarm_specs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

N = TypeVar("N")
"""The type of the other layers' names in a signal: ``str`` once resolved (what the dashboard reads), or
``pulumi.Input[str]`` as the program hands them to the component (the alarms take them as they are)."""


@dataclass(frozen=True)
class TeamSignals:
    team: str
    queues: tuple[str, ...]
    """The team's Batch job-queue names (``strata-<env>-<team>-<kind>``)."""
    failed_jobs_rule: str
    """The team's EventBridge rule for FAILED jobs; its ``TriggeredRules`` metric counts failures."""


class LoadBalancerKind(StrEnum):
    APPLICATION = "application"  # metrics in AWS/ApplicationELB
    NETWORK = "network"  # metrics in AWS/NetworkELB


LB_NAMESPACES = {LoadBalancerKind.APPLICATION: "AWS/ApplicationELB", LoadBalancerKind.NETWORK: "AWS/NetworkELB"}


@dataclass(frozen=True)
class MetadataSignals(Generic[N]):
    """The metadata service's front door and tasks; give whichever exist."""

    rest_api_name: N | None = None
    """API Gateway REST API name (metrics dimension ``ApiName``)."""
    http_api_id: N | None = None
    """API Gateway HTTP API id (metrics dimension ``ApiId``), when the front door is an HTTP API."""
    load_balancer: N | None = None
    """ALB/NLB ARN suffix (``app/<name>/<id>`` or ``net/<name>/<id>``), with ``target_group``."""
    target_group: N | None = None
    """Target-group ARN suffix (``targetgroup/<name>/<id>``)."""
    load_balancer_kind: LoadBalancerKind = LoadBalancerKind.APPLICATION
    ecs_cluster: N | None = None
    ecs_service: N | None = None
    ui_load_balancer: N | None = None
    """The Metaflow UI's ALB ARN suffix (``app/<name>/<id>``), when the UI is on."""
    ui_backend_target_group: N | None = None
    ui_static_target_group: N | None = None
    """The UI's target-group ARN suffixes (backend under /api, static app)."""


class DatabaseKind(StrEnum):
    INSTANCE = "instance"  # RDS DB instance: metrics by DBInstanceIdentifier
    CLUSTER = "cluster"  # Aurora DB cluster: metrics by DBClusterIdentifier


@dataclass(frozen=True)
class DatabaseSignals(Generic[N]):
    kind: DatabaseKind
    identifier: N


class WarehouseKind(StrEnum):
    SERVERLESS = "serverless"  # Redshift Serverless workgroup
    PROVISIONED = "provisioned"  # Redshift cluster


@dataclass(frozen=True)
class WarehouseSignals(Generic[N]):
    kind: WarehouseKind
    name: N
    """Workgroup name (serverless) or cluster identifier (provisioned)."""


# Where model-serving metrics land (modules/serving/README.md, "Metrics"): the CloudWatch agent scrapes Seldon's
# agents (the sidecar of every MLServer pod) and writes these, per model and per namespace, as embedded metric
# format logs. Requests and errors are counts; seconds is time spent in inference (mean latency = seconds / requests).
SERVING_METRICS_NAMESPACE = "Strata/Serving"
SERVING_REQUESTS = "seldon_model_infer_total"
SERVING_ERRORS = "seldon_model_infer_errors_total"  # relabelled from seldon_model_infer_total{code=~"5.."}
SERVING_SECONDS = "seldon_model_infer_seconds_total"
SERVING_MODEL_DIMENSION = "model"


@dataclass(frozen=True)
class ServingSignals:
    """Model serving (modules/serving): the cluster and each team's namespace, all plain names."""

    cluster: str
    """The EKS cluster's name (dimension ``ClusterName``)."""
    namespaces: tuple[tuple[str, str], ...]
    """(team, Kubernetes namespace) pairs (dimension ``Namespace``)."""
    error_threshold: int
    """A team's alarm: this many failed inference requests in 5 minutes, over its models."""
    log_group: str
    """The collector's embedded-metric-format log group: one record per scrape, per model, whose fields are the
    deltas of the counters above and the labels (``Namespace``, ``model``). The dashboard's per-model latency is a
    Logs Insights query over it (metric math cannot divide two SEARCH results model by model)."""


@dataclass(frozen=True)
class Signals(Generic[N]):
    environment: str
    region: str
    teams: tuple[TeamSignals, ...]
    metadata: MetadataSignals[N] | None = None
    database: DatabaseSignals[N] | None = None
    warehouse: WarehouseSignals[N] | None = None
    serving: ServingSignals | None = None
