"""Pure tests of modules/team/policies.py: a team's data-scientist role reaches only that team's things."""

from __future__ import annotations

import json

import pytest

from core import naming
from modules.compute import policies as compute_policies
from modules.team import policies
from tools.guards import policy_decision

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


def log_group_arn(team: str) -> str:
    """As CloudWatch Logs reports a group's ARN (pulumi-aws ``LogGroup.arn``: no ``:*``)."""
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.job_log_group(ENV, team)}"


def definition_arn(team: str, revision: int | None = 1, name: str | None = None) -> str:
    """A job definition the team's Metaflow (through the Strata extension) would register."""
    name = name or f"{naming.job_definition_prefix(ENV, team)}0a1b2c3d4e5f"
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}" + (f":{revision}" if revision is not None else "")


def policy_args(team: str) -> dict:
    """The arguments of ``policies.data_scientist_policy`` for ``team``'s cpu queue, in the dev stack."""
    return dict(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn=BUCKET,
        team_prefix=naming.team_prefix(team),
        kms_key_arn=KEY,
        job_queue_arns=[queue_arn(team, "cpu")],
        job_definition_prefix=naming.job_definition_prefix(ENV, team),
        job_log_group=naming.job_log_group(ENV, team),
        job_log_group_arn=log_group_arn(team),
        job_role_arn=job_role_arn(team),
        profile_parameter_arn=parameter_arn(team),
        kms_via_service=VIA,
    )


def policy_for(team: str, kinds: tuple[str, ...] = ("cpu",), fargate: str | None = None, extra: tuple = ()) -> dict:
    return policies.data_scientist_policy(
        **{
            **policy_args(team),
            "job_queue_arns": [queue_arn(team, k) for k in kinds],
            "fargate_execution_role_arn": fargate,
            "extra_statements": extra,
        }
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


def test_submit_only_to_own_queues_with_own_tagged_definitions() -> None:
    (submit,) = statements_with(policy_for("fraud", ("cpu", "gpu")), "batch:SubmitJob")
    assert set(submit["Resource"]) == {
        queue_arn("fraud", "cpu"),
        queue_arn("fraud", "gpu"),
        f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/strata-dev-fraud_*:*",
    }
    assert not any(":job-queue/*" in r or r.endswith(":job-definition/*") for r in submit["Resource"])
    assert submit["Condition"] == {"StringEquals": {"aws:RequestTag/team": "fraud", "aws:ResourceTag/team": "fraud"}}


def test_register_only_under_own_prefix_with_every_condition() -> None:
    (register,) = statements_with(policy_for("fraud"), "batch:RegisterJobDefinition")
    assert register["Resource"] == f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/strata-dev-fraud_*"
    assert register["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/team": "fraud",
            "batch:LogDriver": "awslogs",
            "batch:AWSLogsGroup": "/strata/dev/batch/fraud",
        },
        "Bool": {"batch:Privileged": "false"},
        "StringNotLikeIfExists": {"batch:User": ["root", "root:*", "0", "0:*"]},
    }


def test_reads_batch_and_only_its_own_job_logs() -> None:
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
    assert set(logs["Action"]) == {"logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"}
    group = log_group_arn("fraud")
    assert logs["Resource"] == [group, f"{group}:log-stream:*"]
    assert "/aws/batch/job" not in json.dumps(doc), "the shared Batch log group is nobody's"


def test_no_statement_may_rewrite_log_resource_policies() -> None:
    """``logs:PutResourcePolicy`` is account-wide: whoever has it decides who writes to every log group."""
    doc = policy_for("fraud", ("cpu", "gpu"), FARGATE_EXEC)
    assert "logs:PutResourcePolicy" not in json.dumps(doc)
    assert policy_decision([doc], "logs:PutResourcePolicy", "*", {}) == "implicit-deny"


