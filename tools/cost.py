"""Idle cost: what a deployed stack bills per month when nobody runs anything.

Pure arithmetic over the resources a program declares (type + inputs), priced with the us-east-1 list
prices of the vendored, dated and sourced table ``tools/prices/aws-prices-us-east-1.md`` (compiled
2026-11-26; 730 hours a month). The prices the model uses are the entries of
``tools/prices/aws-prices-us-east-1.yaml``, each naming its row of that table (price, unit, source,
confirmation); ``tests/unit/test_prices.py`` checks every entry against its row. Nothing here reads
anything outside the repository.
Usage-priced items (S3 storage, requests, log ingestion, Batch instances while jobs run) are zero
at idle: ``tools/cost_report.py`` lists them apart (``usage_items``), each with its row and the assumption
used, never silently dropped. Every :class:`Line` names the prices it multiplies (``prices``), so the report
can show each line's row and source.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from core import naming
from modules.serving import manifests as serving_manifests

PRICES_DIR = Path(__file__).resolve().with_name("prices")
PRICE_TABLE = PRICES_DIR / "aws-prices-us-east-1.md"
PRICE_FILE = PRICES_DIR / "aws-prices-us-east-1.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceEntry(_Strict):
    """One price the model uses: ``key`` (and ``variant``, e.g. an instance type) -> the table's ``row``."""

    key: str
    variant: str | None = None
    row: str
    unit: str
    usd: float
    as_of: datetime.date
    confirmed: str
    source: str


class FreeTier(_Strict):
    """A free allowance, quoted from the note of its row (``quote`` must appear there verbatim)."""

    key: str
    row: str
    quantity: int
    quote: str


class ReferenceLine(_Strict):
    """A line of the reference stack's idle bill: ``quantity`` units of a price entry, times 730 when
    ``hourly`` (quantity is then a count of always-on units: instances, vCPUs, GB of Fargate memory)."""

    line: str
    key: str
    variant: str | None = None
    quantity: float
    hourly: bool


class Reference(_Strict):
    title: str
    lines: tuple[ReferenceLine, ...]


class DerivedPrice(_Strict):
    """A price the table does not have, derived from one of its entries: ``usd`` = ``factor`` x the base
    entry's price, by ``rule``, whose premise ``quote`` is in the note of ``quote_row``. Every line the model
    prices with one says so ("derived price")."""

    key: str
    variant: str | None = None
    usd: float
    base_key: str
    base_variant: str | None = None
    factor: float
    rule: str
    quote: str
    quote_row: str


class PriceFile(_Strict):
    table: str
    region: str
    currency: str
    hours_per_month: int
    prices: tuple[PriceEntry, ...]
    derived: tuple[DerivedPrice, ...] = ()
    free_tier: tuple[FreeTier, ...]
    reference: Reference


@functools.cache
def price_file() -> PriceFile:
    """The vendored price entries (validated; a malformed file names the entry and the field)."""
    return PriceFile.model_validate(yaml.safe_load(PRICE_FILE.read_text()))


def _prices(entries: Iterable[PriceEntry | DerivedPrice]) -> dict[str, Any]:
    """``{key: usd}`` or, for entries with variants, ``{key: {variant: usd}}`` (the shape idle_lines reads)."""
    prices: dict[str, Any] = {}
    for e in entries:
        if e.variant is None:
            prices[e.key] = e.usd
        else:
            prices.setdefault(e.key, {})[e.variant] = e.usd
    return prices


HOURS = price_file().hours_per_month
PRICES = _prices((*price_file().prices, *price_file().derived))
# (key, variant) of every derived price: lines priced with one are marked.
DERIVED = {(d.key, d.variant) for d in price_file().derived}
_FREE = {f.key: f.quantity for f in price_file().free_tier}
FREE_ALARM_METRICS = _FREE["alarm_metrics"]
FREE_DASHBOARDS = _FREE["dashboards"]
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
    "aws:eks/addon:Addon": "free (the add-on's pods run on the node groups)",
    "aws:eks/accessEntry:AccessEntry": "free",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "free",
    "aws:ec2/launchTemplate:LaunchTemplate": "free (its volumes bill on the instances it launches)",
    "aws:autoscaling/attachment:Attachment": "free",
    "aws:lb/targetGroup:TargetGroup": "free (the load balancer bills)",
    "aws:lb/listener:Listener": "free (the load balancer bills)",
    "kubernetes:helm.sh/v3:Release": "its pods run on the system nodes, which are priced",
}


