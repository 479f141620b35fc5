"""`step-functions create` as two teams against the local cloud: what Metaflow puts into moto must stay
inside each team's slice of the platform (prefix, job role, queue) and run as the platform's roles.

One fresh moto server and one deployment for the module (the local stack, through `localcloud.session`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from local_stack import deployed_local_stack

from core import naming
from localcloud import session, walk

REPO = Path(__file__).resolve().parents[2]
FOREACH_FLOW = REPO / session.SAMPLE_FLOW
SCHEDULED_FLOW = REPO / session.SCHEDULED_FLOW
TEAMS = ("fraud", "forecasting")  # two different teams of the local stack
SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> Any:
    with deployed_local_stack(tmp_path_factory, "sfn-cloud", TEAMS) as deployed:
        yield deployed


def client(cloud, service: str) -> Any:
    return walk.client(cloud["env"], service)


def profile(cloud, team: str) -> dict[str, str]:
    return json.loads(cloud["paths"].profile(team).read_text())


def api_key(cloud, team: str) -> str:
    """The team's real metadata API key, from Secrets Manager in moto."""
    secret = naming.metadata_api_key_secret(session.STACK, team)
    return client(cloud, "secretsmanager").get_secret_value(SecretId=secret)["SecretString"]


def team_env(cloud, team: str) -> dict[str, str]:
    """A data scientist of ``team``: its generated profile, the local env file's settings, and its API key
    configured as `strata configure` puts it (METAFLOW_SERVICE_AUTH_KEY), which Metaflow sends as x-api-key
    and, without the Strata extension, copies into every job's environment and state machine."""
    return {
        **os.environ,
        **cloud["env"],
        "METAFLOW_PROFILE": naming.profile_name(session.STACK, team),
        "METAFLOW_USER": "e2e",
        "METAFLOW_SERVICE_AUTH_KEY": api_key(cloud, team),
    }


