"""The data layer: KMS key, hardened S3 datastore with per-team prefixes, access-log bucket.

The component imports Pulumi; import it from ``modules.datastore.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.datastore.settings`` without loading Pulumi."""