@dataclass(frozen=True)
class Line:
    item: str
    monthly: float
    resource: str = ""
    """The logical name of the resource billed (empty for account-level lines such as CloudWatch's)."""
    prices: tuple[tuple[str, str | None], ...] = ()
    """The ``(key, variant)`` of each price the line multiplies (entries of the price file, or derived ones);
    empty for a line that bills nothing (a node group from zero, a Server at 0 replicas)."""


def _instance_hourly(instance_type: str) -> float:
    try:
        return PRICES["ec2_hour"][instance_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"no price for instance type {instance_type!r}; add it to tools/cost.py PRICES") from None


def _derived_mark(key: str, variant: str | None = None) -> str:
    """ " (derived price)" when the price of ``key``/``variant`` is not a row of the table (``derived`` entries)."""
    return " (derived price)" if (key, variant) in DERIVED else ""


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Gi|G|Mi|Ti)?$")
_GIB = {"Gi": 1.0, "G": 1e9 / 2**30, "Mi": 1 / 1024, "Ti": 1024.0, None: 1 / 2**30}


def _gib(quantity: Any) -> float:
    """A Kubernetes storage quantity ("10Gi", "20G", "512Mi") in GiB (EBS bills GiB as "GB-month")."""
    found = _QUANTITY.match(str(quantity).strip())
    if not found:
        raise ValueError(f"cannot read the storage quantity {quantity!r}")
    return float(found.group(1)) * _GIB[found.group(2)]


def _node_group_lines(name: str, inputs: Mapping[str, Any], templates: Mapping[str, Mapping[str, Any]]) -> list[Line]:
    """An EKS managed node group idle: ``minSize`` nodes (the cluster autoscaler scales down to it) with
    their root volumes, from the group's launch template. A group from zero is a $0 line, so it is seen."""
    nodes = int((inputs.get("scalingConfig") or {}).get("minSize", 0))
    itype = (inputs.get("instanceTypes") or ["t3.medium"])[0]  # t3.medium: EKS's default instance type
    if nodes == 0:
        return [Line(f"EKS node group {name}: 0 x {itype} idle (scales from zero)", 0.0, name)]
    lines = [
        Line(
            f"EKS node group {name}: {nodes} x {itype}{_derived_mark('ec2_hour', itype)}",
            nodes * _instance_hourly(itype) * HOURS,
            name,
            (("ec2_hour", itype),),
        )
    ]
    ref = inputs.get("launchTemplate") or {}
    template = templates.get(str(ref.get("id"))) or templates.get(str(ref.get("name")))
    mappings = (template or {}).get("blockDeviceMappings") or []
    if not mappings:
        raise ValueError(f"EKS node group {name}: no launch template with a root volume to price (declare its size and type)")
    for mapping in mappings:
        ebs = mapping.get("ebs") or {}
        size, vtype = ebs.get("volumeSize"), ebs.get("volumeType")
        if size is None or vtype not in PRICES["ebs_gb_month"]:  # type: ignore[operator]
            raise ValueError(
                f"EKS node group {name}: volume {mapping.get('deviceName')} needs volumeSize and a priced volumeType"
            )
        per_node = float(size) * PRICES["ebs_gb_month"][vtype]  # type: ignore[index]
        lines.append(
            Line(
                f"EKS node group {name}: {nodes} x {size:g} GB {vtype} root volume",
                nodes * per_node,
                name,
                (("ebs_gb_month", vtype),),
            )
        )
    return lines


