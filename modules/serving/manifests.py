"""Every Kubernetes object and Helm value the serving layer declares, as plain dicts.

Pure (the standard library and the core; no Pulumi), like modules/kubernetes/manifests.py: :func:`team_objects`
returns what each team namespace gets (its rclone storage Secret, its MLServer ``Server``, its data scientists'
Role and RoleBinding, the NetworkPolicies that let Seldon's controller reach the namespace's scheduler and the
metrics collector (``metrics.py``) reach the Seldon agents' metrics port), the
``*_values`` functions the Helm releases' values. The component (``component.py``) declares each dict as a typed
resource or a ``CustomResource`` (modules/base/objects.py), so every object reaches the plan, ``strata
manifests`` and the offline validation (the Seldon v2.6.0 CRDs, tests/data/k8s).

What is installed: Seldon Core v2.6.0's CRDs and its controller (``seldon-core-v2-setup``, cluster-wide, in
``naming.SERVING_NAMESPACE``), and per team namespace a ``SeldonRuntime`` (``seldon-core-v2-runtime``: the
scheduler and Envoy) and one MLServer ``Server``. What is NOT: Kafka, and with it Seldon pipelines, the dataflow
engine, the model and pipeline gateways (async inference) — all disabled; Triton; Seldon's usage telemetry
(hodometer). Models and Experiments are the teams' (the SDK renders them): this module only describes their
shape for the tests (:func:`model`, :func:`experiment`).

Values the component knows only as Pulumi Outputs (the bucket name) are placed as they are, never transformed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core import naming
from modules.serving import metrics

# ---------------------------------------------------------------- the contract with the SDK (do not change)
# `strata serve deploy` (sdk/) renders Models and Experiments against these names.
SERVER = "mlserver"  # the Server every Model of the namespace names (spec.server)
SERVER_CONFIG = "mlserver"  # the ServerConfig seldon-core-v2-setup installs for MLServer
STORAGE_SECRET = "strata-s3-storage"  # the rclone config Secret (Model.spec.secretName)
# rclone's remote name: a Model's storageUri "s3://..." is read through the remote whose name is its scheme.
RCLONE_REMOTE = "s3"
SELDON_API = "mlops.seldon.io/v1alpha1"

# MLServer 1.7's parallel worker pool crashes with uvloop >= 0.22 (FACTS: "Serving"); whatever uvloop the image
# carries, inference runs in the main process. One model per Server pod is the common case; CPU-bound models
# that need more throughput get more Server replicas, not workers.
MLSERVER_ENV = {"MLSERVER_PARALLEL_WORKERS": "0"}

# The Seldon runtime (SeldonRuntime "seldon", one per team namespace) and its controller, in the namespaces.
RUNTIME_RELEASE = "seldon-runtime"
# The team's data scientists' Role (and RoleBinding) for Seldon's kinds in their namespace.
MODEL_DEPLOYERS_ROLE = "strata-model-deployers"
# Seldon's controller (cluster-wide, in seldon-system) reaches each namespace's scheduler, which the team
# namespace's isolation policy (modules/kubernetes) would otherwise deny.
CONTROLLER_POLICY = "strata-seldon-controller"

MANAGED_BY = {"app.kubernetes.io/managed-by": "strata"}
_RBAC = "rbac.authorization.k8s.io"
_SELDON_GROUP = "mlops.seldon.io"
_ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]

# Pods the serving layer adds to the system nodes (no node selector reaches them: the charts of 2.6.0 take
# none for these, and the team nodes are tainted): Seldon's controller and the metrics collector (metrics.py, on
# the system nodes by its node selector) once, and per team namespace the scheduler and Envoy of its
# SeldonRuntime. A t4g.medium holds 17 pods (tools/cost.py prices what overflows).
SYSTEM_PODS = 1 + metrics.system_pods()
SYSTEM_PODS_PER_TEAM = 2


@dataclass(frozen=True)
class TeamServingSpec:
    """One team's serving, as the component knows it."""

    team: str
    namespace: str
    region: str
    data_scientist_group: str  # the team's Kubernetes group (the Kubernetes layer maps its data-scientist role there)
    mlserver_image: str
    replicas: int
    cpu_millicores: int
    memory_mib: int


def model_prefix(team: str, name: str, version: int | str) -> str:
    """Where the SDK stores a model version, under the team's prefix: ``teams/<team>/models/<name>/<version>/``."""
    return f"{naming.team_prefix(team)}models/{name}/{version}/"


