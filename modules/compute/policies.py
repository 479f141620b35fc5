"""Pure logic of the compute layer: IAM documents as dicts and the Batch capacity plan.

No Pulumi import: every function takes plain strings or frozen config objects and returns plain
data, so it is unit-tested without mocks (``tests/unit/test_compute_policies.py``) and the
component only turns Outputs into JSON.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from core.iam import VERSION, PolicyDocument, team_data_statements
from core.naming import QUEUE_KINDS
from core.settings import Team
from modules.compute.settings import BATCH_MAX_CES_PER_QUEUE, ComputeSettings, team_caps

# Service principal of the ECS container instance role (the ECS tasks one is ``core.iam.ECS_TASKS_SERVICE``).
# There is no Batch service role: compute environments use Batch's service-linked role
# AWSServiceRoleForBatch, which AWS owns. https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html
EC2_SERVICE = "ec2.amazonaws.com"

# AWS-managed policies, by path/name; the partition is filled in by managed_policy_arn().
# https://docs.aws.amazon.com/batch/latest/userguide/instance_IAM_role.html
ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
ECS_TASK_EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"

# ---------------------------------------------------------------- capacity plan

# Batch picks the AMI from the image type. AWS is ending support for the Amazon Linux 2 ECS AMIs and
# made AL2023 the default for new ECS compute environments (January 2026), so both pools use AL2023;
# GPUs use its NVIDIA variant (driver + NVIDIA container toolkit), which supports g4dn/g5 (the
# defaults) but not p3/g3. Without it a GPU instance boots with no driver and containers see no GPU.
# https://docs.aws.amazon.com/batch/latest/APIReference/API_Ec2Configuration.html
CPU_IMAGE_TYPE = "ECS_AL2023"
GPU_IMAGE_TYPE = "ECS_AL2023_NVIDIA"

# On-demand: BEST_FIT_PROGRESSIVE tries the best-fitting type first and moves on to others when it
# is short, instead of waiting for it (BEST_FIT).
# Spot: SPOT_PRICE_CAPACITY_OPTIMIZED picks pools least likely to be interrupted, then the cheapest
# of those; with it Batch needs no Spot Fleet role.
# https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html
ON_DEMAND_STRATEGY = "BEST_FIT_PROGRESSIVE"
SPOT_STRATEGY = "SPOT_PRICE_CAPACITY_OPTIMIZED"


@dataclass(frozen=True)
class EnvironmentPlan:
    """One managed compute environment of one team, before networking and roles are attached."""

    kind: str
    """``cpu-ondemand``, ``cpu-spot``, ``gpu`` or ``fargate`` (``naming.compute_environment``)."""
    type: str
    """``computeResources.type``: ``EC2``, ``SPOT`` or ``FARGATE``."""
    max_vcpus: int
    """The team's cap for the kind (``settings.team_caps``): Batch never runs more vCPUs in the environment."""
    instance_types: tuple[str, ...] = ()
    allocation_strategy: str | None = None
    bid_percentage: int | None = None
    image_type: str | None = None

    @property
    def is_ec2(self) -> bool:
        """EC2 and SPOT environments launch instances (launch template, instance role, min vCPUs 0)."""
        return self.type in ("EC2", "SPOT")


def compute_environment_plans(settings: ComputeSettings, team: Team) -> list[EnvironmentPlan]:
    """A team's compute environments, in ``CE_KINDS`` order: one per kind whose cap is above 0
    (``settings.team_caps``), each with ``maxvCpus`` = the team's cap, so Batch itself enforces it."""
    caps = team_caps(settings, team)
    plans = {
        "cpu-ondemand": lambda cap: EnvironmentPlan(
            kind="cpu-ondemand",
            type="EC2",
            max_vcpus=cap,
            instance_types=tuple(settings.cpu.instance_types),
            allocation_strategy=ON_DEMAND_STRATEGY,
            image_type=CPU_IMAGE_TYPE,
        ),
        "cpu-spot": lambda cap: EnvironmentPlan(
            kind="cpu-spot",
            type="SPOT",
            max_vcpus=cap,
            instance_types=tuple(settings.spot.instance_types),
            allocation_strategy=SPOT_STRATEGY,
            bid_percentage=settings.spot.bid_percentage,
            image_type=CPU_IMAGE_TYPE,
        ),
        "gpu": lambda cap: EnvironmentPlan(
            kind="gpu",
            type="EC2",
            max_vcpus=cap,
            instance_types=tuple(settings.gpu.instance_types),
            allocation_strategy=ON_DEMAND_STRATEGY,
            image_type=GPU_IMAGE_TYPE,
        ),
        # Fargate takes none of the instance settings (Batch rejects minvCpus, instance types,
        # allocation strategy, ... for FARGATE); it has no instances to keep warm anyway.
        "fargate": lambda cap: EnvironmentPlan(kind="fargate", type="FARGATE", max_vcpus=cap),
    }
    return [plans[kind](cap) for kind, cap in caps.items()]


