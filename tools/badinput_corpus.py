"""The bad-input corpus (``tests/badinput/cases/``): each case a malformed stack or team file, applied as an
overlay on a copy of the repository's real ``Pulumi.yaml`` and ``stacks/``. Shared by the corpus's tests
(``tests/badinput/test_badinput.py``, which documents a case's files) and the troubleshooting page
(``tools/troubleshooting.py``, which shows what each case prints).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import yaml

from infra.config import load_from_files
from modules.compute.settings import BATCH_MAX_JOB_QUEUES, queues_for

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = REPO / "tests" / "badinput" / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "expect.yaml").exists()) if CASES_DIR.is_dir() else []
PATCH_SUFFIX = ".patch.yaml"


def expectation(case: str) -> dict[str, Any]:
    return yaml.safe_load((CASES_DIR / case / "expect.yaml").read_text())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _rename(doc: dict[str, Any], old: str, new: str) -> None:
    *path, last = old.split(".")
    node = doc
    for part in path:
        node = node[part]
    value = node.pop(last)
    *path, last = new.split(".")
    node = doc
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value


def _dump(path: Path, doc: Any) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def build_overlay(case: str, root: Path) -> Path:
    """The repository's Pulumi.yaml, stacks/ and infra/__main__.py under ``root``, with the case applied."""
    expect = expectation(case)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", root / "stacks")
    # The entry point only: it locates stacks/ from its own path, while the infra package itself is
    # imported from the installed repository.
    (root / "infra").mkdir()
    shutil.copy(REPO / "infra" / "__main__.py", root / "infra" / "__main__.py")
    for rel in expect.get("remove", []):
        (root / rel).unlink()
    for new, real in (expect.get("copy") or {}).items():
        shutil.copy(REPO / real, root / new)
    for rel, moves in (expect.get("rename") or {}).items():
        doc = yaml.safe_load((root / rel).read_text())
        for old, new in moves.items():
            _rename(doc, old, new)
        _dump(root / rel, doc)
    if gen := expect.get("generate_teams"):
        _generate_teams(root, expect["stack"], gen)
    for src in sorted((CASES_DIR / case).rglob("*")):
        rel = src.relative_to(CASES_DIR / case)
        if src.is_dir() or rel.name == "expect.yaml":
            continue
        if rel.name.endswith(PATCH_SUFFIX):
            target = root / rel.with_name(rel.name.removesuffix(PATCH_SUFFIX) + ".yaml")
            doc = merge_patch(yaml.safe_load(target.read_text()), yaml.safe_load(src.read_text()))
            _dump(target, doc)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / rel)
    return root


def _generate_teams(root: Path, stack: str, gen: dict[str, Any]) -> None:
    """Copies of a real team file (``like``, patched with ``patch``) until the stack needs more job
    queues than AWS Batch allows in a region. GPU-entitled copies (two queues each) reach the queue
    limit with fewer teams than any per-team limit (e.g. Redshift's 50 roles per warehouse)."""
    template = merge_patch(yaml.safe_load((REPO / gen["like"]).read_text()), gen.get("patch") or {})
    platform = load_from_files(REPO, stack)
    env = template["environments"][stack]
    like = dataclasses.replace(platform.teams[0], gpu_max_vcpus=env.get("gpuMaxVcpus", 0))
    queues = sum(len(queues_for(platform.settings.compute, t)) for t in platform.teams)
    i = 0
    while queues <= BATCH_MAX_JOB_QUEUES:
        _dump(root / "stacks" / "teams" / f"gen{i:02d}.yaml", {**template, "team": f"gen{i:02d}"})
        queues += len(queues_for(platform.settings.compute, like))
        i += 1
