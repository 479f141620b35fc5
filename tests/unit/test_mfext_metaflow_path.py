"""Metaflow's own Batch launcher (``Batch.create_job`` then ``BatchJob.execute``, what ``batch step`` runs for
``run --with batch`` and what ``step-functions create`` calls) with the Strata extension, and no AWS:
a botocore ``before-call`` handler answers every call and records what would have been sent.

Each case runs in a subprocess because Metaflow reads its configuration (the profile keys) at import.
The control case runs without a Strata team and shows what the assertions catch: Metaflow's own name, no
tags, no log group, and the API key in the job's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "secret123-not-a-real-key"
TEAM = {
    "METAFLOW_STRATA_TEAM": "fraud",
    "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": "strata-dev-fraud_",
    "METAFLOW_STRATA_JOB_LOG_GROUP": "/strata/dev/batch/fraud",
    "METAFLOW_STRATA_API_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf",
    "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "strata",
}

# Runs Metaflow's launcher; prints the calls it made as JSON on the last line of stdout.
DRIVER = r"""
import json, sys
from botocore.awsrequest import AWSResponse

import metaflow.plugins  # Metaflow (and the extension) first: the provider module imports Metaflow
from metaflow.metaflow_environment import MetaflowEnvironment
from metaflow.plugins.aws.batch.batch import Batch
from metaflow_extensions.strata.plugins import aws_client

options = json.loads(sys.argv[1])
if options.get("no_rebind"):
    # Prove the public botocore hooks alone keep the key out: switch off the best-effort rebinding of
    # batch.py's SERVICE_HEADERS.
    aws_client._unkeyed_forwarded_headers = lambda: None

OK = AWSResponse("https://batch.local", 200, {}, None)
calls = []


