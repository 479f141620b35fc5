"""The Strata Metaflow extension's rules, on plain dicts (sdk/metaflow_extensions/strata/plugins/hooks.py),
its job-side key lookup (config/job_api_key.py), and Metaflow's EC2 metadata probes with IMDS refused.

Metaflow's real code paths are driven in test_mfext_metaflow_path.py; moto in test_mfext_moto.py.
"""

from __future__ import annotations

import ast
import copy
import json
import socket
import sys
from pathlib import Path

import pytest
from metaflow_extensions.strata.config import job_api_key
from metaflow_extensions.strata.plugins import hooks

POLICY = hooks.TeamPolicy(
    team="fraud",
    job_definition_prefix="strata-dev-fraud_",
    log_group="/strata/dev/batch/fraud",
    api_key_secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf",
)
REGION = "eu-west-1"
METAFLOW_NAME = "metaflow_" + "0" * 56
KEY = "k3y-" + "s" * 40


def container(**extra):
    return {"image": "python:3.11", "jobRoleArn": "arn:aws:iam::123456789012:role/job", "command": ["echo"], **extra}


def definition(**extra):
    return {"jobDefinitionName": METAFLOW_NAME, "type": "container", "containerProperties": container(), **extra}


def multinode():
    ranges = [{"targetNodes": "0:0", "container": container()}, {"targetNodes": "1:3", "container": container()}]
    return {
        "jobDefinitionName": METAFLOW_NAME,
        "type": "multinode",
        "nodeProperties": {"numNodes": 4, "nodeRangeProperties": ranges},
    }


def env(entries, pascal=False):
    n, v = ("Name", "Value") if pascal else ("name", "value")
    return {e[n]: e.get(v) for e in entries}


# ---------------------------------------------------------------- names


def test_the_name_is_deterministic_under_the_team_prefix_and_a_valid_batch_name():
    name = hooks.job_definition_name(METAFLOW_NAME, POLICY, REGION)
    assert name == hooks.job_definition_name(METAFLOW_NAME, POLICY, REGION), "the reuse lookup needs the same name twice"
    assert name.startswith("strata-dev-fraud_") and name != POLICY.job_definition_prefix + METAFLOW_NAME[9:]
    assert hooks.BATCH_NAME.match(name) and len(name) <= 128, name
    assert hooks.job_definition_name("metaflow_" + "1" * 56, POLICY, REGION) != name, "different definitions, different names"


def test_a_change_in_what_the_hook_adds_changes_the_name():
    """A definition registered under another log group, region or team is never reused."""
    name = hooks.job_definition_name(METAFLOW_NAME, POLICY, REGION)
    other_group = hooks.TeamPolicy("fraud", "strata-dev-fraud_", "/strata/dev/batch/other")
    other_team = hooks.TeamPolicy("risk", "strata-dev-fraud_", POLICY.log_group)
    assert hooks.job_definition_name(METAFLOW_NAME, other_group, REGION) != name
    assert hooks.job_definition_name(METAFLOW_NAME, other_team, REGION) != name
    assert hooks.job_definition_name(METAFLOW_NAME, POLICY, "us-east-1") != name


def test_describe_and_register_use_the_same_name_and_an_owned_name_is_kept():
    described = hooks.describe_job_definitions({"jobDefinitionName": METAFLOW_NAME, "status": "ACTIVE"}, POLICY, REGION)
    registered = hooks.register_job_definition(definition(), POLICY, REGION)
    assert described["jobDefinitionName"] == registered["jobDefinitionName"]
    assert hooks.job_definition_name(registered["jobDefinitionName"], POLICY, REGION) == registered["jobDefinitionName"]
    by_arn = {"jobDefinitions": ["arn:aws:batch:eu-west-1:1:job-definition/x:1"]}
    assert hooks.describe_job_definitions(copy.deepcopy(by_arn), POLICY, REGION) == by_arn, "lookups by ARN are left alone"


