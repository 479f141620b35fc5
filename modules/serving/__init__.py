"""Model serving: Seldon Core v2.6.0 and MLServer on the Kubernetes layer (README.md)."""
