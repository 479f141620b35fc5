"""Pure checks behind the security and no-data-loss gates (tests/gates, tests/badinput, tests/e2e).

No Pulumi import: every function takes plain data (dicts, strings, or records that have the fields
of ``localcloud.engine.Registration``) and returns plain data, so each one is unit-tested on its own
(``tests/unit/test_guards.py``). The secret detectors are in ``core/secret_guard.py``.

* **Stateful resources**: :data:`STATEFUL_RULES` (what "protected" means per resource type),
  :func:`is_stateful_type` (types that hold data, known to the table or not), :func:`stateful_problems`.
* **URN stability**: :func:`canonical_urns`, :func:`alias_urns`, :func:`lost_urns` (golden files).
* **The IAM evaluator** for what moto does not enforce: :func:`policy_decision` (identity, trust and resource
  policies), :func:`request_decision` (a request authorised on several resources), :func:`condition_test`.
* **Tenancy invariants on the policy JSON** (tests/gates/test_tenancy_invariants.py):
  :func:`unsafe_batch_statements`, :func:`forbidden_action_statements`, :func:`launch_template_problems`,
  and :func:`foreign_team_references`.
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
    # The cluster's etcd (workflows, their history, every team's objects): EKS keeps no backup a user can restore.
    "aws:eks/cluster:Cluster": StatefulRule(
        "EKS cluster", "deletionProtection", "none restorable: the program re-declares every object", _rds_global
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
    r"redshift/cluster:|redshiftserverless/namespace:|eks/cluster:|"
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


# ---------------------------------------------------------------- the IAM evaluator
#
# What moto does not enforce (Condition blocks, the resource ARNs of most services, trust conditions) is
# decided on the policy JSON by this evaluator. It follows the IAM reference:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
# What it does not model (Date, IpAddress and Binary operators, policy variables ``${...}``) raises
# ValueError, so no check built on it can pass by ignoring part of a policy.

# A request context value: one value, or a set for a multivalued key (``aws:TagKeys``).
ContextValue = str | bool | int | float | Sequence[str]
Context = Mapping[str, ContextValue]
# The principal of a request, as a trust or resource policy names it: {"AWS": <ARN>} or {"Service": <name>}.
Principal = Mapping[str, str]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` one character."""
    regex = fnmatch.translate(pattern.replace("[", "[[]"))
    return re.match(regex, value, 0 if case else re.IGNORECASE) is not None


