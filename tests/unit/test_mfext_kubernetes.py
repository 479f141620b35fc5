"""The Strata Metaflow extension on Kubernetes: the metadata API key stays out of the pods Metaflow templates
(``argo-workflows create`` and ``@kubernetes``), the team's settings go in, and a pod reads the key from Secrets
Manager with its own (IRSA) role.

Metaflow's real CLI runs in subprocesses against moto (its S3 holds the code package ``argo-workflows create``
uploads). ``@kubernetes`` is driven through ``run`` with a ``sitecustomize`` that records the Job Metaflow would
create instead of sending it (no cluster here). Each key-free assertion has a control run without the extension's
Kubernetes settings that shows the key where Metaflow puts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from metaflow_extensions.strata.config import job_api_key
from metaflow_extensions.strata.plugins import hooks, kubernetes_env
from moto_user import user_env

KEY = "k8s-test-key-" + "x" * 24
REGION = "us-east-1"
ACCOUNT = "123456789012"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:strata/staging/teams/fraud/metadata-api-key-AbCdEf"
TEAM = {
    "METAFLOW_STRATA_TEAM": "fraud",
    "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": "strata-staging-fraud_",
    "METAFLOW_STRATA_JOB_LOG_GROUP": "/strata/staging/batch/fraud",
    "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "strata",
    "METAFLOW_STRATA_API_KEY_SECRET": SECRET_ARN,
}
KUBERNETES = {
    "METAFLOW_STRATA_EKS_CLUSTER": "strata-staging",
    "METAFLOW_KUBERNETES_NAMESPACE": "team-fraud",
    "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "strata-job",
    "METAFLOW_KUBERNETES_CONTAINER_IMAGE": "python:3.11",
}

FLOW = """
from metaflow import FlowSpec, environment, kubernetes, step


class {name}(FlowSpec):
    @environment(vars={own_vars})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    {name}()
"""

# In every Python process of a `run`: record the Job Metaflow's @kubernetes would create, instead of sending it.
SITECUSTOMIZE = """
import json, os
_out = os.environ.get("STRATA_TEST_CAPTURE_JOBS")
if _out:
    import kubernetes.client

    def _capture(self, namespace, body, **kwargs):
        body = kubernetes.client.ApiClient().sanitize_for_serialization(body)
        with open(_out, "a") as f:
            f.write(json.dumps({"namespace": namespace, "body": body}) + "\\n")
        raise SystemExit("recorded the Job instead of creating it (test)")

    kubernetes.client.BatchV1Api.create_namespaced_job = _capture
"""

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: not-a-token}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team-fraud}}]
current-context: x
"""


# ---------------------------------------------------------------- pure parts


def test_a_kubernetes_pod_is_a_job_that_reads_its_key():
    environ = {"METAFLOW_KUBERNETES_WORKLOAD": "1"}
    assert job_api_key.needed({}, SECRET_ARN, environ)
    assert not job_api_key.needed({"X-Api-Key": "k"}, SECRET_ARN, environ), "a key already there is kept"
    assert not job_api_key.needed({}, SECRET_ARN, {}), "not on the launcher's machine"
    fetched = job_api_key.add_job_api_key({}, SECRET_ARN, environ, fetcher=lambda s: f"key-of-{s}", metadata="service")
    assert fetched == {"x-api-key": f"key-of-{SECRET_ARN}"}


def test_a_pod_without_key_or_secret_stops_with_the_reason():
    environ = {"METAFLOW_KUBERNETES_WORKLOAD": "1"}
    with pytest.raises(job_api_key.JobApiKeyError, match="METAFLOW_STRATA_API_KEY_SECRET"):
        job_api_key.add_job_api_key({}, None, environ, metadata="service")
    assert job_api_key.add_job_api_key({}, None, environ, metadata="local") == {}, "local metadata needs no key"
    assert job_api_key.add_job_api_key({}, None, {}, metadata="service") == {}, "the launcher is not a pod"


def test_the_team_variables_carry_the_secret_not_the_key():
    class Config:
        STRATA_TEAM = "fraud"
        STRATA_JOB_DEFINITION_PREFIX = "strata-staging-fraud_"
        STRATA_JOB_LOG_GROUP = "/strata/staging/batch/fraud"
        STRATA_API_KEY_SECRET = SECRET_ARN
        SERVICE_AUTH_KEY = KEY
        SERVICE_HEADERS = {"X-API-KEY": KEY, "x-tenant": "fraud"}

    variables = kubernetes_env.team_variables(Config)
    assert variables["METAFLOW_STRATA_API_KEY_SECRET"] == SECRET_ARN and variables["METAFLOW_STRATA_TEAM"] == "fraud"
    assert json.loads(variables["METAFLOW_SERVICE_HEADERS"]) == {"x-tenant": "fraud"}
    assert KEY not in json.dumps(variables)
    assert kubernetes_env.api_key_values(Config) == [KEY, KEY]


