"""Pure logic of the compute layer: IAM documents as dicts and the Batch capacity plan.

No Pulumi import: every function takes plain strings or frozen config objects and returns plain
data, so it is unit-tested without mocks (``tests/unit/test_compute_policies.py``) and the
component only turns Outputs into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.iam import VERSION, PolicyDocument, team_data_statements
from core.naming import QUEUE_KINDS
from modules.compute.settings import BATCH_MAX_CES_PER_QUEUE, ComputeSettings

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

CE_KINDS = ("cpu-ondemand", "cpu-spot", "gpu", "fargate")

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
    """One managed compute environment, before networking and roles are attached."""

    kind: str
    """``cpu-ondemand``, ``cpu-spot``, ``gpu`` or ``fargate`` (``naming.compute_environment``)."""
    type: str
    """``computeResources.type``: ``EC2``, ``SPOT`` or ``FARGATE``."""
    max_vcpus: int
    instance_types: tuple[str, ...] = ()
    allocation_strategy: str | None = None
    bid_percentage: int | None = None
    image_type: str | None = None

    @property
    def is_ec2(self) -> bool:
        """EC2 and SPOT environments launch instances (launch template, instance role, min vCPUs 0)."""
        return self.type in ("EC2", "SPOT")


def compute_environment_plans(settings: ComputeSettings) -> list[EnvironmentPlan]:
    """The compute environments of an environment, in ``settings.compute_environment_kinds()`` order."""
    plans = {
        "cpu-ondemand": EnvironmentPlan(
            kind="cpu-ondemand",
            type="EC2",
            max_vcpus=settings.cpu.max_vcpus,
            instance_types=tuple(settings.cpu.instance_types),
            allocation_strategy=ON_DEMAND_STRATEGY,
            image_type=CPU_IMAGE_TYPE,
        ),
        "cpu-spot": EnvironmentPlan(
            kind="cpu-spot",
            type="SPOT",
            max_vcpus=settings.spot.max_vcpus,
            instance_types=tuple(settings.spot.instance_types),
            allocation_strategy=SPOT_STRATEGY,
            bid_percentage=settings.spot.bid_percentage,
            image_type=CPU_IMAGE_TYPE,
        ),
        "gpu": EnvironmentPlan(
            kind="gpu",
            type="EC2",
            max_vcpus=settings.gpu.max_vcpus,
            instance_types=tuple(settings.gpu.instance_types),
            allocation_strategy=ON_DEMAND_STRATEGY,
            image_type=GPU_IMAGE_TYPE,
        ),
        # Fargate takes none of the instance settings (Batch rejects minvCpus, instance types,
        # allocation strategy, ... for FARGATE); it has no instances to keep warm anyway.
        "fargate": EnvironmentPlan(kind="fargate", type="FARGATE", max_vcpus=settings.fargate.max_vcpus),
    }
    return [plans[kind] for kind in settings.compute_environment_kinds()]


def queue_compute_environments(settings: ComputeSettings, kind: str) -> list[tuple[str, int]]:
    """``(compute environment kind, order)`` pairs behind a queue of ``kind``; lower order is tried first.

    * ``cpu``: on-demand first, Spot second. Work that fits on-demand capacity starts at once;
      Spot takes the overflow.
    * ``gpu``: the GPU environment only, so CPU jobs never land on a GPU instance.
    * ``fargate``: the Fargate environment only; Batch does not allow Fargate and EC2 compute
      environments in one queue.
      https://docs.aws.amazon.com/batch/latest/userguide/fargate.html
    """
    available = set(settings.compute_environment_kinds())
    if kind == "cpu":
        order = [("cpu-ondemand", 1)] + ([("cpu-spot", 2)] if "cpu-spot" in available else [])
    elif kind in ("gpu", "fargate"):
        if kind not in available:
            raise ValueError(f"a {kind!r} queue needs the {kind!r} compute environment, which is disabled")
        order = [(kind, 1)]
    else:
        raise ValueError(f"unknown queue kind {kind!r}; expected one of {', '.join(QUEUE_KINDS)}")
    if len(order) > BATCH_MAX_CES_PER_QUEUE:  # https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
        raise ValueError(f"a {kind!r} queue would need {len(order)} compute environments; Batch allows {BATCH_MAX_CES_PER_QUEUE}")
    return order


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
