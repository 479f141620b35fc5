"""Usage-priced items: what a stack's resources bill only when used (requests, GB stored or ingested, NAT data,
Batch instances while jobs run...), so $0 idle and never in an idle total, each with its unit price, the row of the
vendored table (tools/prices/aws-prices-us-east-1.md) and the assumption used: "not estimated", or UNPRICED when the
table has no row for it (never a guessed price). And the layer a resource belongs to, which the report shares.

:data:`USAGE` is the catalogue, by resource type; :func:`usage_items` applies it to what a program declares
(``tools/cost_report.py``, ``strata cost``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools import cost

# The layers (modules/<layer>), in the order the design lists them; a resource's logical name starts with its layer.
LAYERS = (
    "network",
    "datastore",
    "warehouse",
    "compute",
    "team",
    "orchestration",
    "metadata",
    "kubernetes",
    "serving",
    "observability",
)
# Lines billed to no resource (CloudWatch alarms and dashboards beyond the free tier) belong to observability.
ACCOUNT_LAYER = "observability"
OTHER = "other"
# The serving metrics collector's log group (modules/serving/component.py): its EMF records and custom metrics.
SERVING_METRICS_LOG_GROUP = "serving-metrics-logs"


@dataclass(frozen=True)
class UsageItem:
    item: str
    layer: str
    resources: tuple[str, ...]
    row: str | None
    price: str
    unit: str
    source: str
    confirmed: str
    assumption: str
    driver: str  # what the amount billed depends on (the assumption without the price)


def layer_of(resource: str) -> str:
    if not resource:
        return ACCOUNT_LAYER
    prefix = resource.split("-", 1)[0]
    return prefix if prefix in LAYERS else OTHER


ROWS = cost.price_table()
UNITLESS = ("", "—", "-")  # a row without a unit (a $0 service such as AWS Batch)


@dataclass(frozen=True)
class UsageRule:
    """An item billed by use: for resources of ``types`` (and ``when``), priced by table ``row`` (None: no row)."""

    types: tuple[str, ...]
    item: str
    row: str | None
    driver: str
    unit: str = ""  # for an item without a row: how it is billed
    when: Callable[[str, Mapping[str, Any]], bool] = field(default=lambda name, inputs: True)


def _compute_type(inputs: Mapping[str, Any]) -> str:
    return str((inputs.get("computeResources") or {}).get("type", ""))


def _min_size(inputs: Mapping[str, Any]) -> int:
    return int((inputs.get("scalingConfig") or {}).get("minSize", 0))


BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LOG_GROUP = ("aws:cloudwatch/logGroup:LogGroup",)
LB = ("aws:lb/loadBalancer:LoadBalancer",)
CE = ("aws:batch/computeEnvironment:ComputeEnvironment",)
USAGE = (
    UsageRule(
        BUCKET, "S3 storage", "S3 Standard storage", "what the teams keep in the datastore (artifacts, data) and its access logs"
    ),
    UsageRule(BUCKET, "S3 writes", "S3 PUT/COPY/POST/LIST", "Metaflow writes every step's artifacts"),
    UsageRule(BUCKET, "S3 reads", "S3 GET/other", "every step reads its inputs"),
    UsageRule(
        ("aws:ec2/natGateway:NatGateway",),
        "NAT gateway data processed",
        "NAT gateway data processed",
        "traffic from the private subnets to the internet (images, packages); S3 goes through the free gateway endpoint",
    ),
    UsageRule(
        ("aws:ec2/vpcEndpoint:VpcEndpoint",),
        "interface endpoint data",
        "Interface VPC endpoint data",
        "traffic through the interface endpoints",
        when=lambda n, i: i.get("vpcEndpointType") == "Interface",
    ),
    UsageRule(LOG_GROUP, "log ingestion", "CloudWatch Logs ingestion (Standard)", "job, service, API and audit logs as written"),
    UsageRule(LOG_GROUP, "log storage", "CloudWatch Logs storage", "what each group's retention keeps"),
    UsageRule(
        ("aws:ec2/flowLog:FlowLog",), "VPC flow logs", "VPC Flow Logs → CloudWatch Logs (vended)", "the VPC's traffic records"
    ),
    UsageRule(
        ("aws:eks/cluster:Cluster",),
        "EKS control-plane logs",
        "CloudWatch Logs ingestion (Standard)",
        "API server, audit and authenticator logs; an idle cluster still logs its own API calls "
        "(tools/cost.py idle_lines(eks_log_gb=...) prices an assumed volume)",
        when=lambda n, i: bool(i.get("enabledClusterLogTypes")),
    ),
    UsageRule(
        LOG_GROUP,
        "serving metrics EMF logs",
        "CloudWatch Logs ingestion (Standard)",
        "the metrics collector's records, once models are deployed",
        when=lambda n, i: n == SERVING_METRICS_LOG_GROUP,
    ),
    UsageRule(
        LOG_GROUP,
        "serving custom metrics",
        None,
        "3 CloudWatch custom metrics per deployed model version in Strata/Serving (requests, errors, seconds)",
        unit="per metric-month",
        when=lambda n, i: n == SERVING_METRICS_LOG_GROUP,
    ),
    UsageRule(
        CE,
        "Batch instances while jobs run",
        "AWS Batch",
        "Batch itself is free; the EC2 (or Spot) instances it starts bill per second at their own price while jobs "
        "run, and the compute environments scale back to 0 vCPUs",
        when=lambda n, i: _compute_type(i) in ("EC2", "SPOT"),
    ),
    UsageRule(
        CE,
        "Batch Fargate jobs: vCPU",
        "Fargate vCPU, Linux/x86",
        "vCPU-hours of Fargate jobs while they run",
        when=lambda n, i: _compute_type(i).startswith("FARGATE"),
    ),
    UsageRule(
        CE,
        "Batch Fargate jobs: memory",
        "Fargate memory, Linux/x86",
        "GB-hours of Fargate jobs while they run",
        when=lambda n, i: _compute_type(i).startswith("FARGATE"),
    ),
    UsageRule(
        ("aws:iam/role:Role",),
        "Step Functions state transitions",
        "Step Functions Standard",
        "every state a team's Metaflow state machines enter (steps, foreach splits)",
        when=lambda n, i: "states.amazonaws.com" in str(i.get("assumeRolePolicy", "")),
    ),
    UsageRule(("aws:apigatewayv2/api:Api",), "HTTP API requests", "API Gateway HTTP API", "Metaflow's calls to the metadata API"),
    UsageRule(
        ("aws:apigateway/restApi:RestApi",), "REST API requests", "API Gateway REST API", "Metaflow's calls to the metadata API"
    ),
    UsageRule(
        ("aws:lambda/function:Function",),
        "Lambda invocations",
        None,
        "the metadata API's key check (the API caches its answers)",
        unit="per request and GB-second",
    ),
    UsageRule(
        ("aws:rds/cluster:Cluster",),
        "Aurora capacity above the floor",
        "Aurora Serverless v2 (standard config)",
        "ACU-hours while the metadata database is busy (a paused one resumes on the first request)",
    ),
    UsageRule(("aws:rds/cluster:Cluster",), "Aurora storage", "Aurora storage (standard)", "the metadata database's size"),
    UsageRule(("aws:rds/cluster:Cluster",), "Aurora I/O", "Aurora I/O (standard)", "the metadata database's reads and writes"),
    UsageRule(
        ("aws:redshiftserverless/workgroup:Workgroup",),
        "warehouse queries",
        "Redshift Serverless",
        "RPU-hours while queries run (per second, 60 s minimum) at the workgroup's base capacity",
    ),
    UsageRule(
        ("aws:redshiftserverless/namespace:Namespace",),
        "warehouse storage",
        "Redshift managed storage",
        "the warehouse's data (tools/cost.py idle_lines(warehouse_storage_gb=...) prices an assumed amount)",
    ),
    UsageRule(
        ("aws:kms/key:Key",), "KMS requests", "KMS requests", "beyond the free 20,000 a month; the S3 bucket key keeps them low"
    ),
    UsageRule(
        ("aws:secretsmanager/secret:Secret",),
        "Secrets Manager API calls",
        "Secrets Manager API calls",
        "reads of the teams' API keys and the managed passwords",
    ),
    UsageRule(
        ("aws:dynamodb/table:Table",), "DynamoDB storage", "DynamoDB storage (Standard class)", "foreach state and owner records"
    ),
    UsageRule(
        ("aws:dynamodb/table:Table",),
        "DynamoDB backups (PITR)",
        "DynamoDB PITR",
        "point-in-time recovery of the tables' data",
        when=lambda n, i: bool((i.get("pointInTimeRecovery") or {}).get("enabled")),
    ),
    UsageRule(
        ("aws:dynamodb/table:Table",),
        "DynamoDB requests",
        None,
        "on-demand reads and writes of the tables",
        unit="per request unit (on-demand)",
    ),
    UsageRule(
        LB,
        "NLB capacity units",
        "NLB NLCU",
        "connections and bytes through the load balancer",
        when=lambda n, i: i.get("loadBalancerType") == "network",
    ),
    UsageRule(
        LB,
        "ALB capacity units",
        "ALB LCU",
        "requests and bytes through the load balancer",
        when=lambda n, i: i.get("loadBalancerType") != "network",
    ),
)


def _node_rule(itype: str) -> UsageRule:
    """Node groups from zero: their nodes bill only while pods run on them (a started model server keeps one up)."""
    row = f"EC2 {itype}"
    return UsageRule(
        ("aws:eks/nodeGroup:NodeGroup",),
        f"EKS nodes from zero while pods run: {itype}",
        row if row in ROWS else None,
        "Argo steps and a team's started model server scale its nodes up from 0, and down when idle",
        unit="per instance-hour",
    )


def _usage_item(rule: UsageRule, layer: str, names: list[str]) -> UsageItem:
    resources = tuple(dict.fromkeys(names))
    if rule.row is None:
        unit = rule.unit
        return UsageItem(
            rule.item,
            layer,
            resources,
            None,
            "UNPRICED",
            unit,
            f"not in {cost.PRICE_TABLE.name}",
            "",
            f"not estimated, and UNPRICED: billed {unit}, a price {cost.PRICE_TABLE.name} has no row for; {rule.driver}",
            rule.driver,
        )
    row = ROWS[rule.row]
    return UsageItem(
        rule.item,
        layer,
        resources,
        rule.row,
        row.price,
        row.unit,
        row.source,
        row.confirmed,
        f"not estimated: {row.price}{'' if row.unit in UNITLESS else ' ' + row.unit}; {rule.driver}",
        rule.driver,
    )


def usage_items(resources: tuple[tuple[str, str, Mapping[str, Any]], ...]) -> list[UsageItem]:
    """Every usage-priced item the declared resources bring: $0 idle, so never in the total; one item per rule and
    layer, naming the resources it applies to."""
    found: dict[tuple[str, str], tuple[UsageRule, list[str]]] = {}
    for typ, name, inputs in resources:
        rules = [r for r in USAGE if typ in r.types and r.when(name, inputs)]
        if typ == "aws:eks/nodeGroup:NodeGroup" and _min_size(inputs) == 0:
            rules.append(_node_rule((inputs.get("instanceTypes") or ["t3.medium"])[0]))
        for rule in rules:
            found.setdefault((layer_of(name), rule.item), (rule, []))[1].append(name)
    order = {layer: i for i, layer in enumerate((*LAYERS, OTHER))}
    return [
        _usage_item(rule, layer, names)
        for (layer, _), (rule, names) in sorted(found.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
