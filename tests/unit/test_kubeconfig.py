"""`strata configure` and the team's kubeconfig context (sdk/strata/kubeconfig.py).

The context is merged into the user's kubeconfig: other clusters, users and contexts survive, a second run changes
nothing, a different entry of the same name is replaced only with --force, and a profile without the Kubernetes
layer writes no kubeconfig at all. The written file is loaded by the kubernetes Python client (the one Metaflow uses)
with a stand-in `aws` that records how it was called.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from typer.testing import CliRunner

from core import naming
from core.profile import KubernetesProfile, ProfileInputs, render_profile
from strata import kubeconfig, profiles
from strata.cli import app

ENV, TEAM = "staging", "fraud"
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFECi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"

BATCH_ONLY = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_BATCH_JOB_QUEUE": "arn:aws:batch:us-east-1:123456789012:job-queue/q"}
KUBE = {
    **BATCH_ONLY,
    "METAFLOW_KUBERNETES_NAMESPACE": "team-fraud",
    "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": naming.TEAM_SERVICE_ACCOUNT,
    "METAFLOW_STRATA_EKS_CLUSTER": naming.eks_cluster(ENV),
    "METAFLOW_STRATA_EKS_ENDPOINT": ENDPOINT,
    "METAFLOW_STRATA_EKS_CA_DATA": CA,
    "METAFLOW_STRATA_EKS_REGION": "us-east-1",
}

# Someone's kubeconfig before configure: another cluster, its user and context, and it is current.
THEIRS = {
    "apiVersion": "v1",
    "kind": "Config",
    "preferences": {},
    "clusters": [{"name": "minikube", "cluster": {"server": "https://192.168.49.2:8443", "certificate-authority": "/ca.crt"}}],
    "users": [{"name": "minikube", "user": {"client-certificate": "/c.crt", "client-key": "/c.key"}}],
    "contexts": [{"name": "minikube", "context": {"cluster": "minikube", "user": "minikube", "namespace": "default"}}],
    "current-context": "minikube",
}


def entries_named(config: dict, section: str) -> dict[str, dict]:
    return {e["name"]: e for e in config.get(section) or []}


# ---------------------------------------------------------------- the library


def test_the_sdk_reads_the_keys_the_platform_writes():
    """The key names are mirrored (the SDK does not import the platform): a rendered profile has every one."""
    k = KubernetesProfile(
        namespace="team-fraud",
        service_account=naming.TEAM_SERVICE_ACCOUNT,
        container_registry="123456789012.dkr.ecr.us-east-1.amazonaws.com",
        container_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/strata:1",
        event_bus=naming.TEAM_EVENT_BUS,
        event_source=naming.TEAM_EVENT_SOURCE,
        events_service_account=naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT,
        webhook_url="http://internal-nlb.elb.us-east-1.amazonaws.com:30001/metaflow-event",
        internal_webhook_url="http://metaflow-webhook-eventsource-svc.team-fraud.svc.cluster.local:12000/metaflow-event",
        ui_url="https://internal-nlb.elb.us-east-1.amazonaws.com:2746",
        cluster_name=naming.eks_cluster(ENV),
        region="us-east-1",
    )
    rendered = render_profile(
        ProfileInputs(
            bucket_name="acme-staging-datastore",
            team_prefix=naming.team_prefix(TEAM),
            job_queue="q",
            job_role_arn="arn:aws:iam::123456789012:role/strata-staging-fraud-job",
            job_definition_prefix=naming.job_definition_prefix(ENV, TEAM),
            job_log_group=naming.job_log_group(ENV, TEAM),
            kubernetes=k,
        )
    )
    assert set(kubeconfig.REQUIRED_KEYS) <= set(rendered)
    assert not set(kubeconfig.CLUSTER_DATA_KEYS) & set(rendered), "the CA would overflow a Standard SSM parameter"
    asked = []
    entries = kubeconfig.team_entries(rendered, ENV, TEAM, environ={}, describe=lambda *a: asked.append(a) or (ENDPOINT, CA))
    assert asked == [(naming.eks_cluster(ENV), "us-east-1", TEAM)]
    assert entries is not None
    assert entries.cluster["name"] == naming.eks_cluster(ENV) == kubeconfig.cluster_entry_name(ENV)
    assert entries.context_entry["context"]["namespace"] == "team-fraud"


def test_a_profile_without_the_kubernetes_layer_has_no_entries():
    assert kubeconfig.team_entries(BATCH_ONLY, ENV, TEAM) is None
    assert kubeconfig.install(BATCH_ONLY, ENV, TEAM, path=Path("/nonexistent/dir/config")) is None


def test_a_half_kubernetes_profile_is_a_clear_error():
    with pytest.raises(profiles.ProfileProblem, match="METAFLOW_KUBERNETES_NAMESPACE"):
        kubeconfig.team_entries({k: v for k, v in KUBE.items() if k != "METAFLOW_KUBERNETES_NAMESPACE"}, ENV, TEAM)


def test_without_endpoint_and_certificate_in_the_profile_they_come_from_eks(monkeypatch):
    """A profile may leave the cluster's endpoint and CA out (the CA alone is ~1,400 characters of a 4 KB
    parameter): configure then reads them with eks:DescribeCluster, as `aws eks update-kubeconfig` does."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    lean = {k: v for k, v in KUBE.items() if k not in kubeconfig.CLUSTER_DATA_KEYS}
    with mock_aws():
        eks = boto3.client("eks", region_name="us-east-1")
        with pytest.raises(profiles.ProfileProblem, match="no EKS cluster 'strata-staging'"):
            kubeconfig.team_entries(lean, ENV, TEAM, environ={})
        created = eks.create_cluster(
            name="strata-staging", roleArn="arn:aws:iam::123456789012:role/r", resourcesVpcConfig={"subnetIds": []}
        )["cluster"]
        entries = kubeconfig.team_entries(lean, ENV, TEAM, environ={})
    assert entries is not None
    assert entries.cluster["cluster"] == {
        "server": created["endpoint"],
        "certificate-authority-data": created["certificateAuthority"]["data"],
    }
    asked = []
    kubeconfig.team_entries(KUBE, ENV, TEAM, environ={}, describe=lambda *a: asked.append(a) or ("x", "y"))
    assert asked == [], "a profile that carries them is not second-guessed"


