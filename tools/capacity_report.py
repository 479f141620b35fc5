"""`strata capacity`: how many Batch tasks each team can run at once, which limit stops it first, the AWS
Batch quotas the stack uses, and how long submitting a workload takes.

Pure arithmetic over the validated config (:class:`infra.config.Platform`): no Pulumi, no boto3, no AWS
call. Every team has compute environments of its own (``modules.compute.settings.team_caps``), so the
report is per team. What it weighs, per compute environment and per queue, for one task size:

* the compute environment's ``maxvCpus``: the team's cap from its team file (``maxVcpus`` split into
  on-demand and ``spotVcpus``, ``gpuMaxVcpus``, ``fargateVcpus``), which Batch enforces;
* memory: Batch places a job only on an instance with that much memory free, so a task that needs more
  memory per vCPU than the pool's roomiest instance family holds takes more than its vCPUs
  (:data:`GIB_PER_VCPU`, :data:`MEMORY_FOR_JOBS`);
* subnet IPs (``core.capacity``): one per EC2 instance (bridge networking), one per Fargate task (awsvpc);
* the fixed AWS Batch quotas (queues, compute environments, array size, SubmitJob rate).

EC2 and Fargate vCPU quotas are per account and adjustable: they are named, never guessed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core import capacity, naming
from core.naming import QUEUE_KINDS
from core.settings import Team
from infra.config import Platform
from modules.compute.settings import (
    BATCH_MAX_CES_PER_QUEUE,
    BATCH_MAX_COMPUTE_ENVIRONMENTS,
    BATCH_MAX_JOB_QUEUES,
    ComputeSettings,
    queues_for,
    team_caps,
)

# ---------------------------------------------------------------- fixed limits and assumptions

# AWS Batch quotas that can't be changed (per region; SubmitJob per account):
# https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
BATCH_MAX_ARRAY_SIZE = 10_000
BATCH_SUBMIT_JOB_TPS = 50
BATCH_MAX_SUBMITTED_JOBS = 1_000_000

# Memory per vCPU of the instance families the pools name: c (compute optimised) 2 GiB, m (general
# purpose) 4 GiB, r (memory optimised) 8 GiB, g4dn/g5/g6 4 GiB, at every size of the current generations.
# https://aws.amazon.com/ec2/instance-types/
# A family not listed here is left out of the memory estimate; a pool of only unknown families is
# assumed to have the least (c: 2 GiB per vCPU).
GIB_PER_VCPU = {"c": 2.0, "m": 4.0, "r": 8.0, "g": 4.0}
FALLBACK_GIB_PER_VCPU = 2.0
# Batch's "optimal", "default_x86_64" and "default_arm64" pick among c, m and r families (m6i, c6i, r6i, c7i / Graviton).
# https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html
BATCH_CHOSEN_TYPES = ("optimal", "default_x86_64", "default_arm64")
OPTIMAL_FAMILIES = ("c", "m", "r")
# Jobs get less memory than an instance has: kernel and platform overhead, plus 32 MiB the ECS agent
# reserves (an m4.large registers 7,985 of 8,192 MiB). AWS recommends a 5% buffer; we assume 95% is usable.
# https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html
MEMORY_FOR_JOBS = 0.95

# Fargate takes only these vCPU / memory pairs (GiB); Batch rejects any other job size.
# https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html
FARGATE_SIZES: dict[float, tuple[float, ...]] = {
    0.25: (0.5, 1, 2),
    0.5: (1, 2, 3, 4),
    1: tuple(range(2, 9)),
    2: tuple(range(4, 17)),
    4: tuple(range(8, 31)),
    8: tuple(range(16, 61, 4)),
    16: tuple(range(32, 121, 8)),
    32: (60, 120, 244),
}

# The per-account, adjustable quota that also caps each pool (Service Quotas; not visible offline).
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-resource-limits.html
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html#service-quotas-fargate
EXTERNAL_QUOTAS = {
    "cpu-ondemand": "EC2 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' (vCPUs)",
    "cpu-spot": "EC2 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' (vCPUs)",
    "gpu": "EC2 'Running On-Demand G and VT instances' (vCPUs)",
    "fargate": "Fargate 'On-Demand vCPU resource count'",
}

# Team caps come from the team files, and each team's compute environments are sized from them
# (modules.compute.settings.team_caps): Batch never runs more than a team's caps for that team.
TEAM_CAPS_ENFORCED = True

WORKLOAD_KINDS = ("cpu", "spot", "gpu", "fargate")
# The compute environments behind each of a team's queue kinds, in the order Batch tries them (those the
# team has); the same order as modules.compute.policies.queue_compute_environments (tests keep them equal).
QUEUE_POOLS = {"cpu": ("cpu-ondemand", "cpu-spot"), "spot": ("cpu-spot",), "gpu": ("gpu",), "fargate": ("fargate",)}
POOL_KEYS = {"cpu-ondemand": "cpu", "cpu-spot": "spot", "gpu": "gpu", "fargate": "fargate"}

# ---------------------------------------------------------------- workload spec


class WorkloadError(ValueError):
    """A ``--workload`` spec that can't be read; the message names the spec, the problem and an example."""


