"""The main job, end to end, as a user runs it: `strata local up`, then a data scientist's path, then `down`.

Slow by nature (a moto server, the whole program, a Metaflow run): one deployment for the module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from core import naming
from infra.config import load_from_files
from localcloud import walk
from strata.output import shown_path

REPO = Path(__file__).resolve().parents[2]
STRATA = [sys.executable, "-m", "strata.cli"]
pytestmark = pytest.mark.e2e


def strata(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    # No COLUMNS: the output must not be hard-wrapped when it is not a terminal.
    base = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([*STRATA, *args], cwd=REPO, env={**base, **(env or {})}, text=True, capture_output=True, timeout=600)
    if check:
        assert proc.returncode == 0, f"strata {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("local-cloud")
    up = strata("local", "up", "--team", "fraud", "--state-dir", str(state))
    server = json.loads((state / "server.json").read_text())
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (state / "env").read_text().splitlines()
        if line.startswith("export ")
    )
    yield {"state": state, "up": up, "server": server, "env": env}
    strata("local", "down", "--state-dir", str(state))


def client(local_cloud, service):
    return walk.client(local_cloud["env"], service)


def test_env_file_points_everything_at_the_local_cloud(local_cloud):
    env = local_cloud["env"]
    endpoint = local_cloud["server"]["endpoint"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert env["AWS_ENDPOINT_URL"] == endpoint == env["METAFLOW_S3_ENDPOINT_URL"]
    assert env["METAFLOW_HOME"] == str(local_cloud["state"])
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_every_team_profile_is_written_and_matches_ssm(local_cloud):
    ssm = client(local_cloud, "ssm")
    teams = [t.name for t in load_from_files(REPO, "local").teams]
    for team in teams:
        written = json.loads((local_cloud["state"] / f"config_local-{team}.json").read_text())
        stored = json.loads(ssm.get_parameter(Name=naming.profile_parameter("local", team))["Parameter"]["Value"])
        assert written == stored, team


def test_the_deployment_is_real_in_moto(local_cloud):
    profile = json.loads((local_cloud["state"] / "config_local-fraud.json").read_text())
    bucket = profile["METAFLOW_DATASTORE_SYSROOT_S3"].split("/")[2]
    s3 = client(local_cloud, "s3")
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    batch = client(local_cloud, "batch")
    queue = batch.describe_job_queues(jobQueues=[profile["METAFLOW_BATCH_JOB_QUEUE"]])["jobQueues"][0]
    assert queue["jobQueueName"] == naming.job_queue("local", "fraud", "cpu")
    ces = {ce["computeEnvironmentArn"]: ce for ce in batch.describe_compute_environments()["computeEnvironments"]}
    ec2 = [ce for ce in ces.values() if ce["computeResources"]["type"] in ("EC2", "SPOT")]
    # Every team has its own compute environments (on-demand, and Spot and GPU where it has them), none shared.
    for ce in ces.values():
        team = ce["tags"][naming.TEAM_TAG]
        assert ce["computeEnvironmentName"].startswith(f"strata-local-{team}-"), (ce["computeEnvironmentName"], team)
    assert {ce["computeEnvironmentName"] for ce in ec2} >= {
        naming.compute_environment("local", "fraud", kind) for kind in ("cpu-ondemand", "cpu-spot", "gpu")
    }
    assert all(ce["computeResources"]["minvCpus"] == 0 for ce in ec2)
    behind_queue = [ces[o["computeEnvironment"]] for o in queue["computeEnvironmentOrder"]]
    assert {ce["tags"][naming.TEAM_TAG] for ce in behind_queue} == {"fraud"}, "the team's queue feeds only its own capacity"
    role = profile["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"].split("/")[-1]
    assert client(local_cloud, "iam").get_role(RoleName=role)["Role"]["RoleName"] == naming.job_role("local", "fraud")


def test_the_sample_flow_ran_on_the_s3_datastore(local_cloud):
    out = local_cloud["up"].stdout
    assert "RegionForecastFlow/" in out and "artifacts" in out
    profile = json.loads((local_cloud["state"] / "config_local-fraud.json").read_text())
    root = profile["METAFLOW_DATASTORE_SYSROOT_S3"]
    bucket, prefix = root[5:].split("/", 1)
    keys = [
        o["Key"]
        for o in client(local_cloud, "s3").list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/RegionForecastFlow/")["Contents"]
    ]
    assert any("/data/" in k for k in keys), "no artifact blobs under the team's datastore root"
    assert all(k.startswith("teams/fraud/") for k in keys)
    assert f"s3://{bucket}/teams/fraud/metaflow/RegionForecastFlow/data/" in out, "artifact locations not printed"


def team_profile(local_cloud, team: str = "fraud") -> dict:
    return json.loads((local_cloud["state"] / f"config_local-{team}.json").read_text())


def test_the_sample_flow_ran_on_the_teams_batch_queue_as_local_processes(local_cloud):
    """`run --with batch`: one Batch job per task on fraud's queue, each run as a process, all SUCCEEDED."""
    batch = client(local_cloud, "batch")
    queue = team_profile(local_cloud)["METAFLOW_BATCH_JOB_QUEUE"]
    jobs = batch.list_jobs(jobQueue=queue, jobStatus="SUCCEEDED")["jobSummaryList"]
    failed = batch.list_jobs(jobQueue=queue, jobStatus="FAILED")["jobSummaryList"]
    assert not failed, [j["jobName"] for j in failed]
    interactive = [j for j in jobs if not j["jobName"].startswith("SFN-")]
    # start, three fit tasks (foreach over emea/apac/amer), join, end
    assert len(interactive) == 6, [j["jobName"] for j in interactive]
    assert all(j["container"]["exitCode"] == 0 for j in interactive), interactive
    described = batch.describe_jobs(jobs=[j["jobId"] for j in interactive])["jobs"]
    # METAFLOW_BATCH_DEFAULT_TAGS: every job carries its team (the team's role may stop only those)
    assert {d["jobName"]: d.get("tags", {}).get("team") for d in described} == {d["jobName"]: "fraud" for d in described}
    roles = {d["container"].get("jobRoleArn") for d in described}
    assert roles <= {None, team_profile(local_cloud)["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"]}, roles
    assert "each ran as a local process" in local_cloud["up"].stdout