def test_no_submit_on_a_wildcard_definition_and_no_register_without_its_conditions() -> None:
    """Two of the invariants Access Analyzer's check-access-not-granted would make, on the team's own document."""
    doc = policy_for("fraud", ("cpu", "gpu", "fargate"), FARGATE_EXEC)
    for s in doc["Statement"]:
        if "batch:SubmitJob" in _list(s["Action"]):
            for r in _list(s["Resource"]):
                if ":job-definition/" in r:
                    assert "*" not in r.split(":job-definition/")[1].split("_")[0], r
                    assert s["Condition"]["StringEquals"]["aws:ResourceTag/team"] == "fraud", s
                    assert s["Condition"]["StringEquals"]["aws:RequestTag/team"] == "fraud", s
        if "batch:RegisterJobDefinition" in _list(s["Action"]):
            c = s["Condition"]
            assert c["Bool"]["batch:Privileged"] == "false", s
            assert c["StringEquals"]["batch:AWSLogsGroup"] == naming.job_log_group(ENV, "fraud"), s


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


def test_job_log_arns_are_the_group_and_its_streams() -> None:
    group = "arn:aws-us-gov:logs:us-gov-west-1:123:log-group:/strata/dev/batch/fraud"
    assert policies.job_log_arns(group) == [group, f"{group}:log-stream:*"]
    assert policies.job_log_arns(f"{group}:*") == [group, f"{group}:log-stream:*"], "the ':*' form of the same group"
    for bad in ("/strata/dev/batch/fraud", "arn:aws:logs:us-east-1:123:log-group:/strata/dev/batch/*", "arn:aws:s3:::x"):
        with pytest.raises(ValueError, match="log-group ARN"):
            policies.job_log_arns(bad)


def test_partition_and_account_reach_every_built_arn() -> None:
    doc = policies.data_scientist_policy(
        partition="aws-us-gov",
        region="us-gov-west-1",
        account_id="123456789012",
        bucket_arn="arn:aws-us-gov:s3:::acme-ml-dev-datastore",
        team_prefix="teams/fraud/",
        kms_key_arn="arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234",
        job_queue_arns=["arn:aws-us-gov:batch:us-gov-west-1:123456789012:job-queue/strata-dev-fraud-cpu"],
        job_definition_prefix=naming.job_definition_prefix(ENV, "fraud"),
        job_log_group=naming.job_log_group(ENV, "fraud"),
        job_log_group_arn="arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:/strata/dev/batch/fraud",
        job_role_arn="arn:aws-us-gov:iam::123456789012:role/strata-dev-fraud-job",
        profile_parameter_arn="arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/strata/dev/teams/fraud/metaflow-profile",
    )
    arns = [r for s in doc["Statement"] for r in _list(s["Resource"]) if r != "*"]
    assert arns and all(r.startswith("arn:aws-us-gov:") for r in arns), arns
    assert all(":us-gov-west-1:123456789012:" in r for r in arns if ":batch:" in r or ":logs:" in r), arns


@pytest.mark.parametrize(
    "override",
    [
        {"job_queue_arns": []},
        {"job_role_arn": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"profile_parameter_arn": "arn:aws:ssm:us-east-1:1:parameter/strata/*"},
        {"job_queue_arns": ["strata-dev-fraud-cpu"]},
        {"job_definition_prefix": "strata-dev-*"},
        {"job_definition_prefix": "metaflow_"},
        {"job_definition_prefix": naming.job_definition_prefix(ENV, "research")},
        {"job_log_group_arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/strata/dev/batch/*"},
        {"job_log_group_arn": naming.job_log_group(ENV, "fraud")},
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
        job_definition_prefix=naming.job_definition_prefix(ENV, "fraud"),
        job_log_group=naming.job_log_group(ENV, "fraud"),
        job_log_group_arn=log_group_arn("fraud"),
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
    doc = policy_for("fraud")
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "fraud"}) == "allow"
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "research"}) == "implicit-deny"
    assert policy_decision([doc], action, JOB, {"aws:ResourceTag/team": "fraud-x"}) == "implicit-deny"
    assert policy_decision([doc], action, JOB, {}) == "implicit-deny", "an untagged job is nobody's to stop"


def test_a_team_tags_its_new_jobs_with_its_own_name_only():
    doc = policy_for("fraud")
    at_submit = {"aws:RequestTag/team": "fraud"}
    assert policy_decision([doc], "batch:TagResource", JOB, at_submit) == "allow", "Metaflow's tag at submission"
    assert policy_decision([doc], "batch:TagResource", JOB, {"aws:RequestTag/team": "research"}) == "implicit-deny"
    # re-tagging another team's job as its own would let it stop that job
    other = {"aws:RequestTag/team": "fraud", "aws:ResourceTag/team": "research"}
    assert policy_decision([doc], "batch:TagResource", JOB, other) == "implicit-deny"
    queue = queue_arn("fraud", "cpu")
    assert policy_decision([doc], "batch:TagResource", queue, at_submit) == "implicit-deny", "jobs only, not queues"


