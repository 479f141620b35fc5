"""Every Kubernetes object and Helm value the Kubernetes layer declares, as plain dicts.

Pure (the standard library and the core; no Pulumi): :func:`team_objects` returns a team's namespace and
everything in it, in apply order; the ``*_values`` functions return the Helm releases' values. The component
(``component.py``) turns each dict into a typed resource (``core.v1.*``, ``rbac.v1.*``, ``networking.v1.*``) or
an ``apiextensions.CustomResource``, so that every object reaches the plan, ``strata manifests`` and the
offline validation (tests/unit/test_kubernetes_manifests.py, tests/gates/test_kubernetes_manifests.py).

Values the component only knows as Pulumi Outputs (a team's job role ARN, the bucket name, the cluster name)
are placed in the dicts as they are, never transformed here: Pulumi resolves nested Outputs in inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import naming

# The label of the system node group (modules/kubernetes/component.py): the platform's own pods run there.
# Team nodes are tainted with the team's name, so nothing else lands on them.
SYSTEM_POOL_LABEL = {"strata.io/pool": "system"}

# IAM roles for service accounts: the EKS pod identity webhook gives a pod of an account with this annotation
# the role's web-identity credentials (AWS_ROLE_ARN + a projected token); the role trusts only that account.
# https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

# The cluster autoscaler's account (its IRSA role trusts exactly system:serviceaccount:kube-system:<this>).
CLUSTER_AUTOSCALER_NAMESPACE = "kube-system"
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"

# Argo Workflows reads a namespace's default artifact repository from this ConfigMap, key "default".
# https://argo-workflows.readthedocs.io/en/latest/artifact-repository-ref/
ARTIFACT_REPOSITORIES_CONFIGMAP = "artifact-repositories"
ARTIFACT_REPOSITORY_KEY = "default"
DEFAULT_ARTIFACT_REPOSITORY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"

# The labels Argo Events' controller puts on an event source's pods (pkg/reconciler/eventsource/controller.go,
# v1.9: "controller": "eventsource-controller", LabelEventSourceName = "eventsource-name"): the webhook
# Service selects them.
EVENT_SOURCE_POD_LABELS = {"controller": "eventsource-controller", "eventsource-name": naming.TEAM_EVENT_SOURCE}
# The Service in front of the team's webhook (NodePort for the internal load balancer, ClusterIP inside the
# cluster). Not Argo Events' own "<name>-eventsource-svc", which it would create from EventSource.spec.service.
WEBHOOK_SERVICE = naming.TEAM_EVENT_SOURCE

# JetStream (NATS) for the teams' event buses, pinned: the argo-events release's controller config lists
# exactly this version (argo_events_values), and every EventBus names it.
JETSTREAM_VERSION = "2.10.10"
JETSTREAM_IMAGES = {
    "natsImage": f"nats:{JETSTREAM_VERSION}",
    "metricsExporterImage": "natsio/prometheus-nats-exporter:0.14.0",
    "configReloaderImage": "natsio/nats-server-config-reloader:0.14.0",
    "startCommand": "/nats-server",
}

# Pod Security Admission level of team namespaces. "restricted" would need runAsNonRoot, a seccomp profile,
# allowPrivilegeEscalation: false and all capabilities dropped on every container; Metaflow's pods set no
# securityContext unless a step asks (@kubernetes(security_context=...)) and the default image
# (python:3.11-slim) runs as root, so "restricted" would refuse every step. "baseline" admits them and still
# refuses privileged containers, host namespaces, hostPath volumes and added capabilities.
# "restricted" is audited, not enforced: the control plane's audit log (every log type is on) shows what
# would fail it, without warnings on every submission.
POD_SECURITY_ENFORCE = "baseline"
POD_SECURITY_AUDIT = "restricted"

# Requests given to containers that set none (Argo's and Argo Events' own containers; a pod without requests
# would otherwise be refused by the namespace's requests quota).
DEFAULT_CONTAINER_REQUESTS = {"cpu": "50m", "memory": "128Mi"}

MANAGED_BY = {"app.kubernetes.io/managed-by": "strata"}

# Role and binding names in a team namespace.
EXECUTOR_ROLE = "strata-workflow-executor"
OPERATE_WORKFLOW_ROLE = "strata-operate-workflow"
DATA_SCIENTISTS_ROLE = "strata-data-scientists"
QUOTA = "strata-quota"
LIMIT_RANGE = "strata-defaults"
ISOLATION_POLICY = "strata-namespace-isolation"
WEBHOOK_POLICY = "strata-webhook-from-vpc"

_RBAC = "rbac.authorization.k8s.io"
_ARGO = "argoproj.io"
_ARGO_EVENTS_API = "argoproj.io/v1alpha1"
_ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]


@dataclass(frozen=True)
class TeamSpec:
    """One team's share of the cluster, as the component knows it."""

    environment: str
    team: str
    namespace: str
    cpu: int  # quota: requests.cpu (cores)
    memory_gib: int  # quota: requests.memory
    gpus: int  # quota: requests.nvidia.com/gpu (0: the namespace may request none)
    job_role_arn: Any  # str in tests, a Pulumi Output in the component: placed as is, never transformed
    bucket_name: Any  # the datastore bucket: same
    region: str
    vpc_cidr: str  # the internal load balancer forwards to the webhook from inside the VPC
    load_balancer: bool  # strata:kubernetes.loadBalancer: the webhook is a NodePort behind the internal NLB


