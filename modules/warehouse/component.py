"""The warehouse layer: Redshift Serverless (default) or a provisioned cluster, private and encrypted with the
platform key, one COPY/UNLOAD role per team scoped to that team's datastore prefix, audit logs in
CloudWatch, and what each team's data-scientist role needs to use the Data API as that team only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from core import iam, naming
from core.settings import Team
from modules.base import Component, LayerArgs, LogKeyArgs, ProtectArgs
from modules.warehouse import policies, settings, sql

# Any IPv4 destination, HTTPS only: with enhanced VPC routing COPY/UNLOAD traffic to S3 leaves through the
# VPC (the S3 gateway endpoint's routes), so the security group must let it out.
ANY_IPV4 = "0.0.0.0/0"
HTTPS = 443


@dataclass
class WarehouseArgs(LayerArgs, ProtectArgs, LogKeyArgs):
    """Inputs of :class:`Warehouse`. ``environment`` is part of every physical name (``naming.warehouse_name``);
    ``protect`` covers the cluster (or namespace and workgroup) and leaves a final snapshot when a cluster is
    deleted; ``log_kms_key_arn`` encrypts the audit log groups; team roles add ``team`` and ``cost-center``
    to ``tags``."""

    settings: settings.WarehouseSettings
    """``strata:warehouse``: mode, capacity or nodes, snapshots, maintenance window, audit-log retention.
    ``enabled`` must be true (the program declares no Warehouse otherwise)."""
    teams: Sequence[Team]
    """Every team of the environment: each gets a COPY/UNLOAD role and Data API access (at most 50)."""
    vpc_id: pulumi.Input[str]
    """The VPC of the warehouse's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets (``Network.private_subnet_ids``). Serverless needs them in 3 AZs (validated in config)."""
    bucket_arn: pulumi.Input[str]
    """The datastore bucket: each team's COPY/UNLOAD role reaches ``naming.team_prefix(team)`` in it only."""
    kms_key_arn: pulumi.Input[str]
    """The platform key: encrypts the warehouse, its snapshots and the admin secret."""


@dataclass
class WarehouseAccess:
    """What a team's data-scientist role gets from the warehouse; the program hands both to the team
    (``TeamArgs.extra_statements`` and ``TeamArgs.role_tags``)."""

    statements: pulumi.Output[list[iam.Statement]]
    """IAM statements: Data API on this warehouse as the team's own database user only."""
    role_tags: dict[str, str]
    """Tags the data-scientist role must carry (Serverless: ``RedshiftDbRoles``, the team's database role)."""


