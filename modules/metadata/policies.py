"""Pure logic of the metadata layer: container definitions, IAM and secret policies, the per-team key
authorizer and the derived settings. Plain strings and config objects in, plain data out; no Pulumi
import, so everything here is unit-tested without mocks (``tests/unit/test_metadata_policies.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from core import naming
from core.iam import ECS_TASKS_SERVICE as ECS_TASKS_SERVICE  # re-exported: the component and the UI name it here
from core.iam import VERSION, PolicyDocument, Statement, via_service
from core.iam import service_trust_policy as service_trust_policy  # re-exported, likewise
from modules.metadata.settings import MetadataSettings

SERVICE_PORT = 8080
DB_PORT = 5432
DATABASE_NAME = "metaflow"
MASTER_USERNAME = "metaflow"
SERVICE_CONTAINER = "metadata"
MIGRATE_CONTAINER = "migrate"
# The image's interpreter and entry points, as the official Helm chart runs them: an init container
# `run_goose.py` (goose `up`: the same migrations the image's migration service on 8082 applies through
# its unauthenticated PATCH /upgrade), then `services.metadata_service.server` on 8080.
# outerbounds/metaflow-tools k8s/helm/metaflow/charts/metaflow-service/templates/deployment.yaml
PYTHON = "/opt/latest/bin/python3"
MIGRATE_COMMAND = (PYTHON, "/root/run_goose.py")
SERVICE_COMMAND = (PYTHON, "-m", "services.metadata_service.server")
# /healthcheck runs `SELECT 1` through the pool (services/metadata_service/api/admin.py); /ping does not.
DEEP_HEALTH_PATH = "/healthcheck"
SHALLOW_HEALTH_PATH = "/ping"
# Seconds a deregistering task keeps draining (the service's and the UI's target groups). A string on purpose:
# the provider's schema holds it as one (Terraform's nullable int), and so does every stack's recorded input;
# pulumi_aws's Python signature says ``int``, hence ``Any`` here. An int would change that input.
DEREGISTRATION_DELAY: Any = "30"
# Metaflow sends the key as x-api-key (metaflow_config.py: SERVICE_AUTH_KEY -> SERVICE_HEADERS["x-api-key"]).
API_KEY_HEADER = "x-api-key"
LAMBDA_SERVICE = "lambda.amazonaws.com"
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
ECS_TASK_EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"


def health_check_path(settings: MetadataSettings) -> str:
    """The container health check. ``/healthcheck`` touches the database: a task that lost its DB
    login (e.g. after the managed master password rotated) turns unhealthy and ECS replaces it with one
    that reads the new secret. But a probe every 30 s is a connection every 30 s, and Aurora pauses only
    after ``secondsUntilAutoPause`` with none: a pausing database gets the shallow ``/ping``."""
    return SHALLOW_HEALTH_PATH if settings.auto_pause else DEEP_HEALTH_PATH


def cluster_parameters(settings: MetadataSettings) -> list[dict[str, str]]:
    """Cluster parameter group entries: TLS-only connections, and (when pausing) the idle timeout
    that closes the connections the service's pool would otherwise hold open forever."""
    params = [
        # Reject any connection that does not use TLS. https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Security.html
        {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
    ]
    timeout = settings.database.idle_session_timeout_seconds
    if settings.auto_pause and timeout:
        params.append({"name": "idle_session_timeout", "value": str(timeout * 1000), "apply_method": "immediate"})
    return params


def service_environment(settings: MetadataSettings, db_host: str) -> dict[str, str]:
    """Non-secret environment of both containers (services/utils DBConfiguration reads MF_METADATA_DB_*)."""
    return {
        "MF_METADATA_DB_HOST": db_host,
        "MF_METADATA_DB_PORT": str(DB_PORT),
        "MF_METADATA_DB_NAME": DATABASE_NAME,
        # rds.force_ssl rejects plaintext; v2.5.0 passes the mode to goose as well.
        "MF_METADATA_DB_SSL_MODE": "require",
        # aiopg opens POOL_MIN connections at start and keeps released ones; 0 lets the server's
        # idle_session_timeout empty the pool so that the cluster can pause.
        "MF_METADATA_DB_POOL_MIN": "0" if settings.auto_pause else "1",
        "MF_METADATA_DB_POOL_MAX": "10",
        "MF_METADATA_PORT": str(SERVICE_PORT),
        "MF_METADATA_HOST": "0.0.0.0",
        # The migration endpoints stay off: migrations run in the init container, not over HTTP.
        "MF_MIGRATION_ENDPOINTS_ENABLED": "0",
    }


def db_secrets(master_secret_arn: str) -> list[dict[str, str]]:
    """ECS ``secrets``: the DB login read from the RDS-managed secret's JSON keys at task start.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    if not master_secret_arn.startswith("arn:"):
        raise ValueError(f"the database secret must be an ARN, got {master_secret_arn!r}")
    return [
        {"name": "MF_METADATA_DB_USER", "valueFrom": f"{master_secret_arn}:username::"},
        {"name": "MF_METADATA_DB_PSWD", "valueFrom": f"{master_secret_arn}:password::"},
    ]


def container_definitions(
    *, settings: MetadataSettings, db_host: str, master_secret_arn: str, log_group: str, region: str
) -> list[dict[str, Any]]:
    """The task's two containers: ``migrate`` (runs to completion first) and ``metadata`` (the API)."""
    svc = settings.service
    image = f"{svc.image}:{svc.image_tag}"
    env = [{"name": k, "value": v} for k, v in sorted(service_environment(settings, db_host).items())]
    secrets = db_secrets(master_secret_arn)

    def logs(prefix: str) -> dict[str, Any]:
        return awslogs(log_group, region, prefix)

    return [
        {
            "name": MIGRATE_CONTAINER,
            "image": image,
            "essential": False,
            "command": list(MIGRATE_COMMAND),
            "environment": env,
            "secrets": secrets,
            "logConfiguration": logs(MIGRATE_CONTAINER),
        },
        {
            "name": SERVICE_CONTAINER,
            "image": image,
            "essential": True,
            "command": list(SERVICE_COMMAND),
            "dependsOn": [{"containerName": MIGRATE_CONTAINER, "condition": "SUCCESS"}],
            "portMappings": [{"containerPort": SERVICE_PORT, "protocol": "tcp", "name": "http"}],
            "environment": env,
            "secrets": secrets,
            "healthCheck": container_health_check(SERVICE_PORT, health_check_path(settings)),
            "logConfiguration": logs(SERVICE_CONTAINER),
        },
    ]


def awslogs(log_group: str, region: str, prefix: str) -> dict[str, Any]:
    """A container's ``logConfiguration``: the ``awslogs`` driver into ``log_group``, streams ``<prefix>/...``."""
    return {
        "logDriver": "awslogs",
        "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": prefix},
    }


