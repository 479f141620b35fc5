"""modules/kubernetes/manifests.py: every object a team namespace gets validates offline against the pinned
schemas, and the objects keep one team out of another's namespace.

* Core kinds (Namespace, ServiceAccount, Role, RoleBinding, ResourceQuota, LimitRange, NetworkPolicy,
  ConfigMap, Service) with kubernetes-validate, strict (unknown fields fail), at the Kubernetes version the
  stack files pin by default (``KubernetesSettings().version``).
* EventBus and EventSource with the Argo Events v1.9.10 JSON schema (tests/data/k8s, see SOURCES.md there),
  nulls stripped, made strict the same way, and with the one requirement it gets wrong (``url`` on a webhook
  event source) dropped.

The validation helpers here are also used by the gate on ``strata manifests`` (tests/gates/test_k8s_manifests.py).
Each check is shown failing on a broken object, so none passes by checking nothing.
"""

from __future__ import annotations

import ast
import copy
import functools
import ipaddress
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from core import naming
from modules.kubernetes import manifests as m
from modules.kubernetes.settings import KubernetesSettings

REPO = Path(__file__).resolve().parents[2]
ARGO_EVENTS_SCHEMA = REPO / "tests" / "data" / "k8s" / "argo-events-v1.9.10-schema.json"
ARGO_EVENTS_KINDS = ("EventBus", "EventSource", "Sensor")
# Seldon Core v2.6.0's CRDs (tests/data/k8s): kind -> file.
SELDON_API = "mlops.seldon.io/v1alpha1"
SELDON_CRDS = {
    "Model": REPO / "tests" / "data" / "k8s" / "seldon-v2.6.0-models.yaml",
    "Server": REPO / "tests" / "data" / "k8s" / "seldon-v2.6.0-servers.yaml",
    "Experiment": REPO / "tests" / "data" / "k8s" / "seldon-v2.6.0-experiments.yaml",
}
K8S_VERSION = KubernetesSettings().version
VPC_CIDR = "10.30.0.0/16"

# ---------------------------------------------------------------- validation helpers (also used by the gate)


def strip_nulls(value: Any) -> Any:
    """``value`` without explicit nulls (the Argo Events schema types fields, it does not make them nullable)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


@functools.cache
def argo_events_schema() -> dict[str, Any]:
    """The vendored Argo Events schema, strict and with its ``url`` mistake fixed.

    Strict: ``additionalProperties: false`` on every object definition that lists its properties (the schema
    sets it on none), so a misspelt key fails as in kubernetes-validate's strict mode; maps (``nodeSelector``,
    ``labels``) declare ``additionalProperties`` themselves and are left alone.

    The fix, narrowly: the schema lists ``url`` as required on ``WebhookEventSource``, the plain webhook Metaflow
    posts to. Argo Events uses ``url`` only for sources that register a webhook with a third party (GitHub,
    GitLab, ...: ``WebhookContext``), and a plain webhook without one is what its own examples deploy. Only that
    one entry is removed; ``WebhookContext`` keeps requiring it."""
    schema = json.loads(ARGO_EVENTS_SCHEMA.read_text())
    for definition in schema["definitions"].values():
        if "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    webhook = schema["definitions"]["io.argoproj.events.v1alpha1.WebhookEventSource"]
    webhook["required"] = [r for r in webhook["required"] if r != "url"]
    return schema


def argo_events_errors(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` (an EventBus, EventSource or Sensor) is not valid Argo Events v1.9.10, or []."""
    if obj.get("apiVersion") != "argoproj.io/v1alpha1" or obj.get("kind") not in ARGO_EVENTS_KINDS:
        return [f"not an Argo Events object: {obj.get('apiVersion')}/{obj.get('kind')}"]
    validator = kind_validator(argo_events_schema(), obj["kind"])
    return [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in validator.iter_errors(strip_nulls(obj))]


def kind_validator(schema: dict[str, Any], kind: str) -> jsonschema.Draft7Validator:
    """A validator of one kind's definition (the schema's top level is a oneOf of the three kinds, whose
    errors would only say "not valid under any of the given schemas")."""
    return jsonschema.Draft7Validator(
        {"definitions": schema["definitions"], "$ref": f"#/definitions/io.argoproj.events.v1alpha1.{kind}"}
    )


