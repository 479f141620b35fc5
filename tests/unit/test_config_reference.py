"""The docs' every-key pages (tools/config_reference.py) against the settings models they are generated from."""

from __future__ import annotations

from tools import config_reference, schemas


def test_the_committed_pages_are_what_the_models_generate():
    assert config_reference.main(["--check"]) == 0, "regenerate: .venv/bin/python -m tools.config_reference"


def test_every_property_of_every_settings_model_has_a_row():
    """Each property name of each model in the schemas (every nested settings model included) ends at least one
    documented key path, so a key nested under a union or a mapping cannot be skipped by the walk."""
    for schema, start in ((schemas.stack_schema(), "config"), (schemas.team_schema(), None)):
        paths = [k.path for k in config_reference.keys(schema, start)]
        last = {p.rsplit(".", 1)[-1] for p in paths}
        for name, definition in schema.get("definitions", {}).items():
            for prop in definition.get("properties", {}):
                assert prop in last, f"{name}.{prop} has no row on the page"
        top = schema["properties"][start]["properties"] if start else schema["properties"]
        assert set(top) <= set(paths)


def test_rows_carry_type_default_allowed_and_required():
    rows = {k.path: k for k in config_reference.keys(schemas.team_schema())}
    priority = rows["environments.<env>.priority"]
    assert (priority.type, priority.default, priority.allowed) == ("integer", "`10`", "min 0; max 1000")
    assert rows["team"].required and not rows["description"].required
    stack = {k.path: k for k in config_reference.keys(schemas.stack_schema(), "config")}
    assert stack["strata:network.egress"].allowed.startswith('one of "nat-gateway"')
    assert "`strata:kubernetes.enabled`" in config_reference.generated()[config_reference.STACK_PAGE]
