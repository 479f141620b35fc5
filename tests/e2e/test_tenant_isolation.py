"""Tenant isolation, proven in moto with IAM enforcement on: no team reaches another team's data or roles.

One fresh moto server for the module (never the shared one: enforcement would break every other test
on it). The `local` stack is deployed into it with the local engine, exactly as `strata local up`
does; then, before enforcement is switched on, a prober IAM user and its roles are set up with the
test account's fake root credentials, and finally `POST /moto-api/reset-auth` (body `0`) makes
moto check every request against IAM.

**Why "twin" roles.** The team roles cannot be assumed as deployed, for two reasons that are moto's,
not the program's (the program is not changed for the test):

* a data-scientist role trusts `arn:aws:iam::123456789012:root` (the local team files), which on AWS
  lets any principal of the account whose own policy allows `sts:AssumeRole` assume it; moto 5.2.5
  compares trust principals by exact ARN, so the prober user is refused (measured in
  :func:`test_moto_does_not_honour_account_root_trust`);
* a job role trusts only `ecs-tasks.amazonaws.com`; moto answers a user's AssumeRole of it with a 500
  (its trust check reads `Principal.AWS`, which a service trust lacks).

So each team role gets a twin `isolation-<team>-<kind>` whose inline and attached policies are
**copied verbatim from moto's IAM** (what was deployed) and whose trust names the prober. moto decides
S3 access from the policies of the session's role, so a twin's session is authorised exactly as the
team role's would be. Cross-team AssumeRole is attempted against the real team roles.

**What moto does not enforce** is decided on the deployed policy JSON instead: `Condition` blocks
(so `s3:ListBucket` of another team's prefix, which the `s3:prefix` condition refuses, is evaluated
with `tools.guards.policy_decision`, cross-checked against moto on every request moto does enforce),
and the resource ARNs of SSM, Secrets Manager, Batch, Step Functions, EventBridge, DynamoDB,
Redshift and KMS (:func:`test_every_team_policy_names_only_its_own_resources`). The bucket policy's
TLS-only Deny is not put into moto (engine note); its JSON is asserted in the stack tests.

Rerun: ``.venv/bin/python -m pytest tests/e2e/test_tenant_isolation.py -s`` (the counts are printed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from attack_support import ACCOUNT, deployed_documents, role_arn
from attack_support import outcome as _outcome
from attack_support import set_auth as _set_auth
from botocore.exceptions import ClientError
from rich.console import Console

from core import naming
from infra.config import load_from_files
from localcloud import session
from localcloud.server import configure_moto, start_moto
from tools import guards

REPO = Path(__file__).resolve().parents[2]
STACK = session.STACK
KINDS = ("ds", "job")
PROBER = "isolation-prober"
pytestmark = pytest.mark.e2e


@dataclass
class Attempt:
    who: str  # team whose credentials were used
    kind: str  # ds | job
    target: str  # team whose resource was targeted
    op: str  # get | put | delete | list | assume-ds | assume-job
    moto: str  # allowed | denied | error:<code>
    oracle: str | None = None  # guards.policy_decision on the deployed JSON (S3 operations)
    decided_by: str = "moto"

    @property
    def allowed(self) -> bool:
        return (self.oracle == "allow") if self.decided_by == "policy-json" else self.moto == "allowed"

    @property
    def denied(self) -> bool:
        if self.decided_by == "policy-json":
            return self.oracle in ("deny", "implicit-deny")
        return self.moto == "denied"


@dataclass
class Isolation:
    endpoint: str
    bucket: str
    teams: list[str]
    documents: dict[tuple[str, str], list[dict[str, Any]]]  # (team, kind) -> deployed inline + attached policies
    trusts: dict[tuple[str, str], dict[str, Any]]
    sessions: dict[tuple[str, str], boto3.session.Session]
    prober: boto3.session.Session
    auditor: boto3.session.Session
    root_trust_probe: str
    attempts: list[Attempt] = field(default_factory=list)

    def client(self, sess: boto3.session.Session, service: str) -> Any:
        return sess.client(service, endpoint_url=self.endpoint, region_name="us-east-1")


def role_name(team: str, kind: str) -> str:
    return naming.data_scientist_role(STACK, team) if kind == "ds" else naming.job_role(STACK, team)


def seed_key(team: str) -> str:
    return f"{naming.team_prefix(team)}isolation/seed.txt"


@pytest.fixture(scope="module")
def isolation():
    server = start_moto()
    try:
        configure_moto(server.endpoint)
        run, _ = session.deploy(REPO, server.endpoint, "us-east-1", Console(quiet=True))
        teams = sorted(t.name for t in load_from_files(REPO, STACK).teams)
        assert len(teams) >= 2, "tenant isolation needs at least two teams in the local stack"
        bucket = run.outputs["datastoreBucket"]
        root = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        iam = root.client("iam", endpoint_url=server.endpoint, region_name="us-east-1")
        s3 = root.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")

        documents, trusts = {}, {}
        for team in teams:
            for kind in KINDS:
                documents[team, kind] = deployed_documents(iam, role_name(team, kind))
                trusts[team, kind] = iam.get_role(RoleName=role_name(team, kind))["Role"]["AssumeRolePolicyDocument"]
            s3.put_object(Bucket=bucket, Key=seed_key(team), Body=f"{team} data".encode())

        prober_arn = iam.create_user(UserName=PROBER)["User"]["Arn"]
        twins = [f"isolation-{team}-{kind}" for team in teams for kind in KINDS]
        real = [role_name(team, kind) for team in teams for kind in KINDS]
        iam.put_user_policy(
            UserName=PROBER,
            PolicyName="assume-team-roles",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [role_arn(r) for r in twins + real]}
                    ],
                }
            ),
        )
        for team in teams:
            for kind in KINDS:
                twin = f"isolation-{team}-{kind}"
                trust = {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": prober_arn}, "Action": "sts:AssumeRole"}],
                }
                iam.create_role(RoleName=twin, AssumeRolePolicyDocument=json.dumps(trust))
                for i, doc in enumerate(documents[team, kind]):
                    iam.put_role_policy(RoleName=twin, PolicyName=f"copy-{i}", PolicyDocument=json.dumps(doc))
        # Reads the bucket after the attempts, to prove nothing was written or deleted cross-team.
        iam.create_user(UserName="isolation-auditor")
        iam.put_user_policy(
            UserName="isolation-auditor",
            PolicyName="read-datastore",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:ListBucket", "s3:GetObject"],
                            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                        }
                    ],
                }
            ),
        )
        keys = {u: iam.create_access_key(UserName=u)["AccessKey"] for u in (PROBER, "isolation-auditor")}

        previous = _set_auth(server.endpoint, "0")
        assert previous["status"] == "ok", previous

        def user(name: str) -> boto3.session.Session:
            k = keys[name]
            return boto3.session.Session(aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])

        prober = user(PROBER)
        sts = prober.client("sts", endpoint_url=server.endpoint, region_name="us-east-1")
        sessions = {}
        for team in teams:
            for kind in KINDS:
                c = sts.assume_role(RoleArn=role_arn(f"isolation-{team}-{kind}"), RoleSessionName=f"{team}-{kind}")["Credentials"]
                sessions[team, kind] = boto3.session.Session(
                    aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"],
                    aws_session_token=c["SessionToken"],
                )
        try:
            sts.assume_role(RoleArn=role_arn(role_name(teams[0], "ds")), RoleSessionName="root-trust-probe")
            root_trust_probe = "allowed"
        except ClientError as err:
            root_trust_probe = f"denied ({err.response['Error']['Code']})"
        yield Isolation(
            server.endpoint, bucket, teams, documents, trusts, sessions, prober, user("isolation-auditor"), root_trust_probe
        )
    finally:
        server.stop()


def s3_attempt(iso: Isolation, who: str, kind: str, target: str, op: str) -> Attempt:
    s3 = iso.client(iso.sessions[who, kind], "s3")
    prefix = naming.team_prefix(target)
    probe_key = f"{prefix}isolation/written-by-{who}-{kind}.txt"
    bucket_arn = f"arn:aws:s3:::{iso.bucket}"
    calls = {
        "get": (
            lambda: s3.get_object(Bucket=iso.bucket, Key=seed_key(target))["Body"].read(),
            "s3:GetObject",
            f"{bucket_arn}/{seed_key(target)}",
        ),
        "put": (lambda: s3.put_object(Bucket=iso.bucket, Key=probe_key, Body=b"x"), "s3:PutObject", f"{bucket_arn}/{probe_key}"),
        "delete": (
            # Same team: delete what this credential just wrote. Cross team: try to delete the target's seed.
            lambda: s3.delete_object(Bucket=iso.bucket, Key=probe_key if who == target else seed_key(target)),
            "s3:DeleteObject",
            f"{bucket_arn}/{probe_key if who == target else seed_key(target)}",
        ),
        "list": (lambda: s3.list_objects_v2(Bucket=iso.bucket, Prefix=prefix), "s3:ListBucket", bucket_arn),
    }
    call, action, resource = calls[op]
    context = {"s3:prefix": prefix} if op == "list" else {}
    attempt = Attempt(
        who, kind, target, op, _outcome(call), guards.policy_decision(iso.documents[who, kind], action, resource, context)
    )
    if op == "list":
        # moto ignores Condition blocks, so it cannot refuse a ListBucket by prefix: the deployed JSON decides.
        attempt.decided_by = "policy-json"
    return attempt


def assume_attempt(iso: Isolation, who: str, kind: str, target: str, target_kind: str) -> Attempt:
    sts = iso.client(iso.sessions[who, kind], "sts")
    call = lambda: sts.assume_role(RoleArn=role_arn(role_name(target, target_kind)), RoleSessionName=f"{who}-to-{target}")  # noqa: E731
    return Attempt(who, kind, target, f"assume-{target_kind}", _outcome(call))


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[tenant-isolation] {line}", end="")


def test_enforcement_is_on(isolation):
    """The fake root credentials that deployed the stack are refused now: moto checks every request."""
    s3 = boto3.client(
        "s3",
        endpoint_url=isolation.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=isolation.bucket)
    assert info.value.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied")


def test_moto_does_not_honour_account_root_trust(isolation, capsys):
    """Why the twins exist (see the module docstring); prints what moto did with the real trust."""
    assert isolation.trusts[isolation.teams[0], "ds"]["Statement"][0]["Principal"] == {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}
    report(capsys, f"prober user -> real data-scientist role (trust: account root): {isolation.root_trust_probe}")


def test_same_team_access_works(isolation, capsys):
    attempts = [
        s3_attempt(isolation, t, k, t, op) for t in isolation.teams for k in KINDS for op in ("put", "get", "list", "delete")
    ]
    isolation.attempts += attempts
    failed = [a for a in attempts if not a.allowed]
    assert not failed, f"a team cannot use its own prefix: {failed}"
    # On its own prefix moto allows the list (it ignores the condition) and so does the JSON.
    assert all(a.moto == "allowed" for a in attempts), [a for a in attempts if a.moto != "allowed"]
    report(capsys, f"same-team operations: {len(attempts)} attempts, {sum(a.allowed for a in attempts)} succeeded")


def test_cross_team_access_is_denied(isolation, capsys):
    attempts = []
    for who in isolation.teams:
        for target in isolation.teams:
            if who == target:
                continue
            for kind in KINDS:
                attempts += [s3_attempt(isolation, who, kind, target, op) for op in ("get", "put", "delete", "list")]
                attempts += [assume_attempt(isolation, who, kind, target, tk) for tk in KINDS]
    isolation.attempts += attempts
    assert len(attempts) >= 20, len(attempts)
    leaked = [a for a in attempts if not a.denied]
    assert not leaked, "cross-team access succeeded:\n" + "\n".join(map(str, leaked))
    by_op = Counter(a.op for a in attempts)
    list_moto = Counter(a.moto for a in attempts if a.op == "list")
    report(
        capsys,
        f"cross-team attempts: {len(attempts)} ({', '.join(f'{op} {n}' for op, n in sorted(by_op.items()))}), "
        f"{sum(a.denied for a in attempts)} denied, {len(leaked)} succeeded; "
        f"list decided on the policy JSON (moto, which ignores conditions: {dict(list_moto)})",
    )


def test_the_json_oracle_agrees_with_moto_wherever_moto_enforces(isolation, capsys):
    """The evaluator that decides the list attempts is held to moto's verdict on every other S3 attempt."""
    checked = [a for a in isolation.attempts if a.oracle is not None and a.decided_by == "moto"]
    assert len(checked) >= 40, f"run after the attempt tests; only {len(checked)} attempts recorded"
    disagree = [a for a in checked if (a.oracle == "allow") != (a.moto == "allowed")]
    assert not disagree, disagree
    report(capsys, f"policy-JSON evaluator vs moto: {len(checked)} S3 attempts, {len(disagree)} disagreements")


