"""Strata's configuration: read once, into frozen pydantic models, before any resource is declared.

Two ways in, one validator:

* ``pulumi up`` — the Pulumi CLI hands the program the stack file's values (``strata:*`` keys,
  objects as JSON strings); :func:`load_from_pulumi` reads them from the runtime.
* ``strata validate`` and the local cloud — :func:`load_from_files` reads ``Pulumi.yaml`` and
  ``stacks/Pulumi.<stack>.yaml`` directly, merging the project defaults as the CLI does.

Both end in :func:`build_platform`, which collects *every* problem (file, key, fix) and raises one
:class:`ConfigError`. Team files (``stacks/teams/<team>.yaml``) are read from disk in both cases.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from infra import capacity, naming

PROJECT = "strata"
# AWS Batch service quotas, fixed per region:
# https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
BATCH_MAX_JOB_QUEUES = 50
BATCH_MAX_COMPUTE_ENVIRONMENTS = 50
BATCH_MAX_CES_PER_QUEUE = 3
# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
PRINCIPAL_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:root|(?:role|user)/[\w+=,.@/-]{1,512})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Model(BaseModel):
    """Base for every config object: camelCase keys in YAML, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


# ---------------------------------------------------------------- environment (stack file)


class NetworkMode(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"


class Egress(StrEnum):
    """How private subnets reach the internet (container images, pip). Costs are us-east-1 list prices.

    * ``nat-gateway``: one managed NAT gateway ($32.85/month + $3.65 IPv4 + $0.045/GB). Production.
    * ``nat-instance``: one t4g.nano NAT instance (~$6.72/month with its IPv4). Fine for dev.
    * ``endpoints``: interface endpoints only (ECR, logs, STS...; $7.30 per endpoint per AZ); images
      must live in ECR. No route to the internet at all.
    * ``none``: S3 gateway endpoint only. For the local cloud and fully air-gapped accounts.
    """

    NAT_GATEWAY = "nat-gateway"
    NAT_INSTANCE = "nat-instance"
    ENDPOINTS = "endpoints"
    NONE = "none"


class NetworkSettings(Model):
    mode: NetworkMode = NetworkMode.CREATE
    cidr: str | None = None
    az_count: int = Field(2, ge=2, le=6)
    egress: Egress = Egress.NAT_INSTANCE
    nat_instance_type: str = "t4g.nano"
    flow_log_retention_days: int = 30
    private_subnet_cidrs: tuple[str, ...] | None = None
    public_subnet_cidrs: tuple[str, ...] | None = None
    # adopt mode
    vpc_id: str | None = None
    private_subnet_ids: tuple[str, ...] = ()
    private_route_table_ids: tuple[str, ...] = ()


class DatastoreSettings(Model):
    noncurrent_version_expiration_days: int = Field(90, gt=0)
    abort_incomplete_upload_days: int = Field(7, gt=0)
    # Move objects to S3 Intelligent-Tiering after this many days; null turns tiering off.
    tiering_after_days: int | None = Field(30, ge=0)
    access_log_expiration_days: int = Field(365, gt=0)


class CpuPool(Model):
    max_vcpus: int = Field(gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i")


class SpotPool(Model):
    enabled: bool = True
    max_vcpus: int = Field(256, gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i", "c5", "m5")
    bid_percentage: int = Field(100, gt=0, le=100)


class GpuPool(Model):
    enabled: bool = False
    max_vcpus: int = Field(64, gt=0)
    instance_types: tuple[str, ...] = ("g5", "g4dn")


class FargatePool(Model):
    enabled: bool = False
    max_vcpus: int = Field(64, gt=0)


class ComputeSettings(Model):
    cpu: CpuPool
    spot: SpotPool = SpotPool()
    gpu: GpuPool = GpuPool()
    fargate: FargatePool = FargatePool()
    root_volume_gb: int = Field(50, ge=30, le=16384)

    def compute_environment_kinds(self) -> list[str]:
        kinds = ["cpu-ondemand"]
        if self.spot.enabled:
            kinds.append("cpu-spot")
        if self.gpu.enabled:
            kinds.append("gpu")
        if self.fargate.enabled:
            kinds.append("fargate")
        return kinds

    def demand(self) -> capacity.Demand:
        return capacity.address_demand(
            cpu_vcpus=self.cpu.max_vcpus + (self.spot.max_vcpus if self.spot.enabled else 0),
            gpu_vcpus=self.gpu.max_vcpus if self.gpu.enabled else 0,
            fargate_vcpus=self.fargate.max_vcpus if self.fargate.enabled else 0,
        )


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


# ---------------------------------------------------------------- teams (stacks/teams/*.yaml)


class TeamEnvironment(Model):
    # Batch job-queue priority: higher runs first when queues share compute environments.
    priority: int = Field(10, ge=0, le=1000)
    max_vcpus: int = Field(gt=0)
    gpu_max_vcpus: int = Field(0, ge=0)
    principals: tuple[str, ...] = Field(min_length=1)

    @field_validator("principals")
    @classmethod
    def _arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [p for p in value if not PRINCIPAL_ARN.match(p)]
        if bad:
            raise ValueError(f"not an IAM account, role or user ARN: {', '.join(bad)}")
        return value


class TeamFile(Model):
    team: str
    description: str = ""
    cost_center: str = Field(min_length=1)
    contacts: tuple[str, ...] = Field(min_length=1)
    environments: dict[str, TeamEnvironment] = Field(min_length=1)

    @field_validator("contacts")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not EMAIL.match(c)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value


# ---------------------------------------------------------------- the resolved result


@dataclass(frozen=True)
class Team:
    """One team as it exists in one environment."""

    name: str
    cost_center: str
    contacts: tuple[str, ...]
    priority: int
    max_vcpus: int
    gpu_max_vcpus: int
    principals: tuple[str, ...]

    @property
    def gpu(self) -> bool:
        return self.gpu_max_vcpus > 0


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


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    key: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.problem}\n    fix: {self.fix}"


class ConfigError(Exception):
    """Every problem found in the stack and team files, reported at once."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.issues)
        head = f"{n} configuration problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  {i}" for i in self.issues)])


class _Issues(list):
    def add(self, file: str | Path, key: str, problem: str, fix: str) -> None:
        self.append(ConfigIssue(str(file), key, problem, fix))


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix] if prefix else []
    for p in loc:
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
        else:
            parts.append(str(p))
    return ".".join(parts)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys allowed at ``loc`` inside ``model`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            break
        ann = field.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = args[-1] if args else ann
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


_MISSING_FIX = {
    "aws:region": "add 'aws:region: us-east-1' (or your region) under config:",
    "strata:namePrefix": "add 'strata:namePrefix: <your-org>-ml' (it starts every bucket name)",
    "strata:network": "add strata:network with at least 'cidr: 10.20.0.0/16'",
    "strata:compute": "add strata:compute with at least 'cpu: {maxVcpus: 64}'",
}


def _pydantic_issues(
    issues: _Issues,
    err: ValidationError,
    file: str,
    prefix: str,
    model: type[BaseModel],
    key_map: Mapping[str, str] | None = None,
) -> None:
    for e in err.errors():
        loc = tuple(e["loc"])
        key = _loc(prefix, loc)
        if key_map and loc and loc[0] in key_map:
            key = _loc("", (key_map[str(loc[0])], *loc[1:]))
        kind = e["type"]
        if kind == "extra_forbidden":
            allowed = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            issues.add(file, key, "unknown key", f"{hint}allowed keys here: {', '.join(sorted(allowed))}")
        elif kind == "missing":
            issues.add(
                file, key, "required key is missing", _MISSING_FIX.get(key, "add it (see Pulumi.yaml for its type and meaning)")
            )
        elif kind in ("greater_than", "greater_than_equal") and e.get("ctx"):
            bound = next(iter(e["ctx"].values()))
            issues.add(
                file, key, f"{e['input']!r} is too small", f"use a value {'>' if kind == 'greater_than' else '>='} {bound}"
            )
        else:
            issues.add(file, key, e["msg"], f"got {e.get('input')!r}; correct the value")


# ---------------------------------------------------------------- reading files


def read_yaml(path: Path, issues: _Issues, shown: str | Path | None = None) -> Any:
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


def stack_config_values(project_dir: Path, stack: str, issues: _Issues) -> dict[str, Any]:
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
}
# Keys of other providers/projects that a stack file may carry and we leave to their owners.
_FOREIGN_NAMESPACES = ("aws:", "pulumi:")


def build_platform(
    *,
    stack: str,
    config: Mapping[str, Any],
    stack_path: str,
    teams_dir: Path,
    known_envs: set[str],
    issues: _Issues | None = None,
) -> Platform:
    """Validate ``config`` (a stack's ``strata:*``/``aws:*`` values) and the team files into a Platform."""
    issues = issues if issues is not None else _Issues()
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
            issues.add(stack_path, key, "unknown key", f"{hint}Strata's keys are: {', '.join(allowed)}")
        elif not key.startswith(_FOREIGN_NAMESPACES):
            issues.add(stack_path, key, "unknown key", "stack-file keys are namespaced: strata:<key> or aws:<key>")

    settings, sections = _validate_sections(raw, stack_path, issues)
    subnets = _check_stack(sections, stack, stack_path, issues)
    teams = _load_teams(stack, teams_dir, known_envs, sections.get("compute"), issues)
    if settings is not None:
        _check_batch_limits(settings, teams, stack_path, issues)
    if issues:
        raise ConfigError(list(issues))
    assert settings is not None
    return Platform(environment=stack, settings=settings, teams=tuple(teams), subnets=subnets)


def _validate_sections(raw: dict[str, Any], path: str, issues: _Issues) -> tuple[StackSettings | None, dict[str, Any]]:
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
                issues.add(path, key_map[alias], "required key is missing", _MISSING_FIX.get(key_map[alias], "add it"))
            continue
        try:
            sections[name] = TypeAdapter(field.annotation).validate_python(raw[alias])
        except ValidationError as err:
            ok = False
            model = (
                field.annotation
                if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
                else StackSettings
            )
            _pydantic_issues(issues, err, path, key_map[alias], model)
    return (StackSettings(**sections) if ok else None), sections


def _check_stack(sections: dict[str, Any], stack: str, path: str, issues: _Issues) -> capacity.SubnetPlan | None:
    prefix = sections.get("name_prefix")
    if prefix is not None and not naming.NAME_PREFIX.match(prefix):
        issues.add(
            path,
            "strata:namePrefix",
            f"{prefix!r} cannot start an S3 bucket name",
            "use 2-30 characters of a-z, 0-9 and single hyphens, e.g. 'acme-ml'",
        )
    elif prefix is not None:
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
    n: NetworkSettings | None = sections.get("network")
    if n is None:
        return None
    if n.flow_log_retention_days not in LOG_RETENTION_DAYS:
        issues.add(
            path,
            "strata:network.flowLogRetentionDays",
            f"{n.flow_log_retention_days} is not a CloudWatch retention",
            f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
    if n.mode is NetworkMode.ADOPT:
        if not n.vpc_id:
            issues.add(path, "strata:network.vpcId", "adopting a VPC needs its id", "set vpcId: vpc-... or use mode: create")
        if len(n.private_subnet_ids) < 2:
            issues.add(
                path,
                "strata:network.privateSubnetIds",
                "adopting a VPC needs private subnets in >= 2 AZs",
                "list at least two subnet ids",
            )
        if not n.private_route_table_ids:
            issues.add(
                path,
                "strata:network.privateRouteTableIds",
                "the S3 gateway endpoint needs the private route tables",
                "list the route table ids of the private subnets",
            )
        return None
    if n.cidr is None:
        issues.add(path, "strata:network.cidr", "creating a VPC needs its CIDR", "set cidr: 10.20.0.0/16 (any private range)")
        return None
    try:
        vpc = ipaddress.ip_network(n.cidr)
    except ValueError as exc:
        issues.add(path, "strata:network.cidr", f"{n.cidr!r} is not a network: {exc}", "use a CIDR such as 10.20.0.0/16")
        return None
    if not capacity.is_private(n.cidr):
        issues.add(
            path,
            "strata:network.cidr",
            f"{n.cidr} is not a private (RFC 1918) range",
            "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
        )
        return None
    if not 16 <= vpc.prefixlen <= 28:
        issues.add(path, "strata:network.cidr", f"VPC CIDRs must be /16 to /28, got /{vpc.prefixlen}", "use a /16 to /20")
        return None
    compute: ComputeSettings | None = sections.get("compute")
    if compute is None:
        return None  # capacity unknown: its own problems are already reported
    with_public = n.egress in (Egress.NAT_GATEWAY, Egress.NAT_INSTANCE)
    demand = compute.demand()
    if n.private_subnet_cidrs is not None:
        return _explicit_subnets(n, vpc, demand, with_public, path, issues)
    try:
        return capacity.plan_subnets(n.cidr, n.az_count, demand, with_public)
    except capacity.PlanError as exc:
        issues.add(
            path,
            "strata:network.cidr",
            f"{n.cidr} is too small for the configured capacity: {exc}",
            "use a larger VPC (e.g. a /16) or lower strata:compute maxVcpus",
        )
        return None


def _explicit_subnets(n: NetworkSettings, vpc: Any, demand: capacity.Demand, with_public: bool, path: str, issues: _Issues):
    key = "strata:network.privateSubnetCidrs"
    private = list(n.private_subnet_cidrs or ())
    public = list(n.public_subnet_cidrs or ())
    before = len(issues)
    if len(private) != n.az_count:
        issues.add(path, key, f"{len(private)} subnets for azCount {n.az_count}", "give one private subnet per AZ")
    if with_public and len(public) != n.az_count:
        issues.add(
            path,
            "strata:network.publicSubnetCidrs",
            f"NAT egress needs one public subnet per AZ, got {len(public)}",
            "list azCount public /28 subnets, or set egress: none / endpoints",
        )
    for k, cidr in [(key, c) for c in private] + [("strata:network.publicSubnetCidrs", c) for c in public]:
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError as exc:
            issues.add(path, k, f"{cidr!r} is not a network: {exc}", "use a CIDR such as 10.20.0.0/20")
            continue
        if not net.subnet_of(vpc):
            issues.add(path, k, f"{cidr} is outside the VPC {vpc}", f"choose subnets inside {vpc}")
    if len(issues) > before:
        return None
    for a, b in capacity.overlapping(private + public):
        issues.add(path, "strata:network", f"subnets {a} and {b} overlap", "give every subnet its own address range")
    per_az = -(-demand.total // n.az_count)
    too_small = [c for c in private if ipaddress.ip_network(c).prefixlen > capacity.private_prefix_for(per_az)]
    for c in too_small:
        issues.add(
            path,
            key,
            f"{c} is too small for the configured capacity ({per_az} addresses per AZ at peak)",
            f"use at least a /{capacity.private_prefix_for(per_az)} or lower strata:compute maxVcpus",
        )
    if len(issues) > before:
        return None
    usable = sum(ipaddress.ip_network(c).num_addresses - capacity.RESERVED_PER_SUBNET for c in private)
    return capacity.SubnetPlan(private=tuple(private), public=tuple(public), usable_private_ips=usable)


def _load_teams(
    stack: str, teams_dir: Path, known_envs: set[str], compute: ComputeSettings | None, issues: _Issues
) -> list[Team]:
    files = sorted(teams_dir.glob("*.yaml")) + sorted(teams_dir.glob("*.yml"))
    seen: dict[str, Path] = {}
    teams: list[Team] = []
    for full in files:
        # Report paths as the user knows them: relative to the project (stacks/teams/x.yaml).
        path = full.relative_to(teams_dir.parent.parent) if teams_dir.parent.parent in full.parents else full
        doc = read_yaml(full, issues, path)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            issues.add(path, "(file)", "a team file is a mapping", "start with 'team: <name>'")
            continue
        try:
            tf = TeamFile.model_validate(doc)
        except ValidationError as err:
            _pydantic_issues(issues, err, str(path), "", TeamFile)
            continue
        if not naming.TEAM_NAME.match(tf.team):
            issues.add(
                path,
                "team",
                f"{tf.team!r} is not a valid team name",
                "use 2-24 characters of a-z, 0-9 and single hyphens, starting with a letter",
            )
            continue
        if tf.team in seen:
            issues.add(
                path,
                "team",
                f"team {tf.team!r} is already declared in {seen[tf.team]}",
                "give each team one file; rename or merge the duplicate",
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
        teams.append(
            Team(
                name=tf.team,
                cost_center=tf.cost_center,
                contacts=tf.contacts,
                priority=env_cfg.priority,
                max_vcpus=env_cfg.max_vcpus,
                gpu_max_vcpus=env_cfg.gpu_max_vcpus,
                principals=env_cfg.principals,
            )
        )
    return teams


def _check_team_quota(team: str, t: TeamEnvironment, stack: str, c: ComputeSettings, path: Path, issues: _Issues) -> None:
    key = f"environments.{stack}"
    if t.gpu_max_vcpus > 0 and not c.gpu.enabled:
        issues.add(
            path,
            f"{key}.gpuMaxVcpus",
            f"a GPU quota of {t.gpu_max_vcpus}, but stack {stack!r} has GPUs disabled",
            f"set gpuMaxVcpus: 0, or enable strata:compute.gpu in stacks/Pulumi.{stack}.yaml",
        )
    elif c.gpu.enabled and t.gpu_max_vcpus > c.gpu.max_vcpus:
        issues.add(
            path,
            f"{key}.gpuMaxVcpus",
            f"{t.gpu_max_vcpus} exceeds the environment's GPU capacity ({c.gpu.max_vcpus})",
            f"lower it to <= {c.gpu.max_vcpus}",
        )
    cpu_cap = c.cpu.max_vcpus + (c.spot.max_vcpus if c.spot.enabled else 0)
    if t.max_vcpus > cpu_cap:
        issues.add(
            path,
            f"{key}.maxVcpus",
            f"{t.max_vcpus} exceeds the environment's CPU capacity ({cpu_cap})",
            f"lower it to <= {cpu_cap}, or raise strata:compute maxVcpus",
        )


def queues_for(compute: ComputeSettings, team: Team) -> list[str]:
    """The job-queue kinds a team gets in an environment: ``cpu`` always, ``gpu`` for GPU-entitled
    teams where GPUs are enabled, ``fargate`` where Fargate is enabled (Fargate compute environments
    cannot share a queue with EC2 ones)."""
    kinds = ["cpu"]
    if team.gpu and compute.gpu.enabled:
        kinds.append("gpu")
    if compute.fargate.enabled:
        kinds.append("fargate")
    return kinds


def _check_batch_limits(s: StackSettings, teams: list[Team], path: str, issues: _Issues) -> None:
    queues = sum(len(queues_for(s.compute, t)) for t in teams)
    if queues > BATCH_MAX_JOB_QUEUES:
        issues.add(
            path,
            "(teams)",
            f"{len(teams)} teams need {queues} job queues; AWS Batch allows {BATCH_MAX_JOB_QUEUES} per region",
            "split teams across regions or accounts, or turn off per-team GPU/Fargate queues",
        )
    ces = len(s.compute.compute_environment_kinds())
    if ces > BATCH_MAX_COMPUTE_ENVIRONMENTS:
        issues.add(
            path,
            "strata:compute",
            f"{ces} compute environments exceed AWS Batch's {BATCH_MAX_COMPUTE_ENVIRONMENTS}",
            "disable a capacity pool",
        )


# ---------------------------------------------------------------- entry points


def load_from_files(project_dir: Path, stack: str) -> Platform:
    """Read and validate a stack and the team files straight from disk (no Pulumi runtime)."""
    project_dir = Path(project_dir)
    issues = _Issues()
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
    )


def pulumi_config_strings(project_dir: Path, stack: str) -> dict[str, str]:
    """The stack's config in the form the Pulumi CLI passes it to a program: every value a string,
    objects and arrays as JSON. Used to run the program in-process exactly as ``pulumi up`` would."""
    issues = _Issues()
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
    )