# ---------------------------------------------------------------- team A's document against team B's resources
# (tools.guards.policy_decision: moto does not evaluate Batch resource ARNs or any Condition block)

A, B = "fraud", "fraud-x"  # "fraud" is the start of "fraud-x": the tricky pair
SUBMIT_AS_A = {"aws:RequestTag/team": A, "aws:ResourceTag/team": A}


def test_a_team_submits_its_own_tagged_definition_to_its_own_queue() -> None:
    """The control: what ``run --with batch`` does, through the extension (definition tagged, job tagged)."""
    doc = policy_for(A, ("cpu", "gpu"))
    for resource in (queue_arn(A, "cpu"), queue_arn(A, "gpu"), definition_arn(A)):
        assert policy_decision([doc], "batch:SubmitJob", resource, SUBMIT_AS_A) == "allow", resource


@pytest.mark.parametrize(
    "resource,context,why",
    [
        (queue_arn(B, "cpu"), SUBMIT_AS_A, "another team's queue"),
        (definition_arn(B), SUBMIT_AS_A, "another team's definition, even if it were tagged as A's"),
        (definition_arn(B), {"aws:RequestTag/team": A, "aws:ResourceTag/team": B}, "another team's definition"),
        (definition_arn(A, name="metaflow_0a1b2c3d4e5f"), SUBMIT_AS_A, "Metaflow's untagged metaflow_<hash>"),
        (definition_arn(A, revision=None), SUBMIT_AS_A, "a definition without its revision (tags not evaluated)"),
        (definition_arn(A), {"aws:RequestTag/team": A, "aws:ResourceTag/team": B}, "a definition in A's name tagged B"),
        (definition_arn(A), {"aws:RequestTag/team": A}, "an untagged definition"),
        (definition_arn(A), {"aws:ResourceTag/team": A}, "an untagged job"),
        (definition_arn(A), {"aws:RequestTag/team": B, "aws:ResourceTag/team": A}, "a job tagged as another team's"),
        (queue_arn(A, "cpu"), {"aws:ResourceTag/team": A}, "an untagged job on its own queue"),
    ],
)
def test_a_team_cannot_submit_anything_of_another_team_or_untagged(resource: str, context: dict, why: str) -> None:
    """Issue 11, path 1: submitting B's definition (B's job role) from A's queue."""
    assert policy_decision([policy_for(A, ("cpu", "gpu"))], "batch:SubmitJob", resource, context) == "implicit-deny", why


REGISTER_AS_A = {
    "aws:RequestTag/team": A,
    "batch:LogDriver": "awslogs",
    "batch:AWSLogsGroup": naming.job_log_group(ENV, A),
    "batch:Privileged": "false",
}


@pytest.mark.parametrize("user", [None, "1000", "metaflow", "nobody"])
def test_a_team_registers_its_safe_tagged_definitions(user: str | None) -> None:
    """The control: what the extension registers (a user the image chooses, or any user but root)."""
    context = REGISTER_AS_A | ({"batch:User": user} if user else {})
    assert policy_decision([policy_for(A)], "batch:RegisterJobDefinition", definition_arn(A, None), context) == "allow"


@pytest.mark.parametrize(
    "resource,change,why",
    [
        (definition_arn(A, None), {"batch:Privileged": "true"}, "a privileged container is root on the host"),
        (definition_arn(A, None), {"batch:User": "root"}, "root, by name"),
        (definition_arn(A, None), {"batch:User": "0"}, "root, by uid"),
        (definition_arn(A, None), {"batch:User": "0:0"}, "root, as uid:gid (Docker's --user form)"),
        (definition_arn(A, None), {"batch:User": "root:root"}, "root, as user:group"),
        (definition_arn(A, None), {"batch:AWSLogsGroup": naming.job_log_group(ENV, B)}, "another team's log group"),
        (definition_arn(A, None), {"batch:AWSLogsGroup": "/aws/batch/job"}, "the shared Batch log group"),
        (definition_arn(A, None), {"batch:LogDriver": "splunk"}, "output that bypasses the team's group"),
        (definition_arn(A, None), {"aws:RequestTag/team": B}, "tagged as another team's"),
        (definition_arn(B, None), {}, "a name in another team's prefix (pre-registering B's names)"),
        (definition_arn(A, None, name="metaflow_0a1b2c3d4e5f"), {}, "Metaflow's metaflow_<hash>, which every team reuses"),
    ],
)
def test_a_team_cannot_register_an_unsafe_or_foreign_definition(resource: str, change: dict, why: str) -> None:
    """Issue 11, paths 3 and 9: unsafe definitions, and names another team's Metaflow would pick up."""
    context = REGISTER_AS_A | change
    assert policy_decision([policy_for(A)], "batch:RegisterJobDefinition", resource, context) == "implicit-deny", why


