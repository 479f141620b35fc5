"""Pure checks behind the security and no-data-loss gates (tests/gates, tests/badinput, tests/e2e).

No Pulumi import: every function takes plain data (dicts, strings, or records that have the fields
of ``localcloud.engine.Registration``) and returns plain data, so each one is unit-tested on its own
(``tests/unit/test_guards.py``) and reused by the config validator (``infra/config.py``).

* **Secrets**: :func:`is_secret_key` / :func:`looks_like_secret_value` (name- and value-based
  detectors), :func:`plaintext_secret_paths` (the stack-file rule), and the checks for stack
  outputs, ECS task definitions and the stored Metaflow profile.
* **Stateful resources**: :data:`STATEFUL_RULES` (what "protected" means per resource type),
  :func:`is_stateful_type` (types that hold data, known to the table or not), :func:`stateful_problems`.
* **URN stability**: :func:`canonical_urns`, :func:`alias_urns`, :func:`lost_urns` (golden files).
* **Tenant isolation on the policy JSON**: :func:`policy_decision` (a small IAM evaluator for what
  moto does not enforce) and :func:`foreign_team_references`.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# ---------------------------------------------------------------- secret detection

# Words (after splitting camelCase, snake_case, kebab-case and UPPER_CASE) that make a key secret-bearing.
_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "pswd", "passphrase", "secret", "secrets", "token", "tokens"})
_SECRET_WORDS |= frozenset({"credential", "credentials", "apikey", "privatekey", "secretkey", "authkey"})
# Two adjacent words that together name a secret.
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("auth", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("client", "secret"),
        ("connection", "string"),
    }
)
# A last word that makes the key a *reference to* or a *setting about* a secret, not the secret itself:
# `dbPasswordSecretArn`, `apiKeyHeader`, `tokenTtlSeconds`, `secretRotationDays`, `manageMasterUserPassword`
# (the last one is a boolean, which is never plaintext anyway).
_REFERENCE_SUFFIXES = frozenset(
    {
        "arn",
        "arns",
        "id",
        "ids",
        "name",
        "names",
        "path",
        "paths",
        "prefix",
        "ref",
        "parameter",
        "header",
        "file",
        "url",
        "uri",
        "endpoint",
        "length",
        "bytes",
        "days",
        "hours",
        "minutes",
        "seconds",
        "ttl",
        "rotation",
        "enabled",
        "version",
        "type",
        "kind",
        "count",
        "policy",
        "required",
    }
)
# Keys whose words look secret but which are well-known settings (EC2 IMDS: httpTokens = "required").
_NOT_SECRET_KEYS = frozenset({"http tokens"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def key_words(name: str) -> list[str]:
    """``"dbMasterPassword"`` / ``"DB_MASTER_PASSWORD"`` / ``"db-master-password"`` -> ``["db", "master", "password"]``."""
    return [w.lower() for w in _WORD.findall(name)]


def is_secret_key(name: str) -> bool:
    """True when a config key, output name, environment variable or profile key names a secret value."""
    words = key_words(name.rsplit(":", 1)[-1].rsplit(".", 1)[-1])
    if not words or words[-1] in _REFERENCE_SUFFIXES or " ".join(words) in _NOT_SECRET_KEYS:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


# Well-known credential shapes, flagged whatever their length or entropy.
_KNOWN_SECRET_SHAPES = (
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"),  # GitHub tokens
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),  # API keys of the "sk-..." family
)
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_NOT_SECRET_VALUE = re.compile(r"^(?:arn:|[a-z][a-z0-9+.-]*://|/)")  # ARNs, URLs (s3://, https://), paths
_UUID = re.compile(r"^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# Resource names: lowercase words and numbers joined by - _ . (``compute-fargate-execution-1b81818``).
_NAME_LIKE = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)+$")
# Shannon entropy (bits per character) above which a 32+ character token is taken for random.
# Random base64/base62 strings of that length measure ~4.3-4.9; names and words stay below ~3.9.
ENTROPY_BITS = 4.0


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_secret_value(value: Any) -> bool:
    """True for a known credential shape, or a 32+ character high-entropy token that is not an ARN,
    URL, path or UUID (32+ hex digits count as a token: API keys are often hex)."""
    if not isinstance(value, str):
        return False
    if any(shape.search(value) for shape in _KNOWN_SECRET_SHAPES):
        return True
    if _NOT_SECRET_VALUE.match(value.strip()):
        return False
    for token in _TOKEN.findall(value):
        if _UUID.match(token) or _NAME_LIKE.match(token):
            continue
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if mixed and (_HEX.match(token) or entropy(token) >= ENTROPY_BITS):
            return True
    return False


def is_secure_form(value: Any) -> bool:
    """A stack-file secret: ``{"secure": "<ciphertext>"}`` (what ``pulumi config set --secret`` writes)."""
    return isinstance(value, Mapping) and set(value) == {"secure"} and isinstance(value["secure"], str)


# A secret's *name* in Secrets Manager or SSM (``strata/dev/teams/fraud/metadata-api-key``): lowercase
# name-like segments joined by '/'. Together with ARNs, URLs and absolute paths: references, not secrets.
_SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)+$")


def is_reference_value(value: Any) -> bool:
    """An ARN, URL, absolute path or a secret's name: it points at a secret and is safe to show."""
    return isinstance(value, str) and bool(_NOT_SECRET_VALUE.match(value) or _SECRET_NAME.match(value))


