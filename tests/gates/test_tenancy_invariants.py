"""The tenancy gate: invariants on the policy JSON of every stack (dev, staging, prod, local), the checks IAM
Access Analyzer's ``check-access-not-granted`` would be asked to make (issue 11, "Prove it"):

* no SubmitJob on a wildcard of job definitions without the team-tag conditions (and the ``:*`` revision);
* no RegisterJobDefinition without the privileged, log-group, log-driver and team-tag conditions;
* no role usable (assumable, passable, or put to work through a job definition or state machine) by two
  teams that reaches either team's data, queues or jobs;
* no ``logs:PutResourcePolicy`` in any role;
* no launch template with an IMDS hop limit above 1.

The per-document checks are :func:`tools.guards.unsafe_batch_statements`,
:func:`tools.guards.forbidden_action_statements` and :func:`tools.guards.launch_template_problems`
(unit-tested with bad documents in tests/unit/test_guards.py); the role-sharing analysis is here, with its own
bad-document tests at the end. Each stack runs under ArnMocks once per process (gate_support.snapshot).

On a real account the same questions go to Access Analyzer (docs/security.md has the commands):
``aws accessanalyzer check-access-not-granted --policy-document file://role.json --access actions=batch:SubmitJob
--policy-type IDENTITY_POLICY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from gate_support import REPO, STACKS, snapshot

from core import naming
from infra.config import load_from_files
from localcloud.plan import ACCOUNT, REGION
from tools import guards, iam_documents
from tools.guards import Principal, policy_decision

PARTITION = "aws"

# ---------------------------------------------------------------- the role-sharing analysis


@dataclass(frozen=True)
class Probe:
    """A request (``what`` names what it reaches); a trust-policy request has no resource and a ``principal``."""

    what: str
    action: str
    resource: str | None
    context: Mapping[str, Any] = field(default_factory=dict)
    principal: Principal | None = None

    def decision(self, documents: Sequence[Mapping[str, Any]]) -> str:
        return policy_decision(documents, self.action, self.resource, self.context, principal=self.principal)


@dataclass(frozen=True)
class RolePolicies:
    arn: str
    identity: Sequence[Mapping[str, Any]]  # inline and attached documents
    trust: Mapping[str, Any]
    team: str | None  # the team the role belongs to (by its name), None for a platform role


# Services a role may be handed to (iam:PassedToService), for "who can give this role to a service".
PASSED_TO = ("batch", "ecs-tasks", "states", "events", "ec2", "lambda", "scheduler", "ecs", "eks", "pods.eks")


def role_users(
    role: RolePolicies,
    roles: Sequence[RolePolicies],
    trusted: Mapping[str, Sequence[Probe]],
    embedded: Mapping[str, Sequence[Probe]],
) -> set[str]:
    """The teams that can use ``role``:

    * its own team;
    * the teams one of whose roles may assume it, or pass it to any service of :data:`PASSED_TO`;
    * the teams one of whose roles may put it to work without passing it (``embedded[role.arn]``: SubmitJob with a
      job definition that names it, StartExecution or UpdateStateMachine of a state machine that runs as it);
    * the teams whose own state machines or rules its trust admits (``trusted``: per team, the AssumeRole
      requests a service makes on behalf of the team's resources, with ``aws:SourceArn``).
    """
    users = {role.team} if role.team else set()
    asks = [("sts:AssumeRole", {}), *(("iam:PassRole", {"iam:PassedToService": f"{svc}.amazonaws.com"}) for svc in PASSED_TO)]
    for other in roles:
        if other.team is None:
            continue
        if any(policy_decision(other.identity, a, role.arn, c) == "allow" for a, c in asks):
            users.add(other.team)
        if any(p.decision(other.identity) == "allow" for p in embedded.get(role.arn, ())):
            users.add(other.team)
    users |= {team for team, probes in trusted.items() if any(p.decision([role.trust]) == "allow" for p in probes)}
    return users


def shared_role_problems(
    roles: Sequence[RolePolicies],
    reach: Mapping[str, Sequence[Probe]],
    trusted: Mapping[str, Sequence[Probe]],
    embedded: Mapping[str, Sequence[Probe]],
) -> list[str]:
    """Roles usable by two or more teams (:func:`role_users`) that reach any team's data, queues or jobs
    (``reach``: per team, the requests that would). A role shared by design (the Fargate execution role) passes
    only if it reaches none of them."""
    problems = []
    for role in roles:
        users = role_users(role, roles, trusted, embedded)
        if len(users) > 1:
            problems += [
                f"{role.arn} (usable by {sorted(users)}) reaches {team}'s {p.what}: {p.action} on {p.resource}"
                for team, probes in reach.items()
                for p in probes
                if p.decision(role.identity) == "allow"
            ]
    return problems


# ---------------------------------------------------------------- a stack's roles and each team's resources


def arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


@dataclass(frozen=True)
class Team:
    """Where a team's resources are, as the naming module names them (ARNs in ArnMocks' formats)."""

    env: str
    name: str
    bucket: str

    @property
    def queues(self) -> list[str]:
        return [arn("batch", f"job-queue/{naming.job_queue(self.env, self.name, k)}") for k in naming.QUEUE_KINDS]

    def definition(self, revision: str = ":1") -> str:
        return arn("batch", f"job-definition/{naming.job_definition_prefix(self.env, self.name)}probe{revision}")

    @property
    def state_machine(self) -> str:
        return arn("states", f"stateMachine:{naming.state_machine_name_prefix(self.env, self.name)}Probe")

    @property
    def rule(self) -> str:
        return arn("events", f"rule/{naming.state_machine_name_prefix(self.env, self.name)}Probe")

    def reach(self) -> list[Probe]:
        """Requests that reach the team's data, queues or jobs."""
        t = self.name
        tags = {"aws:ResourceTag/team": t, "aws:RequestTag/team": t}
        prefix = naming.team_prefix(t)
        secret = arn("secretsmanager", f"secret:{naming.metadata_api_key_secret(self.env, t)}-AbCdEf")
        group = arn("logs", f"log-group:{naming.job_log_group(self.env, t)}")
        return [
            Probe("data", "s3:GetObject", f"arn:{PARTITION}:s3:::{self.bucket}/{prefix}probe"),
            Probe("data", "s3:PutObject", f"arn:{PARTITION}:s3:::{self.bucket}/{prefix}probe"),
            Probe("data", "s3:ListBucket", f"arn:{PARTITION}:s3:::{self.bucket}", {"s3:prefix": prefix}),
            *(Probe("queue", "batch:SubmitJob", q, tags) for q in self.queues),
            Probe("job definitions", "batch:SubmitJob", self.definition(), tags),
            Probe("jobs", "batch:TerminateJob", arn("batch", "job/probe"), {"aws:ResourceTag/team": t}),
            Probe("jobs", "batch:TagResource", arn("batch", "job/probe"), tags),
            Probe("foreach table", "dynamodb:PutItem", arn("dynamodb", f"table/{naming.team_state_table(self.env, t)}")),
            Probe("API key", "secretsmanager:GetSecretValue", secret),
            Probe("job logs", "logs:GetLogEvents", f"{group}:log-stream:probe"),
            Probe("profile", "ssm:GetParameter", arn("ssm", f"parameter{naming.profile_parameter(self.env, t)}")),
            Probe("state machines", "states:StartExecution", self.state_machine),
        ]

    def trusted(self) -> list[Probe]:
        """AssumeRole requests Step Functions and EventBridge make on behalf of the team's machines and rules."""
        return [
            Probe(
                "state machine",
                "sts:AssumeRole",
                None,
                {"aws:SourceArn": self.state_machine, "aws:SourceAccount": ACCOUNT},
                {"Service": "states.amazonaws.com"},
            ),
            Probe(
                "rule",
                "sts:AssumeRole",
                None,
                {"aws:SourceArn": self.rule, "aws:SourceAccount": ACCOUNT},
                {"Service": "events.amazonaws.com"},
            ),
        ]


