"""``strata doctor``: can Metaflow run here, with this profile and these credentials? (docs/doctor.md)

Each check is a small function returning a :class:`Verdict` (pass, fail with the fix, or skip with the reason), run
in order with the caller's own AWS credentials (boto3's default chain; ``AWS_ENDPOINT_URL`` is honoured, which is how
the local cloud is reached). A check whose prerequisite did not pass is skipped; once AWS cannot be reached the other
AWS checks are skipped instead of each waiting for its timeout. Calls are bounded; nothing raised ends in a traceback.
boto3, urllib and (``kube-api``) the kubernetes client only: no platform code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError, NoRegionError, ProfileNotFound
from botocore.exceptions import ConnectionError as AwsConnectionError
from botocore.parsers import ResponseParserError

from strata import kubeconfig, profiles, warehouse

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# A stopped local cloud or a dead VPN shows in seconds, not after botocore's default 60 s x 5 attempts.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2})
HTTP_TIMEOUT = 5.0
WAREHOUSE_TIMEOUT = 20.0
AUTH_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden", "403")
BAD_CREDENTIAL_CODES = ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException")
API_KEY_HEADER = "x-api-key"  # Metaflow sends METAFLOW_SERVICE_AUTH_KEY as this header (metaflow_config.py)
# The roles Metaflow hands to AWS services, and the service each is passed to (iam:PassedToService).
PASSED_ROLES = (
    ("METAFLOW_ECS_S3_ACCESS_IAM_ROLE", "batch.amazonaws.com"),
    ("METAFLOW_ECS_FARGATE_EXECUTION_ROLE", "batch.amazonaws.com"),
    ("METAFLOW_SFN_IAM_ROLE", "states.amazonaws.com"),
    ("METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE", "events.amazonaws.com"),
)


class UsageError(Exception):
    """The command line names no profile, or two different ones (exit 2)."""


class Verdict(NamedTuple):
    status: str
    detail: str
    fix: str = ""


def passed(detail: str) -> Verdict:
    return Verdict(PASS, detail)


def failed(detail: str, fix: str) -> Verdict:
    return Verdict(FAIL, detail, fix)


def skipped(why: str) -> Verdict:
    return Verdict(SKIP, why)


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``PASS name: detail``, ``FAIL name: detail — fix: ...`` or ``SKIP name: why``."""
        text = f"{self.status} {self.name}: {_one_line(self.detail)}"
        return f"{text} — fix: {_one_line(self.fix)}" if self.status == FAIL and self.fix else text


def data_scientist_role(env: str, team: str) -> str:
    # Mirrors core.naming.data_scientist_role; the SDK must not import the platform package.
    return f"strata-{env}-{team}-ds"


def resolve_profile(
    profile: str | None, env: str | None, team: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str | None, str | None]:
    """``(profile name, env, team)``: ``--profile``, else ``--env``/``--team``, else ``$METAFLOW_PROFILE``."""
    if bool(env) != bool(team):
        raise UsageError("give both --env and --team (e.g. --env dev --team fraud), or --profile")
    if env and team:
        name = profiles.profile_name(env, team)
        if profile and profile != name:
            raise UsageError(f"--profile {profile} and --env {env} --team {team} name different profiles: give one")
        return name, env, team
    name = profile or environ.get("METAFLOW_PROFILE") or ""
    if not name:
        raise UsageError("which profile? pass --env and --team (e.g. --env dev --team fraud), --profile, or set METAFLOW_PROFILE")
    return name, None, None


