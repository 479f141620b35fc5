"""Orchestration layer: Step Functions role, foreach state table, EventBridge schedule role, per-team prefixes.

The component imports Pulumi; import it from ``modules.orchestration.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.orchestration.settings`` without loading Pulumi."""
