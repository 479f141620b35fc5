"""Pure tests of modules/orchestration/policies.py and the state-machine names in core/naming.py."""

from __future__ import annotations

import itertools
import json

import pytest

from core import naming
from modules.orchestration import policies
from tools.guards import foreign_team_references, policy_decision

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "dynamodb.us-east-1.amazonaws.com"
TEAMS = ("fraud", "fraud-x", "forecasting")  # "fraud" is the start of "fraud-x": the tricky pair
LEGACY_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.state_table(ENV)}"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.step_functions_log_group(ENV)}"


def queue_arn(team: str, kind: str = "cpu") -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def table_arn(team: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.team_state_table(ENV, team)}"


def definition_arn(team: str, revision: str = ":1") -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team)}0a1b2c3d{revision}"


def machine_arn(team: str, flow: str = "RegionForecastFlow") -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{naming.state_machine_name_prefix(ENV, team)}{flow}"


def rule_arn(team: str, flow: str = "RegionForecastFlow") -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{naming.state_machine_name_prefix(ENV, team)}{flow}"


def sfn_role(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.step_functions_role(ENV, team)}"


def events_role(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.eventbridge_role(ENV, team)}"


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def by_sid(doc: dict) -> dict[str, dict]:
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids)), f"duplicate Sids: {sids}"
    return {s["Sid"]: s for s in doc["Statement"]}


def sfn_kwargs(team: str = "fraud") -> dict:
    """What the component hands ``step_functions_role_policy`` for ``team``."""
    return dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        team=team,
        job_queue_arns=[queue_arn(team, "cpu"), queue_arn(team, "gpu")],
        job_definition_prefix=naming.job_definition_prefix(ENV, team),
        state_table_arn=table_arn(team),
        kms_key_arn=KEY,
        dynamodb_via=VIA,
    )


def sfn_policy(team: str = "fraud") -> dict:
    return policies.step_functions_role_policy(**sfn_kwargs(team))


def events_policy(team: str = "fraud") -> dict:
    return policies.eventbridge_role_policy(
        partition="aws", region=REGION, account_id=ACCOUNT, name_prefix=naming.state_machine_name_prefix(ENV, team)
    )


def job_table_policy(team: str = "fraud") -> dict:
    return policies.job_role_state_table_policy(state_table_arn=table_arn(team), kms_key_arn=KEY, dynamodb_via=VIA)


def ds_statements(team: str) -> list[dict]:
    return policies.data_scientist_statements(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        team=team,
        name_prefix=naming.state_machine_name_prefix(ENV, team),
        step_functions_role_arn=sfn_role(team),
        eventbridge_role_arn=events_role(team),
    )


OTHERS = [(a, b) for a in TEAMS for b in TEAMS if a != b]


# ---------------------------------------------------------------- names


def test_state_machine_prefix_is_metaflows_setting_and_names_carry_its_separator() -> None:
    assert naming.state_machine_prefix("dev", "fraud") == "strata-dev-fraud"
    # Metaflow: SFN_STATE_MACHINE_PREFIX + "_" + flow name (step_functions_cli.resolve_state_machine_name)
    assert naming.state_machine_name_prefix("dev", "fraud") == "strata-dev-fraud_"
    assert naming.state_table("prod") == "strata-prod-sfn-state"
    assert naming.step_functions_log_group("prod") == "/aws/vendedlogs/states/strata-prod"


def test_each_team_has_its_own_roles_table_and_job_names() -> None:
    assert naming.step_functions_role("dev", "fraud") == "strata-dev-fraud-sfn"
    assert naming.eventbridge_role("dev", "fraud") == "strata-dev-fraud-events"
    assert naming.team_state_table("dev", "fraud") == "strata-dev-fraud-sfn-state"
    assert naming.job_definition_prefix("dev", "fraud") == "strata-dev-fraud_"
    assert naming.job_log_group("dev", "fraud") == "/strata/dev/batch/fraud"
    assert naming.step_functions_log_policy("dev") == "strata-dev-sfn-execution-history"
    per_team = [naming.step_functions_role, naming.eventbridge_role, naming.team_state_table, naming.job_definition_prefix]
    names = [f(ENV, t) for f in per_team for t in TEAMS]
    assert len(set(names)) == len(names), "no two teams (or two purposes) share a name"
    assert naming.state_table(ENV) not in names, "the legacy shared table is none of the teams' tables"


