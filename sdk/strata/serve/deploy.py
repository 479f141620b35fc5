"""``strata serve deploy``: every check first, then the upload, then the manifests (applied or written).

:func:`plan` validates everything that can be wrong (name, weight, run, team, artifact, versions, the output
directory) and reads the artifact into a local working directory; it writes nothing to S3 or the cluster. Only
:func:`execute` writes: the version's folder in S3, then the Model (and Experiment), applied or written as YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from strata.serve import store
from strata.serve.artifact import Fetched, Fetcher, check_pathspec
from strata.serve.cluster import Cluster, current_version, ensure_server
from strata.serve.manifests import (
    ServeProblem,
    check_name,
    check_weights,
    manifest_file,
    model_name,
    model_settings,
    next_version,
    render_experiment,
    render_model,
    split,
)
from strata.serve.team import Team


@dataclass(frozen=True)
class Plan:
    team: Team
    name: str
    version: int
    current: int | None  # the version serving now (the canary's default), None for a first deployment
    weight: int | None
    fetched: Fetched
    settings: dict[str, Any]
    documents: list[dict[str, Any]]


def check_output_dir(out: Path | None, dry_run: bool) -> None:
    if dry_run and out is None:
        raise ServeProblem("--dry-run needs -o DIR: the directory the manifests are written to")
    if out is not None and not dry_run:
        raise ServeProblem("-o DIR is for --dry-run only: without it the manifests are applied to the cluster")
    if out is not None and out.exists() and not out.is_dir():
        raise ServeProblem(f"-o {out}: exists and is not a directory")


def plan(
    team: Team,
    name: str,
    pathspec: str,
    artifact: str,
    weight: int | None,
    s3: Any,
    fetcher: Fetcher,
    workdir: Path,
    cluster: Cluster | None = None,
) -> Plan:
    """Validate the deployment and read the artifact (into ``workdir``); nothing is written to S3 or the cluster.

    The current version is what the cluster serves (``cluster``), or, for a dry run, the highest version in S3."""
    check_name(name)
    if weight is not None:
        split(weight)
    check_pathspec(pathspec)
    target = team.target()
    existing = store.versions(s3, target.bucket, target.team, name)
    version = next_version(existing)
    check_name(name, version)
    if cluster is not None:
        current = current_version(cluster, name)
    else:
        current = max(existing) if existing else None
    if weight is not None and current is None:
        where = (
            f"in namespace {target.namespace}" if cluster is not None else f"in s3://{target.bucket}/teams/{target.team}/models/"
        )
        raise ServeProblem(
            f"no current version of {name!r} {where} to split traffic with: deploy it first without --canary-weight"
        )
    fetched = fetcher(team, pathspec, artifact, workdir)
    documents = [render_model(target, name, version)]
    if weight is not None and current is not None:
        experiment = render_experiment(target, name, current, version, weight)
        check_weights(experiment["spec"]["candidates"])
        documents.append(experiment)
    return Plan(team, name, version, current, weight, fetched, model_settings(name, version), documents)


def to_yaml(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False)


def execute(plan: Plan, s3: Any, out: Path | None = None, cluster: Cluster | None = None) -> list[str]:
    """Upload the version, then write the manifests to ``out`` or apply them with ``cluster``; what was done."""
    if out is None and cluster is None:
        raise ServeProblem("nowhere to put the manifests: give -o DIR with --dry-run, or a cluster")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)  # before the upload: an unwritable DIR leaves S3 untouched
    target = plan.team.target()
    uri = store.upload(s3, target.bucket, target.team, plan.name, plan.version, plan.fetched.path, plan.settings)
    done = [f"uploaded {plan.fetched.pathspec} {plan.fetched.artifact} ({plan.fetched.kind}) as version {plan.version}: {uri}"]
    for doc in plan.documents:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if out is not None:
            path = out / manifest_file(doc)
            path.write_text(to_yaml(doc))
            done.append(f"wrote {kind} {name} to {path}")
        else:
            assert cluster is not None
            done.append(f"{kind} {name} {cluster.apply(doc)} in namespace {cluster.namespace}")
    if cluster is not None and out is None and (started := ensure_server(cluster)):
        done.append(started)
    if plan.weight is not None and plan.current is not None:
        done.append(
            f"canary: {model_name(plan.name, plan.version)} gets {plan.weight}% of the requests, "
            f"{model_name(plan.name, plan.current)} {100 - plan.weight}%"
        )
    return done


def read_manifests(directory: Path) -> list[dict[str, Any]]:
    """The objects ``--dry-run -o DIR`` wrote (one per YAML file)."""
    if not directory.is_dir():
        raise ServeProblem(f"{directory} is not a directory of manifests written by `strata serve deploy --dry-run -o`")
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ServeProblem(f"{path} is not YAML: {exc}") from None
        if isinstance(doc, dict) and doc.get("kind") in ("Model", "Experiment"):
            docs.append(doc)
    return docs
