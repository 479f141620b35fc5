"""The serving layer's metrics collector: the CloudWatch agent in its Prometheus mode, as plain dicts.

Pure (the standard library and the core; no Pulumi), like ``manifests.py``. What it does: one Deployment
(``cwagent-prometheus``, one replica on the system nodes, in ``naming.METRICS_NAMESPACE``) scrapes the Seldon agent
of every MLServer ``Server`` pod in the team namespaces (the agent container's Prometheus port, ``metrics``/9006),
keeps Seldon's per-model inference counters, and writes them to one log group in CloudWatch's embedded metric
format (EMF); CloudWatch Logs turns each EMF record into the metrics the environment's dashboard and the per-team
serving alarms read (modules/observability/signals.py): namespace ``Strata/Serving``, dimensions
``ClusterName``, ``Namespace``, ``model``::

    seldon_model_infer_total            <- seldon_model_infer_total            (every response code)
    seldon_model_infer_errors_total     <- seldon_model_infer_total{code=~"5.."} (a second scrape job renames it)
    seldon_model_infer_seconds_total    <- seldon_model_infer_seconds_total

Why two scrape jobs of the same endpoint: Prometheus relabelling renames a series, it cannot copy one, so renaming
the 5xx series in one job would drop them from the requests. Job ``seldon-agents`` keeps both counters as they are;
job ``seldon-agents-errors`` keeps only the 5xx series of the requests counter and renames them. The EMF
declarations select each job's metrics by its ``job`` label.

Unverified here (no cluster, no network): the Seldon metric names and labels (``model``, ``code``) are Seldon Core
v2's documented agent metrics (scheduler/pkg/metrics/agent.go, docs "Operational Monitoring"), not read off a
running 2.6.0 agent; the agent's metrics port, ``containerPort: 9006, name: metrics`` on the ``agent`` container,
is from the ``mlserver`` ServerConfig in SeldonIO/seldon-core (operator/config/serverconfigs/mlserver.yaml, not at
the v2.6.0 tag itself); gRPC inference reports gRPC status names in ``code``, not HTTP codes, so a gRPC failure is
not counted as an error (the platform's clients use REST). The CloudWatch agent's config keys are from its
documentation ("Set up and configure Prometheus metrics collection on Amazon EKS"), its container image is pinned by
tag in core/charts.py, and that it runs as a non-root user on a read-only root (the writable paths are emptyDirs)
is checked on the first real install.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from core import charts, iam, naming

# The metric contract, as modules/observability/signals.py states it (a layer imports no other layer; a unit test
# checks these equal signals.py's).
METRICS_NAMESPACE = "Strata/Serving"
REQUESTS = "seldon_model_infer_total"
ERRORS = "seldon_model_infer_errors_total"
SECONDS = "seldon_model_infer_seconds_total"
MODEL_DIMENSION = "model"
DIMENSIONS = ("ClusterName", "Namespace", MODEL_DIMENSION)
UNITS = {REQUESTS: "Count", ERRORS: "Count", SECONDS: "Seconds"}

# Where Seldon's agent serves its Prometheus metrics in every Server pod (see the module docstring).
AGENT_CONTAINER = "agent"
AGENT_METRICS_PORT_NAME = "metrics"
AGENT_METRICS_PORT = 9006
ERROR_CODES = "5.."

# The collector's Kubernetes names.
NAME = "cwagent-prometheus"
NAMESPACE = naming.METRICS_NAMESPACE
SERVICE_ACCOUNT = NAME
CONFIG_MAP = NAME
COLLECTOR_LABELS = {"app.kubernetes.io/name": NAME}
# The team namespaces' NetworkPolicy that admits the collector (manifests.team_objects).
SCRAPE_POLICY = "strata-metrics-scrape"
# The system node group's label (modules/kubernetes/manifests.py SYSTEM_POOL_LABEL; a layer imports no other).
SYSTEM_POOL_LABEL = {"strata.io/pool": "system"}
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

JOB_REQUESTS = "seldon-agents"
JOB_ERRORS = "seldon-agents-errors"
SCRAPE_INTERVAL = "60s"
# Where the agent reads its two configuration files (the CloudWatch agent's container conventions).
AGENT_CONFIG_DIR = "/etc/cwagentconfig"
AGENT_CONFIG_KEY = "cwagentconfig.json"
PROMETHEUS_CONFIG_DIR = "/etc/prometheusconfig"
PROMETHEUS_CONFIG_KEY = "prometheus.yaml"
_AGENT_HOME = "/opt/aws/amazon-cloudwatch-agent"
_AGENT_BINARY = f"{_AGENT_HOME}/bin/amazon-cloudwatch-agent"
# A high, non-root user (the image's default is root): the agent needs no privilege to scrape and send.
_RUN_AS = 10001

MANAGED_BY = {"app.kubernetes.io/managed-by": "strata"}
_RBAC = "rbac.authorization.k8s.io"
_READ = ["get", "list", "watch"]


def _meta(name: str, namespace: str | None = NAMESPACE) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**COLLECTOR_LABELS, **MANAGED_BY}}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


# ---------------------------------------------------------------- the two configuration files


def _namespace_regex(namespaces: Sequence[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(namespaces))


def scrape_config(cluster: str, namespaces: Sequence[str]) -> dict[str, Any]:
    """The Prometheus scrape configuration: pods of the team namespaces only (discovery is limited to them, and a
    keep rule checks again), and of those only the Seldon agent's metrics port (which only Server pods have). The
    namespace and the cluster become the ``Namespace`` and ``ClusterName`` labels (the EMF dimensions); ``model``
    is the agent's own label."""
    if not namespaces:
        raise ValueError("the metrics collector needs at least one team namespace to scrape")
    targets = [
        {
            "source_labels": ["__meta_kubernetes_namespace"],
            "regex": _namespace_regex(namespaces),
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_name"],
            "regex": f"{AGENT_CONTAINER};{AGENT_METRICS_PORT_NAME}",
            "action": "keep",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "Namespace", "action": "replace"},
        {"target_label": "ClusterName", "replacement": cluster, "action": "replace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod_name", "action": "replace"},
    ]
    discovery = [{"role": "pod", "namespaces": {"names": sorted(namespaces)}}]

    def job(name: str, metric_relabel: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "job_name": name,
            "kubernetes_sd_configs": discovery,
            "relabel_configs": targets,
            "metric_relabel_configs": metric_relabel,
        }

    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "10s"},
        "scrape_configs": [
            job(JOB_REQUESTS, [{"source_labels": ["__name__"], "regex": f"{REQUESTS}|{SECONDS}", "action": "keep"}]),
            job(
                JOB_ERRORS,
                [
                    {"source_labels": ["__name__", "code"], "regex": f"{REQUESTS};{ERROR_CODES}", "action": "keep"},
                    {"source_labels": ["__name__"], "target_label": "__name__", "replacement": ERRORS, "action": "replace"},
                ],
            ),
        ],
    }


