"""Strata's configuration: read once, into frozen pydantic models, before any resource is declared.

Two ways in, one validator:

* ``pulumi up`` — the Pulumi CLI hands the program the stack file's values (``strata:*`` keys,
  objects as JSON strings); :func:`load_from_pulumi` reads them from the runtime.
* ``strata validate`` and the local cloud — :func:`load_from_files` reads ``Pulumi.yaml`` and
  ``stacks/Pulumi.<stack>.yaml`` directly, merging the project defaults as the CLI does.

Both end in :func:`build_platform`, which collects *every* problem (file, key, fix) and raises one
:class:`ConfigError`. Team files (``stacks/teams/<team>.yaml``) are read from disk in both cases.

Each layer owns its settings model and the checks that span its own fields (``modules/<layer>/settings.py``);
the base types and the error reporting are the core's (``core/settings.py``, ``core/issues.py``). This
module composes them into :class:`StackSettings`, reads the files, and checks what spans layers: the
region (botocore's list), the team files against the compute pools, the metadata UI and a Serverless
warehouse against the network.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from core import capacity, naming, secret_guard
from core.issues import (
    MISSING_STACK_KEY_FIX,
    REMOVING_A_TEAM,
    STACK_REFERENCE,
    TEAM_REFERENCE,
    ConfigIssue,
    Issues,
    pydantic_issues,
)
from core.settings import Model, Team, TeamKubernetes
from modules.compute.settings import ComputeSettings, check_batch_limits, check_team_caps, resolve_spot_vcpus
from modules.datastore.settings import DatastoreSettings
from modules.kubernetes.settings import (
    KubernetesSettings,
    check_kubernetes,
    check_namespaces,
    check_team_kubernetes,
    default_quota,
)
from modules.metadata.settings import ApiEndpointType, FrontDoor, MetadataMode, MetadataSettings, check_metadata
from modules.network.settings import Egress, NetworkMode, NetworkSettings, check_network
from modules.observability.settings import DefaultTags, ObservabilitySettings, check_budgets, check_observability
from modules.orchestration.settings import OrchestrationSettings, check_orchestration
from modules.serving.settings import ServingSettings, check_serving
from modules.team.settings import TeamEnvironment, TeamFile
from modules.warehouse.settings import SERVERLESS_MIN_AZS, WarehouseMode, WarehouseSettings, check_warehouse

PROJECT = "strata"


@functools.cache
def _partitions() -> tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...]:
    """(id, region pattern, regions) of every AWS partition, from the partition data botocore ships
    (``botocore/data/partitions.json``, the data its endpoint resolution uses), read offline.
    Pseudo-regions such as ``aws-global`` fail their partition's ``regionRegex`` and are left out."""
    from botocore.loaders import create_loader

    out = []
    for partition in create_loader().load_data("partitions")["partitions"]:
        pattern = re.compile(partition["regionRegex"])
        out.append((partition["id"], pattern, tuple(sorted(r for r in partition["regions"] if pattern.match(r)))))
    return tuple(out)


def aws_regions() -> dict[str, tuple[str, ...]]:
    """Every partition's regions: ``{"aws": ("af-south-1", ...), "aws-cn": (...), ...}``."""
    return {pid: regions for pid, _, regions in _partitions()}


def partition_of(region: str) -> str | None:
    """The partition whose region names ``region`` follows (a known region or not), else None."""
    return next((pid for pid, pattern, _ in _partitions() if pattern.match(region)), None)


class StackSettings(Model):
    """The ``strata:*`` keys of one stack file, plus ``aws:region``."""

    name_prefix: str
    region: str
    production: bool = False
    protect: bool = False
    tags: dict[str, str] = {}
    network: NetworkSettings
    datastore: DatastoreSettings = DatastoreSettings()
    compute: ComputeSettings
    orchestration: OrchestrationSettings = OrchestrationSettings()
    metadata: MetadataSettings = MetadataSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    kubernetes: KubernetesSettings = KubernetesSettings()
    serving: ServingSettings = ServingSettings()
    observability: ObservabilitySettings
    default_tags: DefaultTags


