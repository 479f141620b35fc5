"""The config contract: every listed mistake is caught, named by file and key, with a fix, all at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from core.issues import PYDANTIC_JARGON
from infra.config import ConfigError, StackSettings, aws_regions, load_from_files, pulumi_config_strings
from modules.compute.settings import queues_for
from modules.network.settings import Egress
from modules.team.settings import TeamFile

REPO = Path(__file__).resolve().parents[2]


def edit_stack(project: Path, stack: str, **changes) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        key = key.replace("__", ":")
        if value is None:
            doc["config"].pop(key, None)
        else:
            doc["config"][key] = value
    path.write_text(yaml.safe_dump(doc))


def edit_team(project: Path, team: str, doc_change) -> None:
    path = project / "stacks" / "teams" / f"{team}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc_change(doc)
    path.write_text(yaml.safe_dump(doc))


def problems(project: Path, stack: str = "dev") -> list:
    with pytest.raises(ConfigError) as info:
        load_from_files(project, stack)
    return info.value.issues


def one(issues, file_part: str, key_part: str):
    hits = [i for i in issues if file_part in i.file and key_part in i.key]
    assert hits, f"no issue for {file_part} / {key_part} in:\n" + "\n".join(map(str, issues))
    assert all(i.fix for i in hits), f"an issue without a fix: {hits}"
    return hits[0]


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "prod"])
def test_shipped_stacks_are_valid(stack):
    platform = load_from_files(REPO, stack)
    assert platform.environment == stack
    assert platform.teams, f"stack {stack} has no teams"


def test_example_teams_cover_gpu_and_not_in_prod():
    prod = {t.name for t in load_from_files(REPO, "prod").teams}
    dev = load_from_files(REPO, "dev").teams
    assert any(t.gpu for t in dev), "no GPU-entitled team"
    assert any(t.name not in prod for t in dev), "every team is in prod; ship one that is not"
    assert len(dev) >= 3


def test_unknown_keys_are_named_with_a_suggestion(project):
    edit_stack(project, "dev", strata__netwrok={"cidr": "10.0.0.0/16"})
    edit_team(project, "fraud", lambda d: d["environments"]["dev"].update(maxVcpu=3))
    issues = problems(project)
    top = one(issues, "Pulumi.dev.yaml", "strata:netwrok")
    assert "strata:network" in top.fix
    nested = one(issues, "fraud.yaml", "environments.dev.maxVcpu")
    assert "maxVcpus" in nested.fix


def test_unknown_nested_stack_key(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 8}, "gpus": {"enabled": True}})
    assert "gpu" in one(problems(project), "Pulumi.dev.yaml", "strata:compute.gpus").fix


@pytest.mark.parametrize(
    "prefix",
    ["Acme_ML", "a", "-acme", "acme--ml", "x" * 40, "xn--acme", "acme.ml;rm"],
)
def test_names_invalid_for_s3_are_rejected(project, prefix):
    edit_stack(project, "dev", strata__namePrefix=prefix)
    one(problems(project), "Pulumi.dev.yaml", "strata:namePrefix")


@pytest.mark.parametrize("team", ["Fraud", "fraud_detection", "f", "a-very-long-team-name-that-breaks-iam", "x--y", "../etc"])
def test_team_names_invalid_for_iam_or_batch_are_rejected(project, team):
    edit_team(project, "research", lambda d: d.update(team=team))
    one(problems(project), "research.yaml", "team")


def test_duplicate_teams(project):
    shutil.copy(project / "stacks/teams/fraud.yaml", project / "stacks/teams/fraud.yml")
    issue = one(problems(project), "teams/fraud.yml", "team")
    assert "already declared in stacks/teams/fraud.yaml" in issue.problem and "merge" in issue.fix


@pytest.mark.parametrize("text", ["", "\n\n", "# retired\n# team: research\n", "---\n"])
def test_an_empty_team_file_is_refused_not_skipped(project, text):
    """Skipping it would make `pulumi up` delete the team's roles, queues, key and budget."""
    (project / "stacks/teams/research.yaml").write_text(text)
    [issue] = problems(project)
    assert (issue.file, issue.key) == ("stacks/teams/research.yaml", "(file)")
    assert "empty" in issue.problem and "delete the file" in issue.fix
    assert "docs/configuration.md#removing-a-team" in issue.fix
    assert "## Removing a team" in (REPO / "docs/configuration.md").read_text(), "the fix points at a missing section"


def test_a_deleted_team_file_removes_the_team(project):
    (project / "stacks/teams/research.yaml").unlink()
    assert "research" not in {t.name for t in load_from_files(project, "dev").teams}