def test_the_sample_flow_ran_on_step_functions_to_the_end(local_cloud):
    """`step-functions create` + `trigger`: the execution SUCCEEDED in moto and every step's tasks (Batch
    jobs of fraud's queue) finished, their outputs in fraud's datastore root."""
    out = local_cloud["up"].stdout
    profile = team_profile(local_cloud)
    sfn = client(local_cloud, "stepfunctions")
    name = f"{profile['METAFLOW_SFN_STATE_MACHINE_PREFIX']}_RegionForecastFlow"
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name]
    (execution,) = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert execution["status"] == "SUCCEEDED", execution
    assert "execution SUCCEEDED" in out and f"sfn-{execution['name']}" in out, out[-3000:]
    bucket, prefix = profile["METAFLOW_DATASTORE_SYSROOT_S3"][5:].split("/", 1)
    run = f"{prefix}/RegionForecastFlow/sfn-{execution['name']}/"
    keys = [o["Key"] for o in client(local_cloud, "s3").list_objects_v2(Bucket=bucket, Prefix=run)["Contents"]]
    ends = {k[len(run) :].split("/")[0] for k in keys if k.endswith("/0.task_end")}
    assert ends == {"start", "fit", "join", "end"}, ends
    fit_tasks = {k[len(run) :].split("/")[1] for k in keys if k.startswith(f"{run}fit/") and k.endswith("/0.task_end")}
    assert len(fit_tasks) == 3, fit_tasks
    batch = client(local_cloud, "batch")
    for job in batch.describe_jobs(jobs=sorted(fit_tasks))["jobs"]:
        assert job["status"] == "SUCCEEDED" and job["jobName"].startswith("SFN-RegionForecastFlow"), job["jobName"]
        assert job.get("tags", {}).get("team") == "fraud", (job["jobName"], job.get("tags"))


def test_configure_reads_the_profile_with_aws_credentials(local_cloud, tmp_path):
    # The kubeconfig under tmp_path too: a test never writes the machine's ~/.kube/config.
    kube = tmp_path / "kube" / "config"
    env = {**local_cloud["env"], "METAFLOW_HOME": str(tmp_path), "KUBECONFIG": str(kube)}
    strata("configure", "--env", "local", "--team", "forecasting", env=env)
    assert json.loads((tmp_path / "config_local-forecasting.json").read_text()) == json.loads(
        (local_cloud["state"] / "config_local-forecasting.json").read_text()
    )
    # The local stack has the Kubernetes layer: the team's context, its namespace, the cluster moto describes.
    config = yaml.safe_load(kube.read_text())
    (context,) = config["contexts"]
    assert context["name"] == "strata-local-forecasting" and context["context"]["namespace"] == "forecasting"
    (cluster,) = config["clusters"]
    described = client(local_cloud, "eks").describe_cluster(name=cluster["name"])["cluster"]
    assert cluster["cluster"]["server"] == described["endpoint"]
    assert cluster["cluster"]["certificate-authority-data"] == described["certificateAuthority"]["data"]
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "aws" and "get-token" in user["user"]["exec"]["args"]


def test_a_second_up_refuses_while_running(local_cloud):
    again = strata("local", "up", "--state-dir", str(local_cloud["state"]), check=False)
    assert again.returncode == 1
    assert "already running" in again.stderr and "Traceback" not in again.stderr


