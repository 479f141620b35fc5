"""modules/serving/metrics.py: the metrics collector (the CloudWatch agent in Prometheus mode) writes exactly the
metrics the dashboard and the per-team alarms read, scrapes only the team namespaces' Seldon agents, runs as a
role that writes only its log group and its metric namespace, and opens the team namespaces to itself alone, on the
metrics port alone.

Each check is shown failing on a broken input where a check could pass by checking nothing.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from typing import Any

import pytest
from test_kubernetes_manifests import FRAUD as K8S_FRAUD
from test_kubernetes_manifests import RECS as K8S_RECS
from test_kubernetes_manifests import _matches, _peer_admits, _pod_in, by_kind, object_errors

from core import charts, naming
from modules.observability import signals
from modules.serving import manifests as m
from modules.serving import metrics
from modules.serving.settings import ServingSettings

CLUSTER = "strata-staging"
REGION = "us-east-1"
LOG_GROUP = naming.serving_metrics_log_group("staging")
NAMESPACES = [K8S_FRAUD.namespace, K8S_RECS.namespace]
ROLE_ARN = "arn:aws:iam::123456789012:role/strata-staging-eks-serving-metrics"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:123456789012:log-group:{LOG_GROUP}"


def objects() -> list[dict[str, Any]]:
    return metrics.collector_objects(
        cluster=CLUSTER, region=REGION, log_group=LOG_GROUP, namespaces=NAMESPACES, role_arn=ROLE_ARN
    )


def one(kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objects() if o["kind"] == kind]
    return obj


# ---------------------------------------------------------------- the metric contract


def test_the_contract_is_signals_contract() -> None:
    assert metrics.METRICS_NAMESPACE == signals.SERVING_METRICS_NAMESPACE == "Strata/Serving"
    assert (metrics.REQUESTS, metrics.ERRORS, metrics.SECONDS) == (
        signals.SERVING_REQUESTS,
        signals.SERVING_ERRORS,
        signals.SERVING_SECONDS,
    )
    assert metrics.MODEL_DIMENSION == signals.SERVING_MODEL_DIMENSION
    # The dimensions the dashboard's SEARCH and the alarms name (modules/observability/dashboard.py, alarms.py).
    assert metrics.DIMENSIONS == ("ClusterName", "Namespace", signals.SERVING_MODEL_DIMENSION)


def test_the_emf_declarations_emit_exactly_the_three_metrics_with_the_dashboard_dimensions() -> None:
    config = json.loads(one("ConfigMap")["data"][metrics.AGENT_CONFIG_KEY])
    prometheus = config["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["log_group_name"] == LOG_GROUP and prometheus["cluster_name"] == CLUSTER
    emf = prometheus["emf_processor"]
    assert emf["metric_namespace"] == signals.SERVING_METRICS_NAMESPACE
    declared = set()
    for declaration in emf["metric_declaration"]:
        assert declaration["dimensions"] == [["ClusterName", "Namespace", signals.SERVING_MODEL_DIMENSION]]
        declared |= {s.strip("^$") for s in declaration["metric_selectors"]}
    assert declared == {signals.SERVING_REQUESTS, signals.SERVING_ERRORS, signals.SERVING_SECONDS}
    assert set(emf["metric_unit"]) == declared
    assert prometheus["prometheus_config_path"] == f"{metrics.PROMETHEUS_CONFIG_DIR}/{metrics.PROMETHEUS_CONFIG_KEY}"


def _relabel(rules: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str] | None:
    """Prometheus relabelling (keep and replace, anchored regexes, ';' separator): the labels after the rules, or
    None when a rule drops the target or the series."""
    out = dict(labels)
    for rule in rules:
        value = ";".join(out.get(s, "") for s in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if rule["action"] == "keep":
            if not match:
                return None
        elif rule["action"] == "replace" and match:
            out[rule["target_label"]] = match.expand(rule.get("replacement", "$1").replace("$1", r"\1"))
        else:
            assert rule["action"] == "replace", rule
    return out


def _target(namespace: str, container: str = "agent", port: str = "metrics") -> dict[str, str]:
    return {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_pod_container_port_name": port,
        "__meta_kubernetes_pod_name": "mlserver-0",
    }


def _scrape() -> dict[str, Any]:
    return dict(json.loads(one("ConfigMap")["data"][metrics.PROMETHEUS_CONFIG_KEY]))


def test_the_scrape_keeps_only_the_seldon_agents_of_the_team_namespaces() -> None:
    for job in _scrape()["scrape_configs"]:
        (sd,) = job["kubernetes_sd_configs"]
        assert sd["role"] == "pod" and sorted(sd["namespaces"]["names"]) == sorted(NAMESPACES)
        rules = job["relabel_configs"]
        kept = _relabel(rules, _target(K8S_FRAUD.namespace))
        assert kept is not None and kept["Namespace"] == K8S_FRAUD.namespace and kept["ClusterName"] == CLUSTER
        for namespace in ("kube-system", naming.SERVING_NAMESPACE, naming.METRICS_NAMESPACE, "fraud-ml-x"):
            assert _relabel(rules, _target(namespace)) is None, namespace
        assert _relabel(rules, _target(K8S_FRAUD.namespace, container="mlserver")) is None, "the agent's port only"
        assert _relabel(rules, _target(K8S_FRAUD.namespace, port="http")) is None, "the metrics port only"
    with pytest.raises(ValueError, match="at least one team namespace"):
        metrics.scrape_config(CLUSTER, [])


def test_errors_are_the_5xx_requests_and_the_requests_keep_every_code() -> None:
    jobs = {j["job_name"]: j["metric_relabel_configs"] for j in _scrape()["scrape_configs"]}
    requests, errors = jobs[metrics.JOB_REQUESTS], jobs[metrics.JOB_ERRORS]
    series = {"__name__": "seldon_model_infer_total", "model": "iris-v1", "code": "200"}
    assert _relabel(requests, series) == series
    assert _relabel(requests, {**series, "code": "503"}) is not None, "a 5xx is still a request"
    assert _relabel(requests, {**series, "__name__": "seldon_model_infer_seconds_total"}) is not None
    assert _relabel(requests, {**series, "__name__": "seldon_model_aggregate_infer_total"}) is None
    assert _relabel(errors, series) is None
    assert _relabel(errors, {**series, "__name__": "seldon_model_infer_seconds_total", "code": "500"}) is None
    renamed = _relabel(errors, {**series, "code": "503"})
    assert renamed is not None and renamed["__name__"] == signals.SERVING_ERRORS and renamed["model"] == "iris-v1"


# ---------------------------------------------------------------- the Kubernetes objects


def test_every_collector_object_validates() -> None:
    objs = objects()
    kinds = ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "NetworkPolicy", "Deployment"]
    assert [o["kind"] for o in objs] == kinds
    for obj in objs:
        assert object_errors(obj) == [], f"{obj['kind']} {obj['metadata']['name']}: {object_errors(obj)}"
    broken = copy.deepcopy(one("Deployment"))
    broken["spec"]["template"]["spec"]["nodeSelecter"] = {}
    assert object_errors(broken), "strict: unknown fields fail"


def test_the_collector_is_one_pinned_replica_on_the_system_nodes_as_its_irsa_account() -> None:
    deployment = one("Deployment")
    assert deployment["metadata"]["namespace"] == naming.METRICS_NAMESPACE and deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"strata.io/pool": "system"} and "tolerations" not in pod
    (container,) = pod["containers"]
    assert container["image"] == charts.CLOUDWATCH_AGENT_IMAGE and ":latest" not in container["image"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert pod["serviceAccountName"] == metrics.SERVICE_ACCOUNT
    account = one("ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}


def test_the_pod_restarts_when_its_configuration_changes() -> None:
    def digest(namespaces: list[str]) -> str:
        objs = metrics.collector_objects(cluster=CLUSTER, region=REGION, log_group=LOG_GROUP, namespaces=namespaces, role_arn="r")
        (d,) = [o for o in objs if o["kind"] == "Deployment"]
        return str(d["spec"]["template"]["metadata"]["annotations"]["strata.io/config-sha256"])

    assert digest(NAMESPACES) != digest([K8S_FRAUD.namespace])


def test_the_cluster_role_only_reads_pods_endpoints_and_services() -> None:
    (rule,) = one("ClusterRole")["rules"]
    assert rule == {"apiGroups": [""], "resources": ["pods", "endpoints", "services"], "verbs": ["get", "list", "watch"]}
    binding = one("ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": metrics.SERVICE_ACCOUNT, "namespace": naming.METRICS_NAMESPACE}
    ]


# ---------------------------------------------------------------- tenancy: the team namespaces' network policies


def _all_policies(k8s_spec: Any, namespace: str) -> list[dict[str, Any]]:
    """What selects a team namespace's pods: the Kubernetes layer's policies and the serving layer's."""
    s = ServingSettings(enabled=True)
    spec = m.TeamServingSpec(
        team=k8s_spec.team,
        namespace=namespace,
        region=REGION,
        data_scientist_group=f"strata:team:{k8s_spec.team}",
        mlserver_image=s.mlserver_image,
        replicas=1,
        cpu_millicores=s.server_cpu_millicores,
        memory_mib=s.server_memory_mib,
    )
    serving = [o for o in m.team_objects(spec) if o["kind"] == "NetworkPolicy"]
    return [*by_kind(k8s_spec, "NetworkPolicy"), *serving]


