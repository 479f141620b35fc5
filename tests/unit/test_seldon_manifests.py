"""modules/serving/manifests.py: what a team namespace gets for serving validates offline, and keeps the team to its
own namespace, nodes, quota and storage prefix.

* Core kinds (Secret, Role, RoleBinding, NetworkPolicy) with kubernetes-validate, strict; the Server, and the Model
  and Experiment shapes the SDK renders, with the Seldon Core v2.6.0 CRDs (tests/data/k8s), strict — the helpers
  of tests/unit/test_kubernetes_manifests.py, which the manifests gate also uses (one definition of "valid").
* The contract with the SDK: Server ``mlserver``, storage Secret ``strata-s3-storage``, models under
  ``teams/<team>/models/<name>/<version>/``, Model ``<name>-v<version>``, Experiment ``<name>``.

Each check is shown failing on a broken object, so none passes by checking nothing. (Named test_seldon_*, not
test_serve*: those are the SDK's tests.)
"""

from __future__ import annotations

import copy
import fnmatch
import json
from typing import Any

import pytest
from test_kubernetes_manifests import object_errors

from core import charts, naming
from core.profile import KubernetesProfile, ProfileInputs, render_profile
from modules.compute import policies as compute_policies
from modules.kubernetes import manifests as k8s_manifests
from modules.serving import manifests as m
from modules.serving.settings import ServingSettings

REGION = "us-east-1"
BUCKET = "b"


def spec(team: str, namespace: str | None = None, replicas: int = 1) -> m.TeamServingSpec:
    s = ServingSettings(enabled=True)
    return m.TeamServingSpec(
        team=team,
        namespace=namespace or team,
        region=REGION,
        data_scientist_group=k8s_manifests.data_scientist_group(team),
        mlserver_image=s.mlserver_image,
        replicas=replicas,
        cpu_millicores=s.server_cpu_millicores,
        memory_mib=s.server_memory_mib,
    )


FRAUD, RECS = spec("fraud", "fraud-ml"), spec("recs")


