"""`strata capacity`: the workload parser, the limits that bind, per-team caps, Batch quota use, submission time.

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
from test_config import edit_stack, edit_team

from core import capacity, naming
from infra.config import load_from_files
from modules.compute.settings import ComputeSettings, team_caps
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


def give_forecasting_the_prod_pools(project: Path) -> None:
    """forecasting as large as one team may be in prod: 4,096 on-demand + 16,384 Spot vCPUs."""
    edit_team(project, "forecasting", lambda d: d["environments"]["prod"].update(maxVcpus=20_480, spotVcpus=16_384))


def test_in_prod_each_team_runs_what_its_caps_allow():
    """Every team has its own compute environments, capped at its team file's caps: forecasting (768 vCPUs,
    half on Spot by default) runs 768 one-vCPU tasks at once, whatever the stack's pools would hold."""
    platform = load_from_files(REPO, "prod")
    report = capacity_report(platform)
    assert report.size == TaskSize(1, 2)
    assert (report.headline.team, report.headline.kind, report.headline.tasks) == ("forecasting", "cpu", 768)
    assert report.headline.name == naming.job_queue("prod", "forecasting", "cpu")
    assert {p.kind: (p.max_vcpus, p.binding.name) for p in report.headline.pools} == {
        "cpu-ondemand": (384, "maxvCpus"),
        "cpu-spot": (384, "maxvCpus"),
    }
    c = platform.settings.compute
    assert {(p.team, p.kind): p.max_vcpus for p in report.pools} == {
        (t.name, kind): cap for t in platform.teams for kind, cap in team_caps(c, t).items()
    }
    assert all(p.name == naming.compute_environment("prod", p.team, p.kind) for p in report.pools)
    assert report.all_pools_tasks == 768 + 512 + 128  # every team's compute environments at once
    fraud_gpu = next(p for p in report.pools if (p.team, p.kind) == ("fraud", "gpu"))
    assert fraud_gpu.tasks == 128 and fraud_gpu.binding.name == "maxvCpus"


def test_one_team_given_the_prod_pools_runs_20000_tasks_at_once(project):
    give_forecasting_the_prod_pools(project)
    report = capacity_report(load_from_files(project, "prod"))
    assert report.headline.team == "forecasting" and report.headline.tasks == 20_480 >= 20_000
    assert report.headline.binding == "maxvCpus (cpu-ondemand, cpu-spot)"
    rows = {(t.team, t.queue): t for t in report.teams}
    assert rows[("forecasting", "cpu")].binding == "team maxVcpus" and rows[("fraud", "cpu")].tasks == 512


def test_the_seed_workload_runs_in_waves_in_prod_and_at_once_for_a_team_given_the_pools(project):
    answer = capacity_report(load_from_files(REPO, "prod"), parse_workload(SEED)).workload
    assert answer is not None and not answer.fits
    assert (answer.queue.team, answer.queue.tasks, answer.waves) == ("forecasting", 768, math.ceil(20_000 / 768))
    assert {t.team: (t.tasks, t.binding) for t in answer.teams} == {
        "forecasting": (768, "team maxVcpus"),
        "fraud": (512, "team maxVcpus"),
    }
    assert (answer.submission.single_calls, answer.submission.single_seconds) == (20_000, 400)
    assert (answer.submission.array_calls, answer.submission.array_seconds) == (2, 0.04)
    give_forecasting_the_prod_pools(project)
    big = capacity_report(load_from_files(project, "prod"), parse_workload(SEED)).workload
    assert big is not None and big.fits and big.waves == 1 and big.queue.team == "forecasting"
    assert big.queue.binding.startswith("maxvCpus")


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
        strata__kubernetes={"enabled": False},  # an adopted VPC with the layer needs its CIDR: not this test's subject
        strata__serving={"enabled": False},  # serving runs on that layer
    )
    edit_team(project, "forecasting", lambda d: d["environments"]["local"].update(fargateVcpus=1024))
    platform = load_from_files(project, "local")
    unknown = capacity_report(platform, parse_workload("2000:1vcpu:2gib:fargate"))
    fargate = {(p.team, p.kind): p for p in unknown.pools}[("forecasting", "fargate")]
    assert fargate.binding.name == "maxvCpus" and {lim.name: lim.tasks for lim in fargate.limits}["subnet IPs"] is None
    assert "--subnet-ips" in unknown.ip_source

    report = capacity_report(platform, parse_workload("2000:1vcpu:2gib:fargate"), subnet_ips=500)
    reserved = capacity.FIXED_OVERHEAD_PER_AZ * 2
    assert report.batch_ips == 500 - reserved
    assert (report.headline.team, report.headline.kind) == ("forecasting", "fargate")
    assert report.headline.binding == "subnet IPs (fargate)"
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
def test_validated_subnets_never_bind_when_every_team_is_busy(stack, size):
    """The validator sizes the private subnets for every pool at its maxVcpus (core.capacity). In the shipped
    stacks the teams' caps together stay within the pools, so addresses run out after vCPUs do, for every
    team's compute environments busy at once, and for one team of each kind at the pools' ceiling."""
    platform = load_from_files(REPO, stack)
    c = platform.settings.compute
    ips, source = batch_ips(platform)
    for pool in pools_together(c, tuple(c.compute_environment_kinds()), size, ips, source):
        assert pool.binding.name != "subnet IPs", (stack, pool)
    left = ips
    for t in platform.teams:
        together = pools_together(c, tuple(team_caps(c, t)), size, left, source, t, stack)
        assert all(p.binding.name != "subnet IPs" for p in together), (stack, together)
        left = None if left is None else left - sum(p.tasks for p in together)  # an upper bound on addresses used
    assert left is None or left >= 0


