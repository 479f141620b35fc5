"""Moved resources keep their identity: every released URN survives, or exactly one resource aliases it.

A refactor that gives resources a new parent (the metadata front doors became child components of
``Metadata``) changes their URNs; without an ``aliases`` entry naming the old URN, ``pulumi up`` would
delete each one and create a new one (a new API id, a new load balancer DNS name, a new API key).
``tests/golden/all-urns-<stack>.txt`` lists the URN of *every* resource a stack declared before such a
refactor (``python -m tests.golden.regen --all``; the stateful subset is held separately by
``tests/gates/test_no_data_loss.py``). Each stack runs through the whole program with
``localcloud.plan.PlainMocks`` and:

* every listed URN is still declared, or claimed through ``aliases`` by exactly one resource;
* no alias names a URN that a resource still has, and no two resources claim the same one (the Pulumi
  engine refuses both);
* every alias resolves to the URN Pulumi computes for it: ``tools.guards.alias_urns`` is checked against
  a second derivation that follows the Python SDK's ``create_urn`` (``Alias(parent=P)``: P's URN without
  its name, ``$``, the resource's type, ``::``, the resource's name).
Positive controls show each check failing: the same registrations with the aliases stripped lose exactly
the moved resources, and a small program re-parents a security group with and without an alias.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import settings as pulumi_settings

from infra.config import PROJECT, known_environments
from localcloud.engine import RecordingMonitor
from localcloud.plan import PlainMocks
from localcloud.runner import run_program
from tools import guards

REPO = Path(__file__).resolve().parents[2]
STACKS = sorted(known_environments(REPO))
_spec = importlib.util.spec_from_file_location("strata_golden_regen_all", REPO / "tests" / "golden" / "regen.py")
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


def baseline(stack: str) -> list[str]:
    return regen.read_golden(stack, regen.all_urns_path(stack))


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Any]]:
    return {stack: run_program(REPO, stack, PlainMocks()).registrations for stack in STACKS}


def claims(registrations: Sequence[Any], stack: str) -> dict[str, list[str]]:
    """alias URN -> the (canonical) URNs of the resources that claim it."""
    canonical = guards.canonical_urns(registrations, stack, PROJECT)
    out: dict[str, list[str]] = defaultdict(list)
    for r in registrations:
        for urn in guards.alias_urns(r, registrations, stack, PROJECT):
            out[urn].append(canonical[r.urn])
    return dict(out)


def unclaimed(released: Sequence[str], registrations: Sequence[Any], stack: str) -> list[str]:
    """Released URNs no resource has any more and no single resource claims: each would be replaced."""
    current = set(guards.canonical_urns(registrations, stack, PROJECT).values())
    claimed = claims(registrations, stack)
    return sorted(u for u in released if u not in current and len(claimed.get(u, [])) != 1)


def sdk_alias_urn(alias: Any, r: Any, registrations: Sequence[Any], stack: str) -> str:
    """The URN an alias stands for, derived as the Python SDK's ``create_urn`` does (pulumi/runtime/resource.py):
    ``<parent URN up to its last '::'>$<type>::<name>``, or ``urn:pulumi:<stack>::<project>::<type>::<name>``
    without a parent; the parent's URN is the engine's (canonical) one, not the mock monitor's."""
    if isinstance(alias, str):
        return alias
    canonical = guards.canonical_urns(registrations, stack, PROJECT)
    typ, name = alias.get("type") or r.type, alias.get("name") or r.name
    parent = "" if alias.get("noParent") else (alias.get("parentUrn") or r.parent)
    parent = canonical.get(parent, parent)
    if not parent or parent.split("::")[2] == guards.STACK_TYPE:
        return f"urn:pulumi:{alias.get('stack') or stack}::{alias.get('project') or PROJECT}::{typ}::{name}"
    return f"{parent[: parent.rfind('::')]}${typ}::{name}"


# ---------------------------------------------------------------- the program