def _event_bus_lines(name: str, inputs: Mapping[str, Any]) -> list[Line]:
    """An Argo Events JetStream EventBus with persistence: one EBS volume per replica (a StatefulSet's
    volume claims), at the size and storage class it names. Replicas default to 3 (the EventBus CRD's
    default). Without persistence the bus keeps its stream in memory and bills nothing of its own."""
    jetstream = (inputs.get("spec") or {}).get("jetstream") or {}
    persistence = jetstream.get("persistence")
    if not persistence:
        return []
    replicas = int(jetstream.get("replicas", 3))
    if "volumeSize" not in persistence:
        raise ValueError(f"EventBus {name}: persistence without volumeSize; name it to price the volumes")
    storage_class = str(persistence.get("storageClassName") or "")
    vtype = next((t for t in ("gp3", "gp2") if t in storage_class), None)
    if vtype is None:  # EKS 1.30+ has no default storage class: an unnamed one would leave the claims pending
        raise ValueError(
            f"EventBus {name}: cannot price storage class {storage_class or '(the default)'!r}: name a gp3 or gp2 class"
        )
    size = _gib(persistence["volumeSize"])
    monthly = replicas * size * PRICES["ebs_gb_month"][vtype]  # type: ignore[index]
    return [Line(f"JetStream volumes {name}: {replicas} x {size:g} GB {vtype}", monthly, name, (("ebs_gb_month", vtype),))]


SELDON_SERVER = "kubernetes:mlops.seldon.io/v1alpha1:Server"
EVENT_SOURCE = "kubernetes:argoproj.io/v1alpha1:EventSource"
# Pods per node on the VPC CNI without prefix delegation: ENIs x (IPv4 addresses per ENI - 1) + 2 (EKS's
# eni-max-pods.txt). Only the system group's type is needed: the serving layer adds pods there.
MAX_PODS = {"t4g.medium": 17, "t4g.large": 35, "m6g.large": 29, "m6i.large": 29}
# Pods on the system nodes before serving: on every node the aws-node and kube-proxy DaemonSets; once, CoreDNS
# (2), Argo Workflows' controller and server, Argo Events' controller, the cluster autoscaler; per team
# namespace its event bus (one JetStream pod) and event source (modules/kubernetes/README.md).
SYSTEM_DAEMONSET_PODS = 2
SYSTEM_PLATFORM_PODS = 6
SYSTEM_PODS_PER_K8S_TEAM = 2


def _team_node_group(groups: list[tuple[str, Mapping[str, Any]]], team: str) -> tuple[str, Mapping[str, Any]] | None:
    """The team's CPU node group (labelled with its name, without the GPU taint)."""
    for name, inputs in groups:
        gpu = any(t.get("key") == "nvidia.com/gpu" for t in inputs.get("taints") or [])
        if (inputs.get("labels") or {}).get(naming.TEAM_LABEL) == team and not gpu:
            return name, inputs
    return None


def _server_lines(
    name: str, inputs: Mapping[str, Any], groups: list[tuple[str, Mapping[str, Any]]], templates: Mapping[str, Mapping[str, Any]]
) -> list[Line]:
    """A team's Seldon Server: its pods run on the team's own nodes, which otherwise scale to zero, so a Server
    with replicas keeps (at least) one of them up around the clock, with its root volume. Priced as one node:
    the default Server (1 replica, 0.5 vCPU / 1 GiB requested) fits on one; more replicas than fit one node
    keep more (not estimated). 0 replicas: a $0 line."""
    spec = inputs.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    team = ((spec.get("podSpec") or {}).get("nodeSelector") or {}).get(naming.TEAM_LABEL)
    if replicas == 0:
        return [Line(f"Seldon Server {name}: 0 replicas (no node kept up)", 0.0, name)]
    group = _team_node_group(groups, str(team)) if team else None
    if group is None:
        raise ValueError(f"Seldon Server {name}: no team node group for {naming.TEAM_LABEL}={team!r}; cannot price it")
    group_name, group_inputs = group
    kept = {**group_inputs, "scalingConfig": {**(group_inputs.get("scalingConfig") or {}), "minSize": 1}}
    itype = (group_inputs.get("instanceTypes") or ["t3.medium"])[0]
    head = f"Seldon Server {name} ({replicas} replica(s)) keeps"
    if itype not in PRICES["ec2_hour"]:  # type: ignore[operator]
        # Not guessed: the vendored table has no row for it (the team nodes' default, m6i.xlarge, among them).
        # The line says so; the root volume (priced) follows.
        unpriced = Line(f"{head} 1 x {itype} team node up: UNPRICED ({itype} is not in {PRICE_TABLE.name})", 0.0, name)
        volumes = _node_group_lines(group_name, {**kept, "instanceTypes": ["t4g.nano"]}, templates)[1:]
        return [unpriced, *(Line(f"{head} {v.item.removeprefix('EKS node group ')}", v.monthly, name, v.prices) for v in volumes)]
    return [
        Line(f"{head} {line.item.removeprefix('EKS node group ')} up", line.monthly, name, line.prices)
        for line in _node_group_lines(group_name, kept, templates)
    ]