@dataclass(frozen=True)
class TaskSize:
    vcpus: float = 1
    memory_gib: float = 2

    def __str__(self) -> str:
        return f"{self.vcpus:g} vCPU / {self.memory_gib:g} GiB"


@dataclass(frozen=True)
class Workload:
    spec: str
    shape: tuple[int, ...]
    """``(200, 100)`` for ``200x100``: the fan-out as written; ``tasks`` is its product."""
    size: TaskSize
    kind: str = "cpu"
    """The queue the tasks go to: ``cpu`` (on-demand, then Spot), ``gpu``, ``fargate``; or ``spot``: the Spot pool alone."""

    @property
    def tasks(self) -> int:
        return math.prod(self.shape)


_EXAMPLE = "e.g. 200x100:1vcpu:4gib (200 models x 100 settings), 20000:1vcpu:4gib or 500:0.5vcpu:1gib:fargate"
_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"


def parse_workload(spec: str) -> Workload:
    """Read ``COUNT:<K>vcpu:<G>gib[:KIND]`` where COUNT is ``N`` or ``NxM[x...]`` and KIND one of WORKLOAD_KINDS."""

    def bad(problem: str) -> WorkloadError:
        return WorkloadError(f"workload {spec!r}: {problem}; {_EXAMPLE}")

    parts = spec.strip().lower().split(":")
    if len(parts) not in (3, 4):
        raise bad(f"expected COUNT:<K>vcpu:<G>gib[:{'|'.join(WORKLOAD_KINDS)}], got {len(parts)} part(s)")
    count, vcpu, memory, *kind = parts
    if not re.fullmatch(r"\d+(x\d+)*", count):
        raise bad(f"the task count {count!r} is not N or NxM (whole numbers)")
    shape = tuple(int(n) for n in count.split("x"))
    if any(n == 0 for n in shape):
        raise bad("the task count must be at least 1")
    if not (m := re.fullmatch(_NUMBER + r"vcpus?", vcpu)):
        raise bad(f"{vcpu!r} is not a vCPU count such as 1vcpu or 0.5vcpu")
    vcpus = float(m.group(1))
    if not (m := re.fullmatch(_NUMBER + r"gib", memory)):
        hint = " (memory is in GiB: write gib)" if re.fullmatch(_NUMBER + r"(gb|g|mib|mb)", memory) else ""
        raise bad(f"{memory!r} is not a memory size such as 4gib{hint}")
    memory_gib = float(m.group(1))
    if vcpus <= 0 or memory_gib <= 0:
        raise bad("vCPUs and memory must be greater than 0")
    kind_name = kind[0] if kind else "cpu"
    if kind_name not in WORKLOAD_KINDS:
        raise bad(f"unknown kind {kind_name!r}; use one of {', '.join(WORKLOAD_KINDS)}")
    return Workload(spec=spec, shape=shape, size=TaskSize(vcpus, memory_gib), kind=kind_name)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Limit:
    name: str
    """``maxvCpus``, ``memory``, ``subnet IPs``, ``task size``, ``team maxVcpus``, ``team gpuMaxVcpus``, ``disabled``."""
    tasks: int | None
    """The most tasks of the size this limit allows; ``None`` when it can't be known offline."""
    source: str