def _admitted(policies: list[dict[str, Any]], namespace: str, source: dict[str, Any], pod: dict[str, str], port: int) -> bool:
    for policy in policies:
        if not _matches(policy["spec"]["podSelector"], pod):
            continue
        for rule in policy["spec"]["ingress"]:
            ports = [p["port"] for p in rule.get("ports", [])]
            if (not ports or port in ports) and any(_peer_admits(peer, namespace, source) for peer in rule["from"]):
                return True
    return False


def test_the_collector_reaches_the_agents_metrics_port_and_another_team_still_reaches_nothing() -> None:
    policies = _all_policies(K8S_FRAUD, K8S_FRAUD.namespace)
    server_pod = {"seldon-server-name": "mlserver"}
    collector = _pod_in(naming.METRICS_NAMESPACE, **metrics.COLLECTOR_LABELS)
    assert _admitted(policies, K8S_FRAUD.namespace, collector, server_pod, metrics.AGENT_METRICS_PORT)
    for port in (9000, 9001, 9500, 9501, 5572, 8080):
        assert not _admitted(policies, K8S_FRAUD.namespace, collector, server_pod, port), f"the collector on {port}"
    neighbour = _pod_in(naming.METRICS_NAMESPACE, **{"app.kubernetes.io/name": "something-else"})
    assert not _admitted(policies, K8S_FRAUD.namespace, neighbour, server_pod, metrics.AGENT_METRICS_PORT)
    intruder = _pod_in(K8S_RECS.namespace, **{naming.TEAM_LABEL: K8S_RECS.team, **metrics.COLLECTOR_LABELS})
    for port in (metrics.AGENT_METRICS_PORT, 9000, 9001, 9500, 9501, 5572, 4222, 8080):
        assert not _admitted(policies, K8S_FRAUD.namespace, intruder, server_pod, port), f"recs -> fraud:{port}"
    # The checker is not vacuous: a scrape policy open to every namespace admits the intruder.
    broken = copy.deepcopy(policies)
    scrape = next(p for p in broken if p["metadata"]["name"] == metrics.SCRAPE_POLICY)
    del scrape["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert _admitted(broken, K8S_FRAUD.namespace, intruder, server_pod, metrics.AGENT_METRICS_PORT)


# ---------------------------------------------------------------- the IRSA role


def test_the_role_trusts_only_the_collectors_service_account() -> None:
    issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
    trust = metrics.trust_policy("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC", issuer)
    (statement,) = trust["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    assert (
        conditions["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"] == "system:serviceaccount:amazon-cloudwatch:cwagent-prometheus"
    )
    assert conditions["oidc.eks.us-east-1.amazonaws.com/id/ABC:aud"] == "sts.amazonaws.com"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"


def _allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    for s in policy["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        conditions = s.get("Condition", {}).get("StringEquals", {})
        if (
            s["Effect"] == "Allow"
            and action in actions
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
            and all((context or {}).get(k) == v for k, v in conditions.items())
        ):
            return True
    return False


def test_the_role_writes_its_log_group_and_its_metric_namespace_only() -> None:
    policy = metrics.role_policy(LOG_GROUP_ARN)
    stream = f"{LOG_GROUP_ARN}:log-stream:mlserver-0"
    assert _allows(policy, "logs:PutLogEvents", stream) and _allows(policy, "logs:CreateLogStream", LOG_GROUP_ARN)
    other = LOG_GROUP_ARN.replace("/prometheus", "/application")
    assert not _allows(policy, "logs:PutLogEvents", f"{other}:log-stream:x")
    assert not _allows(policy, "logs:CreateLogGroup", LOG_GROUP_ARN), "the group is pre-created"
    assert _allows(policy, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Strata/Serving"})
    assert not _allows(policy, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/EC2"})
    assert not _allows(policy, "cloudwatch:PutMetricData", "*")
    with pytest.raises(ValueError, match="concrete log-group ARN"):
        metrics.role_policy(f"arn:aws:logs:{REGION}:123456789012:log-group:*")


def test_the_collector_counts_as_a_system_pod() -> None:
    assert m.system_pods(0) == 2 and m.system_pods(2) == 6
