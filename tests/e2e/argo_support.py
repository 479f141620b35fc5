"""Offline validation of what Metaflow's `argo-workflows create --only-json` prints (a WorkflowTemplate), and how to
make it print one as a team's data scientist.

Two validators, neither of which needs a cluster:

- hera 5.27's pydantic models (generated from Argo Workflows 3.7.3's OpenAPI) with extra fields forbidden: they
  catch unknown keys. The models are pydantic v1 classes whose ``Config.extra`` is ``ignore``; ``strict_hera``
  sets every one to ``forbid`` for the duration of a validation and puts them back.
- the argo-workflows 0.47.5 chart's *full* WorkflowTemplate CRD (Argo Workflows v3.7.11), its openAPIV3Schema as a
  JSON schema: it catches wrong types (it does not forbid unknown keys).

Metaflow's JSON has explicit nulls (``fileKeyRef: null``, ...), which neither accepts: they are stripped first.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = "argo-workflows-v3.7.11-workflowtemplates-crd-full.yaml"
# H2 vendors the schemas into tests/data/k8s (with their provenance); until then the shared copy is read.
CRD_PLACES = (REPO / "tests" / "data" / "k8s" / CRD_FILE,)  # vendored with its provenance (SOURCES.md)


def strip_nulls(node: Any) -> Any:
    """``node`` without explicit nulls, at any depth (what the API server does on apply)."""
    if isinstance(node, Mapping):
        return {k: strip_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [strip_nulls(v) for v in node]
    return node


# ---------------------------------------------------------------- hera


@cache
def _hera_models() -> tuple[type, ...]:
    import hera.workflows.models as models
    from hera.shared._pydantic import BaseModel

    found: set[type] = set()
    for info in pkgutil.walk_packages(models.__path__, models.__name__ + "."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found.add(value)
    return tuple(sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}"))


@contextmanager
def strict_hera() -> Iterator[None]:
    """Every hera model forbids extra fields inside the block (pydantic v1 reads ``__config__.extra`` on each
    validation); the previous settings come back after it, so nothing else in the process is affected."""
    from pydantic.v1 import Extra

    models = _hera_models()
    before = {m: m.__config__.extra for m in models}
    try:
        for m in models:
            m.__config__.extra = Extra.forbid
        yield
    finally:
        for m, extra in before.items():
            m.__config__.extra = extra


def hera_errors(doc: Mapping[str, Any]) -> list[str]:
    """Why hera's strict WorkflowTemplate model refuses ``doc`` (empty when it validates). Nulls are not stripped
    here: callers strip them (``strip_nulls``) so that a test can show what they would do."""
    from hera.workflows.models import WorkflowTemplate
    from pydantic.v1 import ValidationError

    with strict_hera():
        try:
            WorkflowTemplate.parse_obj(doc)
        except ValidationError as exc:
            return [f"{' -> '.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


# ---------------------------------------------------------------- the CRD


def crd_path() -> Path | None:
    return next((p for p in CRD_PLACES if p.exists()), None)


@cache
def _crd_validator() -> Any:
    import jsonschema
    import yaml

    path = crd_path()
    if path is None:
        raise FileNotFoundError(f"{CRD_FILE} is in none of {', '.join(map(str, CRD_PLACES))}")
    crd = yaml.safe_load(path.read_text())
    assert crd["spec"]["names"]["kind"] == "WorkflowTemplate", path
    [version] = [v for v in crd["spec"]["versions"] if v.get("served")]
    return jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])


def crd_errors(doc: Mapping[str, Any]) -> list[str]:
    """Why the argo-workflows 0.47.5 full CRD refuses ``doc`` (empty when it validates)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in _crd_validator().iter_errors(doc)]


# ---------------------------------------------------------------- Metaflow


def only_json(flow: Path, env: Mapping[str, str], cwd: Path, *extra: str) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
    """``python <flow> argo-workflows create --only-json`` with ``env``: the WorkflowTemplate it prints (nothing is
    deployed; the code package is uploaded to the profile's S3 datastore) and the finished process."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(flow), "--no-pylint", "argo-workflows", "create", "--only-json", *extra],
        cwd=cwd,
        env=dict(env),
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"argo-workflows create --only-json failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout[proc.stdout.index("{") :]), proc


def pod_templates(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The templates that start a pod (a container or a script), by name."""
    return {t["name"]: t for t in doc["spec"]["templates"] if t.get("container") or t.get("script")}


def environment(template: Mapping[str, Any]) -> dict[str, Any]:
    container = template.get("container") or template.get("script") or {}
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def values(node: Any, key: str) -> list[Any]:
    """Every value of ``key`` at any depth."""
    found = []
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found += values(v, key)
    elif isinstance(node, list):
        for v in node:
            found += values(v, key)
    return found


def clean_env(base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The caller's environment without Metaflow or AWS settings that would override a profile."""
    return {k: v for k, v in base.items() if not k.startswith(("METAFLOW_", "AWS_", "KUBECONFIG"))}
