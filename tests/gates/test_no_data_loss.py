"""No data loss: protected stateful resources, stable URNs, no plaintext secret anywhere we publish.

Every stack file runs through the whole program with ``localcloud.plan.PlainMocks`` (what ``pulumi up``
would declare). The rules themselves are pure and unit-tested in ``tests/unit/test_guards.py``:

* a stack with ``strata:protect: true`` (prod) protects every stateful resource: Pulumi ``protect`` +
  ``retainOnDelete`` and the per-type rule of ``tools.guards.STATEFUL_RULES`` (deletion protection,
  backups / versioning / point-in-time recovery); a stateful type without a rule fails, naming it;
* the URNs of stateful resources match ``tests/golden/urns-<stack>.txt`` unless ``aliases`` map them
  (regenerate: ``python -m tests.golden.regen`` or ``UPDATE_GOLDEN=1 pytest tests/gates/test_no_data_loss.py``);
* no plaintext secret in stack outputs, ECS task definitions, stack files, SSM String parameters (the
  team profiles) or secret-bearing resource inputs (the Pulumi state).
Each guard is also shown failing on a deliberately broken program (a renamed bucket, an unprotected
prod, a plaintext output), so none passes by checking nothing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import runpy
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws
import pytest
import yaml
from pulumi.runtime import settings as pulumi_settings

from core import naming, secret_guard
from infra.config import PROJECT, known_environments, load_from_files, pulumi_config_strings
from localcloud.engine import RecordingMonitor
from localcloud.plan import PlainMocks
from localcloud.runner import annotate_secrets
from tools import guards

REPO = Path(__file__).resolve().parents[2]
STACKS = sorted(known_environments(REPO))
_spec = importlib.util.spec_from_file_location("strata_golden_regen", REPO / "tests" / "golden" / "regen.py")
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


@dataclass
class Run:
    stack: str
    registrations: list[Any]
    outputs: Any  # stack outputs, every secret Output wrapped in secret_guard.Secret


def run_with_secrets(stack: str, program: Callable[[], None] | None = None, project_dir: Path = REPO) -> Run:
    """``localcloud.runner.run_program`` with PlainMocks, also keeping which stack outputs are secret
    (the runner resolves them to plain values, which loses their secretness)."""
    config = pulumi_config_strings(project_dir, stack) if program is None else {}
    mocks = PlainMocks()
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, [])
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run():
        if program is None:
            runpy.run_path(str(project_dir / "infra" / "__main__.py"), run_name="__main__")
        else:
            program()
        outputs = dict(getattr(pulumi_settings.get_root_resource(), "outputs", {}) or {})

        async def collect() -> None:
            result["outputs"] = await annotate_secrets(outputs)

        return collect()

    _run()
    return Run(stack, monitor.registrations, result["outputs"])


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return {stack: run_with_secrets(stack) for stack in STACKS}


def by_type(run: Run, typ: str) -> list[Any]:
    return [r for r in run.registrations if r.type == typ]


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[no-data-loss] {line}", end="")


# ---------------------------------------------------------------- stateful resources


@pytest.mark.parametrize("stack", STACKS)
def test_every_stateful_type_has_a_rule(stack, runs):
    unknown = guards.unknown_stateful_types(runs[stack].registrations)
    assert not unknown, f"{stack}: stateful types without a rule in tools/guards.py STATEFUL_RULES: {unknown}"


PROTECTED = [s for s in STACKS if load_from_files(REPO, s).settings.protect]


def test_some_stack_is_protected():
    assert PROTECTED, "no stack sets strata:protect: true; prod must"


@pytest.mark.parametrize("stack", PROTECTED)
def test_protected_stack_guards_every_stateful_resource(stack, runs, capsys):
    run = runs[stack]
    stateful = guards.stateful_resources(run.registrations)
    kinds = {r.type for r in stateful}
    # The datastore alone has two buckets and a key; never let the gate pass on an empty list.
    assert {"aws:s3/bucket:Bucket", "aws:kms/key:Key"} <= kinds and len(stateful) >= 3, f"{stack}: {sorted(kinds)}"
    problems = guards.stateful_problems(run.registrations)
    listing = "\n".join(f"{urn}:\n    " + "\n    ".join(p) for urn, p in problems.items())
    assert not problems, f"{stack}: stateful resources not protected:\n{listing}"
    report(capsys, f"{stack}: {len(stateful)} stateful resources guarded: {', '.join(sorted(r.name for r in stateful))}")


def test_the_gate_fails_for_an_unprotected_production_stack(tmp_path):
    """Positive control: prod with protection off (and production off, so the validator lets it through)."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    (tmp_path / "infra").mkdir()
    shutil.copy(REPO / "infra" / "__main__.py", tmp_path / "infra" / "__main__.py")
    path = tmp_path / "stacks" / "Pulumi.prod.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"].update({"strata:protect": False, "strata:production": False})
    path.write_text(yaml.safe_dump(doc))
    run = run_with_secrets("prod", project_dir=tmp_path)
    stateful = guards.stateful_resources(run.registrations)
    problems = guards.stateful_problems(run.registrations)
    assert set(problems) == {r.urn for r in stateful}, "every stateful resource must be reported"
    assert all("Pulumi protect is not set" in p for p in problems.values())


