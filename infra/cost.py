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
    # Metadata layer. RDS PostgreSQL Single-AZ per instance-hour (Multi-AZ is twice), its gp2/gp3 storage.
    "rds_hour": {"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t3.micro": 0.018, "db.t3.small": 0.036},
    "rds_storage_gb_month": {"single-az": 0.115, "multi-az": 0.23},
    "aurora_acu_hour": 0.12,  # Serverless v2, standard configuration; 0 while paused
    "fargate_vcpu_hour": {"X86_64": 0.04048, "ARM64": 0.03238},
    "fargate_gb_hour": {"X86_64": 0.004445, "ARM64": 0.00356},
    "secret_month": 0.40,
    "load_balancer_hour": 0.0225,  # ALB or NLB, idle (no LCUs)
    "cloud_map_instance_month": 0.10,
    "private_dns_zone_month": 0.50,
    # Warehouse. Provisioned nodes bill every hour; Serverless compute only while queries run.
    "redshift_node_hour": {"dc2.large": 0.25, "ra3.xlplus": 1.086},
    "redshift_managed_storage_gb_month": 0.024,
    # Observability. CloudWatch bills standard alarms per alarm metric and dashboards per month, after a
    # free tier of 10 alarm metrics and 3 dashboards per account (assumed: one stack per account).
    "alarm_metric_month": 0.10,
    "dashboard_month": 3.00,
}
FREE_ALARM_METRICS = 10
FREE_DASHBOARDS = 3
# Declared resources that cost nothing while idle (pay-per-use or free), so the model knows them.
FREE_AT_IDLE = {
    "aws:batch/computeEnvironment:ComputeEnvironment": "Batch is free; instances bill only while jobs run (min vCPUs 0)",
    "aws:batch/jobQueue:JobQueue": "free",
    "aws:ssm/parameter:Parameter": "standard parameters are free",
    "aws:s3/bucket:Bucket": "storage and requests only ($0.023/GB-month)",
    "aws:cloudwatch/logGroup:LogGroup": "ingestion $0.50/GB and storage $0.03/GB-month only",
    "aws:ec2/flowLog:FlowLog": "billed as log ingestion ($0.50/GB)",
    "aws:sns/topic:Topic": "per publish and delivery only (alerts are rare)",
    "aws:sns/topicSubscription:TopicSubscription": "free",
    "aws:sns/topicPolicy:TopicPolicy": "free",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events (Batch state changes) are free",
    "aws:cloudwatch/eventTarget:EventTarget": "free",
    "aws:budgets/budget:Budget": "standard budgets (no actions) are free",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": "free",
    "aws:apigatewayv2/api:Api": "$1.00 per million requests (HTTP API)",
    "aws:apigateway/restApi:RestApi": "$3.50 per million requests (REST API); usage plans and API keys are free",
    "aws:lambda/function:Function": "per request and GB-second; the authorizer's answers are cached",
    "aws:rds/cluster:Cluster": "Aurora storage $0.10/GB-month and I/O $0.20/million, usage only",
    "aws:redshiftserverless/workgroup:Workgroup": "$0.375 per RPU-hour only while queries run (60 s minimum)",
    "aws:redshiftserverless/namespace:Namespace": "managed storage $0.024/GB-month (warehouse_storage_gb)",
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


def _fargate_monthly(task: Mapping[str, Any], count: int) -> float:
    arch = (task.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    vcpu, gb = float(task["cpu"]) / 1024, float(task["memory"]) / 1024
    hourly = vcpu * PRICES["fargate_vcpu_hour"][arch] + gb * PRICES["fargate_gb_hour"][arch]  # type: ignore[index]
    return count * hourly * HOURS


def _redshift_node_hourly(node_type: str) -> float:
    try:
        return PRICES["redshift_node_hour"][node_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"no price for Redshift node type {node_type!r}; add it to infra/cost.py PRICES") from None


def idle_lines(resources: Iterable[tuple[str, str, Mapping[str, Any]]], *, warehouse_storage_gb: float = 0.0) -> list[Line]:
    """Price ``(type, name, inputs)`` triples; one line per resource that bills while idle.

    ``warehouse_storage_gb``: data assumed in the warehouse (Redshift managed storage, Serverless and RA3;
    default 0, an empty warehouse). Each 100 GB adds $2.40/month."""
    lines = []
    resources = list(resources)
    # Lines that need a second resource: an Aurora instance's ACU floor is its cluster's, a service's
    # task size is its task definition's (matched by logical name, family or ARN).
    clusters = {i.get("clusterIdentifier"): i for t, _, i in resources if t == "aws:rds/cluster:Cluster"}
    tasks = {(n, i.get("family")): i for t, n, i in resources if t == "aws:ecs/taskDefinition:TaskDefinition"}
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
        elif typ == "aws:rds/cluster:Cluster" and inputs.get("manageMasterUserPassword"):
            lines.append(Line(f"RDS-managed master secret {name}", PRICES["secret_month"]))
        elif typ == "aws:rds/clusterInstance:ClusterInstance":
            cls = inputs["instanceClass"]
            if cls == "db.serverless":
                floor = ((clusters.get(inputs.get("clusterIdentifier")) or {}).get("serverlessv2ScalingConfiguration") or {}).get(
                    "minCapacity", 0.5
                )
                label = "paused when idle" if floor == 0 else f"{floor} ACU floor"
                lines.append(Line(f"Aurora Serverless v2 {name} ({label})", floor * PRICES["aurora_acu_hour"] * HOURS))
            else:
                lines.append(Line(f"Aurora {cls} {name}", PRICES["rds_hour"][cls] * HOURS))  # type: ignore[index]
        elif typ == "aws:rds/instance:Instance":
            cls, multi_az = inputs["instanceClass"], bool(inputs.get("multiAz"))
            hourly = PRICES["rds_hour"][cls] * (2 if multi_az else 1)  # type: ignore[index]
            lines.append(Line(f"RDS {cls}{' Multi-AZ' if multi_az else ''} {name}", hourly * HOURS))
            per_gb = PRICES["rds_storage_gb_month"]["multi-az" if multi_az else "single-az"]  # type: ignore[index]
            lines.append(Line(f"RDS storage {name}", inputs.get("allocatedStorage", 20) * per_gb))
            if inputs.get("manageMasterUserPassword"):
                lines.append(Line(f"RDS-managed master secret {name}", PRICES["secret_month"]))
        elif typ == "aws:ecs/service:Service" and inputs.get("launchType") == "FARGATE":
            ref = str(inputs.get("taskDefinition", ""))
            task = next(
                (t for (n, fam), t in tasks.items() if ref.endswith(f":{n}") or f"task-definition/{fam}:" in ref or ref == fam),
                None,
            )
            count = int(inputs.get("desiredCount", 1))
            if task is None:
                raise ValueError(f"no task definition for ECS service {name} ({ref}); cannot price it")
            lines.append(
                Line(f"Fargate {name} x {count} ({task['cpu']} CPU / {task['memory']} MiB)", _fargate_monthly(task, count))
            )
            if inputs.get("serviceRegistries"):
                lines.append(Line(f"Cloud Map instances {name} x {count}", count * PRICES["cloud_map_instance_month"]))
        elif typ == "aws:redshift/cluster:Cluster":
            node_type, nodes = inputs["nodeType"], int(inputs.get("numberOfNodes") or 1)
            lines.append(Line(f"Redshift {nodes} x {node_type} {name}", _redshift_node_hourly(node_type) * nodes * HOURS))
            if warehouse_storage_gb and node_type.startswith("ra3."):
                storage = warehouse_storage_gb * PRICES["redshift_managed_storage_gb_month"]
                lines.append(Line(f"Redshift managed storage {name} ({warehouse_storage_gb:g} GB assumed)", storage))
            if inputs.get("manageMasterPassword"):
                lines.append(Line(f"Redshift-managed admin secret {name}", PRICES["secret_month"]))
        elif typ == "aws:redshiftserverless/namespace:Namespace":
            if warehouse_storage_gb:
                storage = warehouse_storage_gb * PRICES["redshift_managed_storage_gb_month"]
                lines.append(Line(f"Redshift managed storage {name} ({warehouse_storage_gb:g} GB assumed)", storage))
            if inputs.get("manageAdminPassword"):
                lines.append(Line(f"Redshift-managed admin secret {name}", PRICES["secret_month"]))
        elif typ == "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
            lines.append(Line(f"Route 53 private zone {name}", PRICES["private_dns_zone_month"]))
        elif typ == "aws:secretsmanager/secret:Secret":
            lines.append(Line(f"secret {name}", PRICES["secret_month"]))
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            azs = len(inputs.get("subnets") or inputs.get("subnetMappings") or [])
            kind = "NLB" if inputs.get("loadBalancerType") == "network" else "load balancer"
            # Idle: the hourly charge only; LCUs/NLCUs ($0.006/NLCU-hour) bill with traffic.
            lines.append(Line(f"{kind} {name}", PRICES["load_balancer_hour"] * HOURS))
            if not inputs.get("internal"):
                lines.append(Line(f"public IPv4 {name} x {azs}", PRICES["public_ipv4_hour"] * HOURS * azs))
    lines += _cloudwatch_lines(resources)
    return lines


def _cloudwatch_lines(resources: list[tuple[str, str, Mapping[str, Any]]]) -> list[Line]:
    """Alarms and dashboards beyond the account's free tier (one metric per Strata alarm)."""
    alarms = sum(1 for t, _, _ in resources if t == "aws:cloudwatch/metricAlarm:MetricAlarm")
    dashboards = sum(1 for t, _, _ in resources if t == "aws:cloudwatch/dashboard:Dashboard")
    lines = []
    if alarms > FREE_ALARM_METRICS:
        billed = alarms - FREE_ALARM_METRICS
        lines.append(
            Line(f"CloudWatch alarms x {billed} beyond the free {FREE_ALARM_METRICS}", billed * PRICES["alarm_metric_month"])
        )
    if dashboards > FREE_DASHBOARDS:
        billed = dashboards - FREE_DASHBOARDS
        lines.append(
            Line(f"CloudWatch dashboards x {billed} beyond the free {FREE_DASHBOARDS}", billed * PRICES["dashboard_month"])
        )
    return lines


def total(lines: Iterable[Line]) -> float:
    return round(sum(line.monthly for line in lines), 2)