def as_team(cloud, team: str, *args: str) -> subprocess.CompletedProcess:
    """Run a command as a data scientist of ``team`` (:func:`team_env`)."""
    work = cloud["paths"].work / team
    work.mkdir(parents=True, exist_ok=True)
    env = team_env(cloud, team)
    proc = subprocess.run([sys.executable, *args], cwd=work, env=env, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, f"{team}: {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def created(cloud) -> dict[str, dict[str, Any]]:
    """Each team creates the foreach flow; the second team also creates the scheduled flow."""
    out = {}
    for team in TEAMS:
        proc = as_team(cloud, team, str(FOREACH_FLOW), "--no-pylint", "step-functions", "create")
        out[team] = {"foreach": proc}
    out[TEAMS[1]]["scheduled"] = as_team(cloud, TEAMS[1], str(SCHEDULED_FLOW), "--no-pylint", "step-functions", "create")
    return out


def machines_of(cloud, team: str) -> list[dict[str, Any]]:
    prefix = naming.state_machine_name_prefix(session.STACK, team)
    sfn = client(cloud, "stepfunctions")
    return [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith(prefix)]


def batch_tasks(node: Any) -> list[dict[str, Any]]:
    """Every `batch:submitJob.sync` Task state, at any depth (a foreach's Map nests its own States)."""
    found = []
    if isinstance(node, dict):
        if node.get("Type") == "Task" and node.get("Resource") == SUBMIT_SYNC:
            found.append(node)
        for value in node.values():
            found += batch_tasks(value)
    elif isinstance(node, list):
        for value in node:
            found += batch_tasks(value)
    return found


def definition(cloud, machine: dict[str, Any]) -> dict[str, Any]:
    described = client(cloud, "stepfunctions").describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    return {"role": described["roleArn"], "definition": json.loads(described["definition"])}


# ---------------------------------------------------------------- the foreach flow, as two teams


def test_profiles_carry_the_step_functions_keys(cloud):
    outputs = cloud["outputs"]
    for team in TEAMS:
        p = profile(cloud, team)
        assert p["METAFLOW_SFN_STATE_MACHINE_PREFIX"] == naming.state_machine_prefix(session.STACK, team), team
        assert p["METAFLOW_SFN_IAM_ROLE"] == outputs["stepFunctionsRoleArns"][team], team
        assert p["METAFLOW_SFN_IAM_ROLE"].endswith(f"role/{naming.step_functions_role(session.STACK, team)}"), team
        assert p["METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"] == outputs["eventBridgeScheduleRoleArns"][team], team
        table_name = naming.team_state_table(session.STACK, team)
        assert p["METAFLOW_SFN_DYNAMO_DB_TABLE"] == table_name == outputs["sfnStateTables"][team], team
        table = client(cloud, "dynamodb").describe_table(TableName=table_name)["Table"]
        assert table["KeySchema"] == [{"AttributeName": "pathspec", "KeyType": "HASH"}]
    assert len({outputs["stepFunctionsRoleArns"][t] for t in TEAMS}) == len(TEAMS), "no role is shared by two teams"


def test_each_state_machine_bears_its_teams_prefix(cloud, created):
    names = {team: [m["name"] for m in machines_of(cloud, team)] for team in TEAMS}
    for team in TEAMS:
        assert f"{naming.state_machine_name_prefix(session.STACK, team)}RegionForecastFlow" in names[team], names
        assert "Deploying" in created[team]["foreach"].stderr + created[team]["foreach"].stdout
    every = [m["name"] for m in client(cloud, "stepfunctions").list_state_machines()["stateMachines"]]
    assert len(every) == 3, f"expected 2 foreach machines and 1 scheduled one, got {every}"
    assert all(any(n.startswith(naming.state_machine_name_prefix(session.STACK, t)) for t in TEAMS) for n in every), every


def test_state_machine_role_is_the_teams_own_step_functions_role(cloud, created):
    for team in TEAMS:
        for machine in machines_of(cloud, team):
            assert definition(cloud, machine)["role"] == cloud["outputs"]["stepFunctionsRoleArns"][team], machine["name"]


def test_tasks_target_the_teams_queue_with_job_definitions_of_the_teams_job_role(cloud, created):
    batch = client(cloud, "batch")
    for team in TEAMS:
        p = profile(cloud, team)
        (machine,) = [m for m in machines_of(cloud, team) if m["name"].endswith("_RegionForecastFlow")]
        tasks = batch_tasks(definition(cloud, machine)["definition"])
        assert len(tasks) == 4, f"{machine['name']}: expected start, fit (in the Map), join, end; got {len(tasks)}"
        for task in tasks:
            params = task["Parameters"]
            assert params["JobQueue"] == p["METAFLOW_BATCH_JOB_QUEUE"], f"{machine['name']}: {params['JobQueue']}"
            assert params["JobQueue"].endswith(f"job-queue/{naming.job_queue(session.STACK, team, 'cpu')}")
            (job_definition,) = batch.describe_job_definitions(jobDefinitions=[params["JobDefinition"]])["jobDefinitions"]
            role = job_definition["containerProperties"]["jobRoleArn"]
            assert role == p["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"], f"{machine['name']}: job definition runs as {role}"
            assert role.endswith(f"role/{naming.job_role(session.STACK, team)}")


def test_foreach_reads_its_cardinality_from_the_teams_own_state_table(cloud, created):
    for team in TEAMS:
        (machine,) = [m for m in machines_of(cloud, team) if m["name"].endswith("_RegionForecastFlow")]
        text = json.dumps(definition(cloud, machine)["definition"])
        assert '"Resource": "arn:aws:states:::dynamodb:getItem"' in text
        assert f'"TableName": "{naming.team_state_table(session.STACK, team)}"' in text
        others = [t for t in TEAMS if t != team]
        assert not any(naming.team_state_table(session.STACK, o) in text for o in others)


# ---------------------------------------------------------------- the scheduled flow


def test_scheduled_flow_gets_a_daily_rule_targeting_the_teams_machine_with_the_schedule_role(cloud, created):
    team = TEAMS[1]
    name = f"{naming.state_machine_name_prefix(session.STACK, team)}DailyRefreshFlow"
    assert "cron schedule" in created[team]["scheduled"].stderr + created[team]["scheduled"].stdout
    events = client(cloud, "events")
    rule = events.describe_rule(Name=name)
    assert rule["ScheduleExpression"] == "cron(0 0 * * ? *)" and rule["State"] == "ENABLED", rule
    (machine,) = [m for m in machines_of(cloud, team) if m["name"] == name]
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    assert target["Arn"] == machine["stateMachineArn"], target
    assert (
        target["RoleArn"]
        == cloud["outputs"]["eventBridgeScheduleRoleArns"][team]
        == profile(cloud, team)["METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"]
    )
    # Other layers may own rules too (e.g. alarms); of the teams' Metaflow names, only the scheduled flow's.
    prefixes = tuple(naming.state_machine_name_prefix(session.STACK, t) for t in TEAMS)
    rules = [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].startswith(prefixes)]
    assert rules == [name], f"only the scheduled flow has a rule: {rules}"