@pytest.mark.parametrize("a,b", OTHERS)
def test_no_team_role_name_reaches_another_in_an_arn_pattern(a: str, b: str) -> None:
    """``fraud``'s job-definition prefix (an IAM pattern ``<prefix>*``) must not start ``fraud-x``'s names."""
    assert not naming.job_definition_prefix(ENV, b).startswith(naming.job_definition_prefix(ENV, a))
    assert not naming.state_machine_name_prefix(ENV, b).startswith(naming.state_machine_name_prefix(ENV, a))


@pytest.mark.parametrize("a,b", list(itertools.permutations(["ab", "ab-c", "ab-cd", "abc", "a1", "a1-b2-c3"], 2)))
def test_no_team_prefix_starts_another_teams_names(a: str, b: str) -> None:
    """The IAM patterns are "<prefix>*": a team's pattern must not match any name of another team."""
    assert not naming.state_machine_name_prefix(ENV, b).startswith(naming.state_machine_name_prefix(ENV, a))
    # ...which the brief's "strata-<env>-<team>-" would not give: "strata-dev-ab-" starts "strata-dev-ab-c-".
    if b.startswith(a + "-"):
        assert f"strata-{ENV}-{b}-".startswith(f"strata-{ENV}-{a}-")


def test_longest_prefix_survives_metaflows_name_cuts() -> None:
    longest = naming.state_machine_name_prefix("e" * 12, "t" * 24)
    assert naming.ENV_NAME.match("e" * 12) and naming.TEAM_NAME.match("t" * 24)
    assert len(longest) == 45
    assert len(longest) <= 47, "EventBridge rule names are cut to 47 characters + '-' + hash beyond 64"


def test_team_name_prefixes_refuses_overlaps() -> None:
    good = {t: naming.state_machine_name_prefix(ENV, t) for t in TEAMS}
    assert policies.team_name_prefixes(good) == sorted(good.values())
    with pytest.raises(ValueError, match="is the start of"):
        policies.team_name_prefixes({"a": "strata-dev-ab-", "b": "strata-dev-ab-c-"})


def test_execution_log_group_arn_ends_with_star() -> None:
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/strata-dev"
    assert policies.execution_log_group_arn(arn) == f"{arn}:*"
    assert policies.execution_log_group_arn(f"{arn}:*") == f"{arn}:*"


# ---------------------------------------------------------------- the Step Functions roles (one per team)


@pytest.mark.parametrize("team", TEAMS)
def test_step_functions_trust_is_the_teams_state_machines_of_this_account_only(team: str) -> None:
    doc = policies.step_functions_trust_policy("aws", REGION, ACCOUNT, naming.state_machine_name_prefix(ENV, team))
    (s,) = doc["Statement"]
    assert s["Principal"] == {"Service": "states.amazonaws.com"} and s["Action"] == "sts:AssumeRole"
    assert s["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-{team}_*"},
    }