@pytest.mark.parametrize("stack", STACKS)
def test_every_released_urn_survives_or_is_claimed_by_one_alias(stack, runs):
    released = baseline(stack)
    assert released, f"no {regen.all_urns_path(stack)}; create it with: python -m tests.golden.regen --all {stack}"
    registrations = runs[stack]
    lost = unclaimed(released, registrations, stack)
    assert not lost, (
        f"{stack}: resources pulumi up would DELETE and recreate (URN gone, no single resource aliases it):\n  "
        + "\n  ".join(lost)
        + "\nGive the moved resource `aliases=[pulumi.Alias(parent=<its old parent>)]` (or `name=`/`type_=`). If the "
        f"removal is intended and reviewed: python -m tests.golden.regen --all {stack}"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_aliases_are_unambiguous(stack, runs):
    registrations = runs[stack]
    current = set(guards.canonical_urns(registrations, stack, PROJECT).values())
    claimed = claims(registrations, stack)
    shared = {u: c for u, c in claimed.items() if len(c) > 1}
    assert not shared, f"{stack}: URNs claimed by more than one resource: {shared}"
    taken = {u: c for u, c in claimed.items() if u in current}
    assert not taken, f"{stack}: aliases naming a URN that a resource still has: {taken}"


@pytest.mark.parametrize("stack", STACKS)
def test_alias_urns_are_the_ones_pulumi_computes(stack, runs):
    registrations = runs[stack]
    aliased = [r for r in registrations if r.aliases]
    for r in aliased:
        expected = {sdk_alias_urn(a, r, registrations, stack) for a in r.aliases}
        assert guards.alias_urns(r, registrations, stack, PROJECT) == expected, r.urn


def test_the_front_doors_moved_under_aliases(runs, capsys):
    """The refactor this file was written for: every resource of the front door child component is aliased
    to its URN directly under Metadata, which the baseline lists. Without the aliases, exactly those would go."""
    for stack in STACKS:
        registrations = runs[stack]
        canonical = guards.canonical_urns(registrations, stack, PROJECT)
        doors = [r for r in registrations if r.type.startswith("strata:metadata:") and r.type.endswith("FrontDoor")]
        assert len(doors) == 1, f"{stack}: expected one metadata front door, found {[d.urn for d in doors]}"
        children = [r for r in registrations if r.parent == doors[0].urn]
        assert children, f"{stack}: the front door {doors[0].urn} declares nothing"
        # Children added after the refactor (the key authorizer of the REST front door) had no URN to move from.
        moved = [r for r in children if canonical[r.urn].replace(f"${doors[0].type}$", "$") in set(baseline(stack))]
        assert moved, f"{stack}: none of the front door's resources existed before the refactor"
        old = {canonical[r.urn].replace(f"${doors[0].type}$", "$") for r in moved}
        assert old <= set(baseline(stack)), f"{stack}: {sorted(old - set(baseline(stack)))}"
        for r in moved:
            # (pulumi_aws adds its own type aliases to some resources, e.g. aws:lb -> aws:elasticloadbalancingv2.)
            before = canonical[r.urn].replace(f"${doors[0].type}$", "$")
            assert before in guards.alias_urns(r, registrations, stack, PROJECT), f"{canonical[r.urn]}: no alias to {before}"
        stripped = [dataclasses.replace(r, aliases=[]) for r in registrations]
        assert unclaimed(baseline(stack), stripped, stack) == sorted(old), f"{stack}: without aliases, only the moved go"
        with capsys.disabled():
            print(f"\n[urn-aliases] {stack}: {len(moved)} resources moved under {doors[0].type}, each aliased", end="")


# ---------------------------------------------------------------- positive control on a small program


def _reparent(alias: bool) -> list[Any]:
    """Component ``a`` > component ``b`` > a security group that used to sit directly under ``a``."""
    mocks = PlainMocks()
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="control", preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program():
        a = pulumi.ComponentResource("strata:control:A", "a")
        b = pulumi.ComponentResource("strata:control:B", "a", None, pulumi.ResourceOptions(parent=a))
        aliases = [pulumi.Alias(parent=a)] if alias else None
        aws.ec2.SecurityGroup("a-sg", opts=pulumi.ResourceOptions(parent=b, aliases=aliases))
        aws.ec2.SecurityGroup("a-other", opts=pulumi.ResourceOptions(parent=a))
        return pulumi.Output.from_input(None)

    program()
    return monitor.registrations


OLD_SG = f"urn:pulumi:control::{PROJECT}::strata:control:A$aws:ec2/securityGroup:SecurityGroup::a-sg"
NEW_SG = f"urn:pulumi:control::{PROJECT}::strata:control:A$strata:control:B$aws:ec2/securityGroup:SecurityGroup::a-sg"


@pytest.mark.parametrize("alias", [False, True], ids=["moved", "moved-with-alias"])
def test_the_check_catches_a_resource_moved_without_an_alias(alias):
    registrations = _reparent(alias)
    canonical = guards.canonical_urns(registrations, "control", PROJECT)
    assert NEW_SG in canonical.values()
    released = [OLD_SG, f"urn:pulumi:control::{PROJECT}::strata:control:A::a"]
    assert unclaimed(released, registrations, "control") == ([] if alias else [OLD_SG])
    sg = next(r for r in registrations if r.name == "a-sg")
    # What the SDK sent: a spec with the old parent's URN only (name and type default to the resource's).
    assert [set(a) for a in sg.aliases] == ([{"parentUrn"}] if alias else [])
    assert guards.alias_urns(sg, registrations, "control", PROJECT) == ({OLD_SG} if alias else set())
    assert {sdk_alias_urn(a, sg, registrations, "control") for a in sg.aliases} == ({OLD_SG} if alias else set())


def test_the_check_catches_two_resources_claiming_one_urn():
    registrations = _reparent(True)
    sg = next(r for r in registrations if r.name == "a-sg")
    twin = dataclasses.replace(sg, urn=sg.urn.replace("a-sg", "a-sg2"), name="a-sg2", aliases=[OLD_SG])
    assert unclaimed([OLD_SG], [*registrations, twin], "control") == [OLD_SG]
    other = next(r for r in registrations if r.name == "a-other")
    clash = dataclasses.replace(sg, aliases=[guards.canonical_urns(registrations, "control", PROJECT)[other.urn]])
    everything = [clash if r is sg else r for r in registrations]
    current = set(guards.canonical_urns(everything, "control", PROJECT).values())
    assert set(claims(everything, "control")) <= current  # the "taken" condition of test_aliases_are_unambiguous
