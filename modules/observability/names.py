"""Physical names of what the observability layer creates. Pure: no Pulumi.

``infra/naming.py`` holds the platform-wide names (buckets, roles, queues); these are the
observability layer's own and are kept beside it. Limits (checked in the unit tests for the longest
environment and team names the validator allows, 12 and 24 characters):

* EventBridge rule names: 64 characters, ``[.\\-_A-Za-z0-9]+``
  (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html)
* SNS topic names: 256 characters, letters, digits, ``-`` and ``_``
* Budget names: 100 characters, no ``:`` or ``\\``
  (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html)
* CloudWatch dashboard names: 255 characters, letters, digits, ``-`` and ``_``
"""

from __future__ import annotations

# Where AWS Batch writes job output when a job definition names no log group; Metaflow names none
# (a step can pass @batch(log_driver=..., log_options=[...]), but no profile key selects a group).
BATCH_LOG_GROUP = "/aws/batch/job"


def key_alias(env: str) -> str:
    return f"alias/strata-{env}-observability"


def dashboard(env: str) -> str:
    return f"strata-{env}"


def alarm_topic(env: str) -> str:
    """The platform engineers' topic: every CloudWatch alarm of the environment."""
    return f"strata-{env}-alarms"


def team_topic(env: str, team: str) -> str:
    """A team's topic: its failed Batch jobs (subscribers: the team file's contacts)."""
    return f"strata-{env}-{team}-alerts"


def failed_jobs_rule(env: str, team: str) -> str:
    return f"strata-{env}-{team}-batch-failed"


def alarm(env: str, signal: str) -> str:
    """``signal`` is e.g. ``fraud-failed-jobs``, ``api-5xx``, ``db-cpu``."""
    return f"{alarm_prefix(env)}{signal}"


def alarm_prefix(env: str) -> str:
    """Every alarm of the environment starts with this (the alarm topic's policy relies on it)."""
    return f"strata-{env}-"


def team_budget(env: str, team: str) -> str:
    return f"strata-{env}-team-{team}"


def environment_budget(env: str) -> str:
    return f"strata-{env}-environment"