def _serving_system_lines(
    resources: list[tuple[str, str, Mapping[str, Any]]],
    groups: list[tuple[str, Mapping[str, Any]]],
    templates: Mapping[str, Mapping[str, Any]],
) -> list[Line]:
    """The serving layer's pods on the system nodes (Seldon's controller; per team its scheduler and Envoy): free
    while they fit the nodes the Kubernetes layer keeps anyway, one more system node for each ``MAX_PODS`` that
    overflows. A $0 line says how many pods they are when they fit."""
    servers = [n for t, n, _ in resources if t == SELDON_SERVER]
    if not servers:
        return []
    system = next(((n, i) for n, i in groups if (i.get("labels") or {}).get("strata.io/pool") == "system"), None)
    if system is None:
        raise ValueError("Seldon Servers but no system node group (labelled strata.io/pool=system) to run the runtime on")
    name, inputs = system
    itype = (inputs.get("instanceTypes") or ["t3.medium"])[0]
    if itype not in MAX_PODS:
        raise ValueError(f"no pod limit for system node type {itype!r}; add it to tools/cost.py MAX_PODS")
    per_node = MAX_PODS[itype] - SYSTEM_DAEMONSET_PODS
    k8s_teams = sum(1 for t, _, _ in resources if t == EVENT_SOURCE)
    before = SYSTEM_PLATFORM_PODS + SYSTEM_PODS_PER_K8S_TEAM * k8s_teams
    added = serving_manifests.system_pods(len(servers))
    floor = int((inputs.get("scalingConfig") or {}).get("minSize", 1))
    need_before, need_after = max(floor, -(-before // per_node)), max(floor, -(-(before + added) // per_node))
    what = (
        f"Seldon runtime pods on the system nodes: {added} "
        f"(controller, metrics collector + scheduler and Envoy x {len(servers)} teams)"
    )
    extra = need_after - need_before
    slots = f"{before + added} pods, {per_node} a {itype} (max {MAX_PODS[itype]} with the DaemonSets)"
    if extra <= 0:
        return [Line(f"{what}; {slots}: fit the {need_after} system node(s) kept anyway", 0.0, "serving")]
    more = {**inputs, "scalingConfig": {**(inputs.get("scalingConfig") or {}), "minSize": extra}}
    return [
        Line(
            f"{what}; {slots}: {extra} more system node(s), {line.item.removeprefix('EKS node group ')}",
            line.monthly,
            "serving",
            line.prices,
        )
        for line in _node_group_lines(name, more, templates)
    ]


def _fargate_monthly(task: Mapping[str, Any], count: int) -> float:
    arch = (task.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    vcpu, gb = float(task["cpu"]) / 1024, float(task["memory"]) / 1024
    hourly = vcpu * PRICES["fargate_vcpu_hour"][arch] + gb * PRICES["fargate_gb_hour"][arch]  # type: ignore[index]
    return count * hourly * HOURS


def _redshift_node_hourly(node_type: str) -> float:
    try:
        return PRICES["redshift_node_hour"][node_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"no price for Redshift node type {node_type!r}; add it to tools/cost.py PRICES") from None


SECRET = (("secret_month", None),)
IPV4 = (("public_ipv4_hour", None),)


def _warehouse_storage(name: str, gb: float) -> Line:
    storage = gb * PRICES["redshift_managed_storage_gb_month"]
    return Line(
        f"Redshift managed storage {name} ({gb:g} GB assumed)", storage, name, (("redshift_managed_storage_gb_month", None),)
    )


def idle_lines(
    resources: Iterable[tuple[str, str, Mapping[str, Any]]],
    *,
    warehouse_storage_gb: float = 0.0,
    eks_log_gb: float = 0.0,
) -> list[Line]:
    """Price ``(type, name, inputs)`` triples; one line per resource that bills while idle.

    ``warehouse_storage_gb``: data assumed in the warehouse (Redshift managed storage, Serverless and RA3;
    default 0, an empty warehouse). Each 100 GB adds $2.40/month.
    ``eks_log_gb``: control-plane logs assumed ingested per month per EKS cluster (default 0: usage, not
    estimated; an idle cluster still logs its API calls). Each GB adds $0.50."""
    lines = []
    resources = list(resources)
    # Lines that need a second resource: an Aurora instance's ACU floor is its cluster's, a service's
    # task size is its task definition's (matched by logical name, family or ARN).
    clusters = {i.get("clusterIdentifier"): i for t, _, i in resources if t == "aws:rds/cluster:Cluster"}
    tasks = {(n, i.get("family")): i for t, n, i in resources if t == "aws:ecs/taskDefinition:TaskDefinition"}
    # A node group names its launch template by id (the mocks' "<logical name>-id") or by name.
    templates: dict[str, Mapping[str, Any]] = {}
    for t, n, i in resources:
        if t == "aws:ec2/launchTemplate:LaunchTemplate":
            templates[f"{n}-id"] = templates[str(i.get("name") or n)] = i
    groups = [(n, i) for t, n, i in resources if t == "aws:eks/nodeGroup:NodeGroup"]
    for typ, name, inputs in resources:
        if typ == "aws:ec2/natGateway:NatGateway":
            lines.append(Line(f"NAT gateway {name}", PRICES["nat_gateway_hour"] * HOURS, name, (("nat_gateway_hour", None),)))
        elif typ == "aws:ec2/eip:Eip":
            lines.append(Line(f"public IPv4 {name}", PRICES["public_ipv4_hour"] * HOURS, name, IPV4))
        elif typ == "aws:ec2/instance:Instance":
            itype = inputs["instanceType"]
            lines.append(Line(f"{itype} instance {name}", _instance_hourly(itype) * HOURS, name, (("ec2_hour", itype),)))
            root = inputs.get("rootBlockDevice") or {}
            gp3 = root.get("volumeSize", 8) * PRICES["ebs_gb_month"]["gp3"]
            lines.append(Line(f"gp3 root volume {name}", gp3, name, (("ebs_gb_month", "gp3"),)))
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            azs = len(inputs.get("subnetIds") or [])
            monthly = PRICES["interface_endpoint_az_hour"] * HOURS * azs
            lines.append(Line(f"interface endpoint {name} x {azs} AZ", monthly, name, (("interface_endpoint_az_hour", None),)))
        elif typ == "aws:kms/key:Key":
            lines.append(Line(f"KMS key {name}", PRICES["kms_key_month"], name, (("kms_key_month", None),)))
        elif typ == "aws:rds/cluster:Cluster" and inputs.get("manageMasterUserPassword"):
            lines.append(Line(f"RDS-managed master secret {name}", PRICES["secret_month"], name, SECRET))
        elif typ == "aws:rds/clusterInstance:ClusterInstance":
            cls = inputs["instanceClass"]
            if cls == "db.serverless":
                floor = ((clusters.get(inputs.get("clusterIdentifier")) or {}).get("serverlessv2ScalingConfiguration") or {}).get(
                    "minCapacity", 0.5
                )
                label = "paused when idle" if floor == 0 else f"{floor} ACU floor"
                monthly = floor * PRICES["aurora_acu_hour"] * HOURS
                lines.append(Line(f"Aurora Serverless v2 {name} ({label})", monthly, name, (("aurora_acu_hour", None),)))
            else:
                lines.append(Line(f"Aurora {cls} {name}", PRICES["rds_hour"][cls] * HOURS, name, (("rds_hour", cls),)))  # type: ignore[index]
        elif typ == "aws:rds/instance:Instance":
            cls, multi_az = inputs["instanceClass"], bool(inputs.get("multiAz"))
            # Multi-AZ bills the primary and the standby: the table's own Multi-AZ rows, not a doubling here.
            key, storage = ("rds_multi_az_hour", "multi-az") if multi_az else ("rds_hour", "single-az")
            hourly = PRICES[key][cls]  # type: ignore[index]
            lines.append(Line(f"RDS {cls}{' Multi-AZ' if multi_az else ''} {name}", hourly * HOURS, name, ((key, cls),)))
            per_gb = PRICES["rds_storage_gb_month"][storage]  # type: ignore[index]
            gb = inputs.get("allocatedStorage", 20)
            lines.append(Line(f"RDS storage {name}", gb * per_gb, name, (("rds_storage_gb_month", storage),)))
            if inputs.get("manageMasterUserPassword"):
                lines.append(Line(f"RDS-managed master secret {name}", PRICES["secret_month"], name, SECRET))
        elif typ == "aws:ecs/service:Service" and inputs.get("launchType") == "FARGATE":
            ref = str(inputs.get("taskDefinition", ""))
            task = next(
                (t for (n, fam), t in tasks.items() if ref.endswith(f":{n}") or f"task-definition/{fam}:" in ref or ref == fam),
                None,
            )
            count = int(inputs.get("desiredCount", 1))
            if task is None:
                raise ValueError(f"no task definition for ECS service {name} ({ref}); cannot price it")
            arch = (task.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
            fargate = (("fargate_vcpu_hour", arch), ("fargate_gb_hour", arch))
            what = f"Fargate {name} x {count} ({task['cpu']} CPU / {task['memory']} MiB)"
            lines.append(Line(what, _fargate_monthly(task, count), name, fargate))
            if inputs.get("serviceRegistries"):
                monthly = count * PRICES["cloud_map_instance_month"]
                lines.append(Line(f"Cloud Map instances {name} x {count}", monthly, name, (("cloud_map_instance_month", None),)))
        elif typ == "aws:redshift/cluster:Cluster":
            node_type, nodes = inputs["nodeType"], int(inputs.get("numberOfNodes") or 1)
            monthly = _redshift_node_hourly(node_type) * nodes * HOURS
            lines.append(Line(f"Redshift {nodes} x {node_type} {name}", monthly, name, (("redshift_node_hour", node_type),)))
            if warehouse_storage_gb and node_type.startswith("ra3."):
                lines.append(_warehouse_storage(name, warehouse_storage_gb))
            if inputs.get("manageMasterPassword"):
                lines.append(Line(f"Redshift-managed admin secret {name}", PRICES["secret_month"], name, SECRET))
        elif typ == "aws:redshiftserverless/namespace:Namespace":
            if warehouse_storage_gb:
                lines.append(_warehouse_storage(name, warehouse_storage_gb))
            if inputs.get("manageAdminPassword"):
                lines.append(Line(f"Redshift-managed admin secret {name}", PRICES["secret_month"], name, SECRET))
        elif typ == "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
            lines.append(
                Line(f"Route 53 private zone {name}", PRICES["private_dns_zone_month"], name, (("private_dns_zone_month", None),))
            )
        elif typ == "aws:secretsmanager/secret:Secret":
            lines.append(Line(f"secret {name}", PRICES["secret_month"], name, SECRET))
        elif typ == "aws:eks/cluster:Cluster":
            # Standard support: the upgrade policy STANDARD keeps the cluster off extended support ($0.60/h).
            lines.append(
                Line(f"EKS control plane {name}", PRICES["eks_cluster_hour"] * HOURS, name, (("eks_cluster_hour", None),))
            )
            # Without an assumed volume its control-plane logs are usage: listed by tools/cost_report.py, not here.
            if inputs.get("enabledClusterLogTypes") and eks_log_gb:
                monthly = eks_log_gb * PRICES["logs_ingestion_gb"]
                lines.append(
                    Line(
                        f"EKS control-plane logs {name} ({eks_log_gb:g} GB assumed)",
                        monthly,
                        name,
                        (("logs_ingestion_gb", None),),
                    )
                )
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            lines += _node_group_lines(name, inputs, templates)
        elif typ == "kubernetes:argoproj.io/v1alpha1:EventBus":
            lines += _event_bus_lines(name, inputs)
        elif typ == SELDON_SERVER:
            lines += _server_lines(name, inputs, groups, templates)
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            azs = len(inputs.get("subnets") or inputs.get("subnetMappings") or [])
            network = inputs.get("loadBalancerType") == "network"
            # Idle: the hourly charge only; LCUs ($0.008/LCU-hour) and NLCUs ($0.006/NLCU-hour) bill with traffic.
            key = "nlb_hour" if network else "alb_hour"
            lines.append(Line(f"{'NLB' if network else 'ALB'} {name}", PRICES[key] * HOURS, name, ((key, None),)))
            if not inputs.get("internal"):
                lines.append(Line(f"public IPv4 {name} x {azs}", PRICES["public_ipv4_hour"] * HOURS * azs, name, IPV4))
    lines += _serving_system_lines(resources, groups, templates)
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
            Line(
                f"CloudWatch alarms x {billed} beyond the free {FREE_ALARM_METRICS}",
                billed * PRICES["alarm_metric_month"],
                prices=(("alarm_metric_month", None),),
            )
        )
    if dashboards > FREE_DASHBOARDS:
        billed = dashboards - FREE_DASHBOARDS
        lines.append(
            Line(
                f"CloudWatch dashboards x {billed} beyond the free {FREE_DASHBOARDS}",
                billed * PRICES["dashboard_month"],
                prices=(("dashboard_month", None),),
            )
        )
    return lines


def total(lines: Iterable[Line]) -> float:
    return round(sum(line.monthly for line in lines), 2)


def reference_lines() -> list[Line]:
    """The reference Terraform blueprint (outerbounds terraform-aws-metaflow, default settings) idle, line
    by line, priced from the vendored table (its line items: ``reference`` in the price file)."""
    entries = {(e.key, e.variant): e for e in price_file().prices}
    lines = []
    for ref in price_file().reference.lines:
        entry = entries[(ref.key, ref.variant)]
        lines.append(Line(ref.line, ref.quantity * entry.usd * (HOURS if ref.hourly else 1), prices=((ref.key, ref.variant),)))
    return lines


def reference_total() -> float:
    """What the reference blueprint bills per month while idle: its lines rounded to cents, as the table adds them."""
    return round(sum(round(line.monthly, 2) for line in reference_lines()), 2)


# ----------------------------------------------------------------- the vendored markdown table


@dataclass(frozen=True)
class TableRow:
    """A row of the vendored price table, its cells verbatim; ``source`` with "same" / "same as above"
    resolved to the row it refers to."""

    item: str
    unit: str
    price: str
    monthly: str
    source: str
    confirmed: str
    note: str

    def usd(self) -> float | None:
        """The first dollar amount of the price cell ("$0.50/zone-mo; ~$0.40/1M" -> 0.5), None if there is none."""
        found = DOLLARS.search(self.price)
        return float(found.group(1).replace(",", "")) if found else None


DOLLARS = re.compile(r"\$(\d[\d,]*(?:\.\d+)?)")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_text() -> str:
    """The vendored table without its provenance comment."""
    text = PRICE_TABLE.read_text()
    return text.split("-->\n", 1)[1] if text.startswith("<!--") else text


def price_table() -> dict[str, TableRow]:
    """The list-price rows of the vendored table, by item."""
    rows: dict[str, TableRow] = {}
    previous_source = ""
    for line in _table_text().splitlines():
        cells = _cells(line) if line.startswith("| ") else []
        if len(cells) != 7 or cells[0] == "item":
            continue
        if cells[4] in ("same", "same as above"):
            cells[4] = previous_source
        previous_source = cells[4]
        rows[cells[0]] = TableRow(*cells)
    return rows


def reference_table() -> dict[str, float]:
    """The vendored table's idle bill of the reference stack: ``{line: $/month}`` (totals in bold included)."""
    bill: dict[str, float] = {}
    text = _table_text()
    for line in text[text.index("| line | calculation | $/month |") :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        amount = cells[-1].strip("*")
        if re.fullmatch(r"\d+\.\d\d", amount):
            bill[cells[0].strip("*")] = float(amount)
    return bill
