"""Pure decisions of the network layer: what each egress mode needs, which AZs, endpoint names, the
NAT instance's AMI architecture and boot script. No Pulumi import; tested without mocks.
"""

from __future__ import annotations

import re

from modules.network.settings import Egress

# Interface endpoints that let Batch on EC2 run with no route to the internet: pull images (ECR API +
# Docker registry; the layers themselves come from S3 through the gateway endpoint), talk to ECS
# (agent registration and telemetry), ship logs, and assume roles.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "sts", "ecs", "ecs-agent", "ecs-telemetry")

# Flow logs aggregate per 10 minutes by default; 60 s multiplies the records (and the $0.50/GB ingest).
FLOW_LOG_AGGREGATION_SECONDS = 600
ANY_IPV4 = "0.0.0.0/0"
# Root volume of the NAT instance: the size of the Amazon Linux 2023 AMI's snapshot (it cannot be smaller).
NAT_ROOT_VOLUME_GB = 8


def needs_public_subnets(egress: Egress) -> bool:
    """NAT (gateway or instance) lives in a public subnet behind an internet gateway; nothing else does."""
    return egress in (Egress.NAT_GATEWAY, Egress.NAT_INSTANCE)


def endpoint_service_name(region: str, service: str) -> str:
    """``com.amazonaws.<region>.<service>``, the service name of an AWS endpoint service."""
    return f"com.amazonaws.{region}.{service}"


def endpoint_suffix(service: str) -> str:
    """A logical-name suffix for an endpoint service (``ecr.api`` -> ``ecr-api``)."""
    return service.replace(".", "-")


def pick_zones(available: list[str], az_count: int) -> list[str]:
    """The first ``az_count`` available AZs of the region, or an error naming the key to fix."""
    if len(available) < az_count:
        raise ValueError(
            f"strata:network.azCount is {az_count} but the region has only {len(available)} available AZs "
            f"({', '.join(available)}); lower azCount"
        )
    return list(available[:az_count])


# Graviton instance families have a 'g' right after the generation digit: t4g, c7g, m6gd, r8g...
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")


def ami_architecture(instance_type: str) -> str:
    """The AMI architecture that boots on ``instance_type`` (``arm64`` for Graviton, else ``x86_64``)."""
    return "arm64" if _GRAVITON.match(instance_type) else "x86_64"


def al2023_ami_name_pattern(instance_type: str) -> str:
    """Name filter for the current Amazon Linux 2023 AMI (standard, not minimal) of the right architecture."""
    return f"al2023-ami-2023.*-{ami_architecture(instance_type)}"


def nat_instance_user_data(vpc_cidr: str) -> str:
    """Boot script turning Amazon Linux 2023 into a NAT: IPv4 forwarding + masquerade of the VPC's traffic.

    Follows AWS's "create a NAT AMI" steps for AL2023, made idempotent and persistent across reboots.
    https://docs.aws.amazon.com/vpc/latest/userguide/work-with-nat-instances.html#create-nat-ami
    The Elastic IP is attached moments after launch, so the package install retries until the
    instance can reach the repositories.
    """
    return f"""#!/bin/bash
set -euo pipefail
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-strata-nat.conf
sysctl --system
for attempt in $(seq 1 30); do
  dnf install -y iptables-services && break
  sleep 10
done
command -v iptables-save >/dev/null || {{ echo 'strata: iptables-services did not install' >&2; exit 1; }}
IFACE=$(ip -o route show default | awk '{{print $5; exit}}')
iptables -t nat -C POSTROUTING -o "$IFACE" -s {vpc_cidr} -j MASQUERADE 2>/dev/null \\
  || iptables -t nat -A POSTROUTING -o "$IFACE" -s {vpc_cidr} -j MASQUERADE
iptables -F FORWARD
iptables-save > /etc/sysconfig/iptables
systemctl enable --now iptables
"""