def container_health_check(port: int, path: str) -> dict[str, Any]:
    """An ECS container health check: GET http://127.0.0.1:<port><path> with the image's own Python (the
    metadata image has it; curl may not be there), every 30 s, unhealthy after 3 failures."""
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=4)"
    return {"command": ["CMD", PYTHON, "-c", probe], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60}


# ---------------------------------------------------------------- IAM


def secretsmanager_via_service(region: str, dns_suffix: str = "amazonaws.com") -> str:
    return via_service("secretsmanager", region, dns_suffix)


def execution_role_policy(master_secret_arn: str, kms_key_arn: str, *, kms_via_service: str) -> PolicyDocument:
    """What ECS needs to start the task beyond the managed execution policy (image pull, logs): read the
    RDS-managed DB secret, and decrypt it with the platform key through Secrets Manager only."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadDatabaseSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": master_secret_arn,
            },
            {
                "Sid": "DecryptDatabaseSecret",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": kms_via_service}},
            },
        ],
    }


def api_key_read_statement(secret_arn: str) -> Statement:
    """Identity-policy statement: read one team's API key secret (``strata configure``, and Metaflow in jobs)."""
    if not secret_arn.startswith("arn:") or "*" in secret_arn:
        raise ValueError(f"the API key secret must be a concrete ARN, got {secret_arn!r}")
    return {
        "Sid": "ReadOwnMetadataApiKey",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": secret_arn,
    }


