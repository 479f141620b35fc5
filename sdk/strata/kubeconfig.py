"""The team's kubeconfig context: what ``strata configure`` adds when the environment has the Kubernetes layer.

Metaflow's ``@kubernetes`` and ``argo-workflows create`` talk to the cluster with the kubeconfig's *current*
context (``kubernetes.config.load_kube_config()``). For a profile that names an EKS cluster
(``METAFLOW_STRATA_EKS_CLUSTER``) this module writes three entries, named after the environment and team, the
way ``aws eks update-kubeconfig`` does:

- cluster ``strata-<env>``: the API endpoint and the cluster's CA certificate (public data: from the profile, or,
  when the profile leaves them out, from ``eks:DescribeCluster`` with the caller's credentials);
- user ``strata-<env>-<team>``: an ``exec`` credential plugin running ``aws eks get-token`` with the caller's
  own AWS credentials (``AWS_PROFILE`` as it was at configure time, when set). The profile does not name the
  team's data-scientist role, so no ``--role-arn`` is added: whoever runs kubectl or Metaflow must be that role
  (the one the cluster's access entry maps to the team's namespace), exactly as for ``strata configure`` itself;
- context ``strata-<env>-<team>``: that cluster and user, default namespace = the team's.

They are merged into ``$KUBECONFIG`` (its first file) or ``~/.kube/config``; every other cluster, context and user
is kept. An entry of the same name that differs is replaced only with ``force`` (as the profile file is). Nothing
is backed up: the file is rewritten atomically, owner-only. The current context is set only when there is none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from strata.profiles import ProfileProblem, _reading

# The profile keys (core.profile._kubernetes_keys); Metaflow ignores the METAFLOW_STRATA_* ones.
CLUSTER_KEY = "METAFLOW_STRATA_EKS_CLUSTER"
ENDPOINT_KEY = "METAFLOW_STRATA_EKS_ENDPOINT"
CA_KEY = "METAFLOW_STRATA_EKS_CA_DATA"
REGION_KEY = "METAFLOW_STRATA_EKS_REGION"
NAMESPACE_KEY = "METAFLOW_KUBERNETES_NAMESPACE"
REQUIRED_KEYS = (CLUSTER_KEY, REGION_KEY, NAMESPACE_KEY)
# When the profile leaves these out (the CA certificate alone is about 1,400 characters, a third of what a Standard
# SSM parameter holds), they are read from EKS with the caller's credentials, as `aws eks update-kubeconfig` does.
CLUSTER_DATA_KEYS = (ENDPOINT_KEY, CA_KEY)

# What `aws eks get-token` prints (ExecCredential); kubectl and the kubernetes Python client accept it.
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


def context_name(env: str, team: str) -> str:
    return f"strata-{env}-{team}"


def cluster_entry_name(env: str) -> str:
    # Mirrors core.naming.eks_cluster: one cluster per environment.
    return f"strata-{env}"


def kubeconfig_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where kubectl writes new entries: the first file of ``$KUBECONFIG``, else ``~/.kube/config``."""
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return Path(listed[0]).expanduser() if listed else Path("~/.kube/config").expanduser()


@dataclass(frozen=True)
class Entries:
    """The three named entries of a team's context."""

    context: str
    cluster: dict[str, Any]  # {"name": ..., "cluster": {...}}
    user: dict[str, Any]
    context_entry: dict[str, Any]
    namespace: str

    def by_section(self) -> dict[str, dict[str, Any]]:
        return {"clusters": self.cluster, "users": self.user, "contexts": self.context_entry}


def describe_cluster(name: str, region: str, team: str) -> tuple[str, str]:
    """The cluster's API endpoint and CA certificate (base64), from ``eks:DescribeCluster`` with the caller's
    credentials."""
    not_found = f"no EKS cluster {name!r} in {region}: ask the platform team whether the environment has the Kubernetes layer"
    with _reading(f"EKS cluster {name}", team, "ResourceNotFoundException", not_found):
        cluster = boto3.client("eks", region_name=region).describe_cluster(name=name)["cluster"]
    endpoint, ca = cluster.get("endpoint"), (cluster.get("certificateAuthority") or {}).get("data")
    if not endpoint or not ca:
        raise ProfileProblem(
            f"EKS cluster {name!r} has no endpoint or certificate yet (status {cluster.get('status')}): retry later"
        )
    return endpoint, ca


Describe = Callable[[str, str, str], tuple[str, str]]


def team_entries(
    profile: Mapping[str, str],
    env: str,
    team: str,
    environ: Mapping[str, str] = os.environ,
    describe: Describe = describe_cluster,
) -> Entries | None:
    """The team's cluster, user and context, or None when the profile has no Kubernetes layer. The endpoint and
    CA certificate come from the profile, or else from ``describe`` (EKS)."""
    if CLUSTER_KEY not in profile:
        return None
    if missing := [k for k in REQUIRED_KEYS if not profile.get(k)]:
        raise ProfileProblem(
            f"the profile names EKS cluster {profile[CLUSTER_KEY]!r} but lacks {', '.join(missing)}: "
            "ask the platform team to redeploy, then re-run `strata configure`"
        )
    if all(profile.get(k) for k in CLUSTER_DATA_KEYS):
        endpoint, ca = profile[ENDPOINT_KEY], profile[CA_KEY]
    else:
        endpoint, ca = describe(profile[CLUSTER_KEY], profile[REGION_KEY], team)
    name = context_name(env, team)
    cluster_name = cluster_entry_name(env)
    args = ["--region", profile[REGION_KEY], "eks", "get-token", "--cluster-name", profile[CLUSTER_KEY], "--output", "json"]
    exec_config: dict[str, Any] = {"apiVersion": EXEC_API_VERSION, "command": "aws", "args": args}
    if aws_profile := environ.get("AWS_PROFILE"):
        # As `aws eks update-kubeconfig` does: the token is made with the credentials configure ran with.
        exec_config["env"] = [{"name": "AWS_PROFILE", "value": aws_profile}]
    return Entries(
        context=name,
        cluster={
            "name": cluster_name,
            "cluster": {"server": endpoint, "certificate-authority-data": ca},
        },
        user={"name": name, "user": {"exec": exec_config}},
        context_entry={
            "name": name,
            "context": {"cluster": cluster_name, "user": name, "namespace": profile[NAMESPACE_KEY]},
        },
        namespace=profile[NAMESPACE_KEY],
    )


