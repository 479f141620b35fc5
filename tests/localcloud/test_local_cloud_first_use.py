"""The local cloud as a first-time user meets it (issue 9): `strata warehouse query` fails at once on moto's Data
API, the server's log and the jobs' scratch space live in the state directory (and `down` removes them),
`strata local status` tells a running cloud from a dead or silent one, jobs share a bytecode cache."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from test_local_execution import REGION, job_log, queue, submit  # noqa: F401  (queue is a fixture)

from localcloud import session
from localcloud.server import free_port, start_moto

REPO = Path(__file__).resolve().parents[2]


def strata(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-m", "strata.cli", *args],
        cwd=REPO,
        env={**base, **(env or {})},
        text=True,
        capture_output=True,
        timeout=120,
    )


# ---------------------------------------------------------------- strata warehouse query on moto


def test_warehouse_query_on_the_local_cloud_fails_at_once(moto_server, tmp_path):
    profile = {
        "STRATA_WAREHOUSE_MODE": "provisioned",
        "STRATA_WAREHOUSE_REGION": "us-east-1",
        "STRATA_WAREHOUSE_DATABASE": "analytics",
        "STRATA_WAREHOUSE_CLUSTER": "strata-local",
        "STRATA_WAREHOUSE_DB_USER": "fraud",
    }
    (tmp_path / "config_local-fraud.json").write_text(json.dumps(profile))
    env = {
        "METAFLOW_HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": moto_server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # Without the check this waits for the 300 s default timeout: the subprocess timeout (120 s) would fail it.
    proc = strata("warehouse", "query", "select 1", "--env", "local", "--team", "fraud", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the local cloud cannot run SQL" in proc.stderr and "never finishes" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    statement_id = re.search(r"statement ([0-9a-f-]{36})", proc.stderr).group(1)
    data = boto3.client(
        "redshift-data",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert data.describe_statement(Id=statement_id)["Status"] == "ABORTED", "the statement was cancelled in moto"


# ---------------------------------------------------------------- the server's log and jobs directory


def test_a_server_started_without_a_log_path_leaves_nothing_behind():
    server = start_moto()
    log_dir = Path(server.log_path).parent
    assert log_dir.is_dir() and Path(server.job_dir).parent == log_dir
    server.stop()
    assert not log_dir.exists(), "the temporary log directory outlived the server"


def test_a_given_log_path_belongs_to_the_caller(tmp_path):
    server = start_moto(log_path=str(tmp_path / "moto.log"), job_dir=str(tmp_path / "jobs"))
    server.stop()
    assert (tmp_path / "moto.log").exists(), "the caller's log is the caller's to remove"


def test_jobs_run_in_a_slot_directory_with_a_shared_bytecode_cache(cloud, queue):  # noqa: F811
    batch, logs = cloud("batch", REGION), cloud("logs", REGION)
    job = submit(batch, queue, ["bash", "-c", 'echo "cwd=$PWD cache=$PYTHONPYCACHEPREFIX"'])
    assert job["status"] == "SUCCEEDED", job.get("statusReason")
    out = job_log(logs, job)
    cwd = re.search(r"cwd=(\S+)", out).group(1)
    cache = re.search(r"cache=(\S+)", out).group(1)
    assert re.fullmatch(r"slot-\d+", Path(cwd).name), out
    assert cache and not Path(cache).is_relative_to(cwd), "the cache outlives the job's directory"


def test_a_server_started_by_hand_removes_its_temporary_jobs_directory_on_sigterm(tmp_path):
    """`python -m localcloud.motoserver` as scripts/test.sh starts it: no STRATA_LOCAL_JOB_DIR, so a temporary one."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LOCAL_JOB_DIR"} | {"MOTO_PORT": str(port)}
    log = tmp_path / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "localcloud.motoserver", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"run as local processes under (\S+)", log.read_text())) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert match, log.read_text()
        jobs_dir = Path(match.group(1))
        assert jobs_dir.is_dir()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert not jobs_dir.exists(), "the temporary jobs directory outlived the server"


# ---------------------------------------------------------------- status and down


@pytest.fixture
def recorded(tmp_path):
    """A state directory whose record names a live process of ours (a stand-in for a server) and that holds
    a server log, job scratch directories and a bytecode cache."""
    # Not our child (bash exits at once): once killed it is reaped by init, not left a zombie that looks alive.
    pid = int(subprocess.run(["bash", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], text=True, capture_output=True).stdout)
    paths = session.paths_for(REPO, tmp_path)
    paths.jobs.mkdir(parents=True)
    (paths.jobs / "failed-123").mkdir()
    paths.pycache.mkdir()
    (paths.pycache / "x.pyc").write_text("")
    paths.log.write_text("moto says hi\n")

    def record(endpoint: str) -> None:
        paths.server.write_text(
            json.dumps(
                {
                    "pid": pid,
                    "endpoint": endpoint,
                    "started": 0,
                    "stack": "local",
                    "teams": ["fraud", "research"],
                    "env_file": str(paths.env_file),
                    "log": str(paths.log),
                }
            )
        )

    yield paths, record
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_status_of_a_running_and_answering_cloud(recorded, moto_server):
    paths, record = recorded
    record(moto_server.endpoint)
    proc = strata("local", "status", "--state-dir", str(paths.root))
    assert proc.returncode == 0, proc.stderr
    for text in (moto_server.endpoint, "answering", "teams: fraud, research", str(paths.env_file), str(paths.log)):
        assert text in proc.stdout, (text, proc.stdout)


def test_status_of_a_server_that_does_not_answer(recorded):
    paths, record = recorded
    record("http://127.0.0.1:9")  # the discard port: nothing answers
    proc = strata("local", "status", "--state-dir", str(paths.root))
    assert proc.returncode == 1
    assert "NOT answering" in proc.stdout and "local down" in proc.stderr


def test_status_with_nothing_running(tmp_path):
    proc = strata("local", "status", "--state-dir", str(tmp_path))
    assert proc.returncode == 1
    assert "no local cloud is running" in proc.stderr and "local up" in proc.stderr


def test_down_removes_the_log_and_the_jobs_scratch_but_keeps_the_cache(recorded):
    paths, record = recorded
    record("http://127.0.0.1:9")
    proc = strata("local", "down", "--state-dir", str(paths.root))
    assert proc.returncode == 0, proc.stderr
    assert not paths.log.exists() and not paths.jobs.exists(), "the server's log and jobs' directories are gone"
    assert (paths.pycache / "x.pyc").exists(), "the bytecode cache is kept for the next `up`"
    assert not paths.server.exists()


def test_down_keep_logs(recorded):
    paths, record = recorded
    record("http://127.0.0.1:9")
    proc = strata("local", "down", "--keep-logs", "--state-dir", str(paths.root))
    assert proc.returncode == 0, proc.stderr
    assert paths.log.exists() and (paths.jobs / "failed-123").is_dir()
    assert "kept the server log" in proc.stdout
