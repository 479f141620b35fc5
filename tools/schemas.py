"""JSON Schemas for the stack files and the team files, generated from the config models.

``schemas/stack.schema.json`` and ``schemas/team.schema.json`` let an editor complete and check
``stacks/Pulumi.<env>.yaml`` and ``stacks/teams/<team>.yaml`` as they are typed (each file's first line,
``# yaml-language-server: $schema=...``, points the VS Code YAML extension at its schema). They are made
from the same pydantic models the loader (``infra/config.py``) validates with (each layer's own in
``modules/<layer>/settings.py``), plus the descriptions in ``Pulumi.yaml``, the field comments of the
models and the rules the validator applies outside the models (name patterns, CloudWatch retention
values, the regions botocore lists, the known environments).

The schema is the editor's help, not the validator: ``strata validate`` still checks everything the
schema cannot express (capacity, CIDR maths, production rules...).

    .venv/bin/python -m tools.schemas           # regenerate schemas/*.schema.json
    .venv/bin/python -m tools.schemas --check   # exit 1 if the committed files differ from the models
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import GenerateJsonSchema

from core import naming
from core.settings import EMAIL, LOG_RETENTION_DAYS, PRINCIPAL_ARN
from infra import config
from modules.kubernetes.settings import EKS_VERSIONS
from modules.observability.settings import MANAGED_BY, REQUIRED_TAG_KEYS, DefaultTags
from modules.team.settings import TeamFile
from modules.warehouse.settings import MAINTENANCE_WINDOW, REDSHIFT_NODE_TYPES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = "schemas"
STACK_SCHEMA = f"{SCHEMA_DIR}/stack.schema.json"
TEAM_SCHEMA = f"{SCHEMA_DIR}/team.schema.json"
# Draft-07: the newest draft the VS Code YAML extension fully supports (it warns that 2020-12 is "not
# yet fully supported": https://github.com/redhat-developer/vscode-yaml/issues/726). pydantic's output is
# draft-07 apart from $defs and $ref with sibling keywords, which _draft7 rewrites.
DIALECT = "http://json-schema.org/draft-07/schema#"
# The first line of every stack and team file, relative to the file (the YAML extension reads it).
MODELINE = "# yaml-language-server: $schema="
GENERATED = (
    "Generated from the settings models (modules/<layer>/settings.py, composed in infra/config.py) and Pulumi.yaml "
    "by `python -m tools.schemas`; do not edit by hand."
)

_RETENTION = {"enum": list(LOG_RETENTION_DAYS)}
_EMAILS = {"items": {"pattern": EMAIL.pattern}}
# Rules the checks apply outside the models, as schema keywords: {model (definition) name: {property: keywords}}.
_EXTRA: dict[str, dict[str, dict[str, Any]]] = {
    "NetworkSettings": {"flowLogRetentionDays": _RETENTION},
    "OrchestrationSettings": {"logRetentionDays": _RETENTION},
    "ObservabilitySettings": {"logRetentionDays": _RETENTION, "alertEmails": _EMAILS},
    "MetadataServiceSettings": {"logRetentionDays": _RETENTION},
    "MetadataApiSettings": {"accessLogRetentionDays": _RETENTION},
    "WarehouseSettings": {
        "auditLogRetentionDays": _RETENTION,
        "nodeType": {"enum": list(REDSHIFT_NODE_TYPES)},
        "maintenanceWindow": {"pattern": MAINTENANCE_WINDOW.pattern},
    },
    "KubernetesSettings": {"logRetentionDays": _RETENTION, "version": {"enum": list(EKS_VERSIONS)}},
    "DefaultTags": {"tags": {"required": list(REQUIRED_TAG_KEYS), "properties": {"managed-by": {"const": MANAGED_BY}}}},
    "TeamEnvironment": {"principals": {"items": {"pattern": PRINCIPAL_ARN.pattern}}},
    "TeamFile": {"team": {"pattern": naming.TEAM_NAME.pattern}, "contacts": _EMAILS},
}
_REGION_DESCRIPTION = (
    "The AWS region of the environment (a region of its partition, as botocore lists them; "
    "`strata validate` checks it offline). Required."
)


class _Generator(GenerateJsonSchema):
    """pydantic's generator without the titles it derives from field names ("Maxvcpus")."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def field_comments(model: type[BaseModel]) -> dict[str, str]:
    """The ``# comment`` lines right above each field of ``model``, joined: the models document their
    fields that way (``# Batch job-queue priority: ...`` over ``priority: int``)."""
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(model).splitlines()[1:]:
        comment = re.match(r"^    #\s?(.*)$", line)
        field = re.match(r"^    (\w+)\s*:", line)
        if comment:
            pending.append(comment[1].strip())
            continue
        if field and pending and field[1] in model.model_fields:
            out[field[1]] = " ".join(pending)
        pending = []
    return out


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """``root`` and every model its fields use, at any depth, by class name (the names of ``$defs``)."""
    found: dict[str, type[BaseModel]] = {}
    todo = [root]
    while todo:
        model = todo.pop()
        if found.setdefault(model.__name__, model) is not model:
            continue
        for field in model.model_fields.values():
            for ann in (field.annotation, *typing.get_args(field.annotation)):
                for t in (ann, *typing.get_args(ann)):
                    if isinstance(t, type) and issubclass(t, BaseModel) and t.__name__ not in found:
                        todo.append(t)
    return found


