"""Component tests of modules/serving under Pulumi mocks: what Serving declares, through which provider, in which
namespace, after what.

The harness is tests/component/test_kubernetes.py's: the shared echo mocks and ``localcloud.RecordingMonitor``,
which records each registration's options (provider, dependencies). The cluster itself is not declared: the
composition root hands the layer the Kubernetes layer's provider, stood in for here by a provider of its own, and
each team namespace's readiness by a Namespace object. Every assertion names the resource.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest
from support import MonitoredDeployment as Deployment
from support import RecordingMocks

from core import charts, naming
from localcloud import RecordingMonitor
from modules.serving import manifests, metrics
from modules.serving.component import Serving, ServingArgs, ServingTeam
from modules.serving.settings import ServingSettings

ENV = "staging"
REGION = "eu-west-1"
TAGS = {"cost-center": "ml-platform", "environment": ENV}
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVER = "kubernetes:mlops.seldon.io/v1alpha1:Server"
SECRET = "kubernetes:core/v1:Secret"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_PROVIDER = "pulumi:providers:kubernetes"
# team -> namespace (research's differs from its name).
TEAMS = {"fraud": "fraud", "research": "research-lab"}
SETTINGS = ServingSettings(enabled=True)


def deploy(settings: ServingSettings = SETTINGS) -> Deployment:
    deployment = Deployment()
    mocks = RecordingMocks(deployment)
    deployment.monitor = RecordingMonitor(mocks)
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack=ENV, preview=False, monitor=deployment.monitor)

    @pulumi.runtime.test
    def program():
        provider = k8s.Provider("kubernetes-k8s", kubeconfig="{}")
        namespaces = {
            team: k8s.core.v1.Namespace(f"ns-{team}", metadata={"name": ns}, opts=pulumi.ResourceOptions(provider=provider))
            for team, ns in TEAMS.items()
        }
        serving = Serving(
            "serving",
            ServingArgs(
                environment=ENV,
                tags=TAGS,
                settings=settings,
                provider=provider,
                region=REGION,
                cluster_name=naming.eks_cluster(ENV),
                oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                oidc_issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                log_kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/log",
                teams=[
                    ServingTeam(name=t, namespace=ns, data_scientist_group=f"strata:team:{t}", namespace_ready=[namespaces[t]])
                    for t, ns in TEAMS.items()
                ],
            ),
        )
        return pulumi.Output.from_input({"urls": serving.inference_urls}).apply(deployment.outputs.update)

    program()
    return deployment


@pytest.fixture(scope="module")
def default() -> Deployment:
    return deploy()


def test_the_releases_are_the_pinned_seldon_charts_in_their_namespaces(default: Deployment) -> None:
    releases = default.registrations(RELEASE)
    assert {r.inputs["chart"] for r in releases} == {c.name for c in charts.SERVING_CHARTS}
    for r in releases:
        chart = next(c for c in charts.SERVING_CHARTS if c.name == r.inputs["chart"])
        assert (r.inputs["version"], r.inputs["repositoryOpts"]) == ("2.6.0", {"repo": chart.repository_url}), r.name
    cluster_wide = [r for r in releases if r.inputs["chart"] != charts.SELDON_RUNTIME.name]
    assert sorted(r.inputs["namespace"] for r in cluster_wide) == [naming.SERVING_NAMESPACE] * 2
    runtimes = {r.inputs["namespace"]: r for r in releases if r.inputs["chart"] == charts.SELDON_RUNTIME.name}
    assert set(runtimes) == set(TEAMS.values()), "one runtime per team namespace"
    for r in runtimes.values():
        assert r.inputs["name"] == manifests.RUNTIME_RELEASE, r.name
        assert not r.inputs.get("createNamespace"), f"{r.name}: the Kubernetes layer owns the namespace"
        assert r.inputs["values"]["dataflow"]["disable"] is True, f"{r.name}: no Kafka, no dataflow engine"
    assert charts.SELDON_SERVERS.name not in {r.inputs["chart"] for r in releases}, "the layer declares its own Server"


def test_every_object_and_release_goes_through_the_handed_in_provider(default: Deployment) -> None:
    (provider,) = default.registrations(K8S_PROVIDER)
    ours = [r for r in default.registrations() if r.type.startswith("kubernetes:") and not r.name.startswith("ns-")]
    # crds and setup once; per team its runtime release and its objects; the metrics collector's objects once.
    collector = metrics.collector_objects(cluster="c", region=REGION, log_group="g", namespaces=["x"], role_arn="r")
    assert len(ours) == 2 + len(TEAMS) * (1 + len(manifests.team_objects(_spec("x", "x")))) + len(collector)
    for r in ours:
        assert r.provider.startswith(provider.urn + "::"), f"{r.type}::{r.name} uses provider {r.provider!r}"


def _spec(team: str, ns: str) -> manifests.TeamServingSpec:
    return manifests.TeamServingSpec(
        team=team,
        namespace=ns,
        region=REGION,
        data_scientist_group=f"strata:team:{team}",
        mlserver_image=SETTINGS.mlserver_image,
        replicas=SETTINGS.server_replicas,
        cpu_millicores=SETTINGS.server_cpu_millicores,
        memory_mib=SETTINGS.server_memory_mib,
    )


@pytest.mark.parametrize("team", TEAMS)
def test_each_team_gets_its_server_secret_and_binding_in_its_namespace(default: Deployment, team: str) -> None:
    ns = TEAMS[team]
    server = default.one(SERVER, f"serving-{team}-server-mlserver")
    assert server.inputs["metadata"]["namespace"] == ns and server.inputs["metadata"]["name"] == "mlserver", server.name
    pod = server.inputs["spec"]["podSpec"]
    assert pod["serviceAccountName"] == naming.TEAM_SERVICE_ACCOUNT, server.name
    assert pod["nodeSelector"] == {naming.TEAM_LABEL: team}, server.name
    assert pod["tolerations"] == [{"key": naming.TEAM_LABEL, "operator": "Equal", "value": team, "effect": "NoSchedule"}]
    (mlserver,) = pod["containers"]
    assert mlserver["image"] == charts.MLSERVER_IMAGE == "seldonio/mlserver:1.7.1", server.name
    # Created stopped (0 replicas, $0 idle); the team starts it (`strata serve deploy`), and `pulumi up` keeps its hands off.
    assert server.inputs["spec"]["replicas"] == 0, server.name
    assert server.ignore_changes == ["spec.replicas"], server.name
    secret = default.one(SECRET, f"serving-{team}-secret-{manifests.STORAGE_SECRET}")
    assert secret.inputs["metadata"]["namespace"] == ns, secret.name
    remote = json.loads(secret.inputs["stringData"]["s3"])
    assert remote == {"type": "s3", "name": "s3", "parameters": {"provider": "aws", "env_auth": "true", "region": REGION}}
    binding = default.one(ROLE_BINDING, f"serving-{team}-rolebinding-{manifests.MODEL_DEPLOYERS_ROLE}")
    assert binding.inputs["subjects"] == [
        {"kind": "Group", "name": f"strata:team:{team}", "apiGroup": "rbac.authorization.k8s.io"}
    ]


@pytest.mark.parametrize("team", TEAMS)
def test_team_objects_wait_for_the_namespace_and_the_server_for_its_runtime(default: Deployment, team: str) -> None:
    namespace = default.one(NAMESPACE, f"ns-{team}")
    runtime = default.one(RELEASE, f"serving-{team}-{charts.SELDON_RUNTIME.name}")
    setup = default.one(RELEASE, f"serving-{charts.SELDON_SETUP.name}")
    server = default.one(SERVER, f"serving-{team}-server-mlserver")
    assert {namespace.urn, setup.urn, runtime.urn} <= set(server.dependencies), server.name
    assert {namespace.urn, setup.urn} <= set(runtime.dependencies), runtime.name
    secret = default.one(SECRET, f"serving-{team}-secret-{manifests.STORAGE_SECRET}")
    assert namespace.urn in secret.dependencies, secret.name


def test_the_inference_urls_are_each_namespace_envoy(default: Deployment) -> None:
    assert default.outputs["urls"] == {t: f"http://seldon-mesh.{ns}.svc.cluster.local" for t, ns in TEAMS.items()}


def test_a_disabled_layer_is_refused_at_construction() -> None:
    with pytest.raises(Exception, match="strata:serving.enabled is false"):
        deploy(ServingSettings())


# ---------------------------------------------------------------- the metrics collector

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def test_the_collector_log_group_is_pre_created_with_retention_and_the_log_key(default: Deployment) -> None:
    group = default.one(LOG_GROUP, "serving-metrics-logs")
    assert group.inputs["name"] == naming.serving_metrics_log_group(ENV) == "/aws/containerinsights/strata-staging/prometheus"
    assert group.inputs["retentionInDays"] == SETTINGS.log_retention_days == 30
    assert group.inputs["kmsKeyId"] == "arn:aws:kms:eu-west-1:123456789012:key/log"


def test_the_collector_role_trusts_its_service_account_and_writes_only_its_group(default: Deployment) -> None:
    role = default.one(IAM_ROLE, "serving-metrics")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    sub = statement["Condition"]["StringEquals"]["oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub"]
    assert sub == "system:serviceaccount:amazon-cloudwatch:cwagent-prometheus"
    policy = json.loads(default.one(ROLE_POLICY, "serving-metrics").inputs["policy"])
    logs, cw = policy["Statement"]
    assert all(r.split(":log-group:")[1].startswith(naming.serving_metrics_log_group(ENV)) for r in logs["Resource"])
    assert "logs:CreateLogGroup" not in logs["Action"]
    assert cw["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Strata/Serving"}}


def test_the_collector_runs_on_the_system_nodes_as_its_irsa_account(default: Deployment) -> None:
    deployment = default.one(DEPLOYMENT, "serving-metrics-deployment-cwagent-prometheus")
    assert deployment.inputs["metadata"]["namespace"] == naming.METRICS_NAMESPACE
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"strata.io/pool": "system"} and deployment.inputs["spec"]["replicas"] == 1
    assert pod["containers"][0]["image"] == charts.CLOUDWATCH_AGENT_IMAGE
    account = default.one("kubernetes:core/v1:ServiceAccount", "serving-metrics-serviceaccount-cwagent-prometheus")
    role = default.one(IAM_ROLE, "serving-metrics")
    assert role.urn in account.dependencies
    group, policy = default.one(LOG_GROUP, "serving-metrics-logs"), default.one(ROLE_POLICY, "serving-metrics")
    assert {group.urn, policy.urn, account.urn} <= set(deployment.dependencies)
    config = default.one(CONFIG_MAP, "serving-metrics-configmap-cwagent-prometheus")
    scrape = json.loads(config.inputs["data"][metrics.PROMETHEUS_CONFIG_KEY])
    (names,) = {tuple(j["kubernetes_sd_configs"][0]["namespaces"]["names"]) for j in scrape["scrape_configs"]}
    assert sorted(names) == sorted(TEAMS.values())


@pytest.mark.parametrize("team", TEAMS)
def test_each_team_namespace_admits_the_collector_on_the_metrics_port(default: Deployment, team: str) -> None:
    policy = default.one(NETWORK_POLICY, f"serving-{team}-networkpolicy-{metrics.SCRAPE_POLICY}")
    assert policy.inputs["metadata"]["namespace"] == TEAMS[team]
    (rule,) = policy.inputs["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9006}]
