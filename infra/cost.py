"""Idle cost: what a deployed stack bills per month when nobody runs anything.

Pure arithmetic over the resources a program declares (type + inputs), priced with us-east-1 list
prices from ``shared/data/aws-prices-us-east-1.md`` (compiled 2026-11-26; 730 hours a month).
Usage-priced items (S3 storage, requests, log ingestion, Batch instances while jobs run) are zero
at idle and listed separately as notes, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HOURS = 730
PRICES = {
    "nat_gateway_hour": 0.045,
    "public_ipv4_hour": 0.005,
    "interface_endpoint_az_hour": 0.01,
    "kms_key_month": 1.00,
    "gp3_gb_month": 0.08,
    "ec2_hour": {"t4g.nano": 0.0042, "t4g.micro": 0.0084},
}
# Declared resources that cost nothing while idle (pay-per-use or free), so the model knows them.
FREE_AT_IDLE = {
    "aws:batch/computeEnvironment:ComputeEnvironment": "Batch is free; instances bill only while jobs run (min vCPUs 0)",
    "aws:batch/jobQueue:JobQueue": "free",
    "aws:ssm/parameter:Parameter": "standard parameters are free",
    "aws:s3/bucket:Bucket": "storage and requests only ($0.023/GB-month)",
    "aws:cloudwatch/logGroup:LogGroup": "ingestion $0.50/GB and storage $0.03/GB-month only",
    "aws:ec2/flowLog:FlowLog": "billed as log ingestion ($0.50/GB)",
}


@dataclass(frozen=True)
class Line:
    item: str
    monthly: float


def _instance_hourly(instance_type: str) -> float:
    try:
        return PRICES["ec2_hour"][instance_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"no price for instance type {instance_type!r}; add it to infra/cost.py PRICES") from None


def idle_lines(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[Line]:
    """Price ``(type, name, inputs)`` triples; one line per resource that bills while idle."""
    lines = []
    for typ, name, inputs in resources:
        if typ == "aws:ec2/natGateway:NatGateway":
            lines.append(Line(f"NAT gateway {name}", PRICES["nat_gateway_hour"] * HOURS))
        elif typ == "aws:ec2/eip:Eip":
            lines.append(Line(f"public IPv4 {name}", PRICES["public_ipv4_hour"] * HOURS))
        elif typ == "aws:ec2/instance:Instance":
            itype = inputs["instanceType"]
            lines.append(Line(f"{itype} instance {name}", _instance_hourly(itype) * HOURS))
            root = inputs.get("rootBlockDevice") or {}
            lines.append(Line(f"gp3 root volume {name}", root.get("volumeSize", 8) * PRICES["gp3_gb_month"]))
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            azs = len(inputs.get("subnetIds") or [])
            lines.append(Line(f"interface endpoint {name} x {azs} AZ", PRICES["interface_endpoint_az_hour"] * HOURS * azs))
        elif typ == "aws:kms/key:Key":
            lines.append(Line(f"KMS key {name}", PRICES["kms_key_month"]))
    return lines


def total(lines: Iterable[Line]) -> float:
    return round(sum(line.monthly for line in lines), 2)
