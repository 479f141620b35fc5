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
import functools
import ipaddress
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from core import capacity, naming, secret_guard

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


class Invalid(ValueError):
    """A field validator's refusal in plain words, with its fix (:func:`_pydantic_issues` reads both back)."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.fix = fix


def _emails(value: tuple[str, ...]) -> tuple[str, ...]:
    bad = [c for c in value if not EMAIL.match(c)]
    if bad:
        what = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
        raise Invalid(f"{', '.join(map(repr, bad))} {what}", "write one address per entry, e.g. [team@example.com]")
    return value


Emails = Annotated[tuple[str, ...], AfterValidator(_emails)]


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
    """``strata:network``: create a VPC sized from the compute capacity, or adopt an existing one."""

    # create: a new VPC; adopt: an existing VPC given by vpcId, privateSubnetIds and privateRouteTableIds.
    mode: NetworkMode = NetworkMode.CREATE
    # create: the VPC's private (RFC 1918) range, /16 to /28, large enough for the compute capacity.
    cidr: str | None = None
    # Availability Zones with a private subnet each (Redshift Serverless needs 3).
    az_count: int = Field(2, ge=2, le=6)
    egress: Egress = Egress.NAT_INSTANCE
    # egress nat-instance: the NAT instance's type.
    nat_instance_type: str = "t4g.nano"
    # VPC flow logs' retention; one of LOG_RETENTION_DAYS.
    flow_log_retention_days: int = 30
    # Explicit subnets (one per AZ) instead of the ones planned from the capacity.
    private_subnet_cidrs: tuple[str, ...] | None = None
    # Explicit public subnets (NAT egress only; one /28 per AZ is enough).
    public_subnet_cidrs: tuple[str, ...] | None = None
    # adopt: the VPC's id (vpc-...).
    vpc_id: str | None = None
    # adopt: private subnets in >= 2 AZs.
    private_subnet_ids: tuple[str, ...] = ()
    # adopt: the private subnets' route tables (for the S3 gateway endpoint).
    private_route_table_ids: tuple[str, ...] = ()


class DatastoreSettings(Model):
    noncurrent_version_expiration_days: int = Field(90, gt=0)
    abort_incomplete_upload_days: int = Field(7, gt=0)
    # Move objects to S3 Intelligent-Tiering after this many days; null turns tiering off.
    tiering_after_days: int | None = Field(30, ge=0)
    access_log_expiration_days: int = Field(365, gt=0)


class CpuPool(Model):
    """The on-demand CPU pool (``strata:compute.cpu``); scales to zero."""

    # The most vCPUs the pool runs at once.
    max_vcpus: int = Field(gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i")


class SpotPool(Model):
    """The Spot CPU pool (``strata:compute.spot``); scales to zero."""

    enabled: bool = True
    max_vcpus: int = Field(256, gt=0)
    instance_types: tuple[str, ...] = ("c6i", "m6i", "r6i", "c5", "m5")
    # The most a Spot instance may cost, in percent of its on-demand price.
    bid_percentage: int = Field(100, gt=0, le=100)


class GpuPool(Model):
    """The GPU pool (``strata:compute.gpu``), for GPU-entitled teams; scales to zero."""

    enabled: bool = False
    max_vcpus: int = Field(64, gt=0)
    instance_types: tuple[str, ...] = ("g5", "g4dn")


class FargatePool(Model):
    """The Fargate pool (``strata:compute.fargate``): a Fargate queue per team."""

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


class OrchestrationSettings(Model):
    """``strata:orchestration``: Step Functions, its DynamoDB state table and EventBridge schedules."""

    # Retention of the Step Functions execution-history log group; one of LOG_RETENTION_DAYS.
    log_retention_days: int = 30


class AlarmThresholds(Model):
    """When the platform's alarms fire (``strata:observability.alarms``); see modules/observability/README.md."""

    # Failed Batch jobs of one team in 15 minutes. The team hears of every failure on its own topic;
    # this alarm tells the platform engineers about failures in bulk (a broken image, a quota, Spot).
    failed_jobs: int = Field(5, gt=0)
    # 5xx responses of the metadata API in 5 minutes.
    api_errors: int = Field(5, gt=0)
    # Database: average CPU over 15 minutes, connections, free storage (RDS instances only).
    db_cpu_percent: int = Field(80, gt=0, le=100)
    db_connections: int = Field(80, gt=0)
    db_free_storage_gb: int = Field(2, gt=0)
    # Provisioned Redshift: disk used.
    warehouse_disk_percent: int = Field(80, gt=0, le=100)


class ObservabilitySettings(Model):
    """``strata:observability``: who is alerted, what the environment may spend, how long logs live."""

    # Subscribed (e-mail) to the environment's alarm topic and to the environment budget's alerts
    # (at most 10: an AWS Budgets notification takes up to 10 e-mail subscribers).
    alert_emails: Emails = Field(min_length=1, max_length=10)
    # The environment-wide monthly budget (USD); every team's own budget comes from its team file.
    monthly_budget_usd: float = Field(gt=0)
    # Retention of the log groups this layer creates (Batch job logs); one of LOG_RETENTION_DAYS.
    log_retention_days: int = 30
    # Own /aws/batch/job (retention + encryption). One per account and region: a second stack in the
    # same account must set false (the group exists once per region).
    manage_batch_log_group: bool = True
    # CloudWatch dashboard (3 free per account, then $3/month each).
    dashboard: bool = True
    # Activate the tag keys as cost-allocation tags. Only the payer (management) account may: turn it
    # on in exactly one stack of that account.
    activate_cost_allocation_tags: bool = False
    alarms: AlarmThresholds = AlarmThresholds()


# Tag keys every taggable resource carries (through the provider's default tags, with per-team values
# on team resources); cost allocation and the budgets' filters depend on them.
REQUIRED_TAG_KEYS = ("environment", "team", "cost-center", "managed-by")
MANAGED_BY = "strata"
# https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (key <= 128, value <= 256)
_TAG_KEY_MAX, _TAG_VALUE_MAX = 128, 256


class DefaultTags(Model):
    """``aws:defaultTags`` — the AWS provider's own config key, so the provider tags every taggable
    resource of the stack (resource tags with the same key win). Validated here because cost
    allocation and the budgets depend on it."""

    tags: dict[str, str] = Field(min_length=1)


