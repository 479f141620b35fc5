"""Offline validation against the Seldon Core v2.6.0 CRDs (the last Apache-2.0 v2 release; the platform pins it).

The CRD files are vendored with their provenance in tests/data/k8s/ (SOURCES.md); the shared copy
(../shared/data/k8s/) is read only where they are not (yet) vendored. The CRDs catch wrong types and missing required
fields; they do not check that Experiment weights sum to 100 (strata.serve.manifests.check_weights does).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
PLACES = (REPO / "tests" / "data" / "k8s", REPO.parent / "shared" / "data" / "k8s")
KINDS = {"models": "Model", "experiments": "Experiment"}


def crd_path(plural: str) -> Path:
    name = f"seldon-v2.6.0-{plural}.yaml"
    for place in PLACES:
        if (place / name).exists():
            return place / name
    raise FileNotFoundError(f"{name} is in none of {', '.join(map(str, PLACES))}")


@cache
def validator(plural: str) -> Any:
    crd = yaml.safe_load(crd_path(plural).read_text())
    assert crd["spec"]["group"] == "mlops.seldon.io" and crd["spec"]["names"]["kind"] == KINDS[plural]
    [version] = [v for v in crd["spec"]["versions"] if v.get("served")]
    assert version["name"] == "v1alpha1"
    return jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])


def crd_errors(plural: str, doc: Any) -> list[str]:
    """Why the Seldon v2.6.0 CRD of ``plural`` refuses ``doc`` (empty when it validates)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator(plural).iter_errors(doc)]
