"""Pure tests of modules/compute/policies.py: the Batch capacity plan and the job-role documents."""

from __future__ import annotations

import itertools
import json

import pytest

from core import naming
from core.iam import team_prefix_statements
from core.settings import Team
from modules.compute import policies
from modules.compute.settings import BATCH_MAX_CES_PER_QUEUE, ComputeSettings, queues_for

BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "s3.us-east-1.amazonaws.com"
TEAMS = ("fraud", "forecasting", "research")


def team(name: str, gpu_max_vcpus: int = 0, priority: int = 10) -> Team:
    return Team(
        name=name,
        cost_center="cc-1",
        contacts=(f"{name}@example.com",),
        priority=priority,
        max_vcpus=32,
        gpu_max_vcpus=gpu_max_vcpus,
        principals=("arn:aws:iam::111111111111:root",),
    )


def settings(spot: bool = True, gpu: bool = False, fargate: bool = False) -> ComputeSettings:
    return ComputeSettings.model_validate(
        {
            "cpu": {"maxVcpus": 128},
            "spot": {"enabled": spot, "maxVcpus": 256, "bidPercentage": 70},
            "gpu": {"enabled": gpu, "maxVcpus": 32},
            "fargate": {"enabled": fargate, "maxVcpus": 16},
        }
    )


ALL_COMBOS = list(itertools.product([True, False], repeat=3))


# ---------------------------------------------------------------- capacity plan


@pytest.mark.parametrize("spot,gpu,fargate", ALL_COMBOS)
def test_plans_follow_the_enabled_pools(spot: bool, gpu: bool, fargate: bool) -> None:
    s = settings(spot, gpu, fargate)
    kinds = [p.kind for p in policies.compute_environment_plans(s)]
    assert kinds == s.compute_environment_kinds(), kinds
    assert kinds[0] == "cpu-ondemand"
    assert ("cpu-spot" in kinds) is spot and ("gpu" in kinds) is gpu and ("fargate" in kinds) is fargate


def test_plan_details_per_kind() -> None:
    plans = {p.kind: p for p in policies.compute_environment_plans(settings(True, True, True))}
    ondemand, spot, gpu, fargate = plans["cpu-ondemand"], plans["cpu-spot"], plans["gpu"], plans["fargate"]
    assert (ondemand.type, ondemand.allocation_strategy, ondemand.image_type) == ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023")
    assert ondemand.max_vcpus == 128 and ondemand.instance_types == ("c6i", "m6i", "r6i")
    assert ondemand.bid_percentage is None
    assert (spot.type, spot.allocation_strategy, spot.image_type) == ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED", "ECS_AL2023")
    assert spot.bid_percentage == 70 and spot.max_vcpus == 256
    assert (gpu.type, gpu.image_type, gpu.max_vcpus) == ("EC2", "ECS_AL2023_NVIDIA", 32)
    assert gpu.instance_types == ("g5", "g4dn")
    assert fargate.type == "FARGATE" and fargate.max_vcpus == 16
    # Fargate takes none of the instance settings (Batch rejects them).
    assert (fargate.instance_types, fargate.allocation_strategy, fargate.bid_percentage, fargate.image_type) == (
        (),
        None,
        None,
        None,
    )
    assert [p.is_ec2 for p in (ondemand, spot, gpu, fargate)] == [True, True, True, False]


def test_default_spot_bid_is_100_percent_of_on_demand() -> None:
    s = ComputeSettings.model_validate({"cpu": {"maxVcpus": 8}})
    spot = next(p for p in policies.compute_environment_plans(s) if p.kind == "cpu-spot")
    assert spot.bid_percentage == 100


def test_cpu_queue_tries_on_demand_first_then_spot() -> None:
    assert policies.queue_compute_environments(settings(spot=True), "cpu") == [("cpu-ondemand", 1), ("cpu-spot", 2)]
    assert policies.queue_compute_environments(settings(spot=False), "cpu") == [("cpu-ondemand", 1)]


def test_gpu_and_fargate_queues_have_their_own_environment_only() -> None:
    s = settings(True, True, True)
    assert policies.queue_compute_environments(s, "gpu") == [("gpu", 1)]
    # Batch refuses a queue that mixes Fargate and EC2 compute environments.
    assert policies.queue_compute_environments(s, "fargate") == [("fargate", 1)]


