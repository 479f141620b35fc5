"""The compute layer: per-team AWS Batch compute environments that scale to zero, queues, job roles and job logs."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import iam, naming
from core.settings import LOG_RETENTION_DAYS, Team
from modules.base import Component, LayerArgs, LogKeyArgs
from modules.compute import policies
from modules.compute.settings import ComputeSettings, queues_for

# The IMDSv2 token (PUT) response is sent with this IP TTL. A container in Docker's bridge network is one
# hop further than the instance, so at 1 the response is dropped before it reaches any container: no
# container gets a token, and with IMDSv2 required nothing in it can read the instance role's credentials.
# Jobs do not need IMDS: a job's own role comes from the ECS agent's credential endpoint (169.254.170.2,
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), not from IMDS; the agent itself runs on the host network.
# SDK region lookups and Metaflow's instance-type probe fail fast instead (launch_template_user_data).
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
IMDS_HOP_LIMIT = 1
# Root device of the ECS-optimized Amazon Linux 2023 AMIs (CPU and NVIDIA): Docker's images and
# container scratch space live on it. https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html
ROOT_DEVICE = "/dev/xvda"


@dataclass
class ComputeArgs(LayerArgs, LogKeyArgs):
    """Inputs of :class:`Compute`. ``environment`` is part of every compute environment, queue and job-role
    name; team-owned resources add the team's ``team`` and ``cost-center`` to ``tags``.
    ``log_kms_key_arn`` encrypts the teams' job log groups."""

    settings: ComputeSettings
    """``strata:compute``: which pools exist (on-demand CPU always; Spot, GPU, Fargate by flag), the most vCPUs
    one team may be given of each, instance types, Spot bid and root volume size."""
    teams: Sequence[Team]
    """Teams of this environment. Each gets its own compute environments sized from its caps
    (``settings.team_caps``: ``max_vcpus`` split into on-demand and ``spot_vcpus``, ``gpu_max_vcpus``,
    ``fargate_vcpus``), its queues (``cpu``; ``gpu``, ``fargate`` when it has those), a job role, a launch
    template and a job log group."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for instances and Fargate tasks. Must not assign public IPs."""
    security_group_id: pulumi.Input[str]
    """Security group of the Batch capacity (egress only)."""
    bucket_arn: pulumi.Input[str]
    """ARN of the datastore bucket; job roles get their team's prefix in it."""
    kms_key_arn: pulumi.Input[str]
    """ARN of the datastore KMS key; job roles may use it through S3 only."""
    log_retention_days: int
    """Retention of every team's job log group (``strata:observability.logRetentionDays``): one of the
    values CloudWatch Logs accepts (``core.settings.LOG_RETENTION_DAYS``)."""
    web_identity: WebIdentity | None = None
    """The Kubernetes layer's OIDC provider (IRSA): each team's job role then also trusts the team's own
    service account in its own namespace (``naming.TEAM_SERVICE_ACCOUNT``), so Metaflow's pods on Argo run as
    the team's job role. None where the environment has no Kubernetes layer."""


@dataclass(frozen=True)
class WebIdentity:
    """An EKS cluster's IAM OIDC provider, and the namespace of each team whose job role its pods may assume."""

    provider_arn: pulumi.Input[str]
    issuer: pulumi.Input[str]  # the cluster's OIDC issuer URL
    namespaces: dict[str, str]  # team -> namespace