def test_a_stateful_type_without_a_rule_is_named(runs):
    registrations = list(runs[STACKS[0]].registrations)
    registrations[0] = dataclasses.replace(registrations[0], type="aws:efs/fileSystem:FileSystem")
    assert guards.unknown_stateful_types(registrations) == ["aws:efs/fileSystem:FileSystem"]


# ---------------------------------------------------------------- golden URNs


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_urns_match_the_golden_file(stack, runs, capsys):
    run = runs[stack]
    current = guards.stateful_urns(run.registrations, stack, PROJECT)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        regen.golden_path(stack).write_text(regen.render(stack, current))
        report(capsys, f"{stack}: wrote {regen.golden_path(stack).relative_to(REPO)} ({len(current)} URNs)")
    golden = regen.read_golden(stack)
    assert golden, f"no golden file {regen.golden_path(stack)}; create it with: python -m tests.golden.regen {stack}"
    lost = guards.lost_urns(golden, run.registrations, stack, PROJECT)
    assert not lost, (
        f"{stack}: stateful resources would be DELETED and recreated (their URN changed or disappeared):\n  "
        + "\n  ".join(lost)
        + "\nKeep the logical name, or add `aliases=[pulumi.Alias(name=<old name>)]` (or the old URN) to the "
        "resource's options. If the removal is intended and reviewed: python -m tests.golden.regen " + stack
    )
    new = sorted(set(current) - set(golden))
    assert not new, (
        f"{stack}: stateful resources missing from {regen.golden_path(stack).relative_to(REPO)} (so not yet guarded):\n  "
        + "\n  ".join(new)
        + f"\nAdd them: python -m tests.golden.regen {stack}"
    )


class _Renamed:
    """``aws.s3.Bucket`` whose datastore bucket is declared under a new logical name (optionally aliased)."""

    def __init__(self, with_alias: bool):
        original = pulumi_aws.s3.Bucket

        class Bucket(original):  # type: ignore[misc, valid-type]
            def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
                if resource_name == "datastore-bucket":
                    if with_alias:
                        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=resource_name)])
                        kwargs["opts"] = pulumi.ResourceOptions.merge(kwargs.get("opts"), alias)
                    resource_name = "datastore-data"
                super().__init__(resource_name, *args, **kwargs)

        self.cls = Bucket


@pytest.mark.parametrize("with_alias", [False, True], ids=["renamed", "renamed-with-alias"])
def test_the_urn_guard_catches_a_renamed_bucket(with_alias, monkeypatch):
    """Positive control on the real program: the datastore bucket's logical name changes."""
    stack = "prod"
    monkeypatch.setattr(pulumi_aws.s3, "Bucket", _Renamed(with_alias).cls)
    run = run_with_secrets(stack)
    assert any(r.name == "datastore-data" for r in run.registrations), "the rename did not take effect"
    lost = guards.lost_urns(regen.read_golden(stack), run.registrations, stack, PROJECT)
    gone = f"urn:pulumi:{stack}::{PROJECT}::strata:datastore:Datastore$aws:s3/bucket:Bucket::datastore-bucket"
    assert lost == ([] if with_alias else [gone])


# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_hold_no_plaintext_secret(stack, runs, capsys):
    found = secret_guard.plaintext_secrets_in_tree(runs[stack].outputs)
    assert not found, f"{stack}: stack outputs that carry a secret in plaintext (export them as pulumi.Output.secret): {found}"
    report(capsys, f"{stack}: {len(runs[stack].outputs)} stack outputs, none a plaintext secret")


def test_the_output_check_catches_a_plaintext_secret():
    """Positive control: a program exporting a password in plaintext, and a token as a Pulumi secret."""

    def program() -> None:
        pulumi.export("bucket", "acme-dev-datastore")
        pulumi.export("dbPassword", pulumi.Output.from_input("hunter2"))
        pulumi.export("apiToken", pulumi.Output.secret("t0k3n"))
        pulumi.export("profiles", {"fraud": pulumi.Output.from_input({"METAFLOW_SERVICE_AUTH_KEY": "k"})})

    run = run_with_secrets("control", program=program)
    assert isinstance(run.outputs["apiToken"], secret_guard.Secret)
    assert secret_guard.plaintext_secrets_in_tree(run.outputs) == ["dbPassword", "profiles.fraud.METAFLOW_SERVICE_AUTH_KEY"]


@pytest.mark.parametrize("stack", STACKS)
def test_task_definitions_pass_secrets_through_secrets(stack, runs, capsys):
    definitions = by_type(runs[stack], "aws:ecs/taskDefinition:TaskDefinition")
    for r in definitions:
        problems = secret_guard.task_definition_secret_problems(r.inputs["containerDefinitions"])
        assert not problems, f"{r.urn}: {problems}"
    report(capsys, f"{stack}: {len(definitions)} ECS task definitions, secrets only through `secrets`")


def stack_file_values(project_dir: Path, stack: str) -> dict[str, Any]:
    return yaml.safe_load((project_dir / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_hold_no_plaintext_secret(stack):
    values = stack_file_values(REPO, stack)
    found = [f"{k}{p}" for k, v in values.items() for p in secret_guard.plaintext_secret_paths(k, v)]
    assert not found, f"stacks/Pulumi.{stack}.yaml: plaintext secrets at {found}; use `pulumi config set --secret`"


def test_stack_file_check_catches_a_plaintext_secret(tmp_path):
    """Positive control (the corpus in tests/badinput has the full set)."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  aws:secretKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    values = stack_file_values(tmp_path, "dev")
    assert [k for k, v in values.items() if secret_guard.plaintext_secret_paths(k, v)] == ["aws:secretKey"]


@pytest.mark.parametrize("stack", STACKS)
def test_ssm_string_parameters_hold_no_secret(stack, runs, capsys):
    """The team profiles (and any other plain String parameter) are readable by anyone with
    ssm:GetParameter on them and are not encrypted: no secret-looking key or value."""
    teams = [t.name for t in load_from_files(REPO, stack).teams]
    params = {r.inputs["name"]: r for r in by_type(runs[stack], "aws:ssm/parameter:Parameter")}
    for team in teams:
        name = naming.profile_parameter(stack, team)
        assert name in params, f"{stack}: no profile parameter {name}"
        profile = json.loads(params[name].inputs["value"])
        assert profile, name
        assert secret_guard.profile_secret_problems(profile) == [], (
            f"{params[name].urn}: {secret_guard.profile_secret_problems(profile)}"
        )
    for name, r in params.items():
        if r.inputs.get("type", "String") != "SecureString":
            assert not secret_guard.is_secret_key(name.rsplit("/", 1)[-1]), f"{r.urn}: a secret-named String parameter"
            assert not secret_guard.looks_like_secret_value(r.inputs.get("value")), f"{r.urn}: a secret-looking value"
    report(capsys, f"{stack}: {len(teams)} team profiles in SSM, no secret in any")


@pytest.mark.parametrize("stack", STACKS)
def test_secret_bearing_inputs_are_pulumi_secrets(stack, runs):
    """e.g. a database password or a secret's value: in plaintext it would sit in the Pulumi state."""
    found = {
        r.urn: problems
        for r in runs[stack].registrations
        if (problems := secret_guard.plaintext_secret_inputs(r.inputs, r.secret_inputs))
    }
    assert not found, f"{stack}: secret-bearing inputs that are not Pulumi secrets: {found}"
