"""EventBridge rules and targets (pulumi-aws keeps them under ``aws:cloudwatch/``)."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, pascal_keys, physical_name, resource

# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (Name: 1-64 characters)
_RULE_NAME_MAX = 64
_DEFAULT_BUS = "default"


@resource("aws:cloudwatch/eventRule:EventRule")
def event_rule(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    events = ctx.client("events")
    rule_name = physical_name(name, inputs, max_len=_RULE_NAME_MAX)
    bus = inputs.get("eventBusName") or _DEFAULT_BUS
    state = inputs.get("state") or ("DISABLED" if inputs.get("isEnabled") is False else "ENABLED")
    arn = events.put_rule(
        **compact(
            Name=rule_name,
            EventPattern=inputs.get("eventPattern"),
            ScheduleExpression=inputs.get("scheduleExpression"),
            State=state,
            Description=inputs.get("description"),
            RoleArn=inputs.get("roleArn"),
            EventBusName=bus,
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["RuleArn"]
    # The provider's id is the rule name on the default bus, "<bus>/<name>" on a custom one.
    rule_id = rule_name if bus == _DEFAULT_BUS else f"{bus}/{rule_name}"
    return Created(
        id=rule_id,
        outputs={"arn": arn, "name": rule_name, "eventBusName": bus, "state": state},
        physical_name=rule_name,
    )


@resource("aws:cloudwatch/eventTarget:EventTarget")
def event_target(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    for unsupported in ("ecsTarget", "batchTarget", "kinesisTarget", "sqsTarget", "httpTarget", "runCommandTargets"):
        if inputs.get(unsupported):
            raise ValueError(f"{unsupported} is not emulated by the local engine (no Strata target uses it)")
    target_id = inputs.get("targetId") or name
    bus = inputs.get("eventBusName") or _DEFAULT_BUS
    transformer = inputs.get("inputTransformer")
    target = compact(
        Id=target_id,
        Arn=inputs["arn"],
        RoleArn=inputs.get("roleArn"),
        Input=inputs.get("input"),
        InputPath=inputs.get("inputPath"),
        # Not pascal_keys: the input paths' own keys (the template's <placeholders>) must stay as they are.
        InputTransformer=compact(InputPathsMap=transformer.get("inputPaths"), InputTemplate=transformer["inputTemplate"])
        if transformer
        else None,
        RetryPolicy=pascal_keys(inputs["retryPolicy"]) if inputs.get("retryPolicy") else None,
        DeadLetterConfig=pascal_keys(inputs["deadLetterConfig"]) if inputs.get("deadLetterConfig") else None,
    )
    failed = ctx.client("events").put_targets(Rule=inputs["rule"], EventBusName=bus, Targets=[target])
    if failed.get("FailedEntryCount"):
        raise ValueError(f"PutTargets refused the target: {failed['FailedEntries']}")
    # The provider's id: "<bus>/<rule>/<target id>" (the bus part only on a custom bus).
    prefix = "" if bus == _DEFAULT_BUS else f"{bus}/"
    return Created(id=f"{prefix}{inputs['rule']}-{target_id}", outputs={"targetId": target_id})
