"""`strata diagram`: the architecture of a stack, drawn from what its program declares.

    .venv/bin/strata diagram --stack prod -o docs/img/architecture-prod.svg

is the one command that regenerates the picture docs/architecture.md embeds (nobody draws it by hand;
tests/unit/test_diagram.py fails when the committed file no longer matches the program).

The program runs in this process with the echo mocks (``localcloud.plan.PlainMocks``: no cloud, no Pulumi CLI),
as for ``strata plan-json``. Every box is counted and labelled from the declared resources and the stack outputs:
one cluster per layer the stack turns on (a layer the stack turns off declares nothing, so is not drawn), the
shared services in them, one cluster per team (teams come from the ``teamProfileParameters`` output; a resource
is a team's when it carries the team's ``team`` tag or lives in the team's Kubernetes namespace), and the data
scientist's path as numbered edges: laptop -> profile in SSM (``strata configure``) -> S3 datastore -> Batch
queues -> Step Functions -> Argo -> the served model, skipping the stages the stack does not have.

Drawing uses the ``diagrams`` package, which needs Graphviz's ``dot`` (a system package). The output format
comes from the file's suffix (.png or .svg). Node ids are derived from names, so the same program gives the
same picture; in an SVG the icons (PNG files inside the ``diagrams`` package) are embedded as ``data:`` URIs,
once each, so the file works on any machine and in the mkdocs site.
"""

from __future__ import annotations

import base64
import importlib
import os
import re
import shutil
import struct
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from strata.output import console

err = console(stderr=True)

FORMATS = (".png", ".svg")
INSTALL_HINT = (
    "Graphviz's `dot` is not installed (strata diagram draws with it). Install Graphviz and run the command again:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "  other systems: https://graphviz.org/download/"
)


class DiagramError(Exception):
    """A problem the user can fix (bad output name, Graphviz missing or failing); the message says how."""


# ---------------------------------------------------------------- what the program declared


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    layer: str  # the module of the component that declared it: strata:<layer>:<Name>
    team: str | None  # the team that owns it, or None for a shared service
    inputs: dict[str, Any]


def layer_of(urn: str) -> str:
    """The layer that declared a resource: the module of the first ``strata:<module>:`` component in its URN's
    type chain (``urn:pulumi:<stack>::<project>::strata:compute:Compute$aws:batch/...::name``)."""
    for token in urn.split("::")[2].split("$"):
        parts = token.split(":")
        if parts[0] == "strata" and len(parts) == 3:
            return parts[1]
    return "other"


def owner_of(inputs: dict[str, Any], teams: Collection[str], namespaces: dict[str, str]) -> str | None:
    """The team a resource belongs to: its ``team`` tag, else the team whose Kubernetes namespace it lives in."""
    tags = inputs.get("tags")
    if isinstance(tags, dict) and str(tags.get("team")) in teams:
        return str(tags["team"])
    metadata: dict[str, Any] = inputs["metadata"] if isinstance(inputs.get("metadata"), dict) else {}
    if inputs.get("kind") == "Namespace":  # cluster-scoped: the namespace itself
        return namespaces.get(str(metadata.get("name")))
    namespace = metadata.get("namespace") or inputs.get("namespace")
    return namespaces.get(str(namespace)) if namespace is not None else None


def declared(run: Any) -> list[Resource]:
    """The custom resources of a ``localcloud.runner.ProgramRun`` (providers left out), each with its layer and owner."""
    teams = sorted(run.outputs.get("teamProfileParameters") or {})
    namespaces = {str(ns): team for team, ns in (run.outputs.get("teamNamespaces") or {}).items()}
    return sorted(
        (
            Resource(r.type, r.name, layer_of(r.urn), owner_of(r.inputs, teams, namespaces), dict(r.inputs))
            for r in run.custom_resources()
            if not r.type.startswith("pulumi:providers:")
        ),
        key=lambda r: (r.layer, r.type, r.name),
    )


# ---------------------------------------------------------------- the picture (pure data)