@dataclass
class Doctor:
    """What the checks share: the profile, the caller's AWS session and what earlier checks learned."""

    name: str
    env: str | None = None
    team: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    session: Any = None
    home: Path | None = None
    profile: dict[str, str] = field(default_factory=dict)
    identity: dict[str, str] | None = None
    aws_down: str | None = None  # why the remaining AWS checks are skipped
    results: dict[str, Result] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.home or profiles.metaflow_home()

    def aws(self) -> Any:
        """The caller's boto3 session, made on first use (a wrong AWS_PROFILE raises here, inside a check)."""
        self.session = self.session or boto3.session.Session()
        return self.session

    @property
    def path(self) -> Path:
        return profiles.profile_path(self.name, self.home)

    @property
    def endpoint(self) -> str | None:
        return self.environ.get("AWS_ENDPOINT_URL") or None

    @property
    def local_profile(self) -> bool:
        return self.name.startswith(f"{profiles.LOCAL_ENV}-")

    @property
    def local_cloud(self) -> bool:
        return self.local_profile or warehouse.is_local_endpoint(self.endpoint)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.aws().client(service, region_name=region, config=CLIENT_CONFIG)

    def configure_fix(self) -> str:
        env, team = self.env or "<env>", self.team or "<team>"
        return f"`strata configure --env {env} --team {team} --force` (rewrites it from the published profile)"

    def role_fix(self) -> str:
        """How to become the team's data-scientist role."""
        role = self.expected_role_arn()
        if self.local_cloud:  # the local cloud's env file holds moto's root credentials, not a team's
            return f"assume {role}: `aws sts assume-role --role-arn {role} --role-session-name $USER`, export its credentials"
        return f"assume {role}: an AWS CLI profile with `role_arn = {role}`, then `export AWS_PROFILE=<that profile>`"

    def expected_role_arn(self) -> str:
        arn = (self.identity or {}).get("Arn", "")
        partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
        account = (self.identity or {}).get("Account", "<account>")
        return f"arn:{partition}:iam::{account}:role/{data_scientist_role(self.env or '<env>', self.team or '<team>')}"

    def unreachable_fix(self) -> str:
        if self.local_cloud:  # a new server listens on a new port: the env file names it
            return f"start the local cloud: `strata local up` (in the Strata repository), then `source {profiles.LOCAL_ENV_FILE}`"
        return "check your network and VPN, and that `aws sts get-caller-identity` answers from this shell"


# ---------------------------------------------------------------- the checks


def check_profile(doc: Doctor) -> Verdict:
    path = doc.path
    if not path.exists():
        return failed(f"no profile {doc.name!r} at {path}", profiles.configure_hint(doc.name))
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return failed(f"cannot read {path}: {exc}", doc.configure_fix())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return failed(f"{path} is not a Metaflow profile (a JSON object of strings)", doc.configure_fix())
    doc.profile = data
    if not (doc.env and doc.team):
        team = data.get("METAFLOW_STRATA_TEAM", "")
        env, sep, rest = doc.name.partition("-")
        if team and doc.name.endswith(f"-{team}"):
            doc.env, doc.team = doc.name[: -len(team) - 1], team
        elif sep and env and rest:
            doc.env, doc.team = env, rest
    if profiles.AUTH_KEY in data and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = oct(path.stat().st_mode & 0o777)
        return failed(f"{path} holds your team's API key and others may read it (mode {mode})", f"`chmod 600 {path}`")
    return passed(f"{path} ({len(data)} settings)")


def check_user(doc: Doctor) -> Verdict:
    if user := profiles.metaflow_user(doc.environ):
        return passed(f"Metaflow records runs as {user}")
    why = "this shell sets none of METAFLOW_USER, USERNAME or USER (or only root): Metaflow stops with `Unknown user`"
    return failed(why, "name yourself once per shell: export METAFLOW_USER=<your name>")


def check_aws_config(doc: Doctor) -> Verdict:
    endpoint = doc.endpoint
    if doc.local_profile and not endpoint:
        return failed(
            f"{doc.name} is a local-cloud profile but AWS_ENDPOINT_URL is not set: its AWS calls would go to AWS",
            f"`source {profiles.LOCAL_ENV_FILE}` first (in the Strata repository, after `strata local up`)",
        )
    if not doc.local_profile and warehouse.is_local_endpoint(endpoint):
        return failed(
            f"AWS_ENDPOINT_URL={endpoint} is a local cloud, but {doc.name} is a deployed environment's profile",
            "`unset AWS_ENDPOINT_URL` (this shell sourced the local cloud's env file)",
        )
    region = doc.aws().region_name
    if not region:
        where = doc.profile.get(kubeconfig.REGION_KEY) or doc.profile.get(f"{warehouse.KEY_PREFIX}REGION")
        return failed("no AWS region configured", f"export AWS_DEFAULT_REGION={where or '<the environment region>'}")
    return passed(f"region {region}, " + (f"AWS_ENDPOINT_URL={endpoint}" if endpoint else "AWS's public endpoints"))