def _tightest(limits: tuple[Limit, ...]) -> Limit:
    known = [lim for lim in limits if lim.tasks is not None]
    return min(known, key=lambda lim: lim.tasks)  # type: ignore[arg-type,return-value]  # first wins a tie


@dataclass(frozen=True)
class PoolCapacity:
    """One compute environment: the most tasks of one size it runs at once, and why not more."""

    kind: str
    max_vcpus: int
    limits: tuple[Limit, ...]
    external_quota: str
    team: str = ""
    """The team whose compute environment this is; empty for a pool at the stack's ceiling (no team)."""
    name: str = ""
    """The compute environment's name (``naming.compute_environment``); empty without a team."""

    @property
    def tasks(self) -> int:
        return self.binding.tasks or 0

    @property
    def binding(self) -> Limit:
        return _tightest(self.limits)


@dataclass(frozen=True)
class QueueCapacity:
    """A team's queue of one kind: the team's compute environments behind it, sharing the subnets' IPs."""

    kind: str
    pools: tuple[PoolCapacity, ...]
    team: str = ""
    name: str = ""
    """The queue's name (``naming.job_queue``); empty for a what-if (``spot``) or when no team has the kind."""

    @property
    def tasks(self) -> int:
        return sum(p.tasks for p in self.pools)

    @property
    def binding(self) -> str:
        names: dict[str, list[str]] = {}
        for p in self.pools:
            names.setdefault(p.binding.name, []).append(p.kind)
        return "; ".join(f"{name} ({', '.join(kinds)})" for name, kinds in names.items()) or "disabled"


@dataclass(frozen=True)
class TeamCapacity:
    team: str
    queue: str
    cap_vcpus: int | None
    """The team file's cap for this queue (``maxVcpus``, ``spotVcpus``, ``gpuMaxVcpus``, ``fargateVcpus``)."""
    pool_tasks: int
    """What the team's compute environments behind the queue run at once (they are sized by the cap)."""
    tasks: int
    binding: str
    enforced: bool


@dataclass(frozen=True)
class QuotaUse:
    name: str
    used: int
    limit: int
    note: str = ""


@dataclass(frozen=True)
class Submission:
    """SubmitJob calls for ``tasks`` jobs at the fixed 50 TPS: one per job, or one per array of <= 10,000."""

    tasks: int

    @property
    def single_calls(self) -> int:
        return self.tasks

    @property
    def single_seconds(self) -> float:
        return self.tasks / BATCH_SUBMIT_JOB_TPS

    @property
    def array_calls(self) -> int:
        return math.ceil(self.tasks / BATCH_MAX_ARRAY_SIZE)

    @property
    def array_seconds(self) -> float:
        return self.array_calls / BATCH_SUBMIT_JOB_TPS


@dataclass(frozen=True)
class WorkloadAnswer:
    workload: Workload
    queue: QueueCapacity
    submission: Submission
    teams: tuple[TeamCapacity, ...]

    @property
    def fits(self) -> bool:
        """Every task can run at the same time on the queue's compute environments."""
        return self.workload.tasks <= self.queue.tasks

    @property
    def waves(self) -> int | None:
        return math.ceil(self.workload.tasks / self.queue.tasks) if self.queue.tasks else None


@dataclass(frozen=True)
class CapacityReport:
    stack: str
    size: TaskSize
    pools: tuple[PoolCapacity, ...]
    """Every team's compute environments, each on its own (the others idle)."""
    queues: tuple[QueueCapacity, ...]
    """Every team's queues: each queue's compute environments together."""
    all_pools_tasks: int
    """Every team's compute environments busy at once (subnet IPs shared)."""
    teams: tuple[TeamCapacity, ...]
    quotas: tuple[QuotaUse, ...]
    batch_ips: int | None
    ip_source: str
    headline: QueueCapacity
    """The question's queue kind (the workload's, else ``cpu``) of the team that runs the most at once."""
    workload: WorkloadAnswer | None = None