def core_errors(obj: dict[str, Any], version: str = K8S_VERSION) -> list[str]:
    """Why ``obj`` is not valid at Kubernetes ``version`` (strict: unknown fields fail), or []."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path)) or '.'}: {exc.message}"]
    return []


def _strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object schema that lists its properties and says
    nothing of others (maps declare ``additionalProperties`` themselves and are left alone)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def seldon_validator(kind: str) -> jsonschema.Draft7Validator:
    """A strict validator of one Seldon v2.6.0 kind, from its vendored CRD (the served version's OpenAPI schema;
    ``metadata`` is the API server's to check)."""
    crd = yaml.safe_load(SELDON_CRDS[kind].read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))


def seldon_errors(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` (a Model, Server or Experiment) is not valid Seldon Core v2.6.0, or []."""
    if obj.get("apiVersion") != SELDON_API or obj.get("kind") not in SELDON_CRDS:
        return [f"not a Seldon v2.6.0 object: {obj.get('apiVersion')}/{obj.get('kind')}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in seldon_validator(obj["kind"]).iter_errors(obj)]


def object_errors(obj: dict[str, Any], version: str = K8S_VERSION) -> list[str]:
    if str(obj.get("apiVersion", "")).startswith("mlops.seldon.io/"):
        return seldon_errors(obj)
    if obj.get("kind") in ARGO_EVENTS_KINDS and str(obj.get("apiVersion", "")).startswith("argoproj.io/"):
        return argo_events_errors(obj)
    return core_errors(obj, version)


# ---------------------------------------------------------------- fixtures

FRAUD = m.TeamSpec(
    environment="staging",
    team="fraud",
    namespace="fraud-ml",
    cpu=64,
    memory_gib=256,
    gpus=4,
    job_role_arn="arn:aws:iam::123456789012:role/strata-staging-fraud-job",
    bucket_name="acme-staging-datastore",
    region="us-east-1",
    vpc_cidr=VPC_CIDR,
    load_balancer=True,
)
# recs: a stack without the internal load balancer (the default).
RECS = m.TeamSpec(
    environment="staging",
    team="recs",
    namespace="recs",
    cpu=16,
    memory_gib=64,
    gpus=0,
    job_role_arn="arn:aws:iam::123456789012:role/strata-staging-recs-job",
    bucket_name="acme-staging-datastore",
    region="eu-west-1",
    vpc_cidr=VPC_CIDR,
    load_balancer=False,
)
SPECS = (FRAUD, RECS)


def by_kind(spec: m.TeamSpec, kind: str) -> list[dict[str, Any]]:
    return [o for o in m.team_objects(spec) if o["kind"] == kind]


def one(spec: m.TeamSpec, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in by_kind(spec, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.team)
def test_every_object_validates_against_the_pinned_schemas(spec):
    objects = m.team_objects(spec)
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange", "NetworkPolicy"} <= kinds
    assert {"ConfigMap", "Service", "EventBus", "EventSource"} <= kinds
    problems = [f"{o['kind']} {o['metadata'].get('name')}: {p}" for o in objects for p in object_errors(o)]
    assert not problems, "\n".join(problems)


def test_the_namespace_comes_first_and_everything_else_is_in_it():
    objects = m.team_objects(FRAUD)
    assert objects[0]["kind"] == "Namespace" and objects[0]["metadata"]["name"] == FRAUD.namespace
    assert all(o["metadata"]["namespace"] == FRAUD.namespace for o in objects[1:])
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), f"duplicate objects: {names}"


def test_core_validation_fails_on_a_misspelt_field_and_a_wrong_type():
    quota = copy.deepcopy(one(FRAUD, "ResourceQuota"))
    quota["spec"]["hrad"] = quota["spec"].pop("hard")
    assert any("hrad" in p for p in core_errors(quota)), core_errors(quota)
    service = copy.deepcopy(one(FRAUD, "Service"))
    service["spec"]["ports"][0]["nodePort"] = "thirty thousand"
    assert core_errors(service)


def test_argo_events_validation_fails_on_a_misspelt_field_and_a_wrong_type():
    bus = copy.deepcopy(one(FRAUD, "EventBus"))
    bus["spec"]["jetstream"]["replica"] = 1
    assert any("replica" in p for p in argo_events_errors(bus)), argo_events_errors(bus)
    source = copy.deepcopy(one(FRAUD, "EventSource"))
    source["spec"]["webhook"][naming.TEAM_EVENT_NAME]["port"] = 12000  # the schema wants a string
    assert argo_events_errors(source)
    source = copy.deepcopy(one(FRAUD, "EventSource"))
    del source["spec"]["webhook"][naming.TEAM_EVENT_NAME]["endpoint"]
    assert any("endpoint" in p for p in argo_events_errors(source))


def test_the_url_fix_is_narrow():
    """Only the plain webhook's ``url`` requirement is dropped: GitHub's webhook context still needs it,
    and the unpatched schema does reject the platform's event source (the reason for the fix)."""
    source = copy.deepcopy(one(FRAUD, "EventSource"))
    assert not argo_events_errors(source)
    context = copy.deepcopy(source["spec"]["webhook"][naming.TEAM_EVENT_NAME])
    github = copy.deepcopy(source)
    github["spec"] = {"github": {"push": {"webhook": context, "repositories": [{"owner": "o", "names": ["r"]}]}}}
    assert any("url" in p for p in argo_events_errors(github)), argo_events_errors(github)
    raw = json.loads(ARGO_EVENTS_SCHEMA.read_text())
    raw_errors = [e.message for e in kind_validator(raw, "EventSource").iter_errors(strip_nulls(source))]
    assert any("'url' is a required property" in e for e in raw_errors), raw_errors


def test_nulls_are_stripped_before_validation():
    bus = copy.deepcopy(one(FRAUD, "EventBus"))
    bus["spec"]["jetstream"]["affinity"] = None
    bus["spec"]["jetstream"]["tolerations"] = [None]
    assert not argo_events_errors(bus)
    assert strip_nulls({"a": None, "b": [1, None], "c": {"d": None}}) == {"b": [1], "c": {}}


# ---------------------------------------------------------------- what the objects say


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.team)
def test_the_quota_comes_from_the_team_spec(spec):
    hard = one(spec, "ResourceQuota")["spec"]["hard"]
    assert hard["requests.cpu"] == str(spec.cpu)
    assert hard["requests.memory"] == f"{spec.memory_gib}Gi"
    assert hard["requests.nvidia.com/gpu"] == str(spec.gpus)
    # No load balancer Service at all; one NodePort (the webhook's) behind the internal NLB, none without it.
    nodeports = 1 if spec.load_balancer else 0
    assert hard["services.loadbalancers"] == "0" and hard["services.nodeports"] == str(nodeports)
    assert len([s for s in by_kind(spec, "Service") if s["spec"]["type"] == "NodePort"]) == nodeports


def test_containers_without_requests_get_some():
    limits = one(FRAUD, "LimitRange")["spec"]["limits"]
    assert limits == [{"type": "Container", "defaultRequest": m.DEFAULT_CONTAINER_REQUESTS}]


def test_the_job_service_account_is_the_team_job_role():
    sa = one(FRAUD, "ServiceAccount", naming.TEAM_SERVICE_ACCOUNT)
    assert sa["metadata"]["annotations"] == {m.IRSA_ROLE_ANNOTATION: FRAUD.job_role_arn}
    assert sa["automountServiceAccountToken"] is True  # Argo's wait container writes WorkflowTaskResults with it
    operate = one(FRAUD, "ServiceAccount", naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT)
    assert "annotations" not in operate["metadata"], "the sensors' account needs no AWS identity"


def _bound_rules(spec: m.TeamSpec, subject: dict[str, Any]) -> list[dict[str, Any]]:
    roles = {r["metadata"]["name"]: r for r in by_kind(spec, "Role")}
    rules = []
    for binding in by_kind(spec, "RoleBinding"):
        if subject in binding["subjects"]:
            assert binding["roleRef"] == {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": binding["roleRef"]["name"],
            }
            rules += roles[binding["roleRef"]["name"]]["rules"]
    return rules


def _grants(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def test_rbac_is_namespaced_and_minimal():
    executor = _bound_rules(FRAUD, {"kind": "ServiceAccount", "name": naming.TEAM_SERVICE_ACCOUNT, "namespace": FRAUD.namespace})
    assert executor == [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]
    sensor = _bound_rules(
        FRAUD, {"kind": "ServiceAccount", "name": naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT, "namespace": FRAUD.namespace}
    )
    assert _grants(sensor, "argoproj.io", "workflows", "create") and _grants(sensor, "argoproj.io", "workflowtemplates", "get")
    assert not _grants(sensor, "argoproj.io", "workflowtemplates", "create")
    group = {"kind": "Group", "name": m.data_scientist_group(FRAUD.team), "apiGroup": "rbac.authorization.k8s.io"}
    people = _bound_rules(FRAUD, group)
    # What Metaflow's argo-workflows create/trigger and @kubernetes call (argo_client.py, kubernetes_job.py).
    for group_, resource, verb in [
        ("argoproj.io", "workflowtemplates", "create"),
        ("argoproj.io", "workflowtemplates", "update"),
        ("argoproj.io", "cronworkflows", "delete"),
        ("argoproj.io", "sensors", "create"),
        ("argoproj.io", "workflows", "create"),
        ("argoproj.io", "workflows", "patch"),
        ("", "pods", "list"),
        ("", "pods/log", "get"),
        ("batch", "jobs", "create"),
        ("jobset.x-k8s.io", "jobsets", "create"),
    ]:
        assert _grants(people, group_, resource, verb), (group_, resource, verb)
    # The platform's event bus and event source are read-only to the team; nothing touches secrets or RBAC.
    assert _grants(people, "argoproj.io", "eventsources", "get") and not _grants(people, "argoproj.io", "eventsources", "update")
    every_rule = [r for role in by_kind(FRAUD, "Role") for r in role["rules"]]
    assert not [r for r in every_rule if "*" in r["apiGroups"] + r["resources"] + r["verbs"]], "no wildcards"
    forbidden = {"secrets", "roles", "rolebindings", "serviceaccounts", "serviceaccounts/token", "namespaces", "resourcequotas"}
    assert not [r for r in every_rule if forbidden & set(r["resources"])], every_rule
    assert not [r for r in every_rule if {"bind", "escalate", "impersonate"} & set(r["verbs"])]
    assert m.data_scientist_group("fraud") == "strata:team:fraud"


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_two_teams_objects_never_name_each_others_namespace():
    for spec, other in [(FRAUD, RECS), (RECS, FRAUD)]:
        objects = m.team_objects(spec)
        strings = _strings(objects)
        assert other.namespace not in strings and other.team not in strings, f"{spec.team} names {other.team}"
        assert not [s for s in strings if other.job_role_arn in s]
        # Every namespace an object names is its own, or (in network policy peers) Argo's two namespaces.
        named = {s for o in objects for k, s in _pairs(o) if k in ("namespace", "kubernetes.io/metadata.name")}
        assert named <= {spec.namespace, naming.ARGO_NAMESPACE, naming.ARGO_EVENTS_NAMESPACE}, named


def _pairs(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [(k, v), *_pairs(v)]]
    if isinstance(value, list):
        return [p for v in value for p in _pairs(v)]
    return []


# A NetworkPolicy reading (ingress only): a source is (namespace labels, pod labels, ip); a destination is
# (pod labels, port). Policies select destination pods; a selected pod admits what any rule of any selecting
# policy admits. ipBlock is read as matching any source address in the block, pods included (the VPC CNI
# matches by address, and pod addresses come from the VPC's subnets).


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_admits(peer: dict[str, Any], own_namespace: str, source: dict[str, Any]) -> bool:
    if "ipBlock" in peer:
        return ipaddress.ip_address(source["ip"]) in ipaddress.ip_network(peer["ipBlock"]["cidr"])
    if "namespaceSelector" in peer:
        ns_ok = _matches(peer["namespaceSelector"], source["namespace_labels"])
    else:
        ns_ok = source["namespace_labels"]["kubernetes.io/metadata.name"] == own_namespace
    return ns_ok and _matches(peer.get("podSelector", {}), source["pod_labels"])


def admitted(spec: m.TeamSpec, source: dict[str, Any], pod_labels: dict[str, str], port: int) -> bool:
    selecting = [p for p in by_kind(spec, "NetworkPolicy") if _matches(p["spec"]["podSelector"], pod_labels)]
    assert selecting, "every pod of a team namespace is selected (else it admits everything)"
    for policy in selecting:
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        for rule in policy["spec"]["ingress"]:
            ports = [p["port"] for p in rule.get("ports", [])]
            if (not ports or port in ports) and any(_peer_admits(peer, spec.namespace, source) for peer in rule["from"]):
                return True
    return False


def _pod_in(namespace: str, ip: str = "10.30.7.9", **labels: str) -> dict[str, Any]:
    return {"namespace_labels": {"kubernetes.io/metadata.name": namespace}, "pod_labels": labels, "ip": ip}


def test_the_network_policy_admits_nothing_from_another_teams_namespace():
    step = {"workflows.argoproj.io/workflow": "flow-abc"}
    webhook = dict(m.EVENT_SOURCE_POD_LABELS)
    bus = {"controller": "eventbus-controller", "eventbus-name": naming.TEAM_EVENT_BUS}
    intruder = _pod_in(RECS.namespace, **{naming.TEAM_LABEL: RECS.team})
    for pod in (step, bus, webhook):
        for port in (4222, 8080, 2746, 12001):
            assert not admitted(FRAUD, intruder, pod, port), (pod, port)
        assert admitted(FRAUD, _pod_in(FRAUD.namespace), pod, 4222), "own namespace"
        assert admitted(FRAUD, _pod_in(naming.ARGO_EVENTS_NAMESPACE), pod, 4222), "Argo Events"
        assert admitted(FRAUD, _pod_in(naming.ARGO_NAMESPACE), pod, 8080), "Argo"
        assert not admitted(FRAUD, _pod_in("kube-public"), pod, 4222)
    # The one opening: the webhook port of the event source pods, from the VPC (the internal load balancer's
    # path, which any caller in the VPC has anyway: README, "Argo Events"). Nothing else from a VPC address.
    assert admitted(FRAUD, {**intruder, "ip": "10.30.0.10"}, webhook, naming.WEBHOOK_PORT)
    assert not admitted(FRAUD, {**intruder, "ip": "10.30.0.10"}, step, naming.WEBHOOK_PORT)
    assert not admitted(FRAUD, {**intruder, "ip": "192.168.0.10"}, webhook, naming.WEBHOOK_PORT)
    # Without the load balancer there is no such opening: another team's pod (a VPC address) is refused.
    other = _pod_in(FRAUD.namespace, **{naming.TEAM_LABEL: FRAUD.team})
    assert not admitted(RECS, {**other, "ip": "10.30.0.10"}, webhook, naming.WEBHOOK_PORT)
    assert admitted(RECS, _pod_in(RECS.namespace), webhook, naming.WEBHOOK_PORT), "own namespace"


def test_no_peer_selects_every_namespace():
    """``namespaceSelector: {}`` would admit every namespace, another team's included."""
    for spec in SPECS:
        for policy in by_kind(spec, "NetworkPolicy"):
            for rule in policy["spec"]["ingress"]:
                for peer in rule["from"]:
                    if "namespaceSelector" in peer:
                        assert peer["namespaceSelector"].get("matchLabels"), peer
    # The checker is not vacuous: a policy with such a peer admits the intruder.
    broken = copy.deepcopy(m.team_objects(FRAUD))
    policy = next(o for o in broken if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == m.ISOLATION_POLICY)
    policy["spec"]["ingress"][1]["from"].append({"namespaceSelector": {}})
    reading = [o for o in broken if o["kind"] == "NetworkPolicy"]
    selecting = [p for p in reading if _matches(p["spec"]["podSelector"], {})]
    intruder = _pod_in(RECS.namespace)
    assert any(
        _peer_admits(peer, FRAUD.namespace, intruder) for p in selecting for r in p["spec"]["ingress"] for peer in r["from"]
    )


def test_the_webhook_service_reaches_the_event_source_pods():
    source = one(FRAUD, "EventSource", naming.TEAM_EVENT_SOURCE)
    hook = source["spec"]["webhook"][naming.TEAM_EVENT_NAME]
    assert hook == {"port": str(naming.WEBHOOK_PORT), "endpoint": naming.WEBHOOK_ENDPOINT, "method": "POST"}
    assert source["spec"]["eventBusName"] == naming.TEAM_EVENT_BUS
    service = one(FRAUD, "Service", m.WEBHOOK_SERVICE)
    assert service["spec"]["selector"] == {"controller": "eventsource-controller", "eventsource-name": naming.TEAM_EVENT_SOURCE}
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == naming.WEBHOOK_PORT and port["nodePort"] == naming.webhook_node_port(FRAUD.team)
    (inside,) = one(RECS, "Service", m.WEBHOOK_SERVICE)["spec"]["ports"]
    assert one(RECS, "Service", m.WEBHOOK_SERVICE)["spec"]["type"] == "ClusterIP" and "nodePort" not in inside
    assert m.internal_webhook_url(FRAUD.namespace) == (
        f"http://{m.WEBHOOK_SERVICE}.fraud-ml.svc.cluster.local:{naming.WEBHOOK_PORT}{naming.WEBHOOK_ENDPOINT}"
    )


def test_the_event_bus_and_source_run_on_the_system_nodes():
    bus = one(FRAUD, "EventBus", naming.TEAM_EVENT_BUS)["spec"]["jetstream"]
    assert bus["nodeSelector"] == m.SYSTEM_POOL_LABEL and bus["replicas"] == 1 and bus["version"] == m.JETSTREAM_VERSION
    assert one(FRAUD, "EventSource")["spec"]["template"]["nodeSelector"] == m.SYSTEM_POOL_LABEL


def test_artifacts_go_to_the_teams_prefix_with_the_pods_identity():
    config = one(FRAUD, "ConfigMap", m.ARTIFACT_REPOSITORIES_CONFIGMAP)
    assert config["metadata"]["annotations"] == {"workflows.argoproj.io/default-artifact-repository": "default"}
    repo = yaml.safe_load(config["data"]["default"])
    assert repo == {
        "s3": {
            "bucket": FRAUD.bucket_name,
            "endpoint": "s3.us-east-1.amazonaws.com",
            "region": "us-east-1",
            "keyFormat": "teams/fraud/argo/{{workflow.name}}/{{pod.name}}",
            "useSDKCreds": True,
        }
    }
    assert repo["s3"]["keyFormat"].startswith(naming.team_prefix(FRAUD.team))


def test_the_namespace_enforces_the_baseline_pod_security_standard():
    labels = one(FRAUD, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels[naming.TEAM_LABEL] == FRAUD.team


# ---------------------------------------------------------------- Helm values


def test_argo_workflows_values():
    values = m.argo_workflows_values(environment="staging", region="us-east-1", bucket_name="b")
    server = values["server"]
    assert server["authModes"] == ["client"] and server["secure"] is True
    assert server["serviceType"] == "NodePort" and server["serviceNodePort"] == naming.ARGO_SERVER_NODE_PORT
    assert values["singleNamespace"] is False and values["useDefaultArtifactRepo"] is False
    assert values["crds"]["install"] is True
    assert values["workflow"]["rbac"]["create"] is False, "the team namespaces' RBAC is the platform's (team_objects)"
    assert server["nodeSelector"] == values["controller"]["nodeSelector"] == m.SYSTEM_POOL_LABEL
    inside = m.argo_workflows_values(environment="staging", region="us-east-1", bucket_name="b", load_balancer=False)["server"]
    assert inside["serviceType"] == "ClusterIP" and "serviceNodePort" not in inside, "no load balancer, no NodePort"


def test_argo_events_values_offer_the_event_buses_version():
    values = m.argo_events_values()
    versions = [v["version"] for v in values["configs"]["jetstream"]["versions"]]
    assert versions == [one(FRAUD, "EventBus")["spec"]["jetstream"]["version"]]
    assert values["controller"]["nodeSelector"] == m.SYSTEM_POOL_LABEL and values["crds"]["install"] is True


def test_cluster_autoscaler_values():
    role = "arn:aws:iam::123456789012:role/strata-staging-eks-autoscaler"
    values = m.cluster_autoscaler_values(cluster_name="strata-staging", region="eu-west-1", role_arn=role, image_tag="v1.35.0")
    assert values["autoDiscovery"] == {"clusterName": "strata-staging"} and values["awsRegion"] == "eu-west-1"
    account = values["rbac"]["serviceAccount"]
    assert account["name"] == m.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT and account["annotations"] == {m.IRSA_ROLE_ANNOTATION: role}
    assert values["image"]["tag"] == "v1.35.0" and values["extraArgs"]["expander"] == "least-waste"
    assert values["nodeSelector"] == m.SYSTEM_POOL_LABEL


# ---------------------------------------------------------------- purity


def test_manifests_is_pure():
    """The standard library and the core only: no Pulumi (Outputs are placed as they are, never imported)."""
    tree = ast.parse((REPO / "modules" / "kubernetes" / "manifests.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "dataclasses", "typing", "core"}, imported


# ---------------------------------------------------------------- `strata manifests` (tools/manifests.py)


def _registration(typ: str, name: str, inputs: dict[str, Any], custom: bool = True, secret: tuple[str, ...] = ()) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(type=typ, name=name, inputs=inputs, custom=custom, secret_inputs=list(secret))


def test_the_tool_sorts_registrations_into_objects_releases_and_opaque_components():
    from tools import manifests as tool

    service = copy.deepcopy(one(FRAUD, "Service"))
    service["spec"]["ports"][0]["nodePort"] = float(service["spec"]["ports"][0]["nodePort"])  # as the monitor sends it
    registrations = [
        _registration("pulumi:providers:kubernetes", "k8s", {"kubeconfig": "{}"}),
        _registration("aws:eks/cluster:Cluster", "cluster", {"name": "strata-staging"}),
        _registration("kubernetes:core/v1:Service", "webhook", service),
        _registration("kubernetes:core/v1:ConfigMap", "unnamed", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        _registration("kubernetes:helm.sh/v4:Chart", "opaque", {"chart": "x"}, custom=False),
        _registration(
            tool.RELEASE_TYPE,
            "argo",
            {
                "chart": "argo-workflows",
                "version": "0.47.5",
                "namespace": "argo",
                "repositoryOpts": {"repo": "https://argoproj.github.io/argo-helm"},
                "values": {"server": {"serviceNodePort": 32746.0}},
                "compat": "true",
            },
        ),
        _registration(
            "kubernetes:core/v1:Secret",
            "s",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "v"}},
            secret=("data",),
        ),
    ]
    found = tool.collect(registrations)
    assert [o["kind"] for o in found.objects] == ["Service", "ConfigMap", "Secret"]
    assert found.objects[0] == {**service, "metadata": service["metadata"]} and not core_errors(found.objects[0])
    assert isinstance(found.objects[0]["spec"]["ports"][0]["nodePort"], int)
    assert list(found.objects[0]) == ["apiVersion", "kind", "metadata", "spec"]
    assert found.objects[1]["metadata"]["name"] == "unnamed-<auto>"
    # A Secret keeps its keys (the file keeps the Secret's shape), never its values.
    assert found.objects[2]["data"] == {"k": tool.SECRET} and found.redacted == ["Secret s: data"]
    assert found.opaque == ["kubernetes:helm.sh/v4:Chart opaque"]
    assert found.releases == [
        {
            "name": "argo",
            "namespace": "argo",
            "chart": "argo-workflows",
            "repository": "https://argoproj.github.io/argo-helm",
            "version": "0.47.5",
            "values": {"server": {"serviceNodePort": 32746}},
        }
    ]


def test_the_tool_writes_one_file_per_object_and_replaces_only_its_own_directory(tmp_path):
    from tools import manifests as tool

    objects = m.team_objects(FRAUD)
    found = tool.ManifestSet(objects=[tool.plain(o) for o in objects])
    written = tool.write(found, tmp_path / "out")
    assert len(written) == len(objects) + 1
    assert Path("_cluster/namespace-fraud-ml.yaml") in written and Path("fraud-ml/eventbus-default.yaml") in written
    back = yaml.safe_load((tmp_path / "out" / "fraud-ml" / "configmap-artifact-repositories.yaml").read_text())
    assert back == tool.plain(one(FRAUD, "ConfigMap"))
    assert "default: |" in (tmp_path / "out" / "fraud-ml" / "configmap-artifact-repositories.yaml").read_text()
    # The next run replaces the files (a team gone is gone), but a directory it did not write is refused.
    tool.write(tool.ManifestSet(objects=[tool.plain(objects[0])]), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.yaml")) == ["namespace-fraud-ml.yaml", "releases.yaml"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(tool.OutputDirError):
        tool.write(found, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
