"""IAM documents of the warehouse layer, as plain dicts.

Pure functions of plain strings (no Pulumi import), unit-tested in ``tests/unit/test_warehouse_policies.py``.

Two kinds of access, both per team:

* **COPY/UNLOAD** — Redshift itself assumes a team's role ``strata-<env>-<team>-warehouse``. Its permissions
  are the team's datastore prefix (the same statements as the team's Batch job role); its trust policy
  admits only the Redshift service principals, and only for the team's own database user (``sts:ExternalId``
  = that user's ``dbuser`` ARN, which Redshift passes when it assumes the role).
  https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service-database-users.html
* **The Data API** — the team's data-scientist role may get temporary credentials for its own database user
  only, run statements on this warehouse only, and read or cancel only the statements it started itself.
  https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-iam.html
"""

from __future__ import annotations

from collections.abc import Sequence

from core.iam import VERSION, PolicyDocument, Statement, concrete, require_arn, team_data_statements

SERVERLESS = "serverless"
PROVISIONED = "provisioned"
MODES = (SERVERLESS, PROVISIONED)

# Redshift Serverless assumes a namespace's roles as either principal; AWS asks for both in the trust policy.
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-security-other-services.html
REDSHIFT_SERVICES = ("redshift.amazonaws.com", "redshift-serverless.amazonaws.com")
# The prefix Redshift Serverless gives the database user of an IAM role's session (``IAMR:<role name>``).
# https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-iam.html
IAM_ROLE_USER_PREFIX = "IAMR:"
# The principal tag that maps an IAM identity to database roles when it signs in to Redshift Serverless
# with IAM credentials (colon-separated role names).
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-iam-credentials-use-case.html
DB_ROLES_TAG = "RedshiftDbRoles"
# Statement ids are not IAM resources: Describe/Get/Cancel must name "*", and AWS's own Data API policies
# confine them to the caller's statements with this condition (per IAM session: ``aws:userid`` is
# ``<role id>:<session name>`` for an assumed role).
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftdataapi.html
STATEMENT_OWNER_KEY = "redshift-data:statement-owner-iam-userid"
OWN_STATEMENT_ACTIONS = (
    "redshift-data:CancelStatement",
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")


def redshift_arn(partition: str, region: str, account_id: str, resource: str) -> str:
    """``arn:<partition>:redshift:<region>:<account>:<resource>`` (clusters, dbuser, dbname, dbgroup)."""
    for what, value in (("partition", partition), ("region", region), ("account_id", account_id)):
        concrete(what, value)
    return f"arn:{partition}:redshift:{region}:{account_id}:{resource}"


def db_user_arn(partition: str, region: str, account_id: str, warehouse: str, user: str) -> str:
    """A database user of a cluster (``dbuser:<cluster>/<user>``) or of a Serverless workgroup
    (``dbuser:<workgroup>/<user>``: the service is ``redshift`` for both)."""
    return redshift_arn(partition, region, account_id, f"dbuser:{concrete('warehouse', warehouse)}/{concrete('user', user)}")


def db_name_arn(partition: str, region: str, account_id: str, cluster: str, database: str) -> str:
    return redshift_arn(partition, region, account_id, f"dbname:{concrete('cluster', cluster)}/{concrete('database', database)}")


def team_db_user(mode: str, *, provisioned_user: str, data_scientist_role_name: str) -> str:
    """The database user a team's data scientists are in the warehouse.

    Provisioned: the fixed user ``provisioned_user`` (``GetClusterCredentials`` with ``DbUser``).
    Serverless: ``IAMR:<data-scientist role name>``, derived by AWS from the caller's IAM identity
    (``redshift-serverless:GetCredentials`` takes no user name, so no team can pick another's)."""
    _check_mode(mode)
    if mode == PROVISIONED:
        return concrete("provisioned_user", provisioned_user)
    return IAM_ROLE_USER_PREFIX + concrete("data_scientist_role_name", data_scientist_role_name)


def copy_unload_trust_policy(db_user_arns: Sequence[str]) -> PolicyDocument:
    """Trust policy of a team's COPY/UNLOAD role: Redshift may assume it only on behalf of ``db_user_arns``.

    Without the condition, every role associated with a warehouse is usable by every database user of
    that warehouse (AWS: "By default, IAM roles that are available to an Amazon Redshift cluster are
    available to all users on that cluster")."""
    if not db_user_arns:
        raise ValueError("a COPY/UNLOAD role is restricted to at least one database user")
    for arn in db_user_arns:
        require_arn("db_user_arns", arn)
        if ":dbuser:" not in arn:
            raise ValueError(f"db_user_arns must be dbuser ARNs: {arn!r}")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "RedshiftForTeamUserOnly",
                "Effect": "Allow",
                "Principal": {"Service": list(REDSHIFT_SERVICES)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": sorted(set(db_user_arns))}},
            }
        ],
    }


