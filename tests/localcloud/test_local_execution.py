"""Batch jobs as local processes and Step Functions executions in the local cloud's moto server
(localcloud/motoserver.py installs localcloud/jobs.py and localcloud/sfn.py), driven with boto3 as AWS
would be: job environment, exit codes, logs, the dead metadata proxy, and the four interpreter fixes."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

PASS_ROLE = "arn:aws:iam::123456789012:role/sfn"
# Its own region of the shared test server: Batch creates /aws/batch/job per region when a job runs, and
# the observability tests declare that group in us-east-1.
REGION = "eu-west-1"


def wait_job(batch, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def job_log(logs, job: dict) -> str:
    stream = job["container"]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
    return "\n".join(e["message"] for e in events)


@pytest.fixture(scope="module")
def queue(cloud) -> dict:
    """A Fargate compute environment, a queue and a job definition (names unique to this module)."""
    batch, iam = cloud("batch", REGION), cloud("iam", REGION)
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_role(
        RoleName=f"exec-{suffix}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    ec2 = cloud("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"jobs-{suffix}", Description="jobs", VpcId=vpc)["GroupId"]
    ce = batch.create_compute_environment(
        computeEnvironmentName=f"ce-{suffix}",
        type="MANAGED",
        state="ENABLED",
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [sg]},
        serviceRole=role,  # moto requires one; the platform's environments use the service-linked role
    )["computeEnvironmentArn"]
    q = batch.create_job_queue(
        jobQueueName=f"q-{suffix}", state="ENABLED", priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}]
    )["jobQueueArn"]
    jd = batch.register_job_definition(
        jobDefinitionName=f"jd-{suffix}",
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "python:3.11",
            "command": ["bash", "-c", "echo Ref::word"],
            "executionRoleArn": role,
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
            "environment": [{"name": "FROM_DEFINITION", "value": "yes"}],
        },
        parameters={"word": "default-word"},
    )["jobDefinitionArn"]
    return {"queue": q, "definition": jd}


def submit(batch, queue: dict, command: list[str] | None = None, environment: dict | None = None, **kwargs) -> dict:
    overrides = {}
    if command is not None:
        overrides["command"] = command
    if environment:
        overrides["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    job = batch.submit_job(
        jobName="t", jobQueue=queue["queue"], jobDefinition=queue["definition"], containerOverrides=overrides, **kwargs
    )
    return wait_job(batch, job["jobId"])


def test_a_job_runs_its_command_with_its_environment_and_parameters(cloud, queue, moto_server):
    batch, logs = cloud("batch", REGION), cloud("logs", REGION)
    job = submit(
        batch,
        queue,
        ["bash", "-c", 'echo "word=Ref::word def=$FROM_DEFINITION over=$FROM_OVERRIDE endpoint=$AWS_ENDPOINT_URL"'],
        {"FROM_OVERRIDE": "also"},
        parameters={"word": "hello"},
    )
    assert job["status"] == "SUCCEEDED", job.get("statusReason")
    out = job_log(logs, job)
    assert f"word=hello def=yes over=also endpoint={moto_server.endpoint}" in out, out


def test_a_failing_command_fails_the_job_with_its_exit_code(cloud, queue):
    batch = cloud("batch", REGION)
    job = submit(batch, queue, ["bash", "-c", "echo about to fail >&2; exit 3"])
    assert job["status"] == "FAILED", job
    assert job["statusReason"] == "Essential container in task exited", job
    (summary,) = [
        j for j in batch.list_jobs(jobQueue=queue["queue"], jobStatus="FAILED")["jobSummaryList"] if j["jobId"] == job["jobId"]
    ]
    assert summary["container"]["exitCode"] == 3, summary
    assert "about to fail" in job_log(cloud("logs", REGION), job)


def test_instance_metadata_probe_hits_the_dead_proxy_and_nothing_leaves(cloud, queue):
    probe = (
        "import urllib.request\n"
        "try:\n"
        "    urllib.request.urlopen('http://169.254.169.254/latest/meta-data/instance-id', timeout=5)\n"
        "    print('REACHED')\n"
        "except Exception as e:\n"
        "    print('BLOCKED', type(e).__name__)\n"
    )
    started = time.monotonic()
    job = submit(cloud("batch", REGION), queue, ["python", "-c", probe])
    out = job_log(cloud("logs", REGION), job)
    assert job["status"] == "SUCCEEDED", out
    assert "BLOCKED" in out and "REACHED" not in out, out
    assert time.monotonic() - started < 30, "the probe waited for a timeout instead of failing at the proxy"


def test_the_job_gets_fake_credentials_only(cloud, queue):
    job = submit(cloud("batch", REGION), queue, ["bash", "-c", 'echo "key=$AWS_ACCESS_KEY_ID token=${AWS_SESSION_TOKEN:-none}"'])
    assert "key=testing token=none" in job_log(cloud("logs", REGION), job)


# ---------------------------------------------------------------- Step Functions


def machine(sfn, definition: dict, name: str | None = None) -> str:
    return sfn.create_state_machine(
        name=name or f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=PASS_ROLE
    )["stateMachineArn"]


def wait_execution(sfn, arn: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            return d
        time.sleep(0.3)


def test_execution_without_a_name_gets_a_uuid(cloud):
    sfn = cloud("stepfunctions", REGION)
    arn = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)
    name = execution["executionArn"].rsplit(":", 1)[-1]
    assert name != "None" and uuid.UUID(name), execution["executionArn"]
    assert wait_execution(sfn, execution["executionArn"])["status"] == "SUCCEEDED"


def test_multi_key_output_path_selects_an_object(cloud):
    sfn = cloud("stepfunctions", REGION)
    arn = machine(
        sfn,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.['JobId', 'Parameters']", "End": True}}},
    )
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"JobId": "j", "Parameters": {"a": 1}, "Other": 2}))
    done = wait_execution(sfn, execution["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"JobId": "j", "Parameters": {"a": 1}}


def test_recreating_a_machine_with_another_definition_is_refused_like_aws(cloud):
    sfn = cloud("stepfunctions", REGION)
    name = f"m-{uuid.uuid4().hex[:8]}"
    first = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    arn = machine(sfn, first, name)
    assert machine(sfn, first, name) == arn, "the same definition again is idempotent"
    with pytest.raises(ClientError) as err:
        machine(sfn, {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}}, name)
    assert err.value.response["Error"]["Code"] == "StateMachineAlreadyExists"
    assert f"'{arn}'" in err.value.response["Error"]["Message"], "Metaflow reads the ARN from the message"


def test_batch_submit_job_sync_with_aws_cased_parameters_runs_the_job(cloud, queue):
    sfn = cloud("stepfunctions", REGION)
    definition = {
        "StartAt": "Job",
        "States": {
            "Job": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {
                    "JobName": "from-sfn",
                    "JobQueue": queue["queue"],
                    "JobDefinition": queue["definition"],
                    "Parameters": {"word": "from-step-functions"},
                    "ContainerOverrides": {"Environment": [{"Name": "X", "Value": "1"}]},
                },
                "OutputPath": "$.['JobId', 'Parameters']",
                "End": True,
            }
        },
    }
    arn = machine(sfn, definition)
    done = wait_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert set(output) == {"JobId", "Parameters"}, output
    job = cloud("batch", REGION).describe_jobs(jobs=[output["JobId"]])["jobs"][0]
    assert job["jobName"] == "from-sfn" and job["status"] == "SUCCEEDED", job
    assert "from-step-functions" in job_log(cloud("logs", REGION), job)
