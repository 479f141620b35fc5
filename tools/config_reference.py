"""Every key of the stack files and the team files, as docs pages, from the same source as the JSON Schemas.

``tools.schemas`` builds ``schemas/*.schema.json`` from the settings models (``modules/<layer>/settings.py``,
composed in ``infra/config.py``) and ``Pulumi.yaml``'s descriptions; this module walks those same schema
objects (not the committed files) and writes one table row per key: its dotted path, type, default, allowed
values and description. A key added to a model appears on the page at the next regeneration, and
``tests/unit/test_config_reference.py`` fails while the committed page lags.

    .venv/bin/python -m tools.config_reference           # regenerate docs/reference/{stack,team}-keys.md
    .venv/bin/python -m tools.config_reference --check   # exit 1 if a committed page differs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import schemas

ROOT = Path(__file__).resolve().parents[1]
STACK_PAGE = "docs/reference/stack-keys.md"
TEAM_PAGE = "docs/reference/team-keys.md"
# Enumerations longer than this (the regions) are summarised, not listed.
MAX_LISTED = 12


@dataclass(frozen=True)
class Key:
    path: str
    type: str
    default: str
    allowed: str
    description: str
    required: bool


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a ``$ref`` (or a single-item ``allOf`` of one, pydantic's shape beside a default) followed."""
    merged = dict(node)
    ref = merged.pop("$ref", None)
    if ref is None and len(merged.get("allOf", [])) == 1 and "$ref" in merged["allOf"][0]:
        ref = merged.pop("allOf")[0]["$ref"]
    if ref is None:
        return merged
    target = _resolve(defs[ref.rsplit("/", 1)[-1]], defs)
    return {**target, **merged}


def _variants(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    options = node.get("anyOf") or node.get("oneOf")
    return [_resolve(o, defs) for o in options] if options else [node]


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    names = []
    for v in _variants(node, defs):
        t = v.get("type")
        if t == "array":
            names.append(f"list of {_type(_resolve(v.get('items', {}), defs), defs)}")
        elif t == "object" and "title" in v and v.get("properties"):
            names.append("mapping")
        elif isinstance(t, list):
            names.extend(str(x) for x in t)
        elif t:
            names.append(str(t))
        elif "enum" in v:
            names.append("string")
        elif "const" in v:
            names.append(json.dumps(v["const"]))
    return " or ".join(dict.fromkeys(names)) or "any"


def _allowed(node: dict[str, Any], defs: dict[str, Any]) -> str:
    parts: list[str] = []
    for v in _variants(node, defs):
        items = _resolve(v.get("items", {}), defs) if v.get("type") == "array" else {}
        for source in (v, items):
            if "enum" in source:
                values = [json.dumps(e) for e in source["enum"] if e is not None]
                listed = ", ".join(values) if len(values) <= MAX_LISTED else f"{len(values)} values (see the JSON Schema)"
                parts.append(f"one of {listed}")
            for word, key in (("min", "minimum"), ("max", "maximum"), ("min items", "minItems"), ("max items", "maxItems")):
                if key in source:
                    parts.append(f"{word} {source[key]}")
            for word, key in (("min length", "minLength"), ("max length", "maxLength")):
                if key in source:
                    parts.append(f"{word} {source[key]}")
            if "pattern" in source:
                parts.append(f"pattern `{source['pattern']}`")
        names = v.get("propertyNames", {})
        if "enum" in names:
            parts.append("keys: " + ", ".join(names["enum"]))
    return "; ".join(dict.fromkeys(parts))


def _default(node: dict[str, Any]) -> str:
    if "default" not in node:
        return ""
    value = node["default"]
    if isinstance(value, dict | list) and len(json.dumps(value)) > 60:
        return "(see the nested keys)"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def walk(node: dict[str, Any], defs: dict[str, Any], path: str = "", required: bool = False) -> Iterator[Key]:
    """One :class:`Key` per key under ``node`` (depth first, in the schema's order)."""
    node = _resolve(node, defs)
    objects = [v for v in _variants(node, defs) if v.get("properties") or "additionalProperties" in v]
    if path:
        yield Key(
            path=path,
            type=_type(node, defs),
            default=_default(node),
            allowed=_allowed(node, defs),
            description=node.get("description", next((v.get("description", "") for v in objects), "")),
            required=required,
        )
    for obj in objects:
        obj = _resolve(obj, defs)
        wanted = set(obj.get("required", []))
        for name, child in obj.get("properties", {}).items():
            yield from walk(child, defs, f"{path}.{name}" if path else name, name in wanted)
        extra = obj.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            names = obj.get("propertyNames", {}).get("enum")
            placeholder = "<env>" if names and set(names) <= {"dev", "local", "staging", "prod"} else "<name>"
            yield from walk(extra, defs, f"{path}.{placeholder}" if path else placeholder, False)


def keys(schema: dict[str, Any], start: str | None = None) -> list[Key]:
    defs = schema.get("definitions", {})
    root = schema["properties"][start] if start else schema
    return list(walk(root, defs))


def page(title: str, intro: str, rows: list[Key]) -> str:
    out = [
        f"# {title}",
        "",
        "<!-- Generated by `.venv/bin/python -m tools.config_reference` from the settings models "
        "(the same source as the JSON Schemas); do not edit by hand. -->",
        "",
        intro,
        "",
        "| key | type | default | allowed | description |",
        "|---|---|---|---|---|",
    ]
    for k in rows:
        key = f"`{k.path}`" + (" (required)" if k.required else "")
        out.append(f"| {key} | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.allowed)} | {_cell(k.description)} |")
    return "\n".join(out) + "\n"


def generated(project_dir: Path = ROOT) -> dict[str, str]:
    stack = keys(schemas.stack_schema(project_dir), "config")
    team = keys(schemas.team_schema(project_dir))
    return {
        STACK_PAGE: page(
            "Stack file keys",
            "Every key of `stacks/Pulumi.<env>.yaml`, under `config:`, with its nested keys "
            f"({len(stack)} in all). How the files work: [Configuration](../configuration.md); "
            "the same content for editors: `schemas/stack.schema.json`. `strata validate --stack <env>` checks a "
            "file, and the rules no schema can express, offline.",
            stack,
        ),
        TEAM_PAGE: page(
            "Team file keys",
            f"Every key of `stacks/teams/<team>.yaml` ({len(team)} in all). How team files work: "
            "[Configuration](../configuration.md#team-files) and [Teams](../platform/teams.md); for editors: "
            "`schemas/team.schema.json`.",
            team,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.config_reference", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed page differs from the models")
    args = parser.parse_args(argv)
    return schemas.sync_generated(generated(), ROOT, args.check, "tools.config_reference")


if __name__ == "__main__":
    sys.exit(main())
