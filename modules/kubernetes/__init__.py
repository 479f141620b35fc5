"""The Kubernetes layer: EKS, Argo Workflows and Argo Events, and a namespace per team."""
