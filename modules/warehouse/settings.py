"""``strata:warehouse``: the warehouse layer's settings, the checks that span their fields, and the settings
derived from them. Pure (the core and pydantic; no Pulumi import).

* :class:`WarehouseSettings` and :func:`check_warehouse` (Redshift's limits, the production rules); the
  loader (``infra/config.py``) checks what spans layers (a Serverless workgroup's Availability Zones
  against ``strata:network``).
* Derived settings: log-group names, database parameters, and the ``STRATA_WAREHOUSE_*`` keys a team's
  profile carries for ``strata warehouse query`` (Metaflow ignores keys it does not know; checked with
  metaflow 2.19).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field

from core.issues import Issues
from core.settings import Model, Team, check_log_retention
from modules.warehouse.policies import MODES, PROVISIONED, SERVERLESS


class WarehouseMode(StrEnum):
    """Redshift Serverless (billed only while queries run) or a provisioned cluster (billed every hour).

    * ``serverless``: a namespace + workgroup. Idle cost is storage only ($0.024/GB-month) plus the admin
      secret ($0.40/month); compute is $0.375 per RPU-hour while queries run (60 s minimum).
    * ``provisioned``: a cluster of ``nodeCount`` x ``nodeType`` nodes, billed around the clock
      (ra3.xlplus $792.78/month a node). The ``local`` stack uses it: moto has no Serverless backend.
    """

    SERVERLESS = "serverless"
    PROVISIONED = "provisioned"


# Redshift Serverless base capacity: 4 RPU, or 8 to 512 in steps of 8; 512 to 1024 in steps of 32 only
# in the regions listed. https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html
SERVERLESS_MIN_BASE_CAPACITY = 4
SERVERLESS_EXTENDED_CAPACITY_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
# A workgroup needs subnets in three Availability Zones (us-west-1: three subnets in two AZs).
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html
SERVERLESS_MIN_AZS = 3
# IAM roles associated with one cluster or namespace (Strata associates one COPY/UNLOAD role per team).
# https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html
REDSHIFT_MAX_IAM_ROLES = 50
# Node types a provisioned cluster may use. DC2 was deprecated in April 2025 (RA3 or Serverless instead).
REDSHIFT_NODE_TYPES = ("ra3.large", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge", "dc2.large", "dc2.8xlarge")
# Automated snapshots a production cluster keeps at least (days).
PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS = 7
# ddd:hh24:mi-ddd:hh24:mi (UTC), at least 30 minutes.
MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WarehouseSettings(Model):
    """``strata:warehouse``: the Redshift warehouse (modules/warehouse)."""

    enabled: bool = True
    mode: WarehouseMode = WarehouseMode.SERVERLESS
    # Serverless: RPUs a query starts with (see SERVERLESS_* above). Billed only while queries run.
    base_capacity: int = 8
    # Provisioned only.
    node_type: str = "ra3.xlplus"
    node_count: int = Field(default=1, ge=1, le=128)
    # Provisioned: automated snapshots kept (1-35 days; 0, which turns them off, is refused).
    # Serverless keeps its own recovery points (every 30 minutes, for 24 hours) and ignores it.
    snapshot_retention_days: int = Field(default=7, ge=1, le=35)
    # Provisioned: weekly maintenance window, UTC (Serverless has none).
    maintenance_window: str = "sun:05:00-sun:05:30"
    # Audit logs (connections, user changes, every query) in CloudWatch; one of LOG_RETENTION_DAYS.
    audit_log_retention_days: int = 365


# ---------------------------------------------------------------- checks


def check_warehouse(
    w: WarehouseSettings, *, teams: Sequence[Team], production: bool, region: str, path: str, issues: Issues
) -> None:
    """``strata:warehouse`` against Redshift's limits (one COPY/UNLOAD role per team, the capacities a
    Serverless workgroup takes in ``region``) and the production rules."""
    if not w.enabled:
        return
    key = "strata:warehouse"
    check_log_retention(w.audit_log_retention_days, path, f"{key}.auditLogRetentionDays", issues)
    if len(teams) > REDSHIFT_MAX_IAM_ROLES:
        issues.add(
            path,
            "(teams)",
            f"{len(teams)} teams need {len(teams)} COPY/UNLOAD roles; Redshift associates at most "
            f"{REDSHIFT_MAX_IAM_ROLES} IAM roles with one warehouse",
            "split the teams across environments (stacks), or set strata:warehouse.enabled: false",
        )
    if w.mode is WarehouseMode.SERVERLESS:
        _check_serverless(w, region, path, issues)
        return
    if w.node_type not in REDSHIFT_NODE_TYPES:
        issues.add(
            path,
            f"{key}.nodeType",
            f"{w.node_type!r} is not a Redshift node type",
            f"use one of {', '.join(REDSHIFT_NODE_TYPES)}",
        )
    if production and w.snapshot_retention_days < PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS:
        issues.add(
            path,
            f"{key}.snapshotRetentionDays",
            f"a production warehouse keeps automated snapshots >= {PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS} days, got {w.snapshot_retention_days}",
            f"set snapshotRetentionDays: {PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS} or more (up to 35)",
        )
    match = MAINTENANCE_WINDOW.match(w.maintenance_window)
    if match is None:
        issues.add(
            path,
            f"{key}.maintenanceWindow",
            f"{w.maintenance_window!r} is not a maintenance window",
            "use ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. 'sun:05:00-sun:05:30'",
        )
    else:
        d1, h1, m1, d2, h2, m2 = match.groups()
        start = _DAYS.index(d1) * 1440 + int(h1) * 60 + int(m1)
        end = _DAYS.index(d2) * 1440 + int(h2) * 60 + int(m2)
        if (end - start) % (7 * 1440) < 30:
            issues.add(
                path,
                f"{key}.maintenanceWindow",
                f"{w.maintenance_window!r} is shorter than Redshift's 30 minutes",
                "make the window at least 30 minutes long",
            )


def _check_serverless(w: WarehouseSettings, region: str, path: str, issues: Issues) -> None:
    key = "strata:warehouse"
    rpu = w.base_capacity
    extended = region in SERVERLESS_EXTENDED_CAPACITY_REGIONS
    if not (
        rpu == SERVERLESS_MIN_BASE_CAPACITY
        or (8 <= rpu <= 512 and rpu % 8 == 0)
        or (extended and 512 < rpu <= 1024 and rpu % 32 == 0)
    ):
        top = (
            "1024 (steps of 32 above 512)"
            if extended
            else f"512 (1024 only in {', '.join(SERVERLESS_EXTENDED_CAPACITY_REGIONS)})"
        )
        issues.add(
            path,
            f"{key}.baseCapacity",
            f"{rpu} RPU is not a Redshift Serverless base capacity",
            f"use 4, or a multiple of 8 from 8 up to {top}",
        )


# ---------------------------------------------------------------- derived settings


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
    "MAINTENANCE_WINDOW",
    "PARAMETER_GROUP_FAMILY",
    "PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS",
    "PROFILE_KEY_PREFIX",
    "PROVISIONED",
    "REDSHIFT_MAX_IAM_ROLES",
    "REDSHIFT_NODE_TYPES",
    "SERVERLESS",
    "SERVERLESS_EXTENDED_CAPACITY_REGIONS",
    "SERVERLESS_MIN_AZS",
    "SERVERLESS_MIN_BASE_CAPACITY",
    "WarehouseMode",
    "WarehouseSettings",
    "audit_log_groups",
    "check_warehouse",
    "cluster_type",
    "final_snapshot_identifier",
    "profile_keys",
]