# ---------------------------------------------------------------- metadata (strata:metadata)

# Aurora PostgreSQL majors in standard support. An end-of-life major moves to RDS Extended Support,
# billed per vCPU-hour ($0.10-0.20, i.e. up to $146/month per vCPU): never deploy one.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurorapostgresql-release-calendar.html
METADATA_POSTGRES_MAJORS = (16, 17)
# Minimum capacity 0 ACU (auto-pause) needs Aurora PostgreSQL >= 16.3 on major 16 (every 17.x has it).
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
AUTO_PAUSE_MIN_MINOR = {16: 3, 17: 0}
# Fargate task sizes: CPU units -> allowed memory (MiB).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class FrontDoor(StrEnum):
    """How clients reach the metadata service (us-east-1 list prices; modules/metadata/README.md).

    * ``http-api``: API Gateway HTTP API + VPC link to the service's Cloud Map entry; each team's key is
      checked by a Lambda REQUEST authorizer. No load balancer: $0.50/month (private DNS zone) + $0.10
      per running task + $1.00 per million requests.
    * ``rest-api-nlb``: REST API (usage plans: per-team throttle and quota; PRIVATE endpoints) + VPC link
      to an internal NLB: $16.43/month + NLCUs + $3.50 per million requests; PRIVATE adds an execute-api
      interface endpoint ($7.30/month per AZ).
    """

    HTTP_API = "http-api"
    REST_API_NLB = "rest-api-nlb"


class ApiEndpointType(StrEnum):
    REGIONAL = "REGIONAL"
    PRIVATE = "PRIVATE"  # REST APIs only; reachable through an execute-api interface endpoint


class MetadataMode(StrEnum):
    """What the generated profiles use: ``service`` (the deployed service) or ``local`` (Metaflow's
    local metadata, e.g. in the moto cloud, where ECS starts no tasks and API stages cannot be invoked)."""

    SERVICE = "service"
    LOCAL = "local"


class MetadataDatabase(Model):
    """Aurora PostgreSQL Serverless v2 (one engine everywhere; differences are data)."""

    engine_version: str = "17.4"
    # ACUs. 0 lets the instances pause after secondsUntilAutoPause without connections ($0 compute).
    min_capacity: float = Field(0, ge=0, le=256)
    max_capacity: float = Field(2, ge=1, le=256)
    seconds_until_auto_pause: int = Field(600, ge=300, le=86400)
    # Writer + readers. >= 2 puts a reader in another AZ (Multi-AZ failover).
    instances: int = Field(1, ge=1, le=16)
    backup_retention_days: int = Field(7, ge=1, le=35)
    deletion_protection: bool = False
    final_snapshot: bool = False
    # Server-side idle_session_timeout: closes pooled connections the service keeps open, so that the
    # cluster can pause (the service's aiopg pool has no idle timeout of its own). 0 turns it off.
    idle_session_timeout_seconds: int = Field(60, ge=0)


class MetadataServiceSettings(Model):
    image: str = "netflixoss/metaflow_metadata_service"
    image_tag: str = "v2.5.0"
    # netflixoss/metaflow_metadata_service is published for linux/amd64 only.
    cpu_architecture: str = Field("X86_64", pattern="^(X86_64|ARM64)$")
    cpu: int = 256
    memory: int = 512
    desired_count: int = Field(1, ge=1, le=100)
    max_count: int = Field(1, ge=1, le=100)
    target_cpu_percent: int = Field(60, ge=10, le=90)
    log_retention_days: int = 30
    container_insights: bool = False


class MetadataApiSettings(Model):
    # Stage-wide throttling (every team together), requests per second and burst.
    throttle_rate_limit: float = Field(50, gt=0)
    throttle_burst_limit: int = Field(100, gt=0)
    # How long API Gateway caches an authorizer decision per key (fewer Lambda calls).
    authorizer_cache_seconds: int = Field(300, ge=0, le=3600)
    access_log_retention_days: int = 30
    # rest-api-nlb: API Gateway's CloudWatch role is ONE setting per account and region. Exactly one stack
    # per account+region should own it (true); the others set false and use it (its role writes every
    # Strata environment's access-log group). Two owners overwrite each other, and destroying the owner
    # deletes the role the others log through.
    manage_account_logging_role: bool = True


class MetadataUsagePlan(Model):
    """Each team's usage plan (``rest-api-nlb`` only): its own throttle and daily quota, per environment."""

    rate_limit: float = Field(20, gt=0)
    burst_limit: int = Field(40, gt=0)
    quota_per_day: int = Field(200_000, gt=0)


class MetadataUiAuth(StrEnum):
    """Who may open the UI: the internal ALB authenticates every request before it reaches a task.

    * ``oidc``: any OpenID Connect provider (Okta, Entra ID, Google...); the client secret is read from a
      Secrets Manager secret at deploy time (the ALB needs it in its listener configuration).
    * ``cognito``: an existing Amazon Cognito user pool, app client and domain (no secret to handle).
    """

    OIDC = "oidc"
    COGNITO = "cognito"


class MetadataUi(Model):
    """``strata:metadata.ui``: the Metaflow UI (a backend from the metadata image + the static UI) on
    Fargate behind an internal Application Load Balancer that logs every user in first (modules/metadata/ui.py)."""

    enabled: bool = False
    # The name users open (https://<domainName>); the certificate must cover it, and the IdP's allowed
    # callback must be https://<domainName>/oauth2/idpresponse. Point a DNS record at the ALB's name.
    domain_name: str | None = None
    certificate_arn: str | None = None
    auth: MetadataUiAuth | None = None
    oidc_issuer: str | None = None
    oidc_authorization_endpoint: str | None = None
    oidc_token_endpoint: str | None = None
    oidc_user_info_endpoint: str | None = None
    oidc_client_id: str | None = None
    # A Secrets Manager secret whose SecretString is the client secret (never the secret itself here).
    oidc_client_secret_arn: str | None = None
    cognito_user_pool_arn: str | None = None
    cognito_client_id: str | None = None
    cognito_domain: str | None = None
    # Who may reach the internal ALB on 443 (VPN, Direct Connect, peered VPCs). Empty: the VPC's CIDR.
    allowed_cidrs: tuple[str, ...] = ()
    # How long a login lasts (the ALB's session cookie). ALB's own default is 7 days; 8 hours here.
    session_timeout_seconds: int = Field(28800, ge=300, le=604800)
    static_image: str = "public.ecr.aws/outerbounds/metaflow_ui"
    static_image_tag: str = "v1.2.4"
    # Fargate sizes. The backend (services.ui_backend_service) caches run data and reads artifacts.
    backend_cpu: int = 1024
    backend_memory: int = 2048
    static_cpu: int = 256
    static_memory: int = 512


