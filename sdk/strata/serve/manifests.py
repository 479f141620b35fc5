"""Pure rules of ``strata serve``: model names, versions, canary weights, and what is rendered (no I/O).

The contract with the platform (modules/serving; mirrored here because the SDK imports no platform code):

- each team namespace has a Seldon ``Server`` named ``mlserver`` and an rclone storage secret ``strata-s3-storage``
  whose remote is named ``s3`` (Seldon matches the ``storageUri`` scheme to the rclone remote's name);
- version ``N`` of model ``NAME`` lives at ``s3://<bucket>/teams/<team>/models/<NAME>/<N>/``: ``model.joblib`` and an
  MLServer ``model-settings.json`` (``mlserver_sklearn.SKLearnModel``, ``uri: ./model.joblib``);
- the Seldon ``Model`` of version ``N`` is named ``<NAME>-v<N>``; a canary is an ``Experiment`` named ``<NAME>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SELDON_GROUP = "mlops.seldon.io"
SELDON_VERSION = "v1alpha1"
API_VERSION = f"{SELDON_GROUP}/{SELDON_VERSION}"
MODEL_PLURAL = "models"
EXPERIMENT_PLURAL = "experiments"
SERVER_NAME = "mlserver"
STORAGE_SECRET = "strata-s3-storage"
# The requirement the Seldon MLServer server advertises for its scikit-learn runtime.
REQUIREMENTS = ("sklearn",)
IMPLEMENTATION = "mlserver_sklearn.SKLearnModel"
ARTIFACT_FILE = "model.joblib"
SETTINGS_FILE = "model-settings.json"

# Labels on every object `strata serve` makes: status, promote and rollback find the model's objects by them.
# The team label mirrors core.naming.TEAM_LABEL.
TEAM_LABEL = "strata.io/team"
MODEL_LABEL = "strata.io/model"
VERSION_LABEL = "strata.io/model-version"
MANAGED_BY = ("app.kubernetes.io/managed-by", "strata-serve")

# Kubernetes object names here are DNS-1123 labels (a Model's name becomes a label value and a host name part).
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 63


class ServeProblem(Exception):
    """A problem the data scientist can fix; the message says how. Raised before anything is written."""


def models_prefix(team: str) -> str:
    """The S3 key prefix of a team's models (under core.naming.team_prefix: ``teams/<team>/``)."""
    return f"teams/{team}/models/"


def version_prefix(team: str, name: str, version: int) -> str:
    return f"{models_prefix(team)}{name}/{version}/"


def storage_uri(bucket: str, team: str, name: str, version: int) -> str:
    # No trailing slash: Seldon's agent copies the folder with rclone (`s3:<bucket>/<key>`).
    return f"s3://{bucket}/{version_prefix(team, name, version).rstrip('/')}"


def model_name(name: str, version: int) -> str:
    return f"{name}-v{version}"


def parse_model_name(name: str, model: str) -> int | None:
    """The version of Seldon Model ``model`` when it is a version of ``name`` (``<name>-v<N>``), else None."""
    match = re.fullmatch(re.escape(name) + r"-v([1-9][0-9]*)", model)
    return int(match.group(1)) if match else None


def name_problem(name: str, version: int = 1) -> str | None:
    """Why ``name`` cannot name a served model (None when it can): it must be a DNS-1123 label and
    ``<name>-v<version>`` must fit the 63-character limit."""
    if not DNS1123_LABEL.match(name):
        return (
            f"model name {name!r} is not a valid Kubernetes name: use lower-case letters, digits and '-', starting and "
            "ending with a letter or digit (e.g. iris or fraud-scorer)"
        )
    longest = model_name(name, max(version, 1))
    if len(longest) > MAX_NAME:
        room = MAX_NAME - len(longest) + len(name)
        return f"model name {name!r} is too long: {longest!r} exceeds {MAX_NAME} characters; use at most {room} characters"
    return None


def check_name(name: str, version: int = 1) -> None:
    if problem := name_problem(name, version):
        raise ServeProblem(problem)


def next_version(existing: Iterable[int]) -> int:
    """The version a new deployment gets: one more than the highest existing one (1 for the first)."""
    return max(existing, default=0) + 1


