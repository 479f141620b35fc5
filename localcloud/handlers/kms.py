"""KMS keys and aliases."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, auto_name, compact, key_value_tags, physical_name, resource


@resource("aws:kms/key:Key")
def key(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    kms = ctx.client("kms")
    meta = kms.create_key(
        **compact(
            Description=inputs.get("description"),
            KeyUsage=inputs.get("keyUsage"),
            KeySpec=inputs.get("customerMasterKeySpec"),
            Policy=inputs.get("policy"),
            MultiRegion=inputs.get("multiRegion"),
            BypassPolicyLockoutSafetyCheck=inputs.get("bypassPolicyLockoutSafetyCheck"),
            Tags=key_value_tags(inputs.get("tags"), "TagKey", "TagValue"),
        )
    )["KeyMetadata"]
    key_id = meta["KeyId"]
    rotation = bool(inputs.get("enableKeyRotation"))
    if rotation:
        kms.enable_key_rotation(**compact(KeyId=key_id, RotationPeriodInDays=inputs.get("rotationPeriodInDays")))
    if inputs.get("isEnabled") is False:
        kms.disable_key(KeyId=key_id)
    return Created(
        id=key_id,
        outputs={
            "arn": meta["Arn"],
            "keyId": key_id,
            "keyUsage": meta.get("KeyUsage", inputs.get("keyUsage", "ENCRYPT_DECRYPT")),
            "customerMasterKeySpec": meta["KeySpec"],
            "multiRegion": meta.get("MultiRegion", False),
            "isEnabled": inputs.get("isEnabled", True),
            "enableKeyRotation": rotation,
            "policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
        },
    )


@resource("aws:kms/alias:Alias")
def alias(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    kms = ctx.client("kms")
    # Pulumi auto-names an alias "alias/<logical name>-<suffix>" (the name must start with "alias/").
    alias_name = inputs.get("name") or (
        physical_name(name, inputs) if inputs.get("namePrefix") else "alias/" + auto_name(name, max_len=250)
    )
    kms.create_alias(AliasName=alias_name, TargetKeyId=inputs["targetKeyId"])
    target = kms.describe_key(KeyId=inputs["targetKeyId"])["KeyMetadata"]
    return Created(
        id=alias_name,
        outputs={
            "name": alias_name,
            "arn": ctx.arn("kms", alias_name),
            "targetKeyArn": target["Arn"],
        },
        physical_name=alias_name,
    )
