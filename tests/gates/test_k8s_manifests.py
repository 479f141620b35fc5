"""The Kubernetes gate: for every stack with the Kubernetes layer (local, staging, prod), what `strata manifests`
writes validates offline and passes checkov.

* Every object file validates: core kinds with kubernetes-validate, strict, at the stack's pinned Kubernetes
  version; EventBus / EventSource / Sensor with the Argo Events v1.9.10 schema (tests/data/k8s), strict, nulls
  stripped; the serving layer's Server with the Seldon Core v2.6.0 CRD, strict (helpers shared with
  tests/unit/test_kubernetes_manifests.py).
* checkov `--framework kubernetes` finds 0 failed checks, with skips only in security/checkov-kubernetes.yaml,
  each with a reason; the scanned resource count equals the number of object files (checkov passes what it
  cannot parse silently).
* releases.yaml names exactly the charts, versions and repositories pinned in core/charts.py.

(Named test_k8s_manifests.py, not test_kubernetes_manifests.py: pytest's default import mode needs test file
names unique across tests/, and the unit test has that name.)
Run by hand: `.venv/bin/strata manifests -s staging -o /tmp/k8s && .venv-gates/bin/checkov -d /tmp/k8s
--framework kubernetes --config-file security/checkov-kubernetes.yaml`.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from gate_support import REPO, STACKS, scanner, snapshot
from typer.testing import CliRunner

from core import charts
from infra.config import load_from_files
from tools import manifests as tool

CONFIG = REPO / "security" / "checkov-kubernetes.yaml"


def _load_unit_checks() -> Any:
    """The validation helpers of tests/unit/test_kubernetes_manifests.py (one definition of "valid")."""
    path = REPO / "tests" / "unit" / "test_kubernetes_manifests.py"
    spec = importlib.util.spec_from_file_location("kubernetes_manifest_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks = _load_unit_checks()


@functools.cache
def platform(stack: str) -> Any:
    return load_from_files(REPO, stack)


K8S_STACKS = [s for s in STACKS if platform(s).settings.kubernetes.enabled and platform(s).teams]


def test_the_gate_covers_the_stacks_with_the_layer():
    assert {"local", "staging", "prod"} <= set(K8S_STACKS), K8S_STACKS
    assert "dev" not in K8S_STACKS, "dev has no Kubernetes layer ($25 idle target)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple[Path, tool.ManifestSet]]:
    """stack -> (directory written by the tool's own code, what it collected)."""
    root = tmp_path_factory.mktemp("manifests")
    result = {}
    for stack in K8S_STACKS:
        found = tool.collect(snapshot(stack).registrations)
        tool.write(found, root / stack)
        result[stack] = (root / stack, found)
    return result


def object_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if p.name != tool.RELEASES_FILE)


@pytest.mark.parametrize("stack", K8S_STACKS)
def test_the_layer_declares_typed_objects_and_releases_only(exported, stack):
    directory, found = exported[stack]
    assert found.opaque == [], f"{stack}: opaque under mocks, never validated: {found.opaque}"
    # Only Secrets' contents are held as secrets (the serving layer's rclone remote, written with its values
    # redacted); a secret input anywhere else would be a credential in an object that should hold none.
    unexpected = [r for r in found.redacted if not (r.startswith("Secret ") and r.endswith(tool.SECRET_DATA_FIELDS))]
    assert unexpected == [], f"{stack}: secret inputs in Kubernetes objects: {unexpected}"
    assert len(object_files(directory)) == len(found.objects) > 0
    assert not [o for o in found.objects if o["metadata"]["name"].endswith("-<auto>")], "every object is named"
    for team in platform(stack).teams:
        assert team.kubernetes is not None
        ns = team.kubernetes.namespace
        assert (directory / tool.CLUSTER_DIR / f"namespace-{ns}.yaml").is_file(), f"{stack}: no namespace {ns}"
        kinds = {yaml.safe_load(p.read_text())["kind"] for p in (directory / ns).glob("*.yaml")}
        expected = {"ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange", "NetworkPolicy"}
        assert expected | {"ConfigMap", "Service", "EventBus", "EventSource"} <= kinds, f"{stack}/{ns}: {kinds}"
        if platform(stack).settings.serving.enabled:
            # The serving layer's, in the same namespace (modules/serving): its Server and rclone storage Secret.
            assert {"Server", "Secret"} <= kinds, f"{stack}/{ns}: {kinds}"
            assert (directory / ns / "server-mlserver.yaml").is_file(), f"{stack}/{ns}: no Server mlserver"
            assert (directory / ns / "secret-strata-s3-storage.yaml").is_file(), f"{stack}/{ns}: no storage Secret"


@pytest.mark.parametrize("stack", K8S_STACKS)
def test_every_file_validates_offline(exported, stack):
    directory, _ = exported[stack]
    version = platform(stack).settings.kubernetes.version
    problems = []
    for path in object_files(directory):
        obj = yaml.safe_load(path.read_text())
        try:
            errors = checks.object_errors(obj, version)
        except kubernetes_validate.SchemaNotFoundError:
            errors = [f"no offline schema for {obj.get('apiVersion')}/{obj.get('kind')}: add one (tests/data/k8s)"]
        problems += [f"{path.relative_to(directory)}: {e}" for e in errors]
    assert not problems, f"{stack}:\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", K8S_STACKS)
