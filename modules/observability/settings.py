"""``strata:observability`` and ``aws:defaultTags``: the observability & cost layer's settings and checks.

Pure (the core and pydantic; no Pulumi): alarm thresholds, who is alerted, the budgets, log retention,
and the tags every resource carries (cost allocation and the budgets' filters depend on them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import Field

from core import naming
from core.issues import Issues
from core.settings import Emails, Model, Team, check_log_retention


class AlarmThresholds(Model):
    """When the platform's alarms fire (``strata:observability.alarms``); see modules/observability/README.md."""

    # Failed Batch jobs of one team in 15 minutes. The team hears of every failure on its own topic;
    # this alarm tells the platform engineers about failures in bulk (a broken image, a quota, Spot).
    failed_jobs: int = Field(default=5, gt=0)
    # 5xx responses of the metadata API in 5 minutes.
    api_errors: int = Field(default=5, gt=0)
    # Database: average CPU over 15 minutes, connections, free storage (RDS instances only).
    db_cpu_percent: int = Field(default=80, gt=0, le=100)
    db_connections: int = Field(default=80, gt=0)
    db_free_storage_gb: int = Field(default=2, gt=0)
    # Provisioned Redshift: disk used.
    warehouse_disk_percent: int = Field(default=80, gt=0, le=100)


class ObservabilitySettings(Model):
    """``strata:observability``: who is alerted, what the environment may spend, how long logs live."""

    # Subscribed (e-mail) to the environment's alarm topic and to the environment budget's alerts
    # (at most 10: an AWS Budgets notification takes up to 10 e-mail subscribers).
    alert_emails: Emails = Field(min_length=1, max_length=10)
    # The environment-wide monthly budget (USD); every team's own budget comes from its team file.
    monthly_budget_usd: float = Field(gt=0)
    # Retention of the log groups this layer creates (Batch job logs); one of LOG_RETENTION_DAYS.
    log_retention_days: int = 30
    # Own /aws/batch/job (retention + encryption). One per account and region: a second stack in the
    # same account must set false (the group exists once per region).
    manage_batch_log_group: bool = True
    # CloudWatch dashboard (3 free per account, then $3/month each).
    dashboard: bool = True
    # Activate the tag keys as cost-allocation tags. Only the payer (management) account may: turn it
    # on in exactly one stack of that account.
    activate_cost_allocation_tags: bool = False
    alarms: AlarmThresholds = AlarmThresholds()


# Tag keys every taggable resource carries (through the provider's default tags, with per-team values
# on team resources); cost allocation and the budgets' filters depend on them.
REQUIRED_TAG_KEYS = ("environment", naming.TEAM_TAG, "cost-center", naming.MANAGED_BY_TAG)
MANAGED_BY = naming.MANAGED_BY
# https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (key <= 128, value <= 256)
_TAG_KEY_MAX, _TAG_VALUE_MAX = 128, 256


class DefaultTags(Model):
    """``aws:defaultTags`` — the AWS provider's own config key, so the provider tags every taggable
    resource of the stack (resource tags with the same key win). Validated here because cost
    allocation and the budgets depend on it."""

    tags: dict[str, str] = Field(min_length=1)


def check_observability(
    o: ObservabilitySettings | None,
    d: DefaultTags | None,
    *,
    stack: str,
    tags: Mapping[str, str],
    path: str,
    issues: Issues,
) -> None:
    """``strata:observability`` retention, and ``aws:defaultTags`` carrying the tags cost allocation needs
    and agreeing with the stack's ``strata:tags``. None: that section is invalid (its problems are reported)."""
    if o is not None:
        check_log_retention(o.log_retention_days, path, "strata:observability.logRetentionDays", issues)
    if d is None:
        return
    key = "aws:defaultTags.tags"
    for tag in REQUIRED_TAG_KEYS:
        if not d.tags.get(tag, "").strip():
            issues.add(
                path,
                f"{key}.{tag}",
                f"the required tag {tag!r} is missing or empty",
                f"add '{tag}: <value>' under aws:defaultTags.tags (required: {', '.join(REQUIRED_TAG_KEYS)})",
            )
    if d.tags.get("environment", stack) != stack:
        issues.add(
            path,
            f"{key}.environment",
            f"{d.tags['environment']!r} is not this stack's environment",
            f"set 'environment: {stack}' (budgets filter on it)",
        )
    owner = naming.MANAGED_BY_TAG
    if d.tags.get(owner, MANAGED_BY) != MANAGED_BY:
        issues.add(path, f"{key}.{owner}", f"{d.tags[owner]!r} is not {MANAGED_BY!r}", f"set '{owner}: {MANAGED_BY}'")
    for tag, value in d.tags.items():
        if tag.lower().startswith("aws:") or len(tag) > _TAG_KEY_MAX or len(value) > _TAG_VALUE_MAX:
            issues.add(
                path,
                f"{key}.{tag}",
                "not a valid AWS tag",
                f"keys are <= {_TAG_KEY_MAX} characters and may not start with 'aws:'; values are <= {_TAG_VALUE_MAX}",
            )
    # strata:tags go on resources explicitly; a resource's own tag wins over a default tag, so the two
    # must agree or shared resources would be allocated to two different cost centers.
    for tag, value in tags.items():
        if tag in d.tags and d.tags[tag] != value:
            issues.add(
                path,
                f"strata:tags.{tag}",
                f"{value!r} contradicts aws:defaultTags.tags.{tag} ({d.tags[tag]!r})",
                "give both the same value (or drop it from strata:tags)",
            )


def check_budgets(o: ObservabilitySettings, teams: Sequence[Team], path: str, issues: Issues) -> None:
    """The environment budget covers every resource tagged with the environment, teams' included."""
    total = sum(t.monthly_budget_usd or 0 for t in teams)
    if total > o.monthly_budget_usd:
        issues.add(
            path,
            "strata:observability.monthlyBudgetUsd",
            f"{o.monthly_budget_usd:g} USD is less than the teams' budgets together ({total:g} USD)",
            f"raise it to >= {total:g}, or lower monthlyBudgetUsd in the team files",
        )