class Warehouse(Component):
    """Redshift with per-team COPY/UNLOAD roles and per-team Data API access."""

    mode: str
    name: str
    database: str
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str | None]
    admin_secret_arn: pulumi.Output[str | None]
    security_group_id: pulumi.Output[str]
    copy_role_arns: dict[str, pulumi.Output[str]]
    team_access: dict[str, WarehouseAccess]
    audit_log_groups: dict[str, str]
    bootstrap_sql: pulumi.Output[list[str]]

    def __init__(self, name: str, args: WarehouseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:warehouse:Warehouse", name, None, opts)
        _check(name, args)
        s = args.settings
        env = args.environment
        self._name = name
        self._tags = dict(args.tags)
        self.mode = str(s.mode)
        self.name = naming.warehouse_name(env)
        self.database = naming.WAREHOUSE_DATABASE
        self.audit_log_groups = settings.audit_log_groups(self.mode, self.name)

        where = self._aws.where

        # Nothing connects in: the Data API and the query editor reach the warehouse through AWS, not
        # through this group. Out: HTTPS only (COPY/UNLOAD to S3 through the VPC, enhanced VPC routing).
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"Strata {env} warehouse: no ingress, HTTPS egress",
            tags=self._tags,
            opts=self._child(),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-sg-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4=ANY_IPV4,
            description="COPY/UNLOAD to S3 (gateway endpoint) and AWS APIs",
            tags=self._tags,
            opts=self._child(),
        )

        roles = {team.name: self._copy_unload_role(team, args, where) for team in args.teams}
        self.copy_role_arns = {team: role.arn for team, role in roles.items()}
        role_arns = [roles[t.name].arn for t in args.teams]
        log_groups = self._audit_log_groups(s.audit_log_retention_days, args.log_kms_key_arn)

        if s.mode is settings.WarehouseMode.SERVERLESS:
            self._serverless(args, sg, role_arns, log_groups)
        else:
            self._provisioned(args, sg, role_arns, log_groups)

        self.security_group_id = sg.id
        self.team_access = {team.name: self._team_access(team, where) for team in args.teams}
        teams = [t.name for t in args.teams]
        self.bootstrap_sql = pulumi.Output.all(*role_arns).apply(
            lambda arns: sql.bootstrap_statements(self.mode, dict(zip(teams, arns, strict=True)))
        )
        self.register_outputs(
            {
                "mode": self.mode,
                "name": self.name,
                "database": self.database,
                "arn": self.arn,
                "endpoint": self.endpoint,
                "admin_secret_arn": self.admin_secret_arn,
                "security_group_id": self.security_group_id,
                "copy_role_arns": self.copy_role_arns,
                "audit_log_groups": self.audit_log_groups,
                "bootstrap_sql": self.bootstrap_sql,
            }
        )

    # ------------------------------------------------------------------ public helpers

    def profile_keys(self, team: str, copy_role_arn: str, region: str) -> dict[str, str]:
        """The ``STRATA_WAREHOUSE_*`` keys of ``team``'s profile (call inside an apply: the ARN is resolved)."""
        return settings.profile_keys(
            mode=self.mode,
            region=region,
            name=self.name,
            database=self.database,
            copy_role_arn=copy_role_arn,
            db_user=naming.warehouse_db_user(team) if self.mode == policies.PROVISIONED else None,
        )

    # ------------------------------------------------------------------ the two modes

    def _serverless(
        self, args: WarehouseArgs, sg: aws.ec2.SecurityGroup, role_arns: list[pulumi.Output[str]], logs: list[pulumi.Resource]
    ) -> None:
        name = self._name
        # The namespace holds the data: protected like the buckets. AWS offers no final snapshot on
        # namespace deletion through pulumi-aws, and Serverless keeps recovery points (every 30 minutes)
        # for 24 hours only: `protect` is what stands between `pulumi destroy` and the data.
        # https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-snapshots-recovery-points.html
        namespace = aws.redshiftserverless.Namespace(
            f"{name}-namespace",
            namespace_name=self.name,
            db_name=self.database,
            admin_username=naming.WAREHOUSE_ADMIN_USER,
            # Secrets Manager creates, rotates and encrypts the password ($0.40/month); it never
            # appears in the program, its state or its outputs.
            manage_admin_password=True,
            admin_password_secret_kms_key_id=args.kms_key_arn,
            kms_key_id=args.kms_key_arn,
            # No default IAM role: a default is usable by every database user, which would undo the
            # per-team roles. Teams name their own role in COPY/UNLOAD.
            iam_roles=role_arns,
            log_exports=list(settings.AUDIT_LOG_TYPES),
            tags=self._tags,
            # The log groups first, so Redshift exports into them instead of creating its own.
            opts=self._stateful(args.protect, depends_on=logs),
        )
        workgroup = aws.redshiftserverless.Workgroup(
            f"{name}-workgroup",
            namespace_name=namespace.namespace_name,
            workgroup_name=self.name,
            # Billed per RPU-second only while queries run ($0.375/RPU-hour, 60 s minimum); idle = $0.
            base_capacity=args.settings.base_capacity,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            subnet_ids=args.subnet_ids,
            security_group_ids=[sg.id],
            config_parameters=[
                aws.redshiftserverless.WorkgroupConfigParameterArgs(parameter_key=k, parameter_value=v)
                for k, v in settings.DATABASE_PARAMETERS.items()
            ],
            tags=self._tags,
            # Protected too: deleting it deletes the endpoint every team's profile names.
            opts=self._stateful(args.protect),
        )
        self.arn = workgroup.arn
        self.endpoint = workgroup.endpoints.apply(_first_address)
        self.admin_secret_arn = namespace.admin_password_secret_arn

    def _provisioned(
        self, args: WarehouseArgs, sg: aws.ec2.SecurityGroup, role_arns: list[pulumi.Output[str]], logs: list[pulumi.Resource]
    ) -> None:
        name = self._name
        s = args.settings
        subnets = aws.redshift.SubnetGroup(
            f"{name}-subnets",
            name=self.name,
            subnet_ids=args.subnet_ids,
            description=f"Strata {args.environment} warehouse: private subnets",
            tags=self._tags,
            opts=self._child(),
        )
        parameters = aws.redshift.ParameterGroup(
            f"{name}-parameters",
            name=self.name,
            family=settings.PARAMETER_GROUP_FAMILY,
            description=f"Strata {args.environment} warehouse: TLS only, user-activity log on",
            parameters=[
                aws.redshift.ParameterGroupParameterArgs(name=k, value=v) for k, v in settings.DATABASE_PARAMETERS.items()
            ],
            tags=self._tags,
            opts=self._child(),
        )
        cluster = aws.redshift.Cluster(
            f"{name}-cluster",
            cluster_identifier=self.name,
            node_type=s.node_type,
            cluster_type=settings.cluster_type(s.node_count),
            number_of_nodes=s.node_count,
            database_name=self.database,
            master_username=naming.WAREHOUSE_ADMIN_USER,
            manage_master_password=True,
            master_password_secret_kms_key_id=args.kms_key_arn,
            # pulumi-aws types `encrypted` as a string.
            encrypted="true",
            kms_key_id=args.kms_key_arn,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            iam_roles=role_arns,
            cluster_subnet_group_name=subnets.name,
            cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[sg.id],
            automated_snapshot_retention_period=s.snapshot_retention_days,
            preferred_maintenance_window=s.maintenance_window,
            allow_version_upgrade=True,
            # A protected cluster leaves a final snapshot behind when it is deleted; an unprotected one
            # (dev, local) does not, so that a teardown leaves nothing billable and can be repeated.
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=settings.final_snapshot_identifier(self.name) if args.protect else None,
            tags=self._tags,
            opts=self._stateful(args.protect),
        )
        aws.redshift.Logging(
            f"{name}-audit-logging",
            cluster_identifier=cluster.cluster_identifier,
            log_destination_type=settings.LOG_DESTINATION,
            log_exports=list(settings.AUDIT_LOG_TYPES),
            opts=self._child(depends_on=logs),
        )
        self.arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.admin_secret_arn = cluster.master_password_secret_arn

    # ------------------------------------------------------------------ per team

    def _copy_unload_role(self, team: Team, args: WarehouseArgs, where: pulumi.Output[dict]) -> aws.iam.Role:
        env = args.environment
        prefix = naming.team_prefix(team.name)
        db_user = policies.team_db_user(
            self.mode,
            provisioned_user=naming.warehouse_db_user(team.name),
            data_scientist_role_name=naming.data_scientist_role(env, team.name),
        )
        trust = where.apply(
            lambda v: json.dumps(
                policies.copy_unload_trust_policy(
                    [policies.db_user_arn(v["partition"], v["region"], v["account_id"], self.name, db_user)]
                )
            )
        )
        tags = {**self._tags, "team": team.name, "cost-center": team.cost_center}
        role = aws.iam.Role(
            f"{self._name}-{team.name}-copy-unload",
            name=naming.warehouse_role(env, team.name),
            assume_role_policy=trust,
            description=f"Redshift COPY/UNLOAD for team {team.name} in {env}: its datastore prefix only",
            tags=tags,
            opts=self._child(),
        )
        document = pulumi.Output.all(where=where, bucket_arn=args.bucket_arn, kms_key_arn=args.kms_key_arn).apply(
            lambda v: json.dumps(
                policies.copy_unload_policy(
                    v["bucket_arn"],
                    prefix,
                    v["kms_key_arn"],
                    kms_via_service=iam.s3_via_service(v["where"]["region"], v["where"]["dns_suffix"]),
                )
            )
        )
        aws.iam.RolePolicy(
            f"{self._name}-{team.name}-copy-unload-prefix",
            role=role.id,
            name="team-prefix",
            policy=document,
            opts=self._child(),
        )
        return role

    def _team_access(self, team: Team, where: pulumi.Output[dict]) -> WarehouseAccess:
        provisioned = self.mode == policies.PROVISIONED
        warehouse = self.name
        component = self._name

        def statements(v: dict[str, Any]) -> list[dict[str, Any]]:
            if not v["arn"]:
                # The local engine leaves Redshift Serverless unemulated (moto has no backend): no ARN.
                raise ValueError(
                    f"Warehouse {component!r}: {warehouse} has no ARN, so team {team.name!r} cannot be given Data API "
                    "access. Under the local engine Redshift Serverless is NOT EMULATED (moto has no backend): "
                    "use strata:warehouse.mode: provisioned for the local stack."
                )
            return policies.data_api_statements(
                mode=self.mode,
                partition=v["where"]["partition"],
                region=v["where"]["region"],
                account_id=v["where"]["account_id"],
                warehouse_arn=v["arn"],
                warehouse_name=warehouse,
                database=self.database,
                db_user=naming.warehouse_db_user(team.name) if provisioned else None,
            )

        return WarehouseAccess(
            statements=pulumi.Output.all(where=where, arn=self.arn).apply(statements),
            role_tags=policies.data_scientist_role_tags(self.mode, naming.warehouse_db_role(team.name)),
        )

    # ------------------------------------------------------------------ helpers

    def _audit_log_groups(self, retention_days: int, kms_key_arn: pulumi.Input[str] | None) -> list[pulumi.Resource]:
        # Created by the program, not by Redshift, so that retention (and encryption) are ours: a group
        # Redshift creates itself never expires. $0.50/GB ingested, $0.03/GB-month stored.
        return [
            aws.cloudwatch.LogGroup(
                f"{self._name}-audit-{kind}",
                name=group,
                retention_in_days=retention_days,
                kms_key_id=kms_key_arn,
                tags=self._tags,
                opts=self._child(),
            )
            for kind, group in self.audit_log_groups.items()
        ]


def _first_address(endpoints: Any) -> str | None:
    """The address of a workgroup's first endpoint (output objects or plain dicts)."""
    if not endpoints:
        return None
    first = endpoints[0]
    return first.get("address") if isinstance(first, dict) else getattr(first, "address", None)


def _check(name: str, args: WarehouseArgs) -> None:
    """Contradictory arguments fail at construction, naming the component."""
    if not args.settings.enabled:
        raise ValueError(f"Warehouse {name!r}: settings.enabled is false; declare no Warehouse instead")
    if len(args.teams) > settings.REDSHIFT_MAX_IAM_ROLES:
        raise ValueError(
            f"Warehouse {name!r}: {len(args.teams)} teams need {len(args.teams)} IAM roles; Redshift associates at most "
            f"{settings.REDSHIFT_MAX_IAM_ROLES} with one warehouse"
        )
    names = [t.name for t in args.teams]
    if len(set(names)) != len(names):
        raise ValueError(f"Warehouse {name!r}: duplicate teams in {names}")