def storage_uri(bucket: str, team: str, name: str, version: int | str) -> str:
    return f"{RCLONE_REMOTE}://{bucket}/{model_prefix(team, name, version)}"


def model_name(name: str, version: int | str) -> str:
    """A Seldon Model per model version: ``<name>-v<version>``; the Experiment is named ``<name>``."""
    return f"{name}-v{version}"


def rclone_config(region: str) -> str:
    """The rclone remote the agent reads models through: S3 with the pod's own credentials (``env_auth``: the AWS
    SDK's chain, which picks up IRSA's web-identity token). No keys anywhere."""
    remote = {"type": "s3", "name": RCLONE_REMOTE, "parameters": {"provider": "aws", "env_auth": "true", "region": region}}
    return json.dumps(remote, separators=(",", ":"))


def _labels(spec: TeamServingSpec) -> dict[str, str]:
    return {naming.TEAM_LABEL: spec.team, **MANAGED_BY}


def _meta(spec: TeamServingSpec, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": _labels(spec)}


def _resources(cpu_m: int, memory_mib: int) -> dict[str, Any]:
    return {
        "requests": {"cpu": f"{cpu_m}m", "memory": f"{memory_mib}Mi"},
        "limits": {"cpu": f"{2 * cpu_m}m", "memory": f"{2 * memory_mib}Mi"},
    }


def team_tolerations(team: str) -> list[dict[str, str]]:
    """Exactly the team toleration core/profile.py gives Metaflow's pods (the admission policy admits only it)."""
    return [{"key": naming.TEAM_LABEL, "operator": "Equal", "value": team, "effect": "NoSchedule"}]


def storage_secret(spec: TeamServingSpec) -> dict[str, Any]:
    """``strata-s3-storage``: the rclone remote, no credentials (the Server's pods run as the team's job role)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(spec, STORAGE_SECRET),
        "type": "Opaque",
        "stringData": {RCLONE_REMOTE: rclone_config(spec.region)},
    }


def server(spec: TeamServingSpec) -> dict[str, Any]:
    """The team's one MLServer ``Server``: on the team's own nodes (its label and taint, as Metaflow's pods), as
    the team's IRSA service account (the job role, which reads only ``teams/<team>/``), counted in the team's
    quota. Seldon merges ``podSpec.containers`` into the ServerConfig's by container name: "mlserver" gets the
    pinned image, the worker setting and its requests; the agent and rclone containers keep the ServerConfig's
    (and the namespace's LimitRange defaults)."""
    mlserver = {
        "name": "mlserver",
        "image": spec.mlserver_image,
        "env": [{"name": k, "value": v} for k, v in MLSERVER_ENV.items()],
        "resources": _resources(spec.cpu_millicores, spec.memory_mib),
    }
    pod_spec = {
        "serviceAccountName": naming.TEAM_SERVICE_ACCOUNT,
        "nodeSelector": {naming.TEAM_LABEL: spec.team},
        "tolerations": team_tolerations(spec.team),
        "containers": [mlserver],
    }
    return {
        "apiVersion": SELDON_API,
        "kind": "Server",
        "metadata": _meta(spec, SERVER),
        "spec": {"serverConfig": SERVER_CONFIG, "replicas": spec.replicas, "podSpec": pod_spec},
    }


def _model_deployers_rules() -> list[dict[str, Any]]:
    """Deploy, split and retire models; see the Server and scale it. Nothing else of Seldon's (no pipelines: no Kafka), no
    secrets (the storage Secret is the platform's), no RBAC."""
    return [
        {"apiGroups": [_SELDON_GROUP], "resources": ["models", "experiments"], "verbs": list(_ALL_VERBS)},
        {"apiGroups": [_SELDON_GROUP], "resources": ["servers"], "verbs": list(_READ)},
        # Start and stop the team's own Server (`strata serve deploy` starts a stopped one): its replicas only.
        {"apiGroups": [_SELDON_GROUP], "resources": ["servers/scale"], "verbs": ["get", "patch", "update"]},
    ]


def _controller_policy(spec: TeamServingSpec) -> dict[str, Any]:
    """Seldon's controller (seldon-system) reaches the namespace's scheduler; every other namespace stays denied
    by the Kubernetes layer's isolation policy (NetworkPolicies add up)."""
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": naming.SERVING_NAMESPACE}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, CONTROLLER_POLICY),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]},
    }


def team_objects(spec: TeamServingSpec) -> list[dict[str, Any]]:
    """What the serving layer adds to a team namespace (which the Kubernetes layer creates), in apply order."""
    group = {"kind": "Group", "name": spec.data_scientist_group, "apiGroup": _RBAC}
    return [
        storage_secret(spec),
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "Role",
            "metadata": _meta(spec, MODEL_DEPLOYERS_ROLE),
            "rules": _model_deployers_rules(),
        },
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": _meta(spec, MODEL_DEPLOYERS_ROLE),
            "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": MODEL_DEPLOYERS_ROLE},
            "subjects": [group],
        },
        _controller_policy(spec),
        metrics.scrape_policy(spec.namespace, _labels(spec)),
        server(spec),
    ]


