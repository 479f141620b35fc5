"""``strata:metadata``: the metadata layer's settings (the service, its database, its API, the UI) and
the checks that span their fields, production's rules included.

Pure (the core and pydantic; no Pulumi). The UI's needs from the network (an adopted VPC's CIDR, a way
out to the identity provider) span two layers: the loader (``infra/config.py``) checks them.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field
from pydantic.alias_generators import to_camel

from core.issues import Issues
from core.settings import Model, check_log_retention, parse_network

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
    """How clients reach the metadata service (us-east-1 list prices; modules/metadata/README.md). Either
    way a Lambda REQUEST authorizer names the team from its key and refuses writes to another team's runs,
    and the API is the only way to the service (Batch jobs included).

    * ``http-api``: API Gateway HTTP API + VPC link to the service's Cloud Map entry. No load balancer:
      $0.50/month (private DNS zone) + $0.10 per running task + $1.00 per million requests.
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
    min_capacity: float = Field(default=0, ge=0, le=256)
    max_capacity: float = Field(default=2, ge=1, le=256)
    seconds_until_auto_pause: int = Field(default=600, ge=300, le=86400)
    # Writer + readers. >= 2 puts a reader in another AZ (Multi-AZ failover).
    instances: int = Field(default=1, ge=1, le=16)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    deletion_protection: bool = False
    final_snapshot: bool = False
    # Server-side idle_session_timeout: closes pooled connections the service keeps open, so that the
    # cluster can pause (the service's aiopg pool has no idle timeout of its own). 0 turns it off.
    idle_session_timeout_seconds: int = Field(default=60, ge=0)


class MetadataServiceSettings(Model):
    image: str = "netflixoss/metaflow_metadata_service"
    image_tag: str = "v2.5.0"
    # netflixoss/metaflow_metadata_service is published for linux/amd64 only.
    cpu_architecture: str = Field(default="X86_64", pattern="^(X86_64|ARM64)$")
    cpu: int = 256
    memory: int = 512
    desired_count: int = Field(default=1, ge=1, le=100)
    max_count: int = Field(default=1, ge=1, le=100)
    target_cpu_percent: int = Field(default=60, ge=10, le=90)
    log_retention_days: int = 30
    container_insights: bool = False


class MetadataApiSettings(Model):
    # Stage-wide throttling (every team together), requests per second and burst.
    throttle_rate_limit: float = Field(default=50, gt=0)
    throttle_burst_limit: int = Field(default=100, gt=0)
    # How long API Gateway caches an authorizer decision per key, method and path (fewer Lambda calls; a
    # run's owner never changes, so a cached decision stays right). 0 turns the cache off.
    authorizer_cache_seconds: int = Field(default=300, ge=0, le=3600)
    access_log_retention_days: int = 30
    # rest-api-nlb: API Gateway's CloudWatch role is ONE setting per account and region. Exactly one stack
    # per account+region should own it (true); the others set false and use it (its role writes every
    # Strata environment's access-log group). Two owners overwrite each other, and destroying the owner
    # deletes the role the others log through.
    manage_account_logging_role: bool = True


class MetadataUsagePlan(Model):
    """Each team's usage plan (``rest-api-nlb`` only): its own throttle and daily quota, per environment."""

    rate_limit: float = Field(default=20, gt=0)
    burst_limit: int = Field(default=40, gt=0)
    quota_per_day: int = Field(default=200_000, gt=0)


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
    session_timeout_seconds: int = Field(default=28800, ge=300, le=604800)
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


def _check_metadata_ui(ui: MetadataUi, path: str, key: str, issues: Issues) -> None:
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
        parse_network(cidr, path, f"{key}.allowedCidrs", issues, "10.8.0.0/16", smallest=32)
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


def check_metadata(m: MetadataSettings, *, production: bool, path: str, issues: Issues) -> None:
    """``strata:metadata`` rules that span fields (and the production rules). A stack file without the
    section is checked too: the defaults must pass the production rules."""
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
        check_log_retention(value, path, f"{key}.{field}", issues)
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
        _check_metadata_ui(m.ui, path, f"{key}.ui", issues)
        if m.auto_pause:
            # The UI backend LISTENs on the database for live updates (services/ui_backend_service/api/notify.py):
            # one connection always open, so a cluster with minCapacity 0 would never pause and bill 0.5 ACU anyway.
            issues.add(
                path,
                f"{key}.database.minCapacity",
                "the Metaflow UI keeps a database connection open, so a database that pauses (minCapacity 0) never would",
                "set database.minCapacity: 0.5 ($43.80/month, what it would cost anyway) or keep the UI disabled",
            )
    if production:
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
