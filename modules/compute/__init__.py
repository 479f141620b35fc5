"""Compute layer: AWS Batch capacity that scales to zero, with per-team job queues and job roles.

The component imports Pulumi; import it from ``modules.compute.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.compute.settings`` without loading Pulumi."""
