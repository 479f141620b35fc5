"""The Strata Pulumi program: configuration, pure planning logic, and the composition of the layers."""
