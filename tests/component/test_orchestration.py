"""Component tests of modules/orchestration under Pulumi mocks (and the team role's Step Functions part).

Plain echo mocks with service-shaped ARNs; ``localcloud.RecordingMonitor`` records each registration's
resource options (protect, retainOnDelete, parent). Every assertion names the resource's URN.

Per team: a Step Functions role, an EventBridge role and a foreach table, each reaching only that team's
things; for the environment: the execution-history log group with its deploy-time log-delivery resource
policy, and the legacy shared table (kept for executions in flight, granted to nobody).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from support import ACCOUNT, REGION, RecordingMocks
from support import Deployment as BaseDeployment

from core import naming
from core.settings import Team
from localcloud import RecordingMonitor
from modules.orchestration.component import Orchestration, OrchestrationArgs
from modules.orchestration.settings import OrchestrationSettings
from modules.team.component import TeamArgs, TeamComponent
from tools.guards import foreign_team_references, policy_decision

ENV = "dev"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"cost-center": "ml-platform", "environment": ENV}
TEAMS = {"fraud": ("cpu", "gpu"), "forecasting": ("cpu",)}
TOKEN = "strata:orchestration:Orchestration"

TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LEGACY_TABLE_URN = "orchestration-state-table"  # its logical name must never change


def queue_arn(team: str, kind: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def job_role_arn(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team)}"


def table_arn(team: str | None) -> str:
    """A team's foreach table, or (None) the legacy shared one, as the mocks below answer."""
    name = naming.team_state_table(ENV, team) if team else naming.state_table(ENV)
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def definition_arn(team: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team)}0a1b2c:1"


LOG_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/9999abcd-12ab-34cd-56ef-1234567890ab"


def make_args(
    protect: bool = False, retention: int = 30, teams: dict | None = None, log_key: str | None = None
) -> OrchestrationArgs:
    teams = TEAMS if teams is None else teams
    return OrchestrationArgs(
        environment=ENV,
        settings=OrchestrationSettings(log_retention_days=retention),
        teams=list(teams),
        job_queue_arns={t: {k: queue_arn(t, k) for k in kinds} for t, kinds in teams.items()},
        job_role_arns={t: job_role_arn(t) for t in teams},
        kms_key_arn=KEY,
        protect=protect,
        tags=TAGS,
        log_kms_key_arn=log_key,
    )


@dataclass
class Deployment(BaseDeployment):
    monitor: RecordingMonitor | None = None

    def registration(self, name: str) -> Any:
        assert self.monitor is not None
        (found,) = [r for r in self.monitor.registrations if r.name == name]
        return found


def _arn(typ: str, name: str, inputs: dict[str, Any]) -> str:
    physical = inputs.get("name") or f"{name}-1a2b3c4"
    return {
        TABLE: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}",
        LOG_GROUP: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}",
        ROLE: f"arn:aws:iam::{ACCOUNT}:role/{physical}",
    }.get(typ, f"arn:aws:mock:{REGION}:{ACCOUNT}:{name}")


class Mocks(RecordingMocks):
    """The shared echo mocks, with an ARN (and a physical name) shaped like the service's."""

    def state(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        state = {**args.inputs, "arn": _arn(args.typ, args.name, args.inputs)}
        if args.typ in (TABLE, LOG_GROUP, ROLE):
            state["name"] = args.inputs.get("name") or f"{args.name}-1a2b3c4"
        return state


def deploy(program) -> Deployment:
    deployment = Deployment()
    mocks = Mocks(deployment)
    deployment.monitor = RecordingMonitor(mocks)
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack=ENV, preview=False, monitor=deployment.monitor)

    @pulumi.runtime.test
    def run():
        return pulumi.Output.from_input(program()).apply(deployment.outputs.update)

    run()
    return deployment


def orchestration_outputs(o: Orchestration) -> dict[str, Any]:
    return {
        "sfn_roles": o.step_functions_role_arns,
        "events_roles": o.eventbridge_role_arns,
        "table_names": o.state_table_names,
        "table_arns": o.state_table_arns,
        "log_group_name": o.log_group_name,
        "execution_log_group_arn": o.execution_log_group_arn,
        "prefixes": o.state_machine_prefixes,
    }


@pytest.fixture(scope="module")
def unprotected() -> Deployment:
    return deploy(lambda: orchestration_outputs(Orchestration("orchestration", make_args())))


@pytest.fixture(scope="module")
def protected() -> Deployment:
    return deploy(
        lambda: orchestration_outputs(Orchestration("orchestration", make_args(protect=True, retention=365, log_key=LOG_KEY)))
    )