def _no_variables(values: Iterable[str], where: str) -> None:
    found = [v for v in values if "${" in v]
    if found:
        raise ValueError(f"policy variables in {where} ({found}) are not supported by this evaluator")


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching (the Resource element, ``ArnLike`` and ``ArnEquals``, which behave alike): ``*`` matches
    every ARN; otherwise each of the six colon-delimited parts is matched on its own, case-sensitively, so a
    wildcard does not cross a colon except in the last part (the resource, which keeps its colons)."""
    if pattern == "*":
        return True
    want, got = pattern.split(":", 5), arn.split(":", 5)
    if len(want) != 6 or len(got) != 6:
        return _glob(pattern, arn, case=True)
    return all(_glob(w, g, case=True) for w, g in zip(want, got, strict=True))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def context_values(context: Context, key: str) -> list[str] | None:
    """The request's values of ``key`` (condition key names are case-insensitive), or None if the key is
    absent or holds an empty set (IAM treats both as a missing key)."""
    for k, v in context.items():
        if k.lower() == key.lower():
            values = [_text(x) for x in (v if isinstance(v, list | tuple | set | frozenset) else [v])]
            return values or None
    return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(want: str, got: str) -> bool:
        if not re.fullmatch(r"-?\d+(\.\d+)?", want):
            raise ValueError(f"numeric condition value {want!r} is not a number")
        # a request value that is no number matches no numeric test
        return bool(re.fullmatch(r"-?\d+(\.\d+)?", got)) and compare(float(got), float(want))

    return match


# Base operator -> (does one policy value match one request value, is the operator negated).
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda w, g: w == g, False),
    "StringNotEquals": (lambda w, g: w == g, True),
    "StringEqualsIgnoreCase": (lambda w, g: w.lower() == g.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda w, g: w.lower() == g.lower(), True),
    "StringLike": (lambda w, g: _glob(w, g, case=True), False),
    "StringNotLike": (lambda w, g: _glob(w, g, case=True), True),
    "ArnEquals": (arn_matches, False),
    "ArnLike": (arn_matches, False),
    "ArnNotEquals": (arn_matches, True),
    "ArnNotLike": (arn_matches, True),
    "NumericEquals": (_numeric(lambda g, w: g == w), False),
    "NumericNotEquals": (_numeric(lambda g, w: g == w), True),
    "NumericLessThan": (_numeric(lambda g, w: g < w), False),
    "NumericLessThanEquals": (_numeric(lambda g, w: g <= w), False),
    "NumericGreaterThan": (_numeric(lambda g, w: g > w), False),
    "NumericGreaterThanEquals": (_numeric(lambda g, w: g >= w), False),
    "Bool": (lambda w, g: w.lower() == g.lower(), False),
}
SET_OPERATORS = ("ForAllValues", "ForAnyValue")


def condition_test(operator: str, key: str, wanted: Any, context: Context) -> bool:
    """One ``{operator: {key: wanted}}`` test against the request context.

    * Any listed policy value may match (OR); a negated operator (``StringNotEquals``...) holds when none does.
    * A key missing from the request (or an empty set) fails a positive operator and satisfies a negated one;
      ``...IfExists`` makes it hold; ``Null`` (``true``: the key is absent) tests just that.
    * ``ForAllValues:`` holds when every request value matches (vacuously when there is none: the IAM guide's
      warning); ``ForAnyValue:`` when at least one does (never when there is none).
    * A key with several request values needs a set operator: without one, ValueError.
    """
    qualifier, _, name = operator.rpartition(":")
    if qualifier and qualifier not in SET_OPERATORS:
        raise ValueError(f"condition operator {operator!r}: unknown set operator {qualifier!r}")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    wants = [_text(w) for w in as_list(wanted)]
    if not wants:
        raise ValueError(f"condition {operator}/{key} lists no value")
    _no_variables(wants, f"condition {operator}/{key}")
    got = context_values(context, key)
    if base == "Null":
        if qualifier or if_exists or len(wants) != 1 or wants[0].lower() not in ("true", "false"):
            raise ValueError(f"{operator!r} with {wanted!r}: Null takes one value, true or false, and no qualifier")
        return (got is None) == (wants[0].lower() == "true")
    if base not in _OPERATORS:
        raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
    match, negated = _OPERATORS[base]

    def holds(value: str) -> bool:
        return any(match(w, value) for w in wants) != negated

    if got is None:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return if_exists
        return if_exists or negated
    if qualifier == "ForAllValues":
        return all(holds(v) for v in got)
    if qualifier == "ForAnyValue":
        return any(holds(v) for v in got)
    if len(got) > 1:
        raise ValueError(f"{key} has several values in the request {got}: {operator!r} needs ForAllValues or ForAnyValue")
    return holds(got[0])


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    """IAM Condition semantics: every operator and key must hold (AND). Every test is evaluated (no
    short-circuit), so an unsupported operator raises even after a failing one."""
    tests = [(op, key, wanted) for op, on in (condition or {}).items() for key, wanted in on.items()]
    return all([condition_test(op, key, wanted, context) for op, key, wanted in tests])


def _account(value: str) -> str:
    return value if re.fullmatch(r"\d{12}", value) else (value.split(":")[4] if value.count(":") >= 5 else "")


def principal_matches(spec: Any, principal: Principal) -> bool:
    """Does a Principal element name ``principal``? ``"*"`` names everyone; an account (``123456789012`` or
    ``arn:aws:iam::123456789012:root``) names every principal of that account, which AWS then lets in only
    if the principal's own identity policy allows the action too."""
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        raise ValueError(f"Principal {spec!r} is neither '*' nor a mapping")
    named = [(kind, str(v)) for kind, values in spec.items() for v in as_list(values)]
    return any(
        kind == asked_kind
        and (
            value in ("*", asked)
            or (kind == "AWS" and (value.isdigit() or value.endswith(":root")) and _account(value) == _account(asked) != "")
        )
        for kind, value in named
        for asked_kind, asked in principal.items()
    )


def _statement_applies(
    s: Mapping[str, Any], action: str, resource: str | None, context: Context, principal: Principal | None
) -> bool:
    sid = s.get("Sid", "?")
    if "Action" not in s and "NotAction" not in s:
        raise ValueError(f"statement {sid} has neither Action nor NotAction")
    if ("Resource" in s or "NotResource" in s) == (resource is None) and principal is None:
        raise ValueError(f"statement {sid}: give the request's resource (identity policy) or principal (trust policy)")
    if ("Principal" in s or "NotPrincipal" in s) and principal is None:
        raise ValueError(f"statement {sid} names principals: give the request's principal")
    acts = any(_glob(a, action, case=False) for a in as_list(s.get("Action", s.get("NotAction")))) == ("Action" in s)
    res = True  # a trust policy has no Resource: it is the role it is attached to
    if "Resource" in s or "NotResource" in s:
        patterns = [str(r) for r in as_list(s.get("Resource", s.get("NotResource")))]
        _no_variables(patterns, f"statement {sid}")
        res = resource is not None and any(arn_matches(r, resource) for r in patterns) == ("Resource" in s)
    if principal is not None and ("Principal" in s or "NotPrincipal" in s):
        res = res and principal_matches(s.get("Principal", s.get("NotPrincipal")), principal) == ("Principal" in s)
    return acts and res and conditions_hold(s.get("Condition"), context)


