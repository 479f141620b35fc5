"""Pulumi.yaml is the config contract: valid for the Pulumi CLI, every key typed and described."""

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO.parent / "shared" / "schemas" / "pulumi-project.schema.json"


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())


def test_matches_the_pulumi_cli_schema(project):
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} is absent (../shared is not beside this checkout); cannot check Pulumi.yaml")
    import jsonschema

    jsonschema.validate(project, json.loads(SCHEMA.read_text()))


def test_layout(project):
    assert project["name"] == "strata"
    assert project["runtime"]["name"] == "python"
    assert project["main"] == "infra/"
    assert project["stackConfigDir"] == "stacks"
    assert (REPO / project["main"] / "__main__.py").exists()


def test_every_config_key_is_typed_and_described(project):
    for key, decl in project["config"].items():
        assert key.startswith("strata:"), key
        assert decl.get("type") in {"string", "integer", "boolean", "array", "object"}, f"{key} has no type"
        assert len(decl.get("description", "")) > 20, f"{key} has no real description"


def test_every_config_key_is_read_by_the_program(project):
    from infra.config import _STACK_KEYS

    assert set(project["config"]) == {k for k in _STACK_KEYS if k.startswith("strata:")}


def test_required_keys_have_no_default(project):
    from infra.config import _STACK_KEYS, StackSettings

    fields = {f.alias: f for f in StackSettings.model_fields.values()}
    for key, decl in project["config"].items():
        field = fields[_STACK_KEYS[key]]
        if field.is_required():
            assert "default" not in decl, f"{key} is required but Pulumi.yaml gives it a default"
        elif "default" in decl:
            assert decl["default"] == field.default, f"{key}: Pulumi.yaml default differs from the program's"