# The argo-workflows chart's server Service: <release>-server (the release is named after the chart).
ARGO_SERVER_SERVICE = "argo-workflows-server"


def data_scientist_group(team: str) -> str:
    """The Kubernetes group a team's data-scientist role is mapped to (its EKS access entry): bound in the
    team's namespace only, nowhere else."""
    return f"strata:team:{team}"


def internal_webhook_url(namespace: str) -> str:
    """The team's webhook from inside the cluster (METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL)."""
    return f"http://{WEBHOOK_SERVICE}.{namespace}.svc.cluster.local:{naming.WEBHOOK_PORT}{naming.WEBHOOK_ENDPOINT}"


def internal_ui_url() -> str:
    """The Argo server from inside the cluster (the argo-workflows release's server Service), where there is no
    load balancer (``strata:kubernetes.loadBalancer`` off)."""
    return f"https://{ARGO_SERVER_SERVICE}.{naming.ARGO_NAMESPACE}.svc.cluster.local:{naming.ARGO_SERVER_PORT}"


def artifact_key_format(team: str) -> str:
    """Where a team's workflow artifacts go in the datastore: under the team's own prefix, which its job role
    (the pods' identity through IRSA) may write and no other team's role may."""
    return f"{naming.team_prefix(team)}argo/{{{{workflow.name}}}}/{{{{pod.name}}}}"


