"""Physical names of everything Strata creates, and the rules each AWS service puts on them.

Pure functions only: the config validator calls them to reject a team or environment name that
would produce an invalid bucket, role or queue name *before* anything is declared, and the
modules call the same functions to name resources, so the two can never disagree.
"""

from __future__ import annotations

import re

# Our own rules for the two names users choose. They are stricter than any single AWS service so
# that every derived name (S3, IAM, Batch, SSM, Kubernetes later) is valid without escaping.
ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")
TEAM_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,23}$")
# Prefix for globally unique names (S3 buckets): lowercase, digits, single hyphens.
NAME_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,29}$")

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName)
_IAM_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")
# https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html (jobQueueName)
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def s3_bucket_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None."""
    if not _S3_BUCKET.match(name):
        return "S3 bucket names are 3-63 characters of a-z, 0-9, '.' and '-', starting and ending alphanumeric"
    if ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        return "S3 bucket names may not contain '..' or look like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "S3 reserves the prefixes xn--/sthree- and the suffixes -s3alias/--ol-s3"
    return None


def iam_role_problem(name: str) -> str | None:
    if not _IAM_ROLE.match(name):
        return "IAM role names are 1-64 characters of letters, digits and +=,.@_-"
    return None


def batch_name_problem(name: str) -> str | None:
    if not _BATCH.match(name):
        return "AWS Batch names are 1-128 characters of letters, digits, '-' and '_'"
    return None


def datastore_bucket(name_prefix: str, env: str) -> str:
    return f"{name_prefix}-{env}-datastore"


def log_bucket(name_prefix: str, env: str) -> str:
    return f"{name_prefix}-{env}-access-logs"


def team_prefix(team: str) -> str:
    """The S3 key prefix a team owns inside the datastore bucket (no leading slash)."""
    return f"teams/{team}/"


def job_role(env: str, team: str) -> str:
    return f"strata-{env}-{team}-job"


def data_scientist_role(env: str, team: str) -> str:
    return f"strata-{env}-{team}-ds"


def job_queue(env: str, team: str, kind: str) -> str:
    """``kind`` is one of ``cpu``, ``gpu``, ``fargate``."""
    return f"strata-{env}-{team}-{kind}"


def compute_environment(env: str, kind: str) -> str:
    """``kind`` is one of ``cpu-ondemand``, ``cpu-spot``, ``gpu``, ``fargate``."""
    return f"strata-{env}-{kind}"


def profile_parameter(env: str, team: str) -> str:
    return f"/strata/{env}/teams/{team}/metaflow-profile"


def profile_name(env: str, team: str) -> str:
    """The Metaflow profile name: ``METAFLOW_PROFILE=<env>-<team>`` selects ``config_<env>-<team>.json``."""
    return f"{env}-{team}"


def team_name_problems(env: str, team: str) -> list[str]:
    """Every derived per-team name that would be invalid for its service."""
    problems = []
    for role in (job_role(env, team), data_scientist_role(env, team)):
        if why := iam_role_problem(role):
            problems.append(f"role name {role!r}: {why}")
    for kind in ("cpu", "gpu", "fargate"):
        queue = job_queue(env, team, kind)
        if why := batch_name_problem(queue):
            problems.append(f"job queue name {queue!r}: {why}")
    return problems
