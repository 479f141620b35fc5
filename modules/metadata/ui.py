"""The optional Metaflow UI: backend + static app on Fargate behind an internal Application Load Balancer
that authenticates every request (OIDC or Cognito) before it reaches a task. Off by default.

It shows metadata only: the backend has no access to the datastore (no AWS permission at all, and its
datastore features off, ``ui_spec.BACKEND_FEATURES``), so it never reads a team's prefix for a user, and
never unpickles an artifact.

Idle cost (us-east-1): ALB $16.43/month + LCUs; backend 1 vCPU / 2 GB $36.04/month; static app
0.25 vCPU / 0.5 GB $9.01/month (Fargate $0.04048 per vCPU-hour, $0.004445 per GB-hour)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import naming
from modules.base import Component, LayerArgs, LogKeyArgs
from modules.metadata import policies, ui_spec
from modules.metadata.settings import MetadataSettings, MetadataUiAuth


@dataclass
class MetadataUiArgs(LayerArgs, LogKeyArgs):
    """Inputs of :class:`MetadataUi` (built by :class:`modules.metadata.Metadata`); ``log_kms_key_arn`` encrypts
    the UI's log groups."""

    settings: MetadataSettings
    """``strata:metadata`` (validated; ``ui.enabled`` true)."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (>= 2 AZs) for the internal ALB and the tasks."""
    allowed_cidrs: pulumi.Input[Sequence[str]]
    """Who may reach the ALB on 443 (and 80, which only redirects)."""
    ecs_cluster_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    """The metadata service's execution role: pulls images, reads the DB secret, writes logs."""
    db_host: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]
    db_security_group_id: pulumi.Input[str]
    """The database's group; the backend's group is added to its inbound rules (5432)."""
    deletion_protection: bool
    access_log_bucket: pulumi.Input[str] | None = None
    """The access-log bucket (``Datastore.elb_log_bucket``, with ELB admitted under ``ui_spec.ACCESS_LOG_PREFIX``).
    None: no ALB access logs (component tests)."""


