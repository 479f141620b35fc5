"""The network layer: private VPC sized from the capacity config (or an adopted VPC), egress, S3 gateway endpoint, flow logs.

The component imports Pulumi; import it from ``modules.network.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.network.settings`` without loading Pulumi."""