def one(s: m.TeamServingSpec, kind: str, name: str | None = None) -> dict[str, Any]:
    (obj,) = [o for o in m.team_objects(s) if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    return obj


# ---------------------------------------------------------------- offline validation


@pytest.mark.parametrize("s", [FRAUD, RECS], ids=lambda s: s.team)
def test_every_team_object_validates(s: m.TeamServingSpec) -> None:
    objects = m.team_objects(s)
    assert [o["kind"] for o in objects] == ["Secret", "Role", "RoleBinding", "NetworkPolicy", "NetworkPolicy", "Server"]
    for obj in objects:
        assert object_errors(obj) == [], f"{obj['kind']} {obj['metadata']['name']}: {object_errors(obj)}"
        assert obj["metadata"]["namespace"] == s.namespace


def test_the_sdk_shapes_validate_against_the_v2_6_0_crds() -> None:
    uri = m.storage_uri(BUCKET, "fraud", "iris", 1)
    assert uri == "s3://b/teams/fraud/models/iris/1/"
    model = m.model("fraud-ml", "iris", 1, uri)
    assert model["metadata"]["name"] == "iris-v1" and model["spec"]["server"] == "mlserver"
    assert model["spec"]["secretName"] == "strata-s3-storage"
    assert object_errors(model) == []
    split = m.experiment("fraud-ml", "iris", {"iris-v1": 80, "iris-v2": 20}, default="iris-v1")
    assert split["metadata"]["name"] == "iris" and object_errors(split) == [] and m.weights_problem(split) is None


def test_the_crd_checks_fail_on_broken_objects() -> None:
    model = m.model("fraud-ml", "iris", 1, "s3://b/teams/fraud/models/iris/1/")
    del model["spec"]["storageUri"]
    assert any("storageUri" in e for e in object_errors(model))
    server = m.server(FRAUD)
    server["spec"]["replicas"] = "one"
    assert any("replicas" in e for e in object_errors(server))
    typo = m.server(FRAUD)
    typo["spec"]["podSpec"]["nodeSelecter"] = {}
    assert any("nodeSelecter" in e for e in object_errors(typo)), "strict: unknown fields fail"
    del typo["spec"]["podSpec"]["nodeSelecter"], typo["spec"]["serverConfig"]
    assert any("serverConfig" in e for e in object_errors(typo))
    split = m.experiment("fraud-ml", "iris", {"iris-v1": "80", "iris-v2": 20})
    assert object_errors(split), "weights are integers"
    # The CRD does not check the sum; weights_problem does.
    uneven = m.experiment("fraud-ml", "iris", {"iris-v1": 70, "iris-v2": 20})
    assert object_errors(uneven) == [] and "90" in (m.weights_problem(uneven) or "")


# ---------------------------------------------------------------- the Server


def test_the_server_is_mlserver_on_the_pinned_image_without_a_worker_pool() -> None:
    server = m.server(FRAUD)
    assert server["metadata"]["name"] == "mlserver" and server["spec"]["serverConfig"] == "mlserver"
    (container,) = server["spec"]["podSpec"]["containers"]
    assert container["name"] == "mlserver" and container["image"] == charts.MLSERVER_IMAGE == "seldonio/mlserver:1.7.1"
    assert {"name": "MLSERVER_PARALLEL_WORKERS", "value": "0"} in container["env"], "uvloop >= 0.22 breaks the pool"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1024Mi"}, "counted in the team's quota"


def test_the_server_runs_as_the_team_job_account_on_the_team_nodes_exactly_as_metaflow_pods() -> None:
    pod = m.server(FRAUD)["spec"]["podSpec"]
    assert pod["serviceAccountName"] == naming.TEAM_SERVICE_ACCOUNT == "strata-job"
    profile = render_profile(
        ProfileInputs(
            bucket_name=BUCKET,
            team_prefix=naming.team_prefix("fraud"),
            job_queue="q",
            job_role_arn="arn:aws:iam::123456789012:role/job",
            job_definition_prefix="p",
            job_log_group="g",
            fargate_execution_role_arn=None,
            sfn_iam_role="r",
            sfn_dynamo_db_table="t",
            events_sfn_access_iam_role="e",
            sfn_state_machine_prefix="s",
            sfn_execution_log_group_arn="l",
            metadata="local",
            service_url=None,
            service_internal_url=None,
            api_key_secret_arn=None,
            warehouse=None,
            kubernetes=KubernetesProfile(
                namespace="fraud-ml",
                service_account=naming.TEAM_SERVICE_ACCOUNT,
                container_registry="r",
                container_image="i",
                event_bus="default",
                event_source="metaflow-webhook",
                events_service_account="operate-workflow-sa",
                webhook_url="http://w",
                internal_webhook_url="http://w",
                ui_url="https://u",
                cluster_name="c",
                region=REGION,
            ),
        )
    )
    key, value = profile["METAFLOW_KUBERNETES_NODE_SELECTOR"].split("=")
    assert pod["nodeSelector"] == {key: value}
    team_toleration = json.loads(profile["METAFLOW_KUBERNETES_TOLERATIONS"])[0]
    assert pod["tolerations"] == [team_toleration], "the team's own taint only (the admission policy admits nothing else)"
    assert "recs" not in json.dumps(pod)


def test_zero_replicas_declares_the_server_with_no_pods() -> None:
    server = m.server(spec("fraud", replicas=0))
    assert server["spec"]["replicas"] == 0 and object_errors(server) == []


# ---------------------------------------------------------------- storage: IRSA + rclone, the team's prefix only


def test_the_storage_secret_holds_the_rclone_remote_and_no_keys() -> None:
    secret = one(FRAUD, "Secret")
    assert secret["metadata"]["name"] == "strata-s3-storage"
    (value,) = secret["stringData"].values()
    assert json.loads(value) == {
        "type": "s3",
        "name": "s3",
        "parameters": {"provider": "aws", "env_auth": "true", "region": REGION},
    }
    text = json.dumps(secret).lower()
    for word in ("access_key", "secret_access", "session_token", "aws_access"):
        assert word not in text, f"a credential field in the storage Secret: {word}"


def _readable(policy: dict[str, Any], object_arn: str) -> bool:
    return any(
        "s3:GetObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        and any(
            fnmatch.fnmatchcase(object_arn, r) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        )
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
    )