class MetadataSettings(Model):
    """``strata:metadata``: the Metaflow metadata service, its database and its API (modules/metadata)."""

    enabled: bool = True
    metadata_mode: MetadataMode = MetadataMode.SERVICE
    front_door: FrontDoor = FrontDoor.HTTP_API
    endpoint_type: ApiEndpointType = ApiEndpointType.REGIONAL
    database: MetadataDatabase = MetadataDatabase()
    service: MetadataServiceSettings = MetadataServiceSettings()
    api: MetadataApiSettings = MetadataApiSettings()
    usage_plan: MetadataUsagePlan = MetadataUsagePlan()
    ui: MetadataUi = MetadataUi()

    @property
    def auto_pause(self) -> bool:
        return self.database.min_capacity == 0

    @property
    def autoscaling(self) -> bool:
        return self.service.max_count > self.service.desired_count


# ---------------------------------------------------------------- warehouse (strata:warehouse)


class WarehouseMode(StrEnum):
    """Redshift Serverless (billed only while queries run) or a provisioned cluster (billed every hour).

    * ``serverless``: a namespace + workgroup. Idle cost is storage only ($0.024/GB-month) plus the admin
      secret ($0.40/month); compute is $0.375 per RPU-hour while queries run (60 s minimum).
    * ``provisioned``: a cluster of ``nodeCount`` x ``nodeType`` nodes, billed around the clock
      (ra3.xlplus $792.78/month a node). The ``local`` stack uses it: moto has no Serverless backend.
    """

    SERVERLESS = "serverless"
    PROVISIONED = "provisioned"


