"""Pure tests of modules/compute/policies.py: the Batch capacity plan and the job-role documents."""

from __future__ import annotations

import email
import itertools
import json

import pytest

from core import naming
from core.iam import team_prefix_statements
from core.settings import Team
from modules.compute import policies
from modules.compute.settings import BATCH_MAX_CES_PER_QUEUE, ComputeSettings, queues_for, team_caps

BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "s3.us-east-1.amazonaws.com"
TEAMS = ("fraud", "forecasting", "research")


def team(name: str, gpu_max_vcpus: int = 0, priority: int = 10, max_vcpus: int = 32, spot: int = 0, fargate: int = 0) -> Team:
    return Team(
        name=name,
        cost_center="cc-1",
        contacts=(f"{name}@example.com",),
        priority=priority,
        max_vcpus=max_vcpus,
        gpu_max_vcpus=gpu_max_vcpus,
        principals=("arn:aws:iam::111111111111:root",),
        spot_vcpus=spot,
        fargate_vcpus=fargate,
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
# A team asking for every kind: 12 of its 32 CPU vCPUs on Spot, 8 GPU vCPUs, 4 Fargate vCPUs.
EVERYTHING = team("fraud", gpu_max_vcpus=8, spot=12, fargate=4)


# ---------------------------------------------------------------- capacity plan


@pytest.mark.parametrize("spot,gpu,fargate", ALL_COMBOS)
def test_a_team_gets_a_compute_environment_per_enabled_kind_it_asks_for(spot: bool, gpu: bool, fargate: bool) -> None:
    s = settings(spot, gpu, fargate)
    plans = {p.kind: p.max_vcpus for p in policies.compute_environment_plans(s, EVERYTHING)}
    expected = {"cpu-ondemand": 20 if spot else 32}
    expected |= {"cpu-spot": 12} if spot else {}
    expected |= {"gpu": 8} if gpu else {}
    expected |= {"fargate": 4} if fargate else {}
    assert plans == expected
    assert list(plans) == [k for k in naming.CE_KINDS if k in plans], "plans follow CE_KINDS order"
    assert plans == team_caps(s, EVERYTHING)


@pytest.mark.parametrize(
    ("spot", "fargate", "gpu", "kinds"),
    [
        (0, 0, 0, {"cpu-ondemand": 32}),  # spotVcpus 0: on-demand only
        (32, 0, 0, {"cpu-spot": 32}),  # spotVcpus = maxVcpus: Spot only, no on-demand environment
        (16, 0, 0, {"cpu-ondemand": 16, "cpu-spot": 16}),
        (0, 2, 4, {"cpu-ondemand": 32, "gpu": 4, "fargate": 2}),
    ],
)
def test_a_kind_with_cap_0_gets_no_compute_environment(spot: int, fargate: int, gpu: int, kinds: dict[str, int]) -> None:
    t = team("fraud", gpu_max_vcpus=gpu, spot=spot, fargate=fargate)
    s = settings(True, True, True)
    assert {p.kind: p.max_vcpus for p in policies.compute_environment_plans(s, t)} == kinds
    assert queues_for(s, t) == ["cpu"] + [k for k in ("gpu", "fargate") if k in kinds]


def test_cpu_caps_add_up_to_max_vcpus_and_spot_is_ignored_without_a_spot_pool() -> None:
    for spot in range(0, 33, 4):
        caps = team_caps(settings(spot=True), team("fraud", spot=spot))
        assert caps.get("cpu-ondemand", 0) + caps.get("cpu-spot", 0) == 32, caps
    assert team_caps(settings(spot=False), team("fraud", spot=12)) == {"cpu-ondemand": 32}


def test_plan_details_per_kind() -> None:
    plans = {p.kind: p for p in policies.compute_environment_plans(settings(True, True, True), EVERYTHING)}
    ondemand, spot, gpu, fargate = plans["cpu-ondemand"], plans["cpu-spot"], plans["gpu"], plans["fargate"]
    assert (ondemand.type, ondemand.allocation_strategy, ondemand.image_type) == ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023")
    assert ondemand.max_vcpus == 20 and ondemand.instance_types == ("c6i", "m6i", "r6i")
    assert ondemand.bid_percentage is None
    assert (spot.type, spot.allocation_strategy, spot.image_type) == ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED", "ECS_AL2023")
    assert spot.bid_percentage == 70 and spot.max_vcpus == 12
    assert (gpu.type, gpu.image_type, gpu.max_vcpus) == ("EC2", "ECS_AL2023_NVIDIA", 8)
    assert gpu.instance_types == ("g5", "g4dn")
    assert fargate.type == "FARGATE" and fargate.max_vcpus == 4
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
    spot = next(p for p in policies.compute_environment_plans(s, team("fraud", spot=4)) if p.kind == "cpu-spot")
    assert spot.bid_percentage == 100


def test_cpu_queue_tries_on_demand_first_then_spot() -> None:
    both = ("cpu-ondemand", "cpu-spot")
    assert policies.queue_compute_environments(both, "cpu") == [("cpu-ondemand", 1), ("cpu-spot", 2)]
    assert policies.queue_compute_environments(("cpu-spot", "cpu-ondemand"), "cpu") == [("cpu-ondemand", 1), ("cpu-spot", 2)]
    assert policies.queue_compute_environments(("cpu-ondemand",), "cpu") == [("cpu-ondemand", 1)]
    assert policies.queue_compute_environments(("cpu-spot", "gpu"), "cpu") == [("cpu-spot", 1)]


def test_gpu_and_fargate_queues_have_their_own_environment_only() -> None:
    kinds = ("cpu-ondemand", "cpu-spot", "gpu", "fargate")
    assert policies.queue_compute_environments(kinds, "gpu") == [("gpu", 1)]
    # Batch refuses a queue that mixes Fargate and EC2 compute environments.
    assert policies.queue_compute_environments(kinds, "fargate") == [("fargate", 1)]


@pytest.mark.parametrize("spot,gpu,fargate", ALL_COMBOS)
def test_no_queue_exceeds_the_per_queue_quota(spot: bool, gpu: bool, fargate: bool) -> None:
    s = settings(spot, gpu, fargate)
    kinds = team_caps(s, EVERYTHING)
    for kind in queues_for(s, EVERYTHING):
        assert 1 <= len(policies.queue_compute_environments(kinds, kind)) <= BATCH_MAX_CES_PER_QUEUE


def test_queue_over_a_missing_or_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="gpu"):
        policies.queue_compute_environments(("cpu-ondemand",), "gpu")
    with pytest.raises(ValueError, match="fargate"):
        policies.queue_compute_environments(("cpu-ondemand", "gpu"), "fargate")
    with pytest.raises(ValueError, match="cpu"):
        policies.queue_compute_environments(("gpu",), "cpu")
    with pytest.raises(ValueError, match="unknown queue kind"):
        policies.queue_compute_environments(("cpu-ondemand",), "tpu")


