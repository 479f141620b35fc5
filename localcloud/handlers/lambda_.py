"""Lambda: functions (created from their inline archive; moto runs none without Docker) and permissions."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from .registry import Created, Ctx, compact, physical_name, resource


def _zip(archive: Any) -> bytes:
    """The deployment package of an ``AssetArchive`` of ``StringAsset``/``FileAsset`` entries."""
    assets = getattr(archive, "assets", None)
    if not isinstance(assets, dict):
        raise ValueError("only an AssetArchive of string or file assets is emulated as function code")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, asset in sorted(assets.items()):
            if getattr(asset, "text", None) is not None:
                zf.writestr(path, asset.text)
            elif getattr(asset, "path", None):
                zf.write(asset.path, path)
            else:
                raise ValueError(f"asset {path!r} is neither a string nor a file asset")
    return buf.getvalue()


@resource("aws:lambda/function:Function")
def function(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    fn_name = physical_name(name, inputs, max_len=64)
    env = (inputs.get("environment") or {}).get("variables")
    created = ctx.client("lambda").create_function(
        **compact(
            FunctionName=fn_name,
            Runtime=inputs.get("runtime"),
            Role=inputs["role"],
            Handler=inputs.get("handler"),
            Code={"ZipFile": _zip(inputs["code"])},
            MemorySize=inputs.get("memorySize"),
            Timeout=inputs.get("timeout"),
            Architectures=inputs.get("architectures"),
            Environment={"Variables": env} if env else None,
            Tags=inputs.get("tags"),
        )
    )
    arn = created["FunctionArn"]
    invoke_arn = f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return Created(
        id=fn_name,
        outputs={
            "arn": arn,
            "name": fn_name,
            "invokeArn": invoke_arn,
            "qualifiedArn": f"{arn}:{created.get('Version', '$LATEST')}",
        },
        physical_name=fn_name,
    )


@resource("aws:lambda/permission:Permission")
def permission(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    statement_id = inputs.get("statementId") or physical_name(
        name, inputs, key="statementId", prefix_key="statementIdPrefix", max_len=100
    )
    ctx.client("lambda").add_permission(
        **compact(
            FunctionName=inputs["function"],
            StatementId=statement_id,
            Action=inputs["action"],
            Principal=inputs["principal"],
            SourceArn=inputs.get("sourceArn"),
        )
    )
    return Created(id=statement_id, outputs={"statementId": statement_id})
