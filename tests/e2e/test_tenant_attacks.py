"""The tenant attack suite (issue 11, "Prove it"): one test per path the review found, plus the controls.

Team A (attacker) and team B (victim) of the ``local`` stack, deployed into a private moto server as
test_tenant_isolation.py does. A's four roles act: its data-scientist role (``ds``), its Batch job role (``job``,
i.e. code in A's containers), its Step Functions role (``sfn``, i.e. A's state machines) and its EventBridge role
(``events``). Each acts through a twin role whose policies are copied verbatim from moto's IAM (see
test_tenant_isolation.py for why twins). Every attempt is a real boto3 call against moto, decided by moto where
moto enforces IAM and by ``tools.guards`` on the deployed policy JSON, with the request's context keys, where it
does not (tests/e2e/attack_support.py says which is which); the evaluator is cross-checked against moto on every
request moto decides. Every actor makes every attack (code running as any of A's roles may try anything); the
controls are what each role needs on A's own resources.

Rows marked ``residual`` are what IAM cannot refuse, printed for docs/security.md and not asserted.

Rerun and print the table: ``.venv/bin/python -m pytest tests/e2e/test_tenant_attacks.py -s``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from attack_support import (
    ACCOUNT,
    REGION,
    Check,
    Result,
    Spec,
    deployed_documents,
    identity,
    on_each,
    print_table,
    resource_policy,
    role_arn,
    run,
    set_auth,
    trust,
)
from botocore.exceptions import ClientError
from rich.console import Console

from core import naming
from infra.config import load_from_files
from localcloud import session
from localcloud.server import configure_moto, start_moto

REPO = Path(__file__).resolve().parents[2]
STACK = session.STACK
ACTORS = ("ds", "job", "sfn", "events")
ROLES: dict[str, Callable[[str, str], str]] = {
    "ds": naming.data_scientist_role,
    "job": naming.job_role,
    "sfn": naming.step_functions_role,
    "events": naming.eventbridge_role,
}
PROBER = "attack-prober"
MIN_ATTEMPTS = 60  # per actor: the data-scientist, job and Step Functions roles (issue 11)
pytestmark = pytest.mark.e2e


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


# ---------------------------------------------------------------- what each team has in the deployed stack


@dataclass
class Team:
    name: str
    env: str
    roles: dict[str, str] = field(default_factory=dict)  # kind -> ARN
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    trusts: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # kind -> ARN
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # Batch ARN -> its tags
    compute: dict[str, list[str]] = field(default_factory=dict)  # queue ARN -> compute environment ARNs
    instance_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # CE ARN -> computeResources.tags
    log_group: str = ""
    secret: str | None = None
    secret_policy: dict[str, Any] | None = None
    parameter: str = ""
    table: str = ""
    definition: str = ""  # a team-tagged job definition (ARN with its revision)
    job: str = ""  # a team-tagged job (ARN)
    machine: str = ""
    execution: str = ""
    rule: str = ""

    @property
    def group_arn(self) -> str:
        return arn("logs", f"log-group:{self.log_group}")

    @property
    def definition_prefix(self) -> str:
        return naming.job_definition_prefix(self.env, self.name)

    @property
    def machine_prefix(self) -> str:
        return naming.state_machine_name_prefix(self.env, self.name)

    @property
    def seed(self) -> str:
        return f"{naming.team_prefix(self.name)}attack/seed.txt"


@dataclass
class World:
    endpoint: str
    env: str
    bucket: str
    a: Team
    b: Team
    untagged_job: str
    legacy_table: str | None
    owners_table: str | None
    platform_roles: list[str]  # roles of no team (metadata, compute), but the Fargate execution role
    fargate_execution_role: str | None
    sessions: dict[str, boto3.session.Session]
    structure: dict[str, Any]

    def client(self, actor: str) -> Callable[[str], Any]:
        sess = self.sessions[actor]
        return lambda service: sess.client(service, endpoint_url=self.endpoint, region_name=REGION)


def _tags(batch: Any, resource_arn: str) -> dict[str, str]:
    return dict(batch.list_tags_for_resource(resourceArn=resource_arn).get("tags") or {})


def _team(root: Callable[[str], Any], env: str, name: str, bucket: str) -> Team:
    t = Team(name, env)
    iam, batch = root("iam"), root("batch")
    for kind, role in ROLES.items():
        role_name = role(env, name)
        t.roles[kind] = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        t.documents[kind] = deployed_documents(iam, role_name)
        t.trusts[kind] = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    names = {naming.job_queue(env, name, k): k for k in naming.QUEUE_KINDS}
    for q in batch.describe_job_queues()["jobQueues"]:
        if q["jobQueueName"] in names:
            t.queues[names[q["jobQueueName"]]] = q["jobQueueArn"]
            t.tags[q["jobQueueArn"]] = _tags(batch, q["jobQueueArn"])
            t.compute[q["jobQueueArn"]] = [o["computeEnvironment"] for o in q["computeEnvironmentOrder"]]
    ces = sorted({ce for ces in t.compute.values() for ce in ces})
    for ce in batch.describe_compute_environments(computeEnvironments=ces)["computeEnvironments"] if ces else []:
        t.instance_tags[ce["computeEnvironmentArn"]] = dict((ce.get("computeResources") or {}).get("tags") or {})
    t.log_group = naming.job_log_group(env, name)
    logs = root("logs")
    logs.create_log_stream(logGroupName=t.log_group, logStreamName="victim")
    logs.put_log_events(
        logGroupName=t.log_group, logStreamName="victim", logEvents=[{"timestamp": 1, "message": f"{name}'s job output"}]
    )
    try:
        secret = root("secretsmanager").describe_secret(SecretId=naming.metadata_api_key_secret(env, name))
        t.secret = secret["ARN"]
        raw = root("secretsmanager").get_resource_policy(SecretId=t.secret).get("ResourcePolicy")
        t.secret_policy = json.loads(raw) if raw else None
    except ClientError:
        t.secret = None
    t.parameter = root("ssm").get_parameter(Name=naming.profile_parameter(env, name))["Parameter"]["ARN"]
    t.table = root("dynamodb").describe_table(TableName=naming.team_state_table(env, name))["Table"]["TableArn"]
    root("dynamodb").put_item(
        TableName=naming.team_state_table(env, name),
        Item={"pathspec": {"S": f"{name}/victim"}, "for_each_cardinality": {"N": "3"}},
    )
    root("s3").put_object(Bucket=bucket, Key=t.seed, Body=f"{name} data".encode())
    # A definition and a job of the team, as its own Metaflow (through the Strata extension) would make them.
    t.definition = batch.register_job_definition(
        jobDefinitionName=f"{t.definition_prefix}victim",
        type="container",
        containerProperties={
            "image": "python:3.11",
            "command": ["true"],
            "jobRoleArn": t.roles["job"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
            "privileged": False,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": t.log_group}},
        },
        tags={naming.TEAM_TAG: name},
    )["jobDefinitionArn"]
    t.tags[t.definition] = {naming.TEAM_TAG: name}
    job = batch.submit_job(jobName="victim", jobQueue=t.queues["cpu"], jobDefinition=t.definition, tags={naming.TEAM_TAG: name})
    t.job = job.get("jobArn") or arn("batch", f"job/{job['jobId']}")
    t.tags[t.job] = {naming.TEAM_TAG: name}
    sfn = root("stepfunctions")
    t.machine = sfn.create_state_machine(
        name=f"{t.machine_prefix}Victim",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn=t.roles["sfn"],
    )["stateMachineArn"]
    t.execution = sfn.start_execution(stateMachineArn=t.machine, name="victim")["executionArn"]
    t.rule = root("events").put_rule(Name=f"{t.machine_prefix}Victim", ScheduleExpression="rate(1 day)", State="DISABLED")[
        "RuleArn"
    ]
    return t


def _twins(root: Callable[[str], Any], a: Team, endpoint: str) -> dict[str, boto3.session.Session]:
    """A's roles as twins the prober may assume (policies copied verbatim), and the prober's key."""
    iam = root("iam")
    prober = iam.create_user(UserName=PROBER)["User"]["Arn"]
    twins = {kind: f"attack-{a.name}-{kind}" for kind in ACTORS}
    iam.put_user_policy(
        UserName=PROBER,
        PolicyName="assume-twins",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [role_arn(t) for t in twins.values()]}],
            }
        ),
    )
    for kind, twin in twins.items():
        trust_doc = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": prober}, "Action": "sts:AssumeRole"}],
        }
        iam.create_role(RoleName=twin, AssumeRolePolicyDocument=json.dumps(trust_doc))
        for i, doc in enumerate(a.documents[kind]):
            iam.put_role_policy(RoleName=twin, PolicyName=f"copy-{i}", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName=PROBER)["AccessKey"]
    assert set_auth(endpoint, "0")["status"] == "ok"
    user = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    sts = user.client("sts", endpoint_url=endpoint, region_name=REGION)
    sessions = {}
    for kind, twin in twins.items():
        c = sts.assume_role(RoleArn=role_arn(twin), RoleSessionName=f"{a.name}-{kind}")["Credentials"]
        sessions[kind] = boto3.session.Session(
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"]
        )
    return sessions


@pytest.fixture(scope="module")
def world():
    server = start_moto()
    try:
        configure_moto(server.endpoint)
        run_, _ = session.deploy(REPO, server.endpoint, REGION, Console(quiet=True))
        platform = load_from_files(REPO, STACK)
        env = platform.environment
        victims = [t for t in platform.teams if t.gpu]
        assert victims and len(platform.teams) >= 2, "the suite needs two teams, one of them with a GPU queue"
        b_name = victims[0].name
        a_name = next(t.name for t in platform.teams if t.name != b_name)
        root_session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")

        def root(service: str) -> Any:
            return root_session.client(service, endpoint_url=server.endpoint, region_name=REGION)

        bucket = run_.outputs["datastoreBucket"]
        a, b = (_team(root, env, n, bucket) for n in (a_name, b_name))
        untagged = root("batch").submit_job(jobName="untagged", jobQueue=b.queues["cpu"], jobDefinition=b.definition)
        untagged_job = untagged.get("jobArn") or arn("batch", f"job/{untagged['jobId']}")
        tables = root("dynamodb").list_tables()["TableNames"]
        legacy = naming.state_table(env)
        owners = naming.metadata_name(env, "owners")
        team_roles = {role(env, t.name) for t in platform.teams for role in (*ROLES.values(), naming.warehouse_role)}
        platform_roles, fargate = [], None
        for r in root("iam").list_roles()["Roles"]:
            if r["RoleName"] in team_roles or r["RoleName"].startswith("aws"):
                continue
            if "fargate-execution" in r["RoleName"]:
                fargate = r["Arn"]
            else:
                platform_roles.append(r["Arn"])
        structure = {
            "queues": {t.name: dict(t.compute) for t in (a, b)},
            "instance_tags": {t.name: dict(t.instance_tags) for t in (a, b)},
        }
        sessions = _twins(root, a, server.endpoint)
        yield World(
            server.endpoint,
            env,
            bucket,
            a,
            b,
            untagged_job,
            arn("dynamodb", f"table/{legacy}") if legacy in tables else None,
            arn("dynamodb", f"table/{owners}") if owners in tables else None,
            platform_roles,
            fargate,
            sessions,
            structure,
        )
    finally:
        server.stop()


# ---------------------------------------------------------------- request builders: the call and the checks AWS makes


def _request_tags(tags: dict[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    return context | ({"aws:TagKeys": sorted(tags)} if tags else {})


def submit(
    w: World, queue: str, definition: str, tags: dict[str, str], *, what: str, path: str, expected: str = "denied"
) -> Spec:
    """SubmitJob: authorised on the queue and the definition (its tags count only with a revision), and
    TagResource on the new job when it carries tags."""
    owners = {**w.a.tags, **w.b.tags}
    request = _request_tags(tags)
    queue_context = request | {f"aws:ResourceTag/{k}": v for k, v in owners.get(queue, {}).items()}
    with_revision = definition.rsplit("/", 1)[-1].count(":") == 1
    definition_tags = owners.get(definition if with_revision else "", {})
    definition_context = request | {f"aws:ResourceTag/{k}": v for k, v in definition_tags.items()}

    def checks(_: str) -> list[Check]:
        out = [on_each("batch:SubmitJob", (queue, queue_context), (definition, definition_context))]
        return out + ([identity("batch:TagResource", arn("batch", "job/new"), request)] if tags else [])

    call = lambda c: c("batch").submit_job(jobName="attack", jobQueue=queue, jobDefinition=definition, tags=tags)  # noqa: E731
    return Spec(path, what, call, checks, expected)


def register(
    w: World,
    name: str,
    *,
    what: str,
    path: str,
    tags: dict[str, str] | None,
    role: str,
    group: str | None,
    privileged: bool | None = False,
    user: str | None = None,
    driver: str = "awslogs",
    host_volume: bool = False,
    execution_role: str | None = None,
    expected: str = "denied",
) -> Spec:
    """RegisterJobDefinition with its condition keys (batch:Privileged, batch:User, batch:LogDriver,
    batch:AWSLogsGroup, aws:RequestTag), iam:PassRole of its job role (and Fargate execution role) to Batch, and
    TagResource on the new definition when tagged."""
    container: dict[str, Any] = {
        "image": "python:3.11",
        "command": ["true"],
        "jobRoleArn": role,
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
    }
    context: dict[str, Any] = _request_tags(tags or {}) | {"batch:Image": "python:3.11"}
    if privileged is not None:
        container["privileged"] = privileged
        context["batch:Privileged"] = str(privileged).lower()
    if user is not None:
        container["user"] = user
        context["batch:User"] = user
    if group is not None:
        container["logConfiguration"] = {"logDriver": driver, "options": {"awslogs-group": group}}
        context["batch:LogDriver"] = driver
        if driver == "awslogs":
            context["batch:AWSLogsGroup"] = group
    if host_volume:
        container["volumes"] = [{"name": "root", "host": {"sourcePath": "/"}}]
        container["mountPoints"] = [{"sourceVolume": "root", "containerPath": "/host"}]
    extra: dict[str, Any] = {"tags": tags} if tags else {}
    if execution_role:
        container["executionRoleArn"] = execution_role
        container["networkConfiguration"] = {"assignPublicIp": "DISABLED"}
        extra["platformCapabilities"] = ["FARGATE"]
    resource = arn("batch", f"job-definition/{name}")
    passed = {"iam:PassedToService": "batch.amazonaws.com"}

    def checks(_: str) -> list[Check]:
        out = [identity("batch:RegisterJobDefinition", resource, context), identity("iam:PassRole", role, passed)]
        out += [identity("iam:PassRole", execution_role, passed)] if execution_role else []
        return out + ([identity("batch:TagResource", resource, _request_tags(tags))] if tags else [])

    def call(c: Callable[[str], Any]) -> Any:
        return c("batch").register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=container, **extra
        )

    return Spec(path, what, call, checks, expected)


def simple(path: str, what: str, call: Callable[[Callable[[str], Any]], Any], *checks: Check, expected: str = "denied") -> Spec:
    return Spec(path, what, call, lambda _: list(checks), expected)


def read_secret(w: World, team: Team, action: str, path: str, expected: str = "denied") -> Spec:
    """A team's API key: the actor's identity policy must allow it, and the secret's resource policy (Deny to
    every other Strata role of the environment) must not refuse it."""
    assert team.secret is not None
    method = {"secretsmanager:GetSecretValue": "get_secret_value", "secretsmanager:DescribeSecret": "describe_secret"}[action]

    def checks(actor_arn: str) -> list[Check]:
        out = [identity(action, team.secret or "")]
        if team.secret_policy:
            out.append(resource_policy(team.secret_policy, action, team.secret or "", actor_arn))
        return out

    call = lambda c: getattr(c("secretsmanager"), method)(SecretId=team.secret)  # noqa: E731
    return Spec(path, f"{action.split(':')[1]} on {team.name}'s metadata API key", call, checks, expected)


def s3_specs(w: World, team: Team, path: str, expected: str) -> list[Spec]:
    prefix = naming.team_prefix(team.name)
    bucket_arn = f"arn:aws:s3:::{w.bucket}"
    key = f"{prefix}attack/written-by-attack.txt"
    own = "own" if expected == "allowed" else f"{team.name}'s"
    return [
        simple(
            path,
            f"GetObject {own} {team.seed}",
            lambda c: c("s3").get_object(Bucket=w.bucket, Key=team.seed)["Body"].read(),
            identity("s3:GetObject", f"{bucket_arn}/{team.seed}"),
            expected=expected,
        ),
        simple(
            path,
            f"PutObject under {own} prefix",
            lambda c: c("s3").put_object(Bucket=w.bucket, Key=key, Body=b"x"),
            identity("s3:PutObject", f"{bucket_arn}/{key}"),
            expected=expected,
        ),
        simple(
            path,
            f"ListBucket {own} prefix",
            lambda c: c("s3").list_objects_v2(Bucket=w.bucket, Prefix=prefix),
            identity("s3:ListBucket", bucket_arn, {"s3:prefix": prefix}),
            expected=expected,
        ),
        simple(
            path,
            f"DeleteObject under {own} prefix",
            lambda c: c("s3").delete_object(Bucket=w.bucket, Key=key if expected == "allowed" else team.seed),
            identity("s3:DeleteObject", f"{bucket_arn}/{key if expected == 'allowed' else team.seed}"),
            expected=expected,
        ),
    ]


# ---------------------------------------------------------------- the attacks, by path (every actor makes each)


def path_1(w: World) -> list[Spec]:
    """Run code as B's job role: B's definition on any queue, B's role in a definition, B's data and key."""
    a, b = w.a, w.b
    bare = b.definition.rsplit(":", 1)[0]
    return [
        submit(w, a.queues["cpu"], b.definition, {"team": a.name}, what="SubmitJob B's definition to A's queue", path="1"),
        submit(
            w, a.queues["cpu"], b.definition, {"team": b.name}, what="SubmitJob B's definition to A's queue, tagged B", path="1"
        ),
        submit(
            w,
            a.queues["cpu"],
            bare,
            {"team": a.name},
            what="SubmitJob B's definition without revision (tags unchecked)",
            path="1",
        ),
        submit(
            w, b.queues["cpu"], b.definition, {"team": b.name}, what="SubmitJob B's definition to B's queue, tagged B", path="1"
        ),
        submit(
            w, b.queues["cpu"], b.definition, {"team": a.name}, what="SubmitJob B's definition to B's queue, tagged A", path="1"
        ),
        register(
            w,
            f"{a.definition_prefix}steal",
            what="RegisterJobDefinition with B's job role",
            path="1",
            tags={"team": a.name},
            role=b.roles["job"],
            group=a.log_group,
        ),
        register(
            w,
            f"{b.definition_prefix}steal",
            what="RegisterJobDefinition under B's prefix, tagged B, B's role",
            path="1",
            tags={"team": b.name},
            role=b.roles["job"],
            group=b.log_group,
        ),
        simple(
            "1",
            "PassRole B's job role to ECS (RegisterTaskDefinition)",
            lambda c: c("ecs").register_task_definition(
                family="attack",
                taskRoleArn=b.roles["job"],
                containerDefinitions=[{"name": "x", "image": "python:3.11", "memory": 128}],
            ),
            identity("ecs:RegisterTaskDefinition", "*"),
            identity("iam:PassRole", b.roles["job"], {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ),
        simple(
            "1",
            "AssumeRole B's data-scientist role",
            lambda c: c("sts").assume_role(RoleArn=b.roles["ds"], RoleSessionName="attack"),
            identity("sts:AssumeRole", b.roles["ds"]),
        ),
        simple(
            "1",
            "AssumeRole B's job role",
            lambda c: c("sts").assume_role(RoleArn=b.roles["job"], RoleSessionName="attack"),
            identity("sts:AssumeRole", b.roles["job"]),
        ),
        *s3_specs(w, b, "1", "denied"),
    ]


def path_2(w: World) -> list[Spec]:
    """One Step Functions role for every team: B's SFN role, B's queues and jobs, PutResourcePolicy."""
    a, b = w.a, w.b
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    own_machine = arn("states", f"stateMachine:{a.machine_prefix}Attack")
    b_machine = arn("states", f"stateMachine:{b.machine_prefix}Attack")
    specs = [
        simple(
            "2",
            "CreateStateMachine (A's name) running as B's SFN role",
            lambda c: c("stepfunctions").create_state_machine(
                name=f"{a.machine_prefix}Attack", definition=definition, roleArn=b.roles["sfn"]
            ),
            identity("states:CreateStateMachine", own_machine),
            identity("iam:PassRole", b.roles["sfn"], {"iam:PassedToService": "states.amazonaws.com"}),
        ),
        simple(
            "2",
            "CreateStateMachine under B's prefix, as B's SFN role",
            lambda c: c("stepfunctions").create_state_machine(
                name=f"{b.machine_prefix}Attack", definition=definition, roleArn=b.roles["sfn"]
            ),
            identity("states:CreateStateMachine", b_machine),
            identity("iam:PassRole", b.roles["sfn"], {"iam:PassedToService": "states.amazonaws.com"}),
        ),
        simple(
            "2",
            "UpdateStateMachine B's machine (run A's code as B's role)",
            lambda c: c("stepfunctions").update_state_machine(stateMachineArn=b.machine, definition=definition),
            identity("states:UpdateStateMachine", b.machine),
        ),
        simple(
            "2",
            "StartExecution B's state machine",
            lambda c: c("stepfunctions").start_execution(stateMachineArn=b.machine),
            identity("states:StartExecution", b.machine),
        ),
        simple(
            "2",
            "StopExecution B's execution",
            lambda c: c("stepfunctions").stop_execution(executionArn=b.execution),
            identity("states:StopExecution", b.execution),
        ),
        simple(
            "2",
            "DescribeExecution B's execution (its input)",
            lambda c: c("stepfunctions").describe_execution(executionArn=b.execution),
            identity("states:DescribeExecution", b.execution),
        ),
        submit(w, b.queues["gpu"], a.definition, {"team": a.name}, what="SubmitJob A's definition to B's GPU queue", path="2"),
        submit(
            w,
            b.queues["gpu"],
            b.definition,
            {"team": b.name},
            what="SubmitJob B's definition to B's GPU queue, tagged B",
            path="2",
        ),
        simple(
            "2",
            "TerminateJob B's running job",
            lambda c: c("batch").terminate_job(jobId=b.job.rsplit("/", 1)[1], reason="attack"),
            identity("batch:TerminateJob", b.job, {"aws:ResourceTag/team": b.name}),
        ),
        simple(
            "2",
            "CancelJob B's job",
            lambda c: c("batch").cancel_job(jobId=b.job.rsplit("/", 1)[1], reason="attack"),
            identity("batch:CancelJob", b.job, {"aws:ResourceTag/team": b.name}),
        ),
        simple(
            "2",
            "logs:PutResourcePolicy (account-wide)",
            lambda c: c("logs").put_resource_policy(
                policyName="attack", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
            ),
            identity("logs:PutResourcePolicy", "*"),
        ),
        simple(
            "2",
            "AssumeRole B's SFN role",
            lambda c: c("sts").assume_role(RoleArn=b.roles["sfn"], RoleSessionName="attack"),
            identity("sts:AssumeRole", b.roles["sfn"]),
        ),
        simple(
            "2",
            "AssumeRole B's EventBridge role",
            lambda c: c("sts").assume_role(RoleArn=b.roles["events"], RoleSessionName="attack"),
            identity("sts:AssumeRole", b.roles["events"]),
        ),
        # The service side: Step Functions / EventBridge assume B's role on behalf of A's machine or rule.
        simple(
            "2",
            "B's SFN role trusts A's state machine (aws:SourceArn)",
            lambda c: c("sts").assume_role(RoleArn=b.roles["sfn"], RoleSessionName="as-states"),
            trust(b.trusts["sfn"], "states.amazonaws.com", {"aws:SourceArn": a.machine, "aws:SourceAccount": ACCOUNT}),
        ),
        simple(
            "2",
            "B's EventBridge role trusts A's rule (aws:SourceArn)",
            lambda c: c("sts").assume_role(RoleArn=b.roles["events"], RoleSessionName="as-events"),
            trust(b.trusts["events"], "events.amazonaws.com", {"aws:SourceArn": a.rule, "aws:SourceAccount": ACCOUNT}),
        ),
    ]
    if "fargate" in b.queues:
        specs.append(
            submit(
                w,
                b.queues["fargate"],
                a.definition,
                {"team": a.name},
                what="SubmitJob A's definition to B's Fargate queue",
                path="2",
            )
        )
    return specs


def path_3(w: World) -> list[Spec]:
    """Containers that reach the shared instances: privileged, root, other log groups, untagged definitions."""
    a = w.a
    name = f"{a.definition_prefix}unsafe"
    common = {"path": "3", "role": a.roles["job"]}
    return [
        register(
            w, name, what="RegisterJobDefinition privileged", tags={"team": a.name}, group=a.log_group, privileged=True, **common
        ),
        register(
            w, name, what="RegisterJobDefinition as user root", tags={"team": a.name}, group=a.log_group, user="root", **common
        ),
        register(w, name, what="RegisterJobDefinition as user 0", tags={"team": a.name}, group=a.log_group, user="0", **common),
        # Docker's --user, which Batch's `user` maps to, also takes user:group (https://docs.docker.com/reference/cli/docker/container/run/).
        *(
            register(
                w, name, what=f"RegisterJobDefinition as user {u}", tags={"team": a.name}, group=a.log_group, user=u, **common
            )
            for u in ("0:0", "root:root")
        ),
        register(w, name, what="RegisterJobDefinition untagged", tags=None, group=a.log_group, **common),
        register(w, name, what="RegisterJobDefinition tagged B", tags={"team": w.b.name}, group=a.log_group, **common),
        register(w, name, what="RegisterJobDefinition without a log configuration", tags={"team": a.name}, group=None, **common),
        register(
            w,
            name,
            what="RegisterJobDefinition with the splunk log driver",
            tags={"team": a.name},
            group=a.log_group,
            driver="splunk",
            **common,
        ),
        simple(
            "3",
            "ModifyInstanceMetadataOptions (hop limit 2)",
            lambda c: c("ec2").modify_instance_metadata_options(InstanceId="i-0123456789abcdef0", HttpPutResponseHopLimit=2),
            identity("ec2:ModifyInstanceMetadataOptions", arn("ec2", "instance/i-0123456789abcdef0")),
        ),
        simple(
            "3",
            "CreateJobQueue on B's compute environments",
            lambda c: c("batch").create_job_queue(
                jobQueueName="attack",
                priority=1,
                computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce} for ce in w.b.compute[w.b.queues["cpu"]][:1]],
            ),
            identity("batch:CreateJobQueue", arn("batch", "job-queue/attack")),
        ),
    ]


def path_4(w: World) -> list[Spec]:
    """Job output and environments: B's log group, the shared /aws/batch/job group, definitions that log there."""
    a, b = w.a, w.b
    shared = naming.BATCH_LOG_GROUP
    shared_arn = arn("logs", f"log-group:{shared}")
    common = {"path": "4", "role": a.roles["job"], "tags": {"team": a.name}}
    return [
        simple(
            "4",
            "GetLogEvents B's job log",
            lambda c: c("logs").get_log_events(logGroupName=b.log_group, logStreamName="victim"),
            identity("logs:GetLogEvents", f"{b.group_arn}:log-stream:victim"),
        ),
        simple(
            "4",
            "FilterLogEvents B's job logs",
            lambda c: c("logs").filter_log_events(logGroupName=b.log_group),
            identity("logs:FilterLogEvents", b.group_arn),
        ),
        simple(
            "4",
            "DescribeLogStreams B's job logs",
            lambda c: c("logs").describe_log_streams(logGroupName=b.log_group),
            identity("logs:DescribeLogStreams", b.group_arn),
        ),
        simple(
            "4",
            "DeleteLogGroup B's job logs",
            lambda c: c("logs").delete_log_group(logGroupName=b.log_group),
            identity("logs:DeleteLogGroup", b.group_arn),
        ),
        simple(
            "4",
            "FilterLogEvents the shared /aws/batch/job",
            lambda c: c("logs").filter_log_events(logGroupName=shared),
            identity("logs:FilterLogEvents", shared_arn),
        ),
        simple(
            "4",
            "GetLogEvents the shared /aws/batch/job",
            lambda c: c("logs").get_log_events(logGroupName=shared, logStreamName="any"),
            identity("logs:GetLogEvents", f"{shared_arn}:log-stream:any"),
        ),
        register(w, f"{a.definition_prefix}leak", what="RegisterJobDefinition logging to /aws/batch/job", group=shared, **common),
        register(w, f"{a.definition_prefix}leak", what="RegisterJobDefinition logging to B's group", group=b.log_group, **common),
    ]


