"""Component tests of modules/team under Pulumi mocks: the data-scientist role and the profile parameter."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pytest
from support import ACCOUNT, Deployment, RecordingMocks

from core import naming
from core.settings import Team
from modules.team.component import TeamArgs, TeamComponent
from tools.guards import policy_decision

ENV = "dev"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FARGATE_EXEC = f"arn:aws:iam::{ACCOUNT}:role/compute-fargate-execution-1a2b3c4"
TAGS = {"cost-center": "ml-platform"}

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PARAMETER = "aws:ssm/parameter:Parameter"

FRAUD = Team(
    name="fraud",
    cost_center="cc-4410",
    contacts=("fraud-ml@example.com",),
    priority=20,
    max_vcpus=64,
    gpu_max_vcpus=16,
    principals=("arn:aws:iam::222222222222:role/fraud-developers", "arn:aws:iam::111111111111:user/alice"),
)
RESEARCH = Team(
    name="research",
    cost_center="cc-9000",
    contacts=("research@example.com",),
    priority=5,
    max_vcpus=32,
    gpu_max_vcpus=0,
    principals=("arn:aws:iam::222222222222:role/research-developers",),
)


def profile(team: Team) -> str:
    return json.dumps(
        {
            "METAFLOW_BATCH_JOB_QUEUE": naming.job_queue(ENV, team.name, "cpu"),
            "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://acme-ml-dev-datastore/{naming.team_prefix(team.name)}metaflow",
        }
    )


def queue_arn(team: str, kind: str) -> str:
    return f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, kind)}"


def log_group_arn(team: str) -> str:
    return f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{naming.job_log_group(ENV, team)}"


def definition_arn(team: str, revision: str = ":1") -> str:
    return f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team)}0a1b2c{revision}"


def make_args(team: Team, kinds: tuple[str, ...], fargate: str | None = None, profile_json: str | None = None) -> TeamArgs:
    return TeamArgs(
        environment=ENV,
        team=team,
        bucket_arn=BUCKET,
        kms_key_arn=KEY,
        job_queue_arns={k: queue_arn(team.name, k) for k in kinds},
        job_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team.name)}",
        job_log_group_arn=log_group_arn(team.name),
        fargate_execution_role_arn=fargate,
        profile_json=profile_json or profile(team),
        tags=TAGS,
    )


def start(deployment: Deployment) -> None:
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(RecordingMocks(deployment), project="strata", stack=ENV, preview=False)


def plain(value: Any) -> Any:
    """Unwrap a secret input as the mock monitor sees it ({<secret sig>: ..., "value": v})."""
    if isinstance(value, dict) and "value" in value and any(len(k) == 32 for k in value):
        return value["value"]
    return value


@pytest.fixture(scope="module")
def two_teams() -> Deployment:
    """fraud (cpu + gpu queues, Fargate on) and research (cpu only) in one program."""
    deployment = Deployment()
    start(deployment)

    @pulumi.runtime.test
    def program():
        fraud = TeamComponent("team-fraud", make_args(FRAUD, ("cpu", "gpu"), FARGATE_EXEC))
        research = TeamComponent("team-research", make_args(RESEARCH, ("cpu",)))
        outputs = {
            c_name: {
                "role_arn": c.data_scientist_role_arn,
                "role_name": c.data_scientist_role_name,
                "parameter_name": c.profile_parameter_name,
                "parameter_arn": c.profile_parameter_arn,
            }
            for c_name, c in (("fraud", fraud), ("research", research))
        }
        return pulumi.Output.from_input(outputs).apply(deployment.outputs.update)

    program()
    return deployment


def test_role_is_assumable_by_exactly_the_team_principals(two_teams: Deployment) -> None:
    roles = two_teams.of(ROLE)
    for urn, team in (("team-fraud-data-scientist", FRAUD), ("team-research-data-scientist", RESEARCH)):
        role = roles[urn].inputs
        assert role["name"] == naming.data_scientist_role(ENV, team.name), urn
        assert role["tags"] == {**TAGS, "team": team.name, "cost-center": team.cost_center}, f"{urn}: the team's cost center"
        trust = json.loads(role["assumeRolePolicy"])
        assert len(trust["Statement"]) == 1, urn
        (s,) = trust["Statement"]
        assert (s["Effect"], s["Action"]) == ("Allow", "sts:AssumeRole"), urn
        assert s["Principal"] == {"AWS": sorted(team.principals)}, urn
        assert "Condition" not in s, urn


def test_profile_parameter_name_type_tier_and_value(two_teams: Deployment) -> None:
    params = two_teams.of(PARAMETER)
    assert set(params) == {"team-fraud-profile", "team-research-profile"}
    for urn, team in (("team-fraud-profile", FRAUD), ("team-research-profile", RESEARCH)):
        p = params[urn].inputs
        assert p["name"] == naming.profile_parameter(ENV, team.name), urn
        assert (p["type"], p["tier"]) == ("String", "Standard"), urn
        assert plain(p["value"]) == profile(team), urn
        assert p["tags"] == {**TAGS, "team": team.name, "cost-center": team.cost_center}, f"{urn}: the team's cost center"
        assert p["description"], urn


def test_outputs(two_teams: Deployment) -> None:
    out = two_teams.outputs
    assert out["fraud"]["role_name"] == naming.data_scientist_role(ENV, "fraud")
    assert out["fraud"]["role_arn"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:team-fraud-data-scientist"
    assert out["research"]["parameter_name"] == naming.profile_parameter(ENV, "research")
    assert out["research"]["parameter_arn"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:team-research-profile"


def test_role_policy_reaches_only_the_teams_own_things(two_teams: Deployment) -> None:
    inline = two_teams.of(ROLE_POLICY)
    for urn, team, other, kinds in (
        ("team-fraud-data-scientist", FRAUD, RESEARCH, ("cpu", "gpu")),
        ("team-research-data-scientist", RESEARCH, FRAUD, ("cpu",)),
    ):
        text = inline[urn].inputs["policy"]
        assert other.name not in text, f"{urn} names team {other.name}: {text}"
        assert inline[urn].inputs["role"] == f"{urn}_id", urn
        doc = json.loads(text)
        by_sid = {s["Sid"]: s for s in doc["Statement"]}
        assert set(by_sid["SubmitToOwnQueues"]["Resource"]) == {
            *(queue_arn(team.name, k) for k in kinds),
            f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team.name)}*:*",
        }, urn
        assert by_sid["SubmitToOwnQueues"]["Condition"] == {
            "StringEquals": {"aws:RequestTag/team": team.name, "aws:ResourceTag/team": team.name}
        }, urn
        register = by_sid["RegisterOwnJobDefinitions"]
        assert register["Resource"] == (
            f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/{naming.job_definition_prefix(ENV, team.name)}*"
        ), urn
        assert register["Condition"]["StringEquals"]["batch:AWSLogsGroup"] == naming.job_log_group(ENV, team.name), urn
        assert register["Condition"]["StringEquals"]["aws:RequestTag/team"] == team.name, urn
        assert register["Condition"]["Bool"] == {"batch:Privileged": "false"}, urn
        group = log_group_arn(team.name)
        assert by_sid["ReadOwnJobLogs"]["Resource"] == [group, f"{group}:log-stream:*"], urn
        assert "PutResourcePolicy" not in text, urn
        assert by_sid["ReadOwnProfile"]["Resource"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:team-{team.name}-profile", urn
        assert by_sid["ReadWriteOwnPrefix"]["Resource"] == f"{BUCKET}/{naming.team_prefix(team.name)}*", urn
        assert by_sid["UseDatastoreKey"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        job_role = f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team.name)}"
        expected_pass = [job_role, FARGATE_EXEC] if team is FRAUD else [job_role]
        assert by_sid["PassOwnJobRoles"]["Resource"] == expected_pass, urn
        for s in doc["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert all("*" not in a for a in actions), f"{urn}: wildcard action in {s}"


@pytest.mark.parametrize("team,other", [(FRAUD, RESEARCH), (RESEARCH, FRAUD)])
def test_the_declared_policy_refuses_the_other_teams_batch_and_logs(two_teams: Deployment, team: Team, other: Team) -> None:
    """The documents as deployed, evaluated as IAM would: A's own submission passes, B's queue, definition and log
    group do not, and nothing unsafe registers (issue 11, paths 1, 3 and 4)."""
    urn = f"team-{team.name}-data-scientist"
    doc = json.loads(two_teams.of(ROLE_POLICY)[urn].inputs["policy"])
    as_team = {"aws:RequestTag/team": team.name, "aws:ResourceTag/team": team.name}
    assert policy_decision([doc], "batch:SubmitJob", queue_arn(team.name, "cpu"), as_team) == "allow", urn
    assert policy_decision([doc], "batch:SubmitJob", definition_arn(team.name), as_team) == "allow", urn
    assert policy_decision([doc], "batch:SubmitJob", queue_arn(other.name, "cpu"), as_team) == "implicit-deny", urn
    assert policy_decision([doc], "batch:SubmitJob", definition_arn(other.name), as_team) == "implicit-deny", urn
    register = {
        "aws:RequestTag/team": team.name,
        "batch:LogDriver": "awslogs",
        "batch:AWSLogsGroup": naming.job_log_group(ENV, team.name),
        "batch:Privileged": "false",
    }
    own = definition_arn(team.name, "")
    assert policy_decision([doc], "batch:RegisterJobDefinition", own, register) == "allow", urn
    privileged = register | {"batch:Privileged": "true"}
    assert policy_decision([doc], "batch:RegisterJobDefinition", own, privileged) == "implicit-deny", urn
    theirs = register | {"batch:AWSLogsGroup": naming.job_log_group(ENV, other.name)}
    assert policy_decision([doc], "batch:RegisterJobDefinition", own, theirs) == "implicit-deny", urn
    stream = f"{log_group_arn(other.name)}:log-stream:x"
    assert policy_decision([doc], "logs:GetLogEvents", stream, {}) == "implicit-deny", urn
    assert policy_decision([doc], "logs:GetLogEvents", f"{log_group_arn(team.name)}:log-stream:x", {}) == "allow", urn


@pytest.mark.parametrize("kinds", [("gpu",), ("cpu", "tpu")])
def test_queues_without_cpu_or_of_unknown_kind_are_refused(kinds: tuple[str, ...]) -> None:
    start(Deployment())

    @pulumi.runtime.test
    def program():
        with pytest.raises(ValueError, match="job_queue_arns"):
            TeamComponent("team-fraud", make_args(FRAUD, kinds))

    program()


def test_a_profile_too_large_for_a_standard_parameter_fails_the_deployment() -> None:
    start(Deployment())

    @pulumi.runtime.test
    def program():
        c = TeamComponent("team-fraud", make_args(FRAUD, ("cpu",), profile_json="x" * 5000))
        return c.profile_parameter_arn

    with pytest.raises(Exception, match="Standard SSM parameter"):
        program()


def test_other_layers_statements_and_role_tags_are_added_as_handed_in() -> None:
    """``extra_statements`` (Outputs or plain lists, as the program hands them from the orchestration, metadata
    and warehouse layers) come after the team's own statements in the order given; ``role_tags`` go on the
    role only."""
    key = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf"
    metadata = [{"Sid": "ReadOwnMetadataApiKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": key}]
    warehouse = [
        {"Sid": "WarehouseRunStatements", "Effect": "Allow", "Action": "redshift-data:ExecuteStatement", "Resource": "*"}
    ]
    deployment = Deployment()
    start(deployment)

    @pulumi.runtime.test
    def program():
        base = make_args(FRAUD, ("cpu",))
        plain = TeamComponent("team-fraud", base)
        extra = TeamComponent(
            "team-fraud-extra",
            dataclasses.replace(
                base,
                extra_statements=[pulumi.Output.from_input(metadata), warehouse],
                role_tags={"RedshiftDbRoles": "team_fraud"},
            ),
        )
        return pulumi.Output.all(plain.data_scientist_role_arn, extra.data_scientist_role_arn)

    program()
    policies = deployment.of(ROLE_POLICY)
    own = json.loads(policies["team-fraud-data-scientist"].inputs["policy"])["Statement"]
    # The same team under another component name: only its profile parameter's (mock) ARN differs.
    text = policies["team-fraud-extra-data-scientist"].inputs["policy"].replace("team-fraud-extra-profile", "team-fraud-profile")
    with_extra = json.loads(text)["Statement"]
    assert with_extra == [*own, *metadata, *warehouse], "team-fraud-extra-data-scientist"
    roles = deployment.of(ROLE)
    assert roles["team-fraud-extra-data-scientist"].inputs["tags"] == {
        **TAGS,
        "team": "fraud",
        "cost-center": FRAUD.cost_center,
        "RedshiftDbRoles": "team_fraud",
    }
    assert "RedshiftDbRoles" not in roles["team-fraud-data-scientist"].inputs["tags"]
    assert "RedshiftDbRoles" not in deployment.of(PARAMETER)["team-fraud-extra-profile"].inputs["tags"], "the role only"
