"""The checkov gate: every stack's plan export scanned with checkov, the custom Strata checks
(security/checkov) and the skips of .checkov.yaml — 0 failed checks.

One checkov run per stack (about 5 s each), cached for the module. checkov passes a malformed
plan silently (0 resources, exit 0), so the scanned resource count must equal the exported count.
Run by hand: `.venv/bin/strata plan-json -s dev -o /tmp/dev.json && .venv-gates/bin/checkov -f
/tmp/dev.json --framework terraform_plan --external-checks-dir security/checkov --config-file .checkov.yaml`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from gate_support import REPO, STACKS, scanner, snapshot

CONFIG = REPO / ".checkov.yaml"
STACK_SKIPS = REPO / "security" / "checkov-stack-skips.yaml"
CUSTOM_CHECKS = REPO / "security" / "checkov"


def checkov_command(plan_file: Path, skips: list[str]) -> list[str]:
    command = [
        str(scanner(".venv-gates", "checkov")),
        "-f",
        str(plan_file),
        "--framework",
        "terraform_plan",
        "--external-checks-dir",
        str(CUSTOM_CHECKS),
        "--config-file",
        str(CONFIG),
        "-o",
        "json",
    ]
    if skips:  # on the command line, --skip-check replaces the config file's list: pass the union
        command += ["--skip-check", ",".join(skips)]
    return command


def run_checkov(command: list[str], cwd: Path = REPO) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)
    if not done.stdout.strip():
        raise AssertionError(f"checkov printed nothing (exit {done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if isinstance(report, list):  # one report per framework
        (report,) = [r for r in report if r.get("check_type") == "terraform_plan"]
    return report


def config_skips() -> list[str]:
    return list(yaml.safe_load(CONFIG.read_text()).get("skip-check") or [])


def stack_skips() -> dict[str, dict[str, str]]:
    return yaml.safe_load(STACK_SKIPS.read_text()) or {}


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    scanner(".venv-gates", "checkov")  # skip or fail before exporting anything
    work = tmp_path_factory.mktemp("plans")
    files = {}
    for stack in STACKS:
        files[stack] = work / f"{stack}.json"
        files[stack].write_text(json.dumps(snapshot(stack).plan()))
    return files


@pytest.fixture(scope="module")
def reports(plans) -> dict[str, tuple[dict[str, Any], int]]:
    """stack -> (checkov report with the configured skips, resources exported)."""
    results = {}
    for stack, plan_file in plans.items():
        skips = config_skips() + sorted(stack_skips().get(stack, {}))
        exported = len(json.loads(plan_file.read_text())["planned_values"]["root_module"]["resources"])
        results[stack] = (run_checkov(checkov_command(plan_file, skips)), exported)
    return results


@pytest.fixture(scope="module")
def unskipped(plans) -> dict[str, set[str]]:
    """stack -> the skipped checks that fail there when not skipped (one checkov run, every plan)."""
    skipped = sorted(set(config_skips()) | {c for checks in stack_skips().values() for c in checks})
    if not skipped:
        return {stack: set() for stack in plans}
    command = [str(scanner(".venv-gates", "checkov")), "--framework", "terraform_plan", "-o", "json", "--skip-download"]
    for plan_file in plans.values():
        command += ["-f", str(plan_file)]
    # Outside the repository: checkov reads ./.checkov.yaml by itself, and its skips must not apply here.
    report = run_checkov([*command, "--check", ",".join(skipped)], cwd=next(iter(plans.values())).parent)
    failing: dict[str, set[str]] = {stack: set() for stack in plans}
    for result in report["results"]["failed_checks"]:
        stack = Path(result["file_path"]).stem
        failing[stack].add(result["check_id"])
    return failing


@pytest.mark.parametrize("stack", STACKS)
def test_no_failed_checks(reports, stack):
    report, _ = reports[stack]
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0, f"{stack}: checkov could not parse the plan"
    assert not failed, (
        f"{stack}: {len(failed)} failed checks (fix the module, or skip in .checkov.yaml with a reason):\n" + "\n".join(failed)
    )


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_scanned_every_exported_resource(reports, stack):
    report, exported = reports[stack]
    assert report["summary"]["resource_count"] == exported, (
        f"{stack}: checkov scanned {report['summary']['resource_count']} of {exported}"
    )
    assert report["summary"]["passed"] > 100, f"{stack}: suspiciously few passed checks: {report['summary']}"


@pytest.mark.parametrize("stack", STACKS)
def test_custom_checks_ran(reports, stack):
    report, _ = reports[stack]
    ran = {r["check_id"] for r in report["results"]["passed_checks"] if r["check_id"].startswith("CKV_STRATA_")}
    # Every custom check applies to resources every stack has (compute environments, queues, the launch template).
    assert ran == {f"CKV_STRATA_{n}" for n in range(1, 10)}, f"{stack}: custom checks that did not run: {ran}"


def test_every_skip_has_a_reason():
    """.checkov.yaml lists each skipped check with a comment line above it; the per-stack skips
    carry their reason as the value."""
    lines = CONFIG.read_text().splitlines()
    for check in config_skips():
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        assert lines[index - 1].strip().startswith("#") and len(lines[index - 1].strip()) > 30, f"{check}: no reason above it"
    for stack, skips in stack_skips().items():
        assert stack in STACKS, f"security/checkov-stack-skips.yaml: unknown stack {stack}"
        for check, reason in skips.items():
            assert isinstance(reason, str) and len(reason) > 30, f"{stack} {check}: no reason"


def test_skips_are_still_needed(unskipped):
    """A skip that no stack fails any more is dead weight that would hide a future finding: remove it."""
    failing_somewhere = set().union(*unskipped.values())
    unused = [check for check in config_skips() if check not in failing_somewhere]
    assert not unused, f".checkov.yaml skips checks that every stack passes: {unused}"
    for stack, checks in stack_skips().items():
        unused = [check for check in checks if check not in unskipped.get(stack, set())]
        assert not unused, f"security/checkov-stack-skips.yaml: {stack} passes {unused}"
