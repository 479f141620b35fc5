"""The architecture gate, as tests: file size, the import contracts, and a program that never sees mocks.

* No non-test Python file in the platform's folders is over ``MAX_LINES``: a file that big holds more
  than one idea (split it by what it declares: a layer's front doors are child components, a local-cloud
  service's handlers are one module per resource family).
* ``lint-imports`` passes: the contracts in pyproject.toml ``[tool.importlinter]`` (imports run one way:
  tools -> local cloud -> composition root -> layers -> core; layers are independent; the SDK stands alone).
* Nothing under ``infra/`` or ``modules/`` imports ``pulumi.runtime.mocks`` or names ``MockMonitor``:
  the program declares the same resources whoever runs it (``pulumi up``, the unit tests' mocks, the local
  cloud), so what the tests and the local cloud prove is what AWS gets.
Each check is shown failing on a deliberately bad input, so none passes by checking nothing.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Folders whose Python files are the platform (tests/ and examples/ are not held to the size rule).
SOURCE_DIRS = ("core", "infra", "modules", "localcloud", "tools", "sdk", "benchmarks", "scripts", "security", "policy")
MAX_LINES = 700
# Folders that hold the Pulumi program (the composition root and the layers).
PROGRAM_DIRS = ("infra", "modules")


def python_files(dirs: tuple[str, ...], root: Path = REPO) -> list[Path]:
    out = []
    for d in dirs:
        for path in sorted((root / d).rglob("*.py")):
            rel = path.relative_to(root).parts
            # Virtualenvs (security/ keeps the scanners' own venvs there), caches and tests inside a package.
            if any(p.startswith(".") or p in ("__pycache__", "tests", "build") or p.endswith(".egg-info") for p in rel):
                continue
            out.append(path)
    return out


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(dirs: tuple[str, ...], root: Path = REPO, limit: int = MAX_LINES) -> list[str]:
    """``"<path>: <n> lines"`` for every file in ``dirs`` over ``limit`` lines, largest first."""
    counts = [(line_count(p), p.relative_to(root).as_posix()) for p in python_files(dirs, root)]
    return [f"{path}: {n} lines" for n, path in sorted(counts, reverse=True) if n > limit]


# ---------------------------------------------------------------- file size


def test_the_size_rule_sees_the_platform():
    files = python_files(SOURCE_DIRS)
    paths = {p.relative_to(REPO).as_posix() for p in files}
    assert {"infra/__main__.py", "core/naming.py", "localcloud/engine.py", "tools/guards.py"} <= paths
    assert len(files) > 50, f"only {len(files)} files found under {SOURCE_DIRS}"


def test_no_source_file_is_over_the_limit():
    found = oversized(SOURCE_DIRS)
    assert not found, f"Python files over {MAX_LINES} lines (split each by what it declares or handles):\n  " + "\n  ".join(found)


def test_the_size_rule_names_an_oversized_file(tmp_path):
    """Positive control: a file one line over the limit is named with its count; one at the limit is not."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "infra" / "fine.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "infra" / ".venv").mkdir()
    (tmp_path / "infra" / ".venv" / "vendored.py").write_text("x = 1\n" * 5000)
    assert oversized(("infra",), tmp_path) == [f"infra/big.py: {MAX_LINES + 1} lines"]


# ---------------------------------------------------------------- import contracts


def lint_imports_command() -> list[str] | None:
    """The venv's ``lint-imports`` (beside this interpreter), else one on PATH; None when neither exists."""
    beside = Path(sys.executable).with_name("lint-imports")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("lint-imports")
    return [found] if found else None


def test_import_contracts_hold():
    command = lint_imports_command()
    if command is None:
        pytest.skip("lint-imports is not installed (import-linter, in the dev extras: pip install -e '.[dev]')")
    # --no-cache: a stale cache in .import_linter_cache must never hide a broken contract.
    result = subprocess.run([*command, "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        "import contracts broken (pyproject.toml [tool.importlinter]):\n" + result.stdout[-6000:] + result.stderr[-2000:]
    )


# ---------------------------------------------------------------- the program never detects mocks


def mock_references(path: Path) -> list[str]:
    """Where ``path`` imports ``pulumi.runtime.mocks`` (any spelling) or names ``MockMonitor``: ``"<line>: <what>"``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.startswith("pulumi.runtime.mocks")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("pulumi.runtime.mocks"):
                found.append(f"{node.lineno}: from {node.module} import ...")
            elif node.module == "pulumi.runtime" and any(a.name == "mocks" for a in node.names):
                found.append(f"{node.lineno}: from pulumi.runtime import mocks")
    for lineno, line in enumerate(text.splitlines(), 1):
        if "MockMonitor" in line or "runtime.mocks" in line:
            found.append(f"{lineno}: {line.strip()}")
    return sorted(set(found), key=lambda s: int(s.split(":", 1)[0]))


def test_the_program_never_refers_to_mocks():
    files = python_files(PROGRAM_DIRS)
    assert len(files) > 20, f"only {len(files)} program files found under {PROGRAM_DIRS}"
    found = {p.relative_to(REPO).as_posix(): refs for p in files if (refs := mock_references(p))}
    listing = "\n".join(f"  {path}:\n    " + "\n    ".join(refs) for path, refs in found.items())
    assert not found, (
        "the program must declare the same resources whoever runs it; these files refer to Pulumi's mocks:\n" + listing
    )


@pytest.mark.parametrize(
    "source",
    [
        "import pulumi.runtime.mocks\n",
        "from pulumi.runtime.mocks import MockMonitor\n",
        "from pulumi.runtime import mocks\n",
        "from pulumi import runtime\nif isinstance(runtime.settings.SETTINGS.monitor, runtime.mocks.MockMonitor): pass\n",
        "import pulumi\nIN_TESTS = type(pulumi.runtime.settings.SETTINGS.monitor).__name__ == 'MockMonitor'\n",
    ],
    ids=["import", "from-mocks", "from-runtime", "attribute", "by-name"],
)
def test_the_mock_check_catches_a_reference(source, tmp_path):
    """Positive control: every way a program could look for the mocks is found."""
    path = tmp_path / "component.py"
    path.write_text(source)
    assert mock_references(path), source


def test_the_mock_check_passes_a_plain_component(tmp_path):
    path = tmp_path / "component.py"
    path.write_text("import pulumi\nfrom pulumi import runtime\nDRY = runtime.is_dry_run()\n# unit-tested without mocks\n")
    assert mock_references(path) == []


def test_the_import_diagram_is_current_and_runs_one_way():
    """docs/architecture.md's diagram is drawn from the code; no arrow runs back up, none joins two layers,
    and there is no cycle (tools/import_graph.py)."""
    from tools import import_graph

    graph = import_graph.build()
    assert graph.violations() == [], graph.violations()
    assert import_graph.main(["--check"]) == 0, "docs/architecture.md's diagram is stale: python -m tools.import_graph --write"


def test_the_import_diagram_check_sees_an_arrow_back_up():
    from tools.import_graph import Graph

    bad = Graph(
        ("infra", "modules.compute", "modules.team", "core"), (("modules.compute", "infra"), ("modules.team", "modules.compute"))
    )
    problems = bad.violations()
    assert "modules.compute -> infra: runs back up" in problems, problems
    assert "modules.team -> modules.compute: one layer imports another" in problems, problems
    assert any(p.startswith("cycle:") for p in Graph(("core", "infra"), (("core", "infra"), ("infra", "core"))).violations())