def check_caller(doc: Doctor) -> Verdict:
    if not (doc.env and doc.team):
        return skipped(f"cannot tell the environment and team from profile {doc.name!r}: pass --env and --team")
    doc.identity = doc.client("sts").get_caller_identity()
    arn = doc.identity["Arn"]
    expected = data_scientist_role(doc.env, doc.team)
    if _assumed_role(arn) == expected:
        return passed(f"{arn} is the {doc.team} team's data-scientist role")
    return failed(f"you are {arn}, not the {doc.team} team's data-scientist role {expected}", doc.role_fix())


def check_profile_matches(doc: Doctor) -> Verdict:
    if not (doc.env and doc.team):
        return skipped(f"cannot tell the environment and team from profile {doc.name!r}: pass --env and --team")
    name = profiles.parameter_name(doc.env, doc.team)
    try:
        value = doc.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise
        return failed(f"no SSM parameter {name}: team {doc.team!r} is not deployed in {doc.env!r}", "check --env and --team")
    try:
        published = profiles.parse_published(name, value)
    except profiles.ProfileProblem as exc:
        return failed(str(exc), "ask the platform team to redeploy")
    mine = {k: v for k, v in doc.profile.items() if k != profiles.AUTH_KEY}  # the key is the file's only
    if differing := sorted(k for k in set(mine) | set(published) if mine.get(k) != published.get(k)):
        return failed(f"{doc.path} differs from {name} in {', '.join(differing)}", doc.configure_fix())
    return passed(f"same {len(published)} settings as {name}")


def check_datastore(doc: Doctor) -> Verdict:
    root = doc.profile.get("METAFLOW_DATASTORE_SYSROOT_S3", "")
    parts = urlsplit(root)
    if parts.scheme != "s3" or not parts.netloc:
        return failed(f"METAFLOW_DATASTORE_SYSROOT_S3 is {root!r}, not an s3:// URL", doc.configure_fix())
    bucket, prefix = parts.netloc, parts.path.strip("/")
    # Under Metaflow's own root (what it writes to); ".strata-doctor" can never be a flow's name.
    key = f"{prefix}/.strata-doctor/{uuid.uuid4().hex}.txt".lstrip("/")
    url, body = f"s3://{bucket}/{key}", f"strata doctor {doc.name}".encode()
    s3 = doc.client("s3")
    fix = (
        f"be the team's role (see caller-role); it may write s3://{bucket}/{prefix}/ (statement ReadWriteOwnPrefix of "
        f"{data_scientist_role(doc.env or '<env>', doc.team or '<team>')}: s3:PutObject, GetObject and DeleteObject on "
        "its prefix, and the datastore's KMS key). If you are, ask the platform team"
    )
    step = "write"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        step = "read back"
        read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        step = "delete"
        s3.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if step != "write":
            with contextlib.suppress(ClientError, BotoCoreError):
                s3.delete_object(Bucket=bucket, Key=key)
        if _code(exc) in AUTH_CODES or _code(exc).startswith("KMS."):
            return failed(f"access denied: may not {step} {url} ({_code(exc)}: {_message(exc)})", fix)
        if _code(exc) == "NoSuchBucket":
            return failed(f"the datastore bucket {bucket} does not exist", doc.configure_fix())
        raise
    if read != body:
        return failed(f"{url} read back {len(read)} bytes, not the {len(body)} written", "ask the platform team")
    return passed(f"wrote, read back and deleted {url}")


def check_queues(doc: Doctor) -> Verdict:
    queues = sorted({v for k, v in doc.profile.items() if k.startswith("METAFLOW_") and k.endswith("_JOB_QUEUE")})
    if not queues:
        return skipped("the profile names no Batch job queue (METAFLOW_BATCH_JOB_QUEUE)")
    found = doc.client("batch").describe_job_queues(jobQueues=queues)["jobQueues"]
    by_id = {q[k]: q for q in found for k in ("jobQueueName", "jobQueueArn")}
    problems, fine = [], []
    for queue in queues:
        q = by_id.get(queue)
        if q is None:
            problems.append(f"{queue} does not exist")
        elif q.get("state") != "ENABLED" or q.get("status") != "VALID":
            reason = f": {q['statusReason']}" if q.get("statusReason") else ""
            problems.append(f"{queue} is {q.get('state')}/{q.get('status')}{reason}")
        else:
            fine.append(f"{q['jobQueueName']} ENABLED/VALID")
    if problems:
        missing = any("does not exist" in p for p in problems)
        fix = f"{doc.configure_fix()}; if it persists, ask the platform team" if missing else "ask the platform team"
        return failed("; ".join(problems), fix)
    return passed(", ".join(fine))


