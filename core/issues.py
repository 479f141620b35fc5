"""Config problems as the user reads them: the file, the key, the problem in plain words and its fix.

Every check (a layer's in ``modules/<layer>/settings.py``, the loader's in ``infra/config.py``) adds to
one :class:`Issues` collector, so that every problem of a stack and its team files is reported at once.
pydantic's own errors are translated here (:func:`pydantic_issues`): none of pydantic's phrasing
(:data:`PYDANTIC_JARGON`) reaches a user.

Pure: the standard library and pydantic only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from core import secret_guard


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    key: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.problem}\n    fix: {self.fix}"


class Issues(list):
    """Every problem found so far; the loader raises them together (``infra.config.ConfigError``)."""

    def add(self, file: str | Path, key: str, problem: str, fix: str) -> None:
        self.append(ConfigIssue(str(file), key, problem, fix))


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix] if prefix else []
    for p in loc:
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
        else:
            parts.append(str(p))
    return ".".join(parts)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys allowed at ``loc`` inside ``model`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            break
        ann = field.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = args[-1] if args else ann
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


# Where every key's type, default and meaning is written down; fixes point there.
STACK_REFERENCE = "docs/configuration.md#stack-files and schemas/stack.schema.json"
TEAM_REFERENCE = "docs/configuration.md#team-files and schemas/team.schema.json"
REMOVING_A_TEAM = "docs/configuration.md#removing-a-team"
# pydantic's own phrasing: none of it may reach a user (tests/unit/test_config.py asserts it never does).
PYDANTIC_JARGON = (
    "Input should",
    "after validation",
    "Value error",
    "should have at least",
    "should have at most",
    "should be a valid",
    "should match pattern",
    "Tuple should",
    "List should",
    "Dictionary should",
    "String should",
    "errors.pydantic.dev",
    "[type=",
)

# A missing top-level stack-file key: what to write.
MISSING_STACK_KEY_FIX = {
    "aws:region": "add 'aws:region: us-east-1' (or your region) under config:",
    "strata:namePrefix": "add 'strata:namePrefix: <your-org>-ml' (it starts every bucket name)",
    "strata:network": "add strata:network with at least 'cidr: 10.20.0.0/16'",
    "strata:compute": "add strata:compute with at least 'cpu: {maxVcpus: 64}'",
    "strata:observability": "add strata:observability with 'alertEmails: [you@example.com]' and 'monthlyBudgetUsd: 500'",
    "aws:defaultTags": "add aws:defaultTags with 'tags:' environment, team, cost-center and managed-by: strata",
}
# A missing key inside a section, by its own name: what to write.
_MISSING_STACK_FIX = {
    "cpu": "add 'cpu: {maxVcpus: 64}' (the on-demand CPU pool)",
    "maxVcpus": "add 'maxVcpus: 64' (the pool's most vCPUs at once)",
    "alertEmails": "add 'alertEmails: [oncall@example.com]' (who gets the environment's alarms and budget alerts)",
    "monthlyBudgetUsd": "add 'monthlyBudgetUsd: 2500' (the environment's monthly AWS Budget, USD)",
    "tags": "add 'tags:' with environment, team, cost-center and managed-by: strata",
}
_MISSING_TEAM_FIX = {
    "costCenter": "add 'costCenter: <your cost center>' (e.g. cc-4410): the team's resources are tagged with it",
    "contacts": "add 'contacts: [team@example.com]': the team's budget alerts and failed-job e-mails go there",
    "environments": "add 'environments:' with a section per environment the team exists in (e.g. 'dev:')",
    "maxVcpus": "add 'maxVcpus: 64': the most vCPUs the team's jobs use at once in this environment",
    "principals": "add 'principals: [\"arn:aws:iam::111111111111:role/<team>-developers\"]': who may assume the team's role",
    "monthlyBudgetUsd": "add 'monthlyBudgetUsd: 500': the team's monthly AWS Budget in this environment (USD)",
}
# Examples for a list or mapping that may not be empty, by key name.
_EXAMPLES = {
    "principals": '["arn:aws:iam::111111111111:role/<team>-developers"]',
    "contacts": "[team@example.com]",
    "alertEmails": "[oncall@example.com]",
    "environments": "'dev:' with maxVcpus, principals and monthlyBudgetUsd",
    "tags": "'cost-center: ml-platform'",
}
_INT_ERRORS = ("int_type", "int_parsing", "int_from_float", "int_parsing_size")
_NUMBER_ERRORS = ("float_type", "float_parsing", "finite_number")
_LIST_ERRORS = ("tuple_type", "list_type", "set_type", "frozen_set_type", "iterable_type")
_MAPPING_ERRORS = ("dict_type", "model_type", "model_attributes_type", "mapping_type")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _what(value: Any) -> str:
    """What a YAML value is, in a user's words."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a single value"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    return "a list" if isinstance(value, list | tuple) else type(value).__name__


def _plain(e: Mapping[str, Any], key: str, reference: str) -> tuple[str, str]:
    """One pydantic error as (problem, fix) in plain words, never pydantic's own message.

    The error types: https://docs.pydantic.dev/latest/errors/validation_errors/"""
    problem, fix = _plain_words(e, key, reference)
    if e.get("input") is None and e["type"] not in ("value_error", "assertion_error"):
        # `key:` with nothing after the colon is YAML's null.
        problem = f"{key.rsplit('.', 1)[-1]} has no value"
    return problem, fix


