"""Inside a Batch job or a Kubernetes pod: the team's metadata API key, read from Secrets Manager with the job's
own role.

The launcher never sends the key (``plugins/hooks.py`` strips it from every Batch job environment and state
machine; ``plugins/kubernetes_env.py`` and ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP`` keep it out of pods); it sends
``METAFLOW_STRATA_API_KEY_SECRET``, the secret's ARN, instead. Each Metaflow process in the job (the task, its
sidecars) reads the key once, at import, and keeps it in memory only: never in ``os.environ``, never printed.

Plain boto3, not Metaflow's ``get_aws_client``: this runs while ``metaflow_config`` is being imported, and the
client provider imports ``metaflow_config``. Credentials are the job role's: in Batch the container credentials
ECS provides (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html), in a pod the web
identity EKS injects for the team's service account (IRSA,
https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html). The region is the secret
ARN's, else ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

API_KEY_HEADER = "x-api-key"

# Set by AWS Batch in every container, and by Metaflow in every pod it templates (@kubernetes and Argo Workflows).
BATCH_JOB_VARIABLE = "AWS_BATCH_JOB_ID"
KUBERNETES_WORKLOAD_VARIABLE = "METAFLOW_KUBERNETES_WORKLOAD"

# What Argo Workflows must leave out of its containers (ARGO_WORKFLOWS_ENV_VARS_TO_SKIP): the headers hold the key.
POD_SKIPPED_VARIABLES = ("METAFLOW_SERVICE_HEADERS",)
# The step mutator (plugins/kubernetes_env.py) the config attaches to every step where the profile has the
# Kubernetes layer; a string here, because the config cannot import Metaflow's decorator machinery.
TEAM_ENVIRONMENT_DECOSPEC = "metaflow_extensions.strata.plugins.kubernetes_env.StrataTeamEnvironment"


class JobApiKeyError(RuntimeError):
    """The job could not read its API key; the message names the secret and the role, never the key."""


def in_job(environ: Mapping[str, str]) -> bool:
    """In a Batch job or a Kubernetes pod Metaflow started (not on the launcher's machine)."""
    return bool(environ.get(BATCH_JOB_VARIABLE)) or bool(environ.get(KUBERNETES_WORKLOAD_VARIABLE))


def has_key(headers: Mapping[str, Any]) -> bool:
    return any(str(k).lower() == API_KEY_HEADER for k in headers)


def needed(headers: Mapping[str, Any], secret: str | None, environ: Mapping[str, str]) -> bool:
    """In a job (:func:`in_job`), with a secret to read, and no key configured otherwise."""
    return in_job(environ) and bool(secret) and not has_key(headers)


def unkeyed_pod(headers: Mapping[str, Any], secret: str | None, environ: Mapping[str, str], metadata: str | None) -> bool:
    """A Kubernetes pod that uses the metadata service but has neither a key nor a secret to read it from: its
    workflow was created without the Strata extension's pod settings, and every metadata call would be refused."""
    return bool(environ.get(KUBERNETES_WORKLOAD_VARIABLE)) and metadata == "service" and not secret and not has_key(headers)


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
            f"this job cannot read its team's metadata API key from Secrets Manager secret {secret} "
            f"as {_caller(region)}: {code}. The team's job role (in a Kubernetes pod: the role of the team's service "
            "account, through IRSA) needs secretsmanager:GetSecretValue on that secret (and kms:Decrypt on its key); "
            "METAFLOW_STRATA_API_KEY_SECRET in the profile names the secret."
        ) from None
    if not isinstance(value, str) or not value:
        raise JobApiKeyError(f"Secrets Manager secret {secret} holds no string: the team's metadata API key is missing")
    return value


def add_job_api_key(
    headers: MutableMapping[str, Any],
    secret: str | None,
    environ: Mapping[str, str] = os.environ,
    fetcher: Callable[[str], str] = fetch,
    metadata: str | None = None,
) -> MutableMapping[str, Any]:
    """``headers`` (Metaflow's SERVICE_HEADERS, changed in place: every module that bound it sees the key)
    with the key added when :func:`needed`. A pod that could only fail at its first metadata call
    (:func:`unkeyed_pod`) stops here instead, saying why."""
    if secret and needed(headers, secret, environ):
        headers[API_KEY_HEADER] = fetcher(secret)
    elif unkeyed_pod(headers, secret, environ, metadata):
        raise JobApiKeyError(
            "this Kubernetes pod uses the metadata service but was started without METAFLOW_STRATA_API_KEY_SECRET, so "
            "it has no API key. The Strata extension adds that setting to every step when the profile has the "
            "Kubernetes layer (METAFLOW_STRATA_EKS_CLUSTER); re-create the workflow with `strata-sdk` installed and "
            "an up-to-date profile (`strata configure --force`). Argo exit hooks and the heartbeat daemon do not "
            "get it: see docs/metaflow-extension.md."
        )
    return headers