def queue_compute_environments(kinds: Collection[str], kind: str) -> list[tuple[str, int]]:
    """``(compute environment kind, order)`` pairs behind a team's queue of ``kind``, given the kinds of
    compute environment the team has (``settings.team_caps``); lower order is tried first.

    * ``cpu``: on-demand first, Spot second (whichever the team has). Work that fits on-demand capacity
      starts at once; Spot takes the overflow.
    * ``gpu``: the GPU environment only, so CPU jobs never land on a GPU instance.
    * ``fargate``: the Fargate environment only; Batch does not allow Fargate and EC2 compute
      environments in one queue.
      https://docs.aws.amazon.com/batch/latest/userguide/fargate.html
    """
    if kind == "cpu":
        order = [ce for ce in ("cpu-ondemand", "cpu-spot") if ce in kinds]
    elif kind in ("gpu", "fargate"):
        order = [kind] if kind in kinds else []
    else:
        raise ValueError(f"unknown queue kind {kind!r}; expected one of {', '.join(QUEUE_KINDS)}")
    if not order:
        raise ValueError(
            f"a {kind!r} queue needs a compute environment the team does not have (it has {', '.join(kinds) or 'none'})"
        )
    if len(order) > BATCH_MAX_CES_PER_QUEUE:  # https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
        raise ValueError(f"a {kind!r} queue would need {len(order)} compute environments; Batch allows {BATCH_MAX_CES_PER_QUEUE}")
    return [(ce, n) for n, ce in enumerate(order, start=1)]


# ---------------------------------------------------------------- instance metadata

# The instance metadata service. Every container on a Batch EC2 instance runs in Docker's bridge network
# (Batch's EC2 jobs have no awsvpc or host mode), so its packets to this address are forwarded from a
# docker* interface, while the ECS agent and the host reach it directly (host network), untouched.
IMDS_ADDRESS = "169.254.169.254"
# MIME boundary of the launch template's user data. Batch merges its own part into it (an ECS cluster
# join), so the user data must be a MIME multi-part archive; the boundary must not occur in any part.
# https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html
USER_DATA_BOUNDARY = "==STRATA-BOUNDARY=="


def imds_block_rules() -> list[str]:
    """The iptables rules (DOCKER-USER chain, in order) that keep containers off the instance metadata service.

    AWS's documented rule for ECS tasks in bridge mode is
    ``iptables --insert DOCKER-USER 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP``
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html, "Additional configuration
    for Amazon EC2 instances"; https://repost.aws/knowledge-center/ecs-container-ec2-metadata). DOCKER-USER is
    the chain Docker evaluates before its own forwarding rules and never rewrites
    (https://docs.docker.com/engine/network/packet-filtering-firewalls/). Only packets forwarded from a
    ``docker*`` interface match: the ECS agent and the host reach IMDS over the host network, untouched.
    We answer TCP with a reset instead of dropping it: an SDK or Metaflow probing IMDS then fails at once
    ("connection refused") and falls back, instead of waiting out a connect timeout on every probe. Anything
    else to the address is dropped (IMDS answers on TCP only).
    """
    match = f"--in-interface docker+ --destination {IMDS_ADDRESS}/32"
    return [f"{match} --protocol tcp --jump REJECT --reject-with tcp-reset", f"{match} --jump DROP"]


def launch_template_user_data() -> str:
    """User data of every team's launch template (plain text; the component base64-encodes it).

    A MIME multi-part archive, as Batch requires for launch-template user data, with one
    ``text/cloud-boothook`` part. A boothook runs early in every boot, before the Docker daemon and the ECS
    agent start, so no container ever runs before the rules exist (AWS's article above uses a boothook for
    that reason). The script creates DOCKER-USER if Docker has not yet (Docker keeps an existing chain and its
    rules) and inserts each rule only if it is not there (``--check``), so a reboot does not stack copies.
    It installs nothing: the ECS-optimized AMIs ship iptables (the ECS agent's own credential-endpoint rules
    use it). This is the second layer: with IMDSv2 required and a hop limit of 1 a container gets no token
    anyway; the rules make its attempts fail fast, and hold even if the hop limit is raised.
    https://cloudinit.readthedocs.io/en/latest/explanation/format.html
    """
    lines = [
        "#!/bin/bash",
        "# Strata: containers must not reach the instance metadata service (and so the instance role).",
        "set -eu",
        "export PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "iptables --new-chain DOCKER-USER 2>/dev/null || true",
    ]
    # Each rule goes to the top of the chain: insert the last one first, so they end up in order.
    for rule in reversed(imds_block_rules()):
        lines.append(f"iptables --check DOCKER-USER {rule} 2>/dev/null || iptables --insert DOCKER-USER 1 {rule}")
    return "\n".join(
        [
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{USER_DATA_BOUNDARY}"',
            "",
            f"--{USER_DATA_BOUNDARY}",
            'Content-Type: text/cloud-boothook; charset="us-ascii"',
            "",
            *lines,
            "",
            f"--{USER_DATA_BOUNDARY}--",
            "",
        ]
    )


# ---------------------------------------------------------------- IAM documents


def managed_policy_arn(partition: str, name: str) -> str:
    """ARN of an AWS-managed policy in ``partition`` (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    return f"arn:{partition}:iam::aws:policy/{name}"


def job_role_policy(bucket_arn: str, prefix: str, kms_key_arn: str, *, kms_via_service: str | None = None) -> PolicyDocument:
    """The inline policy of a team's Batch job role: read/write/delete/list its prefix, use the key
    (``core.iam.team_data_statements``: the same slice its data-scientist and warehouse roles carry)."""
    return {
        "Version": VERSION,
        "Statement": team_data_statements(bucket_arn, prefix, kms_key_arn, kms_via_service=kms_via_service),
    }
