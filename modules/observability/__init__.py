"""Observability and cost controls: log key and retention, dashboard, alarms, failed-job alerts, budgets.

The component imports Pulumi; import it from ``modules.observability.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.observability.settings`` without loading Pulumi."""
