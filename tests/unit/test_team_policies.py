"""Pure tests of modules/team/policies.py: a team's data-scientist role reaches only that team's things."""

from __future__ import annotations

import json

import pytest

from core import naming
from modules.compute import policies as compute_policies
from modules.team import policies

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "us-east-1"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "s3.us-east-1.amazonaws.com"
FARGATE_EXEC = f"arn:aws:iam::{ACCOUNT}:role/compute-fargate-execution-1a2b3c4"
TEAMS = ("fraud", "forecasting", "research")


def queue_arn(team: str, kind: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def job_role_arn(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team)}"


def parameter_arn(team: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{naming.profile_parameter(ENV, team)}"


def policy_for(team: str, kinds: tuple[str, ...] = ("cpu",), fargate: str | None = None, extra: tuple = ()) -> dict:
    return policies.data_scientist_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn=BUCKET,
        team_prefix=naming.team_prefix(team),
        kms_key_arn=KEY,
        job_queue_arns=[queue_arn(team, k) for k in kinds],
        job_role_arn=job_role_arn(team),
        profile_parameter_arn=parameter_arn(team),
        fargate_execution_role_arn=fargate,
        kms_via_service=VIA,
        extra_statements=extra,
    )


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements_with(doc: dict, action: str) -> list[dict]:
    return [s for s in doc["Statement"] if action in _list(s["Action"])]


# ---------------------------------------------------------------- trust


def test_trust_policy_admits_exactly_the_principals() -> None:
    principals = ("arn:aws:iam::222222222222:role/fraud-developers", "arn:aws:iam::111111111111:user/alice")
    doc = policies.trust_policy(principals)
    assert len(doc["Statement"]) == 1
    (s,) = doc["Statement"]
    assert s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole"
    assert set(s["Principal"]) == {"AWS"}, "no Service or Federated principal"
    assert s["Principal"]["AWS"] == sorted(principals)


def test_trust_policy_refuses_empty_or_wildcard_principals() -> None:
    with pytest.raises(ValueError):
        policies.trust_policy(())
    with pytest.raises(ValueError):
        policies.trust_policy(("*",))
    with pytest.raises(ValueError):
        policies.trust_policy(("arn:aws:iam::111111111111:role/*",))


# ---------------------------------------------------------------- the role's policy


@pytest.mark.parametrize("team", TEAMS)
def test_policy_names_no_other_team(team: str) -> None:
    text = json.dumps(policy_for(team, ("cpu", "gpu", "fargate"), FARGATE_EXEC))
    for other in TEAMS:
        if other != team:
            assert other not in text, f"{team}'s data-scientist policy names team {other}: {text}"


def test_no_wildcard_action_and_star_resource_only_on_batch_reads() -> None:
    doc = policy_for("fraud", ("cpu", "gpu"), FARGATE_EXEC)
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow", s
        assert all("*" not in a for a in _list(s["Action"])), s
        if "*" in _list(s["Resource"]):
            assert s["Sid"] == "ReadBatch", s
            assert all(a.split(":")[1].startswith(("Describe", "List")) for a in _list(s["Action"])), s


def test_pass_role_only_own_job_role_and_only_to_batch_or_ecs_tasks() -> None:
    (no_fargate,) = statements_with(policy_for("fraud"), "iam:PassRole")
    assert no_fargate["Resource"] == [job_role_arn("fraud")]
    (with_fargate,) = statements_with(policy_for("fraud", fargate=FARGATE_EXEC), "iam:PassRole")
    assert with_fargate["Resource"] == [job_role_arn("fraud"), FARGATE_EXEC]
    passed_to = with_fargate["Condition"]["StringEquals"]["iam:PassedToService"]
    assert "ecs-tasks.amazonaws.com" in passed_to
    assert set(passed_to) <= {"ecs-tasks.amazonaws.com", "batch.amazonaws.com"}


def test_ssm_only_own_profile_parameter() -> None:
    doc = policy_for("fraud")
    ssm = [s for s in doc["Statement"] if any(a.startswith("ssm:") for a in _list(s["Action"]))]
    assert len(ssm) == 1
    assert ssm[0]["Action"] == "ssm:GetParameter"
    assert ssm[0]["Resource"] == parameter_arn("fraud")