def policy_decision(
    documents: Iterable[Mapping[str, Any]],
    action: str,
    resource: str | None,
    context: Context,
    *,
    principal: Principal | None = None,
) -> str:
    """``"allow"``, ``"deny"`` (explicit) or ``"implicit-deny"`` for one request, as IAM evaluates a set of
    policies of one kind: identity policies, or (with ``principal``) one trust or resource policy. No SCPs,
    boundaries or session policies. ``resource`` is None for a trust policy (it has no Resource)."""
    allowed = False
    for document in documents:
        for s in as_list(document.get("Statement", [])):
            if s.get("Effect") not in ("Allow", "Deny"):
                raise ValueError(f"statement {s.get('Sid', '?')}: Effect {s.get('Effect')!r}")
            if not _statement_applies(s, action, resource, context, principal):
                continue
            if s["Effect"] == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"


def request_decision(documents: Sequence[Mapping[str, Any]], action: str, resources: Sequence[tuple[str, Context]]) -> str:
    """One request that AWS authorises against several resources, each with its own context (SubmitJob: the
    job queue and the job definition, each with its own ``aws:ResourceTag``): allowed only if every resource
    is; an explicit deny on any of them denies it."""
    decisions = [policy_decision(documents, action, resource, context) for resource, context in resources]
    if "deny" in decisions:
        return "deny"
    return "allow" if decisions and all(d == "allow" for d in decisions) else "implicit-deny"


# ---------------------------------------------------------------- tenancy invariants on the policy JSON
#
# What IAM Access Analyzer's check-access-not-granted would be asked about each stack's policies
# (tests/gates/test_tenancy_invariants.py). Each function returns human-readable problems; [] is clean.

TEAM_TAG_KEYS = ("aws:ResourceTag/team", "aws:RequestTag/team")
# Ways to name the root user in a container's ``user`` (Docker's --user takes user, uid, user:group, uid:gid).
# https://docs.docker.com/reference/cli/docker/container/run/#user
ROOT_USERS = ("root", "0", "0:0", "root:root", "0:1000")
_UNNAMED = "\x00a-value-no-policy-names"  # a request value no policy lists: what another team would send


def _allows(s: Mapping[str, Any], action: str) -> bool:
    """An Allow statement whose Action (or NotAction) covers ``action``."""
    if s.get("Effect") != "Allow":
        return False
    if "Action" in s:
        return any(_glob(a, action, case=False) for a in as_list(s["Action"]))
    return not any(_glob(a, action, case=False) for a in as_list(s.get("NotAction", [])))