# ---------------------------------------------------------------- teams


def test_team_rows_are_enforced_caps():
    report = capacity_report(load_from_files(REPO, "prod"))
    rows = {(t.team, t.queue): t for t in report.teams}
    forecasting = rows[("forecasting", "cpu")]
    assert (forecasting.cap_vcpus, forecasting.tasks, forecasting.binding) == (768, 768, "team maxVcpus")
    assert forecasting.pool_tasks == 768 and forecasting.enforced
    fraud_gpu = rows[("fraud", "gpu")]
    assert (fraud_gpu.cap_vcpus, fraud_gpu.tasks, fraud_gpu.binding) == (128, 128, "team gpuMaxVcpus")
    assert ("forecasting", "gpu") not in rows  # not GPU-entitled: no GPU compute environment or queue


def test_memory_binds_before_a_team_cap():
    # local forecasting: 16 on-demand + 16 Spot vCPUs of c/m/r (7.6 GiB per vCPU for jobs); 32 GiB tasks:
    # floor(16 x 7.6 / 32) = 3 per compute environment, 6 in all, below its cap of 32.
    report = capacity_report(load_from_files(REPO, "local"), parse_workload("100:1vcpu:32gib"))
    assert report.workload is not None
    team = {t.team: t for t in report.workload.teams}["forecasting"]
    assert (team.cap_vcpus, team.tasks) == (32, 6) and team.binding == "memory (cpu-ondemand, cpu-spot)"


def test_a_spot_what_if_uses_the_teams_spot_environment_alone():
    report = capacity_report(load_from_files(REPO, "local"), parse_workload("100:1vcpu:2gib:spot"))
    assert report.workload is not None
    # research runs on-demand only in local (spotVcpus: 0): it has no Spot environment to ask about.
    assert {t.team: (t.cap_vcpus, t.tasks) for t in report.workload.teams} == {"forecasting": (16, 16), "fraud": (16, 16)}
    assert report.headline.name == "", "no queue targets a team's Spot environment alone"


def test_fargate_is_capped_per_team():
    report = capacity_report(load_from_files(REPO, "local"))
    rows = {(t.team, t.queue): t for t in report.teams}
    assert {name: rows[(name, "fargate")].tasks for name in ("forecasting", "fraud", "research")} == {
        "forecasting": 8,
        "fraud": 4,
        "research": 4,
    }
    assert rows[("forecasting", "fargate")].binding == "team fargateVcpus"


def test_a_team_without_the_kind_is_left_out_and_a_stack_without_it_says_so():
    report = capacity_report(load_from_files(REPO, "prod"), parse_workload("10:1vcpu:4gib:fargate"))
    assert report.workload is not None and report.workload.teams == ()
    assert report.headline.pools == () and report.headline.tasks == 0 and report.workload.waves is None


# ---------------------------------------------------------------- Batch quotas


def test_quota_use_counts_each_teams_compute_environments_and_queues():
    prod = {q.name: q for q in capacity_report(load_from_files(REPO, "prod")).quotas}
    assert (prod["job queues"].used, prod["job queues"].limit) == (3, 50)  # forecasting: cpu; fraud: cpu + gpu
    ces = prod["compute environments"]
    assert (ces.used, ces.limit) == (5, 50) and ces.note == "one per team and kind: cpu-ondemand 2, cpu-spot 2, gpu 1"
    assert (prod["compute environments per queue"].used, prod["compute environments per queue"].limit) == (2, 3)
    teams = prod["teams, with cpu-ondemand, cpu-spot and gpu each"]
    assert (teams.used, teams.limit) == (2, 16)  # 50 // 3 compute environments
    assert teams.note.startswith("25 with cpu-ondemand and cpu-spot only;")  # 50 // 2
    local = {q.name: q for q in capacity_report(load_from_files(REPO, "local")).quotas}
    assert local["job queues"].used == 7 and local["job queues"].note == "by kind: cpu 3, gpu 1, fargate 3"
    assert local["compute environments"].used == 9  # forecasting 3, fraud 4, research 2 (on-demand + Fargate)
    assert "12 with Fargate too" in local["teams, with cpu-ondemand, cpu-spot and gpu each"].note  # 50 // 4


