"""Component tests of modules/orchestration under Pulumi mocks (and the team role's Step Functions part).

Plain echo mocks with service-shaped ARNs; ``localcloud.RecordingMonitor`` records each registration's
resource options (protect, retainOnDelete, parent). Every assertion names the resource's URN.
"""

from __future__ import annotations

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

ENV = "dev"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"cost-center": "ml-platform", "environment": ENV}
TEAMS = {"fraud": ("cpu", "gpu"), "forecasting": ("cpu",)}
TOKEN = "strata:orchestration:Orchestration"

TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def queue_arn(team: str, kind: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def job_role_arn(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team)}"


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
        "sfn_role": o.step_functions_role_arn,
        "events_role": o.eventbridge_role_arn,
        "table_name": o.state_table_name,
        "table_arn": o.state_table_arn,
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


# ---------------------------------------------------------------- the state table


def test_state_table_is_metaflows_schema_on_demand_ttl_pitr_and_platform_key(unprotected: Deployment) -> None:
    urn = "orchestration-state-table"
    t = unprotected.of(TABLE)[urn].inputs
    assert t["name"] == naming.state_table(ENV), urn
    assert t["billingMode"] == "PAY_PER_REQUEST", urn
    assert "readCapacity" not in t and "writeCapacity" not in t, urn
    assert t["hashKey"] == "pathspec" and "rangeKey" not in t, urn
    assert t["attributes"] == [{"name": "pathspec", "type": "S"}], urn
    assert t["ttl"] == {"attributeName": "ttl", "enabled": True}, urn
    assert t["pointInTimeRecovery"] == {"enabled": True}, urn
    assert t["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}, urn
    assert t["tags"] == TAGS, urn


def test_state_table_is_protected_exactly_when_the_stack_says(unprotected: Deployment, protected: Deployment) -> None:
    urn = "orchestration-state-table"
    for deployment, protect in ((unprotected, False), (protected, True)):
        reg = deployment.registration(urn)
        assert reg.protect is protect, f"{reg.urn}: protect={reg.protect}"
        assert reg.retain_on_delete is protect, f"{reg.urn}: retainOnDelete={reg.retain_on_delete}"
        assert bool(deployment.of(TABLE)[urn].inputs.get("deletionProtectionEnabled")) is protect, reg.urn
    # Nothing else is protected: roles, policies and the log group are recreated freely.
    for reg in protected.monitor.registrations:
        if reg.custom and reg.name != urn:
            assert not reg.protect, reg.urn


# ---------------------------------------------------------------- the log group


def test_log_group_retention_from_the_stack_and_the_log_key_never_the_datastore_key(unprotected, protected) -> None:
    urn = "orchestration-log-group"
    for deployment, days, key in ((unprotected, 30, None), (protected, 365, LOG_KEY)):
        g = deployment.of(LOG_GROUP)[urn].inputs
        assert g["name"] == naming.step_functions_log_group(ENV), urn
        assert g["retentionInDays"] == days, urn
        assert g.get("kmsKeyId") == key, f"{urn}: kmsKeyId {g.get('kmsKeyId')}, expected {key}"
        assert g.get("kmsKeyId") != KEY, f"{urn}: the datastore key's default policy does not admit CloudWatch Logs"
        assert g["tags"] == TAGS, urn


# ---------------------------------------------------------------- roles


def test_step_functions_role_trust_and_policy(unprotected: Deployment) -> None:
    urn = "orchestration-step-functions"
    role = unprotected.of(ROLE)[urn].inputs
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}, urn
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, urn
    assert role["tags"] == TAGS, urn
    policy = unprotected.of(ROLE_POLICY)[urn].inputs
    assert policy["role"] == f"{urn}_id", urn
    doc = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    every_queue = {queue_arn(t, k) for t, kinds in TEAMS.items() for k in kinds}
    assert set(doc["SubmitToEnvironmentQueues"]["Resource"]) == every_queue | {
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/*"
    }, urn
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.state_table(ENV)}"
    assert doc["ReadForeachState"]["Resource"] == table_arn, urn
    assert doc["StateTableKeyThroughDynamoDB"]["Resource"] == KEY, urn
    assert doc["StateTableKeyThroughDynamoDB"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }, urn
    assert doc["BatchSyncManagedRule"]["Resource"].endswith(":rule/StepFunctionsGetEventsForBatchJobsRule"), urn


def test_eventbridge_role_starts_only_team_prefixed_state_machines(unprotected: Deployment) -> None:
    urn = "orchestration-eventbridge"
    prefixes = sorted(naming.state_machine_name_prefix(ENV, t) for t in TEAMS)
    (trust,) = json.loads(unprotected.of(ROLE)[urn].inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}, urn
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{p}*" for p in prefixes], (
        urn
    )
    (s,) = json.loads(unprotected.of(ROLE_POLICY)[urn].inputs["policy"])["Statement"]
    assert s["Action"] == "states:StartExecution", urn
    assert s["Resource"] == [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{p}*" for p in prefixes], urn


def test_each_job_role_gets_the_state_table_and_nothing_else(unprotected: Deployment) -> None:
    policies = unprotected.of(ROLE_POLICY)
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.state_table(ENV)}"
    for team in TEAMS:
        urn = f"orchestration-job-{team}"
        p = policies[urn].inputs
        assert p["role"] == naming.job_role(ENV, team), f"{urn}: attached to {p['role']}"
        assert p["name"] == "sfn-state-table", urn
        doc = {s["Sid"]: s for s in json.loads(p["policy"])["Statement"]}
        assert set(doc) == {"ForeachState", "StateTableKeyThroughDynamoDB"}, urn
        assert doc["ForeachState"]["Resource"] == table_arn, urn
    assert len(policies) == 2 + len(TEAMS), sorted(policies)


def test_every_child_is_parented_and_named_after_the_component(unprotected: Deployment) -> None:
    (component,) = [r for r in unprotected.monitor.registrations if r.type == TOKEN]
    for reg in unprotected.monitor.registrations:
        if reg.custom:
            assert reg.parent == component.urn, f"{reg.urn}: parent {reg.parent}"
            assert reg.name.startswith("orchestration-"), reg.urn
    assert {r.type for r in unprotected.monitor.registrations if r.custom} == {TABLE, LOG_GROUP, ROLE, ROLE_POLICY}


def test_outputs(unprotected: Deployment) -> None:
    out = unprotected.outputs
    assert out["prefixes"] == {t: naming.state_machine_prefix(ENV, t) for t in TEAMS}
    assert out["table_name"] == naming.state_table(ENV)
    assert out["log_group_name"] == naming.step_functions_log_group(ENV)
    assert out["execution_log_group_arn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.step_functions_log_group(ENV)}:*"
    )
    assert out["sfn_role"].startswith(f"arn:aws:iam::{ACCOUNT}:role/orchestration-step-functions")
    assert out["events_role"].startswith(f"arn:aws:iam::{ACCOUNT}:role/orchestration-eventbridge")


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
        fargate_execution_role_arn=None,
        profile_json="{}",
        tags=TAGS,
        extra_statements=extra_statements,
    )


def test_team_role_manages_only_its_prefix_and_passes_only_the_platform_roles() -> None:
    """The program's wiring: Orchestration.data_scientist_statements[team] -> TeamArgs.extra_statements."""

    def program():
        orchestration = Orchestration("orchestration", make_args(teams={"fraud": ("cpu",)}))
        team = TeamComponent("team-fraud", team_args([orchestration.data_scientist_statements["fraud"]]))
        return {"role": team.data_scientist_role_arn, "sfn_role": orchestration.step_functions_role_arn}

    deployment = deploy(program)
    urn = "team-fraud-data-scientist"
    doc = {s["Sid"]: s for s in json.loads(deployment.of(ROLE_POLICY)[urn].inputs["policy"])["Statement"]}
    prefix = naming.state_machine_name_prefix(ENV, "fraud")
    sfn_role = f"arn:aws:iam::{ACCOUNT}:role/orchestration-step-functions-1a2b3c4"
    events_role = f"arn:aws:iam::{ACCOUNT}:role/orchestration-eventbridge-1a2b3c4"
    assert deployment.outputs["sfn_role"] == sfn_role
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
        for other in TEAMS:
            if other != team:
                assert naming.state_machine_name_prefix(ENV, other) not in text, f"{team}'s statements name {other}"
        assert {s["Sid"] for s in statements[team]} == {
            "OwnStateMachines",
            "OwnExecutions",
            "ListStateMachines",
            "OwnScheduleRules",
            "OwnScheduleTargets",
            "PassStepFunctionsRole",
            "PassEventBridgeRole",
        }, team
