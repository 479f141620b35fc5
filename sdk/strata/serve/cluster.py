"""Seldon Models and Experiments in the team's namespace, through the Kubernetes Python client.

The client uses the kube context ``strata configure`` wrote (``strata-<env>-<team>``, in ``$KUBECONFIG`` or
``~/.kube/config``), whatever the current context is: a data scientist with another cluster's context current still
deploys to their team's namespace. The token comes from ``aws eks get-token`` with the caller's credentials, so the
cluster's RBAC (the team's role may manage Seldon objects in its own namespace only) decides, not this code.

Everything goes through a ``CustomObjectsApi``-shaped object: tests inject a fake one (there is no API server here).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from strata import kubeconfig
from strata.serve.manifests import (
    EXPERIMENT_PLURAL,
    MODEL_LABEL,
    MODEL_PLURAL,
    SELDON_GROUP,
    SELDON_VERSION,
    ServeProblem,
    experiment_versions,
    model_name,
    parse_model_name,
)
from strata.serve.team import Team

PLURALS = {"Model": MODEL_PLURAL, "Experiment": EXPERIMENT_PLURAL}
# The team's one MLServer Server (modules/serving: the platform declares it with 0 replicas, so an idle team's
# serving costs nothing; Seldon 2.6 cannot start a Server from zero by itself).
SERVER = "mlserver"
SERVER_PLURAL = "servers"


def connect(team: Team) -> Any:
    """A ``CustomObjectsApi`` for the team's kube context."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig.kubeconfig_path()
    if not path.exists():
        raise ServeProblem(
            f"no kubeconfig at {path}: run `strata configure --env {team.env} --team {team.team}` (it adds the context)"
        )
    try:
        api_client = config.new_client_from_config(config_file=str(path), context=team.context)
    except ConfigException as exc:
        raise ServeProblem(
            f"kube context {team.context} is not usable in {path} ({exc}): run "
            f"`strata configure --env {team.env} --team {team.team}` (add --force to repair it)"
        ) from None
    return client.CustomObjectsApi(api_client)


@contextmanager
def _calling(what: str) -> Iterator[None]:
    """The client's errors as ServeProblems: no traceback, and what to do."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as exc:
        if exc.status in (401, 403):
            raise ServeProblem(
                f"the cluster refused to {what} ({exc.status} {exc.reason}): use your team's data-scientist role"
            ) from None
        if exc.status == 404 and "the server could not find the requested resource" in str(exc.body or ""):
            raise ServeProblem(f"cannot {what}: the cluster has no Seldon CRDs; ask the platform team") from None
        raise ServeProblem(f"the cluster refused to {what}: {exc.status} {exc.reason} {exc.body or ''}".strip()) from None
    except (HTTPError, OSError) as exc:
        raise ServeProblem(
            f"cannot reach the cluster to {what} ({type(exc).__name__}): its API endpoint must be reachable from here "
            "(VPN or a runner in the VPC; modules/kubernetes/README.md, 'Reaching the API')"
        ) from None


def _status(exc: Exception) -> int | None:
    return getattr(exc, "status", None)


@dataclass
class Cluster:
    """The Seldon objects of one namespace."""

    api: Any
    namespace: str

    def _args(self, plural: str) -> dict[str, str]:
        return {"group": SELDON_GROUP, "version": SELDON_VERSION, "namespace": self.namespace, "plural": plural}

    def apply(self, doc: Mapping[str, Any]) -> str:
        """Create ``doc``, or replace the object of its name: "created" or "configured" (as kubectl says)."""
        from kubernetes.client.exceptions import ApiException

        plural, name = PLURALS[doc["kind"]], doc["metadata"]["name"]
        if doc["metadata"].get("namespace") != self.namespace:
            raise ServeProblem(f"{doc['kind']} {name} is for namespace {doc['metadata'].get('namespace')}, not {self.namespace}")
        with _calling(f"apply {doc['kind']} {name} in {self.namespace}"):
            try:
                self.api.create_namespaced_custom_object(body=dict(doc), **self._args(plural))
                return "created"
            except ApiException as exc:
                if exc.status != 409:
                    raise
            current = self.api.get_namespaced_custom_object(name=name, **self._args(plural))
            body = {**doc, "metadata": {**doc["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
            self.api.replace_namespaced_custom_object(name=name, body=body, **self._args(plural))
            return "configured"

    def _get(self, plural: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        with _calling(f"read {plural} {name} in {self.namespace}"):
            try:
                return self.api.get_namespaced_custom_object(name=name, **self._args(plural))
            except ApiException as exc:
                if exc.status == 404 and "the server could not find the requested resource" not in str(exc.body or ""):
                    return None
                raise

    def experiment(self, name: str) -> dict[str, Any] | None:
        return self._get(EXPERIMENT_PLURAL, name)

    def models(self, name: str) -> dict[int, dict[str, Any]]:
        """The versions of ``name`` deployed here, by version (found by the model label, checked by name)."""
        with _calling(f"list models in {self.namespace}"):
            listed = self.api.list_namespaced_custom_object(label_selector=f"{MODEL_LABEL}={name}", **self._args(MODEL_PLURAL))
        found = {}
        for item in listed.get("items", []):
            version = parse_model_name(name, item["metadata"]["name"])
            if version is not None:
                found[version] = item
        return dict(sorted(found.items()))

    def delete(self, kind: str, name: str) -> bool:
        """Delete ``kind`` ``name``; False when it was already gone."""
        from kubernetes.client.exceptions import ApiException

        with _calling(f"delete {kind} {name} in {self.namespace}"):
            try:
                self.api.delete_namespaced_custom_object(name=name, **self._args(PLURALS[kind]))
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise
        return True


def ensure_server(cluster: Cluster) -> str | None:
    """Start the team's Server (0 -> 1 replica, through its scale subresource) if it is stopped: a deployed Model
    waits for a Server replica to load it. What was done, or None when it already runs. The replica runs on the
    team's own nodes, inside its quota, and bills while it runs."""
    from kubernetes.client.exceptions import ApiException

    with _calling(f"read Server {SERVER} in {cluster.namespace}"):
        try:
            scale = cluster.api.get_namespaced_custom_object_scale(name=SERVER, **cluster._args(SERVER_PLURAL))
        except ApiException as exc:
            if exc.status == 404:
                raise ServeProblem(
                    f"no Server {SERVER} in {cluster.namespace}: the environment has no serving layer "
                    "(ask the platform team to set strata:serving.enabled)"
                ) from None
            raise
    if int((scale.get("spec") or {}).get("replicas") or 0) > 0:
        return None
    with _calling(f"start Server {SERVER} in {cluster.namespace}"):
        cluster.api.patch_namespaced_custom_object_scale(
            name=SERVER, body={"spec": {"replicas": 1}}, **cluster._args(SERVER_PLURAL)
        )
    return (
        f"started Server {SERVER} in {cluster.namespace} (1 replica on your team's nodes, billed while it runs; "
        f"`kubectl -n {cluster.namespace} scale server {SERVER} --replicas=0` stops it)"
    )


