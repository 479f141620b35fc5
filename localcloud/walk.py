"""The data scientist's walk through the local cloud, after `strata local up` has deployed it: the sample
flow on the team's Batch queue (jobs run as local processes, localcloud/jobs.py), then the same flow
deployed to Step Functions and triggered (executions run in moto, localcloud/sfn.py).

Everything goes through the generated profile and the env file, exactly as a data scientist runs it;
what ran is then read back from moto (Batch jobs, the execution, the tasks' objects in the datastore).
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from strata.profiles import metaflow_user

# How long a Step Functions run of the sample flow may take here (it takes ~20 s on 2 cores).
EXECUTION_TIMEOUT_S = 300
# DescribeExecution polls: moto's interpreter itself checks a Batch job every 0.5 s.
EXECUTION_POLL_S = 0.5
# Who runs the walk when the shell names nobody (Metaflow refuses a missing user and "root").
FALLBACK_USER = "strata-local"
FLOW_NAME = "RegionForecastFlow"
_RUN_ID = re.compile(r"\(run-id (sfn-[0-9a-f-]+)\)")


class WalkError(Exception):
    """A step of the walk failed; the message carries the tail of its output."""


@dataclass(frozen=True)
class StepFunctionsRun:
    run_id: str
    execution_arn: str
    status: str
    seconds: float
    # step -> task ids (each a Batch job id), from the team's datastore
    tasks: dict[str, list[str]]


def client(env: Mapping[str, str], service: str) -> Any:
    """A boto3 client for the local cloud described by ``env`` (the env file's variables)."""
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def metaflow(flow: Path, args: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> str:
    """Run ``python <flow> <args>`` as the data scientist; return its output, or raise with its tail."""
    proc = subprocess.run(
        [sys.executable, str(flow), "--no-pylint", *args], cwd=cwd, env=dict(env), text=True, capture_output=True
    )
    out = proc.stdout + proc.stderr
    log.write_text(out)
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-25:])
        raise WalkError(f"`{flow.name} {' '.join(args)}` failed (full log: {log}):\n{tail}")
    return out


def run_id_from_trigger(output: str) -> str:
    """The run id Metaflow prints after ``step-functions trigger`` (``sfn-<execution name>``)."""
    match = _RUN_ID.search(output)
    if not match:
        raise WalkError(f"no run id in the trigger's output:\n{output[-2000:]}")
    return match.group(1)


def wait_for_execution(sfn: Any, machine_arn: str, execution_name: str, timeout: float = EXECUTION_TIMEOUT_S) -> dict:
    """Poll until the execution leaves RUNNING; returns DescribeExecution's answer."""
    arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(EXECUTION_POLL_S)


def datastore_tasks(s3: Any, sysroot: str, flow: str, run_id: str) -> dict[str, list[str]]:
    """step -> task ids that finished (``0.task_end`` written), read from the team's Metaflow root."""
    bucket, _, prefix = sysroot.removeprefix("s3://").partition("/")
    run_prefix = f"{prefix.rstrip('/')}/{flow}/{run_id}/"
    tasks: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=run_prefix):
        for obj in page.get("Contents", []):
            parts = obj["Key"][len(run_prefix) :].split("/")
            if len(parts) == 3 and parts[2] == "0.task_end" and not parts[0].startswith("_"):
                tasks.setdefault(parts[0], []).append(parts[1])
    return {step: sorted(ids) for step, ids in tasks.items()}


def batch_jobs(batch: Any, queue: str) -> list[dict]:
    """Every job of ``queue`` in moto (any status), oldest first."""
    summaries: dict[str, dict] = {}
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"):
        for job in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]:
            summaries[job["jobId"]] = job
    described = []
    ids = list(summaries)
    for i in range(0, len(ids), 100):
        described += batch.describe_jobs(jobs=ids[i : i + 100])["jobs"]
    for job in described:
        # moto reports the exit code in the job summary only (AWS: in both).
        exit_code = summaries[job["jobId"]].get("container", {}).get("exitCode")
        if exit_code is not None:
            job.setdefault("container", {})["exitCode"] = exit_code
    return sorted(described, key=lambda j: j.get("createdAt", 0))


def step_functions_run(flow: Path, cwd: Path, env: Mapping[str, str], profile: Mapping[str, str], logs: Path) -> StepFunctionsRun:
    """``step-functions create``, ``trigger``, wait; read back what ran."""
    metaflow(flow, ["step-functions", "create"], cwd, env, logs / "step-functions-create.log")
    started = time.monotonic()
    run_id = run_id_from_trigger(metaflow(flow, ["step-functions", "trigger"], cwd, env, logs / "step-functions-trigger.log"))
    sfn = client(env, "stepfunctions")
    machine = f"{profile['METAFLOW_SFN_STATE_MACHINE_PREFIX']}_{FLOW_NAME}"
    machine_arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == machine)
    described = wait_for_execution(sfn, machine_arn, run_id.removeprefix("sfn-"))
    tasks = datastore_tasks(client(env, "s3"), profile["METAFLOW_DATASTORE_SYSROOT_S3"], FLOW_NAME, run_id)
    return StepFunctionsRun(run_id, described["executionArn"], described["status"], time.monotonic() - started, tasks)


def local_user(environ: Mapping[str, str] = os.environ) -> str:
    """The user the local cloud's flows run as, in the order the env file picks it (session.write_env_file):
    the one Metaflow would pick, else the login name, else ``strata-local`` — never none and never root."""
    if user := metaflow_user(environ):
        return user
    login = environ.get("LOGNAME")
    if not login:
        try:  # what `id -un` prints
            login = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:  # no passwd entry for this uid (some containers)
            login = ""
    return login if login and login != "root" else FALLBACK_USER


def flow_env(base: Mapping[str, str], profile_name: str) -> dict[str, str]:
    return {**os.environ, **base, "METAFLOW_PROFILE": profile_name, "METAFLOW_USER": local_user(os.environ)}
