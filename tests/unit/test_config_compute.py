"""The compute part of the config contract: each team's caps (maxVcpus, spotVcpus, gpuMaxVcpus, fargateVcpus)
against the stack's pools, and the stack's compute environments and queues against AWS Batch's quotas.

Every case is a copy of the real stack and team files with one change (the ``project`` fixture), checked
through the loader as ``strata validate`` runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_config import edit_stack, edit_team, one, problems

from infra.config import load_from_files
from modules.compute.settings import (
    BATCH_MAX_COMPUTE_ENVIRONMENTS,
    BATCH_MAX_JOB_QUEUES,
    check_batch_limits,
    queues_for,
    team_caps,
)

REPO = Path(__file__).resolve().parents[2]


def dev_env(project: Path, team: str, **values) -> None:
    edit_team(project, team, lambda d: d["environments"]["dev"].update(**values))


def team_in(project: Path, stack: str, name: str):
    return {t.name: t for t in load_from_files(project, stack).teams}[name]


# ---------------------------------------------------------------- spotVcpus


@pytest.mark.parametrize(("max_vcpus", "spot"), [(64, 32), (33, 16), (1, 0)])
def test_spot_defaults_to_half_of_max_vcpus_rounded_down(project, max_vcpus, spot):
    dev_env(project, "forecasting", maxVcpus=max_vcpus)
    t = team_in(project, "dev", "forecasting")
    assert (t.max_vcpus, t.spot_vcpus) == (max_vcpus, spot)
    caps = team_caps(load_from_files(project, "dev").settings.compute, t)
    assert caps.get("cpu-ondemand", 0) == max_vcpus - spot and caps.get("cpu-spot", 0) == spot


def test_spot_defaults_to_0_where_the_stack_has_no_spot(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "spot": {"enabled": False}, "gpu": {"enabled": True}})
    t = team_in(project, "dev", "forecasting")
    assert t.spot_vcpus == 0
    assert team_caps(load_from_files(project, "dev").settings.compute, t) == {"cpu-ondemand": 64}


@pytest.mark.parametrize("spot", [0, 10, 64])
def test_an_explicit_spot_split_is_kept(project, spot):
    dev_env(project, "forecasting", spotVcpus=spot)
    t = team_in(project, "dev", "forecasting")
    assert t.spot_vcpus == spot
    caps = team_caps(load_from_files(project, "dev").settings.compute, t)
    assert sum(caps.values()) == 64 and caps.get("cpu-spot", 0) == spot
    assert ("cpu-ondemand" in caps) is (spot < 64), "a kind with cap 0 gets no compute environment"


def test_spot_above_max_vcpus_is_refused(project):
    dev_env(project, "forecasting", spotVcpus=65)
    issues = problems(project)
    issue = one(issues, "stacks/teams/forecasting.yaml", "environments.dev.spotVcpus")
    assert len(issues) == 1, issues
    assert "more than the team's maxVcpus (64)" in issue.problem and "lower it to <= 64" in issue.fix


def test_spot_with_spot_disabled_names_the_file_the_key_and_the_fix(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "spot": {"enabled": False}, "gpu": {"enabled": True}})
    dev_env(project, "research", spotVcpus=8)
    issues = problems(project)
    assert len(issues) == 1, issues
    issue = issues[0]
    assert (issue.file, issue.key) == ("stacks/teams/research.yaml", "environments.dev.spotVcpus")
    assert "Spot disabled" in issue.problem
    assert "spotVcpus: 0" in issue.fix and "strata:compute.spot" in issue.fix and "stacks/Pulumi.dev.yaml" in issue.fix


def test_spot_0_with_spot_disabled_is_fine(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "spot": {"enabled": False}, "gpu": {"enabled": True}})
    dev_env(project, "research", spotVcpus=0)
    assert team_in(project, "dev", "research").spot_vcpus == 0


def test_a_negative_spot_split_is_a_type_error_in_plain_words(project):
    dev_env(project, "forecasting", spotVcpus=-1)
    issue = one(problems(project), "forecasting.yaml", "environments.dev.spotVcpus")
    assert issue.problem == "-1 is too small" and issue.fix == "use a value >= 0"


def test_the_on_demand_part_must_fit_the_on_demand_pool(project):
    """dev: cpu 128, spot 256. maxVcpus 300 with Spot 100 leaves 200 on-demand: over 128. The fix gives the
    range of spotVcpus that fits both pools: 300 - 128 = 172 to min(300, 256) = 256."""
    dev_env(project, "forecasting", maxVcpus=300, spotVcpus=100, monthlyBudgetUsd=400)
    issues = problems(project)
    assert len(issues) == 1, issues
    issue = one(issues, "forecasting.yaml", "environments.dev.spotVcpus")
    assert "leaves 200 on-demand" in issue.problem and "(128)" in issue.problem
    assert "spotVcpus between 172 and 256" in issue.fix


def test_a_defaulted_split_that_does_not_fit_points_at_max_vcpus_and_spot(project):
    dev_env(project, "forecasting", maxVcpus=300)  # half on Spot: 150 on-demand > 128
    issue = one(problems(project), "forecasting.yaml", "environments.dev.maxVcpus")
    assert "spotVcpus omitted" in issue.problem and "spotVcpus between 172 and 256" in issue.fix


def test_the_spot_part_must_fit_the_spot_pool(project):
    dev_env(project, "forecasting", maxVcpus=300, spotVcpus=290)
    issue = one(problems(project), "forecasting.yaml", "environments.dev.spotVcpus")
    assert "(256)" in issue.problem and "spotVcpus between 172 and 256" in issue.fix


def test_max_vcpus_above_both_cpu_pools_is_one_issue_on_max_vcpus(project):
    dev_env(project, "forecasting", maxVcpus=385)
    issues = problems(project)
    assert len(issues) == 1, issues
    issue = one(issues, "forecasting.yaml", "environments.dev.maxVcpus")
    assert "exceeds the environment's CPU capacity" in issue.problem and "384" in issue.problem
    assert "lower it to <= 384" in issue.fix


def test_max_vcpus_may_use_both_pools_whole(project):
    dev_env(project, "forecasting", maxVcpus=384, spotVcpus=256)
    caps = team_caps(load_from_files(project, "dev").settings.compute, team_in(project, "dev", "forecasting"))
    assert caps == {"cpu-ondemand": 128, "cpu-spot": 256}


def test_every_team_may_be_given_a_whole_pool(project):
    """The pools are the most *one* team may be given: teams together may exceed them (nothing is shared)."""
    for name in ("forecasting", "fraud", "research"):
        dev_env(project, name, maxVcpus=384, spotVcpus=256)
    teams = load_from_files(project, "dev").teams
    assert [t.max_vcpus for t in teams] == [384, 384, 384]


# ---------------------------------------------------------------- gpuMaxVcpus and fargateVcpus


def test_gpu_above_the_gpu_pool_is_refused(project):
    dev_env(project, "fraud", gpuMaxVcpus=33)
    issue = one(problems(project), "fraud.yaml", "environments.dev.gpuMaxVcpus")
    assert "(32)" in issue.problem and "lower it to <= 32" in issue.fix


def test_fargate_defaults_to_0_and_then_no_fargate_queue(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "gpu": {"enabled": True}, "fargate": {"enabled": True}})
    platform = load_from_files(project, "dev")
    by_name = {t.name: t for t in platform.teams}
    assert by_name["forecasting"].fargate_vcpus == 0
    assert queues_for(platform.settings.compute, by_name["forecasting"]) == ["cpu"]


def test_fargate_vcpus_give_a_team_its_fargate_environment(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "gpu": {"enabled": True}, "fargate": {"enabled": True}})
    dev_env(project, "forecasting", fargateVcpus=16)
    platform = load_from_files(project, "dev")
    t = {t.name: t for t in platform.teams}["forecasting"]
    assert t.fargate_vcpus == 16 and team_caps(platform.settings.compute, t)["fargate"] == 16
    assert queues_for(platform.settings.compute, t) == ["cpu", "fargate"]


def test_fargate_vcpus_need_the_fargate_pool(project):
    dev_env(project, "forecasting", fargateVcpus=4)
    issues = problems(project)
    assert len(issues) == 1, issues
    issue = one(issues, "stacks/teams/forecasting.yaml", "environments.dev.fargateVcpus")
    assert "Fargate disabled" in issue.problem and "strata:compute.fargate" in issue.fix


def test_fargate_vcpus_above_the_fargate_pool_are_refused(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "gpu": {"enabled": True}, "fargate": {"enabled": True}})
    dev_env(project, "forecasting", fargateVcpus=65)  # the pool's default maxVcpus is 64
    issue = one(problems(project), "forecasting.yaml", "environments.dev.fargateVcpus")
    assert "(64)" in issue.problem


def test_local_exercises_fargate_with_team_caps():
    platform = load_from_files(REPO, "local")
    caps = {t.name: team_caps(platform.settings.compute, t) for t in platform.teams}
    assert all(c.get("fargate", 0) > 0 for c in caps.values()), caps
    assert "cpu-spot" not in caps["research"], "research runs on-demand only in local (spotVcpus: 0)"


# ---------------------------------------------------------------- AWS Batch quotas


def copies_of(project: Path, like: str, n: int, stack: str = "dev") -> None:
    """Replace the team files with ``n`` copies of ``like`` in ``stack`` (and room in the stack's budget)."""
    template = yaml.safe_load((REPO / "stacks/teams" / f"{like}.yaml").read_text())
    for path in (project / "stacks/teams").glob("*.yaml"):
        path.unlink()
    for i in range(n):
        (project / "stacks/teams" / f"t{i:02d}.yaml").write_text(yaml.safe_dump({**template, "team": f"t{i:02d}"}))
    edit_stack(project, stack, strata__observability={"alertEmails": ["x@example.com"], "monthlyBudgetUsd": 1_000_000})


def test_16_teams_with_cpu_spot_and_gpu_fit_a_region(project):
    copies_of(project, "fraud", 16)
    platform = load_from_files(project, "dev")
    ces = sum(len(team_caps(platform.settings.compute, t)) for t in platform.teams)
    assert ces == 48 <= BATCH_MAX_COMPUTE_ENVIRONMENTS


def test_a_17th_team_is_refused_naming_how_many_fit(project):
    copies_of(project, "fraud", 17)
    issues = problems(project)
    assert len(issues) == 1, issues
    issue = one(issues, "stacks/Pulumi.dev.yaml", "(teams)")
    assert "17 teams need 51 compute environments" in issue.problem
    assert "16 teams with cpu-ondemand, cpu-spot and gpu fit in one region; this stack has 17" in issue.problem
    assert "split teams across regions or accounts" in issue.fix and "gpuMaxVcpus: 0" in issue.fix


def test_cpu_only_teams_hit_both_quotas_at_26(project):
    """Two compute environments and one queue each: 25 teams use 50 compute environments."""
    copies_of(project, "forecasting", 25)
    load_from_files(project, "dev")
    copies_of(project, "forecasting", 26)
    issue = one(problems(project), "Pulumi.dev.yaml", "(teams)")
    assert "52 compute environments" in issue.problem and "25 teams with cpu-ondemand and cpu-spot fit" in issue.problem


def test_mixed_teams_are_counted_with_their_own_kinds(project):
    copies_of(project, "fraud", 10)  # 30 compute environments, 20 queues
    template = yaml.safe_load((REPO / "stacks/teams/forecasting.yaml").read_text())
    for i in range(11):  # 22 more compute environments: 52
        (project / "stacks/teams" / f"u{i:02d}.yaml").write_text(yaml.safe_dump({**template, "team": f"u{i:02d}"}))
    issue = one(problems(project), "Pulumi.dev.yaml", "(teams)")
    assert "21 teams need 52 compute environments" in issue.problem
    assert "20 of this stack's 21 teams fit in one region" in issue.problem
    assert "11 with cpu-ondemand and cpu-spot; 10 with cpu-ondemand, cpu-spot and gpu" in issue.problem


def test_check_batch_limits_counts_queues_too():
    """Queues bind first only with more queues than compute environments per team, which no team has;
    the check still counts them (a team with GPU and Fargate but no CPU split: 3 CEs, 3 queues)."""
    from core.issues import Issues
    from core.settings import Team
    from modules.compute.settings import ComputeSettings

    c = ComputeSettings.model_validate(
        {"cpu": {"maxVcpus": 8}, "spot": {"enabled": False}, "gpu": {"enabled": True}, "fargate": {"enabled": True}}
    )
    t = Team(name="x", cost_center="c", contacts=(), priority=1, max_vcpus=1, gpu_max_vcpus=1, principals=(), fargate_vcpus=1)
    teams = [t] * 17
    issues = Issues()
    check_batch_limits(c, teams, "stacks/Pulumi.dev.yaml", issues)
    (issue,) = issues
    assert "51 compute environments and 51 job queues" in issue.problem
    assert f"{BATCH_MAX_JOB_QUEUES} job queues per region" in issue.problem
    assert "16 teams with cpu-ondemand, gpu and fargate fit in one region; this stack has 17" in issue.problem
