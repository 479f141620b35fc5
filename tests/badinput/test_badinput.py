"""The bad-input corpus: every malformed stack or team file under cases/ yields exactly one clear error.

A case is a directory ``cases/<name>/`` holding only what differs from the repository's real
``Pulumi.yaml`` and ``stacks/`` (an overlay), plus ``expect.yaml``:

* ``<path>`` (e.g. ``stacks/teams/fraud.yaml``): replaces or adds that file;
* ``<path minus .yaml>.patch.yaml``: a JSON-merge-patch (RFC 7386: mappings merge, ``null`` deletes a
  key) applied to the real file, so a case keeps working when other keys are added to the real files;
* ``expect.yaml``: ``stack``; the ``file`` and ``key`` the error must name; ``problem`` and ``fix``
  substrings; optional ``count`` (default 1) or ``min_count`` (the one "many problems" case), ``absent``
  (strings that must not appear: a plaintext secret, pydantic's wording, a wrong fix), ``remove`` (paths), ``copy``
  (``{new path: real path}``), ``rename`` (``{path: {dotted.key: dotted.key}}``) and ``generate_teams``.

For every case: ``strata validate`` exits non-zero without a traceback and prints file, key and fix
(subprocess); the validator reports exactly the expected issue (in-process), in plain words (none of
``core.issues.PYDANTIC_JARGON``); and running the program with ``localcloud.plan.PlainMocks`` declares
no resource at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.runtime import settings as pulumi_settings

from core.issues import PYDANTIC_JARGON
from infra.config import PROJECT, ConfigError, load_from_files, load_from_pulumi, pulumi_config_strings
from localcloud.plan import PlainMocks
from localcloud.runner import run_program
from tools.badinput_corpus import CASES, CASES_DIR, build_overlay, expectation

REPO = Path(__file__).resolve().parents[2]
_STRATA = Path(sys.executable).with_name("strata")
STRATA = [str(_STRATA)] if _STRATA.exists() else [sys.executable, "-m", "strata.cli"]


@pytest.fixture(scope="module")
def overlays(tmp_path_factory) -> dict[str, Path]:
    return {case: build_overlay(case, tmp_path_factory.mktemp(case)) for case in CASES}


@pytest.fixture(scope="module")
def cli_runs(overlays) -> dict[str, subprocess.CompletedProcess]:
    """``strata validate`` for every case, in parallel (each is a fresh interpreter: ~1 s)."""

    def run(case: str) -> subprocess.CompletedProcess:
        args = [*STRATA, "validate", "--stack", expectation(case)["stack"], "--project-dir", str(overlays[case])]
        env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
        return subprocess.run(args, cwd=REPO, env=env, text=True, capture_output=True, timeout=120)

    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 2) * 2)) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


def _issues(case: str, overlays) -> list:
    with pytest.raises(ConfigError) as info:
        load_from_files(overlays[case], expectation(case)["stack"])
    return info.value.issues


def test_the_corpus_is_large_and_covers_the_required_kinds():
    assert len(CASES) >= 30, f"only {len(CASES)} cases"
    prefixes = {c.split("-")[0] for c in CASES}
    required = {"yaml", "type", "unknown", "injection", "cidr", "quota", "region", "stackfile", "environment"}
    required |= {"duplicate", "prod", "secret", "batch", "team", "plain", "missing"}
    assert required <= prefixes, f"missing kinds: {sorted(required - prefixes)}"


@pytest.mark.parametrize("case", CASES)
def test_validator_reports_exactly_the_expected_issue(case, overlays):
    expect = expectation(case)
    issues = _issues(case, overlays)
    listing = "\n".join(map(str, issues))
    if "min_count" in expect:
        assert len(issues) >= expect["min_count"], f"{case}: expected >= {expect['min_count']} issues:\n{listing}"
        assert all(i.file and i.key and i.problem and i.fix for i in issues), f"{case}: an issue lacks file/key/fix"
        matching = [i for i in issues if i.file == expect["file"] and expect["key"] in i.key]
        assert matching, f"{case}: no issue at {expect['file']} / {expect['key']}:\n{listing}"
        return
    assert len(issues) == expect.get("count", 1), f"{case}: expected exactly one issue, got:\n{listing}"
    issue = issues[0]
    assert issue.file == expect["file"], f"{case}: issue names {issue.file}, expected {expect['file']}"
    assert expect["key"] in issue.key, f"{case}: key {issue.key!r} does not contain {expect['key']!r}"
    for part in expect.get("problem", []):
        assert part in issue.problem, f"{case}: problem {issue.problem!r} lacks {part!r}"
    assert issue.fix, f"{case}: no fix"
    for part in expect.get("fix", []):
        assert part in issue.fix, f"{case}: fix {issue.fix!r} lacks {part!r}"
    for secret in expect.get("absent", []):
        assert secret not in str(issue), f"{case}: the error echoes {secret!r}"


def test_no_case_speaks_pydantic(overlays):
    """Every message of every case is in the validator's words: pydantic's ("Input should be...",
    "Tuple should have at least 1 item after validation", "Value error, ...") never reaches a user."""
    leaks = [
        f"{case}: {issue}"
        for case in CASES
        for issue in _issues(case, overlays)
        if any(j.lower() in f"{issue.problem} {issue.fix}".lower() for j in PYDANTIC_JARGON)
    ]
    assert not leaks, "pydantic's wording reaches users:\n" + "\n".join(leaks)


@pytest.mark.parametrize("case", CASES)
def test_strata_validate_fails_cleanly(case, cli_runs):
    expect = expectation(case)
    proc = cli_runs[case]
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"{case}: exit {proc.returncode}\n{out}"
    assert "Traceback" not in out, f"{case}: traceback\n{out}"
    head = "configuration problem" if "min_count" in expect else "1 configuration problem:"
    assert head in proc.stderr, f"{case}: expected {head!r}\n{out}"
    assert f"{expect['file']}: " in proc.stderr and expect["key"] in proc.stderr, f"{case}: file/key not shown\n{out}"
    assert "fix: " in proc.stderr, f"{case}: no fix shown\n{out}"
    for secret in expect.get("absent", []):
        assert secret not in out, f"{case}: the output echoes {secret!r}"


@pytest.mark.parametrize("case", CASES)
def test_the_program_declares_nothing(case, overlays):
    expect = expectation(case)
    mocks = PlainMocks()
    with pytest.raises(Exception) as info:  # ConfigError (unreadable stack file) or pulumi.RunError
        run_program(overlays[case], expect["stack"], mocks)
    assert expect["key"] in str(info.value), f"{case}: the program failed for another reason: {info.value}"
    assert "Traceback" not in str(info.value)
    assert mocks.declared == [], f"{case}: resources declared despite bad config: {mocks.declared}"


def iter_case_files() -> Iterator[Path]:
    for case in CASES:
        yield from (p for p in (CASES_DIR / case).rglob("*") if p.is_file())


def test_overlay_files_are_minimal():
    """An overlay file that is byte-identical to the real one would hide what the case is about."""
    for path in iter_case_files():
        rel = path.relative_to(CASES_DIR).parts[1:]
        real = REPO.joinpath(*rel)
        if real.exists():
            assert path.read_bytes() != real.read_bytes(), f"{path} is identical to {real}"


# ---------------------------------------------------------------- the secret rule under `pulumi up`

PLAINTEXT_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _load_at_runtime(config: dict[str, str], secret_keys: list[str]):
    """``load_from_pulumi`` as the program calls it under the Pulumi CLI (config handed over as strings)."""
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(PlainMocks(), project=PROJECT, stack="dev", preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)
    return load_from_pulumi(REPO)


def test_a_secret_config_key_passes_at_runtime_and_plaintext_fails(monkeypatch):
    """The CLI decrypts `secure:` values for the program and lists their keys as secret: those pass;
    the same value not listed as secret is plaintext in the stack file and fails, with file/key/fix."""
    config = {**pulumi_config_strings(REPO, "dev"), "aws:secretKey": PLAINTEXT_KEY}
    assert _load_at_runtime(config, ["aws:secretKey"]).environment == "dev"
    with pytest.raises(ConfigError) as info:
        _load_at_runtime(config, [])
    [issue] = info.value.issues
    assert (issue.file, issue.key) == ("stacks/Pulumi.dev.yaml", "aws:secretKey")
    assert "pulumi config set --secret aws:secretKey" in issue.fix and PLAINTEXT_KEY not in str(issue)
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["aws:secretKey"]))  # the other way the CLI lists them
    assert _load_at_runtime(config, []).environment == "dev"


def test_a_secure_value_in_a_stack_file_passes(tmp_path):
    """`secure: <ciphertext>` (what `pulumi config set --secret` writes) is accepted."""
    root = build_overlay("secret-nested-tag", tmp_path)
    path = root / "stacks" / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["aws:secretKey"] = {"secure": "v1:AAABAGNpcGhlcnRleHQ="}
    doc["config"]["strata:tags"].pop("deployToken")
    path.write_text(yaml.safe_dump(doc))
    assert load_from_files(root, "dev").environment == "dev"