# ---------------------------------------------------------------- the state tables


def test_each_team_has_its_own_table_in_metaflows_schema_on_demand_ttl_pitr_and_platform_key(unprotected) -> None:
    tables = unprotected.of(TABLE)
    assert set(tables) == {LEGACY_TABLE_URN, *(f"orchestration-{t}-state-table" for t in TEAMS)}, sorted(tables)
    for team in TEAMS:
        urn = f"orchestration-{team}-state-table"
        t = tables[urn].inputs
        assert t["name"] == naming.team_state_table(ENV, team), urn
        assert t["billingMode"] == "PAY_PER_REQUEST", f"{urn}: $0 idle"
        assert "readCapacity" not in t and "writeCapacity" not in t, urn
        assert t["hashKey"] == "pathspec" and "rangeKey" not in t, urn
        assert t["attributes"] == [{"name": "pathspec", "type": "S"}], urn
        assert t["ttl"] == {"attributeName": "ttl", "enabled": True}, urn
        assert t["pointInTimeRecovery"] == {"enabled": True}, urn
        assert t["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}, urn
        assert t["tags"] == {**TAGS, "team": team}, f"{urn}: the team's tag (cost allocation)"


def test_the_legacy_shared_table_is_kept_as_it_was(unprotected: Deployment) -> None:
    """Executions started before per-team tables still read their foreach state from it: same logical name, same
    physical name, same schema, its data intact."""
    t = unprotected.of(TABLE)[LEGACY_TABLE_URN].inputs
    assert t["name"] == naming.state_table(ENV), LEGACY_TABLE_URN
    assert (t["hashKey"], t["billingMode"]) == ("pathspec", "PAY_PER_REQUEST"), LEGACY_TABLE_URN
    assert t["pointInTimeRecovery"] == {"enabled": True}, LEGACY_TABLE_URN
    assert t["ttl"] == {"attributeName": "ttl", "enabled": True}, f"{LEGACY_TABLE_URN}: it empties itself in 90 days"
    assert t["tags"] == TAGS, f"{LEGACY_TABLE_URN}: no team's"


def test_the_legacy_shared_table_is_granted_to_nobody(unprotected: Deployment) -> None:
    legacy = table_arn(None)
    for urn, policy in unprotected.of(ROLE_POLICY).items():
        text = policy.inputs["policy"]
        assert naming.state_table(ENV) not in text, f"{urn} names the legacy table"  # not inside any team's table name
        doc = json.loads(text)
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert policy_decision([doc], action, legacy, {}) == "implicit-deny", f"{urn}: {action} on {legacy}"


def test_every_table_is_protected_exactly_when_the_stack_says(unprotected: Deployment, protected: Deployment) -> None:
    urns = [LEGACY_TABLE_URN, *(f"orchestration-{t}-state-table" for t in TEAMS)]
    for deployment, protect in ((unprotected, False), (protected, True)):
        for urn in urns:
            reg = deployment.registration(urn)
            assert reg.protect is protect, f"{reg.urn}: protect={reg.protect}"
            assert reg.retain_on_delete is protect, f"{reg.urn}: retainOnDelete={reg.retain_on_delete}"
            assert bool(deployment.of(TABLE)[urn].inputs.get("deletionProtectionEnabled")) is protect, reg.urn
    # Nothing else is protected: roles, policies and the log group are recreated freely.
    for reg in protected.monitor.registrations:
        if reg.custom and reg.name not in urns:
            assert not reg.protect, reg.urn


# ---------------------------------------------------------------- the log group and its resource policy


def test_log_group_retention_from_the_stack_and_the_log_key_never_the_datastore_key(unprotected, protected) -> None:
    urn = "orchestration-log-group"
    for deployment, days, key in ((unprotected, 30, None), (protected, 365, LOG_KEY)):
        g = deployment.of(LOG_GROUP)[urn].inputs
        assert g["name"] == naming.step_functions_log_group(ENV), urn
        assert g["retentionInDays"] == days, urn
        assert g.get("kmsKeyId") == key, f"{urn}: kmsKeyId {g.get('kmsKeyId')}, expected {key}"
        assert g.get("kmsKeyId") != KEY, f"{urn}: the datastore key's default policy does not admit CloudWatch Logs"
        assert g["tags"] == TAGS, urn


def test_log_delivery_is_granted_at_deploy_time_on_the_groups_streams_only(unprotected: Deployment) -> None:
    urn = "orchestration-log-delivery"
    policy = unprotected.of(LOG_RESOURCE_POLICY)[urn].inputs
    assert policy["policyName"] == naming.step_functions_log_policy(ENV), urn
    (s,) = json.loads(policy["policyDocument"])["Statement"]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.step_functions_log_group(ENV)}"
    assert s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}, urn
    assert s["Resource"] == f"{group}:log-stream:*", f"{urn}: the execution-history group's streams only"
    assert s["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, urn
    assert sorted(s["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"], urn


def test_no_policy_anywhere_grants_put_resource_policy(unprotected: Deployment) -> None:
    """No role calls logs:PutResourcePolicy at run time (issue 11, path 2): not in any inline policy, trust
    policy or resource policy the component declares."""
    documents = {f"{urn} (policy)": r.inputs["policy"] for urn, r in unprotected.of(ROLE_POLICY).items()}
    documents |= {f"{urn} (trust)": r.inputs["assumeRolePolicy"] for urn, r in unprotected.of(ROLE).items()}
    documents |= {urn: r.inputs["policyDocument"] for urn, r in unprotected.of(LOG_RESOURCE_POLICY).items()}
    # per team: Step Functions and EventBridge roles (trust + policy) and the job role's table policy; one log policy
    assert len(documents) == 5 * len(TEAMS) + 1, sorted(documents)
    for urn, text in documents.items():
        for s in json.loads(text)["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            granting = [a for a in actions if fnmatch.fnmatchcase("logs:putresourcepolicy", a.lower())]
            assert not granting, f"{urn}: {s.get('Sid')} grants logs:PutResourcePolicy through {granting}"


# ---------------------------------------------------------------- roles (one Step Functions and one EventBridge role per team)


def _doc(deployment: Deployment, typ: str, urn: str, field: str) -> dict:
    return json.loads(deployment.of(typ)[urn].inputs[field])


@pytest.mark.parametrize("team", TEAMS)
def test_each_teams_step_functions_role_is_named_for_it_and_trusts_its_machines_only(unprotected, team) -> None:
    urn = f"orchestration-{team}-step-functions"
    role = unprotected.of(ROLE)[urn].inputs
    assert role["name"] == naming.step_functions_role(ENV, team), urn
    assert role["tags"] == {**TAGS, "team": team}, urn
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}, urn
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-{team}_*"},
    }, urn


@pytest.mark.parametrize("team", TEAMS)
def test_each_teams_step_functions_policy_reaches_its_queues_definitions_and_table_only(unprotected, team) -> None:
    urn = f"orchestration-{team}-step-functions"
    policy = unprotected.of(ROLE_POLICY)[urn].inputs
    assert policy["role"] == f"{urn}_id", urn
    doc = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert set(doc["SubmitToOwnQueues"]["Resource"]) == {
        *(queue_arn(team, k) for k in TEAMS[team]),
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team)}*:*",
    }, urn
    assert doc["SubmitToOwnQueues"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/team": team, "aws:ResourceTag/team": team}
    }, urn
    assert doc["TerminateOwnJobs"]["Condition"] == {"StringEquals": {"aws:ResourceTag/team": team}}, urn
    assert doc["ReadForeachState"]["Resource"] == table_arn(team), urn
    assert doc["StateTableKeyThroughDynamoDB"]["Resource"] == KEY, urn
    assert doc["StateTableKeyThroughDynamoDB"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }, urn
    assert doc["BatchSyncManagedRule"]["Resource"].endswith(":rule/StepFunctionsGetEventsForBatchJobsRule"), urn