@dataclass(frozen=True)
class Platform:
    """Everything the program needs, validated."""

    environment: str
    settings: StackSettings
    teams: tuple[Team, ...]
    subnets: capacity.SubnetPlan | None  # None when adopting a VPC

    @property
    def region(self) -> str:
        return self.settings.region


# ---------------------------------------------------------------- errors


class ConfigError(Exception):
    """Every problem found in the stack and team files, reported at once."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.issues)
        head = f"{n} configuration problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  {i}" for i in self.issues)])


# ---------------------------------------------------------------- reading files


def read_yaml(path: Path, issues: Issues, shown: str | Path | None = None) -> Any:
    """Parse a YAML file; on failure record one issue (with line and column) and return None."""
    shown = shown or path
    try:
        text = path.read_text()
    except OSError as exc:
        issues.add(shown, "(file)", f"cannot read: {exc.strerror}", "check the path and permissions")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        issues.add(shown, where, f"YAML syntax error: {what}", "fix the YAML syntax (indentation, quotes, colons)")
        return None


def project_config_declarations(project_dir: Path) -> dict[str, dict[str, Any]]:
    """``config:`` of ``Pulumi.yaml``, keyed by fully-qualified name (``strata:network``)."""
    doc = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    out = {}
    for key, decl in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        out[full] = decl if isinstance(decl, dict) else {"default": decl}
    return out


def known_environments(project_dir: Path) -> set[str]:
    stacks = project_dir / "stacks"
    return {p.name[len("Pulumi.") : -len(".yaml")] for p in stacks.glob("Pulumi.*.yaml")}


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / "stacks" / f"Pulumi.{stack}.yaml"


def stack_config_values(project_dir: Path, stack: str, issues: Issues) -> dict[str, Any]:
    """The stack's config as the Pulumi CLI would hand it over: project defaults, then the stack file."""
    path = stack_file(project_dir, stack)
    shown = path.relative_to(project_dir)
    if not path.exists():
        envs = ", ".join(sorted(known_environments(project_dir))) or "none"
        issues.add(shown, "(file)", f"no stack file for stack {stack!r}", f"create it, or use one of: {envs}")
        return {}
    doc = read_yaml(path, issues, shown)
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        issues.add(shown, "config", "a stack file is a mapping with a 'config:' mapping", "start the file with 'config:'")
        return {}
    values = {k: d["default"] for k, d in project_config_declarations(project_dir).items() if "default" in d}
    values.update(doc.get("config") or {})
    return values


