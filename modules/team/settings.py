"""A team file, ``stacks/teams/<team>.yaml``: the tenancy layer's settings.

Pure (the core and pydantic; no Pulumi). The loader (``infra/config.py``) reads every team file with
:class:`TeamFile`, checks each team's quotas against the stack's compute pools, and resolves the team
in one environment into a :class:`core.settings.Team`, which is what every layer is handed.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from core.settings import Emails, Model, principal_arns


class TeamKubernetes(Model):
    """The team's share of the environment's Kubernetes cluster (``environments.<env>.kubernetes``), where
    strata:kubernetes is enabled. Every key is optional."""

    # The team's namespace. Default: the team's name. Never a system namespace (kube-*, default, argo, ...).
    namespace: str | None = None
    # The namespace's ResourceQuota: CPU cores and memory (GiB) its pods may request, and NVIDIA GPUs.
    # Default: maxVcpus cores, 4 GiB a core, no GPU. GPUs need strata:kubernetes.gpuNodes.enabled.
    cpu: int | None = Field(default=None, gt=0)
    memory_gib: int | None = Field(default=None, gt=0)
    gpus: int = Field(default=0, ge=0)
    # The image the team's Metaflow pods run (METAFLOW_KUBERNETES_CONTAINER_IMAGE). Default: the stack's
    # strata:kubernetes.containerImage, from strata:kubernetes.containerRegistry unless it names a registry.
    image: str | None = None


class TeamEnvironment(Model):
    """The team in one environment (``environments.<env>`` of its team file)."""

    # Batch job-queue priority: orders the team's own queues. Every team has compute environments of its
    # own, so no priority lets one team's jobs take another team's capacity.
    priority: int = Field(default=10, ge=0, le=1000)
    # The most vCPUs the team's CPU jobs hold at once here (its cpu queue: on-demand + Spot). Enforced by
    # Batch: the team's compute environments are capped at it. The on-demand part (maxVcpus - spotVcpus)
    # is at most strata:compute.cpu.maxVcpus, the Spot part at most strata:compute.spot.maxVcpus.
    max_vcpus: int = Field(gt=0)
    # Of maxVcpus, how many may run on Spot (the team's cpu-spot compute environment). Omitted: half of
    # maxVcpus, rounded down, where the stack has Spot; 0 where it has not. 0: on-demand only. <= maxVcpus.
    spot_vcpus: int | None = Field(default=None, ge=0)
    # > 0 makes the team GPU-entitled here (a GPU compute environment and queue of that many vCPUs);
    # needs strata:compute.gpu.enabled, at most strata:compute.gpu.maxVcpus.
    gpu_max_vcpus: int = Field(default=0, ge=0)
    # > 0 gives the team a Fargate compute environment of that many vCPUs and a fargate queue; needs
    # strata:compute.fargate.enabled, at most strata:compute.fargate.maxVcpus.
    fargate_vcpus: int = Field(default=0, ge=0)
    # IAM principals (account root, role or user ARNs) allowed to assume the team's data-scientist role.
    principals: tuple[str, ...] = Field(min_length=1)
    # The team's monthly AWS Budget in this environment (USD), filtered by its `team` tag; alerts at
    # 80% and 100% go to the team's contacts.
    monthly_budget_usd: float = Field(gt=0)
    # The team's namespace, quota and image on the Kubernetes layer (when the stack enables it).
    kubernetes: TeamKubernetes = TeamKubernetes()

    @field_validator("principals")
    @classmethod
    def _arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return principal_arns(value)


class TeamFile(Model):
    """A team file, ``stacks/teams/<team>.yaml``: one team, owned by that team (docs/configuration.md#team-files)."""

    # The team's name; the file must be named after it (<team>.yaml). 2-24 characters of a-z, 0-9 and
    # single hyphens, starting with a letter: it appears in role, queue and bucket-prefix names.
    team: str
    # One line on what the team does, for whoever reads the file.
    description: str = ""
    # Tagged on the team's resources (cost-center) and used by cost allocation.
    cost_center: str = Field(min_length=1)
    # E-mail addresses for the team's budget alerts and failed Batch jobs. At most 10: an AWS Budgets
    # notification takes up to 10 e-mail subscribers.
    contacts: Emails = Field(min_length=1, max_length=10)
    # One section per environment (stack) the team exists in; a team without one is not deployed there.
    environments: dict[str, TeamEnvironment] = Field(min_length=1)