def path_5(w: World) -> list[Spec]:
    """The metadata UI/service backends read every team's prefix: no team may become or hand out their roles."""
    specs = []
    for role in w.platform_roles:
        short = role.rsplit("/", 1)[1]
        specs.append(
            simple(
                "5",
                f"AssumeRole platform role {short}",
                lambda c, r=role: c("sts").assume_role(RoleArn=r, RoleSessionName="attack"),
                identity("sts:AssumeRole", role),
            )
        )
        specs.append(
            simple(
                "5",
                f"PassRole platform role {short} to ECS",
                lambda c, r=role: c("ecs").register_task_definition(
                    family="attack", taskRoleArn=r, containerDefinitions=[{"name": "x", "image": "python:3.11", "memory": 128}]
                ),
                identity("ecs:RegisterTaskDefinition", "*"),
                identity("iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
            )
        )
    return specs


def path_6(w: World) -> list[Spec]:
    """The metadata service's keys: B's API key secret, and the run-owners table the service authorises with."""
    b = w.b
    specs = []
    if b.secret:
        specs += [
            read_secret(w, b, "secretsmanager:GetSecretValue", "6"),
            read_secret(w, b, "secretsmanager:DescribeSecret", "6"),
        ]
        specs.append(
            simple(
                "6",
                "PutSecretValue B's metadata API key",
                lambda c: c("secretsmanager").put_secret_value(SecretId=b.secret, SecretString="attack"),
                identity("secretsmanager:PutSecretValue", b.secret),
            )
        )
    if w.owners_table:
        owners = w.owners_table.rsplit("/", 1)[1]
        specs.append(
            simple(
                "6",
                "PutItem in the run-owners table (claim B's runs)",
                lambda c: c("dynamodb").put_item(TableName=owners, Item={"flow": {"S": "x"}}),
                identity("dynamodb:PutItem", w.owners_table),
            )
        )
    return specs


def path_7(w: World) -> list[Spec]:
    """The foreach table: B's own table, and the legacy shared one."""
    b = w.b
    name = b.table.rsplit("/", 1)[1]
    key = {"pathspec": {"S": f"{b.name}/victim"}}
    specs = [
        simple(
            "7",
            "GetItem B's foreach table",
            lambda c: c("dynamodb").get_item(TableName=name, Key=key),
            identity("dynamodb:GetItem", b.table),
        ),
        simple(
            "7",
            "PutItem B's foreach table",
            lambda c: c("dynamodb").put_item(TableName=name, Item={**key, "for_each_cardinality": {"N": "99"}}),
            identity("dynamodb:PutItem", b.table),
        ),
        simple(
            "7",
            "UpdateItem B's foreach cardinality",
            lambda c: c("dynamodb").update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET for_each_cardinality = :n",
                ExpressionAttributeValues={":n": {"N": "99"}},
            ),
            identity("dynamodb:UpdateItem", b.table),
        ),
        simple(
            "7",
            "DeleteItem B's foreach item",
            lambda c: c("dynamodb").delete_item(TableName=name, Key=key),
            identity("dynamodb:DeleteItem", b.table),
        ),
        simple("7", "Scan B's foreach table", lambda c: c("dynamodb").scan(TableName=name), identity("dynamodb:Scan", b.table)),
    ]
    if w.legacy_table:
        legacy = w.legacy_table.rsplit("/", 1)[1]
        specs.append(
            simple(
                "7",
                "PutItem the legacy shared foreach table",
                lambda c: c("dynamodb").put_item(TableName=legacy, Item={"pathspec": {"S": "x"}}),
                identity("dynamodb:PutItem", w.legacy_table),
            )
        )
        specs.append(
            simple(
                "7",
                "GetItem the legacy shared foreach table",
                lambda c: c("dynamodb").get_item(TableName=legacy, Key={"pathspec": {"S": "x"}}),
                identity("dynamodb:GetItem", w.legacy_table),
            )
        )
    return specs


