"""strata:orchestration in the stack files: typed, defaulted, validated against CloudWatch's retentions."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import LOG_RETENTION_DAYS
from infra.config import ConfigError, build_platform, known_environments, load_from_files, pulumi_config_strings
from modules.orchestration.settings import OrchestrationSettings

REPO = Path(__file__).resolve().parents[2]


def platform(extra: dict):
    """The dev stack as the CLI hands it over, with ``extra`` keys replacing its own."""
    return build_platform(
        stack="dev",
        config={**pulumi_config_strings(REPO, "dev"), **extra},
        stack_path="stacks/Pulumi.dev.yaml",
        teams_dir=REPO / "stacks" / "teams",
        known_envs=known_environments(REPO),
    )


def test_default_is_thirty_days_and_a_cloudwatch_value():
    assert OrchestrationSettings().log_retention_days == 30 in LOG_RETENTION_DAYS


def test_every_stack_file_has_valid_orchestration_settings():
    for stack in sorted(known_environments(REPO)):
        assert load_from_files(REPO, stack).settings.orchestration.log_retention_days in LOG_RETENTION_DAYS, stack


def test_retention_is_read_from_the_stack():
    assert platform({"strata:orchestration": {"logRetentionDays": 365}}).settings.orchestration.log_retention_days == 365


@pytest.mark.parametrize(
    "section,key,fragment",
    [
        ({"logRetentionDays": 31}, "strata:orchestration.logRetentionDays", "not a CloudWatch retention"),
        ({"logRetentionDay": 30}, "strata:orchestration.logRetentionDay", "did you mean 'logRetentionDays'"),
    ],
)
def test_bad_orchestration_settings_name_file_key_and_fix(section, key, fragment):
    with pytest.raises(ConfigError) as info:
        platform({"strata:orchestration": section})
    issues = [i for i in info.value.issues if i.key == key]
    assert issues, info.value.render()
    assert issues[0].file == "stacks/Pulumi.dev.yaml"
    assert fragment in f"{issues[0].problem} {issues[0].fix}"