def test_a_prefix_that_cannot_name_a_definition_is_reported():
    assert POLICY.problems() == []
    bad = hooks.TeamPolicy("fraud", "strata dev/fraud", POLICY.log_group)
    assert any("METAFLOW_STRATA_JOB_DEFINITION_PREFIX" in p for p in bad.problems())
    with pytest.raises(hooks.PolicyViolation, match="METAFLOW_STRATA_JOB_DEFINITION_PREFIX"):
        hooks.job_definition_name(METAFLOW_NAME, bad, REGION)
    unset = hooks.TeamPolicy("fraud", "", POLICY.log_group)
    with pytest.raises(hooks.PolicyViolation, match="METAFLOW_STRATA_JOB_DEFINITION_PREFIX is not set"):
        hooks.job_definition_name(METAFLOW_NAME, unset, REGION)
    assert hooks.TeamPolicy("fraud", "p_" * 40, "").problems() == [
        f"METAFLOW_STRATA_JOB_DEFINITION_PREFIX={'p_' * 40!r} cannot start a job definition name (letters, digits, '-' and "
        "'_', at most 72 characters)",
        "METAFLOW_STRATA_JOB_LOG_GROUP is not set",
    ]


# ---------------------------------------------------------------- register: tags, logs, refusals


def test_register_tags_the_team_and_keeps_other_tags():
    params = hooks.register_job_definition(definition(tags={"cost-centre": "42"}), POLICY, REGION)
    assert params["tags"] == {"cost-centre": "42", "team": "fraud"}
    assert hooks.register_job_definition(definition(), POLICY, REGION)["tags"] == {"team": "fraud"}
    with pytest.raises(hooks.PolicyViolation, match="tagged team='risk', but this profile is team 'fraud'"):
        hooks.register_job_definition(definition(tags={"team": "risk"}), POLICY, REGION)


def test_register_forces_the_team_log_group_on_a_single_container():
    asked = container(logConfiguration={"logDriver": "splunk", "options": {"splunk-url": "https://x"}})
    params = hooks.register_job_definition(definition(containerProperties=asked), POLICY, REGION)
    assert params["containerProperties"]["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/strata/dev/batch/fraud", "awslogs-region": REGION},
    }


def test_register_forces_the_team_log_group_on_every_node_of_a_multinode_definition():
    params = hooks.register_job_definition(multinode(), POLICY, REGION)
    configs = [r["container"]["logConfiguration"] for r in params["nodeProperties"]["nodeRangeProperties"]]
    assert len(configs) == 2 and all(c["options"]["awslogs-group"] == "/strata/dev/batch/fraud" for c in configs), configs
    assert "containerProperties" not in params
    assert params["jobDefinitionName"].startswith("strata-dev-fraud_") and params["tags"] == {"team": "fraud"}


@pytest.mark.parametrize("shape", ["container", "multinode"])
def test_privileged_is_refused_naming_the_flow_option(shape):
    params = definition(containerProperties=container(privileged=True)) if shape == "container" else multinode()
    if shape == "multinode":
        params["nodeProperties"]["nodeRangeProperties"][1]["container"]["privileged"] = True
    with pytest.raises(hooks.PolicyViolation, match=r"@batch\(privileged=True\)") as refused:
        hooks.register_job_definition(params, POLICY, REGION)
    assert "batch:Privileged" in str(refused.value)
    unprivileged = definition(containerProperties=container(privileged=False))
    assert hooks.register_job_definition(unprivileged, POLICY, REGION)["containerProperties"]["privileged"] is False


def test_host_volumes_are_refused_but_efs_and_docker_volumes_are_not():
    host = [{"name": "root", "host": {"sourcePath": "/"}}, {"name": "sock", "host": {"sourcePath": "/var/run/docker.sock"}}]
    with pytest.raises(hooks.PolicyViolation, match=r"host_volumes") as refused:
        hooks.register_job_definition(definition(containerProperties=container(volumes=host)), POLICY, REGION)
    assert "/, /var/run/docker.sock" in str(refused.value) and "efs_volumes" in str(refused.value)
    fine = [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}, {"name": "scratch", "host": {}}]
    params = hooks.register_job_definition(definition(containerProperties=container(volumes=fine)), POLICY, REGION)
    assert params["containerProperties"]["volumes"] == fine


def test_other_teams_definitions_are_dropped_from_lookups():
    hits = [
        {"jobDefinitionArn": "a", "tags": {"team": "risk"}},
        {"jobDefinitionArn": "b"},
        {"jobDefinitionArn": "c", "tags": {"team": "fraud"}},
    ]
    assert hooks.own_job_definitions({"jobDefinitions": hits}, "fraud")["jobDefinitions"] == [hits[2]]
    assert hooks.own_job_definitions({"Error": {"Code": "x"}}, "fraud") == {"Error": {"Code": "x"}}


