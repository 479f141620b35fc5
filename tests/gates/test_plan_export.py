"""`strata plan-json`: every stack exports a complete Terraform plan, with checked types only."""

from __future__ import annotations

import json

import pytest
from gate_support import REPO, STACKS, snapshot
from typer.testing import CliRunner

from tools import planjson

# Every stack declares at least this many AWS resources (network, datastore, compute, teams...);
# a plan far smaller than that means the export lost resources.
MIN_RESOURCES = 60


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_exports_every_aws_resource_with_a_checked_type(stack):
    snap = snapshot(stack)
    plan = snap.plan()
    resources = plan["planned_values"]["root_module"]["resources"]
    assert len(resources) >= MIN_RESOURCES, f"{stack}: only {len(resources)} resources exported"
    assert len(resources) == len(snap.custom()), (
        f"{stack}: {len(snap.custom())} AWS resources declared, {len(resources)} exported"
    )
    assert planjson.unknown_types(plan) == [], f"{stack}: add these to tools/planjson.py TYPE_TABLE after checking the provider"
    addresses = [r["address"] for r in resources]
    assert len(addresses) == len(set(addresses)), f"{stack}: duplicate addresses"
    json.dumps(plan)  # serialisable as is


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_are_linked_to_their_hardening_resources(stack):
    """The cross-resource checks of checkov need these edges; without them they fail or pass blindly."""
    plan = snapshot(stack).plan()
    refs = planjson.references(plan)
    buckets = [r["address"] for r in plan["planned_values"]["root_module"]["resources"] if r["type"] == "aws_s3_bucket"]
    assert buckets, f"{stack}: no buckets"
    for kind in ("public_access_block", "server_side_encryption_configuration", "versioning"):
        linked = {ref for address, targets in refs.items() if address.startswith(f"aws_s3_bucket_{kind}.") for ref in targets}
        assert set(buckets) <= linked, f"{stack}: buckets without aws_s3_bucket_{kind}: {set(buckets) - linked}"


def test_cli_writes_the_plan_and_counts_resources(tmp_path):
    from strata.cli import app

    out = tmp_path / "plan.json"
    result = CliRunner().invoke(app, ["plan-json", "--stack", "dev", "--out", str(out), "--project-dir", str(REPO)])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    count = len(plan["planned_values"]["root_module"]["resources"])
    assert f"{count} resources" in result.output, result.output
    assert count == len(snapshot("dev").custom())


def test_cli_reports_a_bad_stack_without_a_traceback():
    from strata.cli import app

    result = CliRunner().invoke(app, ["plan-json", "--stack", "nope", "--project-dir", str(REPO)])
    assert result.exit_code == 1, result.output
    assert "no stack file for stack 'nope'" in result.output and "Traceback" not in result.output