@pytest.mark.parametrize("team,other", [(a, b) for a in TEAMS for b in TEAMS if a != b])
def test_a_teams_roles_reach_nothing_of_another_team(unprotected: Deployment, team: str, other: str) -> None:
    """The declared documents as IAM would evaluate them: A's state machines submitting to B's queue with B's
    definition, terminating B's jobs, reading B's table; A's schedules starting B's machines."""
    sfn = _doc(unprotected, ROLE_POLICY, f"orchestration-{team}-step-functions", "policy")
    as_team = {"aws:RequestTag/team": team, "aws:ResourceTag/team": team}
    assert policy_decision([sfn], "batch:SubmitJob", queue_arn(team, "cpu"), as_team) == "allow", "the control"
    assert policy_decision([sfn], "batch:SubmitJob", definition_arn(team), as_team) == "allow", "the control"
    assert policy_decision([sfn], "batch:SubmitJob", queue_arn(other, "cpu"), as_team) == "implicit-deny"
    assert policy_decision([sfn], "batch:SubmitJob", definition_arn(other), as_team) == "implicit-deny"
    job = f"arn:aws:batch:{REGION}:{ACCOUNT}:job/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"
    assert policy_decision([sfn], "batch:TerminateJob", job, {"aws:ResourceTag/team": other}) == "implicit-deny"
    assert policy_decision([sfn], "dynamodb:GetItem", table_arn(other), {}) == "implicit-deny"
    events = _doc(unprotected, ROLE_POLICY, f"orchestration-{team}-eventbridge", "policy")
    other_machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{naming.state_machine_name_prefix(ENV, other)}Flow"
    assert policy_decision([events], "states:StartExecution", other_machine, {}) == "implicit-deny"
    for urn in (f"orchestration-{team}-step-functions", f"orchestration-{team}-eventbridge", f"orchestration-job-{team}"):
        for doc in (_doc(unprotected, ROLE_POLICY, urn, "policy"),):
            assert foreign_team_references(doc, team, TEAMS) == [], urn


