"""AWS Budgets (cost and usage budgets with e-mail/SNS notifications)."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html
_BUDGET_NAME_MAX = 100


@resource("aws:budgets/budget:Budget")
def budget(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """moto stores the budget and its notifications; it keeps no ``ResourceTags`` (so a budget's tags
    cannot be read back from moto) and has no API to list a notification's subscribers."""
    if inputs.get("filterExpression") or inputs.get("plannedLimits") or inputs.get("autoAdjustData"):
        raise ValueError("filter expressions, planned limits and auto-adjusting budgets are not emulated (unused by Strata)")
    account_id = inputs.get("accountId") or ctx.account_id
    budget_name = physical_name(name, inputs, max_len=_BUDGET_NAME_MAX)
    if ":" in budget_name or "\\" in budget_name:
        raise ValueError(f"budget name {budget_name!r}: ':' and '\\' are not allowed")
    filters: dict[str, list[str]] = {}
    for f in inputs.get("costFilters") or []:
        filters.setdefault(f["name"], []).extend(f["values"])
    spec = compact(
        BudgetName=budget_name,
        BudgetType=inputs["budgetType"],
        TimeUnit=inputs["timeUnit"],
        BudgetLimit={"Amount": str(inputs["limitAmount"]), "Unit": inputs.get("limitUnit", "USD")}
        if inputs.get("limitAmount") is not None
        else None,
        CostFilters=filters or None,
    )
    notifications = []
    for n in inputs.get("notifications") or []:
        subscribers = [{"SubscriptionType": "EMAIL", "Address": a} for a in n.get("subscriberEmailAddresses") or []]
        subscribers += [{"SubscriptionType": "SNS", "Address": a} for a in n.get("subscriberSnsTopicArns") or []]
        if not subscribers:
            raise ValueError("a budget notification needs at least one subscriber")
        notifications.append(
            {
                "Notification": {
                    "NotificationType": n["notificationType"],
                    "ComparisonOperator": n["comparisonOperator"],
                    "Threshold": float(n["threshold"]),
                    "ThresholdType": n.get("thresholdType", "PERCENTAGE"),
                },
                "Subscribers": subscribers,
            }
        )
    ctx.client("budgets").create_budget(
        **compact(
            AccountId=account_id,
            Budget=spec,
            NotificationsWithSubscribers=notifications or None,
            ResourceTags=key_value_tags(inputs.get("tags")),
        )
    )
    arn = f"arn:aws:budgets::{account_id}:budget/{budget_name}"
    return Created(
        id=f"{account_id}:{budget_name}",
        outputs={"arn": arn, "name": budget_name, "accountId": account_id},
        physical_name=budget_name,
    )
