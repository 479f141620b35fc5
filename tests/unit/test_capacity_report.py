"""`strata capacity`: the workload parser, the limits that bind, team caps, Batch quota use, submission time.

Pure: the report is arithmetic over the validated config, so every case is a stack file (real or a
copy with one change) and the numbers are checked by hand. The CLI is run as a subprocess at the end.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_config import edit_stack

from core import capacity
from infra.config import load_from_files
from modules.compute.settings import ComputeSettings
from tools.capacity_report import (
    BATCH_MAX_ARRAY_SIZE,
    MEMORY_FOR_JOBS,
    QUEUE_POOLS,
    Submission,
    TaskSize,
    WorkloadError,
    batch_ips,
    capacity_report,
    parse_workload,
    pool_capacity,
    pools_together,
)

REPO = Path(__file__).resolve().parents[2]
_STRATA = Path(sys.executable).with_name("strata")
STRATA = [str(_STRATA)] if _STRATA.exists() else [sys.executable, "-m", "strata.cli"]
SEED = "200x100:1vcpu:4gib"  # shared/seeds: 200 models x 100 settings = 20,000 tasks


# ---------------------------------------------------------------- the workload spec


@pytest.mark.parametrize(
    ("spec", "tasks", "shape", "vcpus", "memory", "kind"),
    [
        (SEED, 20_000, (200, 100), 1, 4, "cpu"),
        ("20000:1vcpu:4gib", 20_000, (20_000,), 1, 4, "cpu"),
        ("500:0.5vcpu:1gib:fargate", 500, (500,), 0.5, 1, "fargate"),
        (" 10:2VCPUS:8GiB:gpu ", 10, (10,), 2, 8, "gpu"),
        ("3x4x5:1vcpu:2gib:spot", 60, (3, 4, 5), 1, 2, "spot"),
        ("1:.25vcpu:0.5gib:fargate", 1, (1,), 0.25, 0.5, "fargate"),
    ],
)
def test_workload_specs_that_parse(spec, tasks, shape, vcpus, memory, kind):
    w = parse_workload(spec)
    assert (w.tasks, w.shape, w.size, w.kind) == (tasks, shape, TaskSize(vcpus, memory), kind)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "part"),
        ("200x100", "part"),
        ("200x100:1vcpu", "part"),
        ("200x100:1vcpu:4gib:cpu:extra", "part"),
        ("200x:1vcpu:4gib", "not N or NxM"),
        ("-5:1vcpu:4gib", "not N or NxM"),
        ("2.5:1vcpu:4gib", "not N or NxM"),
        ("many:1vcpu:4gib", "not N or NxM"),
        ("0:1vcpu:4gib", "at least 1"),
        ("200x0:1vcpu:4gib", "at least 1"),
        ("10:1cpu:4gib", "not a vCPU count"),
        ("10:0vcpu:4gib", "greater than 0"),
        ("10:1vcpu:4gb", "write gib"),
        ("10:1vcpu:4096mib", "write gib"),
        ("10:1vcpu:lots", "not a memory size"),
        ("10:1vcpu:4gib:tpu", "unknown kind 'tpu'"),
    ],
)
def test_bad_workload_specs_name_the_spec_the_problem_and_an_example(spec, problem):
    with pytest.raises(WorkloadError) as info:
        parse_workload(spec)
    message = str(info.value)
    assert repr(spec) in message and problem in message and "e.g. 200x100:1vcpu:4gib" in message, message


# ---------------------------------------------------------------- the prod target and what binds


def test_prod_runs_20000_one_vcpu_tasks_at_once_bound_by_maxvcpus():
    report = capacity_report(load_from_files(REPO, "prod"))
    assert report.size == TaskSize(1, 2)
    assert report.headline.kind == "cpu"
    assert report.headline.tasks >= 20_000, report.headline
    assert {p.kind: p.binding.name for p in report.headline.pools} == {"cpu-ondemand": "maxvCpus", "cpu-spot": "maxvCpus"}
    assert report.headline.binding == "maxvCpus (cpu-ondemand, cpu-spot)"
    prod = load_from_files(REPO, "prod").settings.compute
    assert report.headline.tasks == prod.cpu.max_vcpus + prod.spot.max_vcpus


def test_the_seed_workload_fits_prod_and_takes_400_s_to_submit_one_job_at_a_time():
    answer = capacity_report(load_from_files(REPO, "prod"), parse_workload(SEED)).workload
    assert answer is not None and answer.fits and answer.waves == 1
    assert answer.queue.binding.startswith("maxvCpus")
    assert (answer.submission.single_calls, answer.submission.single_seconds) == (20_000, 400)
    assert (answer.submission.array_calls, answer.submission.array_seconds) == (2, 0.04)


@pytest.mark.parametrize(
    ("tasks", "arrays"), [(1, 1), (9_999, 1), (BATCH_MAX_ARRAY_SIZE, 1), (10_001, 2), (20_000, 2), (25_000, 3)]
)
def test_array_submission_takes_one_call_per_10000_children(tasks, arrays):
    s = Submission(tasks)
    assert (s.single_calls, s.single_seconds) == (tasks, tasks / 50)
    assert (s.array_calls, s.array_seconds) == (arrays, arrays / 50)


def test_memory_binds_when_a_task_needs_more_per_vcpu_than_the_roomiest_family():
    c = ComputeSettings.model_validate({"cpu": {"maxVcpus": 1000, "instanceTypes": ["c6i", "m6i"]}})
    pool = pool_capacity(c, "cpu-ondemand", TaskSize(1, 8), ips=None, ip_source="n/a")
    # m6i holds 4 GiB per vCPU, 95% of it for jobs: 1,000 vCPUs hold 3,800 GiB = 475 tasks of 8 GiB.
    assert pool.binding.name == "memory" and pool.tasks == math.floor(1000 * 4 * MEMORY_FOR_JOBS / 8) == 475
    with_r = ComputeSettings.model_validate({"cpu": {"maxVcpus": 1000, "instanceTypes": ["c6i", "m6i", "r6i"]}})
    assert pool_capacity(with_r, "cpu-ondemand", TaskSize(1, 4), ips=None, ip_source="n/a").binding.name == "maxvCpus"


def test_task_sizes_a_pool_cannot_run():
    c = ComputeSettings.model_validate({"cpu": {"maxVcpus": 64}, "fargate": {"enabled": True, "maxVcpus": 64}})
    odd = pool_capacity(c, "fargate", TaskSize(1, 16), ips=None, ip_source="n/a")
    assert (odd.tasks, odd.binding.name) == (0, "task size") and "1 vCPU takes 2, 3, 4, 5, 6, 7, 8 GiB" in odd.binding.source
    assert pool_capacity(c, "fargate", TaskSize(0.25, 0.5), ips=None, ip_source="n/a").tasks == 256
    small = pool_capacity(c, "cpu-ondemand", TaskSize(0.5, 1), ips=None, ip_source="n/a")
    assert (small.tasks, small.binding.name) == (0, "task size")


def test_subnet_ips_bind_for_fargate_in_an_adopted_vpc(project):
    edit_stack(
        project,
        "local",
        strata__network={
            "mode": "adopt",
            "vpcId": "vpc-0123456789abcdef0",
            "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            "privateRouteTableIds": ["rtb-0aaaaaaaaaaaaaaaa"],
        },
        strata__compute={
            "cpu": {"maxVcpus": 64},
            "gpu": {"enabled": True, "maxVcpus": 16},
            "fargate": {"enabled": True, "maxVcpus": 1024},
        },
    )
    platform = load_from_files(project, "local")
    unknown = capacity_report(platform, parse_workload("2000:1vcpu:2gib:fargate"))
    fargate = {p.kind: p for p in unknown.pools}["fargate"]
    assert fargate.binding.name == "maxvCpus" and {lim.name: lim.tasks for lim in fargate.limits}["subnet IPs"] is None
    assert "--subnet-ips" in unknown.ip_source

    report = capacity_report(platform, parse_workload("2000:1vcpu:2gib:fargate"), subnet_ips=500)
    reserved = capacity.FIXED_OVERHEAD_PER_AZ * 2
    assert report.batch_ips == 500 - reserved
    assert report.headline.kind == "fargate" and report.headline.binding == "subnet IPs (fargate)"
    assert report.headline.tasks == 500 - reserved  # one ENI per Fargate task
    assert report.workload is not None and not report.workload.fits and report.workload.waves == math.ceil(2000 / 468)


def test_ec2_pools_take_one_ip_per_instance_and_share_the_subnets_in_queue_order():
    c = ComputeSettings.model_validate({"cpu": {"maxVcpus": 1000}, "spot": {"maxVcpus": 1000}})
    alone = pool_capacity(c, "cpu-spot", TaskSize(1, 2), ips=300, ip_source="test")
    assert (alone.tasks, alone.binding.name) == (300 * capacity.MIN_VCPUS_PER_CPU_INSTANCE, "subnet IPs")
    ondemand, spot = pools_together(c, QUEUE_POOLS["cpu"], TaskSize(1, 2), 300, "test")
    assert ondemand.tasks == 600 and ondemand.binding.name == "subnet IPs"
    assert spot.tasks == 0 and spot.binding.name == "subnet IPs"  # on-demand took every address first


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "prod"])
@pytest.mark.parametrize("size", [TaskSize(1, 2), TaskSize(0.25, 0.5)])
def test_validated_subnets_never_bind_when_every_pool_is_full(stack, size):
    """The validator sizes the private subnets for every pool at its maxVcpus (core.capacity): the
    report must agree that addresses run out after vCPUs do, for the smallest tasks too."""
    platform = load_from_files(REPO, stack)
    ips, source = batch_ips(platform)
    for pool in pools_together(
        platform.settings.compute, tuple(platform.settings.compute.compute_environment_kinds()), size, ips, source
    ):
        assert pool.binding.name != "subnet IPs", (stack, pool)


# ---------------------------------------------------------------- teams


def test_a_team_cap_binds_before_the_queue():
    report = capacity_report(load_from_files(REPO, "prod"))
    rows = {(t.team, t.queue): t for t in report.teams}
    forecasting = rows[("forecasting", "cpu")]
    assert (forecasting.cap_vcpus, forecasting.tasks, forecasting.binding) == (768, 768, "team maxVcpus")
    assert forecasting.pool_tasks == report.headline.tasks and not forecasting.enforced
    fraud_gpu = rows[("fraud", "gpu")]
    assert (fraud_gpu.tasks, fraud_gpu.binding) == (128, "team gpuMaxVcpus")
    assert ("forecasting", "gpu") not in rows  # not GPU-entitled: no GPU queue


def test_the_queue_binds_before_a_large_team_cap():
    # local: cpu 64 + spot 64 vCPUs of c/m/r (7.6 GiB per vCPU for jobs); 32 GiB tasks: 15 + 15 = 30 < 32 (forecasting's cap).
    report = capacity_report(load_from_files(REPO, "local"), parse_workload("100:1vcpu:32gib"))
    assert report.workload is not None
    team = {t.team: t for t in report.workload.teams}["forecasting"]
    assert (team.cap_vcpus, team.tasks) == (32, 30) and team.binding == "memory (cpu-ondemand, cpu-spot)"


def test_fargate_has_no_team_cap():
    report = capacity_report(load_from_files(REPO, "local"))
    row = {(t.team, t.queue): t for t in report.teams}[("forecasting", "fargate")]
    assert row.cap_vcpus is None and row.tasks == 16 and row.binding == "maxvCpus (fargate)"


# ---------------------------------------------------------------- Batch quotas


def test_quota_use_counts_queues_and_compute_environments():
    prod = {q.name: q for q in capacity_report(load_from_files(REPO, "prod")).quotas}
    assert (prod["job queues"].used, prod["job queues"].limit) == (3, 50)  # forecasting: cpu; fraud: cpu + gpu
    assert (prod["compute environments"].used, prod["compute environments"].limit) == (3, 50)  # on-demand, Spot, GPU
    assert (prod["compute environments per queue"].used, prod["compute environments per queue"].limit) == (2, 3)
    assert "room for 47 more teams" in prod["job queues"].note
    local = {q.name: q for q in capacity_report(load_from_files(REPO, "local")).quotas}
    assert local["job queues"].used == 7  # Fargate adds a queue to every team: 2 + 3 + 2
    assert local["compute environments"].used == 4
    assert "room for 21 more teams" in local["job queues"].note  # (50 - 7) // 2


def test_generated_teams_use_up_the_queue_quota(project):
    template = yaml.safe_load((project / "stacks/teams/forecasting.yaml").read_text())
    template["environments"]["prod"]["monthlyBudgetUsd"] = 100
    for i in range(10):
        (project / "stacks/teams" / f"gen-{i:02d}.yaml").write_text(yaml.safe_dump({**template, "team": f"gen-{i:02d}"}))
    quotas = {q.name: q for q in capacity_report(load_from_files(project, "prod")).quotas}
    assert quotas["job queues"].used == 13 and "room for 37 more teams" in quotas["job queues"].note


def test_queue_pools_match_the_compute_module():
    from modules.compute.policies import queue_compute_environments

    for spot in (True, False):
        for gpu in (True, False):
            for fargate in (True, False):
                c = ComputeSettings.model_validate(
                    {"cpu": {"maxVcpus": 8}, "spot": {"enabled": spot}, "gpu": {"enabled": gpu}, "fargate": {"enabled": fargate}}
                )
                enabled = c.compute_environment_kinds()
                for kind in ("cpu", "gpu", "fargate"):
                    if kind != "cpu" and kind not in enabled:
                        continue
                    expected = [k for k, _ in sorted(queue_compute_environments(c, kind), key=lambda pair: pair[1])]
                    assert [k for k in QUEUE_POOLS[kind] if k in enabled] == expected, (spot, gpu, fargate, kind)


# ---------------------------------------------------------------- the command


def strata(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("COLUMNS", None)
    return subprocess.run([*STRATA, *args], cwd=REPO, env=env, text=True, capture_output=True, timeout=120)


def test_cli_prod():
    run = strata("capacity", "--stack", "prod")
    assert run.returncode == 0, run.stderr
    assert "max concurrent 1 vCPU / 2 GiB tasks on the cpu queue: 20,480" in run.stdout
    assert "binds first: maxvCpus (cpu-ondemand, cpu-spot)" in run.stdout
    assert "job queues" in run.stdout and "Running On-Demand Standard" in run.stdout
    assert "…" not in run.stdout, "a table was folded or cropped when piped"


def test_cli_seed_workload():
    run = strata("capacity", "--stack", "prod", "--workload", SEED)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "200 x 100 = 20,000 tasks of 1 vCPU / 4 GiB on the cpu queue" in out
    assert "fits: yes" in out
    assert "20,000 calls = 400 s" in out and "2 calls = 0.04 s" in out
    assert "team forecasting: 768 at once" in out


def test_cli_json():
    run = strata("capacity", "--stack", "prod", "--workload", SEED, "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["headline"]["tasks"] >= 20_000 and doc["workload"]["fits"] is True
    assert doc["workload"]["submission"]["singleSeconds"] == 400


def test_cli_bad_spec_exits_2_without_a_traceback():
    run = strata("capacity", "--stack", "prod", "--workload", "200x100:1vcpu:4gb")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout
    assert "200x100:1vcpu:4gb" in run.stderr and "write gib" in run.stderr


def test_cli_config_error_exits_1_like_validate(project):
    edit_stack(project, "prod", strata__compute={"cpu": {"maxVcpus": -1}})
    run = strata("capacity", "--stack", "prod", "--project-dir", str(project))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert "strata:compute.cpu.maxVcpus" in run.stderr and "fix:" in run.stderr