# Characters a label line holds under a box before it runs into the next box.
WRAP = 26


def wrap(label: str, width: int = WRAP) -> str:
    """``label`` with each line longer than ``width`` broken after a space, slash, hyphen or comma."""
    lines = []
    for line in label.split("\n"):
        while len(line) > width:
            cut = max(line.rfind(sep, 1, width) for sep in " /-,")
            cut = cut if cut > 0 else width - 1
            lines.append(line[: cut + 1].rstrip())
            line = line[cut + 1 :].lstrip()
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    icon: str  # "<module under diagrams>.<Class>", e.g. "aws.compute.Batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", wrap(self.label))


@dataclass
class Group:
    id: str
    label: str
    boxes: list[Box] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    tail: str
    head: str
    label: str = ""


@dataclass
class Picture:
    title: str
    outside: list[Box]
    root: Group
    links: list[Link]

    def boxes(self) -> list[Box]:
        found = list(self.outside)
        todo = [self.root]
        while todo:
            group = todo.pop()
            found += group.boxes
            todo += group.groups
        return found

    def groups(self) -> list[Group]:
        found, todo = [], [self.root]
        while todo:
            group = todo.pop()
            found.append(group)
            todo += group.groups
        return found

    def texts(self) -> set[str]:
        """Every line of text the drawing shows (title, clusters, boxes, edge labels): what an SVG of it holds."""
        labels = [self.title, *(g.label for g in self.groups()), *(b.label for b in self.boxes())]
        labels += [link.label for link in self.links]
        return {line.strip() for label in labels for line in label.split("\n") if line.strip()}


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def _of(resources: Iterable[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _name(r: Resource) -> str:
    for key in ("name", "bucket", "nodeGroupName", "workgroupName", "clusterIdentifier", "dashboardName"):
        if isinstance(r.inputs.get(key), str):
            return str(r.inputs[key])
    metadata = r.inputs.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return str(metadata["name"])
    return r.name


def _short(resources: list[Resource], common: str) -> str:
    """The names of ``resources`` without the ``common`` prefix they share (``strata-prod-fraud-cpu`` -> ``cpu``)."""
    return ", ".join(sorted(_name(r).removeprefix(common).strip("-/") or _name(r) for r in resources))


def _tally(words: Iterable[str]) -> str:
    """``3 cpu-ondemand, 3 cpu-spot, 1 gpu``."""
    counts = Counter(words)
    return ", ".join(f"{counts[w]} {w}" for w in sorted(counts))


def _releases(rs: list[Resource]) -> list[Box]:
    """One box per chart family (charts of one release line drawn together): name, version, how many releases."""
    charts: dict[str, list[Resource]] = {}
    for r in _of(rs, "kubernetes:helm.sh/v3:Release"):
        chart = str(r.inputs.get("chart") or r.name)
        family = "seldon-core-v2" if chart.startswith("seldon-core-v2") else chart
        charts.setdefault(family, []).append(r)
    boxes = []
    for family, releases in sorted(charts.items()):
        versions = sorted({str(r.inputs.get("version") or "") for r in releases} - {""})
        icon = "onprem.gitops.Argocd" if family.startswith("argo") else "k8s.ecosystem.Helm"
        label = f"{family} {', '.join(versions)}".strip()
        if len(releases) > 1:
            label += f"\n{plural(len(releases), 'Helm release')}"
        boxes.append(Box(f"release_{_slug(family)}", label, icon))
    return boxes


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


# Each layer's boxes, counted over every resource the layer declared (its shared services and the teams' parts).
LayerBoxes = Callable[[list[Resource], dict[str, Any]], list[Box]]


def _network(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    vpcs, subnets = _of(rs, "aws:ec2/vpc:Vpc"), _of(rs, "aws:ec2/subnet:Subnet")
    cidr = vpcs[0].inputs.get("cidrBlock") if vpcs else None
    label = f"VPC {cidr}" if cidr else f"adopted VPC {out.get('vpcId', '')}".strip()
    if subnets:
        zones = {s.inputs.get("availabilityZone") for s in subnets}
        label += f"\n{plural(len(subnets), 'subnet')} in {plural(len(zones), 'AZ')}"
    boxes.append(Box("network_vpc", label, "aws.network.VPC"))
    if gateways := _of(rs, "aws:ec2/natGateway:NatGateway"):
        boxes.append(Box("network_nat", plural(len(gateways), "NAT gateway"), "aws.network.NATGateway"))
    for nat in _of(rs, "aws:ec2/instance:Instance"):
        boxes.append(Box(f"network_{_slug(nat.name)}", f"NAT instance\n{nat.inputs.get('instanceType', '')}", "aws.compute.EC2"))
    if endpoints := _of(rs, "aws:ec2/vpcEndpoint:VpcEndpoint"):
        services = ", ".join(sorted({str(e.inputs.get("serviceName", "")).rsplit(".", 1)[-1] for e in endpoints}))
        boxes.append(Box("network_endpoints", f"{plural(len(endpoints), 'VPC endpoint')}\n{services}", "aws.network.Endpoint"))
    if _of(rs, "aws:ec2/flowLog:FlowLog"):
        boxes.append(Box("network_flow_logs", "VPC flow logs", "aws.network.VPCFlowLogs"))
    return boxes


def _datastore(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    for bucket in _of(rs, "aws:s3/bucket:Bucket"):
        name = _name(bucket)
        if name == out.get("datastoreBucket"):
            boxes.append(Box(DATASTORE_BOX, f"S3 datastore\n{name}", "aws.storage.S3"))
        else:
            boxes.append(Box(f"datastore_{_slug(bucket.name)}", f"S3 bucket\n{name}", "aws.storage.SimpleStorageServiceS3Bucket"))
    if keys := _of(rs, "aws:kms/key:Key"):
        boxes.append(Box("datastore_kms", plural(len(keys), "KMS key"), "aws.security.KMS"))
    return boxes


def _compute(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    if envs := _of(rs, "aws:batch/computeEnvironment:ComputeEnvironment"):
        # The kinds as the computeEnvironments output names them ({team: {kind: arn}}).
        kinds = _tally(kind for pools in (out.get("computeEnvironments") or {}).values() for kind in pools)
        boxes.append(Box("compute_envs", f"{plural(len(envs), 'compute environment')}\n{kinds}", "aws.compute.Batch"))
    if queues := _of(rs, "aws:batch/jobQueue:JobQueue"):
        boxes.append(Box("compute_queues", plural(len(queues), "job queue"), "aws.compute.Batch"))
    return boxes


def _orchestration(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    prefixes = out.get("teamStateMachinePrefixes") or {}
    if prefixes or out.get("sfnLogGroup"):
        label = f"Step Functions\n{plural(len(prefixes), 'team prefix', 'team prefixes')}"
        boxes.append(Box("orchestration_sfn", label, "aws.integration.StepFunctions"))
    if roles := out.get("eventBridgeScheduleRoleArns"):
        label = f"EventBridge schedules\n{plural(len(roles), 'team role')}"
        boxes.append(Box("orchestration_events", label, "aws.integration.Eventbridge"))
    if tables := _of(rs, "aws:dynamodb/table:Table"):
        boxes.append(Box("orchestration_tables", plural(len(tables), "DynamoDB state table"), "aws.database.Dynamodb"))
    return boxes


def _kubernetes(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    for cluster in _of(rs, "aws:eks/cluster:Cluster"):
        groups = _of(rs, "aws:eks/nodeGroup:NodeGroup")
        label = f"EKS {_name(cluster)} {cluster.inputs.get('version', '')}".strip() + f"\n{plural(len(groups), 'node group')}"
        boxes.append(Box("kubernetes_eks", label, "aws.compute.EKS"))
    boxes += _releases([r for r in rs if r.team is None])
    listeners = _of(rs, "aws:lb/listener:Listener")
    for lb in _of(rs, "aws:lb/loadBalancer:LoadBalancer"):
        kind = "NLB" if lb.inputs.get("loadBalancerType") == "network" else "ALB"
        where = "internal" if lb.inputs.get("internal") else "public"
        label = f"{where} {kind}\n{plural(len(listeners), 'listener')}: Argo UI, webhooks"
        boxes.append(Box(f"kubernetes_{_slug(lb.name)}", label, "aws.network.ElbNetworkLoadBalancer"))
    return boxes


def _metadata(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    for api in _of(rs, "aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api"):
        kind = "REST API" if api.type.startswith("aws:apigateway/") else "HTTP API"
        keys = plural(len(out.get("metadataApiKeySecrets") or {}), "team API key")
        boxes.append(Box(f"metadata_{_slug(api.name)}", f"API Gateway {kind}\n{keys}", "aws.network.APIGateway"))
    for service in _of(rs, "aws:ecs/service:Service"):
        tasks = plural(int(service.inputs.get("desiredCount") or 0), "task")
        boxes.append(Box(f"metadata_{_slug(service.name)}", f"{_name(service)}\nFargate, {tasks}", "aws.compute.Fargate"))
    for db in _of(rs, "aws:rds/cluster:Cluster"):
        instances = _of(rs, "aws:rds/clusterInstance:ClusterInstance")
        engine = str(db.inputs.get("engine") or "aurora-postgresql")
        boxes.append(Box(f"metadata_{_slug(db.name)}", f"{engine}\n{plural(len(instances), 'instance')}", "aws.database.Aurora"))
    for lb in _of(rs, "aws:lb/loadBalancer:LoadBalancer"):
        kind = "NLB" if lb.inputs.get("loadBalancerType") == "network" else "ALB"
        icon = "aws.network.ElbNetworkLoadBalancer" if kind == "NLB" else "aws.network.ElbApplicationLoadBalancer"
        boxes.append(Box(f"metadata_{_slug(lb.name)}", f"internal {kind}\n{_name(lb)}", icon))
    return boxes


def _warehouse(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    for wg in _of(rs, "aws:redshiftserverless/workgroup:Workgroup"):
        label = f"Redshift Serverless\n{_name(wg)}, {int(wg.inputs.get('baseCapacity') or 0)} RPU"
        boxes.append(Box("warehouse", label, "aws.database.Redshift"))
    for cluster in _of(rs, "aws:redshift/cluster:Cluster"):
        nodes = int(cluster.inputs.get("numberOfNodes") or 1)
        label = f"Redshift {_name(cluster)}\n{plural(nodes, 'node')} {cluster.inputs.get('nodeType', '')}".strip()
        boxes.append(Box("warehouse", label, "aws.database.Redshift"))
    if roles := out.get("warehouseCopyRoles"):
        boxes.append(Box("warehouse_roles", f"COPY/UNLOAD roles\n{plural(len(roles), 'team')}", "aws.security.IAMRole"))
    return boxes


def _serving(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = _releases([r for r in rs if r.team is None])
    if servers := _of(rs, SELDON_SERVER):
        boxes.append(
            Box("serving_servers", f"{plural(len(servers), 'MLServer server')}\nin team namespaces", "k8s.compute.Deploy")
        )
    for deployment in _of([r for r in rs if r.team is None], "kubernetes:apps/v1:Deployment"):
        boxes.append(Box(f"serving_{_slug(deployment.name)}", f"{_name(deployment)}\nmodel metrics", "aws.management.Cloudwatch"))
    return boxes


def _observability(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    boxes = []
    if dashboards := _of(rs, "aws:cloudwatch/dashboard:Dashboard"):
        boxes.append(Box("observability_dashboard", f"dashboard\n{_name(dashboards[0])}", "aws.management.Cloudwatch"))
    if alarms := _of(rs, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        boxes.append(Box("observability_alarms", plural(len(alarms), "alarm"), "aws.management.CloudwatchAlarm"))
    if topics := _of(rs, "aws:sns/topic:Topic"):
        boxes.append(Box("observability_topics", plural(len(topics), "SNS topic"), "aws.integration.SNS"))
    if budgets := _of(rs, "aws:budgets/budget:Budget"):
        boxes.append(Box("observability_budgets", plural(len(budgets), "budget"), "aws.cost.Budgets"))
    if logs := _of(rs, "aws:cloudwatch/logGroup:LogGroup"):
        boxes.append(Box("observability_logs", plural(len(logs), "log group"), "aws.management.CloudwatchLogs"))
    return boxes


DATASTORE_BOX = "datastore_bucket"

# The layers in the order they are drawn: (module, title, boxes). A module not listed is drawn with its resource count.
LAYERS: tuple[tuple[str, str, LayerBoxes], ...] = (
    ("network", "network: VPC", _network),
    ("datastore", "datastore: S3 + KMS", _datastore),
    ("compute", "compute: AWS Batch", _compute),
    ("orchestration", "orchestration: Step Functions + EventBridge", _orchestration),
    ("kubernetes", "Kubernetes: EKS + Argo", _kubernetes),
    ("metadata", "metadata: Metaflow service + Aurora", _metadata),
    ("warehouse", "warehouse: Redshift", _warehouse),
    ("serving", "serving: Seldon Core + MLServer", _serving),
    ("observability", "observability", _observability),
)
# The team layer (strata:team:Team) is drawn as the teams' clusters.
TEAM_LAYER = "team"
SELDON_SERVER = "kubernetes:mlops.seldon.io/v1alpha1:Server"


def _team(team: str, mine: list[Resource], out: dict[str, Any]) -> tuple[Group, dict[str, str]]:
    """The cluster of one team, and its boxes on the data scientist's path: {stage: box id}."""
    boxes: list[Box] = []
    path: dict[str, str] = {}

    def add(key: str, label: str, icon: str, stage: str = "") -> None:
        boxes.append(Box(f"team_{_slug(team)}_{key}", label, icon))
        if stage:
            path.setdefault(stage, boxes[-1].id)

    tags = [r.inputs["tags"] for r in mine if isinstance(r.inputs.get("tags"), dict)]
    cost_center = next((str(t["cost-center"]) for t in tags if "cost-center" in t), None)
    for parameter in _of(mine, "aws:ssm/parameter:Parameter"):
        add("profile", f"Metaflow profile (SSM)\n{_name(parameter)}", "aws.management.SystemsManagerParameterStore", "profile")
    if root := ((out.get("teamProfiles") or {}).get(team) or {}).get("METAFLOW_DATASTORE_SYSROOT_S3"):
        prefix = str(root).removeprefix(f"s3://{out.get('datastoreBucket')}/")
        add("prefix", f"S3 prefix\n{prefix}", "aws.storage.SimpleStorageServiceS3Bucket")
    base = str((out.get("teamStateMachinePrefixes") or {}).get(team) or "")
    if roles := _of(mine, "aws:iam/role:Role"):
        add("roles", f"{plural(len(roles), 'IAM role')}\n{_short(roles, base)}", "aws.security.IAMRole")
    if queues := _of(mine, "aws:batch/jobQueue:JobQueue"):
        add("queues", f"{plural(len(queues), 'Batch job queue')}\n{_short(queues, base)}", "aws.compute.Batch", "batch")
    if base:
        tables = plural(len(_of(mine, "aws:dynamodb/table:Table")), "state table")
        add("sfn", f"Step Functions\n{base}-*\n{tables}", "aws.integration.StepFunctions", "sfn")
    for namespace in _of(mine, "kubernetes:core/v1:Namespace"):
        sources = plural(len(_of(mine, "kubernetes:argoproj.io/v1alpha1:EventSource")), "event source")
        nodes = plural(len(_of(mine, "aws:eks/nodeGroup:NodeGroup")), "node group")
        add(f"ns_{_slug(_name(namespace))}", f"namespace {_name(namespace)}\nArgo, {sources}\n{nodes}", "k8s.group.NS", "argo")
    for server in _of(mine, SELDON_SERVER):
        add(f"server_{_slug(server.name)}", f"served model\nSeldon Server {_name(server)}", "k8s.compute.Pod", "model")
    if keys := _of(mine, "aws:secretsmanager/secret:Secret"):
        add("keys", f"{plural(len(keys), 'metadata API key')}\nSecrets Manager", "aws.security.SecretsManager")
    if budgets := _of(mine, "aws:budgets/budget:Budget"):
        alarms = plural(len(_of(mine, "aws:cloudwatch/metricAlarm:MetricAlarm")), "alarm")
        add("budget", f"{plural(len(budgets), 'budget')}\n{alarms}", "aws.cost.Budgets")
    # The path's boxes first, in path order: the team's cluster reads along the path.
    order = list(path.values())
    boxes.sort(key=lambda b: order.index(b.id) if b.id in order else len(order))
    return Group(f"team_{_slug(team)}", f"team {team}" + (f" (cost center {cost_center})" if cost_center else ""), boxes), path


# The data scientist's path: each stage, and what the data scientist runs to get there.
PATH_STEPS = (
    ("profile", "1 strata configure"),
    ("datastore", "2 python flow.py run"),
    ("batch", "3 run --with batch"),
    ("sfn", "4 step-functions create"),
    ("argo", "5 argo-workflows create"),
    ("model", "6 deploy the model"),
)
LAPTOP = "laptop"


def architecture(stack: str, resources: list[Resource], outputs: dict[str, Any]) -> Picture:
    """The picture of ``stack``: what it declares, grouped by layer and team, and the data scientist's path."""
    teams = sorted(outputs.get("teamProfileParameters") or {})
    by_layer: dict[str, list[Resource]] = {}
    for r in resources:
        by_layer.setdefault(r.layer, []).append(r)

    shared = Group("shared", "shared services, by layer")
    known = {module for module, _, _ in LAYERS} | {TEAM_LAYER}
    for module, title, boxes_of in [*LAYERS, *((m, m, _generic) for m in sorted(by_layer) if m not in known)]:
        if rs := by_layer.get(module):  # a layer the stack turns off declares nothing: it is not drawn
            boxes = boxes_of(rs, outputs) or _generic(rs, outputs)
            shared.groups.append(Group(f"layer_{module}", f"{title} ({plural(len(rs), 'resource')})", boxes))
    team_groups = Group("teams", f"{plural(len(teams), 'team')}: each its own resources")
    paths = {}
    for team in teams:
        group, paths[team] = _team(team, [r for r in resources if r.team == team], outputs)
        if group.boxes:
            team_groups.groups.append(group)

    root = Group("aws", f"AWS {outputs.get('region', '')}: stack {stack} ({plural(len(resources), 'resource')})")
    root.groups = [team_groups, shared] if teams else [shared]
    picture = Picture(f"Strata: stack {stack}", [Box(LAPTOP, "data scientist\nlaptop", "onprem.client.User")], root, [])
    datastore = {"datastore": DATASTORE_BOX} if DATASTORE_BOX in {b.id for b in picture.boxes()} else {}
    for team in teams:
        stages, here = {**paths[team], **datastore}, LAPTOP
        for stage, command in PATH_STEPS:
            if stage in stages:  # a stage the stack does not have is skipped
                # The command labels each stage once (on the first team's edge); the other teams' edges follow it.
                picture.links.append(Link(here, stages[stage], command if team == teams[0] else ""))
                here = stages[stage]
    return picture


def _generic(rs: list[Resource], out: dict[str, Any]) -> list[Box]:
    layer = rs[0].layer
    return [Box(f"layer_{_slug(layer)}_resources", plural(len(rs), "resource"), "generic.blank.Blank")]


# ---------------------------------------------------------------- drawing


def _icon(path: str) -> type:
    module, name = path.rsplit(".", 1)
    icon: type = getattr(importlib.import_module(f"diagrams.{module}"), name)
    return icon


PATH_EDGE = {"color": "#D35400", "penwidth": "2.5", "fontcolor": "#D35400", "fontsize": "14", "constraint": "false"}
# Boxes a row inside a cluster, and clusters a row inside a cluster of clusters.
BOX_COLUMNS, GROUP_COLUMNS = 3, 3


def _first(group: Group) -> str:
    return group.boxes[0].id if group.boxes else _first(group.groups[0])


def _last(group: Group) -> str:
    return group.boxes[-1].id if group.boxes else _last(group.groups[-1])


def grid(picture: Picture) -> list[tuple[str, str]]:
    """Invisible edges that lay the picture out as a grid, top to bottom: the laptop, the teams, the shared services;
    in each cluster, its boxes ``BOX_COLUMNS`` a row and its clusters ``GROUP_COLUMNS`` a row. (The visible edges do
    not constrain the layout: they would stretch the path into one long column.)"""
    edges: list[tuple[str, str]] = []

    def arrange(group: Group) -> None:
        for i in range(BOX_COLUMNS, len(group.boxes)):
            edges.append((group.boxes[i - BOX_COLUMNS].id, group.boxes[i].id))
        inner = [g for g in group.groups if g.boxes or g.groups]
        columns = 1 if group.id == "aws" else GROUP_COLUMNS
        for i in range(columns, len(inner)):
            edges.append((_last(inner[i - columns]), _first(inner[i])))
        for g in inner:
            arrange(g)

    arrange(picture.root)
    for box in picture.outside:
        edges.append((box.id, _first(picture.root)))
    return edges


def sketch(picture: Picture, filename: str = "architecture", outformat: str = "svg") -> Any:
    """The ``diagrams.Diagram`` of ``picture``, built but not rendered (its ``.dot`` holds the Graphviz source)."""
    from diagrams import Cluster, Diagram, Edge, setdiagram  # type: ignore[import-untyped]

    class Sketch(Diagram):
        def __exit__(self, *exc: object) -> None:  # diagrams renders here; Strata renders on request
            setdiagram(None)

    graph = {"pad": "0.4", "splines": "spline", "nodesep": "1.2", "ranksep": "0.6", "fontsize": "22", "labelloc": "t"}
    with Sketch(picture.title, filename=filename, direction="TB", outformat=outformat, show=False, graph_attr=graph) as drawing:
        nodes: dict[str, Any] = {}

        def draw(group: Group) -> None:
            with Cluster(group.label, graph_attr={"fontsize": "15", "margin": "16"}):
                # Declared last to first: dot lays a row out right to left in the order it meets the nodes.
                for box in reversed(group.boxes):
                    nodes[box.id] = _icon(box.icon)(box.label, nodeid=box.id)
                for inner in reversed(group.groups):
                    draw(inner)

        for box in picture.outside:
            nodes[box.id] = _icon(box.icon)(box.label, nodeid=box.id)
        draw(picture.root)
        for tail, head in grid(picture):
            nodes[tail] >> Edge(style="invis") >> nodes[head]
        for link in picture.links:
            nodes[link.tail] >> Edge(label=link.label, **PATH_EDGE) >> nodes[link.head]
    return drawing


def dot_source(picture: Picture) -> str:
    """The Graphviz source of the drawing (no Graphviz needed)."""
    return str(sketch(picture).dot.source)


_HREF = re.compile(r'xlink:href="([^"]+\.png)"')
_IMAGE = re.compile(r'<image ([^>]*?)xlink:href="#(icon\d+)"([^>]*?)/>')


def embed_icons(svg: str) -> str:
    """Replace the absolute paths of the icon files with the icons themselves: each PNG once, as a ``data:`` URI in
    a ``<symbol>``, and every use of it a ``<use>`` (graphviz writes ``<image xlink:href="/abs/path.png" ...>``)."""
    ids: dict[str, str] = {}

    def to_id(match: re.Match[str]) -> str:
        return f'xlink:href="#{ids.setdefault(match.group(1), f"icon{len(ids)}")}"'

    svg = _IMAGE.sub(lambda m: f'<use {m.group(1)}xlink:href="#{m.group(2)}"{m.group(3)}/>', _HREF.sub(to_id, svg))
    symbols = []
    for path, icon in ids.items():
        png = Path(path).read_bytes()
        width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
        symbols.append(
            f'<symbol id="{icon}" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">'
            f'<image width="{width}" height="{height}" xlink:href="data:image/png;base64,{base64.b64encode(png).decode()}"/>'
            "</symbol>"
        )
    defs = "<defs>" + "".join(symbols) + "</defs>\n"
    start = svg.index(">", svg.index("<svg")) + 1
    return svg[:start] + "\n" + defs + svg[start:]


def render(picture: Picture, output: Path) -> None:
    """Draw ``picture`` into ``output`` (.png or .svg): in a temporary directory first, so a failure leaves no file."""
    fmt = output_format(output)
    if shutil.which("dot") is None:
        raise DiagramError(INSTALL_HINT)
    from graphviz import CalledProcessError, ExecutableNotFound  # type: ignore[import-untyped]

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".strata-diagram-", dir=output.parent) as tmp:
        drawing = sketch(picture, filename=str(Path(tmp) / "architecture"), outformat=fmt)
        try:
            drawing.render()  # writes <filename>.<fmt>: diagrams appends the suffix
        except ExecutableNotFound:
            raise DiagramError(INSTALL_HINT) from None
        except CalledProcessError as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
            detail = stderr.strip()
            raise DiagramError(f"Graphviz's `dot` failed ({detail or exc}).\n{INSTALL_HINT}") from None
        drawn = Path(tmp) / f"architecture.{fmt}"
        if fmt == "svg":
            drawn.write_text(embed_icons(drawn.read_text()))
        os.replace(drawn, output)


def output_format(output: Path) -> str:
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        got = repr(suffix) if suffix else "no suffix"
        raise DiagramError(f"{output}: the output must end in .png or .svg (got {got}); e.g. -o architecture.svg")
    return suffix[1:]


# ---------------------------------------------------------------- the command


def picture_of(project_dir: Path, stack: str) -> Picture:
    """Run the program for ``stack`` with echo mocks and return its picture. Raises ``pulumi.RunError`` on bad config."""
    from localcloud.plan import PlainMocks
    from localcloud.runner import run_program

    run = run_program(project_dir, stack, PlainMocks())
    return architecture(stack, declared(run), run.outputs)


def diagram(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    output: Path = typer.Option(..., "--output", "-o", help="The picture to write: FILE.svg or FILE.png."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """Draw the stack's architecture (layers, shared services, each team's resources, the data scientist's path) from
    what the program declares, with Graphviz: `strata diagram --stack prod -o docs/img/architecture-prod.svg`."""
    from tools.cli import require_project

    try:
        output_format(output)
        if shutil.which("dot") is None:  # before the program runs: say what to install at once
            raise DiagramError(INSTALL_HINT)
    except DiagramError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    require_project(project_dir)
    import pulumi  # the program runs in this process: import Pulumi only when asked to

    from infra.config import ConfigError

    try:
        with err.status(f"running the program for stack {stack!r} (echo mocks, no cloud) ..."):
            picture = picture_of(project_dir, stack)
    except ConfigError as exc:  # e.g. no stack file: every problem with file, key and fix
        err.print(exc.render(), highlight=False, markup=False)
        raise typer.Exit(1) from None
    except pulumi.RunError as exc:  # a config problem, already rendered with file, key and fix
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    try:
        with err.status(f"drawing {output} with Graphviz ..."):
            render(picture, output)
    except DiagramError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    layers = sum(g.id.startswith("layer_") for g in picture.groups())
    teams = sum(g.id.startswith("team_") for g in picture.groups())
    err.print(f"stack {stack!r}: {plural(layers, 'layer')}, {plural(teams, 'team')} drawn to {output}", highlight=False)