def test_a_team_server_reads_its_own_models_and_not_another_teams() -> None:
    bucket_arn = f"arn:aws:s3:::{BUCKET}"
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    fraud_role = compute_policies.job_role_policy(bucket_arn, naming.team_prefix("fraud"), key)
    own = f"{bucket_arn}/{m.model_prefix('fraud', 'iris', 1)}model.joblib"
    other = f"{bucket_arn}/{m.model_prefix('recs', 'iris', 1)}model.joblib"
    assert _readable(fraud_role, own), "the team's job role reads its models"
    assert not _readable(fraud_role, other), "the team's job role must not read another team's models"


# ---------------------------------------------------------------- RBAC and tenancy


def test_data_scientists_deploy_models_and_experiments_and_scale_their_server_in_their_namespace_only() -> None:
    role, binding = one(FRAUD, "Role"), one(FRAUD, "RoleBinding")
    rules = {(tuple(r["apiGroups"]), tuple(r["resources"])): set(r["verbs"]) for r in role["rules"]}
    assert rules == {
        (("mlops.seldon.io",), ("models", "experiments")): {"get", "list", "watch", "create", "update", "patch", "delete"},
        (("mlops.seldon.io",), ("servers",)): {"get", "list", "watch"},
        # the team's own Server's replicas: `strata serve deploy` starts a stopped one
        (("mlops.seldon.io",), ("servers/scale",)): {"get", "patch", "update"},
    }
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "Group", "name": "strata:team:fraud", "apiGroup": "rbac.authorization.k8s.io"}]
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "fraud-ml"


def test_another_teams_group_is_bound_nowhere_in_the_namespace() -> None:
    subjects = [s for o in m.team_objects(FRAUD) if o["kind"] == "RoleBinding" for s in o["subjects"]]
    assert {s["name"] for s in subjects} == {"strata:team:fraud"}
    assert "strata:team:recs" not in json.dumps(m.team_objects(FRAUD))


def test_only_seldons_controller_namespace_is_admitted_besides_the_kubernetes_layers_peers() -> None:
    policy = one(FRAUD, "NetworkPolicy", m.CONTROLLER_POLICY)
    (rule,) = policy["spec"]["ingress"]
    assert rule == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "seldon-system"}}}]}
    broken = copy.deepcopy(policy)
    broken["spec"]["ingress"][0]["from"][0]["namespaceSelecter"] = {}
    assert object_errors(broken), "strict: unknown fields fail"


# ---------------------------------------------------------------- Helm values


def test_no_kafka_no_pipelines_no_telemetry_and_no_load_balancer() -> None:
    values = m.runtime_values()
    for component in ("dataflow", "modelgateway", "pipelinegateway", "hodometer"):
        assert values[component] == {"disable": True, "replicas": 0}, component
    for component in ("scheduler", "envoy"):
        assert values[component]["serviceType"] == "ClusterIP", f"{component}: the quota admits no LoadBalancer"
    assert values["config"]["agentConfig"]["rclone"]["configSecrets"] == ["strata-s3-storage"]
    assert "kafka" not in json.dumps(m.setup_values()).lower()
    assert m.setup_values()["controller"]["clusterwide"] is True
    assert m.system_pods(2) == 6, "the controller and the metrics collector, and per team the scheduler and Envoy"
