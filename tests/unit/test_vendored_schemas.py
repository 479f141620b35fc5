"""The vendored Kubernetes schemas (tests/data/k8s) are byte for byte what their SOURCES.md row records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "k8s"
ROW = re.compile(r"^\| (?P<file>[\w.-]+\.(?:json|yaml)) \|.*\| (?P<sha>[0-9a-f]{64}) \|$", re.MULTILINE)


def test_every_vendored_file_has_a_provenance_row_with_its_checksum():
    rows = {m["file"]: m["sha"] for m in ROW.finditer((DATA / "SOURCES.md").read_text())}
    files = {p.name for p in DATA.iterdir() if p.suffix in (".json", ".yaml")}
    assert files and files == set(rows), f"files {sorted(files)} vs SOURCES.md rows {sorted(rows)}"
    for name, sha in rows.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == sha, f"{name} differs from its recorded copy"
