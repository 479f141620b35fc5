"""Every non-local stack with the Kubernetes layer (plain mocks): no endpoint of the local cloud in any team profile,
and so none in the WorkflowTemplate Metaflow renders from one.

Metaflow bakes profile values into every pod of an Argo workflow (METAFLOW_SERVICE_URL, the datastore roots, the
Argo Events URLs, METAFLOW_S3_ENDPOINT_URL when set...): a 127.0.0.1 or localhost left in a staging or prod profile
would reach the cluster. The template is rendered for real (`argo-workflows create --only-json`, nothing deployed):
Metaflow uploads the code package to the profile's bucket, which a moto server stands in for through
AWS_ENDPOINT_URL, an AWS setting Metaflow does not copy into the template (which the test checks).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from pulumi.runtime import config as pulumi_config

from infra.config import known_environments, load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]
FOREACH_FLOW = REPO / "examples" / "flows" / "foreach_flow.py"
LOCAL = "local"
# What an endpoint of the local cloud looks like: the moto server's address, however spelt.
LOCAL_ENDPOINT = re.compile(r"(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]|\bmoto\b|host\.docker\.internal)", re.IGNORECASE)
KEY = "profile-endpoints-test-key-0123456789"


def kubernetes_stacks() -> list[str]:
    return sorted(s for s in known_environments(REPO) if s != LOCAL and load_from_files(REPO, s).settings.kubernetes.enabled)


def argo_support() -> ModuleType:
    """tests/e2e/argo_support.py (the WorkflowTemplate validators), loaded by path: test folders are not packages."""
    spec = importlib.util.spec_from_file_location("argo_support", REPO / "tests" / "e2e" / "argo_support.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=kubernetes_stacks())
def deployed(request) -> tuple[str, ProgramRun]:
    before = dict(pulumi_config.CONFIG.get())
    try:
        return request.param, run_program(REPO, request.param, PlainMocks())
    finally:
        pulumi_config.CONFIG.set(before)  # the run leaves the stack's config in Pulumi's runtime


def test_the_layer_is_on_in_staging_and_prod():
    assert {"staging", "prod"} <= set(kubernetes_stacks()), kubernetes_stacks()


def test_no_profile_value_is_a_local_cloud_endpoint(deployed):
    stack, run = deployed
    profiles = run.outputs["teamProfiles"]
    assert set(profiles) == {t.name for t in load_from_files(REPO, stack).teams}
    for team, profile in profiles.items():
        assert "METAFLOW_KUBERNETES_NAMESPACE" in profile, f"{stack}/{team}: no Kubernetes keys"
        local = {k: v for k, v in profile.items() if LOCAL_ENDPOINT.search(v)}
        assert not local, f"{stack}/{team}: {local}"
        assert "METAFLOW_S3_ENDPOINT_URL" not in profile, f"{stack}/{team}: S3 is AWS's own endpoint"
    assert not LOCAL_ENDPOINT.search(json.dumps(run.outputs)), f"{stack}: a stack output names the local cloud"


def test_the_pattern_catches_the_local_clouds_endpoints():
    for value in ("http://127.0.0.1:5000", "http://localhost:4566/api", "https://LOCALHOST", "http://moto:5000"):
        assert LOCAL_ENDPOINT.search(value), value
    assert not LOCAL_ENDPOINT.search("https://abc.execute-api.us-east-1.amazonaws.com")


def render(stack: str, team: str, profile: dict[str, str], endpoint: str, tmp: Path) -> tuple[dict[str, Any], str]:
    """``argo-workflows create --only-json`` of the foreach flow with ``profile`` installed as `strata configure` does
    (METAFLOW_HOME, METAFLOW_PROFILE, the key in the profile); S3 is moto through AWS_ENDPOINT_URL only."""
    support = argo_support()
    home = tmp / "mf"
    home.mkdir(parents=True, exist_ok=True)
    name = f"{stack}-{team}"
    (home / f"config_{name}.json").write_text(json.dumps({**profile, "METAFLOW_SERVICE_AUTH_KEY": KEY}))
    bucket = profile["METAFLOW_DATASTORE_SYSROOT_S3"].split("/")[2]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    env = {
        **support.clean_env(),
        "HOME": str(tmp),
        "METAFLOW_HOME": str(home),
        "METAFLOW_PROFILE": name,
        "METAFLOW_USER": "stack-test",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    doc, proc = support.only_json(FOREACH_FLOW, env, tmp / "work")
    return doc, proc.stdout + proc.stderr


def test_metaflow_renders_a_valid_template_without_a_local_endpoint(deployed, moto_endpoint, tmp_path):
    stack, run = deployed
    support = argo_support()
    for team, profile in sorted(run.outputs["teamProfiles"].items()):
        doc, output = render(stack, team, profile, moto_endpoint, tmp_path / team)
        where = f"{stack}/{team}"
        text = json.dumps(doc)
        assert not LOCAL_ENDPOINT.search(text), f"{where}: {LOCAL_ENDPOINT.findall(text)}"
        assert KEY not in text and KEY not in output, f"{where}: the API key is in the template"
        assert doc["metadata"]["namespace"] == profile["METAFLOW_KUBERNETES_NAMESPACE"], where
        stripped = support.strip_nulls(doc)
        assert support.hera_errors(stripped) == [], where
        if support.crd_path() is not None:
            assert support.crd_errors(stripped) == [], where
        steps = [t for t in support.pod_templates(doc).values() if support.environment(t).get("METAFLOW_STEP_NAME")]
        assert steps, where
        for step in steps:
            variables = support.environment(step)
            assert variables["METAFLOW_SERVICE_URL"] == profile["METAFLOW_SERVICE_INTERNAL_URL"], where
            assert variables["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"] == profile["METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL"], where
            assert "METAFLOW_S3_ENDPOINT_URL" not in variables, f"{where}: AWS_ENDPOINT_URL must not become one"
