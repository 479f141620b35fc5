"""The JSON Schemas editors use for stack and team files: generated from the config models, committed
in sync with them, accepting every shipped file and refusing broken ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from infra.config import StackSettings
from modules.team.settings import TeamEnvironment, TeamFile
from tools import schemas

REPO = Path(__file__).resolve().parents[2]
STACK_FILES = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
TEAM_FILES = sorted((REPO / "stacks" / "teams").glob("*.yaml"))


def validator(rel: str) -> Draft7Validator:
    return Draft7Validator(json.loads((REPO / rel).read_text()))


def errors(rel: str, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(rel).iter_errors(doc)]


@pytest.mark.parametrize("rel", [schemas.STACK_SCHEMA, schemas.TEAM_SCHEMA])
def test_committed_schemas_are_what_the_models_generate(rel):
    generated = schemas.generated(REPO)[rel]
    assert (REPO / rel).read_text() == generated, f"{rel} is out of date: run `.venv/bin/python -m tools.schemas`"
    Draft7Validator.check_schema(json.loads(generated))


def test_check_fails_on_a_stale_schema_and_regenerating_fixes_it(tmp_path, capsys):
    for item in ("Pulumi.yaml", "stacks", "schemas"):
        (shutil.copytree if (REPO / item).is_dir() else shutil.copy)(REPO / item, tmp_path / item)
    assert schemas.main(["--check", "--project-dir", str(tmp_path)]) == 0
    stale = tmp_path / schemas.TEAM_SCHEMA
    stale.write_text(stale.read_text().replace('"maxItems": 10', '"maxItems": 20'))
    assert schemas.main(["--check", "--project-dir", str(tmp_path)]) == 1
    assert schemas.TEAM_SCHEMA in capsys.readouterr().err
    assert schemas.main(["--project-dir", str(tmp_path)]) == 0
    assert schemas.main(["--check", "--project-dir", str(tmp_path)]) == 0
    assert stale.read_text() == (REPO / schemas.TEAM_SCHEMA).read_text()


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_stack_file_validates(path):
    assert errors(schemas.STACK_SCHEMA, yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", TEAM_FILES, ids=lambda p: p.name)
def test_every_team_file_validates(path):
    assert errors(schemas.TEAM_SCHEMA, yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", STACK_FILES + TEAM_FILES, ids=lambda p: p.name)
def test_every_file_names_its_schema_on_its_first_line(path):
    """The VS Code YAML extension (yaml-language-server) reads the schema from this comment."""
    first = path.read_text().splitlines()[0]
    assert first == schemas.modeline(path, REPO), f"{path.name}: first line {first!r}"
    target = (path.parent / first.removeprefix(schemas.MODELINE)).resolve()
    assert target.is_file() and target.parent == REPO / schemas.SCHEMA_DIR


def _team(**changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "stacks/teams/fraud.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


def _stack(**changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "stacks/Pulumi.dev.yaml").read_text())
    for key, value in changes.items():
        key = key.replace("__", ":")
        if value is None:
            doc["config"].pop(key)
        else:
            doc["config"][key] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (_team(costCentre="cc-1"), "costCentre"),
        (_team(costCenter=None), "costCenter"),
        (_team(team="Fraud_Team"), "team"),
        (_team(contacts=["fraud team"]), "contacts/0"),
        (_team(contacts="fraud-ml@example.com"), "contacts"),
        (
            _team(environments={"qa": {"maxVcpus": 8, "principals": ["arn:aws:iam::111111111111:root"], "monthlyBudgetUsd": 1}}),
            "qa",
        ),
        (_team(environments={"dev": {"maxVcpus": 0, "principals": [], "monthlyBudgetUsd": 1}}), "environments/dev"),
        (_team(environments={"dev": {"maxVcpus": 8, "principals": ["*"], "monthlyBudgetUsd": 1}}), "principals/0"),
    ],
)
def test_a_bad_team_file_fails(doc, where):
    found = errors(schemas.TEAM_SCHEMA, doc)
    assert found and any(where in e for e in found), found


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (_stack(aws__region="us-east-9"), "aws:region"),
        (_stack(aws__region=None), "config"),
        (_stack(strata__namePrefx="acme-ml"), "strata:namePrefx"),
        (_stack(namePrefix="acme-ml"), "namePrefix"),
        (_stack(strata__namePrefix="Acme_ML"), "strata:namePrefix"),
        (_stack(strata__network={"cidr": "10.20.0.0/16", "egress": "vpn"}), "strata:network/egress"),
        (_stack(strata__network={"cidr": "10.20.0.0/16", "flowLogRetentionDays": 45}), "flowLogRetentionDays"),
        (_stack(strata__compute={"cpu": {"maxVcpu": 8}}), "strata:compute/cpu"),
        (_stack(strata__observability={"alertEmails": ["oncall"], "monthlyBudgetUsd": 5}), "alertEmails/0"),
        (_stack(aws__defaultTags={"tags": {"environment": "dev", "team": "p", "cost-center": "c"}}), "tags"),
    ],
)
def test_a_bad_stack_file_fails(doc, where):
    found = errors(schemas.STACK_SCHEMA, doc)
    assert found and any(where in e for e in found), found


def test_foreign_namespaces_are_left_to_their_owners():
    assert errors(schemas.STACK_SCHEMA, _stack(aws__profile="ml", pulumi__template="x")) == []


def test_every_key_a_user_writes_is_described():
    """Editors show these on hover: every stack key and every team-file key says what it is."""
    stack = json.loads((REPO / schemas.STACK_SCHEMA).read_text())
    config = stack["properties"]["config"]["properties"]
    assert {k for k, v in config.items() if not v.get("description")} == set()
    team = json.loads((REPO / schemas.TEAM_SCHEMA).read_text())
    env = team["definitions"]["TeamEnvironment"]["properties"]
    assert {k for k, v in {**team["properties"], **env}.items() if not v.get("description")} == set()
    assert set(team["properties"]) == {f.alias for f in TeamFile.model_fields.values()}
    assert set(env) == {f.alias for f in TeamEnvironment.model_fields.values()}
    assert len(config) == len(StackSettings.model_fields)


def test_schema_required_keys_match_the_models():
    team = json.loads((REPO / schemas.TEAM_SCHEMA).read_text())
    assert set(team["required"]) == {f.alias for f in TeamFile.model_fields.values() if f.is_required()}
    stack = json.loads((REPO / schemas.STACK_SCHEMA).read_text())
    required = set(stack["properties"]["config"]["required"])
    assert required == {
        "aws:region",
        "strata:namePrefix",
        "strata:network",
        "strata:compute",
        "strata:observability",
        "aws:defaultTags",
    }


def test_field_comments_become_descriptions():
    comments = schemas.field_comments(TeamEnvironment)
    assert comments["priority"].startswith("Batch job-queue priority")
    assert "principals" in comments and "max_vcpus" in comments


def _nodes(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


@pytest.mark.parametrize("rel", [schemas.STACK_SCHEMA, schemas.TEAM_SCHEMA])
def test_schemas_are_plain_draft_07(rel):
    """The VS Code YAML extension supports draft-07 fully: no $defs, and no $ref with siblings (draft-07
    ignores them, so a description next to a $ref would be lost)."""
    schema = json.loads((REPO / rel).read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in json.dumps(schema)
    assert not [n for n in _nodes(schema) if "$ref" in n and len(n) > 1]
