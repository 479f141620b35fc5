"""The compute layer: AWS Batch compute environments that scale to zero and a job queue per team."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import iam, naming
from core.settings import Team
from modules.base import Component, LayerArgs
from modules.compute import policies
from modules.compute.settings import ComputeSettings, queues_for

# Containers on an EC2 instance are one network hop further from the instance metadata service than
# the instance itself (Docker bridge). With IMDSv2 the token PUT response carries this hop limit: at 1
# it is dropped before it reaches a container, so SDK calls that fall back to IMDS (region lookup,
# and Metaflow's probe of the instance type and Spot interruption notices) hang and time out. 2 is the
# value AWS recommends for containers.
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html
IMDS_HOP_LIMIT = 2
# Root device of the ECS-optimized Amazon Linux 2023 AMIs (CPU and NVIDIA): Docker's images and
# container scratch space live on it. https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html
ROOT_DEVICE = "/dev/xvda"


@dataclass
class ComputeArgs(LayerArgs):
    """Inputs of :class:`Compute`. ``environment`` is part of every compute environment, queue and job-role
    name; team-owned resources add the team's ``team`` and ``cost-center`` to ``tags``."""

    settings: ComputeSettings
    """``strata:compute``: which pools exist (on-demand CPU always; Spot, GPU, Fargate by flag), their
    vCPU caps, instance types, Spot bid and root volume size."""
    teams: Sequence[Team]
    """Teams of this environment. Each gets a job role and its queues (``cpu``; ``gpu`` when the team has
    a GPU quota and GPUs are enabled; ``fargate`` when Fargate is enabled)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for instances and Fargate tasks. Must not assign public IPs."""
    security_group_id: pulumi.Input[str]
    """Security group of the Batch capacity (egress only)."""
    bucket_arn: pulumi.Input[str]
    """ARN of the datastore bucket; job roles get their team's prefix in it."""
    kms_key_arn: pulumi.Input[str]
    """ARN of the datastore KMS key; job roles may use it through S3 only."""


