"""``strata:network``: the network layer's settings and the checks that span its fields.

Pure (the core and pydantic; no Pulumi). The loader (``infra/config.py``) validates the section with
:class:`NetworkSettings`, then plans the subnets with :func:`check_network` from the compute capacity's
address demand, which it hands over as a plain value.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any

from pydantic import Field

from core import capacity
from core.issues import Issues
from core.settings import Model, check_log_retention, parse_network


class NetworkMode(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"


class Egress(StrEnum):
    """How private subnets reach the internet (container images, pip). Costs are us-east-1 list prices.

    * ``nat-gateway``: one managed NAT gateway ($32.85/month + $3.65 IPv4 + $0.045/GB). Production.
    * ``nat-instance``: one t4g.nano NAT instance (~$6.72/month with its IPv4). Fine for dev.
    * ``endpoints``: interface endpoints only (ECR, logs, STS...; $7.30 per endpoint per AZ); images
      must live in ECR. No route to the internet at all.
    * ``none``: S3 gateway endpoint only. For the local cloud and fully air-gapped accounts.
    """

    NAT_GATEWAY = "nat-gateway"
    NAT_INSTANCE = "nat-instance"
    ENDPOINTS = "endpoints"
    NONE = "none"


class NetworkSettings(Model):
    """``strata:network``: create a VPC sized from the compute capacity, or adopt an existing one."""

    # create: a new VPC; adopt: an existing VPC given by vpcId, privateSubnetIds and privateRouteTableIds.
    mode: NetworkMode = NetworkMode.CREATE
    # create: the VPC's private (RFC 1918) range, /16 to /28, large enough for the compute capacity.
    cidr: str | None = None
    # Availability Zones with a private subnet each (Redshift Serverless needs 3).
    az_count: int = Field(default=2, ge=2, le=6)
    egress: Egress = Egress.NAT_INSTANCE
    # egress nat-instance: the NAT instance's type.
    nat_instance_type: str = "t4g.nano"
    # VPC flow logs' retention; one of LOG_RETENTION_DAYS.
    flow_log_retention_days: int = 30
    # Explicit subnets (one per AZ) instead of the ones planned from the capacity.
    private_subnet_cidrs: tuple[str, ...] | None = None
    # Explicit public subnets (NAT egress only; one /28 per AZ is enough).
    public_subnet_cidrs: tuple[str, ...] | None = None
    # adopt: the VPC's id (vpc-...).
    vpc_id: str | None = None
    # adopt: private subnets in >= 2 AZs.
    private_subnet_ids: tuple[str, ...] = ()
    # adopt: the private subnets' route tables (for the S3 gateway endpoint).
    private_route_table_ids: tuple[str, ...] = ()


def check_network(n: NetworkSettings, demand: capacity.Demand | None, path: str, issues: Issues) -> capacity.SubnetPlan | None:
    """``strata:network`` rules that span fields, and the subnets planned for ``demand`` (the compute
    capacity's addresses; None when the compute section is invalid: its own problems are reported).

    Returns the subnet plan, or None when adopting a VPC or when anything is wrong."""
    check_log_retention(n.flow_log_retention_days, path, "strata:network.flowLogRetentionDays", issues)
    if n.mode is NetworkMode.ADOPT:
        if not n.vpc_id:
            issues.add(path, "strata:network.vpcId", "adopting a VPC needs its id", "set vpcId: vpc-... or use mode: create")
        if len(n.private_subnet_ids) < 2:
            issues.add(
                path,
                "strata:network.privateSubnetIds",
                "adopting a VPC needs private subnets in >= 2 AZs",
                "list at least two subnet ids",
            )
        if not n.private_route_table_ids:
            issues.add(
                path,
                "strata:network.privateRouteTableIds",
                "the S3 gateway endpoint needs the private route tables",
                "list the route table ids of the private subnets",
            )
        return None
    if n.cidr is None:
        issues.add(path, "strata:network.cidr", "creating a VPC needs its CIDR", "set cidr: 10.20.0.0/16 (any private range)")
        return None
    vpc = parse_network(n.cidr, path, "strata:network.cidr", issues, "10.20.0.0/16")
    if vpc is None:
        return None
    if not capacity.is_private(n.cidr):
        issues.add(
            path,
            "strata:network.cidr",
            f"{n.cidr} is not a private (RFC 1918) range",
            "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
        )
        return None
    if not 16 <= vpc.prefixlen <= 28:
        issues.add(path, "strata:network.cidr", f"VPC CIDRs must be /16 to /28, got /{vpc.prefixlen}", "use a /16 to /20")
        return None
    if demand is None:
        return None  # capacity unknown: its own problems are already reported
    with_public = n.egress in (Egress.NAT_GATEWAY, Egress.NAT_INSTANCE)
    if n.private_subnet_cidrs is not None:
        return _explicit_subnets(n, vpc, demand, with_public, path, issues)
    try:
        return capacity.plan_subnets(n.cidr, n.az_count, demand, with_public)
    except capacity.PlanError as exc:
        issues.add(
            path,
            "strata:network.cidr",
            f"{n.cidr} is too small for the configured capacity: {exc}",
            "use a larger VPC (e.g. a /16) or lower strata:compute maxVcpus",
        )
        return None


def _explicit_subnets(
    n: NetworkSettings, vpc: Any, demand: capacity.Demand, with_public: bool, path: str, issues: Issues
) -> capacity.SubnetPlan | None:
    key = "strata:network.privateSubnetCidrs"
    private = list(n.private_subnet_cidrs or ())
    public = list(n.public_subnet_cidrs or ())
    before = len(issues)
    if len(private) != n.az_count:
        issues.add(path, key, f"{len(private)} subnets for azCount {n.az_count}", "give one private subnet per AZ")
    if with_public and len(public) != n.az_count:
        issues.add(
            path,
            "strata:network.publicSubnetCidrs",
            f"NAT egress needs one public subnet per AZ, got {len(public)}",
            "list azCount public /28 subnets, or set egress: none / endpoints",
        )
    for k, cidr in [(key, c) for c in private] + [("strata:network.publicSubnetCidrs", c) for c in public]:
        net = parse_network(cidr, path, k, issues, "10.20.0.0/20")
        if net is None:
            continue
        if net.version != vpc.version or not net.subnet_of(vpc):
            issues.add(path, k, f"{cidr} is outside the VPC {vpc}", f"choose subnets inside {vpc}")
    if len(issues) > before:
        return None
    for a, b in capacity.overlapping(private + public):
        issues.add(path, "strata:network", f"subnets {a} and {b} overlap", "give every subnet its own address range")
    per_az = -(-demand.total // n.az_count)
    too_small = [c for c in private if ipaddress.ip_network(c).prefixlen > capacity.private_prefix_for(per_az)]
    for c in too_small:
        issues.add(
            path,
            key,
            f"{c} is too small for the configured capacity ({per_az} addresses per AZ at peak)",
            f"use at least a /{capacity.private_prefix_for(per_az)} or lower strata:compute maxVcpus",
        )
    if len(issues) > before:
        return None
    usable = sum(ipaddress.ip_network(c).num_addresses - capacity.RESERVED_PER_SUBNET for c in private)
    return capacity.SubnetPlan(private=tuple(private), public=tuple(public), usable_private_ips=usable)