@pytest.mark.parametrize("missing", sorted(REGISTER_AS_A))
def test_a_definition_without_a_required_key_is_refused(missing: str) -> None:
    """No tag, no log driver, no log group, privileged unsaid: each missing key refuses the registration."""
    context = {k: v for k, v in REGISTER_AS_A.items() if k != missing}
    assert policy_decision([policy_for(A)], "batch:RegisterJobDefinition", definition_arn(A, None), context) == "implicit-deny"


def test_a_team_tags_only_its_own_new_definitions() -> None:
    doc = policy_for(A)
    at_register = {"aws:RequestTag/team": A}
    assert policy_decision([doc], "batch:TagResource", definition_arn(A, None), at_register) == "allow"
    assert policy_decision([doc], "batch:TagResource", definition_arn(A), at_register) == "allow", "with a revision"
    assert policy_decision([doc], "batch:TagResource", definition_arn(B, None), at_register) == "implicit-deny"
    assert policy_decision([doc], "batch:TagResource", definition_arn(A, None), {"aws:RequestTag/team": B}) == "implicit-deny"
    retag = {"aws:RequestTag/team": A, "aws:ResourceTag/team": B}
    assert policy_decision([doc], "batch:TagResource", definition_arn(A, None), retag) == "implicit-deny"
    untag = "batch:UntagResource"
    assert policy_decision([doc], untag, definition_arn(A, None), {"aws:ResourceTag/team": A}) == "implicit-deny", untag
    assert policy_decision([doc], "batch:DeregisterJobDefinition", definition_arn(B), {}) == "implicit-deny"


@pytest.mark.parametrize("action", policies.JOB_LOG_READ_ACTIONS)
def test_a_team_reads_only_its_own_job_logs(action: str) -> None:
    """Issue 11, path 4: B's output in a shared log group."""
    doc = policy_for(A)
    own, theirs = log_group_arn(A), log_group_arn(B)
    assert policy_decision([doc], action, own, {}) == "allow"
    assert policy_decision([doc], action, f"{own}:log-stream:metaflow/default/abc", {}) == "allow"
    assert policy_decision([doc], action, theirs, {}) == "implicit-deny"
    assert policy_decision([doc], action, f"{theirs}:log-stream:metaflow/default/abc", {}) == "implicit-deny"
    shared = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/batch/job"
    assert policy_decision([doc], action, f"{shared}:log-stream:x", {}) == "implicit-deny"


def own_role_arn(team: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.data_scientist_role(ENV, team)}"


@pytest.mark.parametrize("team", TEAMS)
def test_a_team_may_ask_the_policy_simulator_about_its_own_role_only(team):
    """strata doctor's pass-roles check: the simulator on the role itself; another team's role is refused."""
    doc = policies.data_scientist_policy(**{**policy_args(team), "own_role_arn": own_role_arn(team)})
    assert policy_decision([doc], "iam:SimulatePrincipalPolicy", own_role_arn(team), {}) == "allow"
    for other in (t for t in TEAMS if t != team):
        assert policy_decision([doc], "iam:SimulatePrincipalPolicy", own_role_arn(other), {}) == "implicit-deny"
    assert policy_decision([policy_for(team)], "iam:SimulatePrincipalPolicy", own_role_arn(team), {}) == "implicit-deny"
    with pytest.raises(ValueError, match="concrete role ARN"):
        policies.data_scientist_policy(**{**policy_args(team), "own_role_arn": f"arn:aws:iam::{ACCOUNT}:role/*"})