class Compute(Component):
    """The ECS instance role, a launch template, managed compute environments, per-team queues and job roles.

    No Batch service role is created: every compute environment omits ``service_role`` and so uses
    Batch's service-linked role ``AWSServiceRoleForBatch`` (see ``__init__``).
    """

    compute_environment_arns: dict[str, pulumi.Output[str]]
    """By kind: ``cpu-ondemand``, ``cpu-spot``, ``gpu``, ``fargate`` (only the enabled ones)."""
    job_queue_arns: dict[str, dict[str, pulumi.Output[str]]]
    """team -> queue kind (``cpu``, ``gpu``, ``fargate``) -> queue ARN."""
    job_queue_names: dict[str, dict[str, pulumi.Output[str]]]
    """team -> queue kind -> queue name (``METAFLOW_BATCH_JOB_QUEUE``)."""
    job_role_arns: dict[str, pulumi.Output[str]]
    """team -> ARN of its Batch job role (``METAFLOW_ECS_S3_ACCESS_IAM_ROLE``)."""
    fargate_execution_role_arn: pulumi.Output[str] | None
    """``METAFLOW_ECS_FARGATE_EXECUTION_ROLE``; None when Fargate is disabled."""
    instance_profile_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:compute:Compute", name, None, opts)
        team_names = [t.name for t in args.teams]
        if len(set(team_names)) != len(team_names):
            raise ValueError(f"Compute {name!r}: duplicate team names in {team_names}")

        self._name = name
        self._args = args
        self._tags = dict(args.tags)
        child = self._child()
        self._via_s3 = pulumi.Output.all(self._aws.region, self._aws.dns_suffix).apply(lambda v: iam.s3_via_service(v[0], v[1]))

        instance_role, instance_attachment = self._service_role(
            "ecs-instance",
            policies.EC2_SERVICE,
            policies.ECS_INSTANCE_POLICY,
            "ECS container instance role of Batch EC2 capacity (ECS agent, image pulls, logs); no data access",
        )
        instance_profile = aws.iam.InstanceProfile(f"{name}-ecs-instance", role=instance_role.name, tags=self._tags, opts=child)

        fargate_execution_role: aws.iam.Role | None = None
        if args.settings.fargate.enabled:
            # Used by Fargate itself (image pull, log delivery), never by the job's code.
            fargate_execution_role, _ = self._service_role(
                "fargate-execution",
                iam.ECS_TASKS_SERVICE,
                policies.ECS_TASK_EXECUTION_POLICY,
                "ECS task execution role of Batch Fargate jobs: pulls images and ships logs",
            )

        launch_template = self._launch_template()

        # Deletion order: Pulumi deletes in reverse dependency order, and nothing else ties the
        # environments to the instance role's policy attachment. Without depends_on it may detach
        # the policy while Batch is still terminating the environment's instances, whose ECS agents
        # then lose their permissions to deregister. The pulumi-aws docs of aws.batch.ComputeEnvironment
        # document this race (environment stuck in DELETING) for the service role's attachment.
        # The Batch service role needs no guard: it is the service-linked role AWSServiceRoleForBatch,
        # which the stack never creates, changes or deletes (IAM deletes it only once no compute
        # environment uses it). https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html
        ce_opts = self._child(depends_on=[instance_attachment])
        self._environments: dict[str, aws.batch.ComputeEnvironment] = {}
        for plan in policies.compute_environment_plans(args.settings):
            self._environments[plan.kind] = aws.batch.ComputeEnvironment(
                f"{name}-{plan.kind}",
                name=naming.compute_environment(args.environment, plan.kind),
                type="MANAGED",
                # No service_role: Batch then uses its service-linked role AWSServiceRoleForBatch (created
                # on first use; the deployer needs iam:CreateServiceLinkedRole once per account). Only
                # with it can Batch change instance types, allocation strategy, bid, AMI or launch
                # template in place (an infrastructure update); with an explicit role such a change
                # replaces the environment, whose name is fixed. A CE cannot switch between the two
                # kinds of role after creation.
                # https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html
                # https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html
                compute_resources=self._compute_resources(plan, instance_profile, launch_template),
                tags=self._tags,
                opts=ce_opts,
            )

        self.compute_environment_arns = {kind: ce.arn for kind, ce in self._environments.items()}
        self.job_queue_arns = {}
        self.job_queue_names = {}
        self.job_role_arns = {}
        for team in args.teams:
            self.job_role_arns[team.name] = self._job_role(team).arn
            queues = {kind: self._job_queue(team, kind) for kind in queues_for(args.settings, team)}
            self.job_queue_arns[team.name] = {kind: q.arn for kind, q in queues.items()}
            self.job_queue_names[team.name] = {kind: q.name for kind, q in queues.items()}

        self.fargate_execution_role_arn = fargate_execution_role.arn if fargate_execution_role else None
        self.instance_profile_arn = instance_profile.arn
        self.register_outputs(
            {
                "compute_environment_arns": self.compute_environment_arns,
                "job_queue_arns": self.job_queue_arns,
                "job_queue_names": self.job_queue_names,
                "job_role_arns": self.job_role_arns,
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
        role = aws.iam.Role(
            f"{self._name}-job-{team.name}",
            name=naming.job_role(args.environment, team.name),
            assume_role_policy=json.dumps(iam.service_trust_policy(iam.ECS_TASKS_SERVICE)),
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
        """A team's job role and queues: its ``team`` and its ``cost-center`` (its spend, its budget)."""
        return {**self._tags, "team": team.name, "cost-center": team.cost_center}

    # ------------------------------------------------------------ EC2 capacity

    def _launch_template(self) -> aws.ec2.LaunchTemplate:
        """Instance settings Batch cannot take directly: IMDSv2 only, an encrypted gp3 root volume, tags."""
        tags = self._tags
        return aws.ec2.LaunchTemplate(
            f"{self._name}-launch-template",
            description="Strata Batch EC2 capacity: IMDSv2 only, encrypted gp3 root volume",
            metadata_options={
                "http_endpoint": "enabled",
                # IMDSv2 only: a session token is required, which blocks SSRF-style credential theft.
                "http_tokens": "required",
                "http_put_response_hop_limit": IMDS_HOP_LIMIT,
                "instance_metadata_tags": "disabled",
            },
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
            # Batch merges these with its own tags onto the instances and volumes it launches
            # (cost allocation). https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html
            tag_specifications=[
                {"resource_type": "instance", "tags": tags},
                {"resource_type": "volume", "tags": tags},
            ],
            tags=tags,
            opts=self._child(),
        )

    def _compute_resources(
        self,
        plan: policies.EnvironmentPlan,
        instance_profile: aws.iam.InstanceProfile,
        launch_template: aws.ec2.LaunchTemplate,
    ) -> aws.batch.ComputeEnvironmentComputeResourcesArgsDict:
        args = self._args
        resources: aws.batch.ComputeEnvironmentComputeResourcesArgsDict = {
            "type": plan.type,
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
        # Scale to zero: no instance runs (or bills) while no job is queued. desired_vcpus is
        # left to Batch; setting it would pin capacity and fight the scaler.
        resources["min_vcpus"] = 0
        resources["instance_types"] = list(plan.instance_types)
        resources["allocation_strategy"] = plan.allocation_strategy
        resources["instance_role"] = instance_profile.arn
        # The explicit version (not $Latest) makes a template change show up as a diff here.
        resources["launch_template"] = {
            "launch_template_id": launch_template.id,
            "version": launch_template.latest_version.apply(str),
        }
        resources["ec2_configurations"] = [{"image_type": plan.image_type}]
        if plan.bid_percentage is not None:
            resources["bid_percentage"] = plan.bid_percentage
        return resources

    # ------------------------------------------------------------ queues

    def _job_queue(self, team: Team, kind: str) -> aws.batch.JobQueue:
        """A team's queue of ``kind``. No scheduling policy: Metaflow sends no shareIdentifier, and a
        fair-share queue rejects such jobs. Teams' priorities order work across queues sharing capacity."""
        args = self._args
        return aws.batch.JobQueue(
            f"{self._name}-{team.name}-{kind}",
            name=naming.job_queue(args.environment, team.name, kind),
            priority=team.priority,
            state="ENABLED",
            compute_environment_orders=[
                {"order": order, "compute_environment": self._environments[ce_kind].arn}
                for ce_kind, order in policies.queue_compute_environments(args.settings, kind)
            ],
            tags=self._team_tags(team),
            opts=self._child(),
        )
