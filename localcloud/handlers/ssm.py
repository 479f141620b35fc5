"""SSM Parameter Store parameters."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, invoke, key_value_tags, physical_name, resource

# The key SSM uses for a SecureString when none is named.
_DEFAULT_SECURE_STRING_KEY = "alias/aws/ssm"


def parameter_arn(ctx: Ctx, parameter_name: str) -> str:
    """``parameter/a/b`` for ``/a/b`` and ``parameter/a`` for ``a``: the ARN never doubles the slash."""
    return ctx.arn("ssm", "parameter/" + parameter_name.lstrip("/"))


@resource("aws:ssm/parameter:Parameter")
def parameter(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ssm = ctx.client("ssm")
    parameter_name = physical_name(name, inputs, max_len=2048)
    value = inputs.get("value", inputs.get("insecureValue"))
    if value is None:
        raise ValueError("one of value or insecureValue is required (write-only valueWo is not emulated)")
    kind = inputs["type"]
    key_id = inputs.get("keyId") or (_DEFAULT_SECURE_STRING_KEY if kind == "SecureString" else None)
    version = ssm.put_parameter(
        **compact(
            Name=parameter_name,
            Value=value,
            Type=kind,
            Description=inputs.get("description"),
            KeyId=inputs.get("keyId"),
            Tier=inputs.get("tier"),
            AllowedPattern=inputs.get("allowedPattern"),
            DataType=inputs.get("dataType"),
            Overwrite=inputs.get("overwrite"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["Version"]
    return Created(
        id=parameter_name,
        outputs=compact(
            name=parameter_name,
            arn=parameter_arn(ctx, parameter_name),
            version=version,
            tier=inputs.get("tier", "Standard"),
            dataType=inputs.get("dataType", "text"),
            keyId=key_id,
        ),
        physical_name=parameter_name,
    )


@invoke("aws:ssm/getParameter:getParameter")
def get_parameter(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    found = ctx.client("ssm").get_parameter(Name=args["name"], WithDecryption=args.get("withDecryption", True))
    param = found["Parameter"]
    return {
        "id": param["Name"],
        "name": param["Name"],
        "arn": param["ARN"],
        "type": param["Type"],
        "value": param["Value"],
        "insecureValue": param["Value"] if param["Type"] != "SecureString" else None,
        "version": param["Version"],
        "withDecryption": args.get("withDecryption", True),
    }