def path_8(w: World) -> list[Spec]:
    """Spend: B's capacity, queue priorities, compute environment caps."""
    a, b = w.a, w.b
    b_ce = w.b.compute[b.queues["cpu"]][0]
    a_ce = w.a.compute[a.queues["cpu"]][0]
    return [
        submit(
            w,
            b.queues["cpu"],
            a.definition,
            {"team": a.name},
            what="SubmitJob A's definition to B's CPU queue (B's quota)",
            path="8",
        ),
        simple(
            "8",
            "UpdateJobQueue B's queue priority",
            lambda c: c("batch").update_job_queue(jobQueue=b.queues["cpu"], priority=1),
            identity("batch:UpdateJobQueue", b.queues["cpu"]),
        ),
        simple(
            "8",
            "UpdateJobQueue A's own queue priority (starve others)",
            lambda c: c("batch").update_job_queue(jobQueue=a.queues["cpu"], priority=1000),
            identity("batch:UpdateJobQueue", a.queues["cpu"]),
        ),
        simple(
            "8",
            "UpdateComputeEnvironment B's cap",
            lambda c: c("batch").update_compute_environment(computeEnvironment=b_ce, computeResources={"maxvCpus": 0}),
            identity("batch:UpdateComputeEnvironment", b_ce),
        ),
        simple(
            "8",
            "UpdateComputeEnvironment A's own cap (beyond its quota)",
            lambda c: c("batch").update_compute_environment(computeEnvironment=a_ce, computeResources={"maxvCpus": 4096}),
            identity("batch:UpdateComputeEnvironment", a_ce),
        ),
    ]