def test_the_step_environment_keeps_its_own_variables_and_refuses_the_key():
    team = {"METAFLOW_STRATA_TEAM": "fraud"}
    assert kubernetes_env.merged_variables({"A": "1", "METAFLOW_STRATA_TEAM": "x"}, team, "s", [KEY]) == {
        "A": "1",
        "METAFLOW_STRATA_TEAM": "fraud",
    }
    with pytest.raises(kubernetes_env.StrataKeyInEnvironment) as refused:
        kubernetes_env.merged_variables({"TOKEN": f"Bearer {KEY}"}, team, "train", [KEY])
    assert "train" in str(refused.value) and KEY not in str(refused.value)


def test_the_config_names_the_mutator_that_exists():
    assert job_api_key.TEAM_ENVIRONMENT_DECOSPEC == kubernetes_env.DECOSPEC
    assert job_api_key.POD_SKIPPED_VARIABLES == (hooks.HEADERS_VARIABLE,)


# ---------------------------------------------------------------- Metaflow's configuration


CONFIG_PROBE = (
    "import json\n"
    "from metaflow import metaflow_config as c\n"
    "print(json.dumps({'skip': c.ARGO_WORKFLOWS_ENV_VARS_TO_SKIP, 'decospecs': c.DEFAULT_DECOSPECS}))\n"
)