def test_the_entries_are_what_aws_eks_update_kubeconfig_writes():
    e = kubeconfig.team_entries(KUBE, ENV, TEAM, environ={"AWS_PROFILE": "fraud-ds"})
    assert e is not None
    assert e.context == "strata-staging-fraud"
    assert e.cluster == {"name": "strata-staging", "cluster": {"server": ENDPOINT, "certificate-authority-data": CA}}
    assert e.context_entry == {
        "name": "strata-staging-fraud",
        "context": {"cluster": "strata-staging", "user": "strata-staging-fraud", "namespace": "team-fraud"},
    }
    assert e.user == {
        "name": "strata-staging-fraud",
        "user": {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "aws",
                "args": ["--region", "us-east-1", "eks", "get-token", "--cluster-name", "strata-staging", "--output", "json"],
                "env": [{"name": "AWS_PROFILE", "value": "fraud-ds"}],
            }
        },
    }
    no_profile = kubeconfig.team_entries(KUBE, ENV, TEAM, environ={})
    assert no_profile is not None and "env" not in no_profile.user["user"]["exec"]


def test_merge_keeps_every_other_cluster_user_and_context_and_the_current_context():
    entries = kubeconfig.team_entries(KUBE, ENV, TEAM, environ={})
    assert entries is not None
    merged = kubeconfig.merge(THEIRS, entries)
    assert merged.changed and not merged.replaced
    for section in ("clusters", "users", "contexts"):
        assert merged.config[section][0] == THEIRS[section][0], f"{section}: the existing entry is kept, first"
        assert set(entries_named(merged.config, section)) == {"minikube", entries.by_section()[section]["name"]}
    assert merged.config["current-context"] == "minikube", "someone else's current context is not switched"
    assert not merged.current_context_set
    assert THEIRS["contexts"] == [THEIRS["contexts"][0]], "the input is not changed in place"


def test_an_empty_kubeconfig_gets_the_team_context_as_current():
    entries = kubeconfig.team_entries(KUBE, ENV, TEAM, environ={})
    assert entries is not None
    merged = kubeconfig.merge(kubeconfig.empty_config(), entries)
    assert merged.config["current-context"] == "strata-staging-fraud" and merged.current_context_set


def test_a_different_entry_of_the_same_name_needs_force():
    entries = kubeconfig.team_entries(KUBE, ENV, TEAM, environ={})
    assert entries is not None
    stale = kubeconfig.merge(THEIRS, entries).config
    stale["contexts"] = [
        c if c["name"] != entries.context else {**c, "context": {**c["context"], "namespace": "someone-else"}}
        for c in stale["contexts"]
    ]
    with pytest.raises(profiles.ProfileProblem, match=r"context strata-staging-fraud.*--force"):
        kubeconfig.merge(stale, entries)
    forced = kubeconfig.merge(stale, entries, force=True)
    assert forced.replaced == ("context strata-staging-fraud",)
    assert entries_named(forced.config, "contexts")[entries.context]["context"]["namespace"] == "team-fraud"
    assert entries_named(forced.config, "contexts")["minikube"] == THEIRS["contexts"][0]


# ---------------------------------------------------------------- files


def test_install_is_idempotent_and_owner_only(tmp_path):
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(THEIRS))
    first = kubeconfig.install(KUBE, ENV, TEAM, path=path, environ={})
    assert first is not None and first.changed
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = kubeconfig.install(KUBE, ENV, TEAM, path=path, environ={})
    assert again is not None and not again.changed
    assert path.read_text() == text, "a second run rewrites nothing"
    assert sorted(p.name for p in path.parent.iterdir()) == ["config"], "no backup or temporary file is left behind"


