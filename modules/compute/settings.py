"""``strata:compute``: the compute layer's settings (the AWS Batch capacity pools) and AWS Batch's limits.

Pure (the core and pydantic; no Pulumi). The teams' quotas against these pools are checked by the loader
(``infra/config.py``), which reads the team files.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from core import capacity
from core.issues import Issues
from core.settings import Model, Team

# AWS Batch service quotas, fixed per region:
# https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
BATCH_MAX_JOB_QUEUES = 50
BATCH_MAX_COMPUTE_ENVIRONMENTS = 50
BATCH_MAX_CES_PER_QUEUE = 3


class CpuPool(Model):
    """The on-demand CPU pool (``strata:compute.cpu``); scales to zero."""

    # The most vCPUs the pool runs at once.
    max_vcpus: int = Field(gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i")


class SpotPool(Model):
    """The Spot CPU pool (``strata:compute.spot``); scales to zero."""

    enabled: bool = True
    max_vcpus: int = Field(default=256, gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i", "c5", "m5")
    # The most a Spot instance may cost, in percent of its on-demand price.
    bid_percentage: int = Field(default=100, gt=0, le=100)


class GpuPool(Model):
    """The GPU pool (``strata:compute.gpu``), for GPU-entitled teams; scales to zero."""

    enabled: bool = False
    max_vcpus: int = Field(default=64, gt=0)
    instance_types: tuple[str, ...] = ("g5", "g4dn")


class FargatePool(Model):
    """The Fargate pool (``strata:compute.fargate``): a Fargate queue per team."""

    enabled: bool = False
    max_vcpus: int = Field(default=64, gt=0)


class ComputeSettings(Model):
    cpu: CpuPool
    spot: SpotPool = SpotPool()
    gpu: GpuPool = GpuPool()
    fargate: FargatePool = FargatePool()
    root_volume_gb: int = Field(default=50, ge=30, le=16384)

    def compute_environment_kinds(self) -> list[str]:
        kinds = ["cpu-ondemand"]
        if self.spot.enabled:
            kinds.append("cpu-spot")
        if self.gpu.enabled:
            kinds.append("gpu")
        if self.fargate.enabled:
            kinds.append("fargate")
        return kinds

    def demand(self) -> capacity.Demand:
        return capacity.address_demand(
            cpu_vcpus=self.cpu.max_vcpus + (self.spot.max_vcpus if self.spot.enabled else 0),
            gpu_vcpus=self.gpu.max_vcpus if self.gpu.enabled else 0,
            fargate_vcpus=self.fargate.max_vcpus if self.fargate.enabled else 0,
        )


def queues_for(compute: ComputeSettings, team: Team) -> list[str]:
    """The job-queue kinds a team gets in an environment: ``cpu`` always, ``gpu`` for GPU-entitled
    teams where GPUs are enabled, ``fargate`` where Fargate is enabled (Fargate compute environments
    cannot share a queue with EC2 ones)."""
    kinds = ["cpu"]
    if team.gpu and compute.gpu.enabled:
        kinds.append("gpu")
    if compute.fargate.enabled:
        kinds.append("fargate")
    return kinds


def check_batch_limits(compute: ComputeSettings, teams: Sequence[Team], path: str, issues: Issues) -> None:
    """Every team's queues and the pools' compute environments within AWS Batch's per-region quotas."""
    queues = sum(len(queues_for(compute, t)) for t in teams)
    if queues > BATCH_MAX_JOB_QUEUES:
        issues.add(
            path,
            "(teams)",
            f"{len(teams)} teams need {queues} job queues; AWS Batch allows {BATCH_MAX_JOB_QUEUES} per region",
            "split teams across regions or accounts, or turn off per-team GPU/Fargate queues",
        )
    ces = len(compute.compute_environment_kinds())
    if ces > BATCH_MAX_COMPUTE_ENVIRONMENTS:
        issues.add(
            path,
            "strata:compute",
            f"{ces} compute environments exceed AWS Batch's {BATCH_MAX_COMPUTE_ENVIRONMENTS}",
            "disable a capacity pool",
        )