# ---------------------------------------------------------------- SubmitJob


def submit_params(headers, **extra):
    environment = [
        {"name": "METAFLOW_CODE_URL", "value": "s3://b/k"},
        {"name": "METAFLOW_SERVICE_HEADERS", "value": json.dumps(headers)},
        {"name": "METAFLOW_SERVICE_AUTH_KEY", "value": KEY},
    ]
    return {"jobName": "j", "jobQueue": "q", "jobDefinition": "d", "containerOverrides": {"environment": environment}, **extra}


def test_submit_strips_the_api_key_keeps_other_headers_and_says_the_team():
    params = hooks.submit_job(submit_params({"X-Api-Key": KEY, "x-tenant": "fraud"}), POLICY)
    variables = env(params["containerOverrides"]["environment"])
    assert json.loads(variables["METAFLOW_SERVICE_HEADERS"]) == {"x-tenant": "fraud"}, "header names are case-insensitive"
    assert "METAFLOW_SERVICE_AUTH_KEY" not in variables and KEY not in json.dumps(params)
    assert variables["METAFLOW_CODE_URL"] == "s3://b/k"
    assert {k: variables[k] for k in POLICY.job_environment()} == {
        "METAFLOW_STRATA_TEAM": "fraud",
        "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": "strata-dev-fraud_",
        "METAFLOW_STRATA_JOB_LOG_GROUP": "/strata/dev/batch/fraud",
        "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "strata",
        "METAFLOW_STRATA_API_KEY_SECRET": POLICY.api_key_secret,
    }
    assert params["tags"] == {"team": "fraud"}


def test_submit_without_a_secret_sends_no_secret_variable_and_each_variable_once():
    policy = hooks.TeamPolicy("fraud", "strata-dev-fraud_", "/strata/dev/batch/fraud")
    params = submit_params({})
    params["containerOverrides"]["environment"].append({"name": "METAFLOW_STRATA_TEAM", "value": "risk"})
    names = [e["name"] for e in hooks.submit_job(params, policy)["containerOverrides"]["environment"]]
    assert "METAFLOW_STRATA_API_KEY_SECRET" not in names
    assert (
        names.count("METAFLOW_STRATA_TEAM") == 1
        and env(params["containerOverrides"]["environment"])["METAFLOW_STRATA_TEAM"] == "fraud"
    )


def test_unreadable_headers_are_dropped_rather_than_sent():
    params = submit_params({})
    params["containerOverrides"]["environment"][1]["value"] = "x-api-key: " + KEY
    assert "METAFLOW_SERVICE_HEADERS" not in env(hooks.submit_job(params, POLICY)["containerOverrides"]["environment"])


def test_submit_scrubs_every_node_of_a_multinode_job():
    overrides = submit_params({"x-api-key": KEY})["containerOverrides"]
    params = {
        "jobName": "j",
        "nodeOverrides": {
            "nodePropertyOverrides": [
                {"targetNodes": "0:0", "containerOverrides": copy.deepcopy(overrides)},
                {"targetNodes": "1:1", "containerOverrides": copy.deepcopy(overrides)},
            ]
        },
    }
    hooks.submit_job(params, POLICY)
    assert KEY not in json.dumps(params) and "containerOverrides" not in params
    for node in params["nodeOverrides"]["nodePropertyOverrides"]:
        assert env(node["containerOverrides"]["environment"])["METAFLOW_STRATA_TEAM"] == "fraud"


def test_a_conflicting_team_tag_on_a_job_is_refused_not_overwritten():
    tags = {"app": "metaflow", "team": "risk"}
    with pytest.raises(hooks.PolicyViolation, match=r"aws_batch_tags") as refused:
        hooks.submit_job(submit_params({}, tags=dict(tags)), POLICY)
    assert "'risk'" in str(refused.value) and "'fraud'" in str(refused.value)
    kept = hooks.submit_job(submit_params({}, tags={"app": "metaflow", "team": "fraud"}), POLICY)["tags"]
    assert kept == {"app": "metaflow", "team": "fraud"}


