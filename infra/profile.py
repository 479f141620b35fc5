"""The per-team Metaflow profile: a pure function of stack outputs.

Metaflow reads ``$METAFLOW_HOME/config_<profile>.json`` when ``METAFLOW_PROFILE=<profile>``; the
keys are Metaflow's own setting names, so a data scientist can read the file and know what it does.
The same dict is stored in SSM (``strata configure`` fetches it) and exported as a stack output.
It holds names and ARNs only, never a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Anything that looks like an unfilled template value is a bug in the program, not a valid profile.
_PLACEHOLDER = re.compile(r"<[^>]*>|\bTODO\b|\bCHANGEME\b|\bREPLACE|\$\{|^\s*$|^None$|^null$", re.IGNORECASE)


class ProfileError(ValueError):
    """A profile would carry a missing or placeholder value."""


@dataclass(frozen=True)
class ProfileInputs:
    """What one team's profile is made of; every field comes from a stack output."""

    bucket_name: str
    team_prefix: str  # "teams/<team>/"
    job_queue: str  # the team's default (CPU) queue: name or ARN
    job_role_arn: str
    metadata: str = "local"  # "service" once the metadata layer is deployed
    fargate_execution_role_arn: str | None = None


def render_profile(p: ProfileInputs) -> dict[str, str]:
    """The ``METAFLOW_*`` settings for one team. Raises :class:`ProfileError` on any missing value."""
    # Check the parts too: an empty bucket name would still yield a plausible-looking "s3:///..." root.
    check_profile({k: v for k, v in vars(p).items() if v is not None})
    root = f"s3://{p.bucket_name}/{p.team_prefix.strip('/')}"
    profile = {
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"{root}/metaflow",
        "METAFLOW_DATATOOLS_S3ROOT": f"{root}/data",
        "METAFLOW_BATCH_JOB_QUEUE": p.job_queue,
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": p.job_role_arn,
        "METAFLOW_DEFAULT_METADATA": p.metadata,
    }
    if p.fargate_execution_role_arn is not None:
        profile["METAFLOW_ECS_FARGATE_EXECUTION_ROLE"] = p.fargate_execution_role_arn
    check_profile(profile)
    return profile


def check_profile(profile: dict[str, str]) -> None:
    """Reject empty or placeholder values, so no team ever receives a half-filled profile."""
    bad = {k: v for k, v in profile.items() if not isinstance(v, str) or _PLACEHOLDER.search(v)}
    if bad:
        listing = ", ".join(f"{k}={v!r}" for k, v in sorted(bad.items()))
        raise ProfileError(f"profile has missing or placeholder values: {listing}")
