"""The team ``strata serve`` acts as: its Metaflow profile (``strata configure`` installed it).

The profile is ``$METAFLOW_PROFILE``, or ``<env>-<team>`` from ``--env``/``--team`` (``--team`` alone keeps the
environment of ``$METAFLOW_PROFILE``). From it: the team (``METAFLOW_STRATA_TEAM``), the bucket and the run's datastore
root (``METAFLOW_DATASTORE_SYSROOT_S3``), the namespace (``METAFLOW_KUBERNETES_NAMESPACE``) and the kube context
``strata-<env>-<team>`` that ``strata configure`` wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from strata import kubeconfig, profiles
from strata.serve.manifests import ServeProblem, Target

TEAM_KEY = "METAFLOW_STRATA_TEAM"
SYSROOT_KEY = "METAFLOW_DATASTORE_SYSROOT_S3"
NAMESPACE_KEY = kubeconfig.NAMESPACE_KEY


@dataclass(frozen=True)
class Team:
    profile: str  # <env>-<team>
    env: str
    team: str
    bucket: str
    datastore_root: str  # s3://<bucket>/teams/<team>/metaflow
    namespace: str | None  # None: the environment has no Kubernetes layer
    settings: Mapping[str, str]

    @property
    def context(self) -> str:
        return kubeconfig.context_name(self.env, self.team)

    def target(self) -> Target:
        if not self.namespace:
            raise ServeProblem(
                f"profile {self.profile} has no {NAMESPACE_KEY}: environment {self.env!r} has no Kubernetes layer, so "
                "nothing can be served there; use `strata serve local` here, or ask the platform team"
            )
        return Target(team=self.team, bucket=self.bucket, namespace=self.namespace)


def profile_name(env: str | None, team: str | None, environ: Mapping[str, str] = os.environ) -> str:
    current = environ.get("METAFLOW_PROFILE") or ""
    if team:
        env = env or current.partition("-")[0]
        if not env:
            raise ServeProblem(f"which environment is team {team!r} in? pass --env (e.g. --env dev) or set METAFLOW_PROFILE")
        return profiles.profile_name(env, team)
    if env:
        raise ServeProblem("--env needs --team (e.g. --env dev --team fraud)")
    if not current:
        raise ServeProblem("which team? set METAFLOW_PROFILE=<env>-<team> (e.g. dev-fraud) or pass --team")
    return current


def load(env: str | None = None, team: str | None = None, home: Path | None = None) -> Team:
    """The team of profile ``<env>-<team>`` (or ``$METAFLOW_PROFILE``); a :class:`ServeProblem` says what to run when
    the profile is missing or lacks a key."""
    name = profile_name(env, team)
    if problem := profiles.missing_profile(name, home):
        raise ServeProblem(problem)
    settings = json.loads(profiles.profile_path(name, home).read_text())
    missing = [k for k in (TEAM_KEY, SYSROOT_KEY) if not settings.get(k)]
    if missing:
        raise ServeProblem(f"profile {name} lacks {', '.join(missing)}: {profiles.refresh_hint(name)}")
    root = settings[SYSROOT_KEY].rstrip("/")
    parts = urlsplit(root)
    if parts.scheme != "s3" or not parts.netloc:
        raise ServeProblem(f"profile {name}: {SYSROOT_KEY}={root!r} is not an s3:// URL; {profiles.refresh_hint(name)}")
    profile_env = name.partition("-")[0]
    return Team(
        profile=name,
        env=profile_env,
        team=settings[TEAM_KEY],
        bucket=parts.netloc,
        datastore_root=root,
        namespace=settings.get(NAMESPACE_KEY) or None,
        settings=settings,
    )


def same_datastore(run_root: str, team: Team) -> bool:
    """True when a run's datastore root (``ds-root`` of its tasks) is the team's own."""
    return run_root.rstrip("/") == team.datastore_root
