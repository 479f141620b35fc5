"""The Kubernetes layer's idle cost (tools/cost.py): every line from the vendored table, or from a derived
price that says so; node groups from zero at $0; the layer's idle total per stack, from what the program
declares (echo mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.plan import PlainMocks
from localcloud.runner import run_program
from tools import cost, cost_usage

REPO = Path(__file__).resolve().parents[2]
ROWS = cost.price_table()
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EVENT_BUS = "kubernetes:argoproj.io/v1alpha1:EventBus"
LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def root_template(size: int = 20, vtype: str = "gp3") -> dict:
    return {
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"volumeSize": size, "volumeType": vtype, "encrypted": "true"}}
        ]
    }


def node_group(min_size: int, itype: str, template: str = "k-lt") -> dict:
    return {
        "scalingConfig": {"minSize": min_size, "desiredSize": min_size, "maxSize": 3},
        "instanceTypes": [itype],
        "launchTemplate": {"id": f"{template}-id", "version": "1"},
    }


# ---------------------------------------------------------------- derived prices


@pytest.mark.parametrize("entry", cost.price_file().derived, ids=lambda d: f"{d.key}[{d.variant}]")
def test_each_derived_price_is_recomputed_from_its_base_and_its_premise_is_quoted(entry):
    base = cost.PRICES[entry.base_key]
    base = base[entry.base_variant] if entry.base_variant else base
    assert entry.usd == pytest.approx(entry.factor * base), f"{entry.key}[{entry.variant}]: {entry.factor} x {base}"
    assert entry.quote in ROWS[entry.quote_row].note, f"{entry.quote!r} is not in the note of row {entry.quote_row!r}"
    table_entries = {(e.key, e.variant) for e in cost.price_file().prices}
    assert (entry.key, entry.variant) not in table_entries, "a derived price must not shadow a row of the table"
    assert (entry.key, entry.variant) in cost.DERIVED and len(entry.rule) > 80


def test_t4g_medium_is_the_only_derived_price_and_lines_using_it_say_so():
    assert cost.DERIVED == {("ec2_hour", "t4g.medium")}, "a new derived price: replace it with a sourced row if one exists"
    lines = cost.idle_lines([(TEMPLATE, "k-lt", root_template()), (NODE_GROUP, "k-system", node_group(1, "t4g.medium"))])
    assert lines[0].item == "EKS node group k-system: 1 x t4g.medium (derived price)"
    assert round(lines[0].monthly, 2) == 24.53  # 8 x $0.0042 x 730


# ---------------------------------------------------------------- the lines


def test_the_control_plane_is_the_tables_standard_support_row_and_its_logs_are_usage():
    cluster = (CLUSTER, "k-cluster", {"version": "1.35", "enabledClusterLogTypes": LOGS})
    lines = cost.idle_lines([cluster])
    assert [(line.item, round(line.monthly, 2), line.prices) for line in lines] == [
        ("EKS control plane k-cluster", 73.00, (("eks_cluster_hour", None),))
    ]
    assert ROWS["EKS control plane (standard)"].monthly == "$73.00"
    # Its logs are usage: an item of the report's usage section (tools/cost_usage.py), not a $0 idle line.
    (logs,) = [u for u in cost_usage.usage_items((cluster,)) if u.item == "EKS control-plane logs"]
    assert (logs.resources, logs.row, logs.price) == (("k-cluster",), "CloudWatch Logs ingestion (Standard)", "$0.5")
    assert logs.assumption.startswith("not estimated: $0.5 per GB; ")
    assumed = cost.idle_lines([(CLUSTER, "k-cluster", {"enabledClusterLogTypes": LOGS})], eks_log_gb=4)
    assert [(line.item, line.monthly) for line in assumed][1] == ("EKS control-plane logs k-cluster (4 GB assumed)", 2.0)
    assert cost.idle_lines([(CLUSTER, "k-cluster", {})])[1:] == [], "no log line without control-plane logs"


def test_system_nodes_bill_min_size_instances_and_their_root_volumes():
    lines = cost.idle_lines([(TEMPLATE, "k-lt", root_template(20, "gp3")), (NODE_GROUP, "k-system", node_group(2, "t4g.medium"))])
    assert [(line.item, round(line.monthly, 2), line.resource) for line in lines] == [
        ("EKS node group k-system: 2 x t4g.medium (derived price)", 49.06, "k-system"),
        ("EKS node group k-system: 2 x 20 GB gp3 root volume", 3.20, "k-system"),
    ]
    named = {**node_group(1, "t4g.nano"), "launchTemplate": {"name": "strata-lt"}}
    lines = cost.idle_lines([(TEMPLATE, "k-lt", {"name": "strata-lt", **root_template(50, "gp2")}), (NODE_GROUP, "g", named)])
    assert round(lines[1].monthly, 2) == 5.00  # 50 GB gp2 at $0.10


def test_node_groups_from_zero_cost_nothing_idle_but_are_listed():
    lines = cost.idle_lines(
        [(NODE_GROUP, "k-alpha-gpu", node_group(0, "g5.xlarge")), (NODE_GROUP, "k-alpha", node_group(0, "m6i.xlarge"))]
    )
    assert [(line.item, line.monthly) for line in lines] == [
        ("EKS node group k-alpha-gpu: 0 x g5.xlarge idle (scales from zero)", 0.0),
        ("EKS node group k-alpha: 0 x m6i.xlarge idle (scales from zero)", 0.0),
    ]


def test_a_node_group_without_a_priced_root_volume_or_instance_fails_loudly():
    with pytest.raises(ValueError, match="no launch template with a root volume"):
        cost.idle_lines([(NODE_GROUP, "k-system", node_group(1, "t4g.medium", template="missing"))])
    with pytest.raises(ValueError, match="no price for instance type 'm6i.xlarge'"):
        cost.idle_lines([(TEMPLATE, "k-lt", root_template()), (NODE_GROUP, "k-warm", node_group(1, "m6i.xlarge"))])


def test_jetstream_volumes_are_priced_only_with_persistence():
    bus = {"spec": {"jetstream": {"version": "2.10.10", "persistence": {"storageClassName": "gp3", "volumeSize": "10Gi"}}}}
    (line,) = cost.idle_lines([(EVENT_BUS, "k-alpha-bus", bus)])
    assert (line.item, round(line.monthly, 2)) == ("JetStream volumes k-alpha-bus: 3 x 10 GB gp3", 2.40)  # 3 replicas by default
    one = {"spec": {"jetstream": {**bus["spec"]["jetstream"], "replicas": 1}}}
    assert round(cost.idle_lines([(EVENT_BUS, "b", one)])[0].monthly, 2) == 0.80
    assert cost.idle_lines([(EVENT_BUS, "b", {"spec": {"jetstream": {"replicas": 1}}})]) == []
    unnamed = {"spec": {"jetstream": {"persistence": {"volumeSize": "10Gi"}}}}
    with pytest.raises(ValueError, match="name a gp3 or gp2 class"):
        cost.idle_lines([(EVENT_BUS, "b", unnamed)])


def test_the_free_kubernetes_types_are_known_and_quote_no_price_outside_the_table():
    for typ in (
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:autoscaling/attachment:Attachment",
        "kubernetes:helm.sh/v3:Release",
    ):
        assert typ in cost.FREE_AT_IDLE, typ
        assert cost.idle_lines([(typ, "x", {})]) == [], typ


# ---------------------------------------------------------------- the layer in each stack


def kubernetes_lines(stack: str) -> list[cost.Line]:
    run = run_program(REPO, stack, PlainMocks())
    lines = cost.idle_lines((r.type, r.name, r.inputs) for r in run.custom_resources())
    return [line for line in lines if line.resource.startswith("kubernetes-")]


@pytest.fixture(scope="module")
def layer() -> dict[str, list[cost.Line]]:
    return {stack: kubernetes_lines(stack) for stack in ("dev", "staging", "prod")}


def test_dev_has_no_kubernetes_line(layer):
    assert layer["dev"] == []


@pytest.mark.parametrize(("stack", "nlb"), [("staging", False), ("prod", True)])
def test_the_layers_idle_bill_is_the_control_plane_the_system_nodes_and_the_internal_nlb(layer, stack, nlb):
    """prod turns the internal NLB on (strata:kubernetes.loadBalancer); staging keeps the default (off)."""
    lines = layer[stack]
    items = [line.item for line in lines if line.monthly]
    assert "EKS control plane kubernetes-cluster" in items and ("NLB kubernetes-nlb" in items) is nlb
    assert any(item.startswith("EKS node group kubernetes-system: ") for item in items)
    billed = {line.resource for line in lines if line.monthly}
    assert billed == {"kubernetes-cluster", "kubernetes-system"} | ({"kubernetes-nlb"} if nlb else set()), billed
    zero = [line for line in lines if not line.monthly]
    assert zero and all("scales from zero" in line.item or "usage:" in line.item for line in zero)


def test_the_layers_idle_totals(layer):
    """What the layer adds idle (target: <= $110/month, issue 12). staging runs the defaults (one system node, no
    load balancer); prod chooses two system nodes and the internal NLB in its stack file."""
    totals = {stack: cost.total(lines) for stack, lines in layer.items()}
    # control plane 73.00 + per system node (t4g.medium 24.528 + 20 GB gp3 1.60) [+ NLB 16.425], to the cent
    assert totals == {"dev": 0.0, "staging": 99.13, "prod": 141.68}, totals
    assert totals["staging"] <= 110
