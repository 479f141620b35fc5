"""Team layer: a team's data-scientist role and its Metaflow profile parameter.

The component imports Pulumi; import it from ``modules.team.component``. Keeping this file empty lets the
config loader and ``strata validate`` read ``modules.team.settings`` without loading Pulumi."""
