"""Pure logic of the Metaflow UI (modules/metadata/ui.py): container definitions, with the backend's
features that read the datastore switched off, and the ALB's login action. Plain values in, plain dicts
out; no Pulumi.

The UI is two services, as Metaflow ships it: the backend (``services.ui_backend_service.ui_server`` from
the metadata service image, under ``/api``) and the static single-page app (``metaflow_ui``), which calls
``/api`` on the same origin. The ALB sends ``/api/*`` to the backend and everything else to the app, and
authenticates every request first.

The backend shows metadata only (flows, runs, steps, tasks, their tags, timings, statuses and metadata
entries, and artifact *names and locations*), never content from the datastore: no artifact values, no
artifact search, no parameters, no logs, no cards, no DAG. Reading content would mean reading every
team's prefix on behalf of whoever logged in, and the backend loads artifacts with ``pickle`` (artifact
search, parameters, task statuses), so a crafted artifact in one team's run would execute code inside it.
"""

from __future__ import annotations

from typing import Any

from modules.metadata.policies import (
    PYTHON,
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

# The backend's feature switches (netflixoss/metaflow_metadata_service v2.5.0,
# services/ui_backend_service/features.py: a FEATURE_* variable is off when "0", "false" or "f").
# Off in the backend itself:
#  * CACHE: no cache workers. They are what reads the datastore: artifact values and artifact search
#    (SearchArtifacts, GetArtifacts, GetParameters, GetData: Metaflow's DataArtifact.data, i.e. pickle),
#    DAGs (the code package), logs.
#  * S3: the process replaces its AWS credentials with the string "None", so no S3 call can succeed even
#    where a code path bypasses the cache (cards are rendered by a separate process, outside the cache).
#  * PREFETCH: no artifact preloading of recent runs at start-up.
#  * REFINE: API responses are not refined with artifact data (task statuses come from the database).
# Hidden in the single-page app (metaflow-ui src/utils/FEATURE.ts reads them from the backend's /features):
# artifact search, the artifact table, cards and the DAG, which would only show errors now.
BACKEND_FEATURES = {
    "FEATURE_CACHE_DISABLE": "1",
    "FEATURE_S3_DISABLE": "1",
    "FEATURE_PREFETCH_DISABLE": "1",
    "FEATURE_REFINE_DISABLE": "1",
    "FEATURE_ARTIFACT_SEARCH": "0",
    "FEATURE_ARTIFACT_TABLE": "0",
    "FEATURE_CARDS": "0",
    "FEATURE_DAG": "0",
}
# Logs: were the cache ever on, the log action would still answer with a snippet of Metaflow client code
# instead of the log (get_log_file_action.py, "blurb_only"): users read logs with their own team's rights.
LOG_LOAD_POLICY = "blurb_only"


def ui_url(domain_name: str) -> str:
    return f"https://{domain_name}/"


def callback_url(domain_name: str) -> str:
    """What the identity provider must allow as redirect URI (the ALB handles /oauth2/idpresponse)."""
    return f"https://{domain_name}/oauth2/idpresponse"


def backend_environment(settings: MetadataSettings, db_host: str) -> dict[str, str]:
    """The backend reads the same database as the service (its own pool, TLS required), and nothing from
    the datastore: every feature that would is off (:data:`BACKEND_FEATURES`), and no datastore is named."""
    env = service_environment(settings, db_host)
    for k in ("MF_METADATA_PORT", "MF_METADATA_HOST", "MF_MIGRATION_ENDPOINTS_ENABLED"):
        env.pop(k)
    env.update(
        {
            "MF_UI_METADATA_PORT": str(BACKEND_PORT),
            "MF_UI_METADATA_HOST": "0.0.0.0",
            "PATH_PREFIX": f"{API_PREFIX}/",
            "MF_LOG_LOAD_POLICY": LOG_LOAD_POLICY,
            "LOGLEVEL": "INFO",
            **BACKEND_FEATURES,
        }
    )
    return env


def backend_container_definitions(
    *, settings: MetadataSettings, db_host: str, master_secret_arn: str, log_group: str, region: str
) -> list[dict[str, Any]]:
    svc = settings.service
    env = backend_environment(settings, db_host)
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
