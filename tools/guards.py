"""Pure checks behind the security and no-data-loss gates (tests/gates, tests/badinput, tests/e2e).

No Pulumi import: every function takes plain data (dicts, strings, or records that have the fields
of ``localcloud.engine.Registration``) and returns plain data, so each one is unit-tested on its own
(``tests/unit/test_guards.py``). The secret detectors are in ``core/secret_guard.py``.

* **Stateful resources**: :data:`STATEFUL_RULES` (what "protected" means per resource type),
  :func:`is_stateful_type` (types that hold data, known to the table or not), :func:`stateful_problems`.
* **URN stability**: :func:`canonical_urns`, :func:`alias_urns`, :func:`lost_urns` (golden files).
* **Tenant isolation on the policy JSON**: :func:`policy_decision` (a small IAM evaluator for what
  moto does not enforce) and :func:`foreign_team_references`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# ---------------------------------------------------------------- stateful resources


class Resource(Protocol):
    """The fields of ``localcloud.engine.Registration`` the guards read."""

    urn: str
    type: str
    name: str
    parent: str
    id: str
    protect: bool
    retain_on_delete: bool
    aliases: list[Any]
    inputs: dict[str, Any]


# Days of automated backups (point-in-time restore window) a protected database must keep.
MIN_BACKUP_RETENTION_DAYS = 7
# AWS KMS waits 7-30 days before deleting a key; a pending deletion can be cancelled meanwhile.
# https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html
MIN_KMS_DELETION_WINDOW_DAYS = 7

Check = Callable[[Resource, Sequence[Resource]], list[str]]


@dataclass(frozen=True)
class StatefulRule:
    """What a protected stateful resource of one type must carry, beyond Pulumi protect + retainOnDelete."""

    what: str
    deletion_protection: str  # the service's own guard against deletion, in words
    recovery: str  # backups / versioning / point-in-time recovery, in words
    check: Check


def _bucket(r: Resource, everything: Sequence[Resource]) -> list[str]:
    problems = []
    if r.inputs.get("forceDestroy"):
        problems.append("forceDestroy is set: a non-empty bucket would be deleted with its objects")
    names = {r.id, r.inputs.get("bucket"), r.name}
    versioned = [
        v
        for v in everything
        if v.type in ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
        and v.inputs.get("bucket") in names
        and (v.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled"
    ]
    if not versioned:
        problems.append("no BucketVersioning with status Enabled for this bucket")
    return problems


def _kms_key(r: Resource, everything: Sequence[Resource]) -> list[str]:
    problems = []
    if r.inputs.get("enableKeyRotation") is not True:
        problems.append("enableKeyRotation is not true")
    window = r.inputs.get("deletionWindowInDays", 30)  # AWS default: 30 days
    if window < MIN_KMS_DELETION_WINDOW_DAYS:
        problems.append(f"deletionWindowInDays {window} < {MIN_KMS_DELETION_WINDOW_DAYS}")
    if r.inputs.get("isEnabled") is False:
        problems.append("the key is disabled")
    return problems


def _final_snapshot(r: Resource) -> list[str]:
    if r.inputs.get("skipFinalSnapshot"):
        return ["skipFinalSnapshot is true: deleting it would keep no final snapshot"]
    if not r.inputs.get("finalSnapshotIdentifier"):
        return ["no finalSnapshotIdentifier (without it a deletion fails or keeps no snapshot)"]
    return []


def _retention(r: Resource, key: str) -> list[str]:
    days = r.inputs.get(key)
    if days is None or days < MIN_BACKUP_RETENTION_DAYS:
        return [f"{key} is {days}; keep at least {MIN_BACKUP_RETENTION_DAYS} days of automated backups"]
    return []


def _rds(r: Resource, everything: Sequence[Resource]) -> list[str]:
    problems = [] if r.inputs.get("deletionProtection") is True else ["deletionProtection is not true"]
    if r.inputs.get("deleteAutomatedBackups") is True:
        problems.append("deleteAutomatedBackups is true: backups would go with the database")
    return problems + _retention(r, "backupRetentionPeriod") + _final_snapshot(r)


def _rds_global(r: Resource, everything: Sequence[Resource]) -> list[str]:
    problems = [] if r.inputs.get("deletionProtection") is True else ["deletionProtection is not true"]
    return problems + (["forceDestroy is set"] if r.inputs.get("forceDestroy") else [])


def _dynamodb(r: Resource, everything: Sequence[Resource]) -> list[str]:
    problems = [] if r.inputs.get("deletionProtectionEnabled") is True else ["deletionProtectionEnabled is not true"]
    if (r.inputs.get("pointInTimeRecovery") or {}).get("enabled") is not True:
        problems.append("pointInTimeRecovery.enabled is not true")
    return problems


def _redshift(r: Resource, everything: Sequence[Resource]) -> list[str]:
    return _retention(r, "automatedSnapshotRetentionPeriod") + _final_snapshot(r)


def _redshift_serverless_namespace(r: Resource, everything: Sequence[Resource]) -> list[str]:
    # pulumi-aws 7 exposes neither deletion protection nor a final snapshot for a namespace, and its
    # recovery points (every ~30 minutes, kept 24 hours) are always on: protect + retainOnDelete are
    # the guard. https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-snapshots-recovery-points.html
    return []


_S3 = StatefulRule("S3 bucket", "no forceDestroy (S3 refuses to delete a non-empty bucket)", "versioning enabled", _bucket)
_RDS = StatefulRule(
    "RDS database",
    "deletionProtection",
    f"automated backups >= {MIN_BACKUP_RETENTION_DAYS} days (point-in-time restore) and a final snapshot",
    _rds,
)
STATEFUL_RULES: dict[str, StatefulRule] = {
    "aws:s3/bucket:Bucket": _S3,
    "aws:s3/bucketV2:BucketV2": _S3,
    "aws:kms/key:Key": StatefulRule(
        "KMS key (the datastore key, EKS secrets keys, ...)",
        f"deletion window >= {MIN_KMS_DELETION_WINDOW_DAYS} days (a scheduled deletion can be cancelled)",
        "automatic rotation (old key material is kept, so old ciphertext still decrypts)",
        _kms_key,
    ),
    "aws:rds/cluster:Cluster": _RDS,
    "aws:rds/instance:Instance": _RDS,
    "aws:rds/globalCluster:GlobalCluster": StatefulRule(
        "RDS global cluster", "deletionProtection", "the member clusters' backups", _rds_global
    ),
    "aws:dynamodb/table:Table": StatefulRule(
        "DynamoDB table", "deletionProtectionEnabled", "point-in-time recovery (35 days)", _dynamodb
    ),
    "aws:redshift/cluster:Cluster": StatefulRule(
        "Redshift cluster",
        "a final snapshot on deletion",
        f"automated snapshots >= {MIN_BACKUP_RETENTION_DAYS} days",
        _redshift,
    ),
    "aws:redshiftserverless/namespace:Namespace": StatefulRule(
        "Redshift Serverless namespace",
        "none in the provider: Pulumi protect + retainOnDelete only",
        "recovery points (always on, 24 hours)",
        _redshift_serverless_namespace,
    ),
}

# Types that hold data. A match without an entry in STATEFUL_RULES fails the gate, naming the type,
# so a new kind of store cannot arrive unguarded. (rds/clusterInstance is absent on purpose: an
# Aurora instance holds no data of its own; the cluster volume does.)
_STATEFUL_TYPES = re.compile(
    r"^aws:(?:"
    r"s3/(?:bucket|bucketV2|directoryBucket):|s3tables/|"
    r"kms/(?:key|replicaKey|externalKey|replicaExternalKey):|"
    r"rds/(?:cluster|instance|globalCluster):|"
    r"dynamodb/(?:table|globalTable|tableReplica):|"
    r"redshift/cluster:|redshiftserverless/namespace:|"
    r"efs/fileSystem:|ebs/volume:|fsx/|docdb/(?:cluster|globalCluster):|neptune/(?:cluster|globalCluster):|"
    r"elasticache/(?:replicationGroup|serverlessCache|cluster):|memorydb/cluster:|"
    r"opensearch/domain:|elasticsearch/domain:|backup/vault:|timestreamwrite/table:|keyspaces/table:|qldb/ledger:"
    r")"
)


def is_stateful_type(type_token: str) -> bool:
    return type_token in STATEFUL_RULES or bool(_STATEFUL_TYPES.match(type_token))


def stateful_resources(registrations: Iterable[Resource]) -> list[Resource]:
    return [r for r in registrations if is_stateful_type(r.type)]


def unknown_stateful_types(registrations: Iterable[Resource]) -> list[str]:
    """Stateful types present in a program that :data:`STATEFUL_RULES` does not know."""
    return sorted({r.type for r in registrations if is_stateful_type(r.type) and r.type not in STATEFUL_RULES})


def stateful_problems(registrations: Sequence[Resource]) -> dict[str, list[str]]:
    """For a protected stack: every stateful resource's problems, by URN (empty lists omitted)."""
    out: dict[str, list[str]] = {}
    for r in stateful_resources(registrations):
        problems = []
        if not r.protect:
            problems.append("Pulumi protect is not set")
        if not r.retain_on_delete:
            problems.append("Pulumi retainOnDelete is not set")
        rule = STATEFUL_RULES.get(r.type)
        problems += rule.check(r, registrations) if rule else [f"no rule for stateful type {r.type}: add one to STATEFUL_RULES"]
        if problems:
            out[r.urn] = problems
    return out


