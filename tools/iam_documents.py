"""Every IAM policy document the program declares, pulled out of its resources for the linters.

Pure: no Pulumi import. Input is any sequence of objects with ``urn``, ``type``, ``name`` and
``inputs`` (camelCase), such as ``localcloud.engine.Registration`` or ``tools.planjson.PlanResource``.
The IAM gate (tests/gates/test_iam_lint.py) lints each document with parliament and cloudsplaining
and asserts :func:`wildcard_statements` finds nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

IDENTITY = "identity"  # attached to a principal: role inline policies, managed policies
RESOURCE = "resource"  # attached to a resource, with a Principal: bucket, key, topic, secret policies
TRUST = "trust"  # a role's assume-role policy

# token -> ((input holding the JSON document, kind), ...)
DOCUMENT_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws:iam/role:Role": (("assumeRolePolicy", TRUST),),
    "aws:iam/rolePolicy:RolePolicy": (("policy", IDENTITY),),
    "aws:iam/policy:Policy": (("policy", IDENTITY),),
    "aws:iam/userPolicy:UserPolicy": (("policy", IDENTITY),),
    "aws:iam/groupPolicy:GroupPolicy": (("policy", IDENTITY),),
    "aws:s3/bucketPolicy:BucketPolicy": (("policy", RESOURCE),),
    "aws:kms/key:Key": (("policy", RESOURCE),),
    "aws:sns/topicPolicy:TopicPolicy": (("policy", RESOURCE),),
    "aws:sns/topic:Topic": (("policy", RESOURCE),),
    "aws:sqs/queuePolicy:QueuePolicy": (("policy", RESOURCE),),
    "aws:secretsmanager/secretPolicy:SecretPolicy": (("policy", RESOURCE),),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": (("policy", RESOURCE),),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (("policy", RESOURCE),),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": (("policyDocument", RESOURCE),),
}

_SERVICE_WILDCARD = re.compile(r"^[a-z0-9-]+:\*$")


@dataclass(frozen=True)
class IamDocument:
    """One policy document and where it comes from."""

    urn: str
    type: str
    name: str
    attribute: str
    """The input holding it (``policy``, ``assumeRolePolicy``, ``inlinePolicies[0].policy``)."""
    kind: str
    """:data:`IDENTITY`, :data:`RESOURCE` or :data:`TRUST`."""
    document: dict[str, Any]
    holder_arn: str | None = None
    """ARN of the resource the document is attached to (the role of a trust policy, the key of a
    key policy), when known."""

    @property
    def id(self) -> str:
        """A stable key for suppressions: ``<logical name>:<attribute>``."""
        return f"{self.name}:{self.attribute}"

    @property
    def text(self) -> str:
        return json.dumps(self.document, sort_keys=True)


def documents(resources: Iterable[Any], arns: Mapping[str, str] | None = None) -> list[IamDocument]:
    """Every policy document in ``resources``, in declaration order; ``arns`` maps a URN to the
    resource's ARN (``holder_arn``). A document that is not valid JSON raises ``ValueError`` naming
    the resource (AWS would reject it too)."""
    arns = arns or {}
    found: list[IamDocument] = []
    for r in resources:
        inputs: Mapping[str, Any] = r.inputs or {}
        holder = arns.get(r.urn)
        for attribute, kind in DOCUMENT_INPUTS.get(r.type, ()):
            if inputs.get(attribute):
                found.append(_document(r, attribute, kind, inputs[attribute], holder))
        if r.type == "aws:iam/role:Role":
            for i, inline in enumerate(inputs.get("inlinePolicies") or []):
                if isinstance(inline, Mapping) and inline.get("policy"):
                    found.append(_document(r, f"inlinePolicies[{i}].policy", IDENTITY, inline["policy"], holder))
    return found


def lint_view(doc: IamDocument) -> dict[str, Any]:
    """The document as the linters should read it, which are written for identity policies:

    - a trust policy has no Resource (AWS rejects one); its resource is the role it is attached
      to, so each statement gets ``"Resource": <role ARN>``;
    - in a KMS key policy ``"Resource": "*"`` means "this key" and nothing else (AWS requires the
      ``*``); it is replaced by the key's ARN.

    Everything else is unchanged. Without ``holder_arn`` the document is returned as it is."""
    if not doc.holder_arn:
        return doc.document
    view = json.loads(json.dumps(doc.document))
    raw = view.get("Statement") or []
    for statement in [raw] if isinstance(raw, dict) else raw:
        if doc.kind == TRUST and "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = doc.holder_arn
        if doc.type == "aws:kms/key:Key" and statement.get("Resource") in ("*", ["*"]):
            statement["Resource"] = doc.holder_arn
    return view


def managed_policy_arns(resources: Iterable[Any]) -> list[tuple[str, str]]:
    """(urn, policy ARN) of every managed policy attached by ARN: AWS-owned documents the linters
    cannot read offline; listed in docs/security.md instead."""
    attached = []
    for r in resources:
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and r.inputs.get("policyArn"):
            attached.append((r.urn, r.inputs["policyArn"]))
        if r.type == "aws:iam/role:Role":
            attached += [(r.urn, arn) for arn in r.inputs.get("managedPolicyArns") or []]
    return attached


def _document(r: Any, attribute: str, kind: str, raw: Any, holder: str | None) -> IamDocument:
    if isinstance(raw, str):
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(f"{r.urn}: {attribute} is not JSON: {err}") from None
    else:
        document = raw
    if not isinstance(document, dict):
        raise ValueError(f"{r.urn}: {attribute} is not a JSON object")
    return IamDocument(urn=r.urn, type=r.type, name=r.name, attribute=attribute, kind=kind, document=document, holder_arn=holder)


def statements(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    raw = document.get("Statement") or []
    yield from [raw] if isinstance(raw, dict) else raw


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def wildcard_statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Statements (Allow or Deny) whose Action is ``*`` or ``<service>:*`` on Resource ``*``."""
    bad = []
    for statement in statements(document):
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if "*" in resources and any(a == "*" or _SERVICE_WILDCARD.match(str(a)) for a in actions):
            bad.append(statement)
    return bad