def teams_of(stack: str) -> list[Team]:
    platform = load_from_files(REPO, stack)
    bucket = naming.datastore_bucket(platform.settings.name_prefix, platform.environment)
    return [Team(platform.environment, t.name, bucket) for t in platform.teams]


def team_of_role(name: str, teams: Sequence[Team]) -> str | None:
    kinds = (
        naming.data_scientist_role,
        naming.job_role,
        naming.step_functions_role,
        naming.eventbridge_role,
        naming.warehouse_role,
    )
    return next((t.name for t in teams for kind in kinds if kind(t.env, t.name) == name), None)


def stack_roles(stack: str, teams: Sequence[Team]) -> list[RolePolicies]:
    """Every role the stack declares, with its inline, RolePolicy and attached (stack-declared) documents."""
    snap = snapshot(stack)
    arns = snap.arns()
    custom = snap.custom()
    docs = {(d.urn, d.attribute): d.document for d in iam_documents.documents(custom, arns)}
    policy_docs = {arns.get(r.urn): docs.get((r.urn, "policy")) for r in custom if r.type == "aws:iam/policy:Policy"}
    out = []
    for role in (r for r in custom if r.type == "aws:iam/role:Role"):
        role_arn = arns[role.urn]
        names = {role.id, role.inputs.get("name"), role_arn, snap.states.get(role.urn, {}).get("name")} - {None}
        identity = [d for (urn, attribute), d in docs.items() if urn == role.urn and attribute.startswith("inlinePolicies")]
        for r in custom:
            if r.type == "aws:iam/rolePolicy:RolePolicy" and r.inputs.get("role") in names:
                identity.append(docs[r.urn, "policy"])
            if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and r.inputs.get("role") in names:
                attached = policy_docs.get(r.inputs.get("policyArn"))
                if attached:  # an AWS-managed policy is not in the stack: docs/security.md lists them
                    identity.append(attached)
        name = snap.states.get(role.urn, {}).get("name") or role.inputs.get("name") or ""
        out.append(RolePolicies(role_arn, identity, docs[role.urn, "assumeRolePolicy"], team_of_role(name, teams)))
    return out