class MetadataUi(Component):
    """Internal ALB (HTTPS, login first) -> ``/api/*`` backend, everything else the static app."""

    url: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    """Point the UI's DNS name (``ui.domainName``) at this (CNAME, or a Route 53 alias)."""
    load_balancer_arn_suffix: pulumi.Output[str]
    backend_target_group_arn_suffix: pulumi.Output[str]
    static_target_group_arn_suffix: pulumi.Output[str]
    """``AWS/ApplicationELB`` dimensions for the observability layer's alarms and dashboard."""

    def __init__(self, name: str, args: MetadataUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ui = args.settings.ui
        if not ui.enabled or ui.auth is None or not ui.certificate_arn or not ui.domain_name:
            raise ValueError(
                f"MetadataUi {name!r}: needs ui.enabled, auth, certificateArn and domainName (never without a login)"
            )
        super().__init__("strata:metadata:Ui", name, None, opts)
        self._name, self._args, self._env, self._tags = name, args, args.environment, dict(args.tags)

        alb_sg, task_sg = self._security_groups()
        alb, backend_tg, static_tg, listener = self._load_balancer(alb_sg)
        self._services(task_sg, backend_tg, static_tg, listener)

        self.url = pulumi.Output.from_input(ui_spec.ui_url(ui.domain_name))
        self.load_balancer_dns_name = alb.dns_name
        self.load_balancer_arn_suffix = alb.arn.apply(policies.elb_arn_suffix)
        self.backend_target_group_arn_suffix = backend_tg.arn.apply(policies.elb_arn_suffix)
        self.static_target_group_arn_suffix = static_tg.arn.apply(policies.elb_arn_suffix)
        self.register_outputs(
            {
                "url": self.url,
                "load_balancer_dns_name": self.load_balancer_dns_name,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "backend_target_group_arn_suffix": self.backend_target_group_arn_suffix,
                "static_target_group_arn_suffix": self.static_target_group_arn_suffix,
            }
        )

    # ------------------------------------------------------------------ network

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """ALB: 443/80 from the allowed CIDRs only; out to the tasks and to the IdP (HTTPS). Tasks: from the
        ALB only. The backend's group may reach the database."""
        n, a = self._name, self._args

        def group(suffix: str, what: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{n}-{suffix}-sg", vpc_id=a.vpc_id, description=f"Strata {self._env} Metaflow UI {what}",
                tags=self._tags, opts=self._child(),
            )  # fmt: skip

        alb_sg = group("alb", "load balancer: HTTPS from the allowed networks")
        task_sg = group("tasks", "tasks: from the UI load balancer only")

        def rule(kind, suffix: str, sg_id: pulumi.Input[str], port: int, what: str, **source) -> None:
            kind(
                f"{n}-{suffix}", security_group_id=sg_id, ip_protocol="tcp", from_port=port, to_port=port,
                description=what, tags=self._tags, opts=self._child(), **source,
            )  # fmt: skip

        cidrs = pulumi.Output.from_input(a.allowed_cidrs)
        # One rule per CIDR (a rule holds one); the count is known from the stack file, or one VPC CIDR.
        count = len(a.settings.ui.allowed_cidrs) or 1
        for i in range(count):

            def nth(c: Sequence[str], i: int = i) -> str:
                return c[i]

            cidr = cidrs.apply(nth)
            for port, what in ((ui_spec.HTTPS_PORT, "HTTPS"), (ui_spec.HTTP_PORT, "HTTP (redirected to HTTPS)")):
                rule(
                    aws.vpc.SecurityGroupIngressRule,
                    f"alb-{port}-from-{i}",
                    alb_sg.id,
                    port,
                    f"{what} from allowed network {i}",
                    cidr_ipv4=cidr,
                )
        for port, what in ((ui_spec.BACKEND_PORT, "UI backend"), (ui_spec.STATIC_PORT, "UI static app")):
            rule(
                aws.vpc.SecurityGroupEgressRule,
                f"alb-to-tasks-{port}",
                alb_sg.id,
                port,
                what,
                referenced_security_group_id=task_sg.id,
            )
            rule(
                aws.vpc.SecurityGroupIngressRule,
                f"tasks-{port}-from-alb",
                task_sg.id,
                port,
                "From the UI load balancer",
                referenced_security_group_id=alb_sg.id,
            )
        # The login: the ALB calls the IdP's token and user-info endpoints (public names, through the NAT).
        rule(
            aws.vpc.SecurityGroupEgressRule,
            "alb-to-idp",
            alb_sg.id,
            ui_spec.HTTPS_PORT,
            "Identity provider (token, user info)",
            cidr_ipv4="0.0.0.0/0",
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-tasks-egress", security_group_id=task_sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
            description="Image pulls, Secrets Manager, CloudWatch Logs, the database", tags=self._tags, opts=self._child(),
        )  # fmt: skip
        rule(
            aws.vpc.SecurityGroupIngressRule, "db-from-ui-backend", a.db_security_group_id, policies.DB_PORT,
            "Postgres from the Metaflow UI backend", referenced_security_group_id=task_sg.id,
        )  # fmt: skip
        return alb_sg, task_sg

    # ------------------------------------------------------------------ load balancer

    def _load_balancer(
        self, alb_sg: aws.ec2.SecurityGroup
    ) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup, aws.lb.TargetGroup, aws.lb.Listener]:
        n, a, ui = self._name, self._args, self._args.settings.ui
        alb = aws.lb.LoadBalancer(
            f"{n}-alb",
            name=naming.metadata_ui_name(self._env),
            load_balancer_type="application",
            # Never internet-facing: users come through the VPN / Direct Connect / peering (allowedCidrs).
            internal=True,
            subnets=a.subnet_ids,
            security_groups=[alb_sg.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=a.deletion_protection,
            # Every request, with the user's authentication outcome, to the access-log bucket (SSE-S3).
            access_logs={"bucket": a.access_log_bucket, "prefix": ui_spec.ACCESS_LOG_PREFIX.rstrip("/"), "enabled": True}
            if a.access_log_bucket is not None
            else None,
            idle_timeout=60,
            tags=self._tags,
            opts=self._child(),
        )

        def target_group(suffix: str, port: int, path: str) -> aws.lb.TargetGroup:
            return aws.lb.TargetGroup(
                f"{n}-{suffix}",
                name=naming.metadata_ui_name(self._env, suffix),
                target_type="ip",
                protocol="HTTP",
                port=port,
                vpc_id=a.vpc_id,
                deregistration_delay=policies.DEREGISTRATION_DELAY,
                health_check={
                    "protocol": "HTTP",
                    "path": path,
                    "matcher": "200",
                    "interval": 30,
                    "healthy_threshold": 3,
                    "unhealthy_threshold": 3,
                },
                tags=self._tags,
                opts=self._child(),
            )

        backend_tg = target_group("backend", ui_spec.BACKEND_PORT, ui_spec.BACKEND_HEALTH_PATH)
        static_tg = target_group("static", ui_spec.STATIC_PORT, ui_spec.STATIC_HEALTH_PATH)
        login = self._login_action()
        listener = aws.lb.Listener(
            f"{n}-https",
            load_balancer_arn=alb.arn,
            port=ui_spec.HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=ui_spec.SSL_POLICY,
            certificate_arn=ui.certificate_arn,
            default_actions=pulumi.Output.all(login, static_tg.arn).apply(lambda v: [v[0], ui_spec.forward_action(v[1])]),
            tags=self._tags,
            opts=self._child(),
        )
        aws.lb.ListenerRule(
            f"{n}-api",
            listener_arn=listener.arn,
            priority=10,
            conditions=[{"path_pattern": {"values": [ui_spec.API_PATH_PATTERN]}}],
            actions=pulumi.Output.all(login, backend_tg.arn).apply(lambda v: [v[0], ui_spec.forward_action(v[1])]),
            tags=self._tags,
            opts=self._child(),
        )
        # Port 80 serves nothing: it only sends the browser to HTTPS.
        aws.lb.Listener(
            f"{n}-http",
            load_balancer_arn=alb.arn,
            port=ui_spec.HTTP_PORT,
            protocol="HTTP",
            default_actions=[
                {
                    "type": "redirect",
                    "redirect": {"protocol": "HTTPS", "port": str(ui_spec.HTTPS_PORT), "status_code": "HTTP_301"},
                }
            ],
            tags=self._tags,
            opts=self._child(),
        )
        return alb, backend_tg, static_tg, listener

    def _login_action(self) -> pulumi.Output[dict]:
        ui = self._args.settings.ui
        if ui.auth is MetadataUiAuth.OIDC:
            # The ALB needs the client secret itself; it is read at deploy time and kept a Pulumi secret
            # (encrypted in state, never in the stack file).
            secret = aws.secretsmanager.get_secret_version_output(
                secret_id=ui.oidc_client_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self)
            ).secret_string
            return pulumi.Output.secret(secret.apply(lambda s: ui_spec.login_action(ui, s)))
        return pulumi.Output.from_input(ui_spec.login_action(ui))

    # ------------------------------------------------------------------ services

    def _services(
        self,
        task_sg: aws.ec2.SecurityGroup,
        backend_tg: aws.lb.TargetGroup,
        static_tg: aws.lb.TargetGroup,
        listener: aws.lb.Listener,
    ) -> None:
        n, a, s = self._name, self._args, self._args.settings
        ui = s.ui
        logs = aws.cloudwatch.LogGroup(
            f"{n}-logs", name=naming.metadata_log_group(self._env, "metadata-ui"), retention_in_days=s.service.log_retention_days,
            kms_key_id=a.log_kms_key_arn, tags=self._tags, opts=self._child(),
        )  # fmt: skip
        trust = json.dumps(policies.service_trust_policy(policies.ECS_TASKS_SERVICE))
        # Neither task calls an AWS API (the backend's datastore features are off, ui_spec.BACKEND_FEATURES):
        # their roles have no policy at all, so no S3 object of any team, and no key, is within their reach.
        backend_role = aws.iam.Role(
            f"{n}-backend-task", assume_role_policy=trust, tags=self._tags, opts=self._child(),
            description=f"Strata {self._env}: the Metaflow UI backend (no permissions: it reads no datastore)",
        )  # fmt: skip
        static_role = aws.iam.Role(
            f"{n}-static-task", assume_role_policy=trust, tags=self._tags, opts=self._child(),
            description=f"Strata {self._env}: the Metaflow UI static app (no permissions)",
        )  # fmt: skip
        backend_defs = pulumi.Output.all(a.db_host, a.db_secret_arn, logs.name, self._aws.region).apply(
            lambda v: json.dumps(
                ui_spec.backend_container_definitions(
                    settings=s, db_host=v[0], master_secret_arn=v[1], log_group=v[2], region=v[3]
                )
            )
        )
        static_defs = pulumi.Output.all(logs.name, self._aws.region).apply(
            lambda v: json.dumps(ui_spec.static_container_definitions(ui=ui, log_group=v[0], region=v[1]))
        )
        for part, defs, role, cpu, memory, tg, container, port, arch in (
            ("backend", backend_defs, backend_role, ui.backend_cpu, ui.backend_memory, backend_tg, ui_spec.BACKEND_CONTAINER, ui_spec.BACKEND_PORT, s.service.cpu_architecture),
            ("static", static_defs, static_role, ui.static_cpu, ui.static_memory, static_tg, ui_spec.STATIC_CONTAINER, ui_spec.STATIC_PORT, "X86_64"),
        ):  # fmt: skip
            task = aws.ecs.TaskDefinition(
                f"{n}-{part}",
                family=naming.metadata_name(self._env, f"ui-{part}"),
                requires_compatibilities=["FARGATE"],
                network_mode="awsvpc",
                cpu=str(cpu),
                memory=str(memory),
                runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": arch},
                execution_role_arn=a.execution_role_arn,
                task_role_arn=role.arn,
                container_definitions=defs,
                tags=self._tags,
                opts=self._child(),
            )
            aws.ecs.Service(
                f"{n}-{part}",
                name=naming.metadata_name(self._env, f"ui-{part}"),
                cluster=a.ecs_cluster_arn,
                task_definition=task.arn,
                desired_count=1,
                launch_type="FARGATE",
                platform_version="1.4.0",
                network_configuration={"subnets": a.subnet_ids, "security_groups": [task_sg.id], "assign_public_ip": False},
                load_balancers=[{"target_group_arn": tg.arn, "container_name": container, "container_port": port}],
                health_check_grace_period_seconds=120,
                deployment_circuit_breaker={"enable": True, "rollback": True},
                enable_execute_command=False,
                propagate_tags="SERVICE",
                tags=self._tags,
                opts=self._child(depends_on=[listener]),
            )