@pytest.mark.parametrize("a,b", OTHERS)
def test_a_teams_roles_cannot_be_assumed_for_another_teams_machines_or_rules(a: str, b: str) -> None:
    """The trust policies as a resource-side check: Step Functions (EventBridge) acting for B's state machine
    (rule) may not assume A's role, so B cannot run its machines as A even if B could pass A's role."""
    sfn = policies.step_functions_trust_policy("aws", REGION, ACCOUNT, naming.state_machine_name_prefix(ENV, a))
    events = policies.eventbridge_trust_policy("aws", REGION, ACCOUNT, naming.state_machine_name_prefix(ENV, a))
    for doc, service, source in ((sfn, "states.amazonaws.com", machine_arn), (events, "events.amazonaws.com", rule_arn)):

        def assume(context: dict, principal: str = service, doc: dict = doc) -> str:
            return policy_decision([doc], "sts:AssumeRole", None, context, principal={"Service": principal})

        assert assume({"aws:SourceAccount": ACCOUNT, "aws:SourceArn": source(a)}) == "allow"
        assert assume({"aws:SourceAccount": ACCOUNT, "aws:SourceArn": source(b)}) == "implicit-deny", source(b)
        assert assume({"aws:SourceAccount": ACCOUNT}) == "implicit-deny", "no source"
        other_account = {"aws:SourceAccount": "222222222222", "aws:SourceArn": source(a).replace(ACCOUNT, "222222222222")}
        assert assume(other_account) == "implicit-deny"
        wrong_service = "lambda.amazonaws.com"
        assert assume({"aws:SourceAccount": ACCOUNT, "aws:SourceArn": source(a)}, wrong_service) == "implicit-deny"


def test_trust_policies_refuse_a_loose_prefix() -> None:
    for trust in (policies.step_functions_trust_policy, policies.eventbridge_trust_policy):
        for bad in ("", "strata-dev-*"):
            with pytest.raises(ValueError):
                trust("aws", REGION, ACCOUNT, bad)
        with pytest.raises(ValueError):
            trust("aws", REGION, "", naming.state_machine_name_prefix(ENV, "fraud"))


def test_step_functions_role_submits_only_to_its_teams_queues_and_definitions() -> None:
    doc = by_sid(sfn_policy("fraud"))
    submit = doc["SubmitToOwnQueues"]
    assert submit["Action"] == "batch:SubmitJob"
    assert submit["Resource"] == [
        queue_arn("fraud", "cpu"),
        queue_arn("fraud", "gpu"),
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/strata-dev-fraud_*:*",
    ]
    assert submit["Condition"] == {"StringEquals": {"aws:RequestTag/team": "fraud", "aws:ResourceTag/team": "fraud"}}
    assert doc["TerminateOwnJobs"] == {
        "Sid": "TerminateOwnJobs",
        "Effect": "Allow",
        "Action": "batch:TerminateJob",
        "Resource": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "fraud"}},
    }
    assert doc["TagOwnJobsAtSubmit"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/team": "fraud"},
        "StringEqualsIfExists": {"aws:ResourceTag/team": "fraud"},
    }
    assert doc["TagOwnJobsAtSubmit"]["Resource"] == f"arn:aws:batch:{REGION}:{ACCOUNT}:job/*", "jobs only"
    assert doc["DescribeJobs"]["Action"] == "batch:DescribeJobs"


JOB = f"arn:aws:batch:{REGION}:{ACCOUNT}:job/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"


@pytest.mark.parametrize("a,b", OTHERS)
def test_a_teams_state_machines_reach_none_of_another_teams_batch(a: str, b: str) -> None:
    """Issue 11, path 2 as observed: A's state machine put a job on B's queue with B's definition, and terminated
    B's running job. With A's role: its own submission is allowed, each of B's is refused."""
    doc = sfn_policy(a)
    as_a = {"aws:RequestTag/team": a, "aws:ResourceTag/team": a}
    for own in (queue_arn(a, "cpu"), queue_arn(a, "gpu"), definition_arn(a)):
        assert policy_decision([doc], "batch:SubmitJob", own, as_a) == "allow", own
    for theirs in (queue_arn(b, "cpu"), queue_arn(b, "gpu"), definition_arn(b)):
        assert policy_decision([doc], "batch:SubmitJob", theirs, as_a) == "implicit-deny", theirs
    tagged_b = {"aws:RequestTag/team": a, "aws:ResourceTag/team": b}
    assert policy_decision([doc], "batch:SubmitJob", definition_arn(a), tagged_b) == "implicit-deny", "a definition tagged B"
    assert policy_decision([doc], "batch:SubmitJob", definition_arn(a, ""), as_a) == "implicit-deny", "no revision"
    assert policy_decision([doc], "batch:SubmitJob", queue_arn(a), {"aws:ResourceTag/team": a}) == "implicit-deny", "untagged"
    assert policy_decision([doc], "batch:TerminateJob", JOB, {"aws:ResourceTag/team": a}) == "allow"
    assert policy_decision([doc], "batch:TerminateJob", JOB, {"aws:ResourceTag/team": b}) == "implicit-deny"
    assert policy_decision([doc], "batch:TerminateJob", JOB, {}) == "implicit-deny", "an untagged job is nobody's"
    retag = {"aws:RequestTag/team": a, "aws:ResourceTag/team": b}
    assert policy_decision([doc], "batch:TagResource", JOB, retag) == "implicit-deny", "claiming B's job"
    assert policy_decision([doc], "dynamodb:GetItem", table_arn(b), {}) == "implicit-deny"
    assert policy_decision([doc], "dynamodb:GetItem", LEGACY_TABLE, {}) == "implicit-deny", "the legacy shared table"
    assert policy_decision([doc], "dynamodb:GetItem", table_arn(a), {}) == "allow"