def _concat(*parts: Any) -> Any:
    """Join strings, one of which may be a Pulumi Output (the component's bucket name).

    All strings: a str. Otherwise the Output class's own static ``concat``, reached through the value's type
    so that this module needs no Pulumi import; the Output itself is never called."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    output_type: Any = next(type(p) for p in parts if not isinstance(p, str))
    return output_type.concat(*parts)


def artifact_repository(spec: TeamSpec) -> Any:
    """The ``default`` entry of the team's ``artifact-repositories`` ConfigMap (YAML): the datastore, the team's
    prefix, and the SDK's default credentials (the pod's IRSA role). The bucket's default encryption (the
    datastore key) applies; no static keys exist anywhere."""
    return _concat(
        "s3:\n  bucket: ",
        spec.bucket_name,
        f"\n  endpoint: s3.{spec.region}.amazonaws.com\n  region: {spec.region}\n"
        f"  keyFormat: {artifact_key_format(spec.team)}\n  useSDKCreds: true\n",
    )


def _labels(spec: TeamSpec, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {naming.TEAM_LABEL: spec.team, **MANAGED_BY, **(extra or {})}


def _meta(spec: TeamSpec, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": _labels(spec), **extra}


def _role(spec: TeamSpec, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{_RBAC}/v1", "kind": "Role", "metadata": _meta(spec, name), "rules": rules}


def _binding(spec: TeamSpec, role: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{_RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": _meta(spec, role),
        "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": role},
        "subjects": [subject],
    }


def _service_account(spec: TeamSpec, name: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = _meta(spec, name, **({"annotations": annotations} if annotations else {}))
    # Mounted: Argo's executor (the "wait" container) and Argo Events' sensors call the API with this token.
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": True}


def _sa_subject(spec: TeamSpec, name: str) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "name": name, "namespace": spec.namespace}


# What the team's data scientists may do in their namespace (and nowhere else): what Metaflow needs for
# `argo-workflows create | trigger | terminate | suspend | delete` (metaflow/plugins/argo/argo_client.py:
# workflowtemplates, cronworkflows and sensors get/create/replace/delete, workflows create/get/patch) and for
# `@kubernetes` (metaflow/plugins/kubernetes: batch jobs create/read/patch/delete, jobsets for @parallel,
# pods list, pods/exec to stop a step), plus what the Argo UI reads with their token (client auth mode).
# The event bus and event source are the platform's: read only. No secrets, no RBAC, no service accounts.
def _data_scientist_rules() -> list[dict[str, Any]]:
    return [
        {"apiGroups": [_ARGO], "resources": ["workflows", "workflowtemplates", "cronworkflows", "sensors"], "verbs": _ALL_VERBS},
        {"apiGroups": [_ARGO], "resources": ["eventbus", "eventsources"], "verbs": _READ},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": _READ},
        # Metaflow stops a running step by exec'ing killall5 in it (kubernetes_job.py, kubernetes_client.py);
        # the websocket exec needs create (and get, for clients still on SPDY).
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
        {
            "apiGroups": ["jobset.x-k8s.io"],
            "resources": ["jobsets"],
            "verbs": ["get", "list", "watch", "create", "patch", "delete"],
        },
    ]


def team_objects(spec: TeamSpec) -> list[dict[str, Any]]:
    """Every object in the team's namespace, the Namespace first, in apply order."""
    ns = spec.namespace
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": _labels(
                spec,
                {
                    "pod-security.kubernetes.io/enforce": POD_SECURITY_ENFORCE,
                    "pod-security.kubernetes.io/audit": POD_SECURITY_AUDIT,
                },
            ),
        },
    }
    job_sa = _service_account(spec, naming.TEAM_SERVICE_ACCOUNT, {IRSA_ROLE_ANNOTATION: spec.job_role_arn})
    operate_sa = _service_account(spec, naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT)
    # Argo Workflows v3.7's minimum for the executor: it reports outputs through WorkflowTaskResults
    # (docs/workflow-rbac.md); the pods/get-watch-patch of older executors is no longer needed.
    executor_rules = [{"apiGroups": [_ARGO], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]
    # Metaflow's sensors create a Workflow from the flow's WorkflowTemplate (a standard K8s trigger).
    operate_rules = [
        {"apiGroups": [_ARGO], "resources": ["workflows"], "verbs": ["create"]},
        {"apiGroups": [_ARGO], "resources": ["workflowtemplates"], "verbs": ["get"]},
    ]
    group = {"kind": "Group", "name": data_scientist_group(spec.team), "apiGroup": _RBAC}
    return [
        namespace,
        job_sa,
        operate_sa,
        _role(spec, EXECUTOR_ROLE, executor_rules),
        _binding(spec, EXECUTOR_ROLE, _sa_subject(spec, naming.TEAM_SERVICE_ACCOUNT)),
        _role(spec, OPERATE_WORKFLOW_ROLE, operate_rules),
        _binding(spec, OPERATE_WORKFLOW_ROLE, _sa_subject(spec, naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT)),
        _role(spec, DATA_SCIENTISTS_ROLE, _data_scientist_rules()),
        _binding(spec, DATA_SCIENTISTS_ROLE, group),
        _quota(spec),
        _limit_range(spec),
        _isolation_policy(spec),
        # Without the load balancer nothing outside the cluster reaches the webhook, and no VPC-wide rule
        # admits other teams' pods (whose addresses are in the VPC too).
        *([_webhook_policy(spec)] if spec.load_balancer else []),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(
                spec,
                ARTIFACT_REPOSITORIES_CONFIGMAP,
                annotations={DEFAULT_ARTIFACT_REPOSITORY_ANNOTATION: ARTIFACT_REPOSITORY_KEY},
            ),
            "data": {ARTIFACT_REPOSITORY_KEY: artifact_repository(spec)},
        },
        _event_bus(spec),
        _event_source(spec),
        _webhook_service(spec),
    ]