def probe(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "METAFLOW_HOME": str(tmp_path / "mf")}
    result = subprocess.run(
        [sys.executable, "-c", CONFIG_PROBE], env={**base, **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_config_skips_the_headers_and_attaches_the_mutator_only_where_it_should(tmp_path):
    spec = kubernetes_env.DECOSPEC
    assert probe(tmp_path, {}) == {"skip": "", "decospecs": ""}, "no team: Metaflow's defaults"
    assert probe(tmp_path, TEAM) == {"skip": "METAFLOW_SERVICE_HEADERS", "decospecs": ""}, "no cluster: no mutator"
    assert probe(tmp_path, {**TEAM, **KUBERNETES}) == {"skip": "METAFLOW_SERVICE_HEADERS", "decospecs": spec}
    mine = probe(
        tmp_path,
        {**TEAM, **KUBERNETES, "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "A,B", "METAFLOW_DEFAULT_DECOSPECS": "retry"},
    )
    assert mine == {"skip": "A,B,METAFLOW_SERVICE_HEADERS", "decospecs": f"retry {spec}"}, "the user's values are kept"


# ---------------------------------------------------------------- Metaflow's CLI against moto


@pytest.fixture(scope="module")
def bucket(moto_client: Any) -> str:
    name = f"mfext-k8s-{uuid.uuid4().hex[:8]}"
    moto_client("s3").create_bucket(Bucket=name)
    return name


def deployer_env(tmp_path: Path, endpoint: str, bucket: str, kubernetes: bool = True) -> dict[str, str]:
    """A data scientist of a Kubernetes environment with the service metadata key configured (as `strata configure`
    writes it); ``kubernetes=False`` drops the layer's keys and the team (the control: Metaflow unaided)."""
    env = {
        **user_env(tmp_path, endpoint),
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{bucket}/teams/fraud/metaflow",
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_SERVICE_URL": "http://metadata.invalid/api",
        "METAFLOW_SERVICE_AUTH_KEY": KEY,
        **KUBERNETES,
        **TEAM,
    }
    if not kubernetes:
        for k in (*TEAM, "METAFLOW_STRATA_EKS_CLUSTER"):
            env.pop(k)
    return env


def write_flow(tmp_path: Path, own_vars: dict[str, str]) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(FLOW.format(name=f"K8sFlow{uuid.uuid4().hex[:8]}", own_vars=json.dumps(own_vars)))
    return path


def run(tmp_path: Path, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def template(tmp_path: Path, env: dict[str, str], own_vars: dict[str, str]) -> dict[str, Any]:
    flow = write_flow(tmp_path, own_vars)
    result = run(tmp_path, env, [str(flow), "--no-pylint", "argo-workflows", "create", "--only-json"])
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


def containers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t["container"] for t in doc["spec"]["templates"] if t.get("container")}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def test_argo_templates_carry_no_key_and_the_teams_settings(tmp_path, moto_endpoint, bucket):
    doc = template(tmp_path, deployer_env(tmp_path, moto_endpoint, bucket), {"MY_VAR": "mine"})
    assert KEY not in json.dumps(doc)
    steps = {name: env_of(c) for name, c in containers(doc).items() if name in ("start", "end")}
    assert set(steps) == {"start", "end"}
    for name, variables in steps.items():
        assert "METAFLOW_SERVICE_HEADERS" not in variables, name
        assert variables["METAFLOW_STRATA_API_KEY_SECRET"] == SECRET_ARN, name
        assert variables["METAFLOW_STRATA_TEAM"] == "fraud", name
        assert variables["METAFLOW_KUBERNETES_WORKLOAD"] == "1", "the pod side recognises a pod by it"
    assert steps["start"]["MY_VAR"] == "mine", "the step's own @environment is kept"
    for name, c in containers(doc).items():
        assert "METAFLOW_SERVICE_HEADERS" not in env_of(c), f"{name}: no container of the template gets the headers"


def test_control_without_the_extensions_settings_argo_bakes_the_key(tmp_path, moto_endpoint, bucket):
    doc = template(tmp_path, deployer_env(tmp_path, moto_endpoint, bucket, kubernetes=False), {"MY_VAR": "mine"})
    assert KEY in json.dumps(doc), "Metaflow unaided copies the key into the template (what the extension prevents)"


def test_a_step_environment_holding_the_key_is_refused(tmp_path, moto_endpoint, bucket):
    flow = write_flow(tmp_path, {"LEAK": KEY})
    result = run(
        tmp_path,
        deployer_env(tmp_path, moto_endpoint, bucket),
        [str(flow), "--no-pylint", "argo-workflows", "create", "--only-json"],
    )
    assert result.returncode != 0
    assert "Refused by the Strata platform" in result.stderr and "@environment" in result.stderr
    assert KEY not in result.stdout + result.stderr


def kubernetes_run(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """``run --with kubernetes`` of the flow; the Job Metaflow built for ``start`` (recorded, never sent)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (tmp_path / "kubeconfig").write_text(textwrap.dedent(KUBECONFIG))
    jobs = tmp_path / "jobs.jsonl"
    flow = write_flow(tmp_path, {"MY_VAR": "mine"})
    env = {
        **env,
        "PYTHONPATH": str(site),
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "STRATA_TEST_CAPTURE_JOBS": str(jobs),
        "METAFLOW_DEFAULT_METADATA": "local",  # the run's own bookkeeping; the key is configured all the same
    }
    result = run(tmp_path, env, [str(flow), "--no-pylint", "run", "--with", "kubernetes"])
    assert jobs.exists(), f"no Job was built:\n{result.stderr[-3000:]}"
    [first] = [json.loads(line) for line in jobs.read_text().splitlines()]
    return first


def test_kubernetes_jobs_carry_key_free_headers_and_the_teams_settings(tmp_path, moto_endpoint, bucket):
    job = kubernetes_run(tmp_path, deployer_env(tmp_path, moto_endpoint, bucket))
    assert KEY not in json.dumps(job)
    assert job["namespace"] == "team-fraud"
    pod = job["body"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "strata-job"
    variables = env_of(pod["containers"][0])
    assert json.loads(variables["METAFLOW_SERVICE_HEADERS"]) == {}
    assert variables["METAFLOW_STRATA_API_KEY_SECRET"] == SECRET_ARN and variables["MY_VAR"] == "mine"


def test_control_without_the_extensions_settings_kubernetes_sends_the_key(tmp_path, moto_endpoint, bucket):
    job = kubernetes_run(tmp_path, deployer_env(tmp_path, moto_endpoint, bucket, kubernetes=False))
    assert KEY in json.dumps(job), "Metaflow unaided puts the key into the Job (what the extension prevents)"


# ---------------------------------------------------------------- inside the pod

READ_HEADERS = (
    "import json, os, boto3\n"
    "from metaflow.metaflow_config import SERVICE_HEADERS\n"
    "who = boto3.client('sts').get_caller_identity()['Arn']\n"
    "print(json.dumps({'headers': SERVICE_HEADERS, 'who': who,\n"
    "                  'in_environ': any('POD-KEY' in v for v in os.environ.values())}))\n"
)


def test_a_pod_reads_its_key_with_its_web_identity_role(tmp_path, moto_endpoint, moto_client):
    """IRSA as EKS sets it up: a role ARN and a projected token file, no static keys. moto answers
    AssumeRoleWithWebIdentity (it checks no token), so this proves the credential chain the pod uses, not IAM."""
    value = f"POD-KEY-{uuid.uuid4().hex}"
    arn = moto_client("secretsmanager").create_secret(
        Name=f"strata/staging/teams/fraud-{uuid.uuid4().hex[:6]}/metadata-api-key", SecretString=value
    )["ARN"]
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    pod = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "METAFLOW_HOME": str(tmp_path / "mf"),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/strata-staging-fraud-job",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
        "METAFLOW_KUBERNETES_WORKLOAD": "1",
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_SERVICE_URL": "http://metadata.invalid/api",
        **{**TEAM, "METAFLOW_STRATA_API_KEY_SECRET": arn},
    }
    result = subprocess.run([sys.executable, "-c", READ_HEADERS], env=pod, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["headers"] == {"x-api-key": value}
    assert ":assumed-role/strata-staging-fraud-job/" in out["who"], out["who"]
    assert out["in_environ"] is False, "the key is kept in memory, not in the process environment"
    stripped = {k: v for k, v in pod.items() if k != "METAFLOW_STRATA_API_KEY_SECRET"}
    refused = subprocess.run([sys.executable, "-c", READ_HEADERS], env=stripped, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "JobApiKeyError" in refused.stderr and "METAFLOW_STRATA_API_KEY_SECRET" in refused.stderr
