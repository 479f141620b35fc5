"""``strata:serving``: the serving layer's settings (Seldon Core v2 and MLServer on the Kubernetes layer) and
their checks.

Pure (the core and pydantic; no Pulumi). Off unless a stack file turns it on, and only with the Kubernetes layer
(it runs on that cluster): :func:`check_serving` says so with the file, the key and the fix.
"""

from __future__ import annotations

from pydantic import Field

from core import charts
from core.issues import Issues
from core.settings import Model, check_log_retention


class ServingSettings(Model):
    """``strata:serving``: Seldon Core v2.6.0 (no Kafka, no pipelines) and one MLServer per team namespace."""

    enabled: bool = False
    # What every team's Server "mlserver" runs: the version `strata serve local` runs (core/charts.py).
    mlserver_image: str = charts.MLSERVER_IMAGE
    # Pods of each team's Server when it is created. Its pods run on the team's own nodes, which otherwise scale to
    # zero, and Seldon 2.6 does not scale a Server from zero: 1 would keep one of each team's CPU nodes (m6i.xlarge
    # by default) up around the clock. The default, 0, declares the Server with no pods (nothing billed); the team's
    # first `strata serve deploy` starts one (its Role may scale its own Server), and `pulumi up` leaves the
    # replicas to the team from then on (ignore_changes).
    server_replicas: int = Field(default=0, ge=0, le=10)
    # Requests of each Server pod's MLServer container (counted in the team's quota; limits are twice these).
    server_cpu_millicores: int = Field(default=500, ge=100)
    server_memory_mib: int = Field(default=1024, ge=256)
    # A team's alarm: more than this many failed inference requests (HTTP 5xx) in 5 minutes, over its models.
    error_alarm_threshold: int = Field(default=5, ge=1)
    # Retention of the metrics collector's log group (its embedded-metric-format records; the metrics CloudWatch
    # extracts from them are kept 15 months whatever this is).
    log_retention_days: int = 30


def check_serving(s: ServingSettings, *, kubernetes_enabled: bool, stack: str, path: str, issues: Issues) -> None:
    """``strata:serving`` rules the model cannot express: it needs the Kubernetes layer of the same stack."""
    check_log_retention(s.log_retention_days, path, "strata:serving.logRetentionDays", issues)
    if s.enabled and not kubernetes_enabled:
        issues.add(
            path,
            "strata:serving.enabled",
            f"model serving runs on the Kubernetes layer, which is off in stack {stack!r}",
            f"set strata:kubernetes.enabled: true in stacks/Pulumi.{stack}.yaml (the EKS control plane is $73/month), "
            "or set strata:serving.enabled: false",
        )