def test_the_canary_refuses_a_key_hidden_elsewhere_without_printing_it():
    params = hooks.submit_job(submit_params({}), POLICY)
    params["containerOverrides"]["environment"].append({"name": "MY_TOKEN", "value": KEY})
    with pytest.raises(hooks.PolicyViolation, match="SubmitJob would carry your metadata API key") as refused:
        hooks.refuse_leaks("SubmitJob", params, [None, KEY])
    assert KEY not in str(refused.value)
    hooks.refuse_leaks("SubmitJob", hooks.submit_job(submit_params({"x-api-key": KEY}), POLICY), [KEY])


# ---------------------------------------------------------------- Step Functions


def batch_state(headers, next_state=None):
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobDefinition": "arn:aws:batch:eu-west-1:1:job-definition/strata-dev-fraud_x:1",
            "ContainerOverrides": {
                "Environment": [
                    {"Name": "METAFLOW_SERVICE_HEADERS", "Value": json.dumps(headers)},
                    {"Name": "METAFLOW_RUN_ID", "Value.$": "$.Parameters.run_id"},
                ]
            },
        },
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def machine_definition():
    foreach = {"StartAt": "body", "States": {"body": batch_state({"x-api-key": KEY, "x-other": "1"})}}
    branch = {"StartAt": "b", "States": {"b": batch_state({"x-api-key": KEY})}}
    return {
        "StartAt": "start",
        "States": {
            "start": batch_state({"x-api-key": KEY}, "split"),
            "split": {"Type": "Parallel", "Branches": [branch], "Next": "map"},
            "map": {"Type": "Map", "Iterator": foreach, "Next": "done"},
            "done": {"Type": "Pass", "End": True},
        },
    }


def test_every_batch_task_of_a_state_machine_is_scrubbed_and_tagged():
    doc = json.loads(hooks.state_machine_definition(json.dumps(machine_definition()), POLICY))
    assert KEY not in json.dumps(doc)
    tasks = [
        doc["States"]["start"],
        doc["States"]["split"]["Branches"][0]["States"]["b"],
        doc["States"]["map"]["Iterator"]["States"]["body"],
    ]
    for task in tasks:
        variables = env(task["Parameters"]["ContainerOverrides"]["Environment"], pascal=True)
        assert (
            variables["METAFLOW_STRATA_TEAM"] == "fraud" and variables["METAFLOW_STRATA_API_KEY_SECRET"] == POLICY.api_key_secret
        )
        assert task["Parameters"]["Tags"] == {"team": "fraud"}
        run_id = [e for e in task["Parameters"]["ContainerOverrides"]["Environment"] if e["Name"] == "METAFLOW_RUN_ID"]
        assert run_id == [{"Name": "METAFLOW_RUN_ID", "Value.$": "$.Parameters.run_id"}], "JSONPath values are kept"
    foreach_headers = env(tasks[2]["Parameters"]["ContainerOverrides"]["Environment"], pascal=True)["METAFLOW_SERVICE_HEADERS"]
    assert json.loads(foreach_headers) == {"x-other": "1"}
    assert doc["States"]["done"] == {"Type": "Pass", "End": True}, "other states are untouched"


def test_create_tags_the_state_machine_and_update_sends_no_tags():
    created = hooks.state_machine(
        {"name": "m", "definition": json.dumps(machine_definition()), "roleArn": "r", "tags": [{"key": "x", "value": "y"}]},
        POLICY,
    )
    assert created["tags"] == [{"key": "x", "value": "y"}, {"key": "team", "value": "fraud"}]
    assert KEY not in json.dumps(created)
    updated = hooks.state_machine({"stateMachineArn": "arn", "definition": json.dumps(machine_definition())}, POLICY)
    assert "tags" not in updated and KEY not in json.dumps(updated)
    with pytest.raises(hooks.PolicyViolation, match="this state machine is tagged team='risk'"):
        hooks.state_machine({"name": "m", "definition": "{}", "tags": [{"key": "team", "value": "risk"}]}, POLICY)


def test_a_batch_task_with_a_conflicting_team_tag_is_refused():
    doc = machine_definition()
    doc["States"]["start"]["Parameters"]["Tags"] = {"team": "risk"}
    with pytest.raises(hooks.PolicyViolation, match="step's Batch job is tagged team='risk'"):
        hooks.state_machine_definition(json.dumps(doc), POLICY)


# ---------------------------------------------------------------- job side (pure)


IN_JOB = {"AWS_BATCH_JOB_ID": "j-1"}