def _quota(spec: TeamSpec) -> dict[str, Any]:
    """The team's CPU, memory and GPU requests, from its team file, for everything in its namespace (steps,
    sensors, its event bus and event source).

    Requests, not limits: Metaflow's default QoS (Burstable) sets requests only. A limits quota would need a
    default limit on every container, and a step requesting more than that default would be refused. Pods
    burst only on the team's own nodes (tainted with its name), which the node group's maxSize bounds.
    No LoadBalancer Service (one would be a new, possibly public, load balancer); one NodePort (the webhook's)
    behind the internal load balancer, none without it."""
    hard = {
        "requests.cpu": str(spec.cpu),
        "requests.memory": f"{spec.memory_gib}Gi",
        "requests.nvidia.com/gpu": str(spec.gpus),
        "services.loadbalancers": "0",
        "services.nodeports": "1" if spec.load_balancer else "0",
    }
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(spec, QUOTA), "spec": {"hard": hard}}


def _limit_range(spec: TeamSpec) -> dict[str, Any]:
    """Requests for containers that set none, so that the requests quota admits them."""
    limits = [{"type": "Container", "defaultRequest": dict(DEFAULT_CONTAINER_REQUESTS)}]
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(spec, LIMIT_RANGE), "spec": {"limits": limits}}


def _namespace_peer(name: str) -> dict[str, Any]:
    # kubernetes.io/metadata.name is set by the API server on every namespace and cannot be changed.
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _isolation_policy(spec: TeamSpec) -> dict[str, Any]:
    """Ingress to every pod of the namespace: from the namespace itself and from Argo's and Argo Events'
    namespaces only. Another team's namespace matches none of these peers: its traffic is denied.
    (Enforced by the VPC CNI's network policy agent; egress is left open: steps reach S3, the metadata
    service and package indexes.)"""
    spec_ = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {}}]},
            {"from": [_namespace_peer(naming.ARGO_NAMESPACE), _namespace_peer(naming.ARGO_EVENTS_NAMESPACE)]},
        ],
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, ISOLATION_POLICY),
        "spec": spec_,
    }


