"""Shared by the security gate tests (tests/gates/test_*.py): the stacks, one mocks run per stack
per pytest process, and the scanners' venvs.

The scanners live in their own venvs (scripts/bootstrap.sh --gates): checkov in .venv-gates,
parliament and cloudsplaining in .venv-iam. Without them a gate skips with the command to run,
except in CI (``CI`` set), where a missing scanner fails the gate.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools import planjson
from tools.planexport import run_stack

REPO = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


@dataclass(frozen=True)
class StackSnapshot:
    stack: str
    registrations: list[Any]
    states: dict[str, dict[str, Any]]

    def custom(self) -> list[Any]:
        return [r for r in self.registrations if r.custom and r.type.startswith("aws:")]

    def plan(self) -> dict[str, Any]:
        return planjson.to_terraform_plan(planjson.plan_resources(self.registrations, self.states))

    def arns(self) -> dict[str, str]:
        return {urn: state["arn"] for urn, state in self.states.items() if state.get("arn")}


@functools.cache
def snapshot(stack: str) -> StackSnapshot:
    """The program for ``stack`` under ArnMocks, run once per test process."""
    run, mocks = run_stack(REPO, stack)
    return StackSnapshot(stack, list(run.registrations), dict(mocks.states))


def scanner(venv: str, executable: str) -> Path:
    """Path of a scanner's executable, or skip (locally) / fail (CI) when its venv is missing."""
    path = REPO / venv / "bin" / executable
    if path.exists():
        return path
    message = f"{venv}/bin/{executable} is missing: run `bash scripts/bootstrap.sh --gates`"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run every gate)")
    pytest.skip(message)