@pytest.mark.parametrize("spot,gpu,fargate", ALL_COMBOS)
def test_no_queue_exceeds_the_per_queue_quota(spot: bool, gpu: bool, fargate: bool) -> None:
    s = settings(spot, gpu, fargate)
    for kind in queues_for(s, team("fraud", gpu_max_vcpus=8)):
        assert 1 <= len(policies.queue_compute_environments(s, kind)) <= BATCH_MAX_CES_PER_QUEUE


def test_queue_over_a_disabled_or_unknown_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="gpu"):
        policies.queue_compute_environments(settings(gpu=False), "gpu")
    with pytest.raises(ValueError, match="fargate"):
        policies.queue_compute_environments(settings(fargate=False), "fargate")
    with pytest.raises(ValueError, match="unknown queue kind"):
        policies.queue_compute_environments(settings(), "tpu")


# ---------------------------------------------------------------- IAM documents


def test_managed_policy_arns_follow_the_partition() -> None:
    assert (
        policies.managed_policy_arn("aws", policies.ECS_INSTANCE_POLICY)
        == "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    )
    assert (
        policies.managed_policy_arn("aws-cn", policies.ECS_INSTANCE_POLICY)
        == "arn:aws-cn:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    )
    assert (
        policies.managed_policy_arn("aws-us-gov", policies.ECS_TASK_EXECUTION_POLICY)
        == "arn:aws-us-gov:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    )


def _actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return a if isinstance(a, list) else [a]


def _resources(statement: dict) -> list[str]:
    r = statement["Resource"]
    return r if isinstance(r, list) else [r]


@pytest.mark.parametrize("name", TEAMS)
def test_job_role_policy_names_only_its_own_prefix(name: str) -> None:
    prefix = naming.team_prefix(name)
    doc = policies.job_role_policy(BUCKET, prefix, KEY, kms_via_service=VIA)
    text = json.dumps(doc)
    for other in TEAMS:
        if other != name:
            assert other not in text, f"job role of {name} mentions team {other}: {text}"
    object_resources = {r for s in doc["Statement"] for r in _resources(s) if r.startswith(f"{BUCKET}/")}
    assert object_resources == {f"{BUCKET}/teams/{name}/*"}, object_resources
    listing = next(s for s in doc["Statement"] if "s3:ListBucket" in _actions(s))
    assert _resources(listing) == [BUCKET]
    assert set(listing["Condition"]["StringLike"]["s3:prefix"]) <= {prefix, f"{prefix}*"}


def test_job_role_policy_has_no_wildcard_action_or_resource() -> None:
    doc = policies.job_role_policy(BUCKET, naming.team_prefix("fraud"), KEY, kms_via_service=VIA)
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow"
        assert all("*" not in a for a in _actions(s)), s
        assert "*" not in _resources(s), s


def test_job_role_policy_grants_read_write_delete_and_the_key_through_s3_only() -> None:
    doc = policies.job_role_policy(BUCKET, naming.team_prefix("fraud"), KEY, kms_via_service=VIA)
    actions = {a for s in doc["Statement"] for a in _actions(s)}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} <= actions
    assert "s3:DeleteObjectVersion" not in actions and "s3:PutBucketPolicy" not in actions
    kms = next(s for s in doc["Statement"] if all(a.startswith("kms:") for a in _actions(s)))
    assert {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"} <= set(_actions(kms))
    assert _resources(kms) == [KEY]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": VIA}}


def test_without_via_service_the_key_statement_is_unconditioned_and_the_source_is_untouched() -> None:
    prefix = naming.team_prefix("fraud")
    policies.job_role_policy(BUCKET, prefix, KEY, kms_via_service=VIA)
    plain = policies.job_role_policy(BUCKET, prefix, KEY)
    assert "kms:ViaService" not in json.dumps(plain)
    # team_data_statements must not mutate the prefix statements (core.iam).
    assert "kms:ViaService" not in json.dumps(team_prefix_statements(BUCKET, prefix, KEY))


@pytest.mark.parametrize("bad", ["teams/fraud", "teams/*/", "/teams/fraud/", ""])
def test_unsafe_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        policies.job_role_policy(BUCKET, bad, KEY)
