"""Shared by the tenant tests (test_tenant_isolation.py, test_tenant_attacks.py): moto's IAM switch, the
deployed policies read back from moto, and the attempt machinery of the attack suite.

**Who decides an attempt.** Every attempt is a real boto3 call against moto as the actor, and is also evaluated
with :func:`tools.guards.policy_decision` on the deployed policy JSON, with the context keys the request carries.
moto 5.2.5 (moto/iam/access_control.py) checks a request's action against the caller's policies; it matches the
resource ARN only for S3 (bucket and object ARNs) and for STS/IAM calls on a role, checks every other service
against the resource ``"*"``, and ignores Condition blocks (it only compares ``sts:ExternalId``). So moto's verdict
stands for the request (:func:`moto_decides`) only when it cannot be wrong:

* S3 and AssumeRole: no statement that covers the action and resource has a Condition (and, for AssumeRole,
  the identity policy denies: moto's trust check compares principals by exact ARN, unlike AWS);
* any other service but Batch: no statement covers the action at all (moto denies, rightly), or an
  unconditioned Allow on ``"*"`` covers it (both allow). moto names Batch actions after the URL in lower case
  (``batch:describejobs``) and matches actions case-sensitively, so it refuses every Batch call: never its verdict;
* and the request needs no second authorisation moto never makes (``iam:PassRole``, tag-on-create), unless moto
  already denied the first.

Everywhere else the evaluator decides; on every request moto decides, the evaluator must agree with it.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

from tools import guards

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
AUTH_ERRORS = ("AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation", "AuthorizationError")


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def deployed_documents(iam: Any, role: str) -> list[dict[str, Any]]:
    """Every identity policy of ``role`` as moto's IAM holds it: inline documents, then attached ones."""
    docs = [
        iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        docs.append(
            iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        )
    return docs


def set_auth(endpoint: str, count: str) -> dict[str, Any]:
    """``POST /moto-api/reset-auth``: after ``count`` more requests moto checks IAM on every request."""
    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def outcome(call: Callable[[], Any]) -> str:
    """``allowed``, ``denied`` (moto refused it on IAM grounds) or ``error:<code>`` (authorised, then failed)."""
    try:
        call()
        return "allowed"
    except ClientError as err:
        code = err.response["Error"]["Code"]
        return "denied" if code in AUTH_ERRORS else f"error:{code}"


# ---------------------------------------------------------------- checks: the authorisations AWS makes for a request


@dataclass(frozen=True)
class Check:
    """One authorisation a request needs. ``kind``: ``identity`` (the actor's policies must allow every resource),
    ``resource`` (a resource policy must not deny), ``trust`` (a role's trust must allow ``principal``)."""

    action: str
    resources: tuple[tuple[str | None, Mapping[str, Any]], ...]
    kind: str = "identity"
    documents: tuple[Mapping[str, Any], ...] = ()
    principal: Mapping[str, str] | None = None

    def decide(self, actor_documents: Sequence[Mapping[str, Any]]) -> str:
        if self.kind == "identity":
            return guards.request_decision(actor_documents, self.action, [(r or "", c) for r, c in self.resources])
        resource, context = self.resources[0]
        decision = guards.policy_decision(self.documents, self.action, resource, context, principal=self.principal)
        if self.kind == "resource":  # a resource policy of Deny statements only: it can refuse, not grant
            return "deny" if decision == "deny" else "allow"
        return decision


def identity(action: str, resource: str, context: Mapping[str, Any] | None = None) -> Check:
    return Check(action, ((resource, dict(context or {})),))


def on_each(action: str, *resources: tuple[str, Mapping[str, Any]]) -> Check:
    """An action authorised on several resources at once (SubmitJob: the queue and the job definition)."""
    return Check(action, tuple((r, dict(c)) for r, c in resources))


def trust(document: Mapping[str, Any], service: str, context: Mapping[str, Any]) -> Check:
    return Check("sts:AssumeRole", ((None, dict(context)),), "trust", (document,), {"Service": service})


def resource_policy(document: Mapping[str, Any], action: str, resource: str, principal_arn: str) -> Check:
    context = {"aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": ACCOUNT}
    return Check(action, ((resource, context),), "resource", (document,), {"AWS": principal_arn})


def moto_decides(documents: Sequence[Mapping[str, Any]], check: Check, moto: str) -> bool:
    """Whether moto's verdict on a request whose first authorisation is ``check`` is right (module docstring)."""
    if check.kind != "identity" or check.action.startswith("batch:"):
        # moto names Batch actions from the URL, lower-case ("batch:describejobs"), and matches actions
        # case-sensitively: it refuses every Batch call a policy names properly. The evaluator decides Batch.
        return False
    action, (resource, _) = check.action, check.resources[0]
    covering = [
        s
        for d in documents
        for s in guards.as_list(d.get("Statement", []))
        if guards.policy_decision([{"Statement": [{**_unconditioned(s), "Resource": "*"}]}], action, "*", {}) == "allow"
    ]
    if action.startswith("s3:") or action == "sts:AssumeRole":
        relevant = [
            s for s in covering if guards.policy_decision([{"Statement": [_unconditioned(s)]}], action, resource, {}) == "allow"
        ]
        return not any(s.get("Condition") for s in relevant) and (action != "sts:AssumeRole" or moto == "denied")
    if not covering:
        return True
    if any(s.get("Effect") == "Deny" for s in covering):
        return False
    return any("*" in guards.as_list(s.get("Resource", [])) and not s.get("Condition") for s in covering)


def _unconditioned(s: Mapping[str, Any]) -> dict[str, Any]:
    """The statement as an Allow without its Condition (NotResource kept): does it cover the request at all?"""
    return {k: v for k, v in s.items() if k not in ("Condition", "Sid")} | {"Effect": "Allow"}


# ---------------------------------------------------------------- attempts


@dataclass
class Spec:
    """An attempt to make, for every actor it is listed for. ``call`` makes the request with a client factory;
    ``checks`` gives the authorisations AWS would make, given the actor's role ARN."""

    path: str  # "1".."9" (issue 11's paths), "control", or "residual"
    what: str
    call: Callable[[Callable[[str], Any]], Any]
    checks: Callable[[str], list[Check]]
    expected: str = "denied"


@dataclass
class Result:
    actor: str
    spec: Spec
    moto: str
    oracle: str
    decided_by: str
    checks: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.decided_by == "moto":
            return "denied" if self.moto == "denied" else "allowed"
        return "allowed" if self.oracle == "allow" else "denied"

    @property
    def moto_allowed(self) -> bool:
        return self.moto != "denied"


def run(spec: Spec, actor: str, actor_arn: str, documents: Sequence[Mapping[str, Any]], client: Callable[[str], Any]) -> Result:
    moto = outcome(lambda: spec.call(client))
    checks = spec.checks(actor_arn)
    decisions = [c.decide(documents) for c in checks]
    oracle = "allow" if decisions and all(d == "allow" for d in decisions) else "deny"
    first = moto_decides(documents, checks[0], moto) if checks else False
    by_moto = first and (moto == "denied" or len(checks) == 1)
    notes = [f"{c.action}:{d}" for c, d in zip(checks, decisions, strict=True)]
    return Result(actor, spec, moto, oracle, "moto" if by_moto else "policy-json", notes)


def print_table(results: Sequence[Result], console: Console) -> None:
    table = Table(title="Tenant attack suite (A = attacker team, B = victim team)", show_lines=False)
    for column in ("actor", "path", "attempt", "decided by", "moto", "evaluator", "verdict", "expected"):
        table.add_column(column)
    for r in results:
        ok = r.verdict == r.spec.expected or r.spec.path == "residual"
        style = "" if ok else "bold red"
        table.add_row(r.actor, r.spec.path, r.spec.what, r.decided_by, r.moto, r.oracle, r.verdict, r.spec.expected, style=style)
    console.print(table)
    per_actor = Counter(r.actor for r in results if r.spec.path != "residual")
    attacks = Counter(r.actor for r in results if r.spec.path not in ("control", "residual"))
    by = Counter(r.decided_by for r in results)
    console.print(
        "attempts per actor: "
        + ", ".join(f"{a} {n} ({attacks[a]} attacks, {n - attacks[a]} controls)" for a, n in sorted(per_actor.items()))
        + f"; decided by moto {by['moto']}, by the policy JSON {by['policy-json']}"
    )
