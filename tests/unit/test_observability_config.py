"""Config rules of the observability layer: strata:observability, aws:defaultTags, team budgets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, load_from_files
from modules.observability.settings import REQUIRED_TAG_KEYS

REPO = Path(__file__).resolve().parents[2]


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc))


def stack(project: Path, env: str = "dev") -> Path:
    return project / "stacks" / f"Pulumi.{env}.yaml"


def issues(project: Path, env: str = "dev") -> list:
    with pytest.raises(ConfigError) as err:
        load_from_files(project, env)
    return err.value.issues


def one(found: list, file_part: str, key: str):
    matches = [i for i in found if file_part in i.file and i.key == key]
    assert len(matches) == 1, f"expected one issue {file_part}:{key}, got {[str(i) for i in found]}"
    return matches[0]


@pytest.mark.parametrize("env", ["local", "dev", "staging", "prod"])
def test_every_stack_tags_and_budgets_its_environment(env):
    platform = load_from_files(REPO, env)
    tags = platform.settings.default_tags.tags
    assert set(REQUIRED_TAG_KEYS) <= set(tags), env
    assert tags["environment"] == env and tags["managed-by"] == "strata", env
    assert platform.settings.observability.alert_emails, env
    assert all(t.monthly_budget_usd and t.monthly_budget_usd > 0 for t in platform.teams), env
    assert sum(t.monthly_budget_usd for t in platform.teams) <= platform.settings.observability.monthly_budget_usd, env


def test_missing_sections_are_named_with_the_fix(project):
    edit(stack(project), lambda d: [d["config"].pop(k) for k in ("aws:defaultTags", "strata:observability")])
    found = issues(project)
    assert "aws:defaultTags" in one(found, "Pulumi.dev.yaml", "aws:defaultTags").fix
    assert "alertEmails" in one(found, "Pulumi.dev.yaml", "strata:observability").fix


@pytest.mark.parametrize("tag", REQUIRED_TAG_KEYS)
def test_each_required_tag_must_be_there(project, tag):
    edit(stack(project), lambda d: d["config"]["aws:defaultTags"]["tags"].pop(tag))
    issue = one(issues(project), "Pulumi.dev.yaml", f"aws:defaultTags.tags.{tag}")
    assert "missing" in issue.problem


def test_default_tags_name_this_environment_and_strata(project):
    def change(d):
        d["config"]["aws:defaultTags"]["tags"].update({"environment": "prod", "managed-by": "terraform"})

    edit(stack(project), change)
    found = issues(project)
    assert "environment: dev" in one(found, "Pulumi.dev.yaml", "aws:defaultTags.tags.environment").fix
    assert "strata" in one(found, "Pulumi.dev.yaml", "aws:defaultTags.tags.managed-by").fix


def test_strata_tags_may_not_contradict_default_tags(project):
    edit(stack(project), lambda d: d["config"]["strata:tags"].update({"cost-center": "somewhere-else"}))
    assert "contradicts" in one(issues(project), "Pulumi.dev.yaml", "strata:tags.cost-center").problem


def test_aws_reserved_tag_prefix_is_refused(project):
    edit(stack(project), lambda d: d["config"]["aws:defaultTags"]["tags"].update({"aws:owner": "x"}))
    one(issues(project), "Pulumi.dev.yaml", "aws:defaultTags.tags.aws:owner")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"alertEmails": []}, "strata:observability.alertEmails"),
        ({"alertEmails": ["not-an-address"]}, "strata:observability.alertEmails"),
        ({"alertEmails": [f"a{i}@example.com" for i in range(11)]}, "strata:observability.alertEmails"),
        ({"monthlyBudgetUsd": 0}, "strata:observability.monthlyBudgetUsd"),
        ({"logRetentionDays": 31}, "strata:observability.logRetentionDays"),
        ({"alarms": {"dbCpuPercent": 101}}, "strata:observability.alarms.dbCpuPercent"),
        ({"alarm": {}}, "strata:observability.alarm"),
    ],
)
def test_observability_values_are_validated(project, change, key):
    edit(stack(project), lambda d: d["config"]["strata:observability"].update(change))
    one(issues(project), "Pulumi.dev.yaml", key)


def test_environment_budget_covers_the_teams(project):
    edit(stack(project), lambda d: d["config"]["strata:observability"].update({"monthlyBudgetUsd": 100}))
    issue = one(issues(project), "Pulumi.dev.yaml", "strata:observability.monthlyBudgetUsd")
    assert "1500" in issue.problem and ">= 1500" in issue.fix


def test_a_team_must_have_a_positive_budget_in_each_environment(project):
    edit(project / "stacks/teams/fraud.yaml", lambda d: d["environments"]["dev"].pop("monthlyBudgetUsd"))
    edit(project / "stacks/teams/research.yaml", lambda d: d["environments"]["dev"].update(monthlyBudgetUsd=-5))
    found = issues(project)
    one(found, "fraud.yaml", "environments.dev.monthlyBudgetUsd")
    one(found, "research.yaml", "environments.dev.monthlyBudgetUsd")


def test_a_budget_alert_takes_at_most_ten_contacts(project):
    edit(project / "stacks/teams/fraud.yaml", lambda d: d.update(contacts=[f"a{i}@example.com" for i in range(11)]))
    one(issues(project), "fraud.yaml", "contacts")