# ---------------------------------------------------------------- arithmetic


def _gib_per_vcpu(instance_types: tuple[str, ...]) -> float:
    """The most memory per vCPU among the pool's families: Batch can always pick that family."""
    families: list[str] = []
    for t in instance_types:
        families += list(OPTIMAL_FAMILIES) if t in BATCH_CHOSEN_TYPES else [re.match(r"[a-z]*", t).group()]  # type: ignore[union-attr]
    known = [GIB_PER_VCPU[f] for f in families if f in GIB_PER_VCPU]
    return max(known) if known else FALLBACK_GIB_PER_VCPU


def _instance_types(c: ComputeSettings, kind: str) -> tuple[str, ...]:
    return {"cpu-ondemand": c.cpu.instance_types, "cpu-spot": c.spot.instance_types, "gpu": c.gpu.instance_types}.get(kind, ())


def enabled_pools(c: ComputeSettings) -> tuple[str, ...]:
    return tuple(c.compute_environment_kinds())


def _footprint(c: ComputeSettings, kind: str, size: TaskSize) -> float:
    """Instance vCPUs one EC2 task occupies: its own, or more when its memory needs a bigger share."""
    return max(size.vcpus, size.memory_gib / (_gib_per_vcpu(_instance_types(c, kind)) * MEMORY_FOR_JOBS))


def _ips_for(c: ComputeSettings, kind: str, size: TaskSize, tasks: int) -> int:
    """Worst-case addresses ``tasks`` running tasks hold (the smallest instances, as core.capacity plans)."""
    if kind == "fargate":
        return tasks
    per_instance = capacity.MIN_VCPUS_PER_GPU_INSTANCE if kind == "gpu" else capacity.MIN_VCPUS_PER_CPU_INSTANCE
    return math.ceil(tasks * _footprint(c, kind, size) / per_instance)


# The team-file key behind each kind of a team's compute environment (its maxvCpus).
TEAM_KEYS = {"cpu-ondemand": "maxVcpus - spotVcpus", "cpu-spot": "spotVcpus", "gpu": "gpuMaxVcpus", "fargate": "fargateVcpus"}


def pool_capacity(
    c: ComputeSettings, kind: str, size: TaskSize, ips: int | None, ip_source: str, team: Team | None = None, env: str = ""
) -> PoolCapacity:
    """The most ``size`` tasks a compute environment of ``kind`` runs at once with ``ips`` free addresses:
    ``team``'s (capped at its team-file cap), or without a team one at the pool's maxVcpus (the most a team
    may be given)."""
    if team is None:
        max_vcpus, source, name = c.pool_max_vcpus(kind), f"strata:compute.{POOL_KEYS[kind]}.maxVcpus", ""
    else:
        max_vcpus, name = team_caps(c, team)[kind], naming.compute_environment(env, team.name, kind)
        source = f"team {team.name}: {TEAM_KEYS[kind]}"
    limits = [Limit("maxvCpus", math.floor(max_vcpus / size.vcpus), f"{source} = {max_vcpus}")]
    if kind == "fargate":
        sizes = FARGATE_SIZES.get(size.vcpus, ())
        if size.memory_gib not in sizes:
            offered = f"{size.vcpus:g} vCPU takes {', '.join(f'{m:g}' for m in sizes)} GiB" if sizes else "vCPUs 0.25-32"
            limits.append(Limit("task size", 0, f"Fargate has no {size} task ({offered})"))
        per_task_ips = 1.0
    else:
        if size.vcpus < 1:
            limits.append(Limit("task size", 0, "EC2 jobs take at least 1 vCPU"))
        gib = _gib_per_vcpu(_instance_types(c, kind))
        by_memory = math.floor(max_vcpus * gib * MEMORY_FOR_JOBS / size.memory_gib)
        families = ", ".join(_instance_types(c, kind))
        limits.append(
            Limit("memory", by_memory, f"{gib:g} GiB per vCPU at best ({families}), {MEMORY_FOR_JOBS:.0%} usable by jobs")
        )
        per_instance = capacity.MIN_VCPUS_PER_GPU_INSTANCE if kind == "gpu" else capacity.MIN_VCPUS_PER_CPU_INSTANCE
        per_task_ips = _footprint(c, kind, size) / per_instance
    by_ips = None if ips is None else math.floor(max(ips, 0) / per_task_ips)
    limits.append(Limit("subnet IPs", by_ips, ip_source))
    return PoolCapacity(
        kind=kind,
        max_vcpus=max_vcpus,
        limits=tuple(limits),
        external_quota=EXTERNAL_QUOTAS[kind],
        team=team.name if team else "",
        name=name,
    )