def _plain_words(e: Mapping[str, Any], key: str, reference: str) -> tuple[str, str]:
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    name = key.rsplit(".", 1)[-1].split("[")[0]
    # A secret-bearing key's value is never echoed (secret_guard.is_secret_key), whatever went wrong with it.
    shown = "the value" if secret_guard.is_secret_key(key) else _short(value)
    if kind in _INT_ERRORS:
        return f"{shown} is not a whole number", "write a whole number (digits only), e.g. 8"
    if kind in _NUMBER_ERRORS:
        return f"{shown} is not a number", "write a number, e.g. 500 or 0.5"
    if kind in ("bool_type", "bool_parsing"):
        return f"{shown} is not true or false", "write true or false"
    if kind in ("string_type", "string_unicode"):
        if shown == "the value":
            return "the value is not text", "write a single text value"
        if isinstance(value, bool | int | float):
            return (
                f"{shown} is {_what(value)}, not text",
                f"quote it: '{str(value).lower() if isinstance(value, bool) else value}'",
            )
        return f"{shown} is {_what(value)}, not text", "write a single text value"
    if kind in ("enum", "literal_error"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{shown} is not one of the allowed values", f"{hint}use one of: {', '.join(allowed)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and ctx:
        bound = next(iter(ctx.values()))
        size, op = {
            "greater_than": ("small", ">"),
            "greater_than_equal": ("small", ">="),
            "less_than": ("large", "<"),
            "less_than_equal": ("large", "<="),
        }[kind]
        return f"{shown} is too {size}", f"use a value {op} {bound}"
    if kind == "multiple_of":
        return f"{shown} is not a multiple of {ctx.get('multiple_of')}", f"use a multiple of {ctx.get('multiple_of')}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        example = f", e.g. {_EXAMPLES[name]}" if name in _EXAMPLES else ""
        have = "is empty" if not ctx.get("actual_length") else f"has {ctx['actual_length']} entries"
        return (
            f"{name} {have}; at least {n} {'entry is' if n == 1 else 'entries are'} needed",
            f"{'give' if ctx.get('field_type') == 'Dictionary' else 'list'} at least {n}{example}",
        )
    if kind == "too_long":
        n = ctx.get("max_length")
        return f"{name} has {ctx.get('actual_length')} entries; at most {n} are allowed", f"keep at most {n}"
    if kind == "string_too_short":
        return f"{name} is empty", f"give it a value (see {reference})"
    if kind == "string_too_long":
        return f"{name} is longer than {ctx.get('max_length')} characters", "shorten it"
    if kind == "string_pattern_mismatch":
        choices = re.fullmatch(r"\^\(([\w|-]+)\)\$", str(ctx.get("pattern", "")))
        if choices:
            return f"{shown} is not one of the allowed values", f"use one of: {', '.join(choices[1].split('|'))}"
        return f"{shown} does not have the expected form", f"use a value matching {ctx.get('pattern')}"
    if kind in _LIST_ERRORS:
        fix = (
            f"write it as a list: [{value}]"
            if isinstance(value, str) and shown != "the value"
            else "write a list: [a, b], or one '- item' per line"
        )
        return f"{shown} is {_what(value)}, not a list", fix
    if kind in _MAPPING_ERRORS:
        return f"{shown} is {_what(value)}, not a mapping", f"write 'key: value' lines indented under {name} (see {reference})"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error), getattr(error, "fix", f"correct the value (see {reference})")
    # Any other type: pydantic's sentence, without its vocabulary.
    problem = str(e.get("msg", "invalid value")).removeprefix("Value error, ").replace("Input should be", "expected")
    return problem.replace(" after validation", ""), f"correct the value (see {reference})"


def pydantic_issues(
    issues: Issues,
    err: ValidationError,
    file: str,
    prefix: str,
    model: type[BaseModel],
    key_map: Mapping[str, str] | None = None,
    *,
    team_file: bool = False,
) -> None:
    """Every error in ``err`` as an issue: the key as written in the file, plain words, a fix that says
    what to write and where keys are documented (:data:`TEAM_REFERENCE` for a team file, else
    :data:`STACK_REFERENCE`)."""
    reference = TEAM_REFERENCE if team_file else STACK_REFERENCE
    for e in err.errors():
        loc = tuple(e["loc"])
        key = _loc(prefix, loc)
        if key_map and loc and loc[0] in key_map:
            key = _loc("", (key_map[str(loc[0])], *loc[1:]))
        kind = e["type"]
        if kind == "extra_forbidden":
            allowed = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            issues.add(file, key, "unknown key", f"{hint}allowed keys here: {', '.join(sorted(allowed))} (see {reference})")
        elif kind == "missing":
            name = str(loc[-1]) if loc else key
            missing = _MISSING_TEAM_FIX if team_file else _MISSING_STACK_FIX
            fix = MISSING_STACK_KEY_FIX.get(key) or missing.get(name) or f"add {name}"
            if team_file and loc == ("team",):
                fix = f"add 'team: {Path(file).stem}' (a team file is named after its team)"
            issues.add(file, key, "required key is missing", f"{fix} (see {reference})")
        else:
            problem, fix = _plain(e, key, reference)
            issues.add(file, key, problem, fix)