def metric_declarations() -> list[dict[str, Any]]:
    """The EMF processor's declarations: which scraped series become CloudWatch metrics, with which dimensions."""
    dims = [list(DIMENSIONS)]
    return [
        {
            "source_labels": ["job"],
            "label_matcher": f"^{JOB_REQUESTS}$",
            "dimensions": dims,
            "metric_selectors": [f"^{REQUESTS}$", f"^{SECONDS}$"],
        },
        {"source_labels": ["job"], "label_matcher": f"^{JOB_ERRORS}$", "dimensions": dims, "metric_selectors": [f"^{ERRORS}$"]},
    ]


def agent_config(cluster: str, region: str, log_group: str) -> dict[str, Any]:
    """The CloudWatch agent's JSON configuration: Prometheus metrics as EMF logs in ``log_group`` (pre-created by
    the component, with retention and the observability key), metrics in ``Strata/Serving``."""
    return {
        "agent": {"region": region},
        "logs": {
            "metrics_collected": {
                "prometheus": {
                    "cluster_name": cluster,
                    "log_group_name": log_group,
                    "prometheus_config_path": f"{PROMETHEUS_CONFIG_DIR}/{PROMETHEUS_CONFIG_KEY}",
                    "emf_processor": {
                        "metric_declaration_dedup": True,
                        "metric_namespace": METRICS_NAMESPACE,
                        "metric_unit": dict(UNITS),
                        "metric_declaration": metric_declarations(),
                    },
                }
            },
            "force_flush_interval": 5,
        },
    }


def config_data(cluster: str, region: str, log_group: str, namespaces: Sequence[str]) -> dict[str, str]:
    """The ConfigMap's two files (the Prometheus file is JSON, which is YAML)."""
    return {
        AGENT_CONFIG_KEY: json.dumps(agent_config(cluster, region, log_group), indent=2, sort_keys=True),
        PROMETHEUS_CONFIG_KEY: json.dumps(scrape_config(cluster, namespaces), indent=2, sort_keys=True),
    }


# ---------------------------------------------------------------- the Kubernetes objects


