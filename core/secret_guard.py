"""Secret primitives: what looks like a secret, where one may stand, and how to keep it out of plain text.

Pure (standard library only): used by the config validator (stack-file secrets), the program (the
stored Metaflow profile, ECS task definitions), the local cloud's runner (redacting outputs) and the
security gates. Unit-tested in ``tests/unit/test_guards.py``.

* :func:`is_secret_key` / :func:`looks_like_secret_value`: name- and value-based detectors;
* :func:`plaintext_secret_paths`: the stack-file rule;
* checks for stack outputs, ECS task definitions and the stored Metaflow profile;
* :class:`Secret`, :func:`redact_secrets`, :func:`unwrap_secrets`: secret values in plain data.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
# Keys whose words look secret but which are well-known settings (EC2 IMDS: httpTokens = "required"; Seldon's
# runtime chart: rclone ``configSecrets`` lists the names of Kubernetes Secrets, modules/serving/manifests.py).
_NOT_SECRET_KEYS = frozenset({"http tokens", "config secrets"})
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
    for found in _TOKEN.findall(value):
        # A URL's host inside a longer value ("http://internal-x-1a2b3c.elb...") is a name, not a token.
        token = found.strip("/")
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
    """A team's Metaflow profile is stored as a plain SSM String: no key or value may look secret. A
    secret-bearing key may only point at a secret (an ARN or a secret's name: :func:`is_reference_value`)."""
    problems = []
    for key, value in profile.items():
        if is_secret_key(key) and not (isinstance(value, str) and value.startswith("arn:") and is_reference_value(value)):
            problems.append(f"{key}: a secret-bearing key (secrets go to Secrets Manager, not the profile)")
        elif looks_like_secret_value(value if isinstance(value, str) else json.dumps(value)):
            problems.append(f"{key}: the value looks like a credential")
    return problems