def test_an_unreadable_kubeconfig_is_never_replaced_even_with_force(tmp_path):
    path = tmp_path / "config"
    path.write_text("clusters: [unclosed\n")
    for force in (False, True):
        with pytest.raises(profiles.ProfileProblem, match="cannot read the kubeconfig"):
            kubeconfig.install(KUBE, ENV, TEAM, force=force, path=path, environ={})
    assert path.read_text() == "clusters: [unclosed\n"


def test_the_path_is_the_first_kubeconfig_file_or_the_default(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert kubeconfig.kubeconfig_path({"KUBECONFIG": f"{first}{os.pathsep}{second}"}) == first
    assert kubeconfig.kubeconfig_path({}) == Path("~/.kube/config").expanduser()


def test_the_kubernetes_client_loads_the_context_and_runs_the_token_command(tmp_path, monkeypatch):
    """What Metaflow does (kubernetes.config.load_kube_config): the context's server, namespace and token, from a
    stand-in `aws` that records its arguments and environment."""
    kubernetes = pytest.importorskip("kubernetes")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.json"
    fake = bindir / "aws"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(calls)!r}, 'w').write(json.dumps({{'args': sys.argv[1:], 'profile': os.environ.get('AWS_PROFILE')}}))\n"
        "print(json.dumps({'kind': 'ExecCredential', 'apiVersion': 'client.authentication.k8s.io/v1beta1',\n"
        "                  'spec': {}, 'status': {'token': 'k8s-aws-v1.test-token'}}))\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(THEIRS))
    installed = kubeconfig.install(KUBE, ENV, TEAM, path=path, environ={"AWS_PROFILE": "fraud-ds"})
    assert installed is not None
    contexts, current = kubernetes.config.list_kube_config_contexts(config_file=str(path))
    assert current["name"] == "minikube"
    assert {c["name"] for c in contexts} == {"minikube", "strata-staging-fraud"}
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(path), context="strata-staging-fraud", client_configuration=configuration)
    assert configuration.host == ENDPOINT
    assert configuration.api_key["BearerToken"] == "Bearer k8s-aws-v1.test-token"
    called = json.loads(calls.read_text())
    assert called == {
        "args": ["--region", "us-east-1", "eks", "get-token", "--cluster-name", "strata-staging", "--output", "json"],
        "profile": "fraud-ds",
    }


# ---------------------------------------------------------------- `strata configure`


@pytest.fixture
def cloud(monkeypatch, tmp_path):
    """An SSM parameter per profile kind, the caller's METAFLOW_HOME and KUBECONFIG under tmp_path."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mf"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kube" / "config"))
    with mock_aws():
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name=profiles.parameter_name(ENV, TEAM), Type="String", Value=json.dumps(KUBE))
        ssm.put_parameter(Name=profiles.parameter_name("dev", TEAM), Type="String", Value=json.dumps(BATCH_ONLY))
        yield tmp_path


def configure(*extra: str, env: str = ENV):
    return CliRunner().invoke(app, ["configure", "--env", env, "--team", TEAM, *extra])


def test_configure_without_the_layer_writes_no_kubeconfig(cloud):
    result = configure(env="dev")
    assert result.exit_code == 0, result.output
    assert not (cloud / "kube").exists()
    assert "kubeconfig" not in result.output


def test_configure_adds_the_context_and_says_so(cloud):
    kube = cloud / "kube" / "config"
    kube.parent.mkdir()
    kube.write_text(yaml.safe_dump(THEIRS))
    result = configure()
    assert result.exit_code == 0, result.output
    assert f"added context strata-staging-fraud (namespace team-fraud) to {kube}" in result.output
    assert "kubectl config use-context strata-staging-fraud" in result.output, "the user is told how to switch"
    config = yaml.safe_load(kube.read_text())
    assert set(entries_named(config, "contexts")) == {"minikube", "strata-staging-fraud"}
    assert config["current-context"] == "minikube"
    again = configure()
    assert again.exit_code == 0 and "already up to date" in again.output


def test_configure_refuses_a_conflicting_context_before_touching_any_file(cloud):
    kube = cloud / "kube" / "config"
    kube.parent.mkdir()
    mine = {**THEIRS, "contexts": [*THEIRS["contexts"], {"name": "strata-staging-fraud", "context": {"cluster": "minikube"}}]}
    kube.write_text(yaml.safe_dump(mine))
    before = kube.read_text()
    result = configure()
    assert result.exit_code == 1
    assert "--force" in result.output and "context strata-staging-fraud" in result.output
    assert kube.read_text() == before
    assert not (cloud / "mf" / f"config_{ENV}-{TEAM}.json").exists(), "the profile is not installed either"
    forced = configure("--force")
    assert forced.exit_code == 0, forced.output
    assert "replaced context strata-staging-fraud" in forced.output
    config = yaml.safe_load(kube.read_text())
    assert entries_named(config, "contexts")["strata-staging-fraud"]["context"]["namespace"] == "team-fraud"
    assert entries_named(config, "clusters")["minikube"] == THEIRS["clusters"][0]
