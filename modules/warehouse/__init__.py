"""Warehouse layer: Redshift (Serverless or provisioned), per-team COPY/UNLOAD roles and Data API access.

The component imports Pulumi; import it from ``modules.warehouse.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.warehouse.settings`` without loading Pulumi."""
