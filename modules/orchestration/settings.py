"""``strata:orchestration``: the orchestration layer's settings (Step Functions and its schedules).

Pure (the core and pydantic; no Pulumi).
"""

from __future__ import annotations

from core.issues import Issues
from core.settings import Model, check_log_retention


class OrchestrationSettings(Model):
    """``strata:orchestration``: Step Functions, its DynamoDB state table and EventBridge schedules."""

    # Retention of the Step Functions execution-history log group; one of LOG_RETENTION_DAYS.
    log_retention_days: int = 30


def check_orchestration(o: OrchestrationSettings, path: str, issues: Issues) -> None:
    """``strata:orchestration`` rules the model cannot express."""
    check_log_retention(o.log_retention_days, path, "strata:orchestration.logRetentionDays", issues)