def weight_problem(weight: int) -> str | None:
    """Why ``weight`` (the canary's share, in percent) is not usable, or None."""
    if isinstance(weight, bool) or not isinstance(weight, int):
        return f"--canary-weight must be a whole number of percent, got {weight!r}"
    if not 0 < weight < 100:
        return (
            f"--canary-weight {weight} is out of range: give a whole number between 1 and 99 (the share of requests "
            "the new version gets; the current version keeps the rest)"
        )
    return None


def split(weight: int) -> tuple[int, int]:
    """(current, candidate) weights for a canary of ``weight`` percent; they always sum to 100."""
    if problem := weight_problem(weight):
        raise ServeProblem(problem)
    return 100 - weight, weight


def check_weights(candidates: Iterable[Mapping[str, Any]]) -> None:
    """Seldon's Experiment CRD checks neither the range nor the sum of the weights: we do."""
    candidates = list(candidates)
    weights = [c.get("weight") for c in candidates]
    if len(candidates) < 2:
        raise ServeProblem(f"an experiment needs two candidates, got {len(candidates)}")
    if not all(isinstance(w, int) and not isinstance(w, bool) and 0 < w < 100 for w in weights):
        raise ServeProblem(f"experiment weights must be whole numbers between 1 and 99, got {weights}")
    if sum(w for w in weights if isinstance(w, int)) != 100:
        raise ServeProblem(f"experiment weights must sum to 100, got {weights} (sum {sum(weights)})")  # type: ignore[arg-type]


def labels(team: str, name: str, version: int | None = None) -> dict[str, str]:
    out = {TEAM_LABEL: team, MODEL_LABEL: name, MANAGED_BY[0]: MANAGED_BY[1]}
    if version is not None:
        out[VERSION_LABEL] = str(version)
    return out


def model_settings(name: str, version: int) -> dict[str, Any]:
    """The MLServer model-settings.json stored beside the artifact (Seldon's MLServer reads it from the folder)."""
    return {
        "name": model_name(name, version),
        "implementation": IMPLEMENTATION,
        "parameters": {"uri": f"./{ARTIFACT_FILE}", "version": f"v{version}"},
    }


@dataclass(frozen=True)
class Target:
    """Where a team's models go: from its profile."""

    team: str
    bucket: str
    namespace: str


def render_model(target: Target, name: str, version: int) -> dict[str, Any]:
    check_name(name, version)
    return {
        "apiVersion": API_VERSION,
        "kind": "Model",
        "metadata": {
            "name": model_name(name, version),
            "namespace": target.namespace,
            "labels": labels(target.team, name, version),
        },
        "spec": {
            "storageUri": storage_uri(target.bucket, target.team, name, version),
            "secretName": STORAGE_SECRET,
            "requirements": list(REQUIREMENTS),
            "server": SERVER_NAME,
        },
    }


def render_experiment(target: Target, name: str, current: int, candidate: int, weight: int) -> dict[str, Any]:
    """The canary: ``weight`` percent of the requests for the current version's model go to ``candidate``.

    Seldon routes the requests sent to the ``default`` model through the experiment while it exists."""
    check_name(name, max(current, candidate))
    keep, give = split(weight)
    candidates = [
        {"name": model_name(name, current), "weight": keep},
        {"name": model_name(name, candidate), "weight": give},
    ]
    check_weights(candidates)
    return {
        "apiVersion": API_VERSION,
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": target.namespace, "labels": labels(target.team, name)},
        "spec": {"default": model_name(name, current), "candidates": candidates},
    }


def manifest_file(doc: Mapping[str, Any]) -> str:
    """The file ``--dry-run -o DIR`` writes ``doc`` to: one YAML per object."""
    return f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"


def experiment_versions(name: str, experiment: Mapping[str, Any]) -> tuple[int, int, dict[int, int]]:
    """(default version, candidate version, weight by version) of an Experiment `strata serve` rendered."""
    spec = experiment.get("spec") or {}
    candidates = spec.get("candidates") or []
    check_weights(candidates)
    weights: dict[int, int] = {}
    for c in candidates:
        version = parse_model_name(name, str(c.get("name")))
        if version is None:
            raise ServeProblem(f"experiment {name!r} routes to {c.get('name')!r}, which is not a version of {name!r}")
        weights[version] = c["weight"]
    default = parse_model_name(name, str(spec.get("default")))
    others = [v for v in weights if v != default]
    if default is None or default not in weights or len(others) != 1:
        raise ServeProblem(f"experiment {name!r} is not a two-version canary made by `strata serve deploy --canary-weight`")
    return default, others[0], weights