def check_pass_roles(doc: Doctor) -> Verdict:
    wanted = [(doc.profile[key], service) for key, service in PASSED_ROLES if doc.profile.get(key)]
    if not wanted:
        return skipped("the profile names no role for Metaflow to pass")
    if doc.identity is None:
        return skipped("needs the caller's identity (caller-role did not get it)")
    caller = _caller_role_arn(doc.identity["Arn"])
    if caller is None:
        return skipped(f"you are {doc.identity['Arn']}, not a role: nothing to evaluate (see caller-role)")
    iam = doc.client("iam")
    decisions, how = _simulate(iam, caller, wanted)
    if decisions is None:
        decisions, how = _evaluate_own_policies(iam, caller, wanted, how)
    if decisions is None:
        return skipped(f"cannot verify: {how}; the first `run --with batch` or `step-functions create` will tell")
    denied = [f"{_name(role)} to {service}" for (role, service), ok in zip(wanted, decisions, strict=True) if not ok]
    if denied:
        return failed(
            f"{_name(caller)} may not pass {', '.join(denied)} ({how})",
            "be the team's role (see caller-role); it may pass exactly the roles its profile names. If you are, "
            "ask the platform team",
        )
    return passed(f"may pass {', '.join(f'{_name(r)} to {s}' for r, s in wanted)} ({how})")


def check_metadata(doc: Doctor) -> Verdict:
    mode = doc.profile.get("METAFLOW_DEFAULT_METADATA", "local")
    if mode != "service":
        return skipped(f"the profile uses Metaflow's {mode} metadata (METAFLOW_DEFAULT_METADATA={mode}): no service to ask")
    url = doc.profile.get("METAFLOW_SERVICE_URL", "").rstrip("/")
    key = doc.profile.get(profiles.AUTH_KEY)
    if not url or not key:
        missing = "METAFLOW_SERVICE_URL" if not url else profiles.AUTH_KEY
        return failed(f"the profile uses the metadata service but has no {missing}", doc.configure_fix())
    ping = f"{url}/ping"
    try:
        with_key = _http_status(ping, {API_KEY_HEADER: key})
        without_key = _http_status(ping, {})
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return failed(
            f"cannot reach the metadata service at {url}: {reason}",
            "the service is private to the environment's network: connect the VPN (or run where the VPC is reachable)",
        )
    if with_key != 200:
        return failed(f"GET {ping} with the team's key answered HTTP {with_key}", f"keys rotate: {doc.configure_fix()}")
    if without_key == 200:
        return failed(f"GET {ping} answers without any key (HTTP 200)", "tell the platform team: the API must refuse it")
    return passed(f"GET {ping}: HTTP 200 with the team's key, HTTP {without_key} without it")


def check_step_functions(doc: Doctor) -> Verdict:
    prefix = doc.profile.get("METAFLOW_SFN_STATE_MACHINE_PREFIX")
    if not prefix or not doc.profile.get("METAFLOW_SFN_IAM_ROLE"):
        return skipped("the environment has no Step Functions layer (no METAFLOW_SFN_* settings)")
    sfn = doc.client("stepfunctions")
    pages = sfn.get_paginator("list_state_machines").paginate()
    mine = [m["name"] for page in pages for m in page["stateMachines"] if m["name"].startswith(f"{prefix}_")]
    # A name under the team's prefix that does not exist: "does not exist" proves the describe right, not a machine.
    account = (doc.identity or {}).get("Account") or doc.client("sts").get_caller_identity()["Account"]
    partition = doc.expected_role_arn().split(":")[1]
    probe = f"arn:{partition}:states:{sfn.meta.region_name}:{account}:stateMachine:{prefix}_strata-doctor-probe"
    try:
        sfn.describe_state_machine(stateMachineArn=probe)
    except ClientError as exc:
        if _code(exc) != "StateMachineDoesNotExist":
            raise
    return passed(f"listed state machines ({len(mine)} named {prefix}_*) and may describe the team's")


