"""Application Auto Scaling: scalable targets and scaling policies."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, pascal_keys, physical_name, resource


@resource("aws:appautoscaling/target:Target")
def target(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    client = ctx.client("application-autoscaling")
    client.register_scalable_target(
        ServiceNamespace=inputs["serviceNamespace"],
        ResourceId=inputs["resourceId"],
        ScalableDimension=inputs["scalableDimension"],
        MinCapacity=inputs["minCapacity"],
        MaxCapacity=inputs["maxCapacity"],
    )
    found = client.describe_scalable_targets(ServiceNamespace=inputs["serviceNamespace"], ResourceIds=[inputs["resourceId"]])
    arn = next((t.get("ScalableTargetARN") for t in found["ScalableTargets"]), None)
    return Created(id=inputs["resourceId"], outputs=compact(arn=arn))


@resource("aws:appautoscaling/policy:Policy")
def policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    policy_name = physical_name(name, inputs, max_len=256)
    tracking = inputs.get("targetTrackingScalingPolicyConfiguration")
    created = ctx.client("application-autoscaling").put_scaling_policy(
        **compact(
            PolicyName=policy_name,
            ServiceNamespace=inputs["serviceNamespace"],
            ResourceId=inputs["resourceId"],
            ScalableDimension=inputs["scalableDimension"],
            PolicyType=inputs.get("policyType"),
            TargetTrackingScalingPolicyConfiguration=pascal_keys(tracking) if tracking else None,
        )
    )
    return Created(id=policy_name, outputs={"arn": created["PolicyARN"], "name": policy_name}, physical_name=policy_name)
