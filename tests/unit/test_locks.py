"""Every environment the project creates is installed from its lock, and the locks honour the ranges.

The locks (``requirements/*.lock``, ``policy/requirements.txt``) are made by ``bash scripts/update-deps.sh``
and installed by ``bash scripts/bootstrap.sh`` with ``uv pip sync --require-hashes``. These tests read
what is really installed, so a venv that drifted from its lock (a hand ``pip install``, an old venv)
fails here instead of passing on one machine and failing on a fresh one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCKS = {
    ".venv": REPO / "requirements/dev.lock",
    ".venv-gates": REPO / "requirements/checkov.lock",
    ".venv-iam": REPO / "requirements/iam.lock",
    ".venv-tools": REPO / "requirements/tools.lock",
}
# Our own packages, installed editable on top of the lock.
OWN = {"strata-platform", "strata-sdk"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def locked(path: Path) -> dict[str, str]:
    """{canonical name: version} of a hashed requirements lock."""
    pins = {}
    for line in path.read_text().splitlines():
        if m := PIN.match(line):
            pins[canonicalize_name(m[1])] = m[2]
    return pins


def installed(venv: Path) -> dict[str, str]:
    """{canonical name: version} of what a venv holds, read by that venv's own interpreter."""
    code = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    out = subprocess.run([str(venv / "bin/python"), "-c", code], capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(k): v for k, v in json.loads(out).items()}


@pytest.mark.parametrize("lock", sorted([*LOCKS.values(), REPO / "policy/requirements.txt"]), ids=lambda p: p.name)
def test_every_lock_entry_is_pinned_with_hashes(lock: Path) -> None:
    text = lock.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins = [e for e in entries if PIN.match(e)]
    assert pins, f"{lock}: no pinned entries"
    for entry in pins:
        assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]} has no hash; relock with scripts/update-deps.sh"
    for line in text.splitlines():
        assert line.startswith((" ", "#")) or PIN.match(line) or not line.strip(), f"{lock}: unpinned line {line!r}"


def test_running_venv_equals_its_lock() -> None:
    venv = Path(sys.prefix)
    if venv.resolve() != (REPO / ".venv").resolve():
        pytest.skip(f"tests run from {venv}, not the project's .venv (bash scripts/bootstrap.sh makes it)")
    have = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    want = locked(LOCKS[".venv"])
    assert OWN <= have.keys(), f"editable installs missing: {OWN - have.keys()}"
    extra = {k: v for k, v in have.items() if k not in want and k not in OWN}
    missing = {k: v for k, v in want.items() if k not in have}
    differ = {k: (have[k], v) for k, v in want.items() if k in have and have[k] != v}
    assert not (extra or missing or differ), (
        f".venv differs from requirements/dev.lock — extra: {extra}, missing: {missing}, "
        f"installed vs locked: {differ}. Run `bash scripts/bootstrap.sh`."
    )


@pytest.mark.parametrize("venv", [".venv-gates", ".venv-iam", ".venv-tools"])
def test_tool_venv_equals_its_lock(venv: str) -> None:
    path = REPO / venv
    if not (path / "bin/python").exists():
        pytest.skip(f"{venv} not created (bash scripts/bootstrap.sh --gates)")
    have = installed(path)
    want = locked(LOCKS[venv])
    # The tools venv is made by `python -m venv`, so it keeps the pip it was born with; uv is the lock.
    if venv == ".venv-tools":
        have.pop("pip", None)
        have.pop("setuptools", None)
    assert have == want, f"{venv} differs from {LOCKS[venv].name}: {set(have.items()) ^ set(want.items())}"


def _direct_requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for every range the project declares."""
    reqs: list[tuple[str, Requirement]] = []
    for pyproject, extras in ((REPO / "pyproject.toml", ("dev",)), (REPO / "sdk/pyproject.toml", ())):
        project = tomllib.loads(pyproject.read_text())["project"]
        for spec in project["dependencies"]:
            reqs.append((f"{pyproject.relative_to(REPO)}", Requirement(spec)))
        for extra in extras:
            for spec in project["optional-dependencies"][extra]:
                reqs.append((f"{pyproject.relative_to(REPO)} [{extra}]", Requirement(spec)))
    return reqs


def _in_file(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


@pytest.mark.parametrize(
    ("source", "lock"),
    [
        ("pyproject", "requirements/dev.lock"),
        ("requirements/build.in", "requirements/dev.lock"),
        ("requirements/checkov.in", "requirements/checkov.lock"),
        ("requirements/iam.in", "requirements/iam.lock"),
        ("requirements/tools.in", "requirements/tools.lock"),
        ("policy/requirements.in", "policy/requirements.txt"),
    ],
)
def test_lock_satisfies_declared_ranges(source: str, lock: str) -> None:
    """A range edited without relocking fails here: the lock must hold a version inside every range."""
    pins = locked(REPO / lock)
    reqs = _direct_requirements() if source == "pyproject" else [(source, r) for r in _in_file(REPO / source)]
    for where, req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"{where}: {req} is not in {lock}; run `bash scripts/update-deps.sh --no-upgrade`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{where}: {req} but {lock} pins {pins[name]}; run `bash scripts/update-deps.sh --no-upgrade`"
        )


def test_locks_honour_refused_versions() -> None:
    """requirements/constraints.txt lists versions the project refuses (with reasons); no lock may hold one."""
    refused = _in_file(REPO / "requirements/constraints.txt")
    assert refused, "constraints.txt lists no refusal"
    for lock in [*LOCKS.values(), REPO / "policy/requirements.txt"]:
        pins = locked(lock)
        for req in refused:
            version = pins.get(canonicalize_name(req.name))
            if version is not None:
                assert req.specifier.contains(version), f"{lock.name} pins {req.name}=={version}, refused by {req}"