def path_9(w: World) -> list[Spec]:
    """Untagged jobs, tags of other teams, names of other teams, rules that match every Batch event."""
    a, b = w.a, w.b
    rule = f"{a.machine_prefix}Attack"
    rule_arn = arn("events", f"rule/{rule}")
    b_rule = arn("events", f"rule/{b.machine_prefix}Attack")
    batch_events = json.dumps({"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]})
    b_id = b.job.rsplit("/", 1)[1]
    return [
        submit(w, a.queues["cpu"], a.definition, {}, what="SubmitJob without the team tag", path="9"),
        submit(w, a.queues["cpu"], a.definition, {"team": b.name}, what="SubmitJob tagged B", path="9"),
        simple(
            "9",
            "TagResource B's job team=A",
            lambda c: c("batch").tag_resource(resourceArn=b.job, tags={"team": a.name}),
            identity("batch:TagResource", b.job, _request_tags({"team": a.name}) | {"aws:ResourceTag/team": b.name}),
        ),
        simple(
            "9",
            "UntagResource B's job (drop its team)",
            lambda c: c("batch").untag_resource(resourceArn=b.job, tagKeys=["team"]),
            identity("batch:UntagResource", b.job, {"aws:TagKeys": ["team"], "aws:ResourceTag/team": b.name}),
        ),
        simple(
            "9",
            "TagResource B's job definition team=A",
            lambda c: c("batch").tag_resource(resourceArn=b.definition, tags={"team": a.name}),
            identity("batch:TagResource", b.definition, _request_tags({"team": a.name}) | {"aws:ResourceTag/team": b.name}),
        ),
        simple(
            "9",
            "TerminateJob B's job by id",
            lambda c: c("batch").terminate_job(jobId=b_id, reason="attack"),
            identity("batch:TerminateJob", b.job, {"aws:ResourceTag/team": b.name}),
        ),
        register(
            w,
            f"{b.definition_prefix}{'0' * 8}",
            what="pre-register a name under B's prefix",
            path="9",
            tags={"team": a.name},
            role=a.roles["job"],
            group=a.log_group,
        ),
        register(
            w,
            "metaflow_0123456789abcdef",
            what="register Metaflow's own name (metaflow_<hash>)",
            path="9",
            tags={"team": a.name},
            role=a.roles["job"],
            group=a.log_group,
        ),
        simple(
            "9",
            "PutRule matching every Batch job event",
            lambda c: c("events").put_rule(Name=rule, EventPattern=batch_events),
            identity(
                "events:PutRule", rule_arn, {"events:source": ["aws.batch"], "events:detail-type": ["Batch Job State Change"]}
            ),
        ),
        simple(
            "9",
            "PutRule matching detail-type only",
            lambda c: c("events").put_rule(Name=rule, EventPattern=json.dumps({"detail-type": ["Batch Job State Change"]})),
            identity("events:PutRule", rule_arn, {"events:detail-type": ["Batch Job State Change"]}),
        ),
        simple(
            "9",
            "PutRule under B's prefix",
            lambda c: c("events").put_rule(Name=f"{b.machine_prefix}Attack", ScheduleExpression="rate(1 day)"),
            identity("events:PutRule", b_rule),
        ),
        simple(
            "9",
            "PutTargets A's rule -> B's state machine",
            lambda c: c("events").put_targets(
                Rule=a.rule.rsplit("/", 1)[1], Targets=[{"Id": "x", "Arn": b.machine, "RoleArn": a.roles["events"]}]
            ),
            identity("events:PutTargets", a.rule, {"events:TargetArn": b.machine}),
            identity("iam:PassRole", a.roles["events"], {"iam:PassedToService": "events.amazonaws.com"}),
        ),
        simple(
            "9",
            "PutTargets B's rule -> A's state machine",
            lambda c: c("events").put_targets(
                Rule=b.rule.rsplit("/", 1)[1], Targets=[{"Id": "x", "Arn": a.machine, "RoleArn": a.roles["events"]}]
            ),
            identity("events:PutTargets", b.rule, {"events:TargetArn": a.machine}),
        ),
        simple(
            "9",
            "PutTargets A's rule -> A's machine with B's EventBridge role",
            lambda c: c("events").put_targets(
                Rule=a.rule.rsplit("/", 1)[1], Targets=[{"Id": "x", "Arn": a.machine, "RoleArn": b.roles["events"]}]
            ),
            identity("events:PutTargets", a.rule, {"events:TargetArn": a.machine}),
            identity("iam:PassRole", b.roles["events"], {"iam:PassedToService": "events.amazonaws.com"}),
        ),
    ]


PATHS = {"1": path_1, "2": path_2, "3": path_3, "4": path_4, "5": path_5, "6": path_6, "7": path_7, "8": path_8, "9": path_9}


# ---------------------------------------------------------------- controls: each role does what it needs on A's own


def controls(w: World) -> dict[str, list[Spec]]:
    a = w.a
    table = a.table.rsplit("/", 1)[1]
    key = {"pathspec": {"S": f"{a.name}/victim"}}
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    own_machine = arn("states", f"stateMachine:{a.machine_prefix}Control")
    submit_own = submit(
        w,
        a.queues["cpu"],
        a.definition,
        {"team": a.name},
        what="SubmitJob own definition to own queue",
        path="control",
        expected="allowed",
    )
    table_specs = [
        simple(
            "control",
            "GetItem own foreach table",
            lambda c: c("dynamodb").get_item(TableName=table, Key=key),
            identity("dynamodb:GetItem", a.table),
            expected="allowed",
        ),
        simple(
            "control",
            "PutItem own foreach table",
            lambda c: c("dynamodb").put_item(TableName=table, Item={**key, "for_each_cardinality": {"N": "3"}}),
            identity("dynamodb:PutItem", a.table),
            expected="allowed",
        ),
        simple(
            "control",
            "UpdateItem own foreach table",
            lambda c: c("dynamodb").update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET for_each_cardinality = :n",
                ExpressionAttributeValues={":n": {"N": "3"}},
            ),
            identity("dynamodb:UpdateItem", a.table),
            expected="allowed",
        ),
    ]
    secret = [read_secret(w, a, "secretsmanager:GetSecretValue", "control", "allowed")] if a.secret else []
    ds = [
        *s3_specs(w, a, "control", "allowed"),
        register(
            w,
            f"{a.definition_prefix}control",
            what="RegisterJobDefinition as the extension does",
            path="control",
            tags={"team": a.name},
            role=a.roles["job"],
            group=a.log_group,
            expected="allowed",
        ),
        submit_own,
        simple(
            "control",
            "TerminateJob own job",
            lambda c: c("batch").terminate_job(jobId=a.job.rsplit("/", 1)[1], reason="control"),
            identity("batch:TerminateJob", a.job, {"aws:ResourceTag/team": a.name}),
            expected="allowed",
        ),
        simple(
            "control",
            "CancelJob own job",
            lambda c: c("batch").cancel_job(jobId=a.job.rsplit("/", 1)[1], reason="control"),
            identity("batch:CancelJob", a.job, {"aws:ResourceTag/team": a.name}),
            expected="allowed",
        ),
        simple(
            "control",
            "DescribeJobs",
            lambda c: c("batch").describe_jobs(jobs=[a.job.rsplit("/", 1)[1]]),
            identity("batch:DescribeJobs", "*"),
            expected="allowed",
        ),
        simple(
            "control",
            "GetLogEvents own job log",
            lambda c: c("logs").get_log_events(logGroupName=a.log_group, logStreamName="victim"),
            identity("logs:GetLogEvents", f"{a.group_arn}:log-stream:victim"),
            expected="allowed",
        ),
        simple(
            "control",
            "FilterLogEvents own job logs",
            lambda c: c("logs").filter_log_events(logGroupName=a.log_group),
            identity("logs:FilterLogEvents", a.group_arn),
            expected="allowed",
        ),
        simple(
            "control",
            "GetParameter own profile",
            lambda c: c("ssm").get_parameter(Name=naming.profile_parameter(w.env, a.name)),
            identity("ssm:GetParameter", a.parameter),
            expected="allowed",
        ),
        simple(
            "control",
            "CreateStateMachine as own SFN role",
            lambda c: c("stepfunctions").create_state_machine(
                name=f"{a.machine_prefix}Control", definition=definition, roleArn=a.roles["sfn"]
            ),
            identity("states:CreateStateMachine", own_machine),
            identity("iam:PassRole", a.roles["sfn"], {"iam:PassedToService": "states.amazonaws.com"}),
            expected="allowed",
        ),
        simple(
            "control",
            "StartExecution own state machine",
            lambda c: c("stepfunctions").start_execution(stateMachineArn=a.machine),
            identity("states:StartExecution", a.machine),
            expected="allowed",
        ),
        simple(
            "control",
            "PutRule own schedule",
            lambda c: c("events").put_rule(Name=a.rule.rsplit("/", 1)[1], ScheduleExpression="rate(1 day)", State="DISABLED"),
            identity("events:PutRule", a.rule),
            expected="allowed",
        ),
        simple(
            "control",
            "PutTargets own rule -> own machine, own EventBridge role",
            lambda c: c("events").put_targets(
                Rule=a.rule.rsplit("/", 1)[1], Targets=[{"Id": "x", "Arn": a.machine, "RoleArn": a.roles["events"]}]
            ),
            identity("events:PutTargets", a.rule, {"events:TargetArn": a.machine}),
            identity("iam:PassRole", a.roles["events"], {"iam:PassedToService": "events.amazonaws.com"}),
            expected="allowed",
        ),
        *secret,
    ]
    job = [*s3_specs(w, a, "control", "allowed"), *table_specs, *secret]
    sfn = [
        submit_own,
        simple(
            "control",
            "TerminateJob own job",
            lambda c: c("batch").terminate_job(jobId=a.job.rsplit("/", 1)[1], reason="control"),
            identity("batch:TerminateJob", a.job, {"aws:ResourceTag/team": a.name}),
            expected="allowed",
        ),
        simple(
            "control",
            "DescribeJobs",
            lambda c: c("batch").describe_jobs(jobs=[a.job.rsplit("/", 1)[1]]),
            identity("batch:DescribeJobs", "*"),
            expected="allowed",
        ),
        simple(
            "control",
            "GetItem own foreach table",
            lambda c: c("dynamodb").get_item(TableName=table, Key=key),
            identity("dynamodb:GetItem", a.table),
            expected="allowed",
        ),
        simple(
            "control",
            "A's SFN role trusts A's state machine (aws:SourceArn)",
            lambda c: c("sts").assume_role(RoleArn=a.roles["sfn"], RoleSessionName="as-states"),
            trust(a.trusts["sfn"], "states.amazonaws.com", {"aws:SourceArn": a.machine, "aws:SourceAccount": ACCOUNT}),
            expected="allowed",
        ),
    ]
    events = [
        simple(
            "control",
            "StartExecution own state machine",
            lambda c: c("stepfunctions").start_execution(stateMachineArn=a.machine),
            identity("states:StartExecution", a.machine),
            expected="allowed",
        ),
        simple(
            "control",
            "A's EventBridge role trusts A's rule (aws:SourceArn)",
            lambda c: c("sts").assume_role(RoleArn=a.roles["events"], RoleSessionName="as-events"),
            trust(a.trusts["events"], "events.amazonaws.com", {"aws:SourceArn": a.rule, "aws:SourceAccount": ACCOUNT}),
            expected="allowed",
        ),
    ]
    if w.fargate_execution_role and "fargate" in a.queues:
        ds.append(
            register(
                w,
                f"{a.definition_prefix}fargate",
                what="RegisterJobDefinition for Fargate (passes the execution role)",
                path="control",
                tags={"team": a.name},
                role=a.roles["job"],
                group=a.log_group,
                execution_role=w.fargate_execution_role,
                expected="allowed",
            )
        )
    return {"ds": ds, "job": job, "sfn": sfn, "events": events}


def residuals(w: World) -> list[Spec]:
    """What IAM cannot refuse (docs/security.md says what holds instead). Printed, not asserted."""
    a = w.a
    untagged_id = w.untagged_job.rsplit("/", 1)[1]
    return [
        simple(
            "residual",
            "claim an untagged job (TagResource team=A, then it is A's)",
            lambda c: c("batch").tag_resource(resourceArn=w.untagged_job, tags={"team": a.name}),
            identity("batch:TagResource", w.untagged_job, _request_tags({"team": a.name})),
            expected="n/a",
        ),
        simple(
            "residual",
            "then TerminateJob it (now tagged A)",
            lambda c: c("batch").terminate_job(jobId=untagged_id, reason="attack"),
            identity("batch:TerminateJob", w.untagged_job, {"aws:ResourceTag/team": a.name}),
            expected="n/a",
        ),
        register(
            w,
            f"{a.definition_prefix}hostmount",
            what="RegisterJobDefinition mounting the host's / (no condition key)",
            path="residual",
            tags={"team": a.name},
            role=a.roles["job"],
            group=a.log_group,
            host_volume=True,
            expected="n/a",
        ),
        # Not an attack: the extension's request as it is today. Metaflow sends no `privileged` field when it is
        # false; if AWS leaves batch:Privileged out of the context then, a `Bool` (not ...IfExists) refuses it.
        register(
            w,
            f"{a.definition_prefix}noflag",
            what="RegisterJobDefinition without a privileged field (as Metaflow sends it)",
            path="residual",
            tags={"team": a.name},
            role=a.roles["job"],
            group=a.log_group,
            privileged=None,
            expected="n/a",
        ),
        simple(
            "residual",
            "DescribeJobs B's job (environment visible; no secret in it)",
            lambda c: c("batch").describe_jobs(jobs=[w.b.job.rsplit("/", 1)[1]]),
            identity("batch:DescribeJobs", "*"),
            expected="n/a",
        ),
    ]


# ---------------------------------------------------------------- running everything once


@pytest.fixture(scope="module")
def results(world) -> list[Result]:
    out = []
    arns = world.a.roles
    docs = world.a.documents
    for path in PATHS.values():
        for spec in path(world):
            out += [run(spec, actor, arns[actor], docs[actor], world.client(actor)) for actor in ACTORS]
    for actor, specs in controls(world).items():
        out += [run(spec, actor, arns[actor], docs[actor], world.client(actor)) for spec in specs]
    for spec in residuals(world):
        out += [run(spec, actor, arns[actor], docs[actor], world.client(actor)) for actor in ("ds", "sfn")]
    return out


def leaks(results: list[Result], path: str) -> list[str]:
    attempts = [r for r in results if r.spec.path == path]
    assert attempts, f"no attempt for path {path}"
    return [
        f"{r.actor}: {r.spec.what} -> {r.verdict} ({r.decided_by}; moto {r.moto}; {r.checks})"
        for r in attempts
        if r.verdict != "denied"
    ]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_attack_of_the_path_is_denied(results, path):
    found = leaks(results, path)
    assert not found, f"path {path}: {len(found)} attacks succeeded:\n" + "\n".join(found)


def test_path_3_and_8_each_team_has_its_own_compute(world):
    """No compute environment serves two teams (a container that escapes lands on its own team's host), and
    instances carry the team's tag (so its budget sees compute)."""
    queues = world.structure["queues"]
    ces = {team: {ce for ces in q.values() for ce in ces} for team, q in queues.items()}
    a, b = world.a.name, world.b.name
    assert ces[a] and ces[b] and not ces[a] & ces[b], ces
    for team, tags in world.structure["instance_tags"].items():
        ec2 = {ce: t for ce, t in tags.items() if "fargate" not in ce}
        assert ec2 and all(t.get(naming.TEAM_TAG) == team for t in ec2.values()), (team, tags)


def test_controls_the_team_still_does_everything_it_needs(results):
    controls_ = [r for r in results if r.spec.path == "control"]
    assert {r.actor for r in controls_} == set(ACTORS)
    failed = [
        f"{r.actor}: {r.spec.what} -> {r.verdict} ({r.decided_by}; moto {r.moto}; {r.checks})"
        for r in controls_
        if r.verdict != "allowed"
    ]
    assert not failed, "controls refused:\n" + "\n".join(failed)


def test_the_evaluator_agrees_with_moto_wherever_moto_decides(results):
    decided = [r for r in results if r.decided_by == "moto"]
    assert len(decided) >= 100, f"only {len(decided)} attempts decided by moto"
    assert {"allowed", "denied"} <= {r.verdict for r in decided}, "moto decided only one way: the cross-check is weak"
    disagree = [
        f"{r.actor}: {r.spec.what}: moto {r.moto}, evaluator {r.oracle} {r.checks}"
        for r in decided
        if (r.oracle == "allow") != r.moto_allowed
    ]
    assert not disagree, "\n".join(disagree)


def test_at_least_60_attempts_per_actor_and_the_table(results, capsys):
    counts = Counter(r.actor for r in results if r.spec.path != "residual")
    for actor in ("ds", "job", "sfn"):
        assert counts[actor] >= MIN_ATTEMPTS, counts
    with capsys.disabled():
        print_table(results, Console(width=200))