def embedded_probes(teams: Sequence[Team]) -> dict[str, list[Probe]]:
    """Per team role ARN: the requests that put it to work without passing it. A job definition of team t names
    t's job role; t's state machines run as t's Step Functions role (and an updated definition would too)."""
    out: dict[str, list[Probe]] = {}
    for t in teams:
        job = arn("iam", f"role/{naming.job_role(t.env, t.name)}", region="")
        sfn = arn("iam", f"role/{naming.step_functions_role(t.env, t.name)}", region="")
        out[job] = [
            Probe("job role", "batch:SubmitJob", t.definition(), {"aws:ResourceTag/team": t.name, "aws:RequestTag/team": u.name})
            for u in teams
        ]
        out[sfn] = [Probe("sfn role", a, t.state_machine) for a in ("states:StartExecution", "states:UpdateStateMachine")]
    return out


# ---------------------------------------------------------------- the gate


@pytest.mark.parametrize("stack", STACKS)
def test_batch_statements_are_team_bound(stack):
    problems = []
    for doc in iam_documents.documents(snapshot(stack).custom(), snapshot(stack).arns()):
        if doc.kind == iam_documents.IDENTITY:
            problems += [f"{doc.urn} {doc.attribute}: {p}" for p in guards.unsafe_batch_statements(doc.document)]
    assert not problems, f"{stack}:\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_no_role_may_put_resource_policies_on_logs(stack):
    problems = []
    for doc in iam_documents.documents(snapshot(stack).custom(), snapshot(stack).arns()):
        if doc.kind == iam_documents.IDENTITY:
            problems += [f"{doc.urn} {doc.attribute}: {p}" for p in guards.forbidden_action_statements(doc.document)]
    assert not problems, f"{stack}:\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_launch_templates_keep_instance_credentials_from_containers(stack):
    templates = [r for r in snapshot(stack).custom() if r.type == "aws:ec2/launchTemplate:LaunchTemplate"]
    problems = [f"{r.urn}: {p}" for r in templates for p in guards.launch_template_problems(r.inputs)]
    assert not problems, f"{stack}:\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_no_role_usable_by_two_teams_reaches_a_team(stack):
    teams = teams_of(stack)
    assert len(teams) >= 2, f"{stack}: the invariant needs two teams"
    roles = stack_roles(stack, teams)
    owned = {r.team for r in roles if r.team}
    assert owned == {t.name for t in teams}, f"{stack}: roles found for {sorted(owned)} only"
    reach = {t.name: t.reach() for t in teams}
    trusted = {t.name: t.trusted() for t in teams}
    embedded = embedded_probes(teams)
    problems = shared_role_problems(roles, reach, trusted, embedded)
    assert not problems, f"{stack}:\n" + "\n".join(problems)
    # Each team role is its own team's only, and each team reaches its own resources through one of its roles
    # (the probes are live: a team that could reach nothing would pass the check above vacuously).
    for role in roles:
        if role.team:
            users = role_users(role, roles, trusted, embedded)
            assert users == {role.team}, f"{stack}: {role.arn} is usable by {sorted(users)}"
    for t in teams:
        own = [r for r in roles if r.team == t.name]
        reached = {p.what for p in reach[t.name] if any(p.decision(r.identity) == "allow" for r in own)}
        assert {"data", "queue", "job definitions", "jobs"} <= reached, f"{stack}: team {t.name} reaches only {sorted(reached)}"