def answer(model, params, **_):
    body = json.loads(params.get("body") or b"{}")
    calls.append({"operation": model.name, "params": body})
    if model.name == "DescribeJobQueues":
        return OK, {"jobQueues": [{"computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}]}]}
    if model.name == "DescribeComputeEnvironments":
        return OK, {"computeEnvironments": [{"computeResources": {"type": "EC2"}}]}
    if model.name == "DescribeJobDefinitions":
        return OK, {"jobDefinitions": options.get("existing", [])}
    if model.name == "RegisterJobDefinition":
        name = body["jobDefinitionName"]
        return OK, {"jobDefinitionName": name, "jobDefinitionArn": "arn:aws:batch:us-east-1:1:job-definition/%s:1" % name, "revision": 1}
    if model.name == "SubmitJob":
        return OK, {"jobId": "j-1", "jobName": body["jobName"]}
    if model.name == "DescribeJobs":
        return OK, {"jobs": [{"jobId": "j-1", "status": "SUBMITTED"}]}
    raise AssertionError("unexpected call " + model.name)


batch = Batch(None, MetaflowEnvironment(None))
batch._client._client.meta.events.register("before-call.batch", answer)
attrs = {"metaflow.user": "alice", "metaflow.flow_name": "F", "metaflow.run_id": "1", "metaflow.step_name": "start",
         "metaflow.task_id": "2", "metaflow.retry_count": 0}
job = batch.create_job(
    step_name="start", step_cli="python flow.py step start",
    task_spec={"flow_name": "F", "step_name": "start", "run_id": "1", "task_id": "2", "retry_count": 0},
    code_package_metadata="{}", code_package_sha="abc", code_package_url="s3://b/k", code_package_ds="s3",
    image="python:3.11", queue="q", iam_role="arn:aws:iam::123456789012:role/job", run_time_limit=3600,
    cpu=1, gpu=0, memory=4096, inferentia=0, efa=0, attrs=attrs,
    aws_batch_tags=options.get("aws_batch_tags"), privileged=options.get("privileged", False),
    host_volumes=options.get("host_volumes"),
)
job.execute()
print(json.dumps(calls))
"""


def launch(tmp_path: Path, env: dict[str, str], **options: object) -> subprocess.CompletedProcess[str]:
    """Run the driver with a clean environment: no profile, no real credentials, no network."""
    (tmp_path / "driver.py").write_text(DRIVER)
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "METAFLOW_HOME": str(tmp_path / "mf"),
        "METAFLOW_USER": "alice",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "METAFLOW_SERVICE_AUTH_KEY": SECRET,
        "METAFLOW_SERVICE_HEADERS": json.dumps({"x-tenant": "fraud"}),
        "METAFLOW_BATCH_EMIT_TAGS": "true",
    }
    return subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), json.dumps(options)],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def calls(result: subprocess.CompletedProcess[str]) -> dict[str, list[dict]]:
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, list[dict]] = {}
    for call in json.loads(result.stdout.strip().splitlines()[-1]):
        out.setdefault(call["operation"], []).append(call["params"])
    return out


def environment(submit: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in submit["containerOverrides"]["environment"]}


def test_run_with_batch_registers_a_team_definition_and_submits_without_the_key(tmp_path):
    made = calls(launch(tmp_path, TEAM))
    [lookup], [register], [submit] = made["DescribeJobDefinitions"], made["RegisterJobDefinition"], made["SubmitJob"]
    name = register["jobDefinitionName"]
    assert name.startswith("strata-dev-fraud_") and len(name) == len("strata-dev-fraud_") + 56, name
    assert lookup["jobDefinitionName"] == name, "Metaflow's reuse lookup asks for the name it will register"
    assert register["tags"] == {"team": "fraud"}
    assert register["containerProperties"]["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/strata/dev/batch/fraud", "awslogs-region": "us-east-1"},
    }
    assert submit["jobDefinition"].endswith(f"job-definition/{name}:1") and submit["tags"]["team"] == "fraud"
    variables = environment(submit)
    assert json.loads(variables["METAFLOW_SERVICE_HEADERS"]) == {"x-tenant": "fraud"}, "other headers still travel"
    assert {k: variables.get(k) for k in TEAM} == TEAM, "the job learns its team and where its key is"
    assert SECRET not in json.dumps(made), "the API key is in no call at all"


def test_the_hooks_alone_keep_the_key_out(tmp_path):
    """With the rebinding of batch.py's SERVICE_HEADERS switched off, Metaflow builds the job with the key in
    it: the SubmitJob hook is what removes it."""
    made = calls(launch(tmp_path, TEAM, no_rebind=True))
    [submit] = made["SubmitJob"]
    assert json.loads(environment(submit)["METAFLOW_SERVICE_HEADERS"]) == {"x-tenant": "fraud"}
    assert SECRET not in json.dumps(made)


def test_without_a_strata_team_metaflow_is_unchanged(tmp_path):
    """Control: Metaflow's boto3 provider. Everything the other tests assert is absent here."""
    made = calls(launch(tmp_path, {}))
    [register], [submit] = made["RegisterJobDefinition"], made["SubmitJob"]
    assert register["jobDefinitionName"].startswith("metaflow_") and "tags" not in register
    assert "logConfiguration" not in register["containerProperties"]
    assert "team" not in submit["tags"] and "METAFLOW_STRATA_TEAM" not in environment(submit)
    assert json.loads(environment(submit)["METAFLOW_SERVICE_HEADERS"])["x-api-key"] == SECRET, "Metaflow forwards the key"
    made = calls(launch(tmp_path, {"METAFLOW_STRATA_TEAM": "fraud", "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "boto3"}))
    assert made["RegisterJobDefinition"][0]["jobDefinitionName"].startswith("metaflow_"), "the profile key selects the provider"


def test_another_teams_definition_of_the_same_name_is_not_reused(tmp_path):
    theirs = {
        "jobDefinitionName": "x",
        "jobDefinitionArn": "arn:aws:batch:us-east-1:1:job-definition/x:7",
        "tags": {"team": "risk"},
    }
    made = calls(launch(tmp_path, TEAM, existing=[theirs]))
    assert len(made["RegisterJobDefinition"]) == 1, "the other team's hit was dropped, so Metaflow registers its own"
    assert not made["SubmitJob"][0]["jobDefinition"].endswith("/x:7")
    ours = {**theirs, "tags": {"team": "fraud"}}
    made = calls(launch(tmp_path, TEAM, existing=[ours]))
    assert "RegisterJobDefinition" not in made and made["SubmitJob"][0]["jobDefinition"].endswith("/x:7"), (
        "the team's own is reused"
    )


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"aws_batch_tags": {"team": "risk"}}, "is tagged team='risk', but this profile is team 'fraud'"),
        ({"privileged": True}, "@batch(privileged=True)"),
        ({"host_volumes": ["/var/run/docker.sock"]}, "@batch(host_volumes=...)"),
    ],
)
def test_refusals_stop_the_launch_with_a_clear_message(tmp_path, options, says):
    result = launch(tmp_path, TEAM, **options)
    assert result.returncode != 0
    assert "StrataPolicyRefusal" in result.stderr and says in result.stderr, result.stderr[-2000:]
    assert '"SubmitJob"' not in result.stdout


def test_a_team_profile_missing_its_prefix_is_a_clear_error(tmp_path):
    partial = {k: v for k, v in TEAM.items() if k != "METAFLOW_STRATA_JOB_DEFINITION_PREFIX"}
    result = launch(tmp_path, partial)
    assert result.returncode != 0
    assert "METAFLOW_STRATA_JOB_DEFINITION_PREFIX is not set" in result.stderr and "strata configure" in result.stderr