# ---------------------------------------------------------------- instance metadata


def test_user_data_is_a_mime_multipart_archive_batch_accepts() -> None:
    """Batch merges launch-template user data with its own, so it must be MIME multi-part; the stdlib
    parser reads ours as one cloud-boothook part with a bash script."""
    text = policies.launch_template_user_data()
    message = email.message_from_string(text)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    assert message.get_boundary() == policies.USER_DATA_BOUNDARY
    parts = message.get_payload()
    assert isinstance(parts, list) and [p.get_content_type() for p in parts] == ["text/cloud-boothook"]
    script = parts[0].get_payload()
    assert script.startswith("#!/bin/bash\n"), script
    assert text.endswith(f"--{policies.USER_DATA_BOUNDARY}--\n")


def test_user_data_rejects_container_tcp_to_imds_first_and_drops_the_rest() -> None:
    script = email.message_from_string(policies.launch_template_user_data()).get_payload()[0].get_payload()
    reject, drop = policies.imds_block_rules()
    assert (
        reject == "--in-interface docker+ --destination 169.254.169.254/32 --protocol tcp --jump REJECT --reject-with tcp-reset"
    )
    assert drop == "--in-interface docker+ --destination 169.254.169.254/32 --jump DROP"
    lines = script.splitlines()
    inserts = [line for line in lines if "--insert DOCKER-USER 1" in line]
    # Each insert goes to position 1: the DROP is inserted first, so the REJECT ends up above it.
    assert [line.rsplit("--insert DOCKER-USER 1 ", 1)[1] for line in inserts] == [drop, reject]
    # Idempotent: each rule is checked before it is inserted (a boothook runs on every boot).
    assert all(
        line.startswith(f"iptables --check DOCKER-USER {line.rsplit('--insert DOCKER-USER 1 ', 1)[1]} ") for line in inserts
    )
    # The chain exists before Docker starts; Docker keeps it and its rules.
    assert lines.index("iptables --new-chain DOCKER-USER 2>/dev/null || true") < lines.index(inserts[0])


def test_only_container_traffic_is_blocked_and_nothing_is_installed() -> None:
    """The ECS agent (host network) keeps IMDS; jobs keep the ECS credential endpoint (169.254.170.2)."""
    text = policies.launch_template_user_data()
    for rule in policies.imds_block_rules():
        assert "--in-interface docker+" in rule, rule
    assert "169.254.170.2" not in text
    assert "OUTPUT" not in text and "INPUT" not in text, "host traffic must stay untouched"
    assert "yum" not in text and "dnf" not in text, "no package install at boot (private subnets may have no repo access)"


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