def test_a_team_file_is_named_after_its_team(project):
    shutil.move(project / "stacks/teams/research.yaml", project / "stacks/teams/churn.yaml")
    edit_team(project, "churn", lambda d: d.update(team="churn-model"))
    [issue] = problems(project)
    assert (issue.file, issue.key) == ("stacks/teams/churn.yaml", "team")
    assert "rename the file to stacks/teams/churn-model.yaml" in issue.fix and "'team: churn'" in issue.fix


def test_renaming_a_team_onto_an_existing_file_says_merge(project):
    shutil.copy(project / "stacks/teams/fraud.yaml", project / "stacks/teams/fraud-copy.yaml")
    issue = one(problems(project), "fraud-copy.yaml", "team")
    assert "stacks/teams/fraud.yaml exists: merge" in issue.fix, "renaming onto an existing file would be a wrong fix"


def test_team_naming_an_unknown_environment(project):
    edit_team(project, "fraud", lambda d: d["environments"].update(qa=d["environments"]["dev"]))
    issue = one(problems(project), "fraud.yaml", "environments.qa")
    assert "dev" in issue.fix and "prod" in issue.fix


@pytest.mark.parametrize(
    ("region", "problem", "fix"),
    [
        ("us-east-9", "not a region of the aws partition", "'us-east-1'"),
        ("eu-centrl-1", "not a region of the aws partition", "'eu-central-1'"),
        ("cn-north-9", "not a region of the aws-cn partition", "'cn-north-1'"),
        ("europe", "'europe' is not an AWS region", "us-east-1"),
    ],
)
def test_unknown_region(project, region, problem, fix):
    edit_stack(project, "dev", aws__region=region)
    issue = one(problems(project), "Pulumi.dev.yaml", "aws:region")
    assert problem in issue.problem and fix in issue.fix


@pytest.mark.parametrize("region", ["eu-west-3", "ap-southeast-2", "ca-central-1"])
def test_real_regions_pass(project, region):
    edit_stack(project, "dev", aws__region=region)
    assert load_from_files(project, "dev").region == region


def test_region_list_is_botocores_partition_data():
    regions = aws_regions()
    assert {"us-east-1", "eu-west-1", "ap-northeast-1"} <= set(regions["aws"])
    assert "cn-north-1" in regions["aws-cn"] and "us-gov-west-1" in regions["aws-us-gov"]
    assert not any(r.endswith("-global") for rs in regions.values() for r in rs), "pseudo-regions are not regions"


@pytest.mark.parametrize(
    ("network", "key", "fix", "wrong"),
    [
        ({"cidr": "10.30.5.0/16", "azCount": 3}, "strata:network.cidr", "write 10.30.0.0/16, or 10.30.5.0/24", "10.20.0.0"),
        ({"cidr": "10.30.5.7/16", "azCount": 3}, "strata:network.cidr", "write 10.30.0.0/16", "/32"),
        (
            {
                "cidr": "10.20.0.0/16",
                "egress": "none",
                "azCount": 3,
                "privateSubnetCidrs": ["10.20.0.0/20", "10.20.16.0/20", "10.20.33.0/20"],
            },
            "strata:network.privateSubnetCidrs",
            "write 10.20.32.0/20",
            "10.20.0.0/20",
        ),
    ],
)
def test_cidr_with_host_bits_gets_its_own_network_as_the_fix(project, network, key, fix, wrong):
    # Local metadata: with egress none, jobs could not reach a REGIONAL metadata API (its own issue, below).
    edit_stack(project, "dev", strata__network=network, strata__metadata={"metadataMode": "local"})
    [issue] = problems(project)
    assert issue.key == key and "host bits set" in issue.problem
    assert fix in issue.fix and wrong not in issue.fix


@pytest.mark.parametrize("egress", ["none", "endpoints"])
def test_metadata_service_without_nat_needs_a_private_api(project, egress):
    """Batch jobs reach the metadata service only through its keyed API; without NAT only a PRIVATE REST API works."""
    edit_stack(project, "dev", strata__network={"cidr": "10.20.0.0/16", "azCount": 3, "egress": egress})
    issue = one(problems(project), "Pulumi.dev.yaml", "strata:metadata.frontDoor")
    assert egress in issue.problem and "endpointType: PRIVATE" in issue.fix
    edit_stack(
        project,
        "dev",
        strata__network={"cidr": "10.20.0.0/16", "azCount": 3, "egress": egress},
        strata__metadata={"frontDoor": "rest-api-nlb", "endpointType": "PRIVATE"},
    )
    assert load_from_files(project, "dev").settings.metadata.endpoint_type.value == "PRIVATE"  # valid as a whole


