"""The licence both pyproject files declare ships as the unmodified Apache License 2.0 text: LICENSE at
the root, and sdk/LICENSE for the SDK's own distribution (setuptools >= 77 picks up LICEN[CS]E* next to
pyproject.toml by default, PEP 639)."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt (the text shipped by e.g. s3transfer's wheel).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


@pytest.mark.parametrize("project", [".", "sdk"])
def test_the_declared_license_ships_beside_its_pyproject(project):
    pyproject = tomllib.loads((REPO / project / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0", f"{project}/pyproject.toml"
    license_file = REPO / project / "LICENSE"
    assert license_file.is_file(), f"{license_file.relative_to(REPO)} is missing"
    text = license_file.read_text()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"], text[:200]
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License to your work." in text
    assert hashlib.sha256(license_file.read_bytes()).hexdigest() == APACHE_2_0_SHA256, (
        f"{license_file.relative_to(REPO)} is not the unmodified Apache License 2.0 text"
    )