def _annotate(defs: dict[str, Any], models: dict[str, type[BaseModel]]) -> None:
    """Field comments as descriptions, and the validator's extra rules, on every model in ``defs``."""
    for name, schema in defs.items():
        model = models.get(name)
        props = schema.get("properties", {})
        if isinstance(model, type) and issubclass(model, BaseModel):
            comments = field_comments(model)
            for field_name, field in model.model_fields.items():
                alias = field.alias or to_camel(field_name)
                if alias in props and field_name in comments:
                    props[alias].setdefault("description", comments[field_name])
        for prop, extra in _EXTRA.get(name, {}).items():
            _merge(props[prop], extra)


def _defs_of(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(root schema without $defs, $defs) of ``model``, by alias (the camelCase keys files use)."""
    schema = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_Generator)
    defs = schema.pop("$defs", {})
    defs[model.__name__] = schema
    _annotate(defs, _models(model))
    return defs.pop(model.__name__), defs


def stack_schema(project_dir: Path = ROOT) -> dict[str, Any]:
    """The schema of ``stacks/Pulumi.<env>.yaml``: namespaced keys under ``config:``."""
    settings, defs = _defs_of(config.StackSettings)
    declared = config.project_config_declarations(project_dir)
    props: dict[str, Any] = {}
    for key, field in config._STACK_KEYS.items():
        prop = settings["properties"][field]
        if isinstance(prop.get("default"), dict):
            prop.pop("default")  # a whole section's defaults: each of its keys shows its own
        if "default" in declared.get(key, {}):
            prop["default"] = declared[key]["default"]
        if description := declared.get(key, {}).get("description"):
            prop["description"] = description
        props[key] = prop
    props["aws:region"] |= {"enum": sorted(r for regions in config.aws_regions().values() for r in regions)}
    props["aws:region"]["description"] = _REGION_DESCRIPTION
    props["aws:defaultTags"]["description"] = DefaultTags.__doc__
    props["strata:namePrefix"]["pattern"] = naming.NAME_PREFIX.pattern
    required = [k for k, f in config._STACK_KEYS.items() if f in settings.get("required", ())]
    return _draft7(
        {
            "$schema": DIALECT,
            "title": "Strata stack file (stacks/Pulumi.<env>.yaml)",
            "description": f"One environment (a Pulumi stack); see docs/configuration.md#stack-files. {GENERATED}",
            "type": "object",
            "properties": {
                "config": {
                    "description": "The stack's configuration: Strata's strata:* keys and the AWS provider's aws:* keys.",
                    "type": "object",
                    "properties": props,
                    "required": required,
                    # Other providers' and Pulumi's own keys belong to them (aws:profile, pulumi:template...).
                    "patternProperties": {"^(aws|pulumi):": {}},
                    "additionalProperties": False,
                },
                "secretsprovider": {"description": "Written by Pulumi: the stack's secrets provider.", "type": "string"},
                "encryptedkey": {"description": "Written by Pulumi: the stack's encrypted data key.", "type": "string"},
                "encryptionsalt": {"description": "Written by Pulumi: the passphrase provider's salt.", "type": "string"},
                "environment": {"description": "Pulumi ESC environments imported into the stack."},
            },
            "required": ["config"],
            "definitions": dict(sorted(defs.items())),
        }
    )


def team_schema(project_dir: Path = ROOT) -> dict[str, Any]:
    """The schema of ``stacks/teams/<team>.yaml`` (:class:`modules.team.settings.TeamFile`)."""
    team, defs = _defs_of(TeamFile)
    envs = sorted(config.known_environments(project_dir))
    team["properties"]["environments"]["propertyNames"] = {"enum": envs}
    return _draft7(
        {
            "$schema": DIALECT,
            **team,
            "title": "Strata team file (stacks/teams/<team>.yaml)",
            "description": f"{TeamFile.__doc__} {GENERATED}",
            "definitions": dict(sorted(defs.items())),
        }
    )


def _draft7(node: Any) -> Any:
    """pydantic's schema as draft-07: ``definitions`` for ``$defs``, a ``$ref`` with siblings (a description,
    a default) wrapped in ``allOf`` (draft-07 ignores a ``$ref``'s siblings), and descriptions as one line
    of plain text (docstrings wrap and use reST ``literals``)."""
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            out[key] = " ".join(value.replace("``", "`").split())
        elif key == "$ref":
            out[key] = value.replace("#/$defs/", "#/definitions/")
        else:
            out[key] = _draft7(value)
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generated(project_dir: Path = ROOT) -> dict[str, str]:
    """{path relative to the project: file content} of every schema."""
    return {STACK_SCHEMA: render(stack_schema(project_dir)), TEAM_SCHEMA: render(team_schema(project_dir))}


def modeline(path: Path, project_dir: Path = ROOT) -> str:
    """The ``# yaml-language-server`` line a stack or team file starts with (its schema, relative to it)."""
    schema = TEAM_SCHEMA if path.parent.name == "teams" else STACK_SCHEMA
    depth = len(path.resolve().relative_to(project_dir.resolve()).parts) - 1
    return f"{MODELINE}{'../' * depth}{schema}"


def sync_generated(files: dict[str, str], root: Path, check: bool, module: str) -> int:
    """Write each generated file (repository path -> text) under ``root`` where it differs, or with ``check`` only
    name the stale ones and return 1. Shared by the repository's generators (``module`` is how to rerun one)."""
    stale = []
    for rel, text in files.items():
        path = root / rel
        if path.exists() and path.read_text() == text:
            continue
        if check:
            stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {rel}")
    if stale:
        print(f"out of date: {', '.join(stale)}; regenerate with `.venv/bin/python -m {module}`", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.schemas", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed schema differs from the models")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    return sync_generated(generated(args.project_dir), args.project_dir, args.check, "tools.schemas")


if __name__ == "__main__":
    sys.exit(main())