def _deployment(data: dict[str, str]) -> dict[str, Any]:
    """One replica (two would send every sample twice), replaced rather than rolled for the same reason; on the
    system nodes; restarted when its configuration changes (the hash annotation); non-root, read-only root, no
    capabilities. The API token is projected by hand (``automountServiceAccountToken: false``): exactly what the
    kubelet would mount, made explicit."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    probe = {"exec": {"command": [_AGENT_BINARY, "-version"]}, "periodSeconds": 60, "timeoutSeconds": 10}
    writable = ("logs", "var", "etc")
    container = {
        "name": "cloudwatch-agent",
        "image": charts.CLOUDWATCH_AGENT_IMAGE,
        "imagePullPolicy": "Always",
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "250m", "memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": _RUN_AS,
            "runAsGroup": _RUN_AS,
            "capabilities": {"drop": ["ALL"]},
        },
        "livenessProbe": probe,
        "readinessProbe": probe,
        "volumeMounts": [
            {"name": "agent-config", "mountPath": AGENT_CONFIG_DIR, "readOnly": True},
            {"name": "prometheus-config", "mountPath": PROMETHEUS_CONFIG_DIR, "readOnly": True},
            {"name": "api-token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            *({"name": f"agent-{d}", "mountPath": f"{_AGENT_HOME}/{d}"} for d in writable),
        ],
    }
    token = {
        "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ]
    }
    volumes = [
        {
            "name": "agent-config",
            "configMap": {"name": CONFIG_MAP, "items": [{"key": AGENT_CONFIG_KEY, "path": AGENT_CONFIG_KEY}]},
        },
        {
            "name": "prometheus-config",
            "configMap": {"name": CONFIG_MAP, "items": [{"key": PROMETHEUS_CONFIG_KEY, "path": PROMETHEUS_CONFIG_KEY}]},
        },
        {"name": "api-token", "projected": token},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        *({"name": f"agent-{d}", "emptyDir": {"sizeLimit": "64Mi"}} for d in writable),
    ]
    pod = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "nodeSelector": dict(SYSTEM_POOL_LABEL),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _RUN_AS,
            "runAsGroup": _RUN_AS,
            "fsGroup": _RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(COLLECTOR_LABELS)},
            "template": {
                "metadata": {
                    "labels": {**COLLECTOR_LABELS, **MANAGED_BY},
                    "annotations": {"strata.io/config-sha256": digest},
                },
                "spec": pod,
            },
        },
    }


def collector_objects(
    *, cluster: str, region: str, log_group: str, namespaces: Sequence[str], role_arn: Any
) -> list[dict[str, Any]]:
    """The collector, in apply order: its namespace (Pod Security "restricted"), its service account (IRSA:
    ``role_arn``, placed as it is), read access to pods, endpoints and services cluster-wide (Prometheus' pod
    discovery; nothing else, no secrets), the ConfigMap, a NetworkPolicy denying all ingress to the namespace (the
    agent only sends), and the Deployment."""
    data = config_data(cluster, region, log_group, namespaces)
    sa = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
    namespace = _meta(NAMESPACE, None)
    namespace["labels"] = {
        **MANAGED_BY,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**_meta(SERVICE_ACCOUNT), "annotations": {IRSA_ROLE_ANNOTATION: role_arn}},
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": _meta(NAME, None),
            "rules": [{"apiGroups": [""], "resources": ["pods", "endpoints", "services"], "verbs": list(_READ)}],
        },
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(NAME, None),
            "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": NAME},
            "subjects": [sa],
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(CONFIG_MAP), "data": data},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(f"{NAME}-deny-ingress"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        _deployment(data),
    ]


def scrape_policy(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """In a team namespace: the collector's pods (and no other pod of its namespace) reach the Seldon agents'
    metrics port, and nothing else. Added to the Kubernetes layer's isolation policy (NetworkPolicies add up), which
    keeps denying every other namespace."""
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
        "podSelector": {"matchLabels": dict(COLLECTOR_LABELS)},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": SCRAPE_POLICY, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": AGENT_METRICS_PORT}]}],
        },
    }


# ---------------------------------------------------------------- the collector's IAM role (IRSA)


def trust_policy(provider_arn: str, issuer: str) -> iam.PolicyDocument:
    """Only the collector's service account (``amazon-cloudwatch:cwagent-prometheus``) may assume the role."""
    return {"Version": iam.VERSION, "Statement": [iam.web_identity_statement(provider_arn, issuer, NAMESPACE, SERVICE_ACCOUNT)]}


def role_policy(log_group_arn: str) -> iam.PolicyDocument:
    """Write EMF records to the one pre-created log group (no CreateLogGroup: it exists), and metrics in the
    ``Strata/Serving`` namespace only (PutMetricData takes no resource; the namespace condition is its scope)."""
    base = iam.log_group_base_arn("the serving metrics log group", log_group_arn)
    return {
        "Version": iam.VERSION,
        "Statement": [
            {
                "Sid": "EmfLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [base, f"{base}:log-stream:*"],
            },
            {
                "Sid": "ServingMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            },
        ],
    }


def system_pods() -> int:
    """Pods the collector puts on the system nodes: its one replica."""
    return 1
