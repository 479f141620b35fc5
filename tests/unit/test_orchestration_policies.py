"""Pure tests of modules/orchestration/policies.py and the state-machine names in core/naming.py."""

from __future__ import annotations

import itertools
import json

import pytest

from core import naming
from modules.orchestration import policies

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.state_table(ENV)}"
VIA = "dynamodb.us-east-1.amazonaws.com"
SFN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orchestration-step-functions-1a2b3c4"
EVENTS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orchestration-eventbridge-5d6e7f8"
TEAMS = ("fraud", "fraud-x", "forecasting")  # "fraud" is the start of "fraud-x": the tricky pair


def queue_arn(team: str, kind: str = "cpu") -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def by_sid(doc: dict) -> dict[str, dict]:
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids)), f"duplicate Sids: {sids}"
    return {s["Sid"]: s for s in doc["Statement"]}


def sfn_policy(queues=None) -> dict:
    return policies.step_functions_role_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        job_queue_arns=queues or [queue_arn(t) for t in TEAMS],
        state_table_arn=TABLE,
        kms_key_arn=KEY,
        dynamodb_via=VIA,
    )


def ds_statements(team: str) -> list[dict]:
    return policies.data_scientist_statements(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        name_prefix=naming.state_machine_name_prefix(ENV, team),
        step_functions_role_arn=SFN_ROLE,
        eventbridge_role_arn=EVENTS_ROLE,
    )


# ---------------------------------------------------------------- names


def test_state_machine_prefix_is_metaflows_setting_and_names_carry_its_separator() -> None:
    assert naming.state_machine_prefix("dev", "fraud") == "strata-dev-fraud"
    # Metaflow: SFN_STATE_MACHINE_PREFIX + "_" + flow name (step_functions_cli.resolve_state_machine_name)
    assert naming.state_machine_name_prefix("dev", "fraud") == "strata-dev-fraud_"
    assert naming.state_table("prod") == "strata-prod-sfn-state"
    assert naming.step_functions_log_group("prod") == "/aws/vendedlogs/states/strata-prod"


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


# ---------------------------------------------------------------- the Step Functions role


def test_step_functions_trust_is_states_of_this_account_only() -> None:
    (s,) = policies.step_functions_trust_policy("aws", REGION, ACCOUNT)["Statement"]
    assert s["Principal"] == {"Service": "states.amazonaws.com"} and s["Action"] == "sts:AssumeRole"
    assert s["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert s["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*"}


def test_step_functions_role_submits_only_to_the_environments_queues() -> None:
    doc = by_sid(sfn_policy())
    submit = doc["SubmitToEnvironmentQueues"]
    assert submit["Action"] == "batch:SubmitJob"
    assert set(submit["Resource"]) == {
        *(queue_arn(t) for t in TEAMS),
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/*",
    }
    assert not any(r.endswith(":job-queue/*") for r in submit["Resource"])
    assert doc["TerminateJobs"] == {
        "Sid": "TerminateJobs",
        "Effect": "Allow",
        "Action": "batch:TerminateJob",
        "Resource": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/*",
    }
    assert doc["DescribeJobs"]["Action"] == "batch:DescribeJobs"


def test_step_functions_role_has_the_batch_sync_managed_rule_only() -> None:
    rule = by_sid(sfn_policy())["BatchSyncManagedRule"]
    assert sorted(rule["Action"]) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert rule["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule"


def test_step_functions_role_reads_only_the_state_table_through_dynamodb() -> None:
    doc = by_sid(sfn_policy())
    assert doc["ReadForeachState"]["Action"] == ["dynamodb:GetItem"]
    assert doc["ReadForeachState"]["Resource"] == TABLE
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


@pytest.mark.parametrize(
    "override",
    [
        {"job_queue_arns": []},
        {"job_queue_arns": [f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/*"]},
        {"state_table_arn": "strata-dev-sfn-state"},
        {"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
    ],
)
def test_step_functions_role_refuses_wildcards_and_non_arns(override: dict) -> None:
    kwargs = dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        job_queue_arns=[queue_arn("fraud")],
        state_table_arn=TABLE,
        kms_key_arn=KEY,
        dynamodb_via=VIA,
    )
    kwargs.update(override)
    with pytest.raises(ValueError):
        policies.step_functions_role_policy(**kwargs)


# ---------------------------------------------------------------- the EventBridge role


def test_eventbridge_role_starts_only_the_teams_state_machines() -> None:
    prefixes = [naming.state_machine_name_prefix(ENV, t) for t in TEAMS]
    (s,) = policies.eventbridge_role_policy(partition="aws", region=REGION, account_id=ACCOUNT, name_prefixes=prefixes)[
        "Statement"
    ]
    assert s["Action"] == "states:StartExecution"
    assert s["Resource"] == sorted(f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{p}*" for p in prefixes)
    assert not any(r.endswith("stateMachine:*") for r in s["Resource"])


def test_eventbridge_trust_is_limited_to_the_teams_rules() -> None:
    prefixes = [naming.state_machine_name_prefix(ENV, t) for t in TEAMS]
    (s,) = policies.eventbridge_trust_policy("aws", REGION, ACCOUNT, prefixes)["Statement"]
    assert s["Principal"] == {"Service": "events.amazonaws.com"}
    assert s["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert s["Condition"]["ArnLike"]["aws:SourceArn"] == sorted(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{p}*" for p in prefixes)
    with pytest.raises(ValueError):
        policies.eventbridge_trust_policy("aws", REGION, ACCOUNT, [])


# ---------------------------------------------------------------- the job roles


def test_job_role_gets_item_calls_on_the_table_and_the_key_through_dynamodb_only() -> None:
    doc = by_sid(policies.job_role_state_table_policy(state_table_arn=TABLE, kms_key_arn=KEY, dynamodb_via=VIA))
    assert sorted(doc["ForeachState"]["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert doc["ForeachState"]["Resource"] == TABLE
    assert doc["StateTableKeyThroughDynamoDB"]["Condition"] == {"StringEquals": {"kms:ViaService": VIA}}
    assert "dynamodb:DeleteItem" not in json.dumps(doc) and "dynamodb:Scan" not in json.dumps(doc)


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
        "ArnLike": {"events:TargetArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:strata-dev-fraud_*"}
    }


def test_data_scientist_passes_each_platform_role_only_to_its_service() -> None:
    s = by_sid({"Statement": ds_statements("fraud")})
    assert s["PassStepFunctionsRole"]["Resource"] == SFN_ROLE
    assert s["PassStepFunctionsRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}
    assert s["PassEventBridgeRole"]["Resource"] == EVENTS_ROLE
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
    ]
    for statement in ds_statements(team):
        patterns = [r for r in _list(statement["Resource"]) if r != "*"]
        conditions = json.dumps(statement.get("Condition", {}))
        for pattern in patterns + ([json.loads(conditions)["ArnLike"]["events:TargetArn"]] if "TargetArn" in conditions else []):
            for arn in others:
                assert not fnmatch.fnmatchcase(arn, pattern), f"{team}'s {statement['Sid']} ({pattern}) matches {other}'s {arn}"