def _webhook_policy(spec: TeamSpec) -> dict[str, Any]:
    """The webhook pods also accept the internal load balancer's traffic: from the VPC, on the webhook port
    only (NodePort traffic reaches the pod from a node's address, which is inside the VPC)."""
    spec_ = {
        "podSelector": {"matchLabels": dict(EVENT_SOURCE_POD_LABELS)},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"ipBlock": {"cidr": spec.vpc_cidr}}], "ports": [{"protocol": "TCP", "port": naming.WEBHOOK_PORT}]}
        ],
    }
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(spec, WEBHOOK_POLICY), "spec": spec_}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _event_bus(spec: TeamSpec) -> dict[str, Any]:
    """The team's EventBus (Metaflow's default name, "default"): one JetStream server on the system nodes.

    On the system nodes, not the team's: they run anyway (min 1), whereas a team's nodes scale to zero and an
    always-on bus there would keep one of them (an m6i.xlarge by default) running around the clock for every
    team. One replica (Argo Events allows 1 or >= 3) and streams of one replica: a handful of small events, no
    persistent volume (no EBS CSI driver needed, nothing billed per team); events in flight are lost if the pod
    restarts."""
    jetstream = {
        "version": JETSTREAM_VERSION,
        "replicas": 1,
        "streamConfig": "replicas: 1\n",
        "nodeSelector": dict(SYSTEM_POOL_LABEL),
        "containerTemplate": {"resources": _resources("10m", "64Mi", "250m", "256Mi")},
        "reloaderContainerTemplate": {"resources": _resources("5m", "16Mi", "50m", "64Mi")},
        "metricsContainerTemplate": {"resources": _resources("5m", "16Mi", "50m", "64Mi")},
    }
    return {
        "apiVersion": _ARGO_EVENTS_API,
        "kind": "EventBus",
        "metadata": _meta(spec, naming.TEAM_EVENT_BUS),
        "spec": {"jetstream": jetstream},
    }


def _event_source(spec: TeamSpec) -> dict[str, Any]:
    """The webhook Metaflow's ``@trigger`` / ``ArgoEvent.publish`` posts to: event ``naming.TEAM_EVENT_NAME`` of
    event source ``naming.TEAM_EVENT_SOURCE`` (what the flows' sensors depend on)."""
    webhook = {naming.TEAM_EVENT_NAME: {"port": str(naming.WEBHOOK_PORT), "endpoint": naming.WEBHOOK_ENDPOINT, "method": "POST"}}
    template = {
        "nodeSelector": dict(SYSTEM_POOL_LABEL),
        "container": {"resources": _resources("10m", "32Mi", "100m", "128Mi")},
    }
    return {
        "apiVersion": _ARGO_EVENTS_API,
        "kind": "EventSource",
        "metadata": _meta(spec, naming.TEAM_EVENT_SOURCE),
        "spec": {"eventBusName": naming.TEAM_EVENT_BUS, "replicas": 1, "template": template, "webhook": webhook},
    }


def _webhook_service(spec: TeamSpec) -> dict[str, Any]:
    """The webhook inside the cluster at :func:`internal_webhook_url`, and with the load balancer on every node at
    the team's NodePort (the internal load balancer's listener forwards there)."""
    port: dict[str, Any] = {"name": "webhook", "protocol": "TCP", "port": naming.WEBHOOK_PORT, "targetPort": naming.WEBHOOK_PORT}
    svc: dict[str, Any] = {"type": "ClusterIP", "selector": dict(EVENT_SOURCE_POD_LABELS), "ports": [port]}
    if spec.load_balancer:
        port["nodePort"] = naming.webhook_node_port(spec.team)
        svc = {**svc, "type": "NodePort", "externalTrafficPolicy": "Cluster"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec, WEBHOOK_SERVICE), "spec": svc}


# ---------------------------------------------------------------- cluster-wide objects

