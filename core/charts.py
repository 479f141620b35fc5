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

# Seldon Core v2 (model serving, modules/serving). 2.6.0 is the last Apache-2.0 release of v2: from 2.7.0 the
# code is under the Business Source License 1.1 (production use needs a commercial licence from Seldon), so
# this pin does not move past 2.6.x without a licence decision (modules/serving/README.md, "Licence").
SELDON_CRDS = Chart("seldon", "seldon-core-v2-crds", "2.6.0", "2.6.0")
SELDON_SETUP = Chart("seldon", "seldon-core-v2-setup", "2.6.0", "2.6.0")
# Installed once per team namespace: it renders that namespace's SeldonRuntime (scheduler, envoy).
SELDON_RUNTIME = Chart("seldon", "seldon-core-v2-runtime", "2.6.0", "2.6.0")
# Pinned for reference, NOT installed. At 2.6.0 (read at tag v2.6.0, commit 60b7401a, of SeldonIO/seldon-core:
# k8s/helm-charts/seldon-core-v2-servers) the chart renders two Servers, "mlserver" and "triton", whose only
# settings are `mlserver.replicas` and `triton.replicas`: no podSpec, so no service account (no IRSA: rclone could
# not read the team's prefix), no team node selector or toleration (not on the team's nodes, not in its quota as
# intended) and the default image (MLServer 1.3.5). Installed in a team namespace it would also collide with the
# team's Server "mlserver". The serving layer declares that Server itself instead, as a typed object validated
# offline against the v2.6.0 CRD and carrying the team's service account, nodes and image (modules/serving/manifests.py).
SELDON_SERVERS = Chart("seldon", "seldon-core-v2-servers", "2.6.0", "2.6.0")

# MLServer, the model server every team's Server "mlserver" runs (Apache-2.0 like all of MLServer). 1.7.1 is the
# version `strata serve local` runs (sdk/pyproject.toml, the `serve` extra: mlserver>=1.7.1,<1.8): one runtime on a
# laptop and in the cluster, so a model that loads locally loads the same way in EKS. The charts' default, 1.3.5,
# is from 2023 and predates the scikit-learn 1.x fixes of later releases. Not verified here: MLServer 1.7 with
# Seldon 2.6's agent (the agent speaks MLServer's V2 model-repository API, which 1.7 still serves; no cluster
# runs in this repository's tests). MLServer 1.7's worker pool crashes with uvloop >= 0.22: the Server sets
# MLSERVER_PARALLEL_WORKERS=0 (inference in the main process), whatever uvloop the image carries.
MLSERVER_VERSION = "1.7.1"
MLSERVER_IMAGE = f"seldonio/mlserver:{MLSERVER_VERSION}"

# The CloudWatch agent, in its Prometheus mode the serving layer's metrics collector (modules/serving/metrics.py):
# one Deployment, declared object by object (no chart). Pinned by tag; the tag is one that public manifests and
# modules reference for this repository (public.ecr.aws/cloudwatch-agent/cloudwatch-agent), NOT verified against
# the registry here (no network): check it on the first real install, and pin its digest then.
CLOUDWATCH_AGENT_VERSION = "1.300062.0b1304"
CLOUDWATCH_AGENT_IMAGE = f"public.ecr.aws/cloudwatch-agent/cloudwatch-agent:{CLOUDWATCH_AGENT_VERSION}"

# The charts the platform installs, per layer (a test checks every declared release against exactly these).
KUBERNETES_CHARTS = (ARGO_WORKFLOWS, ARGO_EVENTS, CLUSTER_AUTOSCALER)
SERVING_CHARTS = (SELDON_CRDS, SELDON_SETUP, SELDON_RUNTIME)
CHARTS = KUBERNETES_CHARTS + SERVING_CHARTS
# Pinned, deliberately not installed (see each one's comment).
NOT_INSTALLED = (SELDON_SERVERS,)
