"""Every stack file, through the whole program, with plain mocks: what `pulumi up` would declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import naming
from core.profile import check_profile
from infra.config import load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]
STACKS = ["local", "dev", "staging", "prod"]


@pytest.fixture(scope="module", params=STACKS)
def deployed(request) -> tuple[str, ProgramRun]:
    return request.param, run_program(REPO, request.param, PlainMocks())


def by_type(run: ProgramRun, typ: str) -> list:
    return [r for r in run.registrations if r.type == typ]


def test_urns_are_unique(deployed):
    stack, run = deployed
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns)), f"{stack}: duplicate URNs"


def test_every_team_gets_a_complete_profile(deployed):
    stack, run = deployed
    teams = {t.name for t in load_from_files(REPO, stack).teams}
    profiles = run.outputs["teamProfiles"]
    assert set(profiles) == teams
    for team, profile in profiles.items():
        check_profile(profile)
        assert profile["METAFLOW_DATASTORE_SYSROOT_S3"].startswith(
            f"s3://{run.outputs['datastoreBucket']}/{naming.team_prefix(team)}"
        ), team
        assert profile["METAFLOW_BATCH_JOB_QUEUE"].endswith(naming.job_queue(stack, team, "cpu")), team
        assert profile["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"].endswith(naming.job_role(stack, team)), team


def test_every_team_profile_configures_the_strata_extension_for_its_own_team(deployed):
    """The Strata Metaflow extension's keys name exactly what the team's IAM conditions require: its team tag, its
    job-definition prefix and its job log group; with the metadata service, its own API key's secret (an ARN,
    never the key)."""
    stack, run = deployed
    for team, profile in run.outputs["teamProfiles"].items():
        where = f"{stack}/{team}"
        assert profile["METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER"] == "strata", where
        assert profile["METAFLOW_STRATA_TEAM"] == team, where
        assert json.loads(profile["METAFLOW_BATCH_DEFAULT_TAGS"]) == {naming.TEAM_TAG: team}, where
        assert profile["METAFLOW_STRATA_JOB_DEFINITION_PREFIX"] == naming.job_definition_prefix(stack, team), where
        assert profile["METAFLOW_STRATA_JOB_LOG_GROUP"] == naming.job_log_group(stack, team), where
        if profile["METAFLOW_DEFAULT_METADATA"] == "service":
            secret = profile["METAFLOW_STRATA_API_KEY_SECRET"]
            assert secret.startswith("arn:aws:secretsmanager:"), where
            assert naming.metadata_api_key_secret(stack, team) in secret, f"{where}: {secret} is not the team's own secret"
        else:
            assert "METAFLOW_STRATA_API_KEY_SECRET" not in profile, where
        assert "METAFLOW_SERVICE_HEADERS" not in profile and "METAFLOW_SERVICE_AUTH_KEY" not in profile, where


def test_profiles_are_published_to_ssm(deployed):
    stack, run = deployed
    params = {r.inputs["name"]: r for r in by_type(run, "aws:ssm/parameter:Parameter")}
    for team, profile in run.outputs["teamProfiles"].items():
        name = naming.profile_parameter(stack, team)
        assert name in params, f"{stack}: no SSM parameter {name}"
        assert json.loads(params[name].inputs["value"]) == profile, params[name].urn
        assert params[name].inputs["type"] == "String", params[name].urn


def test_compute_scales_to_zero(deployed):
    stack, run = deployed
    ces = by_type(run, "aws:batch/computeEnvironment:ComputeEnvironment")
    assert ces, f"{stack}: no compute environments"
    for ce in ces:
        resources = ce.inputs["computeResources"]
        if resources["type"] in ("FARGATE", "FARGATE_SPOT"):
            # Batch rejects minvCpus for Fargate ("not applicable"): Fargate has no idle capacity at all.
            assert "minVcpus" not in resources, ce.urn
        else:
            assert resources["minVcpus"] == 0, ce.urn
        assert not resources.get("desiredVcpus"), ce.urn


def test_no_public_ips_on_compute(deployed):
    _, run = deployed
    for r in by_type(run, "aws:ec2/launchTemplate:LaunchTemplate"):
        for nic in r.inputs.get("networkInterfaces", []) or []:
            # The provider's type for it is a string ("false"); absent means the subnet's default (private: none).
            assert nic.get("associatePublicIpAddress") in (None, False, "false"), r.urn
        assert r.inputs["metadataOptions"]["httpTokens"] == "required", r.urn
    for r in by_type(run, "aws:ec2/subnet:Subnet"):
        if "private" in r.name:
            assert not r.inputs.get("mapPublicIpOnLaunch"), r.urn


def test_stateful_resources_are_protected_exactly_where_configured(deployed):
    stack, run = deployed
    protect = load_from_files(REPO, stack).settings.protect
    stateful = by_type(run, "aws:s3/bucket:Bucket") + by_type(run, "aws:kms/key:Key")
    assert len(stateful) >= 3, f"{stack}: expected two buckets and a key"
    for r in stateful:
        assert r.protect is protect, f"{r.urn}: protect={r.protect}, stack says {protect}"
        assert r.retain_on_delete is protect, f"{r.urn}: retainOnDelete={r.retain_on_delete}"


def test_gpu_queues_only_for_gpu_teams(deployed):
    stack, run = deployed
    queues = {r.inputs["name"] for r in by_type(run, "aws:batch/jobQueue:JobQueue")}
    for team in load_from_files(REPO, stack).teams:
        assert naming.job_queue(stack, team.name, "cpu") in queues
        assert (naming.job_queue(stack, team.name, "gpu") in queues) == team.gpu, f"{stack}/{team.name}"


def test_bad_config_declares_nothing(tmp_path):
    import shutil

    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    shutil.copytree(REPO / "infra", tmp_path / "infra")
    path = tmp_path / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("10.20.0.0/16", "8.8.0.0/16"))
    mocks = PlainMocks()
    with pytest.raises(Exception) as info:
        run_program(tmp_path, "dev", mocks)
    assert "strata:network.cidr" in str(info.value) and "private" in str(info.value)
    assert "Traceback" not in str(info.value)
    assert mocks.declared == [], f"resources were declared despite bad config: {mocks.declared}"