# A team's nodes are tainted and labelled strata.io/team=<team>, and its profile gives its pods the matching
# toleration and node selector. A pod spec is the data scientist's to write, though: without this policy a pod
# in one team's namespace could tolerate another team's taint (or every taint) and run on, and bill, that team's
# nodes. The API server refuses such pods in every team namespace (those labelled strata.io/team).
TEAM_NODES_POLICY = "strata-team-nodes"
_OWN_TEAM = f"namespaceObject.metadata.labels['{naming.TEAM_LABEL}']"
# Every toleration names a key (an empty key with Exists tolerates every taint); the team key only with Equal
# (Kubernetes' default operator) and the namespace's own team. Other keys (nvidia.com/gpu, the not-ready and
# unreachable tolerations Kubernetes adds itself) are free: the team taint alone keeps pods off other teams' nodes.
TOLERATIONS_RULE = (
    "!has(object.spec.tolerations) || object.spec.tolerations.all(t, has(t.key) && t.key != '' && "
    f"(t.key != '{naming.TEAM_LABEL}' || ((!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == {_OWN_TEAM})))"
)
NODE_SELECTOR_RULE = (
    f"!has(object.spec.nodeSelector) || !('{naming.TEAM_LABEL}' in object.spec.nodeSelector) || "
    f"object.spec.nodeSelector['{naming.TEAM_LABEL}'] == {_OWN_TEAM}"
)
# A pod created with spec.nodeName skips the scheduler, and with it every NoSchedule taint.
NODE_NAME_RULE = "request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''"


def cluster_objects() -> list[dict[str, Any]]:
    """The cluster-wide objects the platform declares itself (not the charts'): the admission policy that keeps
    each team's pods on its own nodes, and its binding (Deny)."""
    labels = dict(MANAGED_BY)
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": TEAM_NODES_POLICY, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}
                ],
                "namespaceSelector": {"matchExpressions": [{"key": naming.TEAM_LABEL, "operator": "Exists"}]},
            },
            "validations": [
                {
                    "expression": TOLERATIONS_RULE,
                    "message": f"a pod may tolerate only its own team's {naming.TEAM_LABEL} taint, and no taint without a key",
                    "reason": "Forbidden",
                },
                {
                    "expression": NODE_SELECTOR_RULE,
                    "message": f"a pod may select only its own team's nodes ({naming.TEAM_LABEL})",
                    "reason": "Forbidden",
                },
                {
                    "expression": NODE_NAME_RULE,
                    "message": "a pod may not name its node (spec.nodeName): the scheduler places it",
                    "reason": "Forbidden",
                },
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": TEAM_NODES_POLICY, "labels": labels},
        "spec": {"policyName": TEAM_NODES_POLICY, "validationActions": ["Deny"]},
    }
    return [policy, binding]


# ---------------------------------------------------------------- Helm values
# Keys checked against each pinned chart's values.yaml / README (argoproj/argo-helm charts/argo-workflows and
# charts/argo-events, kubernetes/autoscaler charts/cluster-autoscaler 9.38.0).

_PLATFORM_POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
_PLATFORM_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
# Finished workflows are deleted after a week (they live in etcd; Metaflow keeps its own record and logs in the
# datastore), and a step's pod as soon as it succeeds (failed ones stay for `kubectl logs`).
WORKFLOW_TTL_SECONDS = 7 * 24 * 3600


