"""Inside a Batch job: the team's metadata API key, read from Secrets Manager with the job's own role.

The launcher never sends the key (``plugins/hooks.py`` strips it from every job environment and state
machine); it sends ``METAFLOW_STRATA_API_KEY_SECRET``, the secret's ARN, instead. Each Metaflow process in
the job (the task, its sidecars) reads the key once, at import, and keeps it in memory only: never in
``os.environ``, never printed.

Plain boto3, not Metaflow's ``get_aws_client``: this runs while ``metaflow_config`` is being imported, and the
client provider imports ``metaflow_config``. Credentials are the job role's (the container credentials ECS
provides, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html); the region is the
secret ARN's, else ``AWS_DEFAULT_REGION``, which Metaflow sets in every job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

API_KEY_HEADER = "x-api-key"


class JobApiKeyError(RuntimeError):
    """The job could not read its API key; the message names the secret and the role, never the key."""


def needed(headers: Mapping[str, Any], secret: str | None, environ: Mapping[str, str]) -> bool:
    """In a Batch job (``AWS_BATCH_JOB_ID``, which Batch sets in every container), with a secret to read,
    and no key configured otherwise."""
    has_key = any(str(k).lower() == API_KEY_HEADER for k in headers)
    return bool(environ.get("AWS_BATCH_JOB_ID")) and bool(secret) and not has_key


def secret_region(secret: str) -> str | None:
    """The region of a secret ARN (``arn:aws:secretsmanager:<region>:...``); None for a plain name."""
    parts = secret.split(":")
    return parts[3] or None if len(parts) > 6 and parts[0] == "arn" else None


def _caller(region: str | None) -> str:
    """The role this job runs as, for the error message (best effort)."""
    try:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
        return str(boto3.client("sts", region_name=region, config=config).get_caller_identity()["Arn"])
    except Exception as exc:  # the message must still be given
        return f"this job's role (its job definition's jobRoleArn; STS could not tell: {type(exc).__name__})"


def fetch(secret: str) -> str:
    """The secret's value, with the job role's credentials."""
    import boto3

    region = secret_region(secret)
    try:
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret)["SecretString"]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise JobApiKeyError(
            f"this Batch job cannot read its team's metadata API key from Secrets Manager secret {secret} "
            f"as {_caller(region)}: {code}. The team's job role needs secretsmanager:GetSecretValue on that secret "
            "(and kms:Decrypt on its key); METAFLOW_STRATA_API_KEY_SECRET in the profile names the secret."
        ) from None
    if not isinstance(value, str) or not value:
        raise JobApiKeyError(f"Secrets Manager secret {secret} holds no string: the team's metadata API key is missing")
    return value


def add_job_api_key(
    headers: MutableMapping[str, Any],
    secret: str | None,
    environ: Mapping[str, str] = os.environ,
    fetcher: Callable[[str], str] = fetch,
) -> MutableMapping[str, Any]:
    """``headers`` (Metaflow's SERVICE_HEADERS, changed in place: every module that bound it sees the key)
    with the key added when :func:`needed`."""
    if secret and needed(headers, secret, environ):
        headers[API_KEY_HEADER] = fetcher(secret)
    return headers