def api_key_read_policy(secret_arn: str) -> PolicyDocument:
    return {"Version": VERSION, "Statement": [api_key_read_statement(secret_arn)]}


def strata_roles_pattern(partition: str, account_id: str, env: str) -> str:
    """Every role Strata names in an environment (``strata-<env>-*``: team job and data-scientist roles)."""
    return f"arn:{partition}:iam::{account_id}:role/strata-{env}-*"


def api_key_secret_policy(
    *, secret_arn: str, partition: str, account_id: str, env: str, readers: Sequence[str]
) -> PolicyDocument:
    """Resource policy of a team's key secret: no other Strata role of the environment (another team's
    job or data-scientist role) may read it, even if an identity policy were to allow it. The team's own
    roles get access through their identity policies (``api_key_read_statement``); the account's
    administrators keep theirs (a Deny on every other principal would lock out the deployer)."""
    if not readers:
        raise ValueError("a team's key secret has at least one reader")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "OnlyTheTeamsStrataRoles",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
                "Resource": secret_arn,
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": strata_roles_pattern(partition, account_id, env)},
                    "ArnNotEquals": {"aws:PrincipalArn": sorted(readers)},
                },
            }
        ],
    }


def lambda_logs_policy(log_group_arn: str) -> PolicyDocument:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            }
        ],
    }


# ---------------------------------------------------------------- per-team keys


def key_hash(key: str) -> str:
    """SHA-256 of a key: the authorizer holds hashes only, so its configuration reveals no key."""
    if len(key) < 32:
        raise ValueError("API keys are at least 32 characters")
    return hashlib.sha256(key.encode()).hexdigest()


def key_hashes(keys: Mapping[str, str]) -> str:
    """``{sha256: team}`` as JSON, the authorizer's KEY_HASHES."""
    return json.dumps({key_hash(k): team for team, k in sorted(keys.items())}, sort_keys=True)


def owners_table_name(env: str) -> str:
    """The run-owners table, ``strata-<env>-metadata-owners`` (``naming.metadata_owners_table``)."""
    return naming.metadata_owners_table(env)


# The owners table: one item per run, ``{"run": "<flow>/<run>", "team": "<team>"}``.
OWNERS_HASH_KEY = "run"
OWNERS_TEAM_ATTRIBUTE = "team"
# What the authorizer does with the owners table: read an owner, claim a run (a conditional put).
OWNERS_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem")
# DynamoDB uses the table's customer managed key on the caller's behalf; AWS's key-policy example for
# tables grants their users these actions through DynamoDB only.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
OWNERS_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
# The authorizer's cache key: the team's key *and* the request's method and path, so that a decision on
# one run (an Allow for the owner, a Deny for another team) is never served for another run or method.
# Context variables are valid identity sources for REQUEST authorizers (API Gateway V2 API reference,
# Authorizer.identitySource; https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
HTTP_IDENTITY_SOURCES = (f"$request.header.{API_KEY_HEADER}", "$context.httpMethod", "$context.path")
REST_IDENTITY_SOURCE = f"method.request.header.{API_KEY_HEADER},context.httpMethod,context.path"


def dynamodb_via_service(region: str, dns_suffix: str = "amazonaws.com") -> str:
    return via_service("dynamodb", region, dns_suffix)


def authorizer_table_policy(*, table_arn: str, kms_key_arn: str, dynamodb_via: str) -> PolicyDocument:
    """The key authorizer's rights beyond its own logs: read and claim run owners in the owners table, and
    the table's key through DynamoDB only. Nothing else: no scan, no update, no delete, no other table."""
    for label, value in (("table_arn", table_arn), ("kms_key_arn", kms_key_arn)):
        if not value.startswith("arn:") or "*" in value:
            raise ValueError(f"{label} must be a concrete ARN, got {value!r}")
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "RunOwners", "Effect": "Allow", "Action": list(OWNERS_TABLE_ACTIONS), "Resource": table_arn},
            {
                "Sid": "OwnersKeyThroughDynamoDB",
                "Effect": "Allow",
                "Action": list(OWNERS_KEY_ACTIONS),
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": dynamodb_via}},
            },
        ],
    }