# ---------------------------------------------------------------- what the SDK renders (shapes for the tests)


def model(
    namespace: str, name: str, version: int | str, uri: str, *, requirements: tuple[str, ...] = ("sklearn",)
) -> dict[str, Any]:
    """A Seldon Model of one model version, as the SDK renders it: on the team's Server, read through the storage
    Secret."""
    return {
        "apiVersion": SELDON_API,
        "kind": "Model",
        "metadata": {"name": model_name(name, version), "namespace": namespace},
        "spec": {
            "storageUri": uri,
            "requirements": list(requirements),
            "server": SERVER,
            "secretName": STORAGE_SECRET,
        },
    }


def experiment(namespace: str, name: str, weights: dict[str, int], default: str | None = None) -> dict[str, Any]:
    """A Seldon Experiment ``<name>`` splitting traffic between model versions (Model name -> weight). The CRD
    does not check that the weights sum to 100: :func:`weights_problem` does."""
    spec: dict[str, Any] = {"candidates": [{"name": m, "weight": w} for m, w in weights.items()]}
    if default is not None:
        spec["default"] = default
    return {"apiVersion": SELDON_API, "kind": "Experiment", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def weights_problem(obj: dict[str, Any]) -> str | None:
    """Why an Experiment's weights are wrong (they must be positive and sum to 100), or None."""
    weights = [c.get("weight") for c in obj["spec"].get("candidates", [])]
    ints = [w for w in weights if isinstance(w, int) and not isinstance(w, bool) and w >= 0]
    if len(ints) != len(weights):
        return f"weights must be non-negative integers: {weights}"
    if sum(ints) != 100:
        return f"weights sum to {sum(ints)}, not 100"
    return None


# ---------------------------------------------------------------- Helm values
# Keys read from the charts at SeldonIO/seldon-core k8s/helm-charts/ (values.yaml and templates); no helm binary
# or network here renders the 2.6.0 tarballs, so a key the 2.6.0 chart lacks would be ignored by Helm, not
# refused: the README lists them as unverified against a live install.


def crds_values() -> dict[str, Any]:
    """seldon-core-v2-crds (cluster-wide): the CRDs only, nothing to configure."""
    return {}


def setup_values() -> dict[str, Any]:
    """seldon-core-v2-setup, in ``naming.SERVING_NAMESPACE``: the controller, watching every namespace (the teams'
    runtimes live in theirs), and the ServerConfigs ("mlserver" is what the teams' Servers name; each Server sets
    its own image). No Kafka: nothing here points at a broker, and the runtimes disable what would need one."""
    return {"controller": {"clusterwide": True}}


def runtime_values() -> dict[str, Any]:
    """seldon-core-v2-runtime, once per team namespace: its ``SeldonRuntime`` "seldon". The scheduler and Envoy
    run (one each, ClusterIP: the quota admits no LoadBalancer Service, and inference is reached inside the
    cluster at ``seldon-mesh.<namespace>``); the dataflow engine and the model and pipeline gateways need Kafka and
    are disabled (no pipelines, no async inference); hodometer, Seldon's usage telemetry, is disabled. Agents read
    models through the namespace's storage Secret by default (a Model may also name it: ``secretName``)."""
    off = {"disable": True, "replicas": 0}
    return {
        "hodometer": dict(off),
        "scheduler": {"disable": False, "replicas": 1, "serviceType": "ClusterIP"},
        "envoy": {"disable": False, "replicas": 1, "serviceType": "ClusterIP"},
        "dataflow": dict(off),
        "modelgateway": dict(off),
        "pipelinegateway": dict(off),
        "config": {"agentConfig": {"rclone": {"configSecrets": [STORAGE_SECRET]}}},
    }


def system_pods(teams: int) -> int:
    """Pods the serving layer puts on the system nodes for ``teams`` team namespaces."""
    return SYSTEM_PODS + SYSTEM_PODS_PER_TEAM * teams
