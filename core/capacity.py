"""Address planning from the capacity config: how many IPs Batch can ask for, and the subnets that hold them.

Pure logic (``ipaddress`` only), shared by the config validator, which rejects a VPC that is too
small before anything is declared, and by the network module, which carves exactly these subnets.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from dataclasses import dataclass

# AWS keeps the first four and the last address of every subnet.
# https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
RESERVED_PER_SUBNET = 5
# EC2 Batch instances use bridge networking: one IP per *instance*, whatever number of jobs it runs.
# The smallest instance Batch places for the default families (c6i/m6i .large) has 2 vCPUs, so that
# is the worst case of instances per vCPU.
MIN_VCPUS_PER_CPU_INSTANCE = 2
# g5.xlarge / g4dn.xlarge: the smallest GPU instances have 4 vCPUs.
MIN_VCPUS_PER_GPU_INSTANCE = 4
# A Fargate task always takes its own ENI (awsvpc); the smallest task is 0.25 vCPU.
FARGATE_TASKS_PER_VCPU = 4
# Interface endpoints, a NAT instance's ENI, Lambda-in-VPC and the like; a small fixed margin.
FIXED_OVERHEAD_PER_AZ = 16
# Never carve private subnets smaller than this: a /24 costs nothing and leaves room to grow.
MIN_PRIVATE_PREFIX = 24
PUBLIC_PREFIX = 28

# ``ip_network`` returns either version; the helpers below accept both.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True)
class Demand:
    """Peak address demand of the compute layer."""

    cpu_instances: int
    gpu_instances: int
    fargate_tasks: int

    @property
    def total(self) -> int:
        return self.cpu_instances + self.gpu_instances + self.fargate_tasks


def address_demand(cpu_vcpus: int, gpu_vcpus: int, fargate_vcpus: int) -> Demand:
    """Worst-case number of IPs the compute environments can claim when all scale to their maximum."""
    return Demand(
        cpu_instances=math.ceil(cpu_vcpus / MIN_VCPUS_PER_CPU_INSTANCE),
        gpu_instances=math.ceil(gpu_vcpus / MIN_VCPUS_PER_GPU_INSTANCE),
        fargate_tasks=fargate_vcpus * FARGATE_TASKS_PER_VCPU,
    )


def private_prefix_for(hosts_per_az: int) -> int:
    """The longest prefix whose subnet holds ``hosts_per_az`` usable addresses (never longer than /24)."""
    needed = hosts_per_az + FIXED_OVERHEAD_PER_AZ + RESERVED_PER_SUBNET
    prefix = 32 - math.ceil(math.log2(max(needed, 2)))
    return min(prefix, MIN_PRIVATE_PREFIX)


@dataclass(frozen=True)
class SubnetPlan:
    private: tuple[str, ...]
    public: tuple[str, ...]
    usable_private_ips: int


class PlanError(ValueError):
    """The VPC cannot hold what the capacity config asks for; the message says what would fit."""


def _within(inner: Network, outer: Network) -> bool:
    """``inner.subnet_of(outer)`` for networks of either version; across versions it is False (subnet_of raises)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def is_private(cidr: str) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    # The private ranges are IPv4 (RFC 1918); an IPv6 network is never inside one (subnet_of would raise).
    return isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(r) for r in PRIVATE_RANGES)


def plan_subnets(cidr: str, az_count: int, demand: Demand, with_public: bool) -> SubnetPlan:
    """Carve ``az_count`` private subnets sized for ``demand`` (+ /28 public ones for NAT) out of ``cidr``."""
    vpc = ipaddress.ip_network(cidr)
    per_az = math.ceil(demand.total / az_count)
    prefix = private_prefix_for(per_az)
    if prefix < vpc.prefixlen:
        raise PlanError(f"a /{vpc.prefixlen} cannot hold one /{prefix} private subnet per AZ ({per_az} addresses per AZ at peak)")
    blocks: Iterator[Network] = vpc.subnets(new_prefix=prefix)
    private = [b for b in (next(blocks, None) for _ in range(az_count)) if b is not None]
    if len(private) < az_count:
        raise PlanError(
            f"a /{vpc.prefixlen} holds fewer than {az_count} private /{prefix} subnets ({per_az} addresses per AZ at peak)"
        )
    public: list[Network] = []
    if with_public:
        start = int(private[-1].broadcast_address) + 1
        for i in range(az_count):
            net = ipaddress.ip_network((start + i * 2 ** (32 - PUBLIC_PREFIX), PUBLIC_PREFIX))
            if not _within(net, vpc):
                raise PlanError(
                    f"a /{vpc.prefixlen} has no room left for the /{PUBLIC_PREFIX} public subnets "
                    f"that NAT egress needs after {az_count} private /{prefix} subnets"
                )
            public.append(net)
    usable = sum(p.num_addresses - RESERVED_PER_SUBNET for p in private)
    return SubnetPlan(
        private=tuple(str(p) for p in private),
        public=tuple(str(p) for p in public),
        usable_private_ips=usable,
    )


def overlapping(cidrs: list[str]) -> list[tuple[str, str]]:
    """Every pair of CIDRs in ``cidrs`` that overlap."""
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    return [(str(a), str(b)) for i, a in enumerate(nets) for b in nets[i + 1 :] if a.version == b.version and a.overlaps(b)]
