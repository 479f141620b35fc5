"""``strata:compute``: the compute layer's settings (the AWS Batch capacity pools) and AWS Batch's limits.

Pure (the core and pydantic; no Pulumi). Every team gets compute environments of its own, sized from its
team file (:func:`team_caps`); a pool here is the most vCPUs of its kind that any *one* team may be given,
and whether the pool exists at all. :func:`check_team_caps` checks a team file's caps against the pools
(the loader, ``infra/config.py``, calls it for every team file); :func:`check_batch_limits` counts the
teams' compute environments and queues against AWS Batch's fixed quotas.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import Field

from core import capacity
from core.issues import Issues
from core.naming import CE_KINDS
from core.settings import Model, Team

# AWS Batch service quotas, fixed per region (they cannot be raised):
# https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
BATCH_MAX_JOB_QUEUES = 50
BATCH_MAX_COMPUTE_ENVIRONMENTS = 50
BATCH_MAX_CES_PER_QUEUE = 3


class CpuPool(Model):
    """On-demand CPU (``strata:compute.cpu``): every team's ``cpu-ondemand`` compute environment; scales to zero."""

    # The most vCPUs one team's on-demand compute environment may have (its maxVcpus - spotVcpus).
    max_vcpus: int = Field(gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i")


class SpotPool(Model):
    """Spot CPU (``strata:compute.spot``): every team's ``cpu-spot`` compute environment; scales to zero."""

    enabled: bool = True
    # The most vCPUs one team's Spot compute environment may have (its spotVcpus).
    max_vcpus: int = Field(default=256, gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i", "c5", "m5")
    # The most a Spot instance may cost, in percent of its on-demand price.
    bid_percentage: int = Field(default=100, gt=0, le=100)


class GpuPool(Model):
    """GPU (``strata:compute.gpu``): the ``gpu`` compute environment of each GPU-entitled team; scales to zero."""

    enabled: bool = False
    # The most vCPUs one team's GPU compute environment may have (its gpuMaxVcpus).
    max_vcpus: int = Field(default=64, gt=0)
    instance_types: tuple[str, ...] = ("g5", "g4dn")


class FargatePool(Model):
    """Fargate (``strata:compute.fargate``): the ``fargate`` compute environment and queue of each team that asks."""

    enabled: bool = False
    # The most vCPUs one team's Fargate compute environment may have (its fargateVcpus).
    max_vcpus: int = Field(default=64, gt=0)


class ComputeSettings(Model):
    cpu: CpuPool
    spot: SpotPool = SpotPool()
    gpu: GpuPool = GpuPool()
    fargate: FargatePool = FargatePool()
    root_volume_gb: int = Field(default=50, ge=30, le=16384)

    def compute_environment_kinds(self) -> list[str]:
        """The kinds a team *may* have here (the enabled pools), in :data:`core.naming.CE_KINDS` order."""
        kinds = ["cpu-ondemand"]
        if self.spot.enabled:
            kinds.append("cpu-spot")
        if self.gpu.enabled:
            kinds.append("gpu")
        if self.fargate.enabled:
            kinds.append("fargate")
        return kinds

    def pool_max_vcpus(self, kind: str) -> int:
        """The pool's ``maxVcpus``: the most one team's compute environment of ``kind`` may have."""
        caps = {
            "cpu-ondemand": self.cpu.max_vcpus,
            "cpu-spot": self.spot.max_vcpus,
            "gpu": self.gpu.max_vcpus,
            "fargate": self.fargate.max_vcpus,
        }
        return caps[kind]

    def demand(self) -> capacity.Demand:
        """Address demand the private subnets are planned for: every pool at its maxVcpus at once. With
        per-team compute environments that is one team of each kind at its largest; as long as the teams'
        caps together stay within the pools (every stack file here) it covers every team busy at once."""
        return capacity.address_demand(
            cpu_vcpus=self.cpu.max_vcpus + (self.spot.max_vcpus if self.spot.enabled else 0),
            gpu_vcpus=self.gpu.max_vcpus if self.gpu.enabled else 0,
            fargate_vcpus=self.fargate.max_vcpus if self.fargate.enabled else 0,
        )


def team_caps(compute: ComputeSettings, team: Team) -> dict[str, int]:
    """A team's compute environments: kind -> maxvCpus, in :data:`core.naming.CE_KINDS` order. A kind with
    cap 0 (or whose pool is disabled) is left out: no compute environment is created for it.

    * ``cpu-ondemand``: ``max_vcpus - spot_vcpus``; ``cpu-spot``: ``spot_vcpus`` (together the team's
      ``maxVcpus``: the most vCPUs its CPU jobs hold at once);
    * ``gpu``: ``gpu_max_vcpus``; ``fargate``: ``fargate_vcpus``.
    """
    enabled = set(compute.compute_environment_kinds())
    spot = team.spot_vcpus if "cpu-spot" in enabled else 0
    caps = {
        "cpu-ondemand": team.max_vcpus - spot,
        "cpu-spot": spot,
        "gpu": team.gpu_max_vcpus,
        "fargate": team.fargate_vcpus,
    }
    return {kind: caps[kind] for kind in CE_KINDS if kind in enabled and caps[kind] > 0}


def queues_for(compute: ComputeSettings, team: Team) -> list[str]:
    """The job-queue kinds a team gets in an environment: ``cpu`` always (over its on-demand and Spot
    compute environments), ``gpu`` when it has a GPU compute environment, ``fargate`` when it has a Fargate
    one (Fargate compute environments cannot share a queue with EC2 ones)."""
    caps = team_caps(compute, team)
    return ["cpu"] + [kind for kind in ("gpu", "fargate") if kind in caps]


def resolve_spot_vcpus(compute: ComputeSettings | None, max_vcpus: int, spot_vcpus: int | None) -> int:
    """Of a team's maxVcpus, how many run on Spot: its ``spotVcpus``, else half of maxVcpus (rounded down)
    where the stack has Spot, else 0."""
    if spot_vcpus is not None:
        return spot_vcpus
    return max_vcpus // 2 if compute is not None and compute.spot.enabled else 0


def check_team_caps(
    c: ComputeSettings,
    *,
    max_vcpus: int,
    spot_vcpus: int | None,
    gpu_max_vcpus: int,
    fargate_vcpus: int,
    stack: str,
    path: str,
    key: str,
    issues: Issues,
) -> None:
    """A team's caps (its team file's ``key`` section: ``environments.<stack>``) against the stack's pools:
    each pool's maxVcpus is the most one team may be given of its kind. At most one issue per kind."""
    stack_file = f"stacks/Pulumi.{stack}.yaml"
    for name, value, pool, what in (
        ("gpuMaxVcpus", gpu_max_vcpus, "gpu", "GPU"),
        ("fargateVcpus", fargate_vcpus, "fargate", "Fargate"),
    ):
        disabled = "GPUs disabled" if pool == "gpu" else "Fargate disabled"
        enabled, cap = getattr(c, pool).enabled, getattr(c, pool).max_vcpus
        if value > 0 and not enabled:
            issues.add(
                path,
                f"{key}.{name}",
                f"a {what} quota of {value}, but stack {stack!r} has {disabled}",
                f"set {name}: 0 (or remove it), or enable strata:compute.{pool} in {stack_file}",
            )
        elif enabled and value > cap:
            issues.add(
                path,
                f"{key}.{name}",
                f"{value} exceeds the environment's {what} capacity for one team ({cap})",
                f"lower it to <= {cap}, or raise strata:compute.{pool}.maxVcpus in {stack_file}",
            )
    _check_cpu_caps(c, max_vcpus, spot_vcpus, stack, stack_file, path, key, issues)


def _check_cpu_caps(
    c: ComputeSettings, max_vcpus: int, given: int | None, stack: str, stack_file: str, path: str, key: str, issues: Issues
) -> None:
    """maxVcpus and its split into on-demand (``maxVcpus - spotVcpus``) and Spot (``spotVcpus``): each part at
    most its pool's maxVcpus. One issue at most, on the key to change."""
    if given is not None and given > 0 and not c.spot.enabled:
        issues.add(
            path,
            f"{key}.spotVcpus",
            f"{given} vCPUs on Spot, but stack {stack!r} has Spot disabled",
            f"set spotVcpus: 0 (or remove it), or enable strata:compute.spot in {stack_file}",
        )
        return
    spot_cap = c.spot.max_vcpus if c.spot.enabled else 0
    cpu_cap = c.cpu.max_vcpus + spot_cap
    if max_vcpus > cpu_cap:
        pools = f"cpu {c.cpu.max_vcpus} + spot {spot_cap}" if c.spot.enabled else f"cpu {c.cpu.max_vcpus}, no Spot"
        issues.add(
            path,
            f"{key}.maxVcpus",
            f"{max_vcpus} exceeds the environment's CPU capacity for one team ({cpu_cap}: {pools})",
            f"lower it to <= {cpu_cap}, or raise strata:compute.cpu/spot maxVcpus in {stack_file}",
        )
        return
    spot = resolve_spot_vcpus(c, max_vcpus, given)
    if spot > max_vcpus:
        issues.add(
            path,
            f"{key}.spotVcpus",
            f"{spot} vCPUs on Spot is more than the team's maxVcpus ({max_vcpus}); spotVcpus is the Spot part of maxVcpus",
            f"lower it to <= {max_vcpus}",
        )
        return
    # The splits that fit both pools (maxVcpus fits them together): Spot between these two bounds.
    low, high = max(0, max_vcpus - c.cpu.max_vcpus), min(max_vcpus, spot_cap)
    bounds = f"spotVcpus: {low}" if low == high else f"spotVcpus between {low} and {high}"
    where = f"{key}.spotVcpus" if given is not None else f"{key}.maxVcpus"
    omitted = "" if given is not None else " (spotVcpus omitted: half of maxVcpus)"
    if max_vcpus - spot > c.cpu.max_vcpus:
        issues.add(
            path,
            where,
            f"maxVcpus {max_vcpus} with {spot} on Spot{omitted} leaves {max_vcpus - spot} on-demand, above the "
            f"environment's on-demand capacity for one team ({c.cpu.max_vcpus})",
            f"set {bounds}, or lower maxVcpus, or raise strata:compute.cpu.maxVcpus in {stack_file}",
        )
    elif spot > spot_cap:
        issues.add(
            path,
            where,
            f"{spot} vCPUs on Spot{omitted} exceeds the environment's Spot capacity for one team ({spot_cap})",
            f"set {bounds}, or raise strata:compute.spot.maxVcpus in {stack_file}",
        )


def _kinds_phrase(kinds: Sequence[str]) -> str:
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"


def teams_that_fit(compute: ComputeSettings, teams: Sequence[Team]) -> int:
    """How many of ``teams``, taken in order with their own kinds, fit AWS Batch's per-region quotas."""
    ces = queues = 0
    for n, team in enumerate(teams):
        ces += len(team_caps(compute, team))
        queues += len(queues_for(compute, team))
        if ces > BATCH_MAX_COMPUTE_ENVIRONMENTS or queues > BATCH_MAX_JOB_QUEUES:
            return n
    return len(teams)


def check_batch_limits(compute: ComputeSettings, teams: Sequence[Team], path: str, issues: Issues) -> None:
    """Every team's compute environments and queues within AWS Batch's fixed per-region quotas (50 compute
    environments, 50 job queues, 3 compute environments per queue). Past them the stack is refused, with
    how many teams fit: there is no shared pool to fall back on (modules/compute/README.md, "Quotas")."""
    ces = sum(len(team_caps(compute, t)) for t in teams)
    queues = sum(len(queues_for(compute, t)) for t in teams)
    over = [f"{ces} compute environments"] if ces > BATCH_MAX_COMPUTE_ENVIRONMENTS else []
    over += [f"{queues} job queues"] if queues > BATCH_MAX_JOB_QUEUES else []
    if not over:
        return
    sets = Counter(tuple(team_caps(compute, t)) for t in teams)
    fit = teams_that_fit(compute, teams)
    if len(sets) == 1:
        (kinds,) = sets
        fits = f"{fit} teams with {_kinds_phrase(kinds)} fit in one region; this stack has {len(teams)}"
    else:
        mix = "; ".join(f"{n} with {_kinds_phrase(kinds)}" for kinds, n in sets.most_common())
        fits = f"{fit} of this stack's {len(teams)} teams fit in one region, taken in name order ({mix})"
    issues.add(
        path,
        "(teams)",
        f"{len(teams)} teams need {' and '.join(over)} (a compute environment per team and kind); AWS Batch allows "
        f"{BATCH_MAX_COMPUTE_ENVIRONMENTS} compute environments and {BATCH_MAX_JOB_QUEUES} job queues per region: {fits}",
        "split teams across regions or accounts (a stack per region), or drop a kind for some teams: "
        "spotVcpus: 0 (on-demand only), gpuMaxVcpus: 0, fargateVcpus: 0 in their team files",
    )
    # A queue holds at most BATCH_MAX_CES_PER_QUEUE compute environments; the largest here (cpu: on-demand
    # then Spot) holds 2, which modules.compute.policies.queue_compute_environments asserts.
