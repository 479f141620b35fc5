"""Secrets Manager: secrets, their values and resource policies."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource


@resource("aws:secretsmanager/secret:Secret")
def secret(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    secret_name = physical_name(name, inputs, max_len=512)
    created = ctx.client("secretsmanager").create_secret(
        **compact(
            Name=secret_name,
            Description=inputs.get("description"),
            KmsKeyId=inputs.get("kmsKeyId"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )
    return Created(id=created["ARN"], outputs={"arn": created["ARN"], "name": secret_name}, physical_name=secret_name)


@resource("aws:secretsmanager/secretVersion:SecretVersion")
def secret_version(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    if inputs.get("secretString") is None and inputs.get("secretBinary") is None:
        raise ValueError("secretString or secretBinary is required (write-only values are not emulated)")
    put = ctx.client("secretsmanager").put_secret_value(
        **compact(SecretId=inputs["secretId"], SecretString=inputs.get("secretString"), SecretBinary=inputs.get("secretBinary"))
    )
    # The provider's id is "<secret arn>|<version id>".
    return Created(id=f"{put['ARN']}|{put['VersionId']}", outputs={"arn": put["ARN"], "versionId": put["VersionId"]})


@resource("aws:secretsmanager/secretPolicy:SecretPolicy")
def secret_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ctx.client("secretsmanager").put_resource_policy(
        **compact(
            SecretId=inputs["secretArn"], ResourcePolicy=inputs["policy"], BlockPublicPolicy=inputs.get("blockPublicPolicy")
        )
    )
    return Created(id=inputs["secretArn"])