def test_no_cross_team_write_or_delete_landed(isolation):
    s3 = isolation.client(isolation.auditor, "s3")
    for team in isolation.teams:
        keys = sorted(
            o["Key"] for o in s3.list_objects_v2(Bucket=isolation.bucket, Prefix=naming.team_prefix(team)).get("Contents", [])
        )
        assert keys == [seed_key(team)], f"{team}: {keys}"
        body = s3.get_object(Bucket=isolation.bucket, Key=seed_key(team))["Body"].read()
        assert body == f"{team} data".encode()


# Resource kinds that exist once per team by design: an ARN of one of these must name the team itself.
PER_TEAM_RESOURCES = (
    re.compile(r"^arn:[\w-]+:s3:::[^/]+/"),  # objects
    re.compile(r":job-queue/"),
    re.compile(r":ssm:.*:parameter/"),
    re.compile(r":secretsmanager:.*:secret:"),
    re.compile(r":states:.*:(stateMachine|execution):"),
    re.compile(r":events:.*:rule/"),
    re.compile(r":redshift:.*:dbuser:"),
)
READ_ONLY_ACTION = re.compile(r"^[\w-]+:(Describe|List|Get)\w*$")


def scope_problems(team: str, teams: list[str], document: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Problems with ``document`` as a policy of ``team``, and the shared (team-less) resources it names."""
    problems = [f"names another team: {p}" for p in guards.foreign_team_references(document, team, teams)]
    shared: set[str] = set()
    for s in guards.as_list(document.get("Statement", [])):
        if s.get("Effect") != "Allow":
            continue
        actions = guards.as_list(s.get("Action", []))
        for r in guards.as_list(s.get("Resource", [])):
            own = bool(guards.word_spans(r, team))
            if r == "*":
                if not (all(READ_ONLY_ACTION.match(a) for a in actions) or s.get("Condition")):
                    problems.append(f"{s.get('Sid')}: '*' with non-read actions {actions} and no condition")
            elif any(p.search(r) for p in PER_TEAM_RESOURCES):
                if not own:
                    problems.append(f"{s.get('Sid')}: per-team resource {r} is not the team's own")
            elif not own:
                shared.add(f"{s.get('Sid')}: {r}")
        for tests in (s.get("Condition") or {}).values():
            for prefix in guards.as_list(tests.get("s3:prefix", [])):
                if not prefix.startswith(naming.team_prefix(team)):
                    problems.append(f"{s.get('Sid')}: s3:prefix {prefix!r} outside {naming.team_prefix(team)}")
    return problems, shared


def test_every_team_policy_names_only_its_own_resources(isolation, capsys):
    """What moto does not enforce (conditions; SSM, Secrets Manager, Batch, Step Functions, DynamoDB,
    Redshift, KMS ARNs), checked on every team role's deployed policies and trust, read back from IAM."""
    shared_all: set[str] = set()
    statements = 0
    for (team, kind), docs in isolation.documents.items():
        for doc in [*docs, isolation.trusts[team, kind]]:
            problems, shared = scope_problems(team, isolation.teams, doc)
            assert not problems, f"{role_name(team, kind)}: {problems}"
            shared_all |= {s.replace(team, "<team>") for s in shared}
            statements += len(guards.as_list(doc.get("Statement", [])))
    # The checker itself must see a leak: point team A's statements at team B's resources.
    a, b = isolation.teams[:2]
    # (the data-scientist policy that names A's prefix: the role also has policies that name none, e.g. eks:DescribeCluster)
    (named,) = [d for d in isolation.documents[a, "ds"] if naming.team_prefix(a) in json.dumps(d)]
    leaked = json.loads(json.dumps(named).replace(naming.team_prefix(a), naming.team_prefix(b)))
    assert scope_problems(a, isolation.teams, leaked)[0], "the scope check missed a policy naming another team's prefix"
    report(capsys, f"policy JSON: {statements} statements of {len(isolation.documents)} team roles name only their own resources")
    report(capsys, "shared by design (no team named): " + "; ".join(sorted(shared_all)))
