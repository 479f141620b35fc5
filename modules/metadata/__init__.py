"""Metadata layer: Aurora PostgreSQL, the Metaflow metadata service on Fargate, its API and per-team keys.

The component imports Pulumi; import it from ``modules.metadata.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.metadata.settings`` without loading Pulumi."""