def current_version(cluster: Cluster, name: str) -> int | None:
    """The version the cluster serves now (the highest deployed), or None; refuses while a canary runs."""
    if cluster.experiment(name) is not None:
        raise ServeProblem(
            f"a canary of {name!r} is running (Experiment {name} in {cluster.namespace}): finish it first with "
            f"`strata serve promote {name}` or `strata serve rollback {name}`"
        )
    deployed = cluster.models(name)
    return max(deployed) if deployed else None


def _canary(cluster: Cluster, name: str, action: str) -> tuple[int, int]:
    experiment = cluster.experiment(name)
    if experiment is None:
        raise ServeProblem(
            f"no canary of {name!r} in {cluster.namespace} (no Experiment {name}): nothing to {action}; "
            f"see `strata serve status {name}`"
        )
    default, candidate, _ = experiment_versions(name, experiment)
    return default, candidate


def _end_canary(cluster: Cluster, name: str, retired: int, serving: str) -> list[str]:
    """Delete the Experiment (traffic goes to its default), then the ``retired`` version's Model; what was done."""
    done = []
    if cluster.delete("Experiment", name):
        done.append(f"deleted Experiment {name}")
    if cluster.delete("Model", model_name(name, retired)):
        done.append(f"deleted Model {model_name(name, retired)}")
    return [*done, serving]


def promote(cluster: Cluster, name: str) -> list[str]:
    """The candidate becomes the only version: delete the Experiment, then the previous version's Model."""
    default, candidate = _canary(cluster, name, "promote")
    return _end_canary(cluster, name, default, f"{model_name(name, candidate)} now serves all requests")


def rollback(cluster: Cluster, name: str) -> list[str]:
    """Back to the current version: delete the Experiment (traffic returns to it), then the candidate's Model."""
    default, candidate = _canary(cluster, name, "roll back")
    return _end_canary(cluster, name, candidate, f"{model_name(name, default)} serves all requests again")


@dataclass(frozen=True)
class VersionStatus:
    version: int
    model: str
    storage_uri: str
    ready: str  # the Model's Ready condition: True, False or unknown
    weight: int | None  # its share in the Experiment, None without one
    message: str


def status(cluster: Cluster, name: str) -> list[VersionStatus]:
    experiment = cluster.experiment(name)
    weights = experiment_versions(name, experiment)[2] if experiment else {}
    rows = []
    for version, item in cluster.models(name).items():
        conditions = {c.get("type"): c for c in (item.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready") or {}
        rows.append(
            VersionStatus(
                version=version,
                model=item["metadata"]["name"],
                storage_uri=(item.get("spec") or {}).get("storageUri", ""),
                ready=str(ready.get("status", "unknown")),
                weight=weights.get(version) if experiment else None,
                message=str(ready.get("message") or ready.get("reason") or ""),
            )
        )
    return rows
