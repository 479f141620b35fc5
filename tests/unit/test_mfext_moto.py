"""The Strata Metaflow extension against moto: job definitions it registers, ``step-functions create`` as a
data scientist runs it, and a Batch job reading its API key from Secrets Manager.

Uses the shared server (``STRATA_TEST_MOTO_ENDPOINT``, which scripts/test.sh starts) or starts its own.
Names carry a random suffix: the shared server is not reset between tests.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from moto_user import user_env

SECRET = "secret123-not-a-real-key"
REGION = "us-east-1"
ACCOUNT = "123456789012"
TEAM = {
    "METAFLOW_STRATA_TEAM": "fraud",
    "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": "strata-dev-fraud_",
    "METAFLOW_STRATA_JOB_LOG_GROUP": "/strata/dev/batch/fraud",
    "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "strata",
}

FLOW = """
from metaflow import FlowSpec, step


class {name}(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    {name}()
"""

# `step-functions create` with the private rebinding of batch.py's SERVICE_HEADERS switched off, so that the
# state machine hook alone has to keep the key out; it says whether the key was still there to remove.
CREATE_WITHOUT_REBIND = r"""
import runpy, sys
import metaflow.plugins
from metaflow_extensions.strata.plugins import aws_client

aws_client._unkeyed_forwarded_headers = lambda: None
sys.argv = [sys.argv[1], "--no-pylint", "step-functions", "create"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    from metaflow.plugins.aws.batch import batch
    print("KEY-STILL-IN-LAUNCHER" if "x-api-key" in batch.SERVICE_HEADERS else "KEY-GONE-FROM-LAUNCHER")
"""


@pytest.fixture(scope="module")
def platform(moto_client: Any) -> dict[str, str]:
    """A bucket and a Fargate queue, as the platform would provide them to the team."""
    suffix = uuid.uuid4().hex[:8]
    bucket = f"h1-mfext-{suffix}"
    moto_client("s3").create_bucket(Bucket=bucket)
    ec2 = moto_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"mfext-{suffix}", Description="mfext", VpcId=vpc)["GroupId"]
    role = moto_client("iam").create_role(RoleName=f"mfext-batch-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch = moto_client("batch")
    ce = batch.create_compute_environment(
        computeEnvironmentName=f"mfext-{suffix}",
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [sg]},
    )["computeEnvironmentArn"]
    queue = f"strata-dev-fraud-cpu-{suffix}"
    batch.create_job_queue(
        jobQueueName=queue, state="ENABLED", priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}]
    )
    return {"bucket": bucket, "queue": queue, "suffix": suffix}


def run(tmp_path: Path, endpoint: str, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env={**user_env(tmp_path, endpoint), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def deployer_env(platform: dict[str, str]) -> dict[str, str]:
    """A service-metadata team profile, with the key in it as `strata configure` writes it."""
    return {
        **TEAM,
        "METAFLOW_STRATA_API_KEY_SECRET": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:strata/dev/teams/fraud/metadata-api-key-x",
        "METAFLOW_SERVICE_AUTH_KEY": SECRET,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{platform['bucket']}/metaflow",
        "METAFLOW_BATCH_JOB_QUEUE": platform["queue"],
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-job",
        "METAFLOW_ECS_FARGATE_EXECUTION_ROLE": f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-exec",
        "METAFLOW_SFN_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-sfn",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-events",
    }


def write_flow(tmp_path: Path) -> tuple[Path, str]:
    name = f"MfextFlow{uuid.uuid4().hex[:8]}"
    path = tmp_path / "flow.py"
    path.write_text(FLOW.format(name=name))
    return path, name


def definition_by_arn(aws: Any, arn: str) -> dict[str, Any]:
    [found] = aws("batch").describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
    return found


def assert_team_definition(found: dict[str, Any]) -> None:
    assert found["jobDefinitionName"].startswith("strata-dev-fraud_"), found["jobDefinitionName"]
    assert found["tags"] == {"team": "fraud"}, found.get("tags")
    logs = found["containerProperties"]["logConfiguration"]
    assert logs["logDriver"] == "awslogs" and logs["options"]["awslogs-group"] == "/strata/dev/batch/fraud", logs


def batch_states(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in doc["States"].values() if s.get("Resource", "").endswith("batch:submitJob.sync")]


def test_the_providers_batch_client_registers_a_team_definition_in_moto(tmp_path, moto_endpoint, moto_client):
    script = (
        "import json, uuid\n"
        "from metaflow.plugins.aws.aws_client import get_aws_client\n"
        "props = {'image': 'python:3.11', 'jobRoleArn': 'arn:aws:iam::123456789012:role/j', 'command': ['echo'],\n"
        "         'resourceRequirements': [{'type': 'VCPU', 'value': '1'}, {'type': 'MEMORY', 'value': '512'}]}\n"
        "name = 'metaflow_' + uuid.uuid4().hex[:24] * 2 + uuid.uuid4().hex[:8]\n"
        "batch = get_aws_client('batch')\n"
        "arn = batch.register_job_definition(jobDefinitionName=name, type='container', containerProperties=props)['jobDefinitionArn']\n"
        "again = batch.describe_job_definitions(jobDefinitionName=name, status='ACTIVE')['jobDefinitions']\n"
        "print(json.dumps({'arn': arn, 'again': [d['jobDefinitionArn'] for d in again]}))\n"
    )
    result = run(tmp_path, moto_endpoint, TEAM, ["-c", script])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["again"] == [out["arn"]], "Metaflow's lookup by its own name finds what it registered"
    assert_team_definition(definition_by_arn(moto_client, out["arn"]))


def test_step_functions_only_json_prints_no_key_and_registers_a_team_definition(tmp_path, moto_endpoint, moto_client, platform):
    flow, _ = write_flow(tmp_path)
    result = run(
        tmp_path, moto_endpoint, deployer_env(platform), [str(flow), "--no-pylint", "step-functions", "create", "--only-json"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert SECRET not in result.stdout + result.stderr, "--only-json prints the definition: the key must not be in it"
    doc = json.loads(result.stdout[result.stdout.index("{") :])
    [arn] = {s["Parameters"]["JobDefinition"] for s in batch_states(doc)}
    assert_team_definition(definition_by_arn(moto_client, arn))


def test_step_functions_create_deploys_a_key_free_team_state_machine(tmp_path, moto_endpoint, moto_client, platform):
    flow, name = write_flow(tmp_path)
    (tmp_path / "create.py").write_text(CREATE_WITHOUT_REBIND)
    result = run(tmp_path, moto_endpoint, deployer_env(platform), [str(tmp_path / "create.py"), str(flow)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "KEY-STILL-IN-LAUNCHER" in result.stdout, "the launcher still held the key: the state machine hook removed it"
    sfn = moto_client("stepfunctions")
    [machine] = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name]
    described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert SECRET not in described["definition"]
    assert {"key": "team", "value": "fraud"} in sfn.list_tags_for_resource(resourceArn=machine["stateMachineArn"])["tags"]
    states = batch_states(json.loads(described["definition"]))
    assert len(states) == 2, "start and end run on Batch"
    for state in states:
        variables = {e["Name"]: e.get("Value") for e in state["Parameters"]["ContainerOverrides"]["Environment"]}
        assert state["Parameters"]["Tags"]["team"] == "fraud"
        assert variables["METAFLOW_STRATA_TEAM"] == "fraud" and variables["METAFLOW_STRATA_API_KEY_SECRET"].startswith("arn:")
        assert "x-api-key" not in json.loads(variables["METAFLOW_SERVICE_HEADERS"])
        assert_team_definition(definition_by_arn(moto_client, state["Parameters"]["JobDefinition"]))
    # The job side of the extension travels in the code package the state machine's jobs download.
    url = variables["METAFLOW_CODE_URL"]
    bucket, key = url.removeprefix("s3://").split("/", 1)
    package = moto_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    files = set(tarfile.open(fileobj=io.BytesIO(package)).getnames())
    for part in ("config/mfextinit_strata.py", "config/job_api_key.py", "plugins/mfextinit_strata.py", "plugins/hooks.py"):
        assert f".mf_code/metaflow_extensions/strata/{part}" in files, f"{part} is not in the code package"


# ---------------------------------------------------------------- job side

READ_HEADERS = (
    "import json, os\n"
    "from metaflow.metaflow_config import SERVICE_HEADERS\n"
    "from metaflow.plugins.metadata_providers import service\n"
    "print(json.dumps({'headers': SERVICE_HEADERS, 'service': service.SERVICE_HEADERS.get('x-api-key'),\n"
    "                  'in_environ': any('KEY-FROM-SM' in v for v in os.environ.values())}))\n"
)


def job_env(secret: str) -> dict[str, str]:
    """What a Batch job of the team sees: its team settings, headers without the key, the secret's ARN."""
    return {
        **TEAM,
        "AWS_BATCH_JOB_ID": "j-1",
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_SERVICE_URL": "http://127.0.0.1:9/api",
        "METAFLOW_SERVICE_HEADERS": json.dumps({"x-tenant": "fraud"}),
        "METAFLOW_STRATA_API_KEY_SECRET": secret,
    }


def test_a_batch_job_reads_its_key_from_secrets_manager(tmp_path, moto_endpoint, moto_client):
    value = f"KEY-FROM-SM-{uuid.uuid4().hex}"
    arn = moto_client("secretsmanager").create_secret(
        Name=f"strata/dev/teams/fraud-{uuid.uuid4().hex[:6]}/metadata-api-key", SecretString=value
    )["ARN"]
    result = run(tmp_path, moto_endpoint, job_env(arn), ["-c", READ_HEADERS])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["headers"] == {"x-tenant": "fraud", "x-api-key": value}
    assert out["service"] == value, "the metadata service client sends it"
    assert out["in_environ"] is False, "the key is kept in memory, not in the process environment"
    outside = run(
        tmp_path, moto_endpoint, {k: v for k, v in job_env(arn).items() if k != "AWS_BATCH_JOB_ID"}, ["-c", READ_HEADERS]
    )
    assert json.loads(outside.stdout.strip().splitlines()[-1])["headers"] == {"x-tenant": "fraud"}, "only inside a Batch job"


def test_a_missing_secret_is_a_clear_error_naming_the_secret_and_the_role(tmp_path, moto_endpoint):
    arn = (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:strata/dev/teams/nobody-{uuid.uuid4().hex[:6]}/metadata-api-key-AbCdEf"
    )
    result = run(tmp_path, moto_endpoint, job_env(arn), ["-c", READ_HEADERS])
    assert result.returncode != 0
    assert "JobApiKeyError" in result.stderr and arn in result.stderr, result.stderr[-2000:]
    assert "ResourceNotFoundException" in result.stderr and "secretsmanager:GetSecretValue" in result.stderr
    assert f"arn:aws:sts::{ACCOUNT}:" in result.stderr or "arn:aws:iam::" in result.stderr, "the role is named"
