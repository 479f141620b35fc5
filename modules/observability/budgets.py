"""AWS Budgets of an environment: one per team and one for the whole environment. Pure: no Pulumi.

A budget is filtered by a cost-allocation tag (``user:<key>$<value>``,
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html, CostFilters
``TagKeyValue``). Two things must be true on AWS before the filter matches anything:

1. the tag key is **activated** as a cost-allocation tag in the payer account (``Observability`` does it
   where ``activateCostAllocationTags`` is on), and
2. the spend was **tagged when it happened** — activation is not retroactive.

Until then a tag-filtered budget sees $0 and never alerts. Budgets themselves are free (standard
budgets, no actions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import naming

# Alert at 80% and 100% of the actual spend, and when the forecast for the month passes 100%.
THRESHOLDS: tuple[tuple[str, float], ...] = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))
# "A notification can have one SNS subscriber and up to 10 email subscribers":
# https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_NotificationWithSubscribers.html
# (the settings enforce it: modules/team/settings.py on contacts, modules/observability/settings.py on alertEmails).
MAX_EMAIL_SUBSCRIBERS = 10


@dataclass(frozen=True)
class BudgetSpec:
    key: str
    """Logical-name suffix: the team's name, or ``environment``."""
    name: str
    amount_usd: float
    tag_key: str
    tag_value: str
    emails: tuple[str, ...]
    team: str | None = None

    @property
    def tag_filter(self) -> str:
        return f"user:{self.tag_key}${self.tag_value}"

    @property
    def limit_amount(self) -> str:
        """The amount as the Budgets API takes it (a decimal string, no exponent)."""
        return f"{self.amount_usd:.2f}"


def budget_specs(
    environment: str,
    environment_budget_usd: float,
    alert_emails: Sequence[str],
    teams: Sequence[tuple[str, float, Sequence[str]]],
) -> list[BudgetSpec]:
    """``teams``: ``(team, monthly budget in USD, contacts)`` of each team in the environment."""
    specs = [
        BudgetSpec(
            key="environment",
            name=naming.environment_budget(environment),
            amount_usd=environment_budget_usd,
            tag_key="environment",
            tag_value=environment,
            emails=tuple(alert_emails),
        )
    ]
    for team, amount, contacts in teams:
        specs.append(
            BudgetSpec(
                key=team,
                name=naming.team_budget(environment, team),
                amount_usd=amount,
                tag_key="team",
                tag_value=team,
                emails=tuple(contacts),
                team=team,
            )
        )
    for spec in specs:
        if spec.amount_usd <= 0:
            raise ValueError(f"budget {spec.name}: the amount must be > 0, got {spec.amount_usd}")
        if not 1 <= len(spec.emails) <= MAX_EMAIL_SUBSCRIBERS:
            raise ValueError(f"budget {spec.name}: 1-{MAX_EMAIL_SUBSCRIBERS} e-mail subscribers, got {len(spec.emails)}")
    return specs


def notifications(emails: Sequence[str]) -> list[dict[str, Any]]:
    """The budget's notifications (pulumi-aws ``BudgetNotificationArgs`` fields, snake_case)."""
    return [
        {
            "comparison_operator": "GREATER_THAN",
            "threshold": threshold,
            "threshold_type": "PERCENTAGE",
            "notification_type": kind,
            "subscriber_email_addresses": sorted(emails),
        }
        for kind, threshold in THRESHOLDS
    ]
