"""Every stack file through the whole program (plain mocks): the orchestration layer as `pulumi up` would
declare it — the state table protected exactly where the stack says, and every team's profile and role
wired to its own state-machine prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.runtime import config as pulumi_config

from core import naming
from infra.config import known_environments, load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=sorted(known_environments(REPO)))
def deployed(request) -> tuple[str, ProgramRun]:
    before = dict(pulumi_config.CONFIG.get())
    try:
        return request.param, run_program(REPO, request.param, PlainMocks())
    finally:
        pulumi_config.CONFIG.set(before)  # the run leaves the stack's config in Pulumi's runtime


def of(run: ProgramRun, typ: str) -> dict[str, object]:
    return {r.name: r for r in run.registrations if r.type == typ}


def test_state_table_is_protected_exactly_where_configured(deployed):
    stack, run = deployed
    settings = load_from_files(REPO, stack).settings
    table = of(run, "aws:dynamodb/table:Table")["orchestration-state-table"]
    assert table.inputs["name"] == naming.state_table(stack), table.urn
    assert table.protect is settings.protect, f"{table.urn}: protect={table.protect}, stack says {settings.protect}"
    assert table.retain_on_delete is settings.protect, table.urn
    assert bool(table.inputs.get("deletionProtectionEnabled")) is settings.protect, table.urn
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn


def test_log_group_retention_is_the_stacks(deployed):
    stack, run = deployed
    days = load_from_files(REPO, stack).settings.orchestration.log_retention_days
    group = of(run, "aws:cloudwatch/logGroup:LogGroup")["orchestration-log-group"]
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == (naming.step_functions_log_group(stack), days), group.urn
    # Encrypted with a key whose policy admits CloudWatch Logs, never the datastore key (default key policy).
    assert group.inputs.get("kmsKeyId"), f"{group.urn}: not encrypted with the log key"
    assert group.inputs["kmsKeyId"] != run.outputs["datastoreKmsKeyArn"], group.urn


def test_every_team_profile_and_role_use_the_teams_own_prefix(deployed):
    stack, run = deployed
    teams = [t.name for t in load_from_files(REPO, stack).teams]
    assert run.outputs["teamStateMachinePrefixes"] == {t: naming.state_machine_prefix(stack, t) for t in teams}
    policies = of(run, "aws:iam/rolePolicy:RolePolicy")
    for team in teams:
        profile = run.outputs["teamProfiles"][team]
        assert profile["METAFLOW_SFN_STATE_MACHINE_PREFIX"] == naming.state_machine_prefix(stack, team), f"{stack}/{team}"
        assert profile["METAFLOW_SFN_DYNAMO_DB_TABLE"] == naming.state_table(stack), f"{stack}/{team}"
        assert profile["METAFLOW_SFN_IAM_ROLE"] == run.outputs["stepFunctionsRoleArn"], f"{stack}/{team}"
        assert profile["METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"] == run.outputs["eventBridgeScheduleRoleArn"], f"{stack}/{team}"
        ds = policies[f"team-{team}-data-scientist"]
        text = ds.inputs["policy"]
        assert f":stateMachine:{naming.state_machine_name_prefix(stack, team)}*" in text, ds.urn
        for other in teams:
            if other != team:
                assert naming.state_machine_name_prefix(stack, other) not in text, f"{ds.urn} names {other}'s prefix"
        job = policies[f"orchestration-job-{team}"]
        assert job.inputs["role"] == naming.job_role(stack, team), job.urn
        assert json.loads(job.inputs["policy"])["Statement"][0]["Action"] == [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ], job.urn
