"""tools/cost.py on the serving layer: a team's Server keeps a team node up (or nothing, at 0 replicas), and the
runtime's pods on the system nodes cost a node only when they overflow the ones the Kubernetes layer keeps."""

from __future__ import annotations

from typing import Any

import pytest

from modules.serving import manifests as m
from tools import cost

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EVENT_SOURCE = "kubernetes:argoproj.io/v1alpha1:EventSource"


def group(min_size: int, itype: str, labels: dict[str, str], taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "scalingConfig": {"minSize": min_size, "desiredSize": min_size, "maxSize": 3},
        "instanceTypes": [itype],
        "launchTemplate": {"id": "lt-id", "version": "1"},
        "labels": labels,
        "taints": taints or [],
    }


def resources(teams: int, replicas: int, system_min: int = 1, team_type: str = "t4g.nano") -> list[tuple[str, str, Any]]:
    template = {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20, "volumeType": "gp3"}}]}
    out: list[tuple[str, str, Any]] = [
        (TEMPLATE, "lt", template),
        (NODE_GROUP, "k-system", group(system_min, "t4g.medium", {"strata.io/pool": "system"})),
    ]
    for i in range(teams):
        team = f"t{i}"
        spec = m.TeamServingSpec(team, team, "us-east-1", f"strata:team:{team}", "seldonio/mlserver:1.7.1", replicas, 500, 1024)
        gpu_taint = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
        out += [
            (NODE_GROUP, f"k-{team}-gpu", group(0, "g5.xlarge", {"strata.io/team": team}, gpu_taint)),
            (NODE_GROUP, f"k-{team}", group(0, team_type, {"strata.io/team": team})),
            (EVENT_SOURCE, f"k-{team}-webhook", {}),
            (cost.SELDON_SERVER, f"serving-{team}-server", m.server(spec)),
        ]
    return out


def serving(lines: list[cost.Line]) -> list[cost.Line]:
    return [line for line in lines if line.resource == "serving" or line.resource.startswith("serving-")]


def test_a_server_without_replicas_costs_nothing_and_says_so():
    lines = serving(cost.idle_lines(resources(1, replicas=0)))
    assert [(line.item, line.monthly) for line in lines if line.resource != "serving"] == [
        ("Seldon Server serving-t0-server: 0 replicas (no node kept up)", 0.0)
    ]


def test_a_server_with_replicas_keeps_one_cpu_node_of_its_team_up_with_its_volume():
    lines = [line for line in serving(cost.idle_lines(resources(1, replicas=1))) if line.resource != "serving"]
    assert [round(line.monthly, 2) for line in lines] == [3.07, 1.60], lines  # a t4g.nano (a priced type) + 20 GB gp3
    assert all("k-t0:" in line.item and "gpu" not in line.item for line in lines), "the CPU group, not the GPU one"


def test_an_unpriced_team_node_type_is_a_visible_zero_line_never_a_guess():
    lines = [line for line in serving(cost.idle_lines(resources(1, 1, team_type="m6i.xlarge"))) if line.resource != "serving"]
    assert "UNPRICED" in lines[0].item and lines[0].monthly == 0.0
    assert round(lines[1].monthly, 2) == 1.60, "its root volume is priced"


@pytest.mark.parametrize(
    ("teams", "system_min", "extra_nodes"), [(1, 1, 0), (2, 1, 1), (3, 1, 1), (3, 2, 0), (5, 1, 0), (7, 1, 1)]
)
def test_runtime_pods_cost_a_system_node_only_when_they_overflow(teams: int, system_min: int, extra_nodes: int):
    (pods, *rest) = [line for line in cost.idle_lines(resources(teams, 0, system_min)) if line.resource == "serving"]
    before = cost.SYSTEM_PLATFORM_PODS + cost.SYSTEM_PODS_PER_K8S_TEAM * teams
    assert f"{m.system_pods(teams)} (controller" in pods.item
    per_node = cost.MAX_PODS["t4g.medium"] - cost.SYSTEM_DAEMONSET_PODS
    assert extra_nodes == max(system_min, -(-(before + m.system_pods(teams)) // per_node)) - max(
        system_min, -(-before // per_node)
    )
    if extra_nodes == 0:
        assert pods.monthly == 0.0 and rest == [], pods.item
    else:
        assert round(pods.monthly + sum(r.monthly for r in rest), 2) == round(extra_nodes * (24.528 + 1.60), 2), pods.item


def test_no_server_no_serving_lines():
    assert serving(cost.idle_lines(resources(0, 0))) == []
