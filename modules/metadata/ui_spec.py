"""Pure logic of the Metaflow UI (modules/metadata/ui.py): container definitions, the backend's read-only
datastore policy and the ALB's login action. Plain values in, plain dicts out; no Pulumi.

The UI is two services, as Metaflow ships it: the backend (``services.ui_backend_service.ui_server`` from
the metadata service image, under ``/api``) and the static single-page app (``metaflow_ui``), which calls
``/api`` on the same origin. The ALB sends ``/api/*`` to the backend and everything else to the app, and
authenticates every request first.
"""

from __future__ import annotations

from typing import Any

from modules.metadata.policies import (
    PYTHON,
    VERSION,
    PolicyDocument,
    awslogs,
    container_health_check,
    db_secrets,
    service_environment,
)
from modules.metadata.settings import MetadataSettings, MetadataUi, MetadataUiAuth

BACKEND_CONTAINER = "ui-backend"
STATIC_CONTAINER = "ui-static"
BACKEND_PORT = 8083
STATIC_PORT = 3000
API_PREFIX = "/api"
API_PATH_PATTERN = f"{API_PREFIX}/*"
BACKEND_HEALTH_PATH = f"{API_PREFIX}/ping"
STATIC_HEALTH_PATH = "/"
BACKEND_COMMAND = (PYTHON, "-m", "services.ui_backend_service.ui_server")
HTTPS_PORT = 443
HTTP_PORT = 80
# TLS 1.3 and 1.2 with forward-secret ciphers only.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Where the ALB writes its access logs in the access-log bucket (modules/datastore admits ELB there).
ACCESS_LOG_PREFIX = "metadata-ui/"
# The datastore prefix under which every team's Metaflow root lives (infra/naming.team_prefix).
TEAMS_PREFIX = "teams/"


def ui_url(domain_name: str) -> str:
    return f"https://{domain_name}/"


def callback_url(domain_name: str) -> str:
    """What the identity provider must allow as redirect URI (the ALB handles /oauth2/idpresponse)."""
    return f"https://{domain_name}/oauth2/idpresponse"


def backend_environment(settings: MetadataSettings, db_host: str, bucket_name: str) -> dict[str, str]:
    """The backend reads the same database as the service (its own pool, TLS required) and artifacts from S3."""
    env = service_environment(settings, db_host)
    for k in ("MF_METADATA_PORT", "MF_METADATA_HOST", "MF_MIGRATION_ENDPOINTS_ENABLED"):
        env.pop(k)
    root = f"s3://{bucket_name}/{TEAMS_PREFIX.rstrip('/')}"
    env.update(
        {
            "MF_UI_METADATA_PORT": str(BACKEND_PORT),
            "MF_UI_METADATA_HOST": "0.0.0.0",
            "PATH_PREFIX": f"{API_PREFIX}/",
            # Artifacts carry their full S3 location in the database; this root is only the fallback.
            "MF_DATASTORE_ROOT": root,
            "METAFLOW_DATASTORE_SYSROOT_S3": root,
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "LOGLEVEL": "INFO",
        }
    )
    return env


def backend_container_definitions(
    *, settings: MetadataSettings, db_host: str, master_secret_arn: str, bucket_name: str, log_group: str, region: str
) -> list[dict[str, Any]]:
    svc = settings.service
    env = backend_environment(settings, db_host, bucket_name)
    return [
        {
            "name": BACKEND_CONTAINER,
            "image": f"{svc.image}:{svc.image_tag}",
            "essential": True,
            "command": list(BACKEND_COMMAND),
            "portMappings": [{"containerPort": BACKEND_PORT, "protocol": "tcp", "name": "http"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
            # The DB login comes from the RDS-managed secret at task start, never from the environment.
            "secrets": db_secrets(master_secret_arn),
            "healthCheck": container_health_check(BACKEND_PORT, BACKEND_HEALTH_PATH),
            "readonlyRootFilesystem": False,
            "logConfiguration": awslogs(log_group, region, BACKEND_CONTAINER),
        }
    ]


def static_container_definitions(*, ui: MetadataUi, log_group: str, region: str) -> list[dict[str, Any]]:
    """The single-page app; it calls /api on its own origin, so it needs no configuration."""
    return [
        {
            "name": STATIC_CONTAINER,
            "image": f"{ui.static_image}:{ui.static_image_tag}",
            "essential": True,
            "portMappings": [{"containerPort": STATIC_PORT, "protocol": "tcp", "name": "http"}],
            "environment": [],
            "logConfiguration": awslogs(log_group, region, STATIC_CONTAINER),
        }
    ]


def backend_task_policy(bucket_arn: str, kms_key_arn: str, region: str, dns_suffix: str = "amazonaws.com") -> PolicyDocument:
    """Read-only access to every team's Metaflow root (the UI shows every team's runs), nothing else.

    No write, no delete, no other prefix; the platform key only through S3 in this region."""
    for label, value in (("bucket_arn", bucket_arn), ("kms_key_arn", kms_key_arn)):
        if not value.startswith("arn:") or "*" in value:
            raise ValueError(f"{label} must be a concrete ARN, got {value!r}")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadTeamMetaflowRoots",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{TEAMS_PREFIX}*",
            },
            {
                "Sid": "ListTeamMetaflowRoots",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{TEAMS_PREFIX}*"]}},
            },
            {
                "Sid": "DecryptThroughS3",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"}},
            },
        ],
    }


def login_action(ui: MetadataUi, client_secret: str | None = None) -> dict[str, Any]:
    """The listener action that logs the user in (order 1); unauthenticated requests are sent to the IdP.

    ``client_secret`` (OIDC only) is read from Secrets Manager by the component and stays a Pulumi secret."""
    common = {
        "on_unauthenticated_request": "authenticate",
        "scope": "openid email profile",
        "session_timeout": ui.session_timeout_seconds,
        "session_cookie_name": "strata-metaflow-ui",
    }
    if ui.auth is MetadataUiAuth.COGNITO:
        return {
            "type": "authenticate-cognito",
            "order": 1,
            "authenticate_cognito": {
                "user_pool_arn": ui.cognito_user_pool_arn,
                "user_pool_client_id": ui.cognito_client_id,
                "user_pool_domain": ui.cognito_domain,
                **common,
            },
        }
    if ui.auth is MetadataUiAuth.OIDC:
        if not client_secret:
            raise ValueError("an OIDC login needs the client secret (read from oidcClientSecretArn)")
        return {
            "type": "authenticate-oidc",
            "order": 1,
            "authenticate_oidc": {
                "issuer": ui.oidc_issuer,
                "authorization_endpoint": ui.oidc_authorization_endpoint,
                "token_endpoint": ui.oidc_token_endpoint,
                "user_info_endpoint": ui.oidc_user_info_endpoint,
                "client_id": ui.oidc_client_id,
                "client_secret": client_secret,
                **common,
            },
        }
    raise ValueError("the UI needs auth: oidc or cognito; it is never served without a login")


def forward_action(target_group_arn: str) -> dict[str, Any]:
    return {"type": "forward", "order": 2, "target_group_arn": target_group_arn}