def _tests_on(s: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    tests = (s.get("Condition") or {}).items()
    return [(op, want) for op, on in tests for k, want in on.items() if k.lower() == key.lower()]


def pinned_value(s: Mapping[str, Any], key: str) -> str | None:
    """The one concrete value every request the statement allows must carry in ``key``, or None: some test on
    ``key`` names one value without wildcards, and refuses both a missing key and any other value."""
    for op, want in _tests_on(s, key):
        wants = [_text(w) for w in as_list(want)]
        if len(wants) != 1 or any(c in wants[0] for c in "*?"):
            continue
        refuses = not condition_test(op, key, want, {}) and not condition_test(op, key, want, {key: _UNNAMED})
        if refuses and condition_test(op, key, want, {key: wants[0]}):
            return wants[0]
    return None


def refuses_value(s: Mapping[str, Any], key: str, value: str) -> bool:
    """Some test of the statement's Condition refuses a request carrying ``value`` in ``key``."""
    return any(not condition_test(op, key, want, {key: value}) for op, want in _tests_on(s, key))


def _name_patterns(s: Mapping[str, Any], resource_type: str) -> list[str]:
    """The statement's Resource patterns that cover more than one ``resource_type`` (a wildcard in the name
    part), as the part after ``<type>/``; ``*`` for a pattern that covers every name. NotResource counts as ``*``."""
    if "NotResource" in s:
        return ["*"]
    found = []
    for r in map(str, as_list(s.get("Resource", []))):
        parts = r.split(":", 5)
        part = r if len(parts) != 6 else parts[5]
        if len(parts) == 6 and not _glob(parts[2], "batch", case=True):
            continue
        literal = re.split(r"[*?]", part)[0]
        if literal == part:
            continue  # one concrete resource
        if literal.startswith(f"{resource_type}/"):
            found.append(part.removeprefix(f"{resource_type}/"))
        elif f"{resource_type}/".startswith(literal):
            found.append("*")
    return found


def unsafe_batch_statements(document: Mapping[str, Any], *, shared_log_group: str = "/aws/batch/job") -> list[str]:
    """AWS Batch rights that let one team act as another (issue paths 1, 3, 4, 9):

    * SubmitJob on a wildcard of job definitions without ``aws:ResourceTag/team`` and ``aws:RequestTag/team``
      pinned to the same team, or on a pattern that admits a definition without its revision (Batch then
      does not evaluate the definition's tags: the ``*:*`` form is required);
      https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-submission-by-tags.html
    * RegisterJobDefinition that does not refuse ``batch:Privileged=true`` or a root ``batch:User``
      (:data:`ROOT_USERS`), does not pin ``batch:AWSLogsGroup`` (to a group other than the shared one),
      ``batch:LogDriver`` (to awslogs) and ``aws:RequestTag/team``, or is on any name (another team's prefix);
    * TerminateJob/CancelJob/UntagResource on jobs without ``aws:ResourceTag/team`` pinned, TagResource
      that does not pin ``aws:RequestTag/team`` or accepts a job tagged for another team.
    """
    problems = []
    for s in as_list(document.get("Statement", [])):
        sid = s.get("Sid", "?")
        if _allows(s, "batch:SubmitJob"):
            for name in _name_patterns(s, "job-definition"):
                resource, request = (pinned_value(s, k) for k in TEAM_TAG_KEYS)
                if resource is None or resource != request:
                    problems.append(f"{sid}: SubmitJob on job definitions {name!r} without both team tags pinned to one team")
                if ":" not in name:
                    problems.append(
                        f"{sid}: SubmitJob on job definitions {name!r} admits one without a revision (tags unchecked)"
                    )
        if _allows(s, "batch:RegisterJobDefinition"):
            if not refuses_value(s, "batch:Privileged", "true"):
                problems.append(f"{sid}: RegisterJobDefinition does not refuse batch:Privileged=true")
            if root := [u for u in ROOT_USERS if not refuses_value(s, "batch:User", u)]:
                problems.append(f"{sid}: RegisterJobDefinition does not refuse batch:User {root}")
            group = pinned_value(s, "batch:AWSLogsGroup")
            if group is None or group == shared_log_group:
                problems.append(f"{sid}: RegisterJobDefinition does not pin batch:AWSLogsGroup to a team's group ({group!r})")
            if pinned_value(s, "batch:LogDriver") != "awslogs":
                problems.append(f"{sid}: RegisterJobDefinition does not pin batch:LogDriver to awslogs")
            if pinned_value(s, "aws:RequestTag/team") is None:
                problems.append(f"{sid}: RegisterJobDefinition does not pin aws:RequestTag/team")
            if "*" in _name_patterns(s, "job-definition"):
                problems.append(f"{sid}: RegisterJobDefinition on any name: a team could take another team's names")
        for action in ("batch:TerminateJob", "batch:CancelJob", "batch:UntagResource"):
            if _allows(s, action) and _name_patterns(s, "job") and pinned_value(s, "aws:ResourceTag/team") is None:
                problems.append(f"{sid}: {action} on jobs without aws:ResourceTag/team pinned")
        if _allows(s, "batch:TagResource") and _name_patterns(s, "job"):
            if pinned_value(s, "aws:RequestTag/team") is None:
                problems.append(f"{sid}: TagResource on jobs without aws:RequestTag/team pinned")
            if not refuses_value(s, "aws:ResourceTag/team", _UNNAMED):
                problems.append(f"{sid}: TagResource accepts a job tagged for another team")
    return problems


def forbidden_action_statements(document: Mapping[str, Any], actions: Sequence[str] = ("logs:PutResourcePolicy",)) -> list[str]:
    """Allow statements that grant any of ``actions`` (through a wildcard or NotAction too), on any resource.

    ``logs:PutResourcePolicy`` is account-wide: whoever holds it can let any service or account write to (or
    read through) any log group, so no role may use it at run time (issue path 2)."""
    return [f"{s.get('Sid', '?')}: allows {a}" for s in as_list(document.get("Statement", [])) for a in actions if _allows(s, a)]


def launch_template_problems(inputs: Mapping[str, Any]) -> list[str]:
    """A launch template whose instances hand their role to containers: the IMDS response hop limit must be 1
    (a container's request crosses one more hop and is dropped), unless the metadata endpoint is disabled.
    AMIs may default it to 2, so it must be set explicitly.
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-options.html"""
    options = inputs.get("metadataOptions") or {}
    if options.get("httpEndpoint") == "disabled":
        return []
    hops = options.get("httpPutResponseHopLimit")
    if hops is None:
        return ["metadataOptions.httpPutResponseHopLimit is not set (the AMI's default may be 2)"]
    return [] if int(hops) <= 1 else [f"metadataOptions.httpPutResponseHopLimit is {hops}: containers reach the instance role"]


# ---------------------------------------------------------------- team references


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
