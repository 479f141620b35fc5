"""Every stack file through the whole program (plain mocks): the orchestration layer as `pulumi up` would
declare it — every state table (each team's, and the legacy shared one) protected exactly where the stack says,
the legacy table granted to nobody, and every team's profile and roles wired to its own prefix, roles and table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.runtime import config as pulumi_config

from core import naming
from infra.config import known_environments, load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program
from tools.guards import foreign_team_references

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


def test_every_state_table_is_protected_exactly_where_configured(deployed):
    stack, run = deployed
    loaded = load_from_files(REPO, stack)
    tables = of(run, "aws:dynamodb/table:Table")
    # The legacy shared table keeps its logical and physical name (executions in flight read it).
    expected = {"orchestration-state-table": naming.state_table(stack)}
    expected |= {f"orchestration-{t.name}-state-table": naming.team_state_table(stack, t.name) for t in loaded.teams}
    for urn, name in expected.items():
        table = tables[urn]
        assert table.inputs["name"] == name, table.urn
        assert table.protect is loaded.settings.protect, (
            f"{table.urn}: protect={table.protect}, stack says {loaded.settings.protect}"
        )
        assert table.retain_on_delete is loaded.settings.protect, table.urn
        assert bool(table.inputs.get("deletionProtectionEnabled")) is loaded.settings.protect, table.urn
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn


def test_the_legacy_table_is_granted_to_nobody(deployed):
    stack, run = deployed
    for policy in of(run, "aws:iam/rolePolicy:RolePolicy").values():
        assert naming.state_table(stack) not in policy.inputs["policy"], f"{policy.urn} names the legacy shared table"
    assert naming.state_table(stack) not in json.dumps(run.outputs.get("teamProfiles")), "no profile names it"


def test_log_group_retention_is_the_stacks(deployed):
    stack, run = deployed
    days = load_from_files(REPO, stack).settings.orchestration.log_retention_days
    group = of(run, "aws:cloudwatch/logGroup:LogGroup")["orchestration-log-group"]
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == (naming.step_functions_log_group(stack), days), group.urn
    # Encrypted with a key whose policy admits CloudWatch Logs, never the datastore key (default key policy).
    assert group.inputs.get("kmsKeyId"), f"{group.urn}: not encrypted with the log key"
    assert group.inputs["kmsKeyId"] != run.outputs["datastoreKmsKeyArn"], group.urn


def test_every_team_profile_and_role_use_the_teams_own_prefix_roles_and_table(deployed):
    stack, run = deployed
    teams = [t.name for t in load_from_files(REPO, stack).teams]
    assert run.outputs["teamStateMachinePrefixes"] == {t: naming.state_machine_prefix(stack, t) for t in teams}
    assert run.outputs["sfnStateTables"] == {t: naming.team_state_table(stack, t) for t in teams}
    sfn_roles, events_roles = run.outputs["stepFunctionsRoleArns"], run.outputs["eventBridgeScheduleRoleArns"]
    assert set(sfn_roles) == set(events_roles) == set(teams)
    assert len(set(sfn_roles.values()) | set(events_roles.values())) == 2 * len(teams), "no role shared by two teams"
    for old in ("stepFunctionsRoleArn", "eventBridgeScheduleRoleArn", "sfnStateTable"):
        assert old not in run.outputs, f"{old}: one environment-wide value is gone"
    policies = of(run, "aws:iam/rolePolicy:RolePolicy")
    roles = of(run, "aws:iam/role:Role")
    for team in teams:
        profile = run.outputs["teamProfiles"][team]
        where = f"{stack}/{team}"
        assert profile["METAFLOW_SFN_STATE_MACHINE_PREFIX"] == naming.state_machine_prefix(stack, team), where
        assert profile["METAFLOW_SFN_DYNAMO_DB_TABLE"] == naming.team_state_table(stack, team), where
        assert profile["METAFLOW_SFN_IAM_ROLE"] == sfn_roles[team], where
        assert profile["METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"] == events_roles[team], where
        assert roles[f"orchestration-{team}-step-functions"].inputs["name"] == naming.step_functions_role(stack, team), where
        assert roles[f"orchestration-{team}-eventbridge"].inputs["name"] == naming.eventbridge_role(stack, team), where
        ds = policies[f"team-{team}-data-scientist"]
        text = ds.inputs["policy"]
        assert f":stateMachine:{naming.state_machine_name_prefix(stack, team)}*" in text, ds.urn
        for other in teams:
            if other != team:
                assert naming.state_machine_name_prefix(stack, other) not in text, f"{ds.urn} names {other}'s prefix"
                assert sfn_roles[other] not in text and events_roles[other] not in text, f"{ds.urn} passes {other}'s role"
        for urn in (f"orchestration-{team}-step-functions", f"orchestration-{team}-eventbridge", f"orchestration-job-{team}"):
            doc = json.loads(policies[urn].inputs["policy"])
            assert foreign_team_references(doc, team, teams) == [], policies[urn].urn
        job = policies[f"orchestration-job-{team}"]
        assert job.inputs["role"] == naming.job_role(stack, team), job.urn
        (foreach, _key) = json.loads(job.inputs["policy"])["Statement"]
        assert foreach["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], job.urn
        # (the plain mocks' ARNs end with the physical name, without AWS's "table/")
        assert foreach["Resource"].split(":")[-1].removeprefix("table/") == naming.team_state_table(stack, team), job.urn


def test_execution_history_needs_no_put_resource_policy(deployed):
    """The log-delivery resource policy is declared at deploy time, and no role of the stack may rewrite log
    resource policies at run time (issue 11, path 2)."""
    stack, run = deployed
    (delivery,) = of(run, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy").values()
    assert delivery.inputs["policyName"] == naming.step_functions_log_policy(stack), delivery.urn
    (s,) = json.loads(delivery.inputs["policyDocument"])["Statement"]
    assert s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}, delivery.urn
    assert s["Resource"].endswith(f":log-group:{naming.step_functions_log_group(stack)}:log-stream:*"), delivery.urn
    for policy in of(run, "aws:iam/rolePolicy:RolePolicy").values():
        assert "logs:PutResourcePolicy" not in policy.inputs["policy"], policy.urn