def test_public_cidr(project):
    edit_stack(project, "dev", strata__network={"cidr": "8.8.0.0/16"})
    assert "private" in one(problems(project), "Pulumi.dev.yaml", "strata:network.cidr").problem


def test_cidr_too_small_for_capacity(project):
    edit_stack(project, "dev", strata__network={"cidr": "10.0.0.0/26"})
    assert "too small" in one(problems(project), "Pulumi.dev.yaml", "strata:network.cidr").problem


def test_overlapping_subnets(project):
    edit_stack(
        project,
        "dev",
        strata__network={"cidr": "10.20.0.0/16", "egress": "none", "privateSubnetCidrs": ["10.20.0.0/20", "10.20.8.0/21"]},
    )
    assert "overlap" in one(problems(project), "Pulumi.dev.yaml", "strata:network").problem


@pytest.mark.parametrize("value", [0, -4])
def test_quotas_must_be_positive(project, value):
    edit_team(project, "forecasting", lambda d: d["environments"]["dev"].update(maxVcpus=value))
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": value}})
    issues = problems(project)
    one(issues, "forecasting.yaml", "environments.dev.maxVcpus")
    one(issues, "Pulumi.dev.yaml", "strata:compute.cpu.maxVcpus")


def test_gpu_quota_where_gpus_are_disabled(project):
    edit_stack(project, "dev", strata__compute={"cpu": {"maxVcpus": 128}, "gpu": {"enabled": False}})
    issue = one(problems(project), "fraud.yaml", "environments.dev.gpuMaxVcpus")
    assert "GPUs disabled" in issue.problem


def test_more_teams_than_batch_allows(project):
    base = yaml.safe_load((project / "stacks/teams/forecasting.yaml").read_text())
    for i in range(51):
        base["team"] = f"team{i:02d}"
        (project / "stacks/teams" / f"team{i:02d}.yaml").write_text(yaml.safe_dump(base))
    issue = one(problems(project), "Pulumi.dev.yaml", "(teams)")
    assert "50" in issue.problem


def test_missing_region(project):
    edit_stack(project, "dev", aws__region=None)
    assert "aws:region" in one(problems(project), "Pulumi.dev.yaml", "aws:region").fix


def test_missing_and_unknown_keys_point_at_the_docs_and_schemas(project):
    edit_team(project, "fraud", lambda d: (d.pop("contacts"), d["environments"]["dev"].pop("principals"), d.update(owner="x")))
    edit_stack(project, "dev", strata__compute={"spot": {"maxVcpus": 8}}, strata__netwrk={})
    issues = problems(project)
    for key in ("contacts", "environments.dev.principals", "owner"):
        fix = one(issues, "fraud.yaml", key).fix
        assert "docs/configuration.md#team-files" in fix and "schemas/team.schema.json" in fix, fix
    for key in ("strata:compute.cpu", "strata:netwrk"):
        fix = one(issues, "Pulumi.dev.yaml", key).fix
        assert "docs/configuration.md#stack-files" in fix and "schemas/stack.schema.json" in fix, fix
    assert not [i for i in issues if "Pulumi.yaml" in i.fix], "Pulumi.yaml describes no team keys"
    docs = (REPO / "docs/configuration.md").read_text()
    assert "## Team files" in docs and "## Stack files" in docs


# One invalid value per kind of pydantic error the models can raise: (team file change, stack change).
PLAIN_CASES = {
    "int": (lambda d: d["environments"]["dev"].update(maxVcpus="lots"), {}),
    "int from float": (lambda d: d["environments"]["dev"].update(maxVcpus=1.5), {}),
    "float": (lambda d: d["environments"]["dev"].update(monthlyBudgetUsd="much"), {}),
    "bool": (None, {"strata__protect": "maybe"}),
    "string": (lambda d: d.update(costCenter=4410), {}),
    "string too short": (lambda d: d.update(costCenter=""), {}),
    "enum": (None, {"strata__network": {"cidr": "10.20.0.0/16", "azCount": 3, "egress": "nat"}}),
    "pattern": (None, {"strata__metadata": {"service": {"cpuArchitecture": "arm"}}}),
    "greater than": (lambda d: d["environments"]["dev"].update(maxVcpus=0), {}),
    "less than or equal": (lambda d: d["environments"]["dev"].update(priority=5000), {}),
    "tuple too short": (lambda d: d["environments"]["dev"].update(principals=[]), {}),
    "tuple too long": (lambda d: d.update(contacts=[f"a{i}@example.com" for i in range(11)]), {}),
    "dict too short": (lambda d: d.update(environments={}), {}),
    "not a list": (lambda d: d.update(contacts="fraud-ml@example.com"), {}),
    "not a mapping": (lambda d: d["environments"].update(dev=["x"]), {}),
    "tags not a mapping": (None, {"strata__tags": ["a", "b"]}),
    "validator": (lambda d: d.update(contacts=["fraud team"]), {}),
    "principal validator": (lambda d: d["environments"]["dev"].update(principals=["*"]), {}),
    "email validator": (None, {"strata__observability": {"alertEmails": ["oncall"], "monthlyBudgetUsd": 10}}),
    "null section": (None, {"strata__compute": {"cpu": None}}),
}