def argo_workflows_values(*, environment: str, region: str, bucket_name: Any, load_balancer: bool = True) -> dict[str, Any]:
    """The argo-workflows chart (core/charts.py ARGO_WORKFLOWS), namespace ``naming.ARGO_NAMESPACE``.

    The server authenticates every request with the caller's own bearer token (client mode: an EKS token from
    ``aws eks get-token``), so a team sees exactly what its namespace Role allows; it serves TLS (self-signed)
    on a NodePort the internal load balancer forwards 2746 to. No default artifact repository: each team
    namespace names its own prefix (``artifact-repositories``), and a namespace without one gets none rather
    than the bucket's root. ``region`` and ``bucket_name`` are not needed by the chart for that reason; they
    stay in the signature so the releases are described by the same inputs as the team objects."""
    del region, bucket_name  # see the docstring
    return {
        "commonLabels": {"strata.io/environment": environment},
        # Minimal CRDs as plain chart templates (the chart's default). The "full" CRDs are installed by a hook
        # Job that downloads them from GitHub at install time; the offline gates validate against them instead.
        "crds": {"install": True, "keep": True, "full": False},
        # One controller for every namespace (a ClusterRole); it is given no per-namespace objects: the
        # platform declares each team's service accounts and roles itself (team_objects).
        "singleNamespace": False,
        "createAggregateRoles": False,
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "useDefaultArtifactRepo": False,
        "controller": {
            "workflowNamespaces": [],
            "nodeSelector": dict(SYSTEM_POOL_LABEL),
            "resources": _resources("50m", "128Mi", "500m", "512Mi"),
            "workflowDefaults": {
                "spec": {
                    "ttlStrategy": {"secondsAfterCompletion": WORKFLOW_TTL_SECONDS},
                    "podGC": {"strategy": "OnPodSuccess"},
                }
            },
        },
        # Argo's init and wait containers in every step's pod: small requests, counted in the team's quota.
        "executor": {"resources": _resources("10m", "64Mi", "500m", "512Mi")},
        "server": {
            "authModes": ["client"],
            "secure": True,
            "servicePort": naming.ARGO_SERVER_PORT,
            # A NodePort for the internal load balancer where there is one; otherwise inside the cluster only.
            **(
                {"serviceType": "NodePort", "serviceNodePort": naming.ARGO_SERVER_NODE_PORT}
                if load_balancer
                else {"serviceType": "ClusterIP"}
            ),
            "nodeSelector": dict(SYSTEM_POOL_LABEL),
            "resources": _resources("20m", "64Mi", "500m", "256Mi"),
        },
    }


def argo_events_values() -> dict[str, Any]:
    """The argo-events chart (core/charts.py ARGO_EVENTS), namespace ``naming.ARGO_EVENTS_NAMESPACE``: one
    cluster-wide controller (it reconciles every team's EventBus, EventSource and Metaflow's Sensors) on the
    system nodes, and the JetStream version the teams' buses name."""
    return {
        "crds": {"install": True, "keep": True},
        "createAggregateRoles": False,
        "configs": {"jetstream": {"versions": [{"version": JETSTREAM_VERSION, **JETSTREAM_IMAGES}]}},
        "controller": {
            "nodeSelector": dict(SYSTEM_POOL_LABEL),
            "resources": _resources("20m", "64Mi", "500m", "256Mi"),
        },
        # The validating admission webhook is off (the chart's default): the offline gates validate the
        # platform's objects, and Metaflow's sensors are checked by the controller itself.
        "webhook": {"enabled": False},
    }


def cluster_autoscaler_values(*, cluster_name: Any, region: str, role_arn: Any, image_tag: str) -> dict[str, Any]:
    """The cluster-autoscaler chart (core/charts.py CLUSTER_AUTOSCALER), namespace
    :data:`CLUSTER_AUTOSCALER_NAMESPACE`: it finds the node groups by their auto-discovery tags and scales the
    team and GPU groups from zero using their node-template tags (labels and taints). ``image_tag`` is the
    autoscaler release matching the cluster's Kubernetes minor (settings.CLUSTER_AUTOSCALER_IMAGES)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": image_tag},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                "annotations": {IRSA_ROLE_ANNOTATION: role_arn},
            }
        },
        "extraArgs": {
            # Of the groups that fit a pending pod, grow the one that wastes the least CPU and memory.
            "expander": "least-waste",
            "balance-similar-node-groups": True,
            # skip-nodes-with-system-pods stays true (the default): system nodes, which hold the platform's
            # pods, are never drained to save a node; team nodes hold no kube-system pods but DaemonSets.
        },
        "nodeSelector": dict(SYSTEM_POOL_LABEL),
        "resources": _resources("50m", "300Mi", "500m", "600Mi"),
        # Non-root; fsGroup lets it read the projected IRSA token.
        "securityContext": {**_PLATFORM_POD_SECURITY, "runAsUser": 65534, "fsGroup": 65534},
        "containerSecurityContext": dict(_PLATFORM_CONTAINER_SECURITY),
    }
