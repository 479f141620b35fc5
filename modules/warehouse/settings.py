"""Derived settings of the warehouse layer: pure functions of plain values (no Pulumi import).

Log-group names, database parameters, and the ``STRATA_WAREHOUSE_*`` keys a team's profile carries for
``strata warehouse query`` (Metaflow ignores keys it does not know; checked with metaflow 2.19).
"""

from __future__ import annotations

from modules.warehouse.policies import MODES, PROVISIONED, SERVERLESS

# Audit logs: connections and authentication, changes to users, and every query before it runs.
# Exported to CloudWatch Logs in both modes (Serverless can export nowhere else), into log groups the
# program creates first so that their retention is ours, not "never expire".
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-audit-logging.html
# https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html
AUDIT_LOG_TYPES = ("connectionlog", "userlog", "useractivitylog")
LOG_DESTINATION = "cloudwatch"

# Database parameters, both modes: TLS for every connection, and the user-activity log (every query)
# that the audit logging above exports (off by default on provisioned clusters).
# https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html
DATABASE_PARAMETERS = {"require_ssl": "true", "enable_user_activity_logging": "true"}
# Every provisioned cluster version uses this parameter group family.
PARAMETER_GROUP_FAMILY = "redshift-1.0"

PROFILE_KEY_PREFIX = "STRATA_WAREHOUSE_"


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")


def audit_log_groups(mode: str, name: str) -> dict[str, str]:
    """``{log type: log group name}`` where Redshift exports a warehouse's audit logs.

    Serverless: ``/aws/redshift/<namespace>/<log type>``; provisioned: ``/aws/redshift/cluster/<cluster>/<log type>``.
    """
    _check_mode(mode)
    if not name or "/" in name:
        raise ValueError(f"not a warehouse name: {name!r}")
    base = f"/aws/redshift/{name}" if mode == SERVERLESS else f"/aws/redshift/cluster/{name}"
    return {kind: f"{base}/{kind}" for kind in AUDIT_LOG_TYPES}


def cluster_type(node_count: int) -> str:
    """``single-node`` or ``multi-node`` (the Redshift API's ClusterType)."""
    if node_count < 1:
        raise ValueError(f"a cluster has at least one node: {node_count}")
    return "single-node" if node_count == 1 else "multi-node"


def final_snapshot_identifier(cluster: str) -> str:
    """The snapshot a protected cluster takes when it is deleted."""
    return f"{cluster}-final"


def profile_keys(
    *,
    mode: str,
    region: str,
    name: str,
    database: str,
    copy_role_arn: str,
    db_user: str | None = None,
) -> dict[str, str]:
    """The ``STRATA_WAREHOUSE_*`` keys of a team's profile (read by ``strata.warehouse``).

    * ``MODE``, ``REGION``, ``DATABASE`` always;
    * serverless: ``WORKGROUP``; provisioned: ``CLUSTER`` and ``DB_USER`` (the team's database user);
    * ``COPY_ROLE_ARN``: the team's role for ``COPY ... IAM_ROLE '<arn>'`` and ``UNLOAD``.
    """
    _check_mode(mode)
    keys = {"MODE": mode, "REGION": region, "DATABASE": database, "COPY_ROLE_ARN": copy_role_arn}
    if mode == SERVERLESS:
        if db_user is not None:
            raise ValueError("a Serverless workgroup takes no database user (it is the caller's IAM identity)")
        keys["WORKGROUP"] = name
    else:
        if not db_user:
            raise ValueError("a provisioned cluster needs the team's database user")
        keys["CLUSTER"] = name
        keys["DB_USER"] = db_user
    empty = sorted(k for k, v in keys.items() if not v)
    if empty:
        raise ValueError(f"warehouse profile keys without a value: {', '.join(empty)}")
    return {PROFILE_KEY_PREFIX + k: v for k, v in keys.items()}


__all__ = [
    "AUDIT_LOG_TYPES",
    "DATABASE_PARAMETERS",
    "LOG_DESTINATION",
    "PARAMETER_GROUP_FAMILY",
    "PROFILE_KEY_PREFIX",
    "PROVISIONED",
    "SERVERLESS",
    "audit_log_groups",
    "cluster_type",
    "final_snapshot_identifier",
    "profile_keys",
]