def pools_together(
    c: ComputeSettings,
    kinds: tuple[str, ...],
    size: TaskSize,
    ips: int | None,
    ip_source: str,
    team: Team | None = None,
    env: str = "",
) -> tuple[PoolCapacity, ...]:
    """Compute environments busy together, in order: each takes what it can of the addresses the previous
    ones left. ``team``'s (those of ``kinds`` it has), or at the pools' maxVcpus without a team."""
    result = []
    for kind in kinds:
        pool = pool_capacity(c, kind, size, ips, ip_source, team, env)
        result.append(pool)
        if ips is not None:
            ips -= _ips_for(c, kind, size, pool.tasks)
    return tuple(result)


def batch_ips(platform: Platform, subnet_ips: int | None = None) -> tuple[int | None, str]:
    """Addresses left for Batch in the private subnets, and where the number comes from."""
    n = platform.settings.network
    azs = len(n.private_subnet_ids) if platform.subnets is None else len(platform.subnets.private)
    reserved = capacity.FIXED_OVERHEAD_PER_AZ * azs
    if subnet_ips is not None:
        return subnet_ips - reserved, f"{subnet_ips:,} free IPs (--subnet-ips) - {reserved} for endpoints and services"
    if platform.subnets is None:
        return None, "adopted VPC: subnet sizes unknown offline (pass --subnet-ips)"
    usable = platform.subnets.usable_private_ips
    return (
        usable - reserved,
        f"{usable:,} usable in {', '.join(platform.subnets.private)} - {reserved} for endpoints and services",
    )


def team_cap_vcpus(team: Team, queue: str) -> int | None:
    """A team's vCPU cap on one queue kind, from its (resolved) team file: what its compute environments
    behind the queue are sized to (``modules.compute.settings.team_caps``)."""
    return {"cpu": team.max_vcpus, "spot": team.spot_vcpus, "gpu": team.gpu_max_vcpus, "fargate": team.fargate_vcpus}.get(queue)


CAP_KEYS = {"cpu": "maxVcpus", "spot": "spotVcpus", "gpu": "gpuMaxVcpus", "fargate": "fargateVcpus"}


def team_queue(
    c: ComputeSettings, team: Team, kind: str, size: TaskSize, ips: int | None, ip_source: str, env: str
) -> QueueCapacity:
    """``team``'s queue of ``kind``: its compute environments behind it (``spot``: its Spot one alone, a what-if)."""
    kinds = tuple(k for k in QUEUE_POOLS[kind] if k in team_caps(c, team))
    name = naming.job_queue(env, team.name, kind) if kind in queues_for(c, team) else ""
    return QueueCapacity(kind, pools_together(c, kinds, size, ips, ip_source, team, env), team.name, name)


def team_capacity(team: Team, queue: QueueCapacity, size: TaskSize) -> TeamCapacity:
    """A team's row for one of its queues. Its compute environments are sized by its cap, so the cap binds
    as their maxvCpus (``team maxVcpus``), unless memory, the task size or subnet IPs bind first."""
    cap = team_cap_vcpus(team, queue.kind)
    caps_bind = bool(queue.pools) and all(p.binding.name == "maxvCpus" for p in queue.pools)
    binding = f"team {CAP_KEYS[queue.kind]}" if caps_bind else queue.binding
    return TeamCapacity(team.name, queue.kind, cap, queue.tasks, queue.tasks, binding, TEAM_CAPS_ENFORCED)


