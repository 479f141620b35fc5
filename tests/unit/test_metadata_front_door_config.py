"""strata:metadata front-door combinations: http-api / rest-api-nlb x REGIONAL / PRIVATE, and usagePlan."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.issues import Issues
from infra.config import _check_metadata, load_from_files
from modules.metadata.settings import ApiEndpointType, FrontDoor, MetadataSettings


def check(data: dict) -> list[str]:
    issues = Issues()
    _check_metadata({"metadata": MetadataSettings.model_validate(data), "production": False}, "stacks/Pulumi.x.yaml", issues)
    return [f"{i.key}: {i.problem}" for i in issues]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"frontDoor": "http-api", "endpointType": "REGIONAL"},
        {"frontDoor": "rest-api-nlb"},
        {"frontDoor": "rest-api-nlb", "endpointType": "PRIVATE"},
        {"frontDoor": "rest-api-nlb", "usagePlan": {"rateLimit": 50, "burstLimit": 100, "quotaPerDay": 1}},
    ],
)
def test_valid_combinations(data):
    assert check(data) == [], data


@pytest.mark.parametrize(
    "data,key,words",
    [
        ({"endpointType": "PRIVATE"}, "strata:metadata.endpointType", "HTTP APIs have no PRIVATE"),
        ({"frontDoor": "http-api", "endpointType": "PRIVATE"}, "strata:metadata.endpointType", "HTTP APIs have no PRIVATE"),
        (
            {"frontDoor": "rest-api-nlb", "usagePlan": {"rateLimit": 30, "burstLimit": 20}},
            "strata:metadata.usagePlan.burstLimit",
            "below rateLimit",
        ),
        (
            {"frontDoor": "rest-api-nlb", "usagePlan": {"rateLimit": 60, "burstLimit": 80}},
            "strata:metadata.usagePlan",
            "exceeds the stage's",
        ),
    ],
)
def test_invalid_combinations_name_the_key(data, key, words):
    problems = check(data)
    assert any(p.startswith(key + ":") and words in p for p in problems), problems


def test_usage_plan_values_are_positive():
    with pytest.raises(ValidationError):
        MetadataSettings.model_validate({"usagePlan": {"quotaPerDay": 0}})


def test_prod_runs_the_rest_front_door_and_the_others_the_http_api():
    root = Path(__file__).resolve().parents[2]
    prod = load_from_files(root, "prod").settings.metadata
    assert (prod.front_door, prod.endpoint_type) == (FrontDoor.REST_API_NLB, ApiEndpointType.REGIONAL), prod
    for stack in ("dev", "staging", "local"):
        assert load_from_files(root, stack).settings.metadata.front_door is FrontDoor.HTTP_API, stack