AUTHORIZER_SOURCE = '''"""Strata metadata API: which team calls, and may it write there (a Lambda REQUEST authorizer).

One handler for both front doors: the HTTP API (payload 2.0, simple responses) and the REST API (an IAM
policy for the method ARN). A request passes only with an x-api-key whose SHA-256 is one of KEY_HASHES
({sha256: team}; hashes only, compared in constant time). Then:
* reads (GET, HEAD, OPTIONS) pass for every team, but GET /auth/token (the service's sandbox-only STS
  call) passes for none;
* POST /flows/{flow} and POST /flows/{flow}/run (create a flow, a run) pass;
* any other write must be under /flows/{flow}/runs/{run}/, by the team that owns {flow}/{run} in
  OWNERS_TABLE; the first such write claims the run for its team (a conditional put);
* every other write is refused, and so is any write whose path is not made of plain Metaflow names
  (letters, digits, _ . : -): no percent-encoding, no dot segments, so the service cannot route a
  write differently from what was checked.
The team and the reason go into the context (the access log) and the function's log. A DynamoDB error
is raised, not answered: API Gateway then returns 500 and caches nothing."""
import hashlib
import hmac
import json
import os
import re

import boto3

KEY_HASHES = json.loads(os.environ["KEY_HASHES"])
OWNERS_TABLE = os.environ["OWNERS_TABLE"]
READS = ("GET", "HEAD", "OPTIONS")
CLOSED = ("/auth/token",)
NAME = r"[A-Za-z0-9_][A-Za-z0-9_.:-]*"
CREATE = re.compile(r"^/flows/" + NAME + r"(/run)?/?$")
UNDER_RUN = re.compile(r"^/flows/(" + NAME + r")/runs/(" + NAME + r")(/" + NAME + r")*/?$")
_dynamodb = None


def team_for(key):
    digest = hashlib.sha256(key.encode()).hexdigest() if key else ""
    team = None
    for known, owner in KEY_HASHES.items():
        if hmac.compare_digest(known, digest):
            team = owner
    return team


def dynamodb():
    """One client per container (created on first use, so that reads never need one)."""
    global _dynamodb
    if _dynamodb is None:
        _dynamodb = boto3.client("dynamodb")
    return _dynamodb


def owner_of(run):
    item = dynamodb().get_item(TableName=OWNERS_TABLE, Key={"run": {"S": run}}, ConsistentRead=True).get("Item")
    return item["team"]["S"] if item else None


def claim(run, team):
    """The run's owner: ``team`` when this write is the run's first, else the team that wrote first."""
    owner = owner_of(run)
    if owner is not None:
        return owner
    client = dynamodb()
    try:
        client.put_item(
            TableName=OWNERS_TABLE,
            Item={"run": {"S": run}, "team": {"S": team}},
            ConditionExpression="attribute_not_exists(#run)",
            ExpressionAttributeNames={"#run": "run"},
        )
        return team
    except client.exceptions.ConditionalCheckFailedException:
        return owner_of(run)


def decide(team, method, path):
    """(allowed, reason) for ``team`` (None: no known key) calling ``method path``."""
    if team is None:
        return False, "unknown key"
    if path.rstrip("/") in CLOSED:
        return False, "closed path"
    if method in READS:
        return True, "read"
    if method == "POST" and CREATE.match(path):
        return True, "create"
    under = UNDER_RUN.match(path)
    if not under:
        return False, "not a Metaflow write"
    owner = claim(under.group(1) + "/" + under.group(2), team)
    return (True, "own run") if owner == team else (False, "run of team " + owner)


def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    team = team_for(headers.get("x-api-key", ""))
    http_api = event.get("version") == "2.0"
    if http_api:
        method, path = event["requestContext"]["http"]["method"], event.get("rawPath") or "/"
    else:
        method, path = event.get("httpMethod") or "", event.get("path") or "/"
    allowed, reason = decide(team, method.upper(), path)
    print(json.dumps({"team": team, "method": method, "path": path, "allowed": allowed, "reason": reason}))
    answer = {"team": team or "-", "decision": reason}
    if http_api:
        return {"isAuthorized": allowed, "context": answer}
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny", "Resource": event["methodArn"]}
    return {
        "principalId": team or "unknown",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": answer,
    }
'''