def compute_environment_count(platform: Platform) -> int:
    """Compute environments the stack creates: one per team and kind with a cap above 0."""
    return sum(len(team_caps(platform.settings.compute, t)) for t in platform.teams)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _kinds(kinds: Sequence[str]) -> str:
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"


def _like(kinds: Sequence[str]) -> Team:
    """A new team with a compute environment of each of ``kinds`` (1 vCPU each), for what-if counts."""
    cpu = {"cpu-ondemand", "cpu-spot"} & set(kinds)
    return Team(
        name="new",
        cost_center="",
        contacts=(),
        priority=10,
        max_vcpus=len(cpu),
        gpu_max_vcpus=int("gpu" in kinds),
        principals=(),
        spot_vcpus=int("cpu-spot" in kinds),
        fargate_vcpus=int("fargate" in kinds),
    )


def teams_per_region(c: ComputeSettings, kinds: Sequence[str]) -> int:
    """How many teams, each with a compute environment of every one of ``kinds``, fit one region's Batch quotas."""
    like = _like(kinds)
    per_ce, per_queue = len(team_caps(c, like)), len(queues_for(c, like))
    return min(BATCH_MAX_COMPUTE_ENVIRONMENTS // per_ce, BATCH_MAX_JOB_QUEUES // per_queue)


def quota_use(platform: Platform) -> tuple[QuotaUse, ...]:
    """The fixed per-region Batch quotas the stack's teams use, and how many teams fit."""
    c = platform.settings.compute
    caps = [team_caps(c, t) for t in platform.teams]
    queues = sum(len(queues_for(c, t)) for t in platform.teams)
    ces = sum(len(k) for k in caps)
    by_kind = Counter(kind for k in caps for kind in k)
    ce_note = ", ".join(f"{kind} {by_kind[kind]}" for kind in enabled_pools(c) if by_kind[kind])
    by_queue = Counter(q for t in platform.teams for q in queues_for(c, t))
    queue_note = ", ".join(f"{kind} {by_queue[kind]}" for kind in QUEUE_KINDS if by_queue[kind])
    per_queue = max(
        (len(team_caps(c, t).keys() & set(QUEUE_POOLS[q])) for t in platform.teams for q in queues_for(c, t)), default=0
    )
    full = [k for k in enabled_pools(c) if k != "fargate"]
    cpu_only = [k for k in full if k.startswith("cpu")]
    others = [(_kinds(cpu_only) + " only", teams_per_region(c, cpu_only))] if cpu_only != full else []
    if "fargate" in enabled_pools(c):
        others.append(("Fargate too", teams_per_region(c, [*full, "fargate"])))
    fit_note = "; ".join(f"{n} with {what}" for what, n in others)
    return (
        QuotaUse("job queues", queues, BATCH_MAX_JOB_QUEUES, f"by kind: {queue_note}" if queue_note else "no team"),
        QuotaUse(
            "compute environments",
            ces,
            BATCH_MAX_COMPUTE_ENVIRONMENTS,
            f"one per team and kind: {ce_note}" if ce_note else "no team",
        ),
        QuotaUse("compute environments per queue", per_queue, BATCH_MAX_CES_PER_QUEUE, "cpu: on-demand then Spot"),
        QuotaUse(
            f"teams, with {_kinds(full)} each",
            len(platform.teams),
            teams_per_region(c, full),
            f"{fit_note + '; ' if fit_note else ''}no compute environment is shared between teams (docs/capacity.md)",
        ),
    )


def capacity_report(platform: Platform, workload: Workload | None = None, subnet_ips: int | None = None) -> CapacityReport:
    """The whole report for a validated stack; ``workload`` sets the task size and adds its answer."""
    c, env = platform.settings.compute, platform.environment
    size = workload.size if workload else TaskSize()
    ips, ip_source = batch_ips(platform, subnet_ips)
    pools = tuple(pool_capacity(c, kind, size, ips, ip_source, t, env) for t in platform.teams for kind in team_caps(c, t))
    queues = tuple(team_queue(c, t, q, size, ips, ip_source, env) for t in platform.teams for q in queues_for(c, t))
    # Every team's compute environments busy at once, in team order, sharing the subnets' addresses.
    all_pools, left = 0, ips
    for t in platform.teams:
        together = pools_together(c, tuple(team_caps(c, t)), size, left, ip_source, t, env)
        all_pools += sum(p.tasks for p in together)
        if left is not None:
            left -= sum(_ips_for(c, p.kind, size, p.tasks) for p in together)
    teams = tuple(team_capacity(t, q, size) for t in platform.teams for q in queues if q.team == t.name)
    kind = workload.kind if workload else "cpu"
    candidates = [team_queue(c, t, kind, size, ips, ip_source, env) for t in platform.teams if _team_has(c, t, kind)]
    # The headline is the team that runs the most at once: a flow runs as one team, on its queues only.
    headline = max(candidates, key=lambda q: q.tasks, default=QueueCapacity(kind, ()))
    answer = None
    if workload:
        team_rows = tuple(team_capacity(t, q, size) for t in platform.teams for q in candidates if q.team == t.name)
        answer = WorkloadAnswer(workload, headline, Submission(workload.tasks), team_rows)
    return CapacityReport(
        stack=env,
        size=size,
        pools=pools,
        queues=queues,
        all_pools_tasks=all_pools,
        teams=teams,
        quotas=quota_use(platform),
        batch_ips=ips,
        ip_source=ip_source,
        headline=headline,
        workload=answer,
    )


def _team_has(c: ComputeSettings, team: Team, kind: str) -> bool:
    """``team`` has a compute environment behind a queue of ``kind`` (``spot``: its Spot one)."""
    return bool(set(QUEUE_POOLS[kind]) & team_caps(c, team).keys())


def as_dict(report: CapacityReport) -> dict:
    """A JSON-ready view (``--format json``), derived figures included."""

    def pool(p: PoolCapacity) -> dict:
        return {
            "team": p.team,
            "name": p.name,
            "kind": p.kind,
            "maxVcpus": p.max_vcpus,
            "tasks": p.tasks,
            "binding": p.binding.name,
            "limits": [{"name": lim.name, "tasks": lim.tasks, "source": lim.source} for lim in p.limits],
            "externalQuota": p.external_quota,
        }

    def queue(q: QueueCapacity) -> dict:
        return {
            "team": q.team,
            "name": q.name,
            "kind": q.kind,
            "tasks": q.tasks,
            "binding": q.binding,
            "pools": [pool(p) for p in q.pools],
        }

    def team(t: TeamCapacity) -> dict:
        return {
            "team": t.team,
            "queue": t.queue,
            "capVcpus": t.cap_vcpus,
            "tasks": t.tasks,
            "binding": t.binding,
            "enforced": t.enforced,
        }

    out: dict = {
        "stack": report.stack,
        "taskSize": {"vcpus": report.size.vcpus, "memoryGib": report.size.memory_gib},
        "pools": [pool(p) for p in report.pools],
        "queues": [queue(q) for q in report.queues],
        "allPoolsTasks": report.all_pools_tasks,
        "teams": [team(t) for t in report.teams],
        "batchQuotas": [{"name": q.name, "used": q.used, "limit": q.limit, "note": q.note} for q in report.quotas],
        "subnetIps": {"forBatch": report.batch_ips, "source": report.ip_source},
        "headline": {
            "team": report.headline.team,
            "queue": report.headline.kind,
            "tasks": report.headline.tasks,
            "binding": report.headline.binding,
        },
    }
    if a := report.workload:
        s = a.submission
        out["workload"] = {
            "spec": a.workload.spec,
            "tasks": a.workload.tasks,
            "kind": a.workload.kind,
            "fits": a.fits,
            "team": a.queue.team,
            "concurrent": a.queue.tasks,
            "waves": a.waves,
            "binding": a.queue.binding,
            "submission": {
                "tps": BATCH_SUBMIT_JOB_TPS,
                "singleCalls": s.single_calls,
                "singleSeconds": s.single_seconds,
                "arrayCalls": s.array_calls,
                "arraySeconds": s.array_seconds,
            },
            "teams": [team(t) for t in a.teams],
        }
    return out