def test_inspect_schedules_shows_a_team_only_its_own(cloud, created):
    seen = {}
    for team in TEAMS:
        proc = as_team(cloud, team, "-m", "localcloud.inspect_schedules", "--json")
        seen[team] = json.loads(proc.stdout)
    prefix = {t: naming.state_machine_name_prefix(session.STACK, t) for t in TEAMS}
    assert [r["name"] for r in seen[TEAMS[0]]] == [f"{prefix[TEAMS[0]]}RegionForecastFlow"]
    scheduled = {r["name"]: r for r in seen[TEAMS[1]]}
    assert set(scheduled) == {f"{prefix[TEAMS[1]]}DailyRefreshFlow", f"{prefix[TEAMS[1]]}RegionForecastFlow"}
    (schedule,) = scheduled[f"{prefix[TEAMS[1]]}DailyRefreshFlow"]["schedules"]
    assert schedule["schedule"] == "cron(0 0 * * ? *)"
    assert schedule["role"] == cloud["outputs"]["eventBridgeScheduleRoleArns"][TEAMS[1]]


# ---------------------------------------------------------------- no team secret in jobs or state machines


def secrets_of_every_team(cloud) -> dict[str, str]:
    return {team: api_key(cloud, team) for team in cloud["outputs"]["teamProfiles"]}


@pytest.fixture(scope="module")
def ran(cloud, created) -> dict[str, Any]:
    """Team A (``TEAMS[0]``), with its API key configured, runs the sample flow with ``--with batch`` and on Step
    Functions (the machine ``created`` made), to the end."""
    team = TEAMS[0]
    work = cloud["paths"].work / f"{team}-runs"
    work.mkdir(parents=True, exist_ok=True)
    env = team_env(cloud, team)
    walk.metaflow(FOREACH_FLOW, ["run", "--with", "batch"], work, env, work / "batch-run.log")
    sfn_run = walk.step_functions_run(FOREACH_FLOW, work, env, profile(cloud, team), work)
    assert sfn_run.status == "SUCCEEDED", sfn_run
    jobs = walk.batch_jobs(client(cloud, "batch"), profile(cloud, team)["METAFLOW_BATCH_JOB_QUEUE"])
    return {"team": team, "jobs": jobs, "sfn_run": sfn_run}


def test_no_api_key_or_secret_in_any_jobs_environment(cloud, ran):
    """Issue 11, path 4: DescribeJobs (on "*" for every team) must not reveal a team's API key."""
    jobs = ran["jobs"]
    # Both paths ran: at least the 6 tasks of one run on Batch and 6 of the Step Functions run.
    assert len(jobs) >= 12, f"expected both runs' jobs on the team's queue, got {len(jobs)}"
    assert all(j["status"] == "SUCCEEDED" for j in jobs), [(j["jobName"], j["status"]) for j in jobs]
    keys = secrets_of_every_team(cloud)
    for job in jobs:
        text = json.dumps(job, default=str)
        for owner, key in keys.items():
            assert key not in text, f"job {job['jobName']} carries team {owner}'s API key"
        env = {e["name"]: e["value"] for e in job["container"].get("environment", [])}
        assert "METAFLOW_SERVICE_AUTH_KEY" not in env
        assert "x-api-key" not in env.get("METAFLOW_SERVICE_HEADERS", "{}"), job["jobName"]
        # How the job gets the key instead: its own role reads the team's secret.
        assert env["METAFLOW_STRATA_TEAM"] == ran["team"], job["jobName"]


def test_jobs_ran_on_the_teams_tagged_job_definitions_logging_to_its_own_group(cloud, ran):
    team = ran["team"]
    batch = client(cloud, "batch")
    definitions = {j["jobDefinition"] for j in ran["jobs"]}
    for arn in definitions:
        (d,) = batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
        assert d["jobDefinitionName"].startswith(naming.job_definition_prefix(session.STACK, team)), d["jobDefinitionName"]
        assert d["tags"].get(naming.TEAM_TAG) == team, d["tags"]
        container = d["containerProperties"]
        assert container["logConfiguration"]["logDriver"] == "awslogs"
        assert container["logConfiguration"]["options"]["awslogs-group"] == naming.job_log_group(session.STACK, team)
        assert not container.get("privileged"), d["jobDefinitionName"]
    for job in ran["jobs"]:
        assert job["tags"].get(naming.TEAM_TAG) == team, job["jobName"]
    # The output went to the team's group, none to the shared default one.
    logs = client(cloud, "logs")
    streams = logs.describe_log_streams(logGroupName=naming.job_log_group(session.STACK, team))["logStreams"]
    assert len(streams) >= len(ran["jobs"]), len(streams)


def test_no_api_key_in_any_state_machine_definition(cloud, created):
    keys = secrets_of_every_team(cloud)
    sfn = client(cloud, "stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        text = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
        for owner, key in keys.items():
            assert key not in text, f"{machine['name']} carries team {owner}'s API key"
        assert "x-api-key" not in text, machine["name"]
