"""Secrets Manager data sources (invokes): reading a secret's value at deploy time.

Kept apart from ``secretsmanager.py`` (the resources). The value is answered as a Pulumi secret, as the
provider marks ``secretString``/``secretBinary`` sensitive, so it never shows in plain state or output.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pulumi.runtime import rpc

from .registry import Ctx, compact, invoke


@invoke("aws:secretsmanager/getSecretVersion:getSecretVersion")
def get_secret_version(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """``secretId`` (name or ARN), optionally ``versionId`` or ``versionStage`` (default AWSCURRENT)."""
    stage = args.get("versionStage") or ("AWSCURRENT" if not args.get("versionId") else None)
    found = ctx.client("secretsmanager").get_secret_value(
        **compact(SecretId=args["secretId"], VersionId=args.get("versionId"), VersionStage=stage)
    )
    binary = found.get("SecretBinary")
    created = found.get("CreatedDate")
    return {
        # The provider's id: "<secret id>|<version stage or id>".
        "id": f"{args['secretId']}|{stage or found['VersionId']}",
        "arn": found["ARN"],
        "secretArn": found["ARN"],
        "secretId": args["secretId"],
        "secretString": rpc.wrap_rpc_secret(found.get("SecretString") or ""),
        "secretBinary": rpc.wrap_rpc_secret(base64.b64encode(binary).decode() if binary else ""),
        "versionId": found["VersionId"],
        "versionStage": args.get("versionStage"),
        "versionStages": found.get("VersionStages") or [],
        "createdDate": created.isoformat() if isinstance(created, datetime) else created,
        "region": ctx.region,
    }
