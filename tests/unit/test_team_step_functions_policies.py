"""The Step Functions part of a team's data-scientist policy: the orchestration layer's statements for the team
(modules/orchestration/policies.py ``data_scientist_statements``, which the program hands to the team as
``extra_statements``) in the team's document (modules/team/policies.py). Present only when handed in, and no
statement of team A reaches a resource of team B: not its state machines, not its Step Functions or EventBridge
role (one of each per team), not its queues, job definitions, log group or foreach table."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from core import naming
from modules.orchestration import policies as orchestration_policies
from modules.team import policies
from tools.guards import policy_decision

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "us-east-1"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TEAMS = ("fraud", "fraud-x", "forecasting")
SFN_SIDS = {
    "OwnStateMachines",
    "TagOwnStateMachines",
    "OwnExecutions",
    "ListStateMachines",
    "OwnScheduleRules",
    "OwnSchedulesOnly",
    "OwnScheduleTargets",
    "PassStepFunctionsRole",
    "PassEventBridgeRole",
}


def sfn_role(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.step_functions_role(ENV, team)}"


def events_role(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.eventbridge_role(ENV, team)}"


def log_group_arn(team: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.job_log_group(ENV, team)}"


def queue_arn(team: str, kind: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def job_role_arn(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team)}"


def parameter_arn(team: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{naming.profile_parameter(ENV, team)}"


def sfn_statements(team: str) -> list[dict]:
    """What ``Orchestration.data_scientist_statements[team]`` holds (the same function, the same arguments)."""
    return orchestration_policies.data_scientist_statements(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        team=team,
        name_prefix=naming.state_machine_name_prefix(ENV, team),
        step_functions_role_arn=sfn_role(team),
        eventbridge_role_arn=events_role(team),
    )


def policy_for(team: str, with_sfn: bool = True) -> dict:
    return policies.data_scientist_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn=BUCKET,
        team_prefix=naming.team_prefix(team),
        kms_key_arn=KEY,
        job_queue_arns=[queue_arn(team, "cpu"), queue_arn(team, "gpu")],
        job_definition_prefix=naming.job_definition_prefix(ENV, team),
        job_log_group=naming.job_log_group(ENV, team),
        job_log_group_arn=log_group_arn(team),
        job_role_arn=job_role_arn(team),
        profile_parameter_arn=parameter_arn(team),
        kms_via_service="s3.us-east-1.amazonaws.com",
        extra_statements=sfn_statements(team) if with_sfn else (),
    )


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def resources_of_team(team: str) -> list[str]:
    """Concrete ARNs that belong to ``team`` only."""
    prefix = naming.state_machine_name_prefix(ENV, team)
    return [
        queue_arn(team, "cpu"),
        queue_arn(team, "gpu"),
        job_role_arn(team),
        sfn_role(team),
        events_role(team),
        parameter_arn(team),
        log_group_arn(team),
        f"{log_group_arn(team)}:log-stream:metaflow/default/abc",
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team)}0a1b2c:1",
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.team_state_table(ENV, team)}",
        f"{BUCKET}/{naming.team_prefix(team)}model.pkl",
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}RegionForecastFlow",
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{prefix}RegionForecastFlow:sfn-abc",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{prefix}DailyRefreshFlow",
    ]


def test_step_functions_statements_only_when_the_roles_are_given() -> None:
    without = {s["Sid"] for s in policy_for("fraud", with_sfn=False)["Statement"]}
    with_sfn = {s["Sid"] for s in policy_for("fraud")["Statement"]}
    assert not without & SFN_SIDS
    assert with_sfn - without == SFN_SIDS
    assert policy_for("fraud", with_sfn=False)["Statement"] == policy_for("fraud")["Statement"][: len(without)]


def test_the_orchestration_statements_come_last_and_unchanged() -> None:
    statements = policy_for("fraud")["Statement"]
    assert statements[-len(SFN_SIDS) :] == sfn_statements("fraud")


@pytest.mark.parametrize(
    "override",
    [
        {"name_prefix": ""},
        {"name_prefix": "strata-dev-*"},
        {"step_functions_role_arn": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"eventbridge_role_arn": "orchestration-eventbridge"},
    ],
)
def test_the_orchestration_statements_refuse_a_loose_prefix_or_role(override: dict) -> None:
    """The prefix and both roles are required (keyword-only, no default) and must be concrete."""
    kwargs = dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        team="fraud",
        name_prefix=naming.state_machine_name_prefix(ENV, "fraud"),
        step_functions_role_arn=sfn_role("fraud"),
        eventbridge_role_arn=events_role("fraud"),
    )
    with pytest.raises(ValueError):
        orchestration_policies.data_scientist_statements(**{**kwargs, **override})


def test_pass_role_is_own_job_role_plus_the_teams_two_roles_each_to_its_service() -> None:
    passes = [s for s in policy_for("fraud")["Statement"] if s["Action"] == "iam:PassRole"]
    passed = {
        r: tuple(_list(s["Condition"]["StringEquals"]["iam:PassedToService"])) for s in passes for r in _list(s["Resource"])
    }
    assert passed == {
        job_role_arn("fraud"): ("batch.amazonaws.com", "ecs-tasks.amazonaws.com"),
        sfn_role("fraud"): ("states.amazonaws.com",),
        events_role("fraud"): ("events.amazonaws.com",),
    }


@pytest.mark.parametrize("team,other", [(a, b) for a in TEAMS for b in TEAMS if a != b])
def test_a_team_passes_none_of_another_teams_roles(team: str, other: str) -> None:
    """Issue 11, path 2: "Nothing passes a role of another team" (each team has its own two roles)."""
    doc = policy_for(team)
    for role, service in (
        (sfn_role(other), "states.amazonaws.com"),
        (events_role(other), "events.amazonaws.com"),
        (job_role_arn(other), "batch.amazonaws.com"),
    ):
        assert policy_decision([doc], "iam:PassRole", role, {"iam:PassedToService": service}) == "implicit-deny", role
    # Its own, to the right service only.
    own = {"iam:PassedToService": "states.amazonaws.com"}
    assert policy_decision([doc], "iam:PassRole", sfn_role(team), own) == "allow"
    assert policy_decision([doc], "iam:PassRole", sfn_role(team), {"iam:PassedToService": "lambda.amazonaws.com"}) != "allow"
    assert policy_decision([doc], "iam:PassRole", events_role(team), own) != "allow", "the EventBridge role to Step Functions"


def test_star_resource_only_on_actions_aws_does_not_scope() -> None:
    for s in policy_for("fraud")["Statement"]:
        if "*" in _list(s["Resource"]):
            assert s["Sid"] in {"ReadBatch", "ListStateMachines"}, s


@pytest.mark.parametrize("team,other", [(a, b) for a in TEAMS for b in TEAMS if a != b])
def test_team_a_names_no_resource_of_team_b(team: str, other: str) -> None:
    """Every resource pattern (and TargetArn condition) of team A against team B's concrete ARNs."""
    doc = policy_for(team)
    theirs = resources_of_team(other)
    for s in doc["Statement"]:
        patterns = [r for r in _list(s["Resource"]) if r != "*"]
        target = s.get("Condition", {}).get("ArnLike", {}).get("events:TargetArn")
        patterns += [target] if target else []
        for pattern in patterns:
            for arn in theirs:
                assert not fnmatch.fnmatchcase(arn, pattern), f"{team}'s {s['Sid']} ({pattern}) reaches {other}'s {arn}"
    # And nothing of team B is spelled out anywhere (names of B that A's names do not contain).
    text = json.dumps(doc)
    for name in (
        naming.state_machine_name_prefix(ENV, other),
        naming.job_role(ENV, other),
        naming.step_functions_role(ENV, other),
        naming.eventbridge_role(ENV, other),
        naming.job_definition_prefix(ENV, other),
        naming.job_log_group(ENV, other),
    ):
        # a whole name: "/strata/dev/batch/fraud" is inside "/strata/dev/batch/fraud-x", which is fraud-x's own
        assert not re.search(re.escape(name) + r"(?![a-z0-9-])", text), f"{team}'s policy names {other}'s {name}"
