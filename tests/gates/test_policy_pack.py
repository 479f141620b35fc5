"""The CrossGuard policy pack (policy/rules.py), fed the resources a mocks run of every stack
declares: the real stacks pass every rule, and mutated copies fail the rule they break.

The args are built the way the pack's analyzer builds them (pulumi_policy.policy): resource rules
get a resource's inputs and options, stack rules every resource's outputs.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
from typing import Any

import pytest
from gate_support import REPO, STACKS, snapshot
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)


def load_rules():
    spec = importlib.util.spec_from_file_location("strata_policy_rules", REPO / "policy" / "rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rules = load_rules()
CONFIG = {"productionEnvironments": rules.DEFAULT_PRODUCTION_ENVIRONMENTS}


def options(registration: Any, protect: bool | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=registration.protect if protect is None else protect,
        ignore_changes=list(registration.ignore_changes),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(registration.additional_secret_outputs),
        parent=registration.parent,
    )


def violations(resources: list[Any], states: dict[str, dict[str, Any]], overrides: dict[str, dict] | None = None) -> list[tuple]:
    """(policy, urn, message) of every violation. ``overrides`` maps a URN to replacement
    ``inputs``/``state``/``protect`` for that resource."""
    overrides = overrides or {}
    found: list[tuple] = []
    stack_resources = []
    for r in resources:
        change = overrides.get(r.urn, {})
        stack_resources.append(
            PolicyResource(
                r.type, change.get("state", states.get(r.urn, r.inputs)), r.urn, r.name,
                options(r, change.get("protect")), None, None, [], {},
            )
        )  # fmt: skip
    for policy in rules.POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                change = overrides.get(r.urn, {})
                args = ResourceValidationArgs(
                    r.type, change.get("inputs", r.inputs), r.urn, r.name, options(r, change.get("protect")), None, config=CONFIG
                )
                policy.validate(args, lambda message, urn=None, p=policy, u=r.urn: found.append((p.name, u, message)))
        else:
            args = StackValidationArgs(stack_resources, config=CONFIG)
            policy.validate(args, lambda message, urn=None, p=policy: found.append((p.name, urn, message)))
    return found


def first(stack: str, typ: str, name_part: str = "") -> Any:
    return next(r for r in snapshot(stack).custom() if r.type == typ and name_part in r.name)


def mutate(stack: str, typ: str, name_part: str = "", **change: Any) -> list[tuple]:
    snap = snapshot(stack)
    target = first(stack, typ, name_part)
    return violations(snap.custom(), snap.states, {target.urn: change}), target


@pytest.mark.parametrize("stack", STACKS)
def test_the_real_stacks_pass_every_rule(stack):
    snap = snapshot(stack)
    found = violations(snap.custom(), snap.states)
    assert not found, f"{stack}: " + "\n".join(f"{p} {u}: {m}" for p, u, m in found)


def policies_hit(found: list[tuple], urn: str) -> set[str]:
    return {p for p, u, _ in found if u == urn}


def test_unencrypted_bucket_fails():
    snap = snapshot("dev")
    sse = [r for r in snap.custom() if r.type in rules.BUCKET_SSE]
    bucket = first("dev", rules.BUCKET, "bucket")
    kept = [r for r in snap.custom() if r not in sse or bucket.name not in r.name]
    found = violations(kept, snap.states)
    assert policies_hit(found, bucket.urn) == {"s3-buckets-encrypted"}, found


def test_public_bucket_fails():
    snap = snapshot("dev")
    pab = first("dev", rules.BUCKET_PAB, "bucket")
    bucket = first("dev", rules.BUCKET, "bucket")
    state = {**snap.states[pab.urn], "restrictPublicBuckets": False}
    found = violations(snap.custom(), snap.states, {pab.urn: {"state": state}})
    assert policies_hit(found, bucket.urn) == {"s3-no-public-buckets"}, found


def test_key_without_rotation_fails():
    key = first("dev", rules.KMS_KEY)
    found, _ = mutate("dev", rules.KMS_KEY, inputs={**key.inputs, "enableKeyRotation": False})
    assert policies_hit(found, key.urn) == {"kms-key-rotation"}, found


def test_launch_template_with_imdsv1_and_a_plain_volume_fails():
    lt = first("dev", rules.LAUNCH_TEMPLATE)
    inputs = copy.deepcopy(dict(lt.inputs))
    inputs["metadataOptions"]["httpTokens"] = "optional"
    inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"
    found, _ = mutate("dev", rules.LAUNCH_TEMPLATE, inputs=inputs)
    assert policies_hit(found, lt.urn) == {"imdsv2-required", "volumes-and-databases-encrypted"}, found


def test_nat_instance_with_imdsv1_fails():
    nat = first("dev", rules.INSTANCE, "nat")
    inputs = {**nat.inputs, "metadataOptions": {"httpTokens": "optional"}}
    found, _ = mutate("dev", rules.INSTANCE, "nat", inputs=inputs)
    assert policies_hit(found, nat.urn) == {"imdsv2-required"}, found


def test_public_database_fails():
    db = next((r for r in snapshot("local").custom() if r.type in rules.PUBLICLY_ACCESSIBLE_TYPES), None)
    assert db is not None, "the local stack declares no RDS/Redshift resource to mutate"
    found = violations([db], {}, {db.urn: {"inputs": {**db.inputs, "publiclyAccessible": True}}})
    assert policies_hit(found, db.urn) >= {"no-public-databases"}, found


def test_unencrypted_database_fails():
    snap = snapshot("dev")
    db = next(r for r in snap.custom() if r.type in rules.ENCRYPTION_INPUTS)
    key = rules.ENCRYPTION_INPUTS[db.type]
    found = violations([db], {}, {db.urn: {"inputs": {**db.inputs, key: False}}})
    assert policies_hit(found, db.urn) == {"volumes-and-databases-encrypted"}, found


def test_unprotected_state_fails_in_production_only():
    bucket = first("prod", rules.BUCKET, "bucket")
    found, _ = mutate("prod", rules.BUCKET, "bucket", protect=False)
    assert policies_hit(found, bucket.urn) == {"stateful-protected-in-production"}, found
    dev_bucket = first("dev", rules.BUCKET, "bucket")
    assert not dev_bucket.protect  # dev does not protect, and passes
    assert policies_hit(violations(snapshot("dev").custom(), snapshot("dev").states), dev_bucket.urn) == set()


def test_missing_tags_fail():
    vpc = first("dev", "aws:ec2/vpc:Vpc")
    tags = {k: v for k, v in vpc.inputs["tags"].items() if k != "managed-by"}
    found, _ = mutate("dev", "aws:ec2/vpc:Vpc", inputs={**vpc.inputs, "tags": tags})
    assert policies_hit(found, vpc.urn) == {"required-tags"}, found


def test_log_group_without_retention_fails():
    group = first("dev", rules.LOG_GROUP)
    inputs = {k: v for k, v in group.inputs.items() if k != "retentionInDays"}
    found = violations([group], {}, {group.urn: {"inputs": inputs}})
    assert policies_hit(found, group.urn) == {"log-retention-set"}, found


def test_taggable_types_are_complete():
    """TAGGABLE_TYPES must list every type the program declares whose pulumi_aws class takes tags,
    and nothing that does not (the rule would then ask for tags the resource cannot carry)."""

    def accepts_tags(token: str) -> bool:
        _, module_resource, name = token.split(":")
        module = module_resource.split("/")[0]
        cls = getattr(importlib.import_module(f"pulumi_aws.{module}_" if module == "lambda" else f"pulumi_aws.{module}"), name)
        return "tags" in inspect.signature(cls._internal_init).parameters

    declared = {r.type for stack in STACKS for r in snapshot(stack).custom()}
    taggable = {t for t in declared if accepts_tags(t)}
    assert taggable - rules.TAGGABLE_TYPES == set(), "add to policy/rules.py TAGGABLE_TYPES"
    assert (rules.TAGGABLE_TYPES & declared) - taggable == set(), "these take no tags"


def test_the_pack_entry_point_uses_the_rules():
    main = (REPO / "policy" / "__main__.py").read_text()
    assert "PolicyPack(" in main and "POLICIES" in main
    assert "virtualenv: ../.venv" in (REPO / "policy" / "PulumiPolicy.yaml").read_text()
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names)) and all(p.enforcement_level == rules.MANDATORY for p in rules.POLICIES)