def test_submit_only_to_own_queues() -> None:
    (submit,) = statements_with(policy_for("fraud", ("cpu", "gpu")), "batch:SubmitJob")
    job_definitions = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/*"
    assert set(submit["Resource"]) == {queue_arn("fraud", "cpu"), queue_arn("fraud", "gpu"), job_definitions}
    assert not any(":job-queue/*" in r for r in submit["Resource"])
    (register,) = statements_with(policy_for("fraud"), "batch:RegisterJobDefinition")
    assert register["Resource"] == job_definitions


def test_reads_batch_and_its_job_logs() -> None:
    doc = policy_for("fraud")
    (read,) = statements_with(doc, "batch:DescribeJobs")
    assert set(read["Action"]) == {
        "batch:DescribeJobs",
        "batch:DescribeJobQueues",
        "batch:DescribeJobDefinitions",
        "batch:DescribeComputeEnvironments",
        "batch:ListJobs",
    }
    (logs,) = statements_with(doc, "logs:GetLogEvents")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/batch/job"
    assert logs["Resource"] == [group, f"{group}:log-stream:*"]


def test_data_statements_are_the_job_roles() -> None:
    """The data scientist sees exactly what the team's jobs see: same S3 and KMS statements."""
    prefix = naming.team_prefix("fraud")
    job = compute_policies.job_role_policy(BUCKET, prefix, KEY, kms_via_service=VIA)["Statement"]
    ds = policy_for("fraud")["Statement"]
    assert ds[: len(job)] == job
    s3_objects = {r for s in ds for r in _list(s["Resource"]) if r.startswith(f"{BUCKET}/")}
    assert s3_objects == {f"{BUCKET}/teams/fraud/*"}


def test_other_layers_statements_come_last_in_the_order_given_and_are_copied() -> None:
    """What the program hands in (orchestration, metadata, warehouse statements) is appended as it is."""
    key = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf"
    first = {"Sid": "ReadOwnMetadataApiKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": key}
    second = {"Sid": "Later", "Effect": "Allow", "Action": "redshift-data:ExecuteStatement", "Resource": "arn:aws:redshift:x"}
    own = policy_for("fraud")["Statement"]
    doc = policy_for("fraud", extra=(first, second))
    assert doc["Statement"] == [*own, first, second]
    doc["Statement"][-1]["Sid"] = "Changed"
    assert second["Sid"] == "Later", "the caller's statements are copied, not aliased"


def test_partition_and_account_reach_every_built_arn() -> None:
    assert policies.batch_log_arns("aws-us-gov", "us-gov-west-1", "123")[0] == (
        "arn:aws-us-gov:logs:us-gov-west-1:123:log-group:/aws/batch/job"
    )


@pytest.mark.parametrize(
    "override",
    [
        {"job_queue_arns": []},
        {"job_role_arn": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"profile_parameter_arn": "arn:aws:ssm:us-east-1:1:parameter/strata/*"},
        {"job_queue_arns": ["strata-dev-fraud-cpu"]},
    ],
)
def test_wildcard_or_missing_arns_are_refused(override: dict) -> None:
    kwargs = dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn=BUCKET,
        team_prefix="teams/fraud/",
        kms_key_arn=KEY,
        job_queue_arns=[queue_arn("fraud", "cpu")],
        job_role_arn=job_role_arn("fraud"),
        profile_parameter_arn=parameter_arn("fraud"),
    )
    kwargs.update(override)
    with pytest.raises(ValueError):
        policies.data_scientist_policy(**kwargs)


def test_profile_size_limit_of_a_standard_parameter() -> None:
    assert policies.profile_size_problem("x" * 4096) is None
    assert "4097 bytes" in (policies.profile_size_problem("x" * 4097) or "")
    # Bytes, not characters: 1,366 three-byte characters are 4,098 bytes.
    assert policies.profile_size_problem("€" * 1366) is not None


# ---------------------------------------------------------------- stopping jobs (job-tag ABAC)

JOB = f"arn:aws:batch:{REGION}:{ACCOUNT}:job/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"


@pytest.mark.parametrize("action", ["batch:TerminateJob", "batch:CancelJob"])
def test_a_team_stops_only_jobs_tagged_with_its_name(action):
    from tools.guards import policy_decision

    doc = policy_for("fraud")
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "fraud"}) == "allow"
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "research"}) == "implicit-deny"
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "fraud-x"}) == "implicit-deny"
    assert policy_decision([doc], action, JOB, {}) == "implicit-deny", "an untagged job is nobody's to stop"


def test_a_team_tags_its_new_jobs_with_its_own_name_only():
    from tools.guards import policy_decision

    doc = policy_for("fraud")
    at_submit = {"aws:RequestTag/team": "fraud"}
    assert policy_decision([doc], "batch:TagResource", JOB, at_submit) == "allow", "Metaflow's tag at submission"
    assert policy_decision([doc], "batch:TagResource", JOB, {"aws:RequestTag/team": "research"}) == "implicit-deny"
    # re-tagging another team's job as its own would let it stop that job
    other = {"aws:RequestTag/team": "fraud", "aws:ResourceTag/team": "research"}
    assert policy_decision([doc], "batch:TagResource", JOB, other) == "implicit-deny"
    queue = queue_arn("fraud", "cpu")
    assert policy_decision([doc], "batch:TagResource", queue, at_submit) == "implicit-deny", "jobs only, not queues"
