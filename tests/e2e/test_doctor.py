"""`strata doctor` against the local cloud, as a team's data scientist (the team's data-scientist role credentials).

One local stack for the module (`deployed_local_stack`). The data scientist's credentials come from assuming the team's
real `strata-local-<team>-ds` role while moto does not enforce IAM (moto's trust check compares principals by exact
ARN and refuses the account-root trust the local team files use: tests/e2e/test_tenant_isolation.py). The sessions
stay valid when enforcement is switched on, and then moto authorises S3 requests with the role's deployed policies.

* healthy: `strata configure` then `strata doctor`; every check passes or is skipped with its reason;
* a broken profile (a wrong queue, garbage JSON): the profile-matches / profile check fails with the configure fix;
* a wrong team (team B's role, team A's profile): caller-role fails, and with IAM enforced the datastore check is
  refused for B while it passes for A in the same conditions (tenancy, not moto refusing everything);
* a stopped local cloud (the endpoint a closed port): the first AWS check says to run `strata local up`, the others
  are skipped, exit 1, no traceback.

Rerun: ``.venv/bin/python -m pytest tests/e2e/test_doctor.py``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from attack_support import role_arn, set_auth
from local_stack import REGION, deployed_local_stack
from typer.testing import CliRunner

from core import naming
from strata.cli import app

pytestmark = pytest.mark.e2e
STACK = "local"
TEAM, OTHER = "fraud", "forecasting"
LINE = re.compile(r"^(PASS|FAIL|SKIP) ([a-z-]+): (.*)$")
# moto evaluates IAM only after this many more requests: effectively never (POST /moto-api/reset-auth).
NO_ENFORCEMENT = "1000000000"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with deployed_local_stack(tmp_path_factory, "doctor", [TEAM, OTHER]) as deployed:
        yield deployed


def ds_credentials(endpoint: str, team: str) -> dict[str, str]:
    root = boto3.client(
        "sts", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    role = role_arn(naming.data_scientist_role(STACK, team))
    c = root.assume_role(RoleArn=role, RoleSessionName=f"doctor-{team}")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
        "AWS_SESSION_TOKEN": c["SessionToken"],
    }


def shell(stack: dict[str, Any], home: Path, team: str | None) -> dict[str, str]:
    """A data scientist's shell: the local cloud's env file, team ``team``'s role credentials, a user name, a kubeconfig."""
    env = {**stack["env"], "METAFLOW_HOME": str(home), "KUBECONFIG": str(home / "kubeconfig"), "METAFLOW_USER": "ann"}
    if team:
        env.update(ds_credentials(stack["env"]["AWS_ENDPOINT_URL"], team))
    return env


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, dict[str, tuple[str, str]], str]:
    """``strata <args>`` in this process: exit code, ``{check: (status, rest)}`` and the output."""
    clean = {k: None for k in os.environ if k.startswith(("AWS_", "METAFLOW_"))}
    result = CliRunner().invoke(app, args, env={**clean, **env, "COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = {m.group(2): (m.group(1), m.group(3)) for m in map(LINE.match, result.output.splitlines()) if m}
    return result.exit_code, lines, result.output


def installed_profile(stack: dict[str, Any], home: Path, team: str = TEAM) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / f"config_{naming.profile_name(STACK, team)}.json"
    path.write_text(stack["paths"].profile(team).read_text())
    return path


def test_healthy_set_up_passes_every_check_that_can_run_here(stack, tmp_path):
    env = shell(stack, tmp_path, TEAM)
    code, _, output = invoke(["configure", "--env", STACK, "--team", TEAM], env)
    assert code == 0, output
    code, lines, output = invoke(["doctor", "--env", STACK, "--team", TEAM], env)
    assert code == 0, output
    must_pass = (
        "profile",
        "metaflow-user",
        "aws-config",
        "caller-role",
        "profile-matches",
        "datastore",
        "job-queues",
        "pass-roles",
        "step-functions",
        "kube-context",
    )
    assert {name: lines[name][0] for name in must_pass} == dict.fromkeys(must_pass, "PASS"), output
    # What the local cloud cannot do is skipped with its reason, never passed.
    assert lines["metadata"] == ("SKIP", lines["metadata"][1]) and "local metadata" in lines["metadata"][1], output
    assert lines["kube-api"][0] == "SKIP" and "no Kubernetes API server" in lines["kube-api"][1], output
    assert lines["warehouse"][0] == "SKIP" and "never runs SQL" in lines["warehouse"][1], output
    assert not [name for name, (status, _) in lines.items() if status == "FAIL"], output
    assert f"strata-{STACK}-{TEAM}-ds" in lines["caller-role"][1]
    assert naming.job_queue(STACK, TEAM, "cpu") in lines["job-queues"][1]
    # The job role, the Step Functions role and the EventBridge role: evaluated from the deployed policies (moto has
    # no policy simulator), and it says so.
    roles = lines["pass-roles"][1]
    for role in (naming.job_role(STACK, TEAM), naming.step_functions_role(STACK, TEAM), naming.eventbridge_role(STACK, TEAM)):
        assert role in roles, roles
    assert "no IAM policy simulator" in roles and "evaluated here" in roles, roles
    # The probe object is gone.
    bucket = stack["outputs"]["datastoreBucket"]
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=REGION)
    left = s3.list_objects_v2(Bucket=bucket, Prefix=naming.team_prefix(TEAM)).get("Contents", [])
    assert not [o["Key"] for o in left if ".strata-doctor/" in o["Key"]]


def test_a_profile_edited_by_hand_fails_with_the_configure_fix(stack, tmp_path):
    path = installed_profile(stack, tmp_path)
    profile = json.loads(path.read_text())
    profile["METAFLOW_BATCH_JOB_QUEUE"] = "strata-local-fraud-nope"
    path.write_text(json.dumps(profile))
    code, lines, output = invoke(["doctor", "--profile", f"{STACK}-{TEAM}"], shell(stack, tmp_path, TEAM))
    assert code == 1, output
    status, rest = lines["profile-matches"]
    assert status == "FAIL" and "METAFLOW_BATCH_JOB_QUEUE" in rest, output
    assert f"strata configure --env {STACK} --team {TEAM} --force" in rest, output
    assert lines["job-queues"][0] == "FAIL" and "strata-local-fraud-nope does not exist" in lines["job-queues"][1], output
    assert lines["caller-role"][0] == "PASS" and lines["datastore"][0] == "PASS", output


def test_a_garbage_profile_fails_and_skips_what_needs_it(stack, tmp_path):
    installed_profile(stack, tmp_path).write_text("{not json")
    code, lines, output = invoke(["doctor", "--env", STACK, "--team", TEAM], shell(stack, tmp_path, TEAM))
    assert code == 1, output
    status, rest = lines["profile"]
    assert status == "FAIL" and "cannot read" in rest and f"strata configure --env {STACK} --team {TEAM}" in rest, output
    for name in ("caller-role", "profile-matches", "datastore", "job-queues", "pass-roles", "warehouse"):
        assert lines[name] == ("SKIP", lines[name][1]) and "profile failed" in lines[name][1], (name, output)
    assert "Traceback" not in output


def test_another_teams_credentials_are_not_the_team_and_cannot_reach_its_prefix(stack, tmp_path):
    installed_profile(stack, tmp_path)
    endpoint = stack["env"]["AWS_ENDPOINT_URL"]
    mine, theirs = shell(stack, tmp_path, TEAM), shell(stack, tmp_path, OTHER)
    assert set_auth(endpoint, "0")["status"] == "ok"  # from now on moto checks IAM on every request
    try:
        own_code, own, own_output = invoke(["doctor", "--env", STACK, "--team", TEAM], mine)
        code, lines, output = invoke(["doctor", "--env", STACK, "--team", TEAM], theirs)
    finally:
        assert set_auth(endpoint, NO_ENFORCEMENT)["status"] == "ok"
    # The control: the team's own role writes its prefix under enforcement.
    assert own["caller-role"][0] == "PASS" and own["datastore"][0] == "PASS", own_output
    assert code == 1, output
    status, rest = lines["caller-role"]
    assert status == "FAIL" and f"strata-{STACK}-{OTHER}-ds" in rest and f"not the {TEAM} team's" in rest, output
    assert f"role/strata-{STACK}-{TEAM}-ds" in rest.partition("fix:")[2], output
    status, rest = lines["datastore"]
    assert status == "FAIL" and "access denied" in rest and naming.team_prefix(TEAM) in rest, output


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_stopped_local_cloud_says_to_start_it(stack, tmp_path):
    installed_profile(stack, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "METAFLOW_"))}
    env.update(shell(stack, tmp_path, None))
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "strata.cli", "doctor", "--env", STACK, "--team", TEAM],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a measurement
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = {m.group(2): (m.group(1), m.group(3)) for m in map(LINE.match, proc.stdout.splitlines()) if m}
    status, rest = lines["caller-role"]
    assert status == "FAIL" and env["AWS_ENDPOINT_URL"] in rest and "`strata local up`" in rest, proc.stdout
    # One refused connection, then every other AWS check is skipped instead of waiting on its own.
    for name in ("profile-matches", "datastore", "job-queues", "pass-roles", "step-functions", "warehouse"):
        assert lines[name] == ("SKIP", "AWS unreachable (see caller-role)"), (name, proc.stdout)
    assert lines["profile"][0] == "PASS" and lines["aws-config"][0] == "PASS", proc.stdout