def test_up_says_what_it_could_not_emulate_and_that_kubernetes_was_not_applied(local_cloud):
    out = local_cloud["up"].stdout
    for typ in (
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    ):
        assert f"NOT EMULATED {typ}" in out, typ
    line = next((x for x in out.splitlines() if "Kubernetes objects and" in x), "")
    # The Kubernetes layer's 3 releases; with serving, Seldon's CRDs and setup, and a runtime per team namespace.
    platform = load_from_files(REPO, "local")
    k8s_teams = sum(1 for t in platform.teams if t.kubernetes is not None)
    releases = 3 + (2 + k8s_teams if platform.settings.serving.enabled else 0)
    pattern = rf"\d+ Kubernetes objects and {releases} Helm releases recorded and validated, not applied"
    assert re.search(pattern, line), out[-3000:]


def test_up_ends_with_each_phases_time(local_cloud):
    last = local_cloud["up"].stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"phases: start moto [\d.]+ s, deploy [\d.]+ s, (batch flow|step functions flow) [\d.]+ s, "
        r"(batch flow|step functions flow) [\d.]+ s; total [\d.]+ s",
        last,
    ), last


def test_up_prints_commands_that_run_as_printed_on_one_line(local_cloud):
    """Piped output is not folded at 80 columns, and the hints name this venv's python, not a bare `python`."""
    lines = local_cloud["up"].stdout.splitlines()
    python = shown_path(Path(sys.executable), REPO)
    wanted = f"METAFLOW_PROFILE=local-fraud {python} examples/flows/scheduled_flow.py step-functions create"
    assert any(line.strip() == wanted for line in lines), "\n".join(lines[-12:])
    assert not any(re.search(r"METAFLOW_PROFILE=\S+ python ", line) for line in lines), "a bare python"
    assert any(
        line.endswith("local status; stop it with: " + shown_path(Path(sys.executable).parent / "strata", REPO) + " local down")
        for line in lines
    )


def test_the_servers_log_is_in_the_state_directory(local_cloud):
    log = Path(local_cloud["server"]["log"])
    assert log == local_cloud["state"] / "moto.log"
    assert "batch job" in log.read_text(), "the jobs' starts and exits are in the server's log"
    assert not Path(tempfile.gettempdir(), f"moto-{local_cloud['server']['port']}.log").exists()


def test_status_reports_the_running_cloud(local_cloud):
    proc = strata("local", "status", "--state-dir", str(local_cloud["state"]))
    for text in (
        local_cloud["server"]["endpoint"],
        f"PID {local_cloud['server']['pid']}",
        "answering",
        "forecasting, fraud, research",
    ):
        assert text in proc.stdout, (text, proc.stdout)
    assert str(local_cloud["state"] / "env") in proc.stdout


def test_the_readme_flow_commands_run_in_a_shell_without_a_user(local_cloud):
    """README: `source .strata/local/env`, then `METAFLOW_PROFILE=local-<team> .venv/bin/python examples/flows/
    foreach_flow.py run --with batch` (and `step-functions create`), in a CI-like shell with no USER, LOGNAME or
    USERNAME. Team research, so that fraud's queue keeps exactly the jobs the tests above count."""
    shell = {k: v for k, v in os.environ.items() if k not in ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER", "LOGNAME")}
    shell = {k: v for k, v in shell.items() if not k.startswith(("AWS_", "METAFLOW_"))}
    python = shown_path(Path(sys.executable), REPO)
    flow = "examples/flows/foreach_flow.py"
    # The control: without the env file Metaflow really finds no user in this shell.
    bare = subprocess.run(
        ["bash", "-c", f"METAFLOW_PROFILE=local-research METAFLOW_HOME={local_cloud['state']} {python} {flow} show"],
        cwd=REPO,
        env=shell,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert bare.returncode != 0 and "Unknown user" in bare.stdout + bare.stderr, bare.stdout + bare.stderr
    commands = " && ".join(
        [
            f"source {local_cloud['state'] / 'env'}",
            f"METAFLOW_PROFILE=local-research {python} {flow} run --with batch",
            f"METAFLOW_PROFILE=local-research {python} {flow} step-functions create",
        ]
    )
    proc = subprocess.run(["bash", "-c", commands], cwd=REPO, env=shell, text=True, capture_output=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "Unknown user" not in proc.stdout + proc.stderr
    assert "Done!" in proc.stdout + proc.stderr


def test_down_stops_exactly_the_recorded_server(local_cloud):
    # Runs last in this module (pytest keeps file order); the fixture's own `down` then finds nothing.
    pid = local_cloud["server"]["pid"]
    state = local_cloud["state"]
    strata("local", "down", "--state-dir", str(state))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (state / "server.json").exists()
    assert not (state / "moto.log").exists() and not (state / "jobs").exists(), "down removes the log and the jobs' scratch"
    assert any((state / "pycache").rglob("*.pyc")), "the bytecode cache is kept for the next `up`"


def test_outputs_file_holds_no_secret_in_clear(local_cloud):
    outputs = json.loads((local_cloud["state"] / "outputs.json").read_text())
    keys = outputs["metadataApiKeys"]
    redacted = keys == "[secret]" or (isinstance(keys, dict) and keys and set(keys.values()) == {"[secret]"})
    assert redacted, f"team API keys must be redacted on disk, got {keys!r}"
    assert outputs["teamProfiles"], "plain outputs are still written"