def access_log_format() -> str:
    """JSON access-log line of the HTTP API stage, with the team the authorizer recognised."""
    fields = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "team": "$context.authorizer.team",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
    }
    return json.dumps(fields, sort_keys=True)


def api_url(api_id: str, region: str, dns_suffix: str = "amazonaws.com") -> str:
    """``METAFLOW_SERVICE_URL`` (and ``METAFLOW_SERVICE_INTERNAL_URL``): the HTTP API's ``$default`` stage endpoint."""
    if not api_id or not region:
        raise ValueError("an API id and a region are needed for the API's URL")
    return f"https://{api_id}.execute-api.{region}.{dns_suffix}"


# ---------------------------------------------------------------- rest-api-nlb front door

# The REST API's stage: METAFLOW_SERVICE_URL ends with it.
REST_STAGE = "api"
# Every path under the stage goes to the service (Metaflow calls /flows/..., /ping, ...).
PROXY_PATH = "{proxy+}"


def rest_access_log_format() -> str:
    """JSON access-log line of the REST API stage: the API key's id and the team the authorizer recognised."""
    fields = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "apiKeyId": "$context.identity.apiKeyId",
        "team": "$context.authorizer.team",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
    }
    return json.dumps(fields, sort_keys=True)


def rest_api_url(api_id: str, region: str, dns_suffix: str = "amazonaws.com", stage: str = REST_STAGE) -> str:
    """``METAFLOW_SERVICE_URL`` of the REST API: its stage's invoke URL (the documented shape,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html)."""
    return f"{api_url(api_id, region, dns_suffix)}/{stage}"


def nlb_url(dns_name: str, port: int = SERVICE_PORT) -> str:
    """The internal NLB's listener: the REST API's integration target (its VPC link's only destination)."""
    if not dns_name:
        raise ValueError("the load balancer's DNS name is needed for the internal URL")
    return f"http://{dns_name}:{port}"


def private_api_policy(execute_api_arn: str, vpc_endpoint_id: str) -> PolicyDocument:
    """Resource policy of a PRIVATE REST API: invocable only through the platform's execute-api endpoint.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html"""
    resource = f"{execute_api_arn}/*"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "InvokeThroughEndpoint",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": resource,
            },
            {
                "Sid": "DenyOtherPaths",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": resource,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": vpc_endpoint_id}},
            },
        ],
    }


def elb_arn_suffix(arn: str) -> str:
    """CloudWatch's ``LoadBalancer``/``TargetGroup`` dimension from an ARN: ``net/<name>/<id>`` of
    ``...:loadbalancer/net/<name>/<id>``, ``targetgroup/<name>/<id>`` of ``...:targetgroup/<name>/<id>``."""
    resource = arn.split(":", 5)[-1]
    return resource.removeprefix("loadbalancer/")


APIGATEWAY_SERVICE = "apigateway.amazonaws.com"


ACCESS_LOG_GROUP = "/strata/{env}/metadata-api"


def access_log_group_name(env: str) -> str:
    return ACCESS_LOG_GROUP.format(env=env)


def apigateway_logs_policy(partition: str, region: str, account_id: str) -> PolicyDocument:
    """API Gateway's account-level CloudWatch role, REST access logs need one. The setting is one per
    account and region, shared by every Strata stack there, so the role writes the metadata API access-log
    group of every Strata environment (``/strata/*/metadata-api``) and nothing else (no execution logs, so
    no API-Gateway-Execution-Logs_* groups). https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html"""
    for label, value in (("partition", partition), ("region", region), ("account_id", account_id)):
        if not value or "*" in value:
            raise ValueError(f"{label} must be concrete, got {value!r}")
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{access_log_group_name('*')}"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AccessLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }
