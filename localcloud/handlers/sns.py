"""SNS topics, topic policies and subscriptions."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (Name: up to 256 characters)
_TOPIC_NAME_MAX = 256
# Topic inputs that are CreateTopic attributes, under their API names.
_TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "policy": "Policy",
    "deliveryPolicy": "DeliveryPolicy",
    "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig",
}


@resource("aws:sns/topic:Topic")
def topic(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    if inputs.get("fifoTopic"):
        raise ValueError("FIFO topics are not emulated by the local engine (none is declared by Strata)")
    sns = ctx.client("sns")
    topic_name = physical_name(name, inputs, max_len=_TOPIC_NAME_MAX)
    attributes = {api: str(inputs[key]) for key, api in _TOPIC_ATTRIBUTES.items() if inputs.get(key) is not None}
    arn = sns.create_topic(**compact(Name=topic_name, Attributes=attributes or None, Tags=key_value_tags(inputs.get("tags"))))[
        "TopicArn"
    ]
    owner = sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Owner", ctx.account_id)
    return Created(
        id=arn,
        outputs={"arn": arn, "name": topic_name, "owner": owner, "fifoTopic": False},
        physical_name=topic_name,
    )


@resource("aws:sns/topicPolicy:TopicPolicy")
def topic_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    arn = inputs["arn"]
    with ctx.serialized(f"sns-topic-attributes:{arn}"):
        ctx.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=inputs["policy"])
    return Created(id=arn, outputs={"arn": arn, "owner": ctx.account_id})


@resource("aws:sns/topicSubscription:TopicSubscription")
def topic_subscription(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """moto confirms e-mail subscriptions at once; on AWS they stay PendingConfirmation until the
    address clicks the link SNS sends (and are deleted after 48 hours otherwise)."""
    sns = ctx.client("sns")
    attributes = {
        api: str(inputs[key]).lower() if isinstance(inputs[key], bool) else str(inputs[key])
        for key, api in (
            ("filterPolicy", "FilterPolicy"),
            ("filterPolicyScope", "FilterPolicyScope"),
            ("rawMessageDelivery", "RawMessageDelivery"),
            ("redrivePolicy", "RedrivePolicy"),
            ("deliveryPolicy", "DeliveryPolicy"),
            ("subscriptionRoleArn", "SubscriptionRoleArn"),
        )
        if inputs.get(key) is not None
    }
    arn = sns.subscribe(
        **compact(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            Attributes=attributes or None,
            ReturnSubscriptionArn=True,
        )
    )["SubscriptionArn"]
    got = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    return Created(
        id=arn,
        outputs={
            "arn": arn,
            "ownerId": got.get("Owner", ctx.account_id),
            "pendingConfirmation": got.get("PendingConfirmation") == "true",
            "confirmationWasAuthenticated": got.get("ConfirmationWasAuthenticated") == "true",
        },
    )