@pytest.mark.parametrize("case", sorted(PLAIN_CASES))
def test_messages_are_plain_words(project, case):
    """No pydantic wording reaches a user ("Input should be...", "Tuple should have at least 1 item after
    validation", "Value error, ..."): each kind of model error is reported in the validator's own words."""
    team_change, stack_change = PLAIN_CASES[case]
    if team_change:
        edit_team(project, "fraud", team_change)
    if stack_change:
        edit_stack(project, "dev", **stack_change)
    issues = problems(project)
    for issue in issues:
        text = f"{issue.problem} {issue.fix}"
        assert not [j for j in PYDANTIC_JARGON if j.lower() in text.lower()], f"{case}: pydantic's words in {issue}"
        assert issue.fix, f"{case}: no fix in {issue}"


def test_the_jargon_list_catches_pydantics_own_messages():
    """The check above can fail: pydantic's raw messages for the same inputs contain the listed phrases."""
    raw = []
    for doc in (
        {"team": "x", "costCenter": 1, "contacts": "a@b.c", "environments": {}},
        {"team": "x", "costCenter": "c", "contacts": ["bad"], "environments": {"dev": {"maxVcpus": "x", "principals": []}}},
    ):
        with pytest.raises(ValidationError) as info:
            TeamFile.model_validate(doc)
        raw += [e["msg"] for e in info.value.errors()]
    with pytest.raises(ValidationError) as info:
        StackSettings.model_validate({"protect": "maybe"})
    raw += [e["msg"] for e in info.value.errors()]
    assert all(any(j in msg for j in PYDANTIC_JARGON) for msg in raw if msg != "Field required"), raw


def test_production_requires_protection(project):
    edit_stack(project, "prod", strata__protect=False)
    one(problems(project, "prod"), "Pulumi.prod.yaml", "strata:protect")


def test_every_problem_is_reported_at_once(project):
    edit_stack(project, "dev", aws__region=None, strata__namePrefix="BAD_", strata__typo=1)
    edit_team(project, "fraud", lambda d: d["environments"]["dev"].update(priority=-1))
    edit_team(project, "forecasting", lambda d: d.update(contacts=["not-an-email"]))
    issues = problems(project)
    files_keys = {(Path(i.file).name, i.key.split(".")[0]) for i in issues}
    assert {
        ("Pulumi.dev.yaml", "aws:region"),
        ("Pulumi.dev.yaml", "strata:namePrefix"),
        ("Pulumi.dev.yaml", "strata:typo"),
        ("fraud.yaml", "environments"),
        ("forecasting.yaml", "contacts"),
    } <= files_keys


def test_yaml_syntax_error_names_the_line(project):
    (project / "stacks/teams/research.yaml").write_text("team: research\nenvironments: [\n")
    issue = one(problems(project), "research.yaml", "line")
    assert "YAML" in issue.problem


def test_pulumi_config_strings_are_what_the_cli_passes(project):
    values = pulumi_config_strings(project, "dev")
    assert values["aws:region"] == "us-east-1"
    assert values["strata:protect"] == "false", "project defaults from Pulumi.yaml are merged, as the CLI does"
    assert values["strata:network"].startswith("{")


def test_queue_kinds():
    platform = load_from_files(REPO, "local")
    by_name = {t.name: t for t in platform.teams}
    assert queues_for(platform.settings.compute, by_name["fraud"]) == ["cpu", "gpu", "fargate"]
    assert queues_for(platform.settings.compute, by_name["forecasting"]) == ["cpu", "fargate"]
    assert platform.settings.network.egress is Egress.NAT_INSTANCE


def test_models_are_frozen():
    platform = load_from_files(REPO, "dev")
    with pytest.raises(ValidationError, match="frozen"):
        platform.settings.compute.cpu.max_vcpus = 1  # type: ignore[misc]