def check_kube_context(doc: Doctor) -> Verdict:
    if kubeconfig.CLUSTER_KEY not in doc.profile:
        return skipped("the environment has no Kubernetes layer (no METAFLOW_STRATA_EKS_CLUSTER)")
    path = kubeconfig.kubeconfig_path(doc.environ)
    fix = f"`strata configure --env {doc.env or '<env>'} --team {doc.team or '<team>'}` writes it"
    try:
        config = kubeconfig.read_config(path)
    except profiles.ProfileProblem as exc:
        return failed(str(exc), "fix or move the file, then run strata configure again")
    context = kubeconfig.context_name(doc.env or "", doc.team or "")
    entry = _named(config.get("contexts"), context).get("context") or {}
    if not entry:
        return failed(f"no context {context} in {path}", fix)
    namespace = doc.profile.get(kubeconfig.NAMESPACE_KEY)
    if entry.get("namespace") != namespace:
        return failed(f"context {context} uses namespace {entry.get('namespace')!r}, not {namespace!r}", f"{fix} (add --force)")
    server = (_named(config.get("clusters"), entry.get("cluster")).get("cluster") or {}).get("server")
    if not server or not _named(config.get("users"), entry.get("user")):
        return failed(f"context {context} names a cluster or user missing from {path}", f"{fix} (add --force)")
    if config.get("current-context") != context:
        return failed(
            f"the current context is {config.get('current-context')!r}: Metaflow's @kubernetes and Argo use it",
            f"`kubectl config use-context {context}`",
        )
    return passed(f"current context {context} (namespace {namespace}, {server}) in {path}")


def check_kube_api(doc: Doctor) -> Verdict:
    """List one pod in the team's namespace through the context, as Metaflow's kubernetes client would."""
    if doc.local_cloud:
        return skipped("the local cloud runs no Kubernetes API server: its objects are validated, never applied")
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    path, context = kubeconfig.kubeconfig_path(doc.environ), kubeconfig.context_name(doc.env or "", doc.team or "")
    namespace, configuration = doc.profile.get(kubeconfig.NAMESPACE_KEY, ""), k8s.Configuration()
    try:
        k8s_config.load_kube_config(str(path), context, client_configuration=configuration, persist_config=False)
        configuration.retries = 1
        k8s.CoreV1Api(k8s.ApiClient(configuration)).list_namespaced_pod(namespace, limit=1, _request_timeout=(3, 10))
    except ApiException as exc:
        if exc.status in (401, 403):
            return failed(f"the cluster refused you in namespace {namespace} (HTTP {exc.status})", doc.role_fix())
        return failed(f"the cluster answered HTTP {exc.status}: {exc.reason}", "ask the platform team")
    except ConfigException as exc:
        return failed(
            f"context {context} gives no credentials: {exc}",
            "install the AWS CLI v2 (`aws eks get-token` makes the token) and be the team's role",
        )
    except Exception as exc:  # urllib3's connection errors and the exec plugin's failures
        return failed(
            f"cannot reach the cluster's API through {context}: {type(exc).__name__}",
            "the endpoint is private: connect the VPN or run where the VPC is reachable (modules/kubernetes/README.md, 'Reaching the API')",
        )
    return passed(f"listed pods in namespace {namespace} through {context}")


def check_warehouse(doc: Doctor) -> Verdict:
    if not any(k.startswith(warehouse.KEY_PREFIX) for k in doc.profile):
        return skipped(f"the environment has no warehouse (no {warehouse.KEY_PREFIX}* settings)")
    try:
        settings = warehouse.load_settings(doc.env, doc.team, doc.home)
        client = doc.client("redshift-data", settings.region)
        rows = warehouse.query(
            "select 1 as ok", env=doc.env, team=doc.team, home=doc.home, client=client, timeout=WAREHOUSE_TIMEOUT
        )
    except warehouse.LocalCloudCannotQuery as exc:
        return skipped(
            "the local cloud's Redshift Data API (moto) accepted `select 1` but never runs SQL "
            f"(statement {exc.statement_id} cancelled); query a deployed environment"
        )
    except warehouse.WarehouseNotConfigured as exc:
        return failed(str(exc), doc.configure_fix())
    except warehouse.QueryTimeout as exc:
        return failed(str(exc), "the warehouse may be paused or busy: retry, or ask the platform team")
    except warehouse.WarehouseError as exc:
        return failed(str(exc), doc.role_fix() if "assume" in str(exc) else "ask the platform team")
    if rows != [{"ok": 1}]:
        return failed(f"`select 1` returned {rows!r}", "ask the platform team")
    return passed(f"`select 1` ran on {settings.name} ({settings.database}) through the Redshift Data API")


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Doctor], Verdict]
    needs: tuple[str, ...] = ()
    aws: bool = False  # skipped once AWS is unreachable