def empty_config() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [], "contexts": []}


def read_config(path: Path) -> dict[str, Any]:
    """The kubeconfig at ``path`` (an empty one when absent). An unreadable file is an error, never replaced."""
    if not path.exists():
        return empty_config()
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileProblem(f"cannot read the kubeconfig {path}: {exc}; fix or move it, then re-run") from None
    if loaded is None:
        return empty_config()
    if not isinstance(loaded, dict) or any(not isinstance(loaded.get(s) or [], list) for s in SECTIONS):
        raise ProfileProblem(f"{path} is not a kubeconfig (a mapping with clusters, users and contexts lists); fix or move it")
    return loaded


@dataclass(frozen=True)
class Merged:
    config: dict[str, Any]
    changed: bool
    replaced: tuple[str, ...]  # "cluster strata-dev", ... entries that existed and differed (only with force)
    current_context_set: bool


def merge(config: Mapping[str, Any], entries: Entries, force: bool = False, where: str = "the kubeconfig") -> Merged:
    """``config`` with the team's entries (a new dict; ``config`` is not changed). Entries of other names are kept
    as they are and in their order. A different entry of the same name is replaced only with ``force``."""
    out = {k: v for k, v in config.items()}
    differing: list[str] = []
    changed = False
    for section, entry in entries.by_section().items():
        items = [dict(i) if isinstance(i, dict) else i for i in (out.get(section) or [])]
        same_name = [i for i in items if isinstance(i, dict) and i.get("name") == entry["name"]]
        if same_name == [entry]:
            out[section] = items
            continue
        if same_name:
            differing.append(f"{SECTIONS[section]} {entry['name']}")
        items = [i for i in items if not (isinstance(i, dict) and i.get("name") == entry["name"])] + [entry]
        out[section] = items
        changed = True
    if differing and not force:
        raise ProfileProblem(
            f"{where} already has a different {', '.join(differing)}; re-run with --force to replace "
            f"{'it' if len(differing) == 1 else 'them'} (other clusters, users and contexts are kept)"
        )
    current_set = False
    if not out.get("current-context"):
        out["current-context"] = entries.context
        current_set = changed = True
    for key, value in (("apiVersion", "v1"), ("kind", "Config")):
        if key not in out:
            out[key] = value
            changed = True
    return Merged(out, changed, tuple(differing), current_set)


@dataclass(frozen=True)
class KubeInstalled:
    path: Path
    context: str
    namespace: str
    changed: bool
    replaced: tuple[str, ...]
    current_context: str | None  # the kubeconfig's current context after the merge
    current_context_set: bool


@dataclass(frozen=True)
class Plan:
    """A merge computed before anything is written (so a refusal leaves every file as it was)."""

    path: Path
    entries: Entries
    merged: Merged

    def write(self) -> KubeInstalled:
        config = self.merged.config
        if self.merged.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".strata-tmp")
            tmp.write_text(yaml.safe_dump(config, default_flow_style=False, sort_keys=False))
            tmp.chmod(0o600)  # it names the cluster and how to get a token: the owner only, as aws and kubectl write it
            tmp.replace(self.path)  # atomic: kubectl never reads half a file
        return KubeInstalled(
            path=self.path,
            context=self.entries.context,
            namespace=self.entries.namespace,
            changed=self.merged.changed,
            replaced=self.merged.replaced,
            current_context=config.get("current-context"),
            current_context_set=self.merged.current_context_set,
        )


def plan(
    profile: Mapping[str, str],
    env: str,
    team: str,
    force: bool = False,
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    describe: Describe = describe_cluster,
) -> Plan | None:
    """What :func:`install` would write, or None when the profile has no Kubernetes layer. Raises
    :class:`ProfileProblem` on a conflicting entry without ``force`` or an unreadable kubeconfig."""
    entries = team_entries(profile, env, team, environ, describe)
    if entries is None:
        return None
    path = path or kubeconfig_path(environ)
    merged = merge(read_config(path), entries, force, where=str(path))
    return Plan(path, entries, merged)


def install(
    profile: Mapping[str, str],
    env: str,
    team: str,
    force: bool = False,
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    describe: Describe = describe_cluster,
) -> KubeInstalled | None:
    """Merge the team's context into the kubeconfig; None (and nothing written) without the Kubernetes layer."""
    planned = plan(profile, env, team, force, path, environ, describe)
    return planned.write() if planned else None


def aws_cli_missing() -> bool:
    """True when no ``aws`` is on PATH: the context's token command would fail."""
    return shutil.which("aws") is None