# ---------------------------------------------------------------- URN stability

STACK_TYPE = "pulumi:pulumi:Stack"


def _urn(stack: str, project: str, qualified_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{qualified_type}::{name}"


def _qualifier(registrations: Iterable[Resource]) -> Callable[[str], str]:
    """``parent URN -> qualified type chain`` as the Pulumi engine builds it (``comp$child$...``).

    Pulumi's mock monitor forms URNs differently (it puts the stack's type in front of top-level
    components and keeps only the parent's last type), so chains are rebuilt from the parent links."""
    by_urn = {r.urn: r for r in registrations}

    def qualified(parent_urn: str) -> str:
        if not parent_urn:
            return ""
        parent = by_urn.get(parent_urn)
        if parent is None:  # a parent outside the program (e.g. the stack): read its URN
            chain = parent_urn.split("::")[2] if parent_urn.count("::") >= 3 else ""
            return "" if chain == STACK_TYPE else chain.removeprefix(f"{STACK_TYPE}$")
        up = qualified(parent.parent)
        return f"{up}${parent.type}" if up else parent.type

    return qualified


def canonical_urns(registrations: Sequence[Resource], stack: str, project: str) -> dict[str, str]:
    """Each registration's URN (as recorded) -> the URN the Pulumi engine gives it (``pulumi stack --show-urns``)."""
    qualified = _qualifier(registrations)
    out = {}
    for r in registrations:
        chain = qualified(r.parent)
        out[r.urn] = _urn(stack, project, f"{chain}${r.type}" if chain else r.type, r.name)
    return out


def alias_urns(r: Resource, registrations: Sequence[Resource], stack: str, project: str) -> set[str]:
    """The URNs ``r``'s aliases stand for. An alias is a URN, or a spec (``name``, ``type``, ``stack``,
    ``project``, ``parentUrn``, ``noParent``) whose missing parts default to the resource's own."""
    qualified = _qualifier(registrations)
    out = set()
    for alias in r.aliases:
        if isinstance(alias, str):
            out.add(alias)
            continue
        if alias.get("noParent"):
            parent = ""
        else:
            parent = alias.get("parentUrn") or r.parent
        chain = qualified(parent)
        typ = alias.get("type") or r.type
        out.add(
            _urn(
                alias.get("stack") or stack,
                alias.get("project") or project,
                f"{chain}${typ}" if chain else typ,
                alias.get("name") or r.name,
            )
        )
    return out


def lost_urns(golden: Iterable[str], registrations: Sequence[Resource], stack: str, project: str) -> list[str]:
    """Golden (released) URNs of stateful resources that the program no longer declares and that no
    stateful resource claims through ``aliases``: deploying would delete and recreate them."""
    canonical = canonical_urns(registrations, stack, project)
    current = {canonical[r.urn] for r in stateful_resources(registrations)}
    claimed: set[str] = set()
    for r in stateful_resources(registrations):
        claimed |= alias_urns(r, registrations, stack, project)
    return sorted(u for u in golden if u not in current and u not in claimed)


def stateful_urns(registrations: Sequence[Resource], stack: str, project: str) -> list[str]:
    canonical = canonical_urns(registrations, stack, project)
    return sorted(canonical[r.urn] for r in stateful_resources(registrations))


# ---------------------------------------------------------------- tenant isolation on the policy JSON


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` one character."""
    regex = fnmatch.translate(pattern.replace("[", "[[]"))
    return re.match(regex, value, 0 if case else re.IGNORECASE) is not None


_CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, got: want == got,
    "StringLike": lambda want, got: _glob(want, got, case=True),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: _glob(want, got, case=True),
    "Bool": lambda want, got: str(want).lower() == str(got).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, str]) -> bool:
    """IAM Condition semantics: every operator and key must hold (AND); any listed value may match (OR).
    A key missing from ``context`` fails a positive operator, except with ``...IfExists`` (then it holds).
    Unknown operators raise ValueError, so a check built on this cannot pass by ignoring a condition."""
    for full_operator, tests in (condition or {}).items():
        if_exists = full_operator.endswith("IfExists")
        operator = full_operator.removesuffix("IfExists")
        negated = operator in _NEGATED
        op = _CONDITION_OPERATORS.get(_NEGATED.get(operator, operator))
        if op is None:
            raise ValueError(f"condition operator {full_operator!r} is not supported by this evaluator")
        for key, wanted in tests.items():
            got = context.get(key)
            if got is None and if_exists:
                continue
            matched = got is not None and any(op(str(w), got) for w in as_list(wanted))
            if matched == negated:
                return False
    return True


def policy_decision(documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Mapping[str, str]) -> str:
    """``"allow"``, ``"deny"`` (explicit) or ``"implicit-deny"`` for one request against identity
    policies, as IAM evaluates them (no SCPs, boundaries or resource policies)."""
    allowed = False
    for document in documents:
        for s in as_list(document.get("Statement", [])):
            if "Action" in s:
                acts = any(_glob(a, action, case=False) for a in as_list(s["Action"]))
            else:
                acts = not any(_glob(a, action, case=False) for a in as_list(s.get("NotAction", [])))
            if "Resource" in s:
                res = any(_glob(r, resource, case=True) for r in as_list(s["Resource"]))
            else:
                res = not any(_glob(r, resource, case=True) for r in as_list(s.get("NotResource", [])))
            if not (acts and res and conditions_hold(s.get("Condition"), context)):
                continue
            if s.get("Effect") == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"


def word_spans(text: str, team: str) -> list[tuple[int, int]]:
    """Where ``team`` occurs in ``text`` as a whole word (delimited by anything but a-z and 0-9)."""
    return [m.span() for m in re.finditer(rf"(?<![a-z0-9]){re.escape(team)}(?![a-z0-9])", text)]


def foreign_team_references(document: Mapping[str, Any], team: str, other_teams: Iterable[str]) -> list[str]:
    """Every Resource, NotResource, Principal and Condition value of ``document`` that names another team
    (as a whole word delimited by anything but a-z and 0-9, and not inside the team's own name)."""
    found = []
    for s in as_list(document.get("Statement", [])):
        values: list[str] = []
        for key in ("Resource", "NotResource"):
            values += [str(v) for v in as_list(s.get(key, []))]
        principal = s.get("Principal")
        if isinstance(principal, Mapping):
            for v in principal.values():
                values += [str(x) for x in as_list(v)]
        for tests in (s.get("Condition") or {}).values():
            for v in tests.values():
                values += [str(x) for x in as_list(v)]
        for value in values:
            own = word_spans(value, team)
            for other in other_teams:
                # an occurrence inside the team's own name ("fraud" in "fraud-x") is the team itself
                hits = [(a, b) for a, b in word_spans(value, other) if not any(x <= a and b <= y for x, y in own)]
                if other != team and hits:
                    found.append(f"{s.get('Sid', '?')}: {value} names team {other!r}")
    return found