# ---------------------------------------------------------------- the analysis must be able to fail

A, B = Team("dev", "fraud", "strata-dev-datastore"), Team("dev", "research", "strata-dev-datastore")


def _role(name: str, team: str | None, statements: list[dict[str, Any]], trust: dict[str, Any] | None = None) -> RolePolicies:
    return RolePolicies(
        arn("iam", f"role/{name}", region=""),
        [{"Version": "2012-10-17", "Statement": statements}],
        trust
        or {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        team,
    )


def _ds(team: Team, *extra: dict[str, Any]) -> RolePolicies:
    own = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{team.bucket}/teams/{team.name}/*"}
    return _role(naming.data_scientist_role(team.env, team.name), team.name, [own, *extra])


def _problems(roles: list[RolePolicies]) -> list[str]:
    teams = (A, B)
    return shared_role_problems(
        roles, {t.name: t.reach() for t in teams}, {t.name: t.trusted() for t in teams}, embedded_probes(teams)
    )


def test_a_role_passable_by_two_teams_that_reaches_data_is_found():
    shared = _role(
        "strata-dev-shared",
        None,
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::strata-dev-datastore/teams/*"}],
    )
    pass_it = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": shared.arn,
        "Condition": {"StringEquals": {"iam:PassedToService": "batch.amazonaws.com"}},
    }
    assert _problems([_ds(A), _ds(B), shared]) == [], "passable by nobody: not shared"
    assert _problems([_ds(A, pass_it), _ds(B), shared]) == [], "passable by one team: not shared"
    found = _problems([_ds(A, pass_it), _ds(B, pass_it), shared])
    assert any("reaches fraud's data" in p for p in found) and any("reaches research's data" in p for p in found), found
    harmless = _role("strata-dev-exec", None, [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}])
    assert (
        _problems([_ds(A, {**pass_it, "Resource": harmless.arn}), _ds(B, {**pass_it, "Resource": harmless.arn}), harmless]) == []
    )


def test_a_service_role_whose_trust_admits_every_teams_machines_is_found():
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*"}},
            }
        ]
    }
    submit_all = {"Effect": "Allow", "Action": "batch:SubmitJob", "Resource": "*"}
    sfn = _role(naming.step_functions_role("dev", "fraud"), "fraud", [submit_all], trust)
    assert any("research's queue" in p for p in _problems([_ds(A), _ds(B), sfn])), "the trust admits research's machines"
    bound = json.loads(
        json.dumps(trust).replace("stateMachine:*", f"stateMachine:{naming.state_machine_name_prefix('dev', 'fraud')}*")
    )
    assert _problems([_ds(A), _ds(B), _role(sfn.arn.rsplit("/", 1)[1], "fraud", [submit_all], bound)]) == []


def test_a_job_role_put_to_work_by_another_team_through_its_definitions_is_found():
    job = _role(
        naming.job_role("dev", "research"),
        "research",
        [{"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{B.bucket}/teams/research/*"}],
    )
    # the released SubmitToOwnQueues: any job definition of the account (issue 11, path 1)
    submit_any = {"Effect": "Allow", "Action": "batch:SubmitJob", "Resource": "arn:aws:batch:*:*:job-definition/*"}
    found = _problems([_ds(A, submit_any), _ds(B), job])
    assert any(job.arn in p and "research's data" in p for p in found), found
    tagged = {
        **submit_any,
        "Resource": A.definition(":*").replace("probe:*", "*:*"),
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "fraud"}},
    }
    assert _problems([_ds(A, tagged), _ds(B), job]) == []