def test_generated_teams_use_up_the_compute_environment_quota(project):
    template = yaml.safe_load((project / "stacks/teams/forecasting.yaml").read_text())
    template["environments"]["prod"]["monthlyBudgetUsd"] = 100
    for i in range(10):
        (project / "stacks/teams" / f"gen-{i:02d}.yaml").write_text(yaml.safe_dump({**template, "team": f"gen-{i:02d}"}))
    quotas = {q.name: q for q in capacity_report(load_from_files(project, "prod")).quotas}
    assert quotas["job queues"].used == 13 and quotas["compute environments"].used == 25


@pytest.mark.parametrize(
    "kinds", [("cpu-ondemand",), ("cpu-spot",), ("cpu-ondemand", "cpu-spot"), ("cpu-ondemand", "cpu-spot", "gpu", "fargate")]
)
def test_queue_pools_match_the_compute_module(kinds):
    from modules.compute.policies import queue_compute_environments

    for kind in ("cpu", "gpu", "fargate"):
        mine = [k for k in QUEUE_POOLS[kind] if k in kinds]
        if not mine:
            with pytest.raises(ValueError):
                queue_compute_environments(kinds, kind)
            continue
        expected = [k for k, _ in sorted(queue_compute_environments(kinds, kind), key=lambda pair: pair[1])]
        assert mine == expected, (kinds, kind)


# ---------------------------------------------------------------- the command


def strata(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("COLUMNS", None)
    return subprocess.run([*STRATA, *args], cwd=REPO, env=env, text=True, capture_output=True, timeout=120)


def test_cli_prod():
    run = strata("capacity", "--stack", "prod")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "cpu queue: 768 (" in out and "binds first: maxvCpus (cpu-ondemand, cpu-spot)" in out
    assert "team maxVcpus" in out and "team gpuMaxVcpus" in out, "each team's enforced caps"
    assert "not enforced" not in out and "does not enforce" not in out
    assert "one per team and kind: cpu-ondemand 2, cpu-spot 2, gpu 1" in out
    assert "teams, with cpu-ondemand, cpu-spot and gpu each" in out
    assert "job queues" in out and "Running On-Demand Standard" in out
    assert "…" not in out, "a table was folded or cropped when piped"


def test_cli_seed_workload():
    run = strata("capacity", "--stack", "prod", "--workload", SEED)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "200 x 100 = 20,000 tasks of 1 vCPU / 4 GiB on the cpu queue" in out
    assert "fits: no - 768 at once, so 27 waves" in out
    assert "20,000 calls = 400 s" in out and "2 calls = 0.04 s" in out
    assert "team forecasting: 768 at once (binds first: team maxVcpus) - 27 waves" in out
    assert "team fraud: 512 at once (binds first: team maxVcpus) - 40 waves" in out


def test_cli_json(project):
    run = strata("capacity", "--stack", "prod", "--workload", SEED, "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["headline"] == {
        "team": "forecasting",
        "queue": "cpu",
        "tasks": 768,
        "binding": "maxvCpus (cpu-ondemand, cpu-spot)",
    }
    assert doc["workload"]["fits"] is False and doc["workload"]["waves"] == 27 and doc["workload"]["team"] == "forecasting"
    assert doc["workload"]["submission"]["singleSeconds"] == 400
    pools = {(p["team"], p["kind"]): (p["name"], p["maxVcpus"]) for p in doc["pools"]}
    assert pools[("fraud", "gpu")] == ("strata-prod-fraud-gpu", 128)
    assert {q["name"] for q in doc["queues"]} == {"strata-prod-forecasting-cpu", "strata-prod-fraud-cpu", "strata-prod-fraud-gpu"}
    give_forecasting_the_prod_pools(project)
    run = strata("capacity", "--stack", "prod", "--workload", SEED, "--format", "json", "--project-dir", str(project))
    big = json.loads(run.stdout)
    assert big["headline"]["tasks"] == 20_480 and big["workload"]["fits"] is True


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
