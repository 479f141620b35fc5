"""Every Helm chart the platform installs: repository, chart and version, pinned here and nowhere else.

A ``helm.v3.Release`` names one of these; ``strata manifests`` writes them to ``releases.yaml`` and a test
checks that every release the program declares uses exactly this table. Upgrading a chart is a change to
this file, reviewed like any other. Pure: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Chart repositories, by the name the rest of the code uses.
REPOSITORIES = {
    "argo": "https://argoproj.github.io/argo-helm",
    "autoscaler": "https://kubernetes.github.io/autoscaler",
    "seldon": "https://seldonio.github.io/helm-charts",
}


@dataclass(frozen=True)
class Chart:
    repository: str  # a key of REPOSITORIES
    name: str
    version: str  # the chart's own version
    app_version: str  # what it installs, for people reading the plan

    @property
    def repository_url(self) -> str:
        return REPOSITORIES[self.repository]


ARGO_WORKFLOWS = Chart("argo", "argo-workflows", "0.47.5", "v3.7.11")
ARGO_EVENTS = Chart("argo", "argo-events", "2.4.22", "v1.9.10")
# The cluster autoscaler's chart; its image is chosen per Kubernetes minor (modules/kubernetes/settings.py,
# CLUSTER_AUTOSCALER_IMAGES): the autoscaler publishes one release line per Kubernetes minor.
CLUSTER_AUTOSCALER = Chart("autoscaler", "cluster-autoscaler", "9.38.0", "v1.31.0")

CHARTS = (ARGO_WORKFLOWS, ARGO_EVENTS, CLUSTER_AUTOSCALER)