def test_releases_are_the_pinned_charts(exported, stack):
    directory, _ = exported[stack]
    releases = yaml.safe_load((directory / tool.RELEASES_FILE).read_text())
    installed = charts.KUBERNETES_CHARTS + (charts.SERVING_CHARTS if platform(stack).settings.serving.enabled else ())
    pinned = {c.name: c for c in installed}
    assert {r["chart"] for r in releases} == set(pinned), releases
    for r in releases:
        chart = pinned[r["chart"]]
        assert (r["version"], r["repository"]) == (chart.version, chart.repository_url), r
        assert isinstance(r["values"], dict), f"{r['name']}: values are not a mapping"
        # The CRDs chart has nothing to configure; every other release is configured.
        assert r["values"] or chart is charts.SELDON_CRDS, f"{r['name']}: no values"
    if platform(stack).settings.serving.enabled:
        runtimes = [r for r in releases if r["chart"] == charts.SELDON_RUNTIME.name]
        namespaces = {t.kubernetes.namespace for t in platform(stack).teams if t.kubernetes is not None}
        assert {r["namespace"] for r in runtimes} == namespaces and len(runtimes) == len(namespaces), runtimes


# ---------------------------------------------------------------- checkov


def _skips() -> list[str]:
    return list(yaml.safe_load(CONFIG.read_text()).get("skip-check") or [])


def run_checkov(directory: Path, *extra: str) -> dict[str, Any]:
    command = [str(scanner(".venv-gates", "checkov")), "-d", str(directory), "--framework", "kubernetes", "-o", "json", *extra]
    # Outside the repository: checkov would also read ./.checkov.yaml (the Terraform gate's) by itself.
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=directory.parent)
    if not done.stdout.strip():
        raise AssertionError(f"checkov printed nothing (exit {done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if isinstance(report, list):  # one report per framework
        (report,) = [r for r in report if r.get("check_type") == "kubernetes"]
    return report


def _empty_report(report: dict[str, Any]) -> bool:
    """checkov reports a directory in which it found nothing as a bare summary (no results)."""
    return "results" not in report


@pytest.mark.parametrize("stack", K8S_STACKS)
def test_checkov_finds_no_failed_check(exported, stack):
    directory, found = exported[stack]
    report = run_checkov(directory, "--config-file", str(CONFIG))
    assert not _empty_report(report), f"{stack}: checkov scanned nothing: {report}"
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, f"{stack}: checkov could not parse {summary}"
    # checkov also scans each workload's pod template as a resource of its own (kind Pod).
    workloads = sum(1 for o in found.objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet"))
    expected = len(found.objects) + workloads
    assert summary["resource_count"] == expected > 0, f"{stack}: checkov scanned {summary['resource_count']}, not {expected}"
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert not failed, (
        f"{stack}: {len(failed)} failed checks (fix manifests.py, or skip in {CONFIG.name} with a reason):\n" + "\n".join(failed)
    )
    assert summary["passed"] > len(found.objects), f"{stack}: suspiciously few passed checks: {summary}"


def test_checkov_fails_a_broken_role(exported, tmp_path):
    """Positive control: the same scan fails a Role granting every verb (bind and escalate: CKV_K8S_157 and 158),
    so 0 failures means something."""
    directory, found = exported[K8S_STACKS[0]]
    role = copy.deepcopy(next(o for o in found.objects if o["kind"] == "Role"))
    role["rules"].append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "role.yaml").write_text(tool.dump(role))
    report = run_checkov(tmp_path / "broken", "--config-file", str(CONFIG))
    assert {"CKV_K8S_157", "CKV_K8S_158"} <= {f["check_id"] for f in report["results"]["failed_checks"]}, report["summary"]


def test_every_checkov_skip_has_a_reason_and_is_still_needed(exported):
    skips = _skips()
    lines = CONFIG.read_text().splitlines()
    for check in skips:
        (at,) = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        assert lines[at - 1].strip().startswith("#") and len(lines[at - 1].strip()) > 20, f"{check}: no reason above it"
    if not skips:
        return
    failing: set[str] = set()
    for directory, _ in exported.values():
        report = run_checkov(directory, "--skip-download", "--check", ",".join(skips))
        # A stack where none of the skipped checks finds a resource gets checkov's bare summary (no "results").
        failing |= {f["check_id"] for f in report.get("results", {}).get("failed_checks", [])}
    assert set(skips) <= failing, f"skips no stack needs any more (remove them): {sorted(set(skips) - failing)}"


# ---------------------------------------------------------------- the command


def test_cli_writes_the_files_and_says_what(tmp_path):
    from strata.cli import app

    out = tmp_path / "k8s"
    result = CliRunner().invoke(app, ["manifests", "--stack", "staging", "-o", str(out), "--project-dir", str(REPO)])
    assert result.exit_code == 0, result.output
    found = tool.collect(snapshot("staging").registrations)
    assert f"wrote {len(found.objects) + 1} files" in result.output, result.output
    assert len(object_files(out)) == len(found.objects)
    assert (out / tool.RELEASES_FILE).is_file()
    # A second run replaces the directory it wrote.
    again = CliRunner().invoke(app, ["manifests", "--stack", "staging", "-o", str(out), "--project-dir", str(REPO)])
    assert again.exit_code == 0, again.output


def test_cli_refuses_a_stack_without_the_layer():
    from strata.cli import app

    result = CliRunner().invoke(
        app, ["manifests", "--stack", "dev", "-o", "/nonexistent/never-written", "--project-dir", str(REPO)]
    )
    assert result.exit_code == 2, result.output
    assert "no Kubernetes layer" in result.output and "fix: set strata:kubernetes.enabled: true" in result.output
    assert "Traceback" not in result.output