_AWS = ("profile", "aws-config")
CHECKS = (
    Check("profile", check_profile),
    Check("metaflow-user", check_user),
    Check("aws-config", check_aws_config, ("profile",)),
    Check("caller-role", check_caller, _AWS, aws=True),
    Check("profile-matches", check_profile_matches, _AWS, aws=True),
    Check("datastore", check_datastore, _AWS, aws=True),
    Check("job-queues", check_queues, _AWS, aws=True),
    Check("pass-roles", check_pass_roles, _AWS, aws=True),
    Check("metadata", check_metadata, ("profile",)),
    Check("step-functions", check_step_functions, _AWS, aws=True),
    Check("kube-context", check_kube_context, ("profile",)),
    Check("kube-api", check_kube_api, ("kube-context",)),
    Check("warehouse", check_warehouse, _AWS, aws=True),
)


def run(doc: Doctor, checks: Iterable[Check] = CHECKS) -> list[Result]:
    """Every check in order; a check whose prerequisite did not pass is skipped."""
    for check in checks:
        blocked = [doc.results[n] for n in check.needs if n in doc.results and doc.results[n].status != PASS]
        if blocked:
            first = blocked[0]
            why = f"{first.name} failed" if first.status == FAIL else f"{first.name} skipped: {first.detail}"
            verdict = skipped(why)
        elif check.aws and doc.aws_down:
            verdict = skipped(doc.aws_down)
        else:
            verdict = _guarded(check, doc)
        doc.results[check.name] = Result(check.name, *verdict)
    return list(doc.results.values())


def diagnose(name: str, env: str | None = None, team: str | None = None, environ: Mapping[str, str] = os.environ) -> list[Result]:
    return run(Doctor(name, env, team, environ=environ))


def _guarded(check: Check, doc: Doctor) -> Verdict:
    """The check's verdict; what it raises becomes a failure with a fix, never a traceback."""
    try:
        return check.run(doc)
    except NoCredentialsError:
        doc.aws_down = f"no AWS credentials (see {check.name})"
        fix = f"`source {profiles.LOCAL_ENV_FILE}`" if doc.local_cloud else "log in (e.g. `aws sso login`) or set AWS_PROFILE"
        return failed("no AWS credentials found", fix)
    except ProfileNotFound as exc:
        doc.aws_down = f"no AWS configuration (see {check.name})"
        return failed(f"AWS_PROFILE: {exc}", "set AWS_PROFILE to one of `aws configure list-profiles`, or unset it")
    except NoRegionError:
        doc.aws_down = f"no AWS region (see {check.name})"
        return failed("no AWS region configured", "export AWS_DEFAULT_REGION=<the environment's region>")
    except (AwsConnectionError, HTTPClientError) as exc:
        doc.aws_down = f"AWS unreachable (see {check.name})"
        where = doc.endpoint or "AWS"
        return failed(f"cannot reach AWS at {where}: {type(exc).__name__}", doc.unreachable_fix())
    except ClientError as exc:
        if _code(exc) in BAD_CREDENTIAL_CODES:
            doc.aws_down = f"AWS refused the credentials (see {check.name})"
            return failed(f"AWS refused your credentials ({_code(exc)})", "log in again (e.g. `aws sso login`)")
        fix = doc.role_fix() if _code(exc) in AUTH_CODES else "ask the platform team"
        return failed(f"AWS refused {exc.operation_name}: {_code(exc)}: {_message(exc)}", fix)
    except (BotoCoreError, ResponseParserError) as exc:
        return failed(f"unexpected answer from AWS: {type(exc).__name__}", "retry; if it persists, ask the platform team")
    except Exception as exc:  # a doctor reports, it does not crash: any other error is this check's failure
        return failed(f"the check itself failed: {type(exc).__name__}: {exc}", "report this to the platform team")


# ---------------------------------------------------------------- helpers


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _one_line(text: str) -> str:
    """``text`` on one line; an XML error document (moto answers some JSON APIs' refusals with one) as its message."""
    return " ".join(re.sub(r"<\?xml.*?<Message>(.*?)</Message>.*?</\w*Response>", r"\1", text, flags=re.DOTALL).split())


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _assumed_role(arn: str) -> str | None:
    """The role name of ``arn:aws:sts::<account>:assumed-role/<role>/<session>``, else None."""
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    return rest.split("/")[0] if kind == "assumed-role" and rest else None