# Redshift Serverless base capacity: 4 RPU, or 8 to 512 in steps of 8; 512 to 1024 in steps of 32 only
# in the regions listed. https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html
SERVERLESS_MIN_BASE_CAPACITY = 4
SERVERLESS_EXTENDED_CAPACITY_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
# A workgroup needs subnets in three Availability Zones (us-west-1: three subnets in two AZs).
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html
SERVERLESS_MIN_AZS = 3
# IAM roles associated with one cluster or namespace (Strata associates one COPY/UNLOAD role per team).
# https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html
REDSHIFT_MAX_IAM_ROLES = 50
# Node types a provisioned cluster may use. DC2 was deprecated in April 2025 (RA3 or Serverless instead).
REDSHIFT_NODE_TYPES = ("ra3.large", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge", "dc2.large", "dc2.8xlarge")
# Automated snapshots a production cluster keeps at least (days).
PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS = 7
# ddd:hh24:mi-ddd:hh24:mi (UTC), at least 30 minutes.
MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WarehouseSettings(Model):
    """``strata:warehouse``: the Redshift warehouse (modules/warehouse)."""

    enabled: bool = True
    mode: WarehouseMode = WarehouseMode.SERVERLESS
    # Serverless: RPUs a query starts with (see SERVERLESS_* above). Billed only while queries run.
    base_capacity: int = 8
    # Provisioned only.
    node_type: str = "ra3.xlplus"
    node_count: int = Field(1, ge=1, le=128)
    # Provisioned: automated snapshots kept (1-35 days; 0, which turns them off, is refused).
    # Serverless keeps its own recovery points (every 30 minutes, for 24 hours) and ignores it.
    snapshot_retention_days: int = Field(7, ge=1, le=35)
    # Provisioned: weekly maintenance window, UTC (Serverless has none).
    maintenance_window: str = "sun:05:00-sun:05:30"
    # Audit logs (connections, user changes, every query) in CloudWatch; one of LOG_RETENTION_DAYS.
    audit_log_retention_days: int = 365


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
    observability: ObservabilitySettings
    default_tags: DefaultTags


# ---------------------------------------------------------------- teams (stacks/teams/*.yaml)


class TeamEnvironment(Model):
    """The team in one environment (``environments.<env>`` of its team file)."""

    # Batch job-queue priority: higher runs first when queues share compute environments.
    priority: int = Field(10, ge=0, le=1000)
    # The most vCPUs the team's jobs use at once here (its CPU queues); <= the environment's CPU capacity.
    max_vcpus: int = Field(gt=0)
    # > 0 makes the team GPU-entitled here (a GPU queue); needs strata:compute.gpu.enabled.
    gpu_max_vcpus: int = Field(0, ge=0)
    # IAM principals (account root, role or user ARNs) allowed to assume the team's data-scientist role.
    principals: tuple[str, ...] = Field(min_length=1)
    # The team's monthly AWS Budget in this environment (USD), filtered by its `team` tag; alerts at
    # 80% and 100% go to the team's contacts.
    monthly_budget_usd: float = Field(gt=0)

    @field_validator("principals")
    @classmethod
    def _arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [p for p in value if not PRINCIPAL_ARN.match(p)]
        if bad:
            raise Invalid(
                f"not an IAM account, role or user ARN: {', '.join(map(repr, bad))}",
                "use arn:aws:iam::<12-digit account>:root, ...:role/<name> or ...:user/<name> (no wildcards)",
            )
        return value


class TeamFile(Model):
    """A team file, ``stacks/teams/<team>.yaml``: one team, owned by that team (docs/configuration.md#team-files)."""

    # The team's name; the file must be named after it (<team>.yaml). 2-24 characters of a-z, 0-9 and
    # single hyphens, starting with a letter: it appears in role, queue and bucket-prefix names.
    team: str
    # One line on what the team does, for whoever reads the file.
    description: str = ""
    # Tagged on the team's resources (cost-center) and used by cost allocation.
    cost_center: str = Field(min_length=1)
    # E-mail addresses for the team's budget alerts and failed Batch jobs. At most 10: an AWS Budgets
    # notification takes up to 10 e-mail subscribers.
    contacts: Emails = Field(min_length=1, max_length=10)
    # One section per environment (stack) the team exists in; a team without one is not deployed there.
    environments: dict[str, TeamEnvironment] = Field(min_length=1)


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
    monthly_budget_usd: float | None = None  # the team file's environments.<env>.monthlyBudgetUsd

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


def _check_log_retention(days: int, path: str, key: str, issues: _Issues) -> None:
    """A log group retention must be one CloudWatch accepts (LOG_RETENTION_DAYS)."""
    if days not in LOG_RETENTION_DAYS:
        issues.add(path, key, f"{days} is not a CloudWatch retention", f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")


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


# Where every key's type, default and meaning is written down; fixes point there.
STACK_REFERENCE = "docs/configuration.md#stack-files and schemas/stack.schema.json"
TEAM_REFERENCE = "docs/configuration.md#team-files and schemas/team.schema.json"
REMOVING_A_TEAM = "docs/configuration.md#removing-a-team"
# pydantic's own phrasing: none of it may reach a user (tests/unit/test_config.py asserts it never does).
PYDANTIC_JARGON = (
    "Input should",
    "after validation",
    "Value error",
    "should have at least",
    "should have at most",
    "should be a valid",
    "should match pattern",
    "Tuple should",
    "List should",
    "Dictionary should",
    "String should",
    "errors.pydantic.dev",
    "[type=",
)

_MISSING_FIX = {
    "aws:region": "add 'aws:region: us-east-1' (or your region) under config:",
    "strata:namePrefix": "add 'strata:namePrefix: <your-org>-ml' (it starts every bucket name)",
    "strata:network": "add strata:network with at least 'cidr: 10.20.0.0/16'",
    "strata:compute": "add strata:compute with at least 'cpu: {maxVcpus: 64}'",
    "strata:observability": "add strata:observability with 'alertEmails: [you@example.com]' and 'monthlyBudgetUsd: 500'",
    "aws:defaultTags": "add aws:defaultTags with 'tags:' environment, team, cost-center and managed-by: strata",
}
# A missing key inside a section, by its own name: what to write.
_MISSING_STACK_FIX = {
    "cpu": "add 'cpu: {maxVcpus: 64}' (the on-demand CPU pool)",
    "maxVcpus": "add 'maxVcpus: 64' (the pool's most vCPUs at once)",
    "alertEmails": "add 'alertEmails: [oncall@example.com]' (who gets the environment's alarms and budget alerts)",
    "monthlyBudgetUsd": "add 'monthlyBudgetUsd: 2500' (the environment's monthly AWS Budget, USD)",
    "tags": "add 'tags:' with environment, team, cost-center and managed-by: strata",
}
_MISSING_TEAM_FIX = {
    "costCenter": "add 'costCenter: <your cost center>' (e.g. cc-4410): the team's resources are tagged with it",
    "contacts": "add 'contacts: [team@example.com]': the team's budget alerts and failed-job e-mails go there",
    "environments": "add 'environments:' with a section per environment the team exists in (e.g. 'dev:')",
    "maxVcpus": "add 'maxVcpus: 64': the most vCPUs the team's jobs use at once in this environment",
    "principals": "add 'principals: [\"arn:aws:iam::111111111111:role/<team>-developers\"]': who may assume the team's role",
    "monthlyBudgetUsd": "add 'monthlyBudgetUsd: 500': the team's monthly AWS Budget in this environment (USD)",
}
# Examples for a list or mapping that may not be empty, by key name.
_EXAMPLES = {
    "principals": '["arn:aws:iam::111111111111:role/<team>-developers"]',
    "contacts": "[team@example.com]",
    "alertEmails": "[oncall@example.com]",
    "environments": "'dev:' with maxVcpus, principals and monthlyBudgetUsd",
    "tags": "'cost-center: ml-platform'",
}
_INT_ERRORS = ("int_type", "int_parsing", "int_from_float", "int_parsing_size")
_NUMBER_ERRORS = ("float_type", "float_parsing", "finite_number")
_LIST_ERRORS = ("tuple_type", "list_type", "set_type", "frozen_set_type", "iterable_type")
_MAPPING_ERRORS = ("dict_type", "model_type", "model_attributes_type", "mapping_type")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _what(value: Any) -> str:
    """What a YAML value is, in a user's words."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a single value"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    return "a list" if isinstance(value, list | tuple) else type(value).__name__


def _plain(e: Mapping[str, Any], key: str, reference: str) -> tuple[str, str]:
    """One pydantic error as (problem, fix) in plain words, never pydantic's own message.

    The error types: https://docs.pydantic.dev/latest/errors/validation_errors/"""
    problem, fix = _plain_words(e, key, reference)
    if e.get("input") is None and e["type"] not in ("value_error", "assertion_error"):
        # `key:` with nothing after the colon is YAML's null.
        problem = f"{key.rsplit('.', 1)[-1]} has no value"
    return problem, fix


def _plain_words(e: Mapping[str, Any], key: str, reference: str) -> tuple[str, str]:
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    name = key.rsplit(".", 1)[-1].split("[")[0]
    # A secret-bearing key's value is never echoed (secret_guard.is_secret_key), whatever went wrong with it.
    shown = "the value" if secret_guard.is_secret_key(key) else _short(value)
    if kind in _INT_ERRORS:
        return f"{shown} is not a whole number", "write a whole number (digits only), e.g. 8"
    if kind in _NUMBER_ERRORS:
        return f"{shown} is not a number", "write a number, e.g. 500 or 0.5"
    if kind in ("bool_type", "bool_parsing"):
        return f"{shown} is not true or false", "write true or false"
    if kind in ("string_type", "string_unicode"):
        if shown == "the value":
            return "the value is not text", "write a single text value"
        if isinstance(value, bool | int | float):
            return (
                f"{shown} is {_what(value)}, not text",
                f"quote it: '{str(value).lower() if isinstance(value, bool) else value}'",
            )
        return f"{shown} is {_what(value)}, not text", "write a single text value"
    if kind in ("enum", "literal_error"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{shown} is not one of the allowed values", f"{hint}use one of: {', '.join(allowed)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and ctx:
        bound = next(iter(ctx.values()))
        size, op = {
            "greater_than": ("small", ">"),
            "greater_than_equal": ("small", ">="),
            "less_than": ("large", "<"),
            "less_than_equal": ("large", "<="),
        }[kind]
        return f"{shown} is too {size}", f"use a value {op} {bound}"
    if kind == "multiple_of":
        return f"{shown} is not a multiple of {ctx.get('multiple_of')}", f"use a multiple of {ctx.get('multiple_of')}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        example = f", e.g. {_EXAMPLES[name]}" if name in _EXAMPLES else ""
        have = "is empty" if not ctx.get("actual_length") else f"has {ctx['actual_length']} entries"
        return (
            f"{name} {have}; at least {n} {'entry is' if n == 1 else 'entries are'} needed",
            f"{'give' if ctx.get('field_type') == 'Dictionary' else 'list'} at least {n}{example}",
        )
    if kind == "too_long":
        n = ctx.get("max_length")
        return f"{name} has {ctx.get('actual_length')} entries; at most {n} are allowed", f"keep at most {n}"
    if kind == "string_too_short":
        return f"{name} is empty", f"give it a value (see {reference})"
    if kind == "string_too_long":
        return f"{name} is longer than {ctx.get('max_length')} characters", "shorten it"
    if kind == "string_pattern_mismatch":
        choices = re.fullmatch(r"\^\(([\w|-]+)\)\$", str(ctx.get("pattern", "")))
        if choices:
            return f"{shown} is not one of the allowed values", f"use one of: {', '.join(choices[1].split('|'))}"
        return f"{shown} does not have the expected form", f"use a value matching {ctx.get('pattern')}"
    if kind in _LIST_ERRORS:
        fix = (
            f"write it as a list: [{value}]"
            if isinstance(value, str) and shown != "the value"
            else "write a list: [a, b], or one '- item' per line"
        )
        return f"{shown} is {_what(value)}, not a list", fix
    if kind in _MAPPING_ERRORS:
        return f"{shown} is {_what(value)}, not a mapping", f"write 'key: value' lines indented under {name} (see {reference})"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error), getattr(error, "fix", f"correct the value (see {reference})")
    # Any other type: pydantic's sentence, without its vocabulary.
    problem = str(e.get("msg", "invalid value")).removeprefix("Value error, ").replace("Input should be", "expected")
    return problem.replace(" after validation", ""), f"correct the value (see {reference})"


def _pydantic_issues(
    issues: _Issues,
    err: ValidationError,
    file: str,
    prefix: str,
    model: type[BaseModel],
    key_map: Mapping[str, str] | None = None,
) -> None:
    """Every error in ``err`` as an issue: the key as written in the file, plain words, a fix that says
    what to write and where keys are documented (:data:`TEAM_REFERENCE` / :data:`STACK_REFERENCE`)."""
    team = issubclass(model, (TeamFile, TeamEnvironment))
    reference = TEAM_REFERENCE if team else STACK_REFERENCE
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
            issues.add(file, key, "unknown key", f"{hint}allowed keys here: {', '.join(sorted(allowed))} (see {reference})")
        elif kind == "missing":
            name = str(loc[-1]) if loc else key
            fix = _MISSING_FIX.get(key) or (_MISSING_TEAM_FIX if team else _MISSING_STACK_FIX).get(name) or f"add {name}"
            if team and loc == ("team",):
                fix = f"add 'team: {Path(file).stem}' (a team file is named after its team)"
            issues.add(file, key, "required key is missing", f"{fix} (see {reference})")
        else:
            problem, fix = _plain(e, key, reference)
            issues.add(file, key, problem, fix)


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
    "strata:orchestration": "orchestration",
    "strata:metadata": "metadata",
    "strata:observability": "observability",
    "strata:warehouse": "warehouse",
    "aws:defaultTags": "defaultTags",
}
# Keys of other providers/projects that a stack file may carry and we leave to their owners.
_FOREIGN_NAMESPACES = ("aws:", "pulumi:")


def _check_plaintext_secrets(
    config: Mapping[str, Any], path: str, issues: _Issues, secret_keys: Collection[str], required: Collection[str]
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
    issues: _Issues | None = None,
    secret_keys: Collection[str] = (),
    required_secrets: Collection[str] = (),
) -> Platform:
    """Validate ``config`` (a stack's ``strata:*``/``aws:*`` values) and the team files into a Platform.

    ``secret_keys``: keys the Pulumi runtime holds as secrets; ``required_secrets``: keys Pulumi.yaml
    declares ``secret: true`` (see :func:`_check_plaintext_secrets`)."""
    issues = issues if issues is not None else _Issues()
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
    _check_observability(sections, stack, stack_path, issues)
    teams = _load_teams(stack, teams_dir, known_envs, sections.get("compute"), issues)
    _check_warehouse(sections, teams, stack_path, issues)
    if settings is not None:
        _check_batch_limits(settings, teams, stack_path, issues)
        _check_budgets(settings, teams, stack_path, issues)
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
                fix = _MISSING_FIX.get(key_map[alias], f"add {key_map[alias]}")
                issues.add(path, key_map[alias], "required key is missing", f"{fix} (see {STACK_REFERENCE})")
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


def _check_region(region: str | None, path: str, issues: _Issues) -> None:
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


def _network(
    cidr: str, path: str, key: str, issues: _Issues, example: str, smallest: int = 28
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``cidr`` as a network, or None and an issue. A block with host bits set (``10.30.5.0/16``) gets the
    network it lies in as its fix (``10.30.0.0/16``), and the block that starts at its address if that is
    at most a /``smallest``, never an unrelated example."""
    try:
        return ipaddress.ip_network(cidr)
    except ValueError as exc:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            issues.add(path, key, f"{cidr!r} is not a network: {exc}", f"write <address>/<prefix length>, e.g. {example}")
            return None
    address = ipaddress.ip_interface(cidr).ip
    # The longest prefix at which the address is itself a network address: its trailing zero bits.
    own = address.max_prefixlen - ((int(address) & -int(address)).bit_length() - 1)
    alternative = f", or {address}/{own} if you meant the block that starts at {address}" if own <= smallest else ""
    issues.add(
        path,
        key,
        f"{cidr} is not where a /{network.prefixlen} block starts (host bits set): the /{network.prefixlen} holding {address} is {network}",
        f"write {network}{alternative}",
    )
    return None


def _check_stack(sections: dict[str, Any], stack: str, path: str, issues: _Issues) -> capacity.SubnetPlan | None:
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
        _check_log_retention(o.log_retention_days, path, "strata:orchestration.logRetentionDays", issues)
    n: NetworkSettings | None = sections.get("network")
    if n is None:
        return None
    _check_log_retention(n.flow_log_retention_days, path, "strata:network.flowLogRetentionDays", issues)
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
    vpc = _network(n.cidr, path, "strata:network.cidr", issues, "10.20.0.0/16")
    if vpc is None:
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


def _check_observability(sections: dict[str, Any], stack: str, path: str, issues: _Issues) -> None:
    """``strata:observability`` retention, and ``aws:defaultTags`` carrying the tags cost allocation needs."""
    o: ObservabilitySettings | None = sections.get("observability")
    if o is not None:
        _check_log_retention(o.log_retention_days, path, "strata:observability.logRetentionDays", issues)
    d: DefaultTags | None = sections.get("default_tags")
    if d is None:
        return
    key = "aws:defaultTags.tags"
    for tag in REQUIRED_TAG_KEYS:
        if not d.tags.get(tag, "").strip():
            issues.add(
                path,
                f"{key}.{tag}",
                f"the required tag {tag!r} is missing or empty",
                f"add '{tag}: <value>' under aws:defaultTags.tags (required: {', '.join(REQUIRED_TAG_KEYS)})",
            )
    if d.tags.get("environment", stack) != stack:
        issues.add(
            path,
            f"{key}.environment",
            f"{d.tags['environment']!r} is not this stack's environment",
            f"set 'environment: {stack}' (budgets filter on it)",
        )
    if d.tags.get("managed-by", MANAGED_BY) != MANAGED_BY:
        issues.add(
            path, f"{key}.managed-by", f"{d.tags['managed-by']!r} is not {MANAGED_BY!r}", f"set 'managed-by: {MANAGED_BY}'"
        )
    for tag, value in d.tags.items():
        if tag.lower().startswith("aws:") or len(tag) > _TAG_KEY_MAX or len(value) > _TAG_VALUE_MAX:
            issues.add(
                path,
                f"{key}.{tag}",
                "not a valid AWS tag",
                f"keys are <= {_TAG_KEY_MAX} characters and may not start with 'aws:'; values are <= {_TAG_VALUE_MAX}",
            )
    # strata:tags go on resources explicitly; a resource's own tag wins over a default tag, so the two
    # must agree or shared resources would be allocated to two different cost centers.
    for tag, value in (sections.get("tags") or {}).items():
        if tag in d.tags and d.tags[tag] != value:
            issues.add(
                path,
                f"strata:tags.{tag}",
                f"{value!r} contradicts aws:defaultTags.tags.{tag} ({d.tags[tag]!r})",
                "give both the same value (or drop it from strata:tags)",
            )


_UI_AUTH_FIELDS = {
    MetadataUiAuth.OIDC: (
        "oidc_issuer",
        "oidc_authorization_endpoint",
        "oidc_token_endpoint",
        "oidc_user_info_endpoint",
        "oidc_client_id",
        "oidc_client_secret_arn",
    ),
    MetadataUiAuth.COGNITO: ("cognito_user_pool_arn", "cognito_client_id", "cognito_domain"),
}
_ARN = {
    "certificate_arn": re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"),
    "oidc_client_secret_arn": re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"),
    "cognito_user_pool_arn": re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9A-Za-z]+$"),
}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _check_metadata_ui(ui: MetadataUi, network: NetworkSettings | None, path: str, key: str, issues: _Issues) -> None:
    """The UI is never reachable without a login: HTTPS with a certificate, and an identity provider."""
    if ui.auth is None:
        issues.add(path, f"{key}.auth", "the UI needs a login", "set auth: oidc or auth: cognito (and its settings)")
    needed = ("domain_name", "certificate_arn", *(_UI_AUTH_FIELDS.get(ui.auth, ()) if ui.auth else ()))
    missing = [f for f in needed if not getattr(ui, f)]
    if missing:
        issues.add(
            path,
            key,
            f"enabling the UI needs {', '.join(map(to_camel, missing))}",
            "set them (modules/metadata/README.md, 'Metaflow UI'), or enabled: false",
        )
    for field, pattern in _ARN.items():
        value = getattr(ui, field)
        if value and not pattern.match(value):
            issues.add(
                path,
                f"{key}.{to_camel(field)}",
                f"{value!r} is not a {field.split('_arn')[0]} ARN",
                "copy the ARN from the console or CLI",
            )
    if ui.domain_name and not _DOMAIN.match(ui.domain_name):
        issues.add(
            path, f"{key}.domainName", f"{ui.domain_name!r} is not a DNS name", "use e.g. metaflow.ml.example.com (lowercase)"
        )
    for field in ("oidc_issuer", "oidc_authorization_endpoint", "oidc_token_endpoint", "oidc_user_info_endpoint"):
        value = getattr(ui, field)
        if value and not value.startswith("https://"):
            issues.add(
                path, f"{key}.{to_camel(field)}", f"{value!r} is not an https:// URL", "the ALB only talks to the IdP over HTTPS"
            )
    if ui.cognito_domain and ("." in ui.cognito_domain or "/" in ui.cognito_domain):
        issues.add(
            path, f"{key}.cognitoDomain", f"{ui.cognito_domain!r} looks like a URL", "give the domain prefix only (e.g. acme-ml)"
        )
    for cidr in ui.allowed_cidrs:
        _network(cidr, path, f"{key}.allowedCidrs", issues, "10.8.0.0/16", smallest=32)
    if network is not None and network.mode is NetworkMode.ADOPT and not ui.allowed_cidrs:
        issues.add(path, f"{key}.allowedCidrs", "an adopted VPC's CIDR is not known here", "list the CIDRs that may reach the UI")
    # The ALB calls the IdP's token and user-info endpoints from its own subnets (the private ones).
    # https://repost.aws/knowledge-center/elb-configure-authentication-alb
    if (
        network is not None
        and network.mode is NetworkMode.CREATE
        and network.egress not in (Egress.NAT_GATEWAY, Egress.NAT_INSTANCE)
    ):
        issues.add(
            path,
            key,
            f"the internal ALB must reach the identity provider, but strata:network.egress is {network.egress.value}",
            "use egress nat-gateway or nat-instance, or keep the UI disabled",
        )
    if ui.static_image_tag == "latest" or not IMAGE_TAG.match(ui.static_image_tag):
        issues.add(
            path, f"{key}.staticImageTag", f"{ui.static_image_tag!r} is not a pinned version tag", "pin a release, e.g. v1.2.4"
        )
    for part, cpu, memory in (("backend", ui.backend_cpu, ui.backend_memory), ("static", ui.static_cpu, ui.static_memory)):
        if memory not in FARGATE_SIZES.get(cpu, ()):
            issues.add(
                path,
                f"{key}.{part}Cpu",
                f"cpu {cpu} / memory {memory} is not a Fargate task size",
                "use cpu 256 with memory 512-2048, 512 with 1024-4096, or 1024 with 2048-8192",
            )


def _check_metadata(sections: dict[str, Any], path: str, issues: _Issues) -> None:
    """``strata:metadata`` rules that span fields (and the production rules)."""
    # Absent from the stack file: the defaults apply (and must pass the production rules too).
    m: MetadataSettings = sections.get("metadata") or MetadataSettings()
    if not m.enabled:
        if m.metadata_mode is MetadataMode.SERVICE:
            issues.add(
                path,
                "strata:metadata.metadataMode",
                "profiles cannot use a service that is disabled",
                "set metadataMode: local, or enabled: true",
            )
        return
    key, db, svc = "strata:metadata", m.database, m.service
    version = re.match(r"^(\d+)\.(\d+)$", db.engine_version)
    if not version or int(version[1]) not in METADATA_POSTGRES_MAJORS:
        issues.add(
            path,
            f"{key}.database.engineVersion",
            f"{db.engine_version!r} is not a supported Aurora PostgreSQL major",
            f"use a {' or '.join(map(str, METADATA_POSTGRES_MAJORS))}.x version, e.g. 17.4 (older majors bill Extended Support)",
        )
    elif m.auto_pause and int(version[2]) < AUTO_PAUSE_MIN_MINOR[int(version[1])]:
        issues.add(
            path,
            f"{key}.database.engineVersion",
            f"{db.engine_version} cannot scale to 0 ACUs",
            "use 16.3 or later (or 17.x), or set minCapacity >= 0.5",
        )
    for field in ("min_capacity", "max_capacity"):
        if getattr(db, field) * 2 != int(getattr(db, field) * 2):
            issues.add(path, f"{key}.database.{to_camel(field)}", "ACUs come in steps of 0.5", "use e.g. 0, 0.5, 1, 2")
    if db.min_capacity > db.max_capacity:
        issues.add(path, f"{key}.database.minCapacity", f"{db.min_capacity} exceeds maxCapacity {db.max_capacity}", "lower it")
    if svc.image_tag == "latest" or not IMAGE_TAG.match(svc.image_tag):
        issues.add(
            path,
            f"{key}.service.imageTag",
            f"{svc.image_tag!r} is not a pinned version tag",
            "pin a release, e.g. v2.5.0 (a moving tag changes the service without a deploy)",
        )
    if ":" in svc.image.rsplit("/", 1)[-1] or "@" in svc.image:
        issues.add(
            path,
            f"{key}.service.image",
            "the image carries its own tag or digest",
            "give the repository only; the tag goes in imageTag",
        )
    if svc.memory not in FARGATE_SIZES.get(svc.cpu, ()):
        sizes = "; ".join(f"cpu {c}: {', '.join(map(str, v[:4]))}{'...' if len(v) > 4 else ''}" for c, v in FARGATE_SIZES.items())
        issues.add(
            path, f"{key}.service", f"cpu {svc.cpu} / memory {svc.memory} is not a Fargate task size", f"use one of {sizes}"
        )
    if svc.max_count < svc.desired_count:
        issues.add(path, f"{key}.service.maxCount", f"{svc.max_count} is below desiredCount {svc.desired_count}", "raise it")
    for field, value in (
        ("service.logRetentionDays", svc.log_retention_days),
        ("api.accessLogRetentionDays", m.api.access_log_retention_days),
    ):
        _check_log_retention(value, path, f"{key}.{field}", issues)
    if m.front_door is FrontDoor.REST_API_NLB:
        plan, api = m.usage_plan, m.api
        if plan.burst_limit < plan.rate_limit:
            issues.add(
                path, f"{key}.usagePlan.burstLimit", f"{plan.burst_limit} is below rateLimit {plan.rate_limit:g}", "raise it"
            )
        # The stage throttle caps every team together; a team's plan above it could never be reached.
        if plan.rate_limit > api.throttle_rate_limit or plan.burst_limit > api.throttle_burst_limit:
            issues.add(
                path,
                f"{key}.usagePlan",
                f"a team's throttle ({plan.rate_limit:g}/s, burst {plan.burst_limit}) exceeds the stage's "
                f"({api.throttle_rate_limit:g}/s, burst {api.throttle_burst_limit})",
                "lower usagePlan or raise api.throttleRateLimit/throttleBurstLimit",
            )
    if m.endpoint_type is ApiEndpointType.PRIVATE and m.front_door is not FrontDoor.REST_API_NLB:
        issues.add(
            path, f"{key}.endpointType", "HTTP APIs have no PRIVATE endpoint type", "use REGIONAL, or frontDoor: rest-api-nlb"
        )
    if m.ui.enabled:
        _check_metadata_ui(m.ui, sections.get("network"), path, f"{key}.ui", issues)
        if m.auto_pause:
            # The UI backend LISTENs on the database for live updates (services/ui_backend_service/api/notify.py):
            # one connection always open, so a cluster with minCapacity 0 would never pause and bill 0.5 ACU anyway.
            issues.add(
                path,
                f"{key}.database.minCapacity",
                "the Metaflow UI keeps a database connection open, so a database that pauses (minCapacity 0) never would",
                "set database.minCapacity: 0.5 ($43.80/month, what it would cost anyway) or keep the UI disabled",
            )
    if sections.get("production"):
        rules = [
            ("database.instances", db.instances >= 2, "production needs a reader in a second AZ (Multi-AZ)", "set instances: 2"),
            (
                "database.backupRetentionDays",
                db.backup_retention_days >= 30,
                "production keeps >= 30 days of backups",
                "set backupRetentionDays: 30",
            ),
            (
                "database.deletionProtection",
                db.deletion_protection,
                "production databases refuse deletion",
                "set deletionProtection: true",
            ),
            (
                "database.finalSnapshot",
                db.final_snapshot,
                "production takes a final snapshot on deletion",
                "set finalSnapshot: true",
            ),
            (
                "database.minCapacity",
                db.min_capacity >= 0.5,
                "production does not pause (a resume takes seconds)",
                "set minCapacity: 0.5",
            ),
            ("service.desiredCount", svc.desired_count >= 2, "production runs >= 2 tasks", "set desiredCount: 2"),
            (
                "service.maxCount",
                svc.max_count > svc.desired_count,
                "production autoscales above desiredCount",
                "set maxCount: 4",
            ),
            (
                "metadataMode",
                m.metadata_mode is MetadataMode.SERVICE,
                "production profiles use the service",
                "set metadataMode: service",
            ),
        ]
        for field, ok, problem, fix in rules:
            if not ok:
                issues.add(path, f"{key}.{field}", problem, fix)


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
        net = _network(cidr, path, k, issues, "10.20.0.0/20")
        if net is None:
            continue
        if net.version != vpc.version or not net.subnet_of(vpc):
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


def _check_warehouse(sections: dict[str, Any], teams: list[Team], path: str, issues: _Issues) -> None:
    """``strata:warehouse`` against Redshift's limits, the network and the production rules."""
    w: WarehouseSettings | None = sections.get("warehouse")
    if w is None or not w.enabled:
        return
    key = "strata:warehouse"
    _check_log_retention(w.audit_log_retention_days, path, f"{key}.auditLogRetentionDays", issues)
    if len(teams) > REDSHIFT_MAX_IAM_ROLES:
        issues.add(
            path,
            "(teams)",
            f"{len(teams)} teams need {len(teams)} COPY/UNLOAD roles; Redshift associates at most "
            f"{REDSHIFT_MAX_IAM_ROLES} IAM roles with one warehouse",
            "split the teams across environments (stacks), or set strata:warehouse.enabled: false",
        )
    if w.mode is WarehouseMode.SERVERLESS:
        _check_serverless(w, sections, path, issues)
        return
    if w.node_type not in REDSHIFT_NODE_TYPES:
        issues.add(
            path,
            f"{key}.nodeType",
            f"{w.node_type!r} is not a Redshift node type",
            f"use one of {', '.join(REDSHIFT_NODE_TYPES)}",
        )
    if sections.get("production") and w.snapshot_retention_days < PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS:
        issues.add(
            path,
            f"{key}.snapshotRetentionDays",
            f"a production warehouse keeps automated snapshots >= {PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS} days, got {w.snapshot_retention_days}",
            f"set snapshotRetentionDays: {PRODUCTION_MIN_SNAPSHOT_RETENTION_DAYS} or more (up to 35)",
        )
    match = MAINTENANCE_WINDOW.match(w.maintenance_window)
    if match is None:
        issues.add(
            path,
            f"{key}.maintenanceWindow",
            f"{w.maintenance_window!r} is not a maintenance window",
            "use ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. 'sun:05:00-sun:05:30'",
        )
    else:
        d1, h1, m1, d2, h2, m2 = match.groups()
        start = _DAYS.index(d1) * 1440 + int(h1) * 60 + int(m1)
        end = _DAYS.index(d2) * 1440 + int(h2) * 60 + int(m2)
        if (end - start) % (7 * 1440) < 30:
            issues.add(
                path,
                f"{key}.maintenanceWindow",
                f"{w.maintenance_window!r} is shorter than Redshift's 30 minutes",
                "make the window at least 30 minutes long",
            )


def _check_serverless(w: WarehouseSettings, sections: dict[str, Any], path: str, issues: _Issues) -> None:
    key = "strata:warehouse"
    region = sections.get("region") or ""
    rpu = w.base_capacity
    extended = region in SERVERLESS_EXTENDED_CAPACITY_REGIONS
    if not (
        rpu == SERVERLESS_MIN_BASE_CAPACITY
        or (8 <= rpu <= 512 and rpu % 8 == 0)
        or (extended and 512 < rpu <= 1024 and rpu % 32 == 0)
    ):
        top = (
            "1024 (steps of 32 above 512)"
            if extended
            else f"512 (1024 only in {', '.join(SERVERLESS_EXTENDED_CAPACITY_REGIONS)})"
        )
        issues.add(
            path,
            f"{key}.baseCapacity",
            f"{rpu} RPU is not a Redshift Serverless base capacity",
            f"use 4, or a multiple of 8 from 8 up to {top}",
        )
    n: NetworkSettings | None = sections.get("network")
    if n is None:
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


def _check_budgets(s: StackSettings, teams: list[Team], path: str, issues: _Issues) -> None:
    """The environment budget covers every resource tagged with the environment, teams' included."""
    total = sum(t.monthly_budget_usd or 0 for t in teams)
    if total > s.observability.monthly_budget_usd:
        issues.add(
            path,
            "strata:observability.monthlyBudgetUsd",
            f"{s.observability.monthly_budget_usd:g} USD is less than the teams' budgets together ({total:g} USD)",
            f"raise it to >= {total:g}, or lower monthlyBudgetUsd in the team files",
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
        required_secrets=_declared_secrets(project_dir),
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
        secret_keys={k for k in values if rc.is_config_secret(k)} | set(rc.get_config_secret_keys_env()),
        required_secrets=_declared_secrets(Path(project_dir)),
    )