@pytest.mark.parametrize("team", TEAMS)
def test_each_teams_eventbridge_role_starts_only_its_state_machines(unprotected: Deployment, team: str) -> None:
    urn = f"orchestration-{team}-eventbridge"
    prefix = naming.state_machine_name_prefix(ENV, team)
    role = unprotected.of(ROLE)[urn].inputs
    assert role["name"] == naming.eventbridge_role(ENV, team), urn
    assert role["tags"] == {**TAGS, "team": team}, urn
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}, urn
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{prefix}*"}, urn
    (s,) = json.loads(unprotected.of(ROLE_POLICY)[urn].inputs["policy"])["Statement"]
    assert s["Action"] == "states:StartExecution", urn
    assert s["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}*", urn


def test_each_job_role_gets_its_own_teams_table_and_nothing_else(unprotected: Deployment) -> None:
    policies = unprotected.of(ROLE_POLICY)
    for team in TEAMS:
        urn = f"orchestration-job-{team}"
        p = policies[urn].inputs
        assert p["role"] == naming.job_role(ENV, team), f"{urn}: attached to {p['role']}"
        assert p["name"] == "sfn-state-table", urn
        doc = {s["Sid"]: s for s in json.loads(p["policy"])["Statement"]}
        assert set(doc) == {"ForeachState", "StateTableKeyThroughDynamoDB"}, urn
        assert doc["ForeachState"]["Resource"] == table_arn(team), urn
        for other in TEAMS:
            if other != team:
                for action in doc["ForeachState"]["Action"]:
                    decision = policy_decision([{"Statement": list(doc.values())}], action, table_arn(other), {})
                    assert decision == "implicit-deny", f"{urn}: {action} on {other}'s table"
    assert len(policies) == 3 * len(TEAMS), sorted(policies)


def test_every_child_is_parented_and_named_after_the_component(unprotected: Deployment) -> None:
    (component,) = [r for r in unprotected.monitor.registrations if r.type == TOKEN]
    for reg in unprotected.monitor.registrations:
        if reg.custom:
            assert reg.parent == component.urn, f"{reg.urn}: parent {reg.parent}"
            assert reg.name.startswith("orchestration-"), reg.urn
    types = {r.type for r in unprotected.monitor.registrations if r.custom}
    assert types == {TABLE, LOG_GROUP, LOG_RESOURCE_POLICY, ROLE, ROLE_POLICY}


def test_outputs(unprotected: Deployment) -> None:
    out = unprotected.outputs
    assert out["prefixes"] == {t: naming.state_machine_prefix(ENV, t) for t in TEAMS}
    assert out["table_names"] == {t: naming.team_state_table(ENV, t) for t in TEAMS}
    assert out["table_arns"] == {t: table_arn(t) for t in TEAMS}
    assert out["sfn_roles"] == {t: f"arn:aws:iam::{ACCOUNT}:role/{naming.step_functions_role(ENV, t)}" for t in TEAMS}
    assert out["events_roles"] == {t: f"arn:aws:iam::{ACCOUNT}:role/{naming.eventbridge_role(ENV, t)}" for t in TEAMS}
    assert out["log_group_name"] == naming.step_functions_log_group(ENV)
    assert out["execution_log_group_arn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.step_functions_log_group(ENV)}:*"
    )
    assert naming.state_table(ENV) not in json.dumps(out), "the legacy table is no team's"


@pytest.mark.parametrize(
    "args,message",
    [
        (make_args(teams={}), "without teams"),
        (make_args(retention=31), "not a CloudWatch retention"),
        (
            OrchestrationArgs(**{**make_args().__dict__, "job_role_arns": {"fraud": job_role_arn("fraud")}}),
            "job_role_arns must have exactly the teams",
        ),
        (
            OrchestrationArgs(**{**make_args().__dict__, "teams": ["fraud", "fraud", "forecasting"]}),
            "duplicate team names",
        ),
    ],
)
def test_contradictory_arguments_fail_at_construction(args: OrchestrationArgs, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        deploy(lambda: Orchestration("orchestration", args).state_machine_prefixes)
    assert "'orchestration'" in str(info.value)


# ---------------------------------------------------------------- a team's role, with the orchestration roles


FRAUD = Team(
    name="fraud",
    cost_center="cc-4410",
    contacts=("fraud-ml@example.com",),
    priority=20,
    max_vcpus=64,
    gpu_max_vcpus=0,
    principals=("arn:aws:iam::222222222222:role/fraud-developers",),
)


def team_args(extra_statements: list) -> TeamArgs:
    return TeamArgs(
        environment=ENV,
        team=FRAUD,
        bucket_arn="arn:aws:s3:::acme-ml-dev-datastore",
        kms_key_arn=KEY,
        job_queue_arns={"cpu": queue_arn("fraud", "cpu")},
        job_role_arn=job_role_arn("fraud"),
        job_log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.job_log_group(ENV, 'fraud')}",
        fargate_execution_role_arn=None,
        profile_json="{}",
        tags=TAGS,
        extra_statements=extra_statements,
    )


def test_team_role_manages_only_its_prefix_and_passes_only_its_own_roles() -> None:
    """The program's wiring: Orchestration.data_scientist_statements[team] -> TeamArgs.extra_statements."""

    def program():
        orchestration = Orchestration("orchestration", make_args())
        team = TeamComponent("team-fraud", team_args([orchestration.data_scientist_statements["fraud"]]))
        return {"role": team.data_scientist_role_arn, "sfn_roles": orchestration.step_functions_role_arns}

    deployment = deploy(program)
    urn = "team-fraud-data-scientist"
    full = json.loads(deployment.of(ROLE_POLICY)[urn].inputs["policy"])
    doc = {s["Sid"]: s for s in full["Statement"]}
    prefix = naming.state_machine_name_prefix(ENV, "fraud")
    sfn_role = f"arn:aws:iam::{ACCOUNT}:role/{naming.step_functions_role(ENV, 'fraud')}"
    events_role = f"arn:aws:iam::{ACCOUNT}:role/{naming.eventbridge_role(ENV, 'fraud')}"
    assert deployment.outputs["sfn_roles"]["fraud"] == sfn_role
    theirs = deployment.outputs["sfn_roles"]["forecasting"]
    passed = {"iam:PassedToService": "states.amazonaws.com"}
    assert policy_decision([full], "iam:PassRole", theirs, passed) == "implicit-deny", f"{urn} passes {theirs}"
    assert doc["OwnStateMachines"]["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}*", urn
    assert doc["OwnScheduleRules"]["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{prefix}*", urn
    assert doc["PassStepFunctionsRole"]["Resource"] == sfn_role, urn
    assert doc["PassEventBridgeRole"]["Resource"] == events_role, urn
    assert doc["PassOwnJobRoles"]["Resource"] == [job_role_arn("fraud")], urn


def test_each_team_gets_statements_naming_its_own_prefix_only() -> None:
    def program():
        orchestration = Orchestration("orchestration", make_args())
        assert set(orchestration.data_scientist_statements) == set(TEAMS)
        return {"statements": orchestration.data_scientist_statements}

    statements = deploy(program).outputs["statements"]
    for team in TEAMS:
        text = json.dumps(statements[team])
        assert naming.state_machine_name_prefix(ENV, team) in text, team
        assert naming.step_functions_role(ENV, team) in text and naming.eventbridge_role(ENV, team) in text, team
        for other in TEAMS:
            if other != team:
                assert naming.state_machine_name_prefix(ENV, other) not in text, f"{team}'s statements name {other}"
                assert naming.step_functions_role(ENV, other) not in text, f"{team}'s statements pass {other}'s role"
        assert {s["Sid"] for s in statements[team]} == {
            "OwnStateMachines",
            "TagOwnStateMachines",
            "OwnExecutions",
            "ListStateMachines",
            "OwnScheduleRules",
            "OwnSchedulesOnly",
            "OwnScheduleTargets",
            "PassStepFunctionsRole",
            "PassEventBridgeRole",
        }, team
