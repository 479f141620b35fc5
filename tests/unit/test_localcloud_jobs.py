"""Pure parts of the local cloud's job runner (localcloud/jobs.py), Step Functions fixes (localcloud/sfn.py)
and walk (localcloud/walk.py), without a moto server."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from jsonpath_ng.ext import parse

from localcloud import jobs, sfn, walk

ENDPOINT = "http://127.0.0.1:5999"


def env(**job_env: str) -> dict[str, str]:
    return jobs.job_environment(
        job_env,
        endpoint=ENDPOINT,
        region="us-east-1",
        dead_proxy="http://127.0.0.1:9",
        python_bin="/venv/bin",
        home="/tmp/job",
        job_id="j-1",
        queue="q",
    )


def test_command_gets_the_jobs_parameters():
    assert jobs.job_command(["bash", "-c", "echo Ref::greeting Ref::name"], {"greeting": "hi", "name": "ann"}) == [
        "bash",
        "-c",
        "echo hi ann",
    ]
    assert jobs.job_command("true", {}) == ["true"]
    with pytest.raises(ValueError, match="no command"):
        jobs.job_command([], {})


def test_environment_keeps_the_jobs_variables_but_not_its_way_out():
    e = env(
        METAFLOW_CODE_URL="s3://b/k",
        AWS_ENDPOINT_URL="https://batch.amazonaws.com",
        AWS_ACCESS_KEY_ID="AKIAREAL",
        AWS_SESSION_TOKEN="tok",
        METAFLOW_S3_ENDPOINT_URL="https://s3.amazonaws.com",
    )
    assert e["METAFLOW_CODE_URL"] == "s3://b/k", "the job's own variables are kept"
    assert e["AWS_ENDPOINT_URL"] == e["METAFLOW_S3_ENDPOINT_URL"] == ENDPOINT, "every SDK call goes to moto"
    assert e["AWS_ACCESS_KEY_ID"] == "testing" and "AWS_SESSION_TOKEN" not in e, "no real credentials"
    assert e["HTTP_PROXY"] == e["HTTPS_PROXY"] == "http://127.0.0.1:9", "everything else to the dead proxy"
    assert "127.0.0.1" in e["NO_PROXY"].split(","), "moto itself is reachable"
    assert e["AWS_EC2_METADATA_DISABLED"] == "true"
    assert e["METAFLOW_SKIP_INSTALL_DEPENDENCIES"] == "1", "no pip in a job"
    assert e["PATH"].split(":")[0] == "/venv/bin", "the job's python is this venv's"
    assert e["AWS_BATCH_JOB_ID"] == "j-1" and e["AWS_EXECUTION_ENV"] == "AWS_ECS_EC2"


def test_the_callers_environment_is_not_inherited(monkeypatch):
    monkeypatch.setenv("STRATA_SENTINEL_SECRET", "leak")
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    e = env()
    assert "STRATA_SENTINEL_SECRET" not in e and "AWS_PROFILE" not in e, sorted(e)


def test_dead_proxy_makes_instance_metadata_probes_fail_at_once():
    proxy = jobs.DeadProxy()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        opener.open("http://169.254.169.254/latest/meta-data/instance-id", timeout=5)
    assert proxy.refused >= 1, "the probe did not reach the dead proxy"


def test_multi_key_json_path_selects_an_object():
    data = {"JobId": "j", "Parameters": {"a": 1}, "Index": 2, "Other": 3}
    expr = parse("$.['JobId', 'Parameters', 'Index']")
    assert sfn.select_fields(expr, expr.find(data)) == {"JobId": "j", "Parameters": {"a": 1}, "Index": 2}
    single = parse("$.JobId")
    assert sfn.select_fields(single, single.find(data)) is None, "single paths keep moto's reading"


def test_run_id_is_read_from_the_trigger_output():
    out = "Workflow strata-local-x_Flow triggered on AWS Step Functions (run-id sfn-0b2c1d3e-aaaa-bbbb-cccc-1234567890ab)."
    assert walk.run_id_from_trigger(out) == "sfn-0b2c1d3e-aaaa-bbbb-cccc-1234567890ab"
    with pytest.raises(walk.WalkError, match="no run id"):
        walk.run_id_from_trigger("Workflow triggered (run-id sfn-None).")


class FakeS3:
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def get_paginator(self, _name):
        keys = self.keys

        class Pages:
            def paginate(self, Bucket, Prefix):
                yield {"Contents": [{"Key": k} for k in keys if k.startswith(Prefix)]}

        return Pages()


def test_datastore_tasks_lists_finished_tasks_per_step():
    root = "teams/fraud/metaflow/F/sfn-1/"
    s3 = FakeS3(
        [
            f"{root}start/a/0.task_end",
            f"{root}fit/b/0.task_end",
            f"{root}fit/c/0.task_end",
            f"{root}fit/d/0.data.json",  # not finished
            f"{root}_parameters/p/0.task_end",  # Metaflow's internal step
            "teams/fraud/metaflow/F/sfn-2/start/z/0.task_end",  # another run
        ]
    )
    assert walk.datastore_tasks(s3, "s3://bucket/teams/fraud/metaflow", "F", "sfn-1") == {"start": ["a"], "fit": ["b", "c"]}


def test_parallel_jobs_are_bounded():
    assert jobs.max_parallel_jobs({"STRATA_LOCAL_BATCH_MAX_PARALLEL": "3"}) == 3
    assert jobs.max_parallel_jobs({}) >= 2
    with pytest.raises(ValueError, match=">= 1"):
        jobs.max_parallel_jobs({"STRATA_LOCAL_BATCH_MAX_PARALLEL": "0"})


def test_job_output_goes_to_the_log_group_its_definition_names():
    # AWS Batch writes to the definition's awslogs group; moto always uses /aws/batch/job.
    team = {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/strata/local/batch/fraud"}}}
    assert jobs.log_group_of(team) == "/strata/local/batch/fraud"
    assert jobs.log_group_of({"logConfiguration": {"logDriver": "awslogs", "options": {}}}) == "/aws/batch/job"
    assert jobs.log_group_of({}) == jobs.log_group_of(None) == "/aws/batch/job"
    assert (
        jobs.log_group_of({"logConfiguration": {"logDriver": "json-file", "options": {"awslogs-group": "/x"}}})
        == "/aws/batch/job"
    )