class Compute(Component):
    """The ECS instance role, and per team: a launch template, managed compute environments, queues, a job
    role and a job log group.

    No Batch service role is created: every compute environment omits ``service_role`` and so uses
    Batch's service-linked role ``AWSServiceRoleForBatch`` (see ``__init__``).
    """

    compute_environment_arns: dict[str, dict[str, pulumi.Output[str]]]
    """team -> kind (``cpu-ondemand``, ``cpu-spot``, ``gpu``, ``fargate``: the team's, see ``settings.team_caps``) -> ARN."""
    job_queue_arns: dict[str, dict[str, pulumi.Output[str]]]
    """team -> queue kind (``cpu``, ``gpu``, ``fargate``) -> queue ARN."""
    job_queue_names: dict[str, dict[str, pulumi.Output[str]]]
    """team -> queue kind -> queue name (``METAFLOW_BATCH_JOB_QUEUE``)."""
    job_role_arns: dict[str, pulumi.Output[str]]
    """team -> ARN of its Batch job role (``METAFLOW_ECS_S3_ACCESS_IAM_ROLE``)."""
    job_log_group_names: dict[str, pulumi.Output[str]]
    """team -> its job log group (``naming.job_log_group``): the only ``awslogs-group`` its job definitions may name."""
    job_log_group_arns: dict[str, pulumi.Output[str]]
    """team -> ARN of its job log group (without the ``:*`` suffix)."""
    fargate_execution_role_arn: pulumi.Output[str] | None
    """``METAFLOW_ECS_FARGATE_EXECUTION_ROLE``; None when Fargate is disabled."""
    instance_profile_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:compute:Compute", name, None, opts)
        team_names = [t.name for t in args.teams]
        if len(set(team_names)) != len(team_names):
            raise ValueError(f"Compute {name!r}: duplicate team names in {team_names}")
        if args.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"Compute {name!r}: log_retention_days {args.log_retention_days} is not a CloudWatch retention")

        self._name = name
        self._args = args
        self._tags = dict(args.tags)
        self._via_s3 = pulumi.Output.all(self._aws.region, self._aws.dns_suffix).apply(lambda v: iam.s3_via_service(v[0], v[1]))

        instance_role, instance_attachment = self._service_role(
            "ecs-instance",
            policies.EC2_SERVICE,
            policies.ECS_INSTANCE_POLICY,
            "ECS container instance role of Batch EC2 capacity (ECS agent, image pulls, logs); no data access",
        )
        self._instance_profile = aws.iam.InstanceProfile(
            f"{name}-ecs-instance", role=instance_role.name, tags=self._tags, opts=self._child()
        )

        fargate_execution_role: aws.iam.Role | None = None
        if args.settings.fargate.enabled:
            # Used by Fargate itself (image pull, log delivery), never by the job's code.
            fargate_execution_role, _ = self._service_role(
                "fargate-execution",
                iam.ECS_TASKS_SERVICE,
                policies.ECS_TASK_EXECUTION_POLICY,
                "ECS task execution role of Batch Fargate jobs: pulls images and ships logs",
            )

        # Deletion order: Pulumi deletes in reverse dependency order, and nothing else ties the
        # environments to the instance role's policy attachment. Without depends_on it may detach
        # the policy while Batch is still terminating the environment's instances, whose ECS agents
        # then lose their permissions to deregister. The pulumi-aws docs of aws.batch.ComputeEnvironment
        # document this race (environment stuck in DELETING) for the service role's attachment.
        # The Batch service role needs no guard: it is the service-linked role AWSServiceRoleForBatch,
        # which the stack never creates, changes or deletes (IAM deletes it only once no compute
        # environment uses it). https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html
        self._ce_opts = self._child(depends_on=[instance_attachment])
        self._user_data = base64.b64encode(policies.launch_template_user_data().encode()).decode()

        self.compute_environment_arns = {}
        self.job_queue_arns = {}
        self.job_queue_names = {}
        self.job_role_arns = {}
        self.job_log_group_names = {}
        self.job_log_group_arns = {}
        for team in args.teams:
            self.job_role_arns[team.name] = self._job_role(team).arn
            environments = self._compute_environments(team)
            self.compute_environment_arns[team.name] = {kind: ce.arn for kind, ce in environments.items()}
            queues = {kind: self._job_queue(team, kind, environments) for kind in queues_for(args.settings, team)}
            self.job_queue_arns[team.name] = {kind: q.arn for kind, q in queues.items()}
            self.job_queue_names[team.name] = {kind: q.name for kind, q in queues.items()}
            log_group = self._job_log_group(team)
            self.job_log_group_names[team.name] = log_group.name
            self.job_log_group_arns[team.name] = log_group.arn

        self.fargate_execution_role_arn = fargate_execution_role.arn if fargate_execution_role else None
        self.instance_profile_arn = self._instance_profile.arn
        self.register_outputs(
            {
                "compute_environment_arns": self.compute_environment_arns,
                "job_queue_arns": self.job_queue_arns,
                "job_queue_names": self.job_queue_names,
                "job_role_arns": self.job_role_arns,
                "job_log_group_names": self.job_log_group_names,
                "job_log_group_arns": self.job_log_group_arns,
                "fargate_execution_role_arn": self.fargate_execution_role_arn,
                "instance_profile_arn": self.instance_profile_arn,
            }
        )

    # ------------------------------------------------------------ IAM

    def _service_role(
        self, suffix: str, service: str, managed_policy: str, description: str
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """A role trusted by one AWS service with one AWS-managed policy attached.

        Names are left to Pulumi's auto-naming (``<component>-<suffix>-<random>``): ``core/naming.py``
        has no entry for these platform roles and nothing outside the stack refers to them by name.
        """
        role = aws.iam.Role(
            f"{self._name}-{suffix}",
            assume_role_policy=json.dumps(iam.service_trust_policy(service)),
            description=description,
            tags=self._tags,
            opts=self._child(),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-{suffix}",
            role=role.name,
            policy_arn=self._aws.partition.apply(lambda p: policies.managed_policy_arn(p, managed_policy)),
            opts=self._child(),
        )
        return role, attachment

    def _job_role(self, team: Team) -> aws.iam.Role:
        """The role a team's Batch jobs run as: its own datastore prefix and the key (through S3), nothing else."""
        args = self._args
        trust: pulumi.Input[str] = json.dumps(iam.service_trust_policy(iam.ECS_TASKS_SERVICE))
        web = args.web_identity
        if web is not None and team.name in web.namespaces:
            namespace = web.namespaces[team.name]
            trust = pulumi.Output.all(web.provider_arn, web.issuer).apply(
                lambda v: json.dumps(
                    {
                        **iam.service_trust_policy(iam.ECS_TASKS_SERVICE),
                        "Statement": [
                            *iam.service_trust_policy(iam.ECS_TASKS_SERVICE)["Statement"],
                            iam.web_identity_statement(v[0], v[1], namespace, naming.TEAM_SERVICE_ACCOUNT),
                        ],
                    }
                )
            )
        role = aws.iam.Role(
            f"{self._name}-job-{team.name}",
            name=naming.job_role(args.environment, team.name),
            assume_role_policy=trust,
            description=f"Batch jobs of team {team.name} in {args.environment}: its datastore prefix only",
            tags=self._team_tags(team),
            opts=self._child(),
        )
        prefix = naming.team_prefix(team.name)
        aws.iam.RolePolicy(
            f"{self._name}-job-{team.name}",
            role=role.id,
            name="team-datastore",
            policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn, self._via_s3).apply(
                lambda v: json.dumps(policies.job_role_policy(v[0], prefix, v[1], kms_via_service=v[2]))
            ),
            opts=self._child(),
        )
        return role

    def _team_tags(self, team: Team) -> dict[str, str]:
        """Everything a team owns, and the instances and volumes Batch launches for it: its ``team`` and its
        ``cost-center``, so its budget (filtered on ``team``) and cost allocation see its compute spend."""
        return {**self._tags, "team": team.name, "cost-center": team.cost_center}

    # ------------------------------------------------------------ EC2 capacity

    def _launch_template(self, team: Team) -> aws.ec2.LaunchTemplate:
        """A team's instance settings Batch cannot take directly: IMDSv2 only with hop limit 1 and containers
        kept off IMDS (user data), an encrypted gp3 root volume, and the team's tags on instances and volumes."""
        tags = self._team_tags(team)
        return aws.ec2.LaunchTemplate(
            f"{self._name}-{team.name}-launch-template",
            description=f"Strata Batch EC2 capacity of team {team.name}: IMDSv2 only, no IMDS from containers, encrypted gp3 root",
            metadata_options={
                "http_endpoint": "enabled",
                # IMDSv2 only: a session token is required, which blocks SSRF-style credential theft.
                "http_tokens": "required",
                "http_put_response_hop_limit": IMDS_HOP_LIMIT,
                "instance_metadata_tags": "disabled",
            },
            user_data=self._user_data,
            block_device_mappings=[
                {
                    "device_name": ROOT_DEVICE,
                    "ebs": {
                        "volume_size": self._args.settings.root_volume_gb,
                        # gp3: 20% cheaper per GB than gp2 ($0.08 vs $0.10 per GB-month, us-east-1) with a
                        # 3,000 IOPS / 125 MiB/s baseline regardless of size.
                        "volume_type": "gp3",
                        # The account's EBS key (aws/ebs). A customer key would need a key policy grant
                        # for the Auto Scaling service-linked role that Batch launches instances with,
                        # or instances fail to start.
                        "encrypted": "true",
                        # Instances come and go with jobs; an orphaned volume would bill forever.
                        "delete_on_termination": "true",
                    },
                }
            ],
            # Batch merges these with the compute environment's computeResources.tags (which win on a
            # conflicting key) onto the instances and volumes it launches: the team's budget and cost
            # allocation see them. https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html
            tag_specifications=[
                {"resource_type": "instance", "tags": tags},
                {"resource_type": "volume", "tags": tags},
            ],
            tags=tags,
            opts=self._child(),
        )

    def _compute_environments(self, team: Team) -> dict[str, aws.batch.ComputeEnvironment]:
        """The team's compute environments, one per kind with a cap above 0, each capped at the team's vCPUs.
        Nothing is shared between teams: no job of one team runs on another team's instances, and Batch
        itself holds each team to its caps."""
        args = self._args
        plans = policies.compute_environment_plans(args.settings, team)
        launch_template = self._launch_template(team) if any(p.is_ec2 for p in plans) else None
        environments = {}
        for plan in plans:
            environments[plan.kind] = aws.batch.ComputeEnvironment(
                f"{self._name}-{team.name}-ce-{plan.kind}",
                name=naming.compute_environment(args.environment, team.name, plan.kind),
                type="MANAGED",
                # No service_role: Batch then uses its service-linked role AWSServiceRoleForBatch (created
                # on first use; the deployer needs iam:CreateServiceLinkedRole once per account). Only
                # with it can Batch change instance types, allocation strategy, bid, AMI or launch
                # template in place (an infrastructure update); with an explicit role such a change
                # replaces the environment, whose name is fixed. A CE cannot switch between the two
                # kinds of role after creation.
                # https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html
                # https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html
                compute_resources=self._compute_resources(plan, team, launch_template),
                tags=self._team_tags(team),
                opts=self._ce_opts,
            )
        return environments

    def _compute_resources(
        self, plan: policies.EnvironmentPlan, team: Team, launch_template: aws.ec2.LaunchTemplate | None
    ) -> aws.batch.ComputeEnvironmentComputeResourcesArgsDict:
        args = self._args
        resources: aws.batch.ComputeEnvironmentComputeResourcesArgsDict = {
            "type": plan.type,
            # The team's cap: Batch never runs more vCPUs here, whatever is queued.
            "max_vcpus": plan.max_vcpus,
            # Private subnets only, so EC2 instances get no public IP. Fargate's assignPublicIp is a
            # job-definition setting outside this component: Metaflow 2.19 hard-codes ENABLED for
            # Fargate job definitions. In these subnets (no internet-gateway route) such an address
            # cannot be reached, but while the task runs it is billed as any public IPv4 ($0.005/hour).
            "subnets": args.subnet_ids,
            "security_group_ids": [args.security_group_id],
        }
        if not plan.is_ec2:
            return resources
        assert launch_template is not None  # _compute_environments makes one for every team with EC2 capacity
        # Scale to zero: no instance runs (or bills) while no job is queued. desired_vcpus is
        # left to Batch; setting it would pin capacity and fight the scaler.
        resources["min_vcpus"] = 0
        resources["instance_types"] = list(plan.instance_types)
        resources["allocation_strategy"] = plan.allocation_strategy
        resources["instance_role"] = self._instance_profile.arn
        # The explicit version (not $Latest) makes a template change show up as a diff here.
        resources["launch_template"] = {
            "launch_template_id": launch_template.id,
            "version": launch_template.latest_version.apply(str),
        }
        resources["ec2_configurations"] = [{"image_type": plan.image_type}]
        # Tags Batch puts on the EC2 resources it launches (on top of the launch template's tag
        # specifications), so the team's instances never carry the stack's default team tag. Not for
        # Fargate, where Batch rejects them. https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html
        resources["tags"] = self._team_tags(team)
        if plan.bid_percentage is not None:
            resources["bid_percentage"] = plan.bid_percentage
        return resources

    # ------------------------------------------------------------ queues and logs

    def _job_queue(self, team: Team, kind: str, environments: dict[str, aws.batch.ComputeEnvironment]) -> aws.batch.JobQueue:
        """A team's queue of ``kind`` over the team's own compute environments. No scheduling policy:
        Metaflow sends no shareIdentifier, and a fair-share queue rejects such jobs. The priority only
        orders the team's own queues: no compute environment is shared, so no team can starve another."""
        args = self._args
        return aws.batch.JobQueue(
            f"{self._name}-{team.name}-{kind}",
            name=naming.job_queue(args.environment, team.name, kind),
            priority=team.priority,
            state="ENABLED",
            compute_environment_orders=[
                {"order": order, "compute_environment": environments[ce_kind].arn}
                for ce_kind, order in policies.queue_compute_environments(list(environments), kind)
            ],
            tags=self._team_tags(team),
            opts=self._child(),
        )

    def _job_log_group(self, team: Team) -> aws.cloudwatch.LogGroup:
        """Where the team's Batch jobs write their output (the awslogs group its job definitions must name;
        IAM refuses any other at RegisterJobDefinition). Encrypted with the log key when one is given, never
        with the datastore key, whose key policy does not admit CloudWatch Logs.
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
        args = self._args
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{team.name}-job-logs",
            name=naming.job_log_group(args.environment, team.name),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            tags=self._team_tags(team),
            opts=self._child(),
        )