def _caller_role_arn(arn: str) -> str | None:
    role, parts = _assumed_role(arn), arn.split(":")
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}" if role else None


def _named(items: Any, name: Any) -> dict[str, Any]:
    return next((i for i in items or [] if isinstance(i, dict) and i.get("name") == name), {})


def _http_status(url: str, headers: Mapping[str, str]) -> int:
    request = urllib.request.Request(url, headers=dict(headers), method="GET")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _simulate(iam: Any, caller: str, wanted: list[tuple[str, str]]) -> tuple[list[bool] | None, str]:
    """IAM's policy simulator on the caller's role: ``(decisions, how)`` or ``(None, why not)``."""
    decisions = []
    try:
        for role, service in wanted:
            context = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [service], "ContextKeyType": "string"}]
            answer = iam.simulate_principal_policy(
                PolicySourceArn=caller, ActionNames=["iam:PassRole"], ResourceArns=[role], ContextEntries=context
            )
            decisions.append(answer["EvaluationResults"][0]["EvalDecision"] == "allowed")
    except ClientError as exc:
        if _code(exc) in AUTH_CODES:
            return None, "your role may not call iam:SimulatePrincipalPolicy"
        return None, f"the IAM policy simulator refused ({_code(exc)})"
    except ResponseParserError:  # moto has no simulator: it answers 500 with an HTML page
        return None, "this endpoint has no IAM policy simulator"
    return decisions, "IAM policy simulator"


def _evaluate_own_policies(iam: Any, caller: str, wanted: list[tuple[str, str]], why: str) -> tuple[list[bool] | None, str]:
    """Where there is no simulator: the caller role's own identity policies, read back and evaluated here."""
    role = _name(caller)
    try:
        documents = [
            _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            documents.append(
                _document(iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"])
            )
    except ClientError as exc:
        return None, f"{why}, nor read its own policies ({_code(exc)})"
    decisions = [decide(documents, "iam:PassRole", r, {"iam:PassedToService": s}) for r, s in wanted]
    if "unknown" in decisions:
        return None, f"{why}, and its policies hold conditions this check cannot evaluate"
    return [d == "allow" for d in decisions], (
        f"{why}: evaluated here from the role's {len(documents)} identity policies; permission boundaries and "
        "organisation policies are not seen"
    )


def _document(value: Any) -> dict[str, Any]:
    return json.loads(unquote(value)) if isinstance(value, str) else dict(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _covers(statement: Mapping[str, Any], key: str, value: str, ignore_case: bool = False) -> bool:
    if key in statement:
        return any(_wildcard(p, value, ignore_case) for p in _as_list(statement[key]))
    if f"Not{key}" in statement:
        return not any(_wildcard(p, value, ignore_case) for p in _as_list(statement[f"Not{key}"]))
    return False


_STRING_OPERATORS = {"StringEquals": False, "StringLike": True}


def _condition(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool | None:
    """True or False where every operator is StringEquals/StringLike (IfExists too) on a key of ``context``;
    None (cannot tell) otherwise."""
    keys = {k.lower(): v for k, v in context.items()}
    for operator, tests in condition.items():
        base = operator.removesuffix("IfExists")
        if base not in _STRING_OPERATORS or not isinstance(tests, dict):
            return None
        for key, allowed in tests.items():
            if key.lower() not in keys:
                return None
            value, like = keys[key.lower()], _STRING_OPERATORS[base]
            if not any(_wildcard(p, value) if like else p == value for p in _as_list(allowed)):
                return False
    return True


def decide(documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Mapping[str, str]) -> str:
    """``allow``, ``deny`` (explicit), ``implicit-deny`` or ``unknown`` for one request under identity policies."""
    allowed = allow_unknown = deny_unknown = False
    for document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if not (_covers(statement, "Action", action, ignore_case=True) and _covers(statement, "Resource", resource)):
                continue
            holds = _condition(statement.get("Condition") or {}, context)
            if statement.get("Effect") == "Deny":
                if holds is True:
                    return "deny"
                deny_unknown = deny_unknown or holds is None
            elif holds is True:
                allowed = True
            else:
                allow_unknown = allow_unknown or holds is None
    if deny_unknown:
        return "unknown"
    if allowed:
        return "allow"
    return "unknown" if allow_unknown else "implicit-deny"
