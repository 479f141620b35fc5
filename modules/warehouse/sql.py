"""The one-time SQL that gives each team its place inside the warehouse (pure; no Pulumi import).

IAM decides who may reach the warehouse and which S3 prefix a team's COPY/UNLOAD role reaches; what a
team sees *inside* the database is decided by SQL grants. They are not run at deploy time (they need the
admin secret, and ``CREATE ROLE`` fails when re-run): the statements below are exported as the stack output
``warehouseBootstrapSql`` and run once by a platform engineer (``modules/warehouse/README.md``, "Bootstrap"):

* nobody may use an associated IAM role unless granted (``REVOKE ASSUMEROLE ... FROM PUBLIC``);
* per team: a database role ``team_<team>`` with every privilege on the schema ``<team>``, allowed to use only the team's
  COPY/UNLOAD role; on a provisioned cluster also the user ``<team>`` (password disabled: IAM credentials
  only) holding that role. On Serverless the data scientists' sessions get the role from the
  ``RedshiftDbRoles`` tag of their IAM role.

https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html (ASSUMEROLE, ROLE)
https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html (PASSWORD DISABLE)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core import naming
from modules.warehouse.policies import MODES, PROVISIONED

# Names come from naming.warehouse_db_user/warehouse_db_role: lowercase letters, digits, '_'. Anything
# else would need quoting, and is refused instead.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,126}$")
# An IAM ARN goes inside a SQL string literal: no quote, backslash, semicolon or whitespace can reach it.
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam:[^'\"\\;\s]+$")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"not a plain SQL identifier: {value!r}")
    return value


def bootstrap_statements(mode: str, copy_role_arns: Mapping[str, str]) -> list[str]:
    """The statements, in order, for ``{team: COPY/UNLOAD role ARN}``. Run once as the admin user."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
    statements = [
        # Without this every database user may use every role associated with the warehouse.
        "REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL;",
        # Nobody creates tables in the shared public schema: each team works in its own.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
    ]
    for team in sorted(copy_role_arns):
        arn = copy_role_arns[team]
        if not _ROLE_ARN.match(arn):
            raise ValueError(f"team {team!r}: not an IAM role ARN: {arn!r}")
        schema = _identifier(naming.warehouse_db_user(team))
        role = _identifier(naming.warehouse_db_role(team))
        statements += [
            f"CREATE ROLE {role};",
            f"CREATE SCHEMA IF NOT EXISTS {schema};",
            f"GRANT ALL ON SCHEMA {schema} TO ROLE {role};",
            f"GRANT ASSUMEROLE ON '{arn}' TO ROLE {role} FOR COPY, UNLOAD;",
        ]
        if mode == PROVISIONED:
            user = _identifier(naming.warehouse_db_user(team))
            statements += [f"CREATE USER {user} PASSWORD DISABLE;", f"GRANT ROLE {role} TO {user};"]
    return statements
