"""Test doubles for `strata serve`: a fake Kubernetes ``CustomObjectsApi`` (there is no API server here), a Metaflow
reader over an in-memory table of runs, and a team profile on disk."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from strata.serve.artifact import Fetched, check_pathspec, dump, kind_of, model_problem
from strata.serve.manifests import ServeProblem
from strata.serve.team import Team

BUCKET = "strata-dev-datastore"
ROOTS = {team: f"s3://{BUCKET}/teams/{team}/metaflow" for team in ("fraud", "forecasting")}


def write_profile(home: Path, team: str, env: str = "dev", namespace: bool = True) -> None:
    profile = {
        "METAFLOW_STRATA_TEAM": team,
        "METAFLOW_DATASTORE_SYSROOT_S3": ROOTS[team],
        "METAFLOW_DEFAULT_DATASTORE": "s3",
    }
    if namespace:
        profile["METAFLOW_KUBERNETES_NAMESPACE"] = f"team-{team}"
    home.mkdir(parents=True, exist_ok=True)
    (home / f"config_{env}-{team}.json").write_text(json.dumps(profile))


class FakeCustomObjects:
    """The five ``CustomObjectsApi`` calls `strata serve` makes, on a dict; errors as the real client raises them."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (namespace, plural, name) -> object
        self.calls: list[tuple[str, str, str]] = []
        self.version = 0

    def _key(self, namespace: str, plural: str, name: str, group: str, version: str) -> tuple[str, str, str]:
        assert (group, version) == ("mlops.seldon.io", "v1alpha1"), (group, version)
        return namespace, plural, name

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, body["metadata"]["name"], group, version)
        self.calls.append(("create", plural, key[2]))
        if key in self.objects:
            raise ApiException(status=409, reason="Conflict")
        self.version += 1
        self.objects[key] = {**copy.deepcopy(body), "metadata": {**body["metadata"], "resourceVersion": str(self.version)}}
        return self.objects[key]

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, name, group, version)
        if key not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.objects[key])

    def replace_namespaced_custom_object(self, group, version, namespace, plural, name, body):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, name, group, version)
        self.calls.append(("replace", plural, name))
        current = self.objects.get(key)
        if current is None:
            raise ApiException(status=404, reason="Not Found")
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        self.version += 1
        self.objects[key] = {**copy.deepcopy(body), "metadata": {**body["metadata"], "resourceVersion": str(self.version)}}
        return self.objects[key]

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, name, group, version)
        self.calls.append(("delete", plural, name))
        if key not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        del self.objects[key]
        return {}

    def list_namespaced_custom_object(self, group, version, namespace, plural, label_selector=""):  # noqa: ANN001, ANN201
        label, _, value = label_selector.partition("=")
        items = [
            copy.deepcopy(o)
            for (ns, p, _), o in self.objects.items()
            if ns == namespace and p == plural and (not label or o["metadata"].get("labels", {}).get(label) == value)
        ]
        return {"items": items}

    def get_namespaced_custom_object_scale(self, group, version, namespace, plural, name):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, name, group, version)
        if key not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return {"spec": {"replicas": self.objects[key]["spec"].get("replicas", 1)}}

    def patch_namespaced_custom_object_scale(self, group, version, namespace, plural, name, body):  # noqa: ANN001, ANN201
        key = self._key(namespace, plural, name, group, version)
        self.calls.append(("scale", plural, name))
        if key not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        self.objects[key]["spec"]["replicas"] = body["spec"]["replicas"]
        return {"spec": body["spec"]}

    def add_server(self, namespace: str, replicas: int = 0) -> None:
        """The team's Server as the platform declares it (modules/serving: 0 replicas)."""
        self.objects[(namespace, "servers", "mlserver")] = {"metadata": {"name": "mlserver"}, "spec": {"replicas": replicas}}

    def names(self, plural: str) -> list[str]:
        return sorted(name for (_, p, name) in self.objects if p == plural)


class FakeRuns:
    """A Metaflow reader over ``runs`` ({FLOW/RUN_ID: (datastore root, {artifact: object})}) with the checks the real
    child process makes (strata.serve.artifact._read_run): run exists, same datastore, artifact exists, is a model."""

    def __init__(self, runs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.runs = runs
        self.calls: list[str] = []

    def __call__(self, team: Team, pathspec: str, artifact: str, out: Path) -> Fetched:
        self.calls.append(pathspec)
        check_pathspec(pathspec)
        if pathspec not in self.runs:
            raise ServeProblem(f"no run {pathspec} in this profile's metadata")
        root, artifacts = self.runs[pathspec]
        if root != team.datastore_root:
            raise ServeProblem(
                f"run {pathspec} belongs to another team (its datastore is {root}, yours is {team.datastore_root})"
            )
        if artifact not in artifacts:
            raise ServeProblem(f"run {pathspec} has no artifact {artifact!r}: pass --artifact NAME")
        obj = artifacts[artifact]
        if problem := model_problem(obj, artifact):
            raise ServeProblem(problem)
        out.mkdir(parents=True, exist_ok=True)
        return Fetched(path=dump(obj, artifact, out), pathspec=pathspec, artifact=artifact, kind=kind_of(obj))