def test_a_job_fetches_its_key_only_in_a_batch_job_with_a_secret_and_no_key():
    asked: list[str] = []

    def fetcher(secret: str) -> str:
        asked.append(secret)
        return KEY

    headers = {"x-other": "1"}
    assert job_api_key.add_job_api_key(headers, POLICY.api_key_secret, IN_JOB, fetcher) is headers, "changed in place"
    assert headers == {"x-other": "1", "x-api-key": KEY} and asked == [POLICY.api_key_secret]
    assert job_api_key.add_job_api_key({}, POLICY.api_key_secret, {}, fetcher) == {}, "not in a job: the laptop has its key"
    assert job_api_key.add_job_api_key({}, None, IN_JOB, fetcher) == {}, "no metadata service: no secret"
    assert job_api_key.add_job_api_key({"X-API-KEY": "mine"}, POLICY.api_key_secret, IN_JOB, fetcher) == {"X-API-KEY": "mine"}
    assert len(asked) == 1


def test_the_secret_region_comes_from_its_arn():
    assert job_api_key.secret_region(POLICY.api_key_secret or "") == "us-east-1"
    assert job_api_key.secret_region("strata/dev/teams/fraud/metadata-api-key") is None


# ---------------------------------------------------------------- IMDS refused


@pytest.fixture
def imds_refused(monkeypatch):
    """Connections to 169.254.169.254 are refused by the kernel, as the launch template's iptables REJECT
    makes them: each is redirected to a loopback port nothing listens on. Returns the addresses asked for."""
    import urllib3.util.connection as connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    real = connection.create_connection
    asked: list[tuple[str, int]] = []

    def refused(address, *args, **kwargs):
        asked.append(address)
        if address[0] == "169.254.169.254":
            address = ("127.0.0.1", closed)
        return real(address, *args, **kwargs)

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(connection, "create_connection", refused)
    return asked


def test_metaflows_instance_metadata_probe_degrades_when_imds_refuses(imds_refused):
    from metaflow.plugins.aws.aws_utils import get_ec2_instance_metadata

    assert get_ec2_instance_metadata() == {}, "no metadata, no exception"
    assert imds_refused.count(("169.254.169.254", 80)) == 2, f"the token PUT and the document GET were both tried: {imds_refused}"


def test_the_spot_monitor_sees_no_spot_instance_when_imds_refuses(imds_refused):
    from metaflow.plugins.kubernetes.spot_monitor_sidecar import SpotTerminationMonitorSidecar

    monitor = SpotTerminationMonitorSidecar()
    assert monitor._process is None, "not a Spot instance as far as it can tell: no monitor process"
    assert ("169.254.169.254", 80) in imds_refused


# ---------------------------------------------------------------- what the extension may import

EXTENSION = Path(__file__).resolve().parents[2] / "sdk" / "metaflow_extensions"
# The job downloads the extension in Metaflow's code package, and nothing else of the SDK: it may import the
# standard library, boto3/botocore (Metaflow's own job dependencies) and Metaflow, never `strata` or typer.
JOB_SAFE = {"boto3", "botocore", "metaflow", "metaflow_extensions"}


def foreign_imports(source: str, allowed: set[str]) -> list[str]:
    """Top-level packages ``source`` imports that are neither the standard library nor ``allowed``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return sorted(found - set(sys.stdlib_module_names) - allowed - {"__future__"})


def test_the_extension_imports_only_what_a_job_has():
    files = sorted(EXTENSION.rglob("*.py"))
    assert len(files) >= 5, files
    bad = {f.name: foreign_imports(f.read_text(), JOB_SAFE) for f in files}
    assert not any(bad.values()), bad
    assert foreign_imports((EXTENSION / "strata/plugins/hooks.py").read_text(), set()) == [], "the rules are pure"
    assert foreign_imports("import typer\nfrom strata.profiles import x\nimport json", JOB_SAFE) == ["strata", "typer"]


def test_the_extension_is_a_namespace_package_with_one_config_file_per_point():
    """Metaflow refuses ``metaflow_extensions/__init__.py``, and an ``__init__.py`` beside ``mfextinit_strata.py``
    counts as a second configuration file of that extension point."""
    assert not (EXTENSION / "__init__.py").exists()
    for point in ("config", "plugins"):
        assert (EXTENSION / "strata" / point / "mfextinit_strata.py").exists()
        assert not (EXTENSION / "strata" / point / "__init__.py").exists()