def _is_plaintext(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False  # flags such as manageMasterUserPassword: true carry no secret
    if isinstance(value, str):
        return value != "" and not is_reference_value(value)
    return isinstance(value, int | float)


def _is_reference(name: str) -> bool:
    words = key_words(name)
    return bool(words) and words[-1] in _REFERENCE_SUFFIXES


def plaintext_secret_paths(name: str, value: Any, *, required: bool = False, inherited: bool = False) -> list[str]:
    """Where ``value`` (the value of config key ``name``) holds a secret in plaintext.

    Paths are relative to the key: ``""`` for the value itself, ``".db.password"``, ``"[0]"``.

    * ``required`` (a key ``Pulumi.yaml`` declares ``secret: true``): the whole value must be the secure form;
    * a secret-bearing key (:func:`is_secret_key`) must hold the secure form, at any depth;
    * inside a secret-bearing mapping (``secrets: {db: ...}``) every string that is not a reference
      (``...Arn``, ``...Id``, ``...Name``) counts as a secret too.
    Booleans, nulls and references (:func:`is_reference_value`: ARNs, URLs, paths, secret names) are
    never plaintext secrets (``manageMasterUserPassword: true``, ``dbPassword: arn:aws:secretsmanager:...``)."""
    if value is None or is_secure_form(value):
        return []
    if required:
        return [""]
    own = is_secret_key(name)
    inherit = inherited and not _is_reference(name)

    def flagged(v: Any) -> bool:
        return (own and _is_plaintext(v)) or (inherit and isinstance(v, str) and _is_plaintext(v))

    if isinstance(value, Mapping):
        found = []
        for k, v in value.items():
            found += [f".{k}{p}" for p in plaintext_secret_paths(str(k), v, inherited=own or inherit)]
        return found
    if isinstance(value, list | tuple):
        found = []
        for i, v in enumerate(value):
            if isinstance(v, Mapping | list | tuple):
                found += [f"[{i}]{p}" for p in plaintext_secret_paths(name, v, inherited=inherited)]
            elif not is_secure_form(v) and flagged(v):
                found.append(f"[{i}]")
        return found
    return [""] if flagged(value) else []


@dataclass(frozen=True)
class Secret:
    """Marks a value that reached the stack outputs as a Pulumi secret (encrypted in the state)."""

    value: Any


def _map_secrets(tree: Any, on_secret: Any) -> Any:
    if isinstance(tree, Secret):
        return on_secret(tree)
    if isinstance(tree, Mapping):
        return {k: _map_secrets(v, on_secret) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [_map_secrets(v, on_secret) for v in tree]
    return tree


def unwrap_secrets(tree: Any) -> Any:
    """``tree`` with every :class:`Secret` replaced by its plain value (for the program's own use only)."""
    return _map_secrets(tree, lambda s: unwrap_secrets(s.value))


def redact_secrets(tree: Any, marker: str = "[secret]") -> Any:
    """``tree`` with every :class:`Secret` replaced by ``marker``: safe to print or write to disk."""
    return _map_secrets(tree, lambda _s: marker)


def plaintext_secrets_in_tree(tree: Any, path: str = "") -> list[str]:
    """Paths in ``tree`` (stack outputs, with :class:`Secret` around every secret Output) where a
    secret-bearing key or a secret-looking value is not wrapped in :class:`Secret`."""
    if isinstance(tree, Secret):
        return []
    found: list[str] = []
    if isinstance(tree, Mapping):
        for k, v in tree.items():
            sub = f"{path}.{k}" if path else str(k)
            if is_secret_key(str(k)) and not isinstance(v, Secret) and _is_plaintext_tree(v):
                found.append(sub)
            else:
                found += plaintext_secrets_in_tree(v, sub)
    elif isinstance(tree, list | tuple):
        for i, v in enumerate(tree):
            found += plaintext_secrets_in_tree(v, f"{path}[{i}]")
    elif looks_like_secret_value(tree):
        found.append(path)
    return found


def _is_plaintext_tree(value: Any) -> bool:
    if isinstance(value, Secret):
        return False
    if isinstance(value, Mapping):
        return any(_is_plaintext_tree(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_is_plaintext_tree(v) for v in value)
    return _is_plaintext(value)


def plaintext_secret_inputs(inputs: Mapping[str, Any], secret_inputs: Iterable[str]) -> list[str]:
    """Secret-bearing resource inputs (``masterPassword``, ``secretString``, nested ``...Token``) that
    are not Pulumi secrets: they would be stored in plaintext in the Pulumi state. ``secret_inputs``
    are the top-level inputs that were (or held) secrets (``Registration.secret_inputs``)."""
    secret = set(secret_inputs)
    return [f"{k}{p}" for k, v in inputs.items() if k not in secret for p in plaintext_secret_paths(k, v)]


def task_definition_secret_problems(container_definitions: str | Sequence[Mapping[str, Any]]) -> list[str]:
    """Secrets in an ECS task definition's ``containerDefinitions`` must come through ``secrets``
    (``valueFrom`` a Secrets Manager or SSM ARN), never through ``environment``, where
    ``DescribeTaskDefinition`` shows them to anyone with read access."""
    containers = json.loads(container_definitions) if isinstance(container_definitions, str) else container_definitions
    problems = []
    for c in containers:
        who = c.get("name", "?")
        for env in c.get("environment") or []:
            name, value = env.get("name", ""), env.get("value")
            if is_secret_key(name) or looks_like_secret_value(value):
                problems.append(f"container {who!r}: environment {name!r} holds a secret; move it to `secrets` (valueFrom)")
        for s in c.get("secrets") or []:
            if not str(s.get("valueFrom", "")).startswith("arn:"):
                problems.append(f"container {who!r}: secret {s.get('name')!r} has no Secrets Manager/SSM ARN in valueFrom")
    return problems


def profile_secret_problems(profile: Mapping[str, Any]) -> list[str]:
    """A team's Metaflow profile is stored as a plain SSM String: no key or value may look secret."""
    problems = []
    for key, value in profile.items():
        if is_secret_key(key):
            problems.append(f"{key}: a secret-bearing key (secrets go to Secrets Manager, not the profile)")
        elif looks_like_secret_value(value if isinstance(value, str) else json.dumps(value)):
            problems.append(f"{key}: the value looks like a credential")
    return problems


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