def copy_unload_policy(bucket_arn: str, team_prefix: str, kms_key_arn: str, *, kms_via_service: str) -> PolicyDocument:
    """Permissions of a team's COPY/UNLOAD role: the team's datastore prefix and nothing else.

    The same statements as the team's Batch job role (``core.iam.team_data_statements``):
    list/read/write under ``teams/<team>/``, and the datastore key through S3 only (``kms:ViaService``).
    UNLOAD therefore relies on the bucket's default SSE-KMS encryption; ``UNLOAD ... KMS_KEY_ID`` (Redshift
    calling KMS itself) is refused."""
    return {
        "Version": VERSION,
        "Statement": team_data_statements(bucket_arn, team_prefix, kms_key_arn, kms_via_service=kms_via_service),
    }


def data_api_statements(
    *,
    mode: str,
    partition: str,
    region: str,
    account_id: str,
    warehouse_arn: str,
    warehouse_name: str,
    database: str,
    db_user: str | None = None,
) -> list[Statement]:
    """Statements for a team's data-scientist role: the Data API on this warehouse, as the team only.

    * provisioned: ``redshift:GetClusterCredentials`` for the team's ``dbuser`` and the one database (no
      ``CreateClusterUser``/``JoinGroup``: denied explicitly, so no other policy can let the role create
      users or join groups); ``ExecuteStatement`` on the cluster.
    * serverless: ``redshift-serverless:GetCredentials`` and ``ExecuteStatement`` on the workgroup; the
      database user is the caller's own IAM identity.
    * both: Describe/GetResult/Cancel on ``"*"`` (statements are not IAM resources), only for statements
      the caller started (``redshift-data:statement-owner-iam-userid`` = ``${aws:userid}``).
    """
    _check_mode(mode)
    require_arn("warehouse_arn", warehouse_arn)
    concrete("database", database)
    run = {
        "Sid": "WarehouseRunStatements",
        "Effect": "Allow",
        "Action": "redshift-data:ExecuteStatement",
        "Resource": warehouse_arn,
    }
    if mode == PROVISIONED:
        if db_user is None:
            raise ValueError("a provisioned warehouse needs the team's db_user")
        credentials: list[Statement] = [
            {
                "Sid": "WarehouseCredentialsOwnUser",
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [
                    db_user_arn(partition, region, account_id, warehouse_name, db_user),
                    db_name_arn(partition, region, account_id, warehouse_name, database),
                ],
            },
            {
                # The Data API's own managed policy denies CreateClusterUser the same way: the team's user
                # is created once by the platform (modules/warehouse/sql.py), never on the fly.
                "Sid": "WarehouseNoUserOrGroupChanges",
                "Effect": "Deny",
                "Action": ["redshift:CreateClusterUser", "redshift:JoinGroup"],
                "Resource": [
                    redshift_arn(partition, region, account_id, f"dbuser:{warehouse_name}/*"),
                    redshift_arn(partition, region, account_id, f"dbgroup:{warehouse_name}/*"),
                ],
            },
        ]
    else:
        if db_user is not None:
            raise ValueError("a Serverless warehouse derives the database user from the IAM identity; pass no db_user")
        credentials = [
            {
                "Sid": "WarehouseCredentialsOwnIdentity",
                "Effect": "Allow",
                "Action": "redshift-serverless:GetCredentials",
                "Resource": warehouse_arn,
            }
        ]
    own = {
        "Sid": "WarehouseOwnStatementsOnly",
        "Effect": "Allow",
        "Action": list(OWN_STATEMENT_ACTIONS),
        # Statement ids are not IAM resources; the condition limits these to the caller's own statements.
        "Resource": "*",
        "Condition": {"StringEquals": {STATEMENT_OWNER_KEY: "${aws:userid}"}},
    }
    return [*credentials, run, own]


def data_scientist_role_tags(mode: str, db_role: str) -> dict[str, str]:
    """Tags for a team's data-scientist role: on Serverless, ``RedshiftDbRoles`` gives its sessions the
    team's database role (which holds the team's schema and COPY/UNLOAD grant); nothing on provisioned,
    where the team's fixed user is granted the role once."""
    _check_mode(mode)
    if mode == PROVISIONED:
        return {}
    return {DB_ROLES_TAG: concrete("db_role", db_role)}