def test_step_functions_role_has_the_batch_sync_managed_rule_only() -> None:
    rule = by_sid(sfn_policy())["BatchSyncManagedRule"]
    assert sorted(rule["Action"]) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert rule["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule"


def test_step_functions_role_reads_only_its_teams_table_through_dynamodb() -> None:
    doc = by_sid(sfn_policy("fraud"))
    assert doc["ReadForeachState"]["Action"] == ["dynamodb:GetItem"]
    assert doc["ReadForeachState"]["Resource"] == table_arn("fraud")
    key = doc["StateTableKeyThroughDynamoDB"]
    assert key["Resource"] == KEY and sorted(key["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": VIA}}


def test_star_resources_only_where_aws_has_no_resource_level_permissions() -> None:
    for s in sfn_policy()["Statement"]:
        assert s["Effect"] == "Allow"
        assert all("*" not in a for a in _list(s["Action"])), s
        if s["Resource"] == "*":
            assert s["Sid"] in {"DescribeJobs", "ExecutionHistoryLogDelivery"}, s
    logs = by_sid(sfn_policy())["ExecutionHistoryLogDelivery"]
    assert set(logs["Action"]) == set(policies.LOG_DELIVERY_ACTIONS)
    assert all(a.startswith("logs:") for a in logs["Action"])


def test_no_role_may_put_a_log_resource_policy() -> None:
    """``logs:PutResourcePolicy`` is account-wide: a state machine holding it could let anything write to every
    log group. The stack creates the one resource policy log delivery needs at deploy time instead."""
    assert "logs:PutResourcePolicy" not in policies.LOG_DELIVERY_ACTIONS
    documents = [sfn_policy(t) for t in TEAMS] + [events_policy(t) for t in TEAMS] + [job_table_policy(t) for t in TEAMS]
    documents += [{"Statement": ds_statements(t)} for t in TEAMS]
    for doc in documents:
        assert "PutResourcePolicy" not in json.dumps(doc), doc
        assert policy_decision([doc], "logs:PutResourcePolicy", "*", {}) == "implicit-deny"


def test_log_delivery_policy_lets_only_log_delivery_of_this_account_write_the_groups_streams() -> None:
    doc = policies.log_delivery_policy("aws", REGION, ACCOUNT, LOG_GROUP)
    assert policies.log_delivery_policy("aws", REGION, ACCOUNT, f"{LOG_GROUP}:*") == doc, "either ARN form"
    (s,) = doc["Statement"]
    assert s["Effect"] == "Allow"
    assert s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert sorted(s["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert s["Resource"] == f"{LOG_GROUP}:log-stream:*", "the execution-history group only"
    assert s["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"},
    }
    # As CloudWatch Logs evaluates it for a delivery: the group's streams, from this account only.
    ours = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:delivery:abc"}
    stream = f"{LOG_GROUP}:log-stream:states/strata-dev-fraud_Flow/abc"

    def write(resource: str, context: dict, service: str = "delivery.logs.amazonaws.com", action="logs:PutLogEvents") -> str:
        return policy_decision([doc], action, resource, context, principal={"Service": service})

    assert write(stream, ours) == "allow"
    job_logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.job_log_group(ENV, 'fraud')}:log-stream:x"
    assert write(job_logs, ours) == "implicit-deny", "no team's job logs"
    foreign = {"aws:SourceAccount": "222222222222", "aws:SourceArn": "arn:aws:logs:us-east-1:222222222222:delivery:x"}
    assert write(stream, foreign) == "implicit-deny", "confused deputy"
    assert write(stream, ours, service="states.amazonaws.com") == "implicit-deny", "log delivery only"
    assert write(LOG_GROUP, ours, action="logs:DeleteLogGroup") == "implicit-deny"


@pytest.mark.parametrize("bad", ["/aws/vendedlogs/states/strata-dev", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/*", ""])
def test_log_delivery_policy_refuses_a_loose_group(bad: str) -> None:
    with pytest.raises(ValueError):
        policies.log_delivery_policy("aws", REGION, ACCOUNT, bad)


@pytest.mark.parametrize(
    "override",
    [
        {"job_queue_arns": []},
        {"job_queue_arns": [f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/*"]},
        {"state_table_arn": "strata-dev-fraud-sfn-state"},
        {"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
        {"job_definition_prefix": ""},
        {"job_definition_prefix": "strata-dev-*"},
        {"team": ""},
        {"team": "*"},
    ],
)
def test_step_functions_role_refuses_wildcards_and_non_arns(override: dict) -> None:
    with pytest.raises(ValueError):
        policies.step_functions_role_policy(**{**sfn_kwargs("fraud"), **override})


@pytest.mark.parametrize("team", TEAMS)
def test_a_teams_step_functions_role_names_no_other_team(team: str) -> None:
    for doc in (sfn_policy(team), events_policy(team), job_table_policy(team)):
        assert foreign_team_references(doc, team, TEAMS) == [], doc


# ---------------------------------------------------------------- the EventBridge roles (one per team)


def test_eventbridge_role_starts_only_its_teams_state_machines() -> None:
    (s,) = events_policy("fraud")["Statement"]
    assert s["Action"] == "states:StartExecution"
    assert s["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-fraud_*"


@pytest.mark.parametrize("a,b", OTHERS)
def test_a_teams_schedules_start_none_of_another_teams_machines(a: str, b: str) -> None:
    doc = events_policy(a)
    assert policy_decision([doc], "states:StartExecution", machine_arn(a), {}) == "allow"
    assert policy_decision([doc], "states:StartExecution", machine_arn(b), {}) == "implicit-deny"


def test_eventbridge_trust_is_limited_to_the_teams_rules() -> None:
    (s,) = policies.eventbridge_trust_policy("aws", REGION, ACCOUNT, naming.state_machine_name_prefix(ENV, "fraud"))["Statement"]
    assert s["Principal"] == {"Service": "events.amazonaws.com"} and s["Action"] == "sts:AssumeRole"
    assert s["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/strata-dev-fraud_*"},
    }


# ---------------------------------------------------------------- the job roles


def test_job_role_gets_item_calls_on_its_teams_table_and_the_key_through_dynamodb_only() -> None:
    doc = by_sid(job_table_policy("fraud"))
    assert sorted(doc["ForeachState"]["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert doc["ForeachState"]["Resource"] == table_arn("fraud")
    assert doc["StateTableKeyThroughDynamoDB"]["Condition"] == {"StringEquals": {"kms:ViaService": VIA}}
    assert "dynamodb:DeleteItem" not in json.dumps(doc) and "dynamodb:Scan" not in json.dumps(doc)


@pytest.mark.parametrize("a,b", OTHERS)
def test_a_teams_jobs_cannot_touch_another_teams_foreach_state(a: str, b: str) -> None:
    """Issue 11, path 7: A's job changing B's foreach cardinality."""
    doc = job_table_policy(a)
    for action in policies.TASK_TABLE_ACTIONS:
        assert policy_decision([doc], action, table_arn(a), {}) == "allow", action
        assert policy_decision([doc], action, table_arn(b), {}) == "implicit-deny", action
        assert policy_decision([doc], action, LEGACY_TABLE, {}) == "implicit-deny", f"{action} on the legacy table"


def test_job_role_table_policy_refuses_a_loose_table() -> None:
    for bad in ("strata-dev-fraud-sfn-state", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"):
        with pytest.raises(ValueError):
            policies.job_role_state_table_policy(state_table_arn=bad, kms_key_arn=KEY, dynamodb_via=VIA)


# ---------------------------------------------------------------- a data scientist's statements


def test_data_scientist_manages_only_its_own_state_machines_and_executions() -> None:
    s = by_sid({"Statement": ds_statements("fraud")})
    machines = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-fraud_*"
    assert s["OwnStateMachines"]["Resource"] == machines
    assert set(s["OwnStateMachines"]["Action"]) == {
        "states:CreateStateMachine",
        "states:UpdateStateMachine",
        "states:DescribeStateMachine",
        "states:StartExecution",
        "states:ListExecutions",
        "states:DeleteStateMachine",
    }
    assert s["OwnExecutions"]["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:strata-dev-fraud_*:*"
    assert s["ListStateMachines"] == {
        "Sid": "ListStateMachines",
        "Effect": "Allow",
        "Action": "states:ListStateMachines",
        "Resource": "*",
    }


def test_data_scientist_schedules_only_its_own_machines() -> None:
    s = by_sid({"Statement": ds_statements("fraud")})
    rules = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/strata-dev-fraud_*"
    assert s["OwnScheduleRules"]["Resource"] == rules
    assert "events:PutTargets" not in s["OwnScheduleRules"]["Action"], "PutTargets only with its TargetArn condition"
    targets = s["OwnScheduleTargets"]
    assert (targets["Action"], targets["Resource"]) == ("events:PutTargets", rules)
    assert targets["Condition"] == {
        "ForAllValues:ArnLike": {"events:TargetArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-fraud_*"},
        "Null": {"events:TargetArn": "false"},
    }


def test_data_scientist_passes_each_of_its_teams_roles_only_to_its_service() -> None:
    s = by_sid({"Statement": ds_statements("fraud")})
    assert s["PassStepFunctionsRole"]["Resource"] == sfn_role("fraud")
    assert s["PassStepFunctionsRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}
    assert s["PassEventBridgeRole"]["Resource"] == events_role("fraud")
    assert s["PassEventBridgeRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}}
    assert not any(a.startswith("dynamodb:") for st in ds_statements("fraud") for a in _list(st["Action"]))


@pytest.mark.parametrize("team,other", [(a, b) for a in TEAMS for b in TEAMS if a != b])
def test_a_teams_statements_reach_no_name_of_another_team(team: str, other: str) -> None:
    """Every ARN pattern of team A, matched against team B's state machine, rule and execution ARNs."""
    import fnmatch

    other_prefix = naming.state_machine_name_prefix(ENV, other)
    others = [
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{other_prefix}RegionForecastFlow",
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{other_prefix}RegionForecastFlow:sfn-1",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{other_prefix}RegionForecastFlow",
        sfn_role(other),
        events_role(other),
    ]
    for statement in ds_statements(team):
        patterns = [r for r in _list(statement["Resource"]) if r != "*"]
        conditions = json.dumps(statement.get("Condition", {}))
        for pattern in patterns + (
            [json.loads(conditions)["ForAllValues:ArnLike"]["events:TargetArn"]] if "TargetArn" in conditions else []
        ):
            for arn in others:
                assert not fnmatch.fnmatchcase(arn, pattern), f"{team}'s {statement['Sid']} ({pattern}) matches {other}'s {arn}"