def _decode(value: Any) -> Any:
    """Pulumi hands object config to programs as JSON strings; YAML gives them as objects already."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# Stack-file key -> StackSettings field. Anything else under strata: is an unknown key.
_STACK_KEYS = {
    "aws:region": "region",
    "strata:namePrefix": "namePrefix",
    "strata:production": "production",
    "strata:protect": "protect",
    "strata:tags": "tags",
    "strata:network": "network",
    "strata:datastore": "datastore",
    "strata:compute": "compute",
    "strata:orchestration": "orchestration",
    "strata:metadata": "metadata",
    "strata:observability": "observability",
    "strata:warehouse": "warehouse",
    "strata:kubernetes": "kubernetes",
    "strata:serving": "serving",
    "aws:defaultTags": "defaultTags",
}
# Keys of other providers/projects that a stack file may carry and we leave to their owners.
_FOREIGN_NAMESPACES = ("aws:", "pulumi:")


def _check_plaintext_secrets(
    config: Mapping[str, Any], path: str, issues: Issues, secret_keys: Collection[str], required: Collection[str]
) -> None:
    """A secret-bearing key (password, secret, token, apiKey, privateKey, ...: ``secret_guard.is_secret_key``),
    at any depth and in any namespace (``aws:secretKey`` too), and every key Pulumi.yaml declares
    ``secret: true``, must hold a Pulumi secret: ``secure: <ciphertext>`` in a stack file, a secret
    config key at runtime (the CLI decrypts it for the program and lists it as secret). Checked on the
    raw values, before the models, so a plaintext secret is reported even under an unknown key. The
    value itself is never echoed."""
    for key, value in config.items():
        if key in secret_keys:
            continue
        for where in secret_guard.plaintext_secret_paths(key, _decode(value), required=key in required):
            shown = f"{key}{where}"
            command = f"pulumi config set --secret {key}" if not where else f"pulumi config set --path --secret '{shown}'"
            issues.add(
                path,
                shown,
                "a secret-bearing value is written in plaintext",
                f"use `{command} <value>` (the stack file then holds `secure: <ciphertext>`), and rotate the exposed value",
            )


def _declared_secrets(project_dir: Path) -> set[str]:
    """Keys Pulumi.yaml declares ``secret: true``."""
    return {k for k, d in project_config_declarations(project_dir).items() if d.get("secret") is True}


def build_platform(
    *,
    stack: str,
    config: Mapping[str, Any],
    stack_path: str,
    teams_dir: Path,
    known_envs: set[str],
    issues: Issues | None = None,
    secret_keys: Collection[str] = (),
    required_secrets: Collection[str] = (),
) -> Platform:
    """Validate ``config`` (a stack's ``strata:*``/``aws:*`` values) and the team files into a Platform.

    ``secret_keys``: keys the Pulumi runtime holds as secrets; ``required_secrets``: keys Pulumi.yaml
    declares ``secret: true`` (see :func:`_check_plaintext_secrets`)."""
    issues = issues if issues is not None else Issues()
    _check_plaintext_secrets(config, stack_path, issues, secret_keys, required_secrets)
    if not naming.ENV_NAME.match(stack):
        issues.add(
            stack_path,
            "(stack name)",
            f"stack name {stack!r} is not a valid environment name",
            "use 2-12 characters of a-z and 0-9, starting with a letter (it appears in bucket, role and queue names)",
        )

    raw: dict[str, Any] = {}
    for key, value in config.items():
        if key in _STACK_KEYS:
            raw[_STACK_KEYS[key]] = _decode(value)
        elif key.startswith(f"{PROJECT}:"):
            allowed = [k for k in _STACK_KEYS if k.startswith(f"{PROJECT}:")]
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            issues.add(stack_path, key, "unknown key", f"{hint}Strata's keys are: {', '.join(allowed)} (see {STACK_REFERENCE})")
        elif not key.startswith(_FOREIGN_NAMESPACES):
            issues.add(
                stack_path,
                key,
                "unknown key",
                f"stack-file keys are namespaced: strata:<key> or aws:<key> (see {STACK_REFERENCE})",
            )

    settings, sections = _validate_sections(raw, stack_path, issues)
    subnets = _check_stack(sections, stack, stack_path, issues)
    _check_metadata(sections, stack_path, issues)
    check_observability(
        sections.get("observability"),
        sections.get("default_tags"),
        stack=stack,
        tags=sections.get("tags") or {},
        path=stack_path,
        issues=issues,
    )
    teams = _load_teams(stack, teams_dir, known_envs, sections.get("compute"), sections.get("kubernetes"), issues)
    _check_warehouse(sections, teams, stack_path, issues)
    if settings is not None:
        check_batch_limits(settings.compute, teams, stack_path, issues)
        check_budgets(settings.observability, teams, stack_path, issues)
    if issues:
        raise ConfigError(list(issues))
    assert settings is not None
    return Platform(environment=stack, settings=settings, teams=tuple(teams), subnets=subnets)


def _validate_sections(raw: dict[str, Any], path: str, issues: Issues) -> tuple[StackSettings | None, dict[str, Any]]:
    """Validate each top-level key on its own, so one broken section does not hide problems in another.

    Returns the whole settings (None if anything failed) and every section that did validate."""
    key_map = {v: k for k, v in _STACK_KEYS.items()}
    sections: dict[str, Any] = {}
    ok = True
    for name, field in StackSettings.model_fields.items():
        alias = field.alias or name
        if alias not in raw:
            if field.is_required():
                ok = False
                fix = MISSING_STACK_KEY_FIX.get(key_map[alias], f"add {key_map[alias]}")
                issues.add(path, key_map[alias], "required key is missing", f"{fix} (see {STACK_REFERENCE})")
            continue
        assert field.annotation is not None  # every StackSettings field is annotated
        try:
            sections[name] = TypeAdapter(field.annotation).validate_python(raw[alias])
        except ValidationError as err:
            ok = False
            model = (
                field.annotation
                if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
                else StackSettings
            )
            pydantic_issues(issues, err, path, key_map[alias], model)
    return (StackSettings(**sections) if ok else None), sections


def _check_region(region: str | None, path: str, issues: Issues) -> None:
    """``aws:region`` must be a region of its partition, as botocore lists them (offline): a typo would
    otherwise surface only when ``pulumi up`` calls AWS."""
    if region is None or any(region in regions for regions in aws_regions().values()):
        return
    import botocore

    partition = partition_of(region)
    known = aws_regions()[partition or "aws"]
    close = difflib.get_close_matches(region, known, n=2)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else f"use one of: {', '.join(known)} "
    issues.add(
        path,
        "aws:region",
        f"{region!r} is not a region of the {partition} partition" if partition else f"{region!r} is not an AWS region",
        f"{hint}(botocore {botocore.__version__}'s list; a region launched since needs a newer boto3)",
    )


def _check_stack(sections: dict[str, Any], stack: str, path: str, issues: Issues) -> capacity.SubnetPlan | None:
    """The stack-wide keys, and each layer's own checks that need nothing of the others'."""
    _check_region(sections.get("region"), path, issues)
    prefix = sections.get("name_prefix")
    if prefix is not None and not naming.NAME_PREFIX.match(prefix):
        issues.add(
            path,
            "strata:namePrefix",
            f"{prefix!r} cannot start an S3 bucket name",
            "use 2-30 characters of a-z, 0-9 and single hyphens, e.g. 'acme-ml'",
        )
    elif prefix is not None and naming.ENV_NAME.match(stack):  # an invalid stack name is reported on its own
        for bucket in (naming.datastore_bucket(prefix, stack), naming.log_bucket(prefix, stack)):
            if why := naming.s3_bucket_problem(bucket):
                issues.add(path, "strata:namePrefix", f"bucket name {bucket!r} is invalid: {why}", "shorten strata:namePrefix")
    if sections.get("production") and not sections.get("protect"):
        issues.add(
            path,
            "strata:protect",
            "a production stack must protect its stateful resources",
            "set 'strata:protect: true' (buckets, keys and databases then refuse deletion)",
        )
    o: OrchestrationSettings | None = sections.get("orchestration")
    if o is not None:
        check_orchestration(o, path, issues)
    k: KubernetesSettings | None = sections.get("kubernetes")
    if k is not None:
        check_kubernetes(k, path, issues)
        net: NetworkSettings | None = sections.get("network")
        if k.enabled and net is not None and net.cidr is None:
            issues.add(
                path,
                "strata:network.cidr",
                "the Kubernetes layer admits the VPC's CIDR (internal load balancer, NodePorts, NetworkPolicies), "
                "which is not known for an adopted VPC without it",
                "set strata:network.cidr to the adopted VPC's CIDR",
            )
    sv: ServingSettings | None = sections.get("serving")
    if sv is not None:
        check_serving(sv, kubernetes_enabled=k is not None and k.enabled, stack=stack, path=path, issues=issues)
    n: NetworkSettings | None = sections.get("network")
    if n is None:
        return None
    # The subnets are sized from the compute pools' address demand (unknown if strata:compute is invalid).
    compute: ComputeSettings | None = sections.get("compute")
    return check_network(n, compute.demand() if compute is not None else None, path, issues)


def _check_metadata(sections: dict[str, Any], path: str, issues: Issues) -> None:
    """``strata:metadata``'s own rules, then what the UI needs from the network."""
    # Absent from the stack file: the defaults apply (and must pass the production rules too).
    m: MetadataSettings = sections.get("metadata") or MetadataSettings()
    check_metadata(m, production=bool(sections.get("production")), path=path, issues=issues)
    n: NetworkSettings | None = sections.get("network")
    # Batch jobs reach the service only through its keyed API (no direct path: modules/metadata). A REGIONAL
    # API is on the internet side, so jobs need NAT; without it only a PRIVATE REST API (execute-api endpoint) works.
    private_api = m.front_door is FrontDoor.REST_API_NLB and m.endpoint_type is ApiEndpointType.PRIVATE
    if (
        m.enabled
        and m.metadata_mode is MetadataMode.SERVICE
        and n is not None
        and n.mode is NetworkMode.CREATE
        and n.egress in (Egress.ENDPOINTS, Egress.NONE)
        and not private_api
    ):
        issues.add(
            path,
            "strata:metadata.frontDoor",
            f"Batch jobs reach the metadata API only through it, and with strata:network.egress {n.egress.value} they "
            "cannot reach a REGIONAL API",
            "set frontDoor: rest-api-nlb with endpointType: PRIVATE, or egress nat-gateway / nat-instance",
        )
    if not (m.enabled and m.ui.enabled) or n is None:
        return
    key = "strata:metadata.ui"
    if n.mode is NetworkMode.ADOPT and not m.ui.allowed_cidrs:
        issues.add(path, f"{key}.allowedCidrs", "an adopted VPC's CIDR is not known here", "list the CIDRs that may reach the UI")
    # The ALB calls the IdP's token and user-info endpoints from its own subnets (the private ones).
    # https://repost.aws/knowledge-center/elb-configure-authentication-alb
    if n.mode is NetworkMode.CREATE and n.egress not in (Egress.NAT_GATEWAY, Egress.NAT_INSTANCE):
        issues.add(
            path,
            key,
            f"the internal ALB must reach the identity provider, but strata:network.egress is {n.egress.value}",
            "use egress nat-gateway or nat-instance, or keep the UI disabled",
        )


def _check_warehouse(sections: dict[str, Any], teams: list[Team], path: str, issues: Issues) -> None:
    """``strata:warehouse``'s own rules, then a Serverless workgroup's Availability Zones against the network."""
    w: WarehouseSettings | None = sections.get("warehouse")
    if w is None or not w.enabled:
        return
    production, region = bool(sections.get("production")), sections.get("region") or ""
    check_warehouse(w, teams=teams, production=production, region=region, path=path, issues=issues)
    n: NetworkSettings | None = sections.get("network")
    if w.mode is not WarehouseMode.SERVERLESS or n is None:
        return
    fix = (
        f"set strata:network.azCount: {SERVERLESS_MIN_AZS} (free with one NAT), or strata:warehouse.mode: provisioned, "
        "or strata:warehouse.enabled: false"
    )
    if n.mode is NetworkMode.ADOPT:
        if len(n.private_subnet_ids) < SERVERLESS_MIN_AZS:
            issues.add(
                path,
                "strata:network.privateSubnetIds",
                f"Redshift Serverless needs private subnets in {SERVERLESS_MIN_AZS} Availability Zones, got {len(n.private_subnet_ids)} subnets",
                f"list subnets of {SERVERLESS_MIN_AZS} AZs, or set strata:warehouse.mode: provisioned",
            )
    elif n.az_count < SERVERLESS_MIN_AZS:
        issues.add(
            path,
            "strata:network.azCount",
            f"Redshift Serverless (strata:warehouse.mode) needs subnets in {SERVERLESS_MIN_AZS} Availability Zones, azCount is {n.az_count}",
            fix,
        )


def _load_teams(
    stack: str,
    teams_dir: Path,
    known_envs: set[str],
    compute: ComputeSettings | None,
    kubernetes: KubernetesSettings | None,
    issues: Issues,
) -> list[Team]:
    files = sorted(teams_dir.glob("*.yaml")) + sorted(teams_dir.glob("*.yml"))
    seen: dict[str, Path] = {}
    teams: list[Team] = []
    namespaces: dict[str, str] = {}
    for full in files:
        # Report paths as the user knows them: relative to the project (stacks/teams/x.yaml).
        path = full.relative_to(teams_dir.parent.parent) if teams_dir.parent.parent in full.parents else full
        before = len(issues)
        doc = read_yaml(full, issues, path)
        if doc is None:
            if len(issues) == before:
                # Skipping it would make `pulumi up` delete everything the team has (roles, queues, API key,
                # budget...): a team is removed by deleting its file, deliberately.
                issues.add(
                    path,
                    "(file)",
                    "the team file is empty (only blank lines or comments); `pulumi up` would delete the team's roles, "
                    "queues, API key and budget",
                    f"restore its content (see {TEAM_REFERENCE}); to remove the team, delete the file, "
                    f"following {REMOVING_A_TEAM}",
                )
            continue
        if not isinstance(doc, dict):
            issues.add(path, "(file)", "a team file is a mapping", "start with 'team: <name>'")
            continue
        try:
            tf = TeamFile.model_validate(doc)
        except ValidationError as err:
            pydantic_issues(issues, err, str(path), "", TeamFile, team_file=True)
            continue
        if not naming.TEAM_NAME.match(tf.team):
            issues.add(
                path,
                "team",
                f"{tf.team!r} is not a valid team name",
                "use 2-24 characters of a-z, 0-9 and single hyphens, starting with a letter",
            )
            continue
        stem = full.name.rsplit(".", 1)[0]
        if tf.team != stem:
            taken = next((path.with_name(tf.team + e) for e in (".yaml", ".yml") if (full.parent / (tf.team + e)).exists()), None)
            rename = f"{taken} exists: merge the two" if taken else f"rename the file to {path.with_name(tf.team + full.suffix)}"
            issues.add(
                path,
                "team",
                f"the file is named {full.name} but declares team {tf.team!r}; a team file is named after its team",
                f"{rename}, or set 'team: {stem}'" if naming.TEAM_NAME.match(stem) else rename,
            )
            continue
        if tf.team in seen:
            issues.add(
                path,
                "team",
                f"team {tf.team!r} is already declared in {seen[tf.team]}",
                f"give each team one file: merge {path} into {seen[tf.team]} and delete it",
            )
            continue
        seen[tf.team] = path
        for env in tf.environments:
            if env not in known_envs:
                close = difflib.get_close_matches(env, sorted(known_envs), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                issues.add(
                    path,
                    f"environments.{env}",
                    f"unknown environment {env!r}",
                    f"{hint}environments are the stack files: {', '.join(sorted(known_envs))}",
                )
        env_cfg = tf.environments.get(stack)
        if env_cfg is None:
            continue
        for why in naming.team_name_problems(stack, tf.team):
            issues.add(path, "team", why, "shorten the team name")
        if compute is not None:
            _check_team_quota(tf.team, env_cfg, stack, compute, path, issues)
        team_k8s: TeamKubernetes | None = None
        if kubernetes is not None and kubernetes.enabled:
            team_k8s = _team_kubernetes(tf.team, env_cfg, stack, kubernetes, path, issues)
            namespaces[tf.team] = team_k8s.namespace
        teams.append(
            Team(
                name=tf.team,
                cost_center=tf.cost_center,
                contacts=tf.contacts,
                priority=env_cfg.priority,
                max_vcpus=env_cfg.max_vcpus,
                gpu_max_vcpus=env_cfg.gpu_max_vcpus,
                principals=env_cfg.principals,
                monthly_budget_usd=env_cfg.monthly_budget_usd,
                spot_vcpus=resolve_spot_vcpus(compute, env_cfg.max_vcpus, env_cfg.spot_vcpus),
                fargate_vcpus=env_cfg.fargate_vcpus,
                kubernetes=team_k8s,
            )
        )
    check_namespaces(namespaces, {t: str(p) for t, p in seen.items()}, issues)
    return teams


def _team_kubernetes(
    team: str, t: TeamEnvironment, stack: str, k: KubernetesSettings, path: Path, issues: Issues
) -> TeamKubernetes:
    """The team's namespace, quota and image, checked against strata:kubernetes and the system namespaces."""
    tk = t.kubernetes
    namespace = tk.namespace or team
    check_team_kubernetes(
        k,
        team=team,
        namespace=namespace,
        gpus=tk.gpus,
        stack=stack,
        path=str(path),
        key=f"environments.{stack}.kubernetes",
        issues=issues,
    )
    cpu, memory = default_quota(t.max_vcpus, tk.cpu, tk.memory_gib)
    return TeamKubernetes(
        namespace=namespace, cpu=cpu, memory_gib=memory, gpus=tk.gpus, container_image=tk.image or k.container_image
    )


def _check_team_quota(team: str, t: TeamEnvironment, stack: str, c: ComputeSettings, path: Path, issues: Issues) -> None:
    """A team's caps against the stack's pools (each pool's maxVcpus is the most one team may be given)."""
    check_team_caps(
        c,
        max_vcpus=t.max_vcpus,
        spot_vcpus=t.spot_vcpus,
        gpu_max_vcpus=t.gpu_max_vcpus,
        fargate_vcpus=t.fargate_vcpus,
        stack=stack,
        path=str(path),
        key=f"environments.{stack}",
        issues=issues,
    )


# ---------------------------------------------------------------- entry points


def load_from_files(project_dir: Path, stack: str) -> Platform:
    """Read and validate a stack and the team files straight from disk (no Pulumi runtime)."""
    project_dir = Path(project_dir)
    issues = Issues()
    values = stack_config_values(project_dir, stack, issues)
    if issues:  # no readable stack file: everything after would be noise
        raise ConfigError(list(issues))
    return build_platform(
        stack=stack,
        config=values,
        stack_path=str(stack_file(project_dir, stack).relative_to(project_dir)),
        teams_dir=project_dir / "stacks" / "teams",
        known_envs=known_environments(project_dir),
        issues=issues,
        required_secrets=_declared_secrets(project_dir),
    )


def pulumi_config_strings(project_dir: Path, stack: str) -> dict[str, str]:
    """The stack's config in the form the Pulumi CLI passes it to a program: every value a string,
    objects and arrays as JSON. Used to run the program in-process exactly as ``pulumi up`` would."""
    issues = Issues()
    values = stack_config_values(project_dir, stack, issues)
    if issues:
        raise ConfigError(list(issues))
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def load_from_pulumi(project_dir: Path) -> Platform:
    """Inside a Pulumi program: validate the config the engine handed over, plus the team files."""
    import pulumi
    from pulumi.runtime import config as rc

    values = {**rc.get_config_env(), **rc.CONFIG.get()}
    stack = pulumi.get_stack()
    return build_platform(
        stack=stack,
        config=values,
        stack_path=f"stacks/Pulumi.{stack}.yaml",
        teams_dir=Path(project_dir) / "stacks" / "teams",
        known_envs=known_environments(Path(project_dir)),
        secret_keys={k for k in values if rc.is_config_secret(k)} | set(rc.get_config_secret_keys_env()),
        required_secrets=_declared_secrets(Path(project_dir)),
    )
