"""``strata:warehouse`` in the config contract: typed, validated against Redshift's limits and the network,
production rules enforced, every problem named by file and key with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, load_from_files
from modules.warehouse.settings import WarehouseMode

REPO = Path(__file__).resolve().parents[2]


def set_key(project: Path, stack: str, key: str, value) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    if value is None:
        doc["config"].pop(key, None)
    else:
        doc["config"][key] = value
    path.write_text(yaml.safe_dump(doc))


def warehouse(project: Path, stack: str, **values) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["strata:warehouse"] = {**(doc["config"].get("strata:warehouse") or {}), **values}
    path.write_text(yaml.safe_dump(doc))


def issues(project: Path, stack: str) -> list:
    with pytest.raises(ConfigError) as info:
        load_from_files(project, stack)
    return info.value.issues


def one(found: list, key: str):
    hits = [i for i in found if i.key == key]
    assert hits, f"no issue for {key} in:\n" + "\n".join(map(str, found))
    assert all(i.fix for i in hits)
    return hits[0]


@pytest.mark.parametrize(
    ("stack", "mode", "protect"),
    [
        ("local", "provisioned", False),
        ("dev", "serverless", False),
        ("staging", "serverless", False),
        ("prod", "serverless", True),
    ],
)
def test_every_stack_file_sets_the_warehouse(stack: str, mode: str, protect: bool) -> None:
    raw = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert "strata:warehouse" in raw, f"stacks/Pulumi.{stack}.yaml has no strata:warehouse"
    platform = load_from_files(REPO, stack)
    assert platform.settings.warehouse.enabled
    assert platform.settings.warehouse.mode is WarehouseMode(mode)
    assert platform.settings.protect is protect


def test_defaults_are_serverless_and_cheap(project: Path) -> None:
    set_key(project, "dev", "strata:warehouse", None)
    w = load_from_files(project, "dev").settings.warehouse
    assert (w.enabled, w.mode, w.base_capacity) == (True, WarehouseMode.SERVERLESS, 8)
    assert (w.snapshot_retention_days, w.maintenance_window, w.audit_log_retention_days) == (7, "sun:05:00-sun:05:30", 365)


@pytest.mark.parametrize("rpu", [4, 8, 16, 512, 544, 1024])
def test_valid_base_capacities(project: Path, rpu: int) -> None:
    warehouse(project, "dev", baseCapacity=rpu)
    assert load_from_files(project, "dev").settings.warehouse.base_capacity == rpu


@pytest.mark.parametrize("rpu", [0, 2, 6, 12, 520, 1056, 2048])
def test_invalid_base_capacities(project: Path, rpu: int) -> None:
    warehouse(project, "dev", baseCapacity=rpu)
    issue = one(issues(project, "dev"), "strata:warehouse.baseCapacity")
    assert f"{rpu} RPU" in issue.problem and "multiple of 8" in issue.fix


def test_above_512_rpu_only_in_the_regions_that_offer_it(project: Path) -> None:
    set_key(project, "dev", "aws:region", "ap-south-1")
    warehouse(project, "dev", baseCapacity=544)
    assert "1024 only in" in one(issues(project, "dev"), "strata:warehouse.baseCapacity").fix


def test_serverless_needs_three_availability_zones(project: Path) -> None:
    doc = yaml.safe_load((project / "stacks/Pulumi.dev.yaml").read_text())
    set_key(project, "dev", "strata:network", {**doc["config"]["strata:network"], "azCount": 2})
    issue = one(issues(project, "dev"), "strata:network.azCount")
    assert "3 Availability Zones" in issue.problem
    assert "azCount: 3" in issue.fix and "mode: provisioned" in issue.fix


def test_provisioned_is_fine_with_two_zones(project: Path) -> None:
    doc = yaml.safe_load((project / "stacks/Pulumi.dev.yaml").read_text())
    set_key(project, "dev", "strata:network", {**doc["config"]["strata:network"], "azCount": 2})
    warehouse(project, "dev", mode="provisioned")
    assert load_from_files(project, "dev").settings.warehouse.mode is WarehouseMode.PROVISIONED


def test_an_adopted_vpc_needs_three_subnets_for_serverless(project: Path) -> None:
    set_key(
        project,
        "dev",
        "strata:network",
        {"mode": "adopt", "vpcId": "vpc-1", "privateSubnetIds": ["subnet-1", "subnet-2"], "privateRouteTableIds": ["rtb-1"]},
    )
    assert "3 Availability Zones" in one(issues(project, "dev"), "strata:network.privateSubnetIds").problem


def test_disabled_warehouse_is_not_checked(project: Path) -> None:
    doc = yaml.safe_load((project / "stacks/Pulumi.dev.yaml").read_text())
    set_key(project, "dev", "strata:network", {**doc["config"]["strata:network"], "azCount": 2})
    warehouse(project, "dev", enabled=False, baseCapacity=3)
    assert not load_from_files(project, "dev").settings.warehouse.enabled


def test_production_keeps_a_week_of_snapshots(project: Path) -> None:
    warehouse(project, "prod", mode="provisioned", snapshotRetentionDays=3)
    issue = one(issues(project, "prod"), "strata:warehouse.snapshotRetentionDays")
    assert ">= 7" in issue.problem and "7" in issue.fix


def test_snapshot_retention_bounds(project: Path) -> None:
    warehouse(project, "dev", snapshotRetentionDays=0)
    one(issues(project, "dev"), "strata:warehouse.snapshotRetentionDays")
    warehouse(project, "dev", snapshotRetentionDays=36)
    one(issues(project, "dev"), "strata:warehouse.snapshotRetentionDays")


@pytest.mark.parametrize("window", ["sunday 5am", "sun:05:00-sun:05:10", "sun:25:00-sun:26:00", "sun:05:00-sun:05:00"])
def test_maintenance_window_format_and_length(project: Path, window: str) -> None:
    warehouse(project, "local", maintenanceWindow=window)
    one(issues(project, "local"), "strata:warehouse.maintenanceWindow")


def test_a_window_across_midnight_and_the_week_end_is_fine(project: Path) -> None:
    warehouse(project, "local", maintenanceWindow="sun:23:45-mon:00:15")
    assert load_from_files(project, "local").settings.warehouse.maintenance_window == "sun:23:45-mon:00:15"


def test_unknown_node_type_and_mode(project: Path) -> None:
    warehouse(project, "local", nodeType="m5.large")
    assert "ra3.xlplus" in one(issues(project, "local"), "strata:warehouse.nodeType").fix
    warehouse(project, "local", nodeType="ra3.xlplus", mode="serverful")
    one(issues(project, "local"), "strata:warehouse.mode")


def test_audit_log_retention_is_a_cloudwatch_value(project: Path) -> None:
    warehouse(project, "dev", auditLogRetentionDays=100)
    one(issues(project, "dev"), "strata:warehouse.auditLogRetentionDays")


def test_unknown_keys_get_a_hint(project: Path) -> None:
    warehouse(project, "dev", baseCapacty=8)
    issue = one(issues(project, "dev"), "strata:warehouse.baseCapacty")
    assert "baseCapacity" in issue.fix


def test_at_most_fifty_teams_get_a_role_each(project: Path) -> None:
    base = yaml.safe_load((project / "stacks/teams/research.yaml").read_text())
    base["environments"]["dev"]["maxVcpus"] = 1
    base["environments"]["dev"]["monthlyBudgetUsd"] = 1
    for i in range(48):  # 3 shipped teams + 48 = 51
        base["team"] = f"team{i:02d}"
        (project / "stacks/teams" / f"team{i:02d}.yaml").write_text(yaml.safe_dump(base))
    # Batch's own limit (50 queues) binds too; the warehouse names its limit separately.
    found = [i for i in issues(project, "dev") if "COPY/UNLOAD" in i.problem]
    assert found and "50" in found[0].problem and found[0].fix
