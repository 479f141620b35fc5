"""Physical names of everything Strata creates, and the rules each AWS service puts on them.

Pure functions only: the config validator calls them to reject a team or environment name that
would produce an invalid bucket, role or queue name *before* anything is declared, and the
modules call the same functions to name resources, so the two can never disagree.
"""

from __future__ import annotations

import re
import zlib

# Our own rules for the two names users choose. They are stricter than any single AWS service so
# that every derived name (S3, IAM, Batch, SSM, Kubernetes later) is valid without escaping.
ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")
TEAM_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,23}$")
# Prefix for globally unique names (S3 buckets): lowercase, digits, single hyphens.
NAME_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,29}$")

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName)
_IAM_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")
# https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html (jobQueueName)
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def s3_bucket_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None."""
    if not _S3_BUCKET.match(name):
        return "S3 bucket names are 3-63 characters of a-z, 0-9, '.' and '-', starting and ending alphanumeric"
    if ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        return "S3 bucket names may not contain '..' or look like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "S3 reserves the prefixes xn--/sthree- and the suffixes -s3alias/--ol-s3"
    return None


def iam_role_problem(name: str) -> str | None:
    if not _IAM_ROLE.match(name):
        return "IAM role names are 1-64 characters of letters, digits and +=,.@_-"
    return None


def batch_name_problem(name: str) -> str | None:
    if not _BATCH.match(name):
        return "AWS Batch names are 1-128 characters of letters, digits, '-' and '_'"
    return None


def datastore_bucket(name_prefix: str, env: str) -> str:
    return f"{name_prefix}-{env}-datastore"


def log_bucket(name_prefix: str, env: str) -> str:
    return f"{name_prefix}-{env}-access-logs"


# The tag (key and value) on every resource Strata declares: stack files must not claim another owner.
MANAGED_BY_TAG = "managed-by"
MANAGED_BY = "strata"
# The tag that names a team's resources, and the one Metaflow puts on each Batch job a team submits
# (METAFLOW_BATCH_DEFAULT_TAGS): a team's role may stop only jobs that carry its own name here.
TEAM_TAG = "team"


def team_from_prefix(prefix: str) -> str:
    """The team of a datastore prefix made by :func:`team_prefix` (``teams/<team>/``)."""
    parts = prefix.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "teams" or not TEAM_NAME.match(parts[1]):
        raise ValueError(f"not a team prefix: {prefix!r}")
    return parts[1]


def team_prefix(team: str) -> str:
    """The S3 key prefix a team owns inside the datastore bucket (no leading slash)."""
    return f"teams/{team}/"


def job_role(env: str, team: str) -> str:
    return f"strata-{env}-{team}-job"


def data_scientist_role(env: str, team: str) -> str:
    return f"strata-{env}-{team}-ds"


# The kinds of job queue a team can have: ``cpu`` always, ``gpu`` and ``fargate`` where enabled.
QUEUE_KINDS = ("cpu", "gpu", "fargate")


def job_queue(env: str, team: str, kind: str) -> str:
    """``kind`` is one of :data:`QUEUE_KINDS`."""
    return f"strata-{env}-{team}-{kind}"


# A team's compute environments: one per kind it uses, named after the team. No compute environment is
# shared by two teams (a container that escapes to its host lands on its own team's instance).
CE_KINDS = ("cpu-ondemand", "cpu-spot", "gpu", "fargate")


def compute_environment(env: str, team: str, kind: str) -> str:
    """A team's compute environment; ``kind`` is one of :data:`CE_KINDS`."""
    return f"strata-{env}-{team}-{kind}"


# Every job definition a team registers is named ``strata-<env>-<team>_<hash>`` (the Strata Metaflow extension
# renames Metaflow's ``metaflow_<hash>``). Team names contain no "_", so one team's prefix never starts
# another's (``strata-<env>-<team>-`` would: it starts team ``<team>-x``'s names): usable as an IAM ARN pattern.
JOB_DEFINITION_SEPARATOR = "_"


def job_definition_prefix(env: str, team: str) -> str:
    """What a team's job definitions are named with: ``strata-<env>-<team>_`` (at most 45 characters)."""
    return f"strata-{env}-{team}{JOB_DEFINITION_SEPARATOR}"


def job_log_group(env: str, team: str) -> str:
    """A team's Batch job output (the ``awslogs-group`` every job definition of the team must name)."""
    return f"/strata/{env}/batch/{team}"


def step_functions_role(env: str, team: str) -> str:
    """A team's Step Functions execution role (``METAFLOW_SFN_IAM_ROLE``)."""
    return f"strata-{env}-{team}-sfn"


def eventbridge_role(env: str, team: str) -> str:
    """A team's EventBridge schedule role (``METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE``)."""
    return f"strata-{env}-{team}-events"


def profile_parameter(env: str, team: str) -> str:
    return f"/strata/{env}/teams/{team}/metaflow-profile"


# Metaflow names a state machine ``<METAFLOW_SFN_STATE_MACHINE_PREFIX>_<FlowName>`` (it inserts the "_";
# metaflow/plugins/aws/step_functions/step_functions_cli.py, resolve_state_machine_name) and names the
# flow's EventBridge schedule rule after the state machine. Team names contain no "_", so
# ``strata-<env>-<team>_`` can never be the start of another team's names (``strata-<env>-<team>-`` would
# be: it starts team ``<team>-x``'s names too), which is what makes it usable as an IAM ARN pattern.
STATE_MACHINE_SEPARATOR = "_"


def state_machine_prefix(env: str, team: str) -> str:
    """``METAFLOW_SFN_STATE_MACHINE_PREFIX`` of a team: ``strata-<env>-<team>``."""
    return f"strata-{env}-{team}"


def state_machine_name_prefix(env: str, team: str) -> str:
    """What every state machine and schedule rule of a team is named with: ``strata-<env>-<team>_``.

    At most 45 characters (env <= 12, team <= 24), so it survives Metaflow's cut of long names
    (state machines: 60 characters + hash; EventBridge rules: 47 + hash)."""
    return state_machine_prefix(env, team) + STATE_MACHINE_SEPARATOR


def state_table(env: str) -> str:
    """The environment's shared foreach-state table of releases before per-team tables. Kept (protected, its
    data intact) so that executions started before the upgrade can finish; no role is granted it any more."""
    return f"strata-{env}-sfn-state"


def team_state_table(env: str, team: str) -> str:
    """A team's DynamoDB table for Metaflow's Step Functions foreach state (``METAFLOW_SFN_DYNAMO_DB_TABLE``)."""
    return f"strata-{env}-{team}-sfn-state"


def step_functions_log_group(env: str) -> str:
    """Execution-history log group. The ``/aws/vendedlogs/`` prefix is AWS's advice for vended logs: it keeps
    the log group resource policy CloudWatch Logs writes under its 5,120-character limit.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html"""
    return f"/aws/vendedlogs/states/strata-{env}"


def step_functions_log_policy(env: str) -> str:
    """The CloudWatch Logs resource policy that lets log delivery write execution history into that group."""
    return f"strata-{env}-sfn-execution-history"


def metadata_name(env: str, part: str = "") -> str:
    """A metadata-layer resource: ``strata-<env>-metadata[-<part>]`` (DB cluster, ECS cluster, service,
    task family, API, authorizer). Lowercase, digits and hyphens: valid for RDS, ECS, Lambda and API Gateway."""
    return f"strata-{env}-metadata" + (f"-{part}" if part else "")


# Load balancer and target group names: at most 32 characters.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
ELB_NAME_MAX = 32


def metadata_owners_table(env: str) -> str:
    """The DynamoDB table the metadata API's authorizer records each run's owning team in."""
    return metadata_name(env, "owners")


def metadata_ui_name(env: str, part: str = "") -> str:
    """The Metaflow UI's ALB (``strata-<env>-ui``) and target groups (``strata-<env>-ui-<part>``)."""
    name = f"strata-{env}-ui" + (f"-{part}" if part else "")
    if len(name) > ELB_NAME_MAX:
        raise ValueError(f"{name!r} is longer than the {ELB_NAME_MAX} characters a load balancer name may have")
    return name


def metadata_namespace(env: str) -> str:
    """The private Cloud Map (Route 53) namespace the metadata service registers in."""
    return f"strata-{env}.internal"


def metadata_api_key_secret(env: str, team: str) -> str:
    """The Secrets Manager secret holding a team's metadata API key (read by ``strata configure``)."""
    return f"strata/{env}/teams/{team}/metadata-api-key"


def profile_name(env: str, team: str) -> str:
    """The Metaflow profile name: ``METAFLOW_PROFILE=<env>-<team>`` selects ``config_<env>-<team>.json``."""
    return f"{env}-{team}"


# The warehouse (modules/warehouse). One cluster, or one Serverless namespace + workgroup, per environment.
# Lowercase letters, digits and single hyphens: valid as a cluster identifier (1-63), namespace and
# workgroup name (3-64). https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
WAREHOUSE_DATABASE = "analytics"
WAREHOUSE_ADMIN_USER = "strata_admin"


def warehouse_name(env: str) -> str:
    """The Redshift cluster identifier, or the Serverless namespace and workgroup name."""
    return f"strata-{env}"


def warehouse_role(env: str, team: str) -> str:
    """The role the warehouse assumes for a team's COPY/UNLOAD (its datastore prefix only)."""
    return f"strata-{env}-{team}-warehouse"


def warehouse_db_user(team: str) -> str:
    """A team's database user (provisioned) and schema: team names have no '_', so this is one-to-one."""
    return team.replace("-", "_")


def warehouse_db_role(team: str) -> str:
    """A team's database role: granted the team's schema and COPY/UNLOAD role."""
    return f"team_{warehouse_db_user(team)}"


def team_name_problems(env: str, team: str) -> list[str]:
    """Every derived per-team name that would be invalid for its service."""
    problems = []
    roles = (job_role, data_scientist_role, warehouse_role, step_functions_role, eventbridge_role)
    for role in (f(env, team) for f in roles):
        if why := iam_role_problem(role):
            problems.append(f"role name {role!r}: {why}")
    for kind in QUEUE_KINDS:
        queue = job_queue(env, team, kind)
        if why := batch_name_problem(queue):
            problems.append(f"job queue name {queue!r}: {why}")
    for kind in CE_KINDS:
        ce = compute_environment(env, team, kind)
        if why := batch_name_problem(ce):
            problems.append(f"compute environment name {ce!r}: {why}")
    return problems


# ---------------------------------------------------------------- keys and log groups
# Log-group names: 512 characters of [.-_/#A-Za-z0-9].
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html


def datastore_key_alias(env: str) -> str:
    """The KMS alias of the datastore (platform) key."""
    return f"alias/strata-{env}-datastore"


def observability_key_alias(env: str) -> str:
    """The KMS alias of the key that encrypts every layer's log groups."""
    return f"alias/strata-{env}-observability"


def metadata_log_group(env: str, part: str) -> str:
    """``part``: ``metadata-service``, ``metadata-api`` or ``metadata-ui``."""
    return f"/strata/{env}/{part}"


def lambda_log_group(function_name: str) -> str:
    """Where Lambda writes a function's logs; created ahead so that retention and the key apply."""
    return f"/aws/lambda/{function_name}"


# ---------------------------------------------------------------- observability
# EventBridge rule names: 64 characters, [.-_A-Za-z0-9]+
# (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html); SNS topic names: 256
# characters, letters, digits, - and _; budget names: 100 characters, no : or \
# (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html);
# CloudWatch dashboard names: 255 characters, letters, digits, - and _. Checked in the unit tests for the
# longest environment and team names the validator allows (12 and 24 characters).

# Where AWS Batch writes job output when a job definition names no log group; Metaflow names none
# (a step can pass @batch(log_driver=..., log_options=[...]), but no profile key selects a group).
BATCH_LOG_GROUP = "/aws/batch/job"


def dashboard(env: str) -> str:
    return f"strata-{env}"


def alarm_topic(env: str) -> str:
    """The platform engineers' topic: every CloudWatch alarm of the environment."""
    return f"strata-{env}-alarms"


def team_topic(env: str, team: str) -> str:
    """A team's topic: its failed Batch jobs (subscribers: the team file's contacts)."""
    return f"strata-{env}-{team}-alerts"


def failed_jobs_rule(env: str, team: str) -> str:
    return f"strata-{env}-{team}-batch-failed"


def alarm(env: str, signal: str) -> str:
    """``signal`` is e.g. ``fraud-failed-jobs``, ``api-5xx``, ``db-cpu``."""
    return f"{alarm_prefix(env)}{signal}"


def alarm_prefix(env: str) -> str:
    """Every alarm of the environment starts with this (the alarm topic's policy relies on it)."""
    return f"strata-{env}-"


def team_budget(env: str, team: str) -> str:
    return f"strata-{env}-team-{team}"


def environment_budget(env: str) -> str:
    return f"strata-{env}-environment"


# ---------------------------------------------------------------- Kubernetes (modules/kubernetes)
# EKS cluster names: 1-100 characters, [0-9A-Za-z][A-Za-z0-9-_]*
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html). Namespace and service-account
# names are DNS-1123 labels: at most 63 characters of a-z, 0-9 and '-', starting and ending alphanumeric.
_DNS1123_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Where the platform's own Kubernetes software runs. A team namespace may be none of these, nor any of
# Kubernetes' own (``kube-*``, ``default``): core.naming.namespace_problem refuses them.
ARGO_NAMESPACE = "argo"
ARGO_EVENTS_NAMESPACE = "argo-events"
SERVING_NAMESPACE = "seldon-system"
# The serving layer's metrics collector (the CloudWatch agent in Prometheus mode, modules/serving/metrics.py).
METRICS_NAMESPACE = "amazon-cloudwatch"
SYSTEM_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    ARGO_NAMESPACE,
    ARGO_EVENTS_NAMESPACE,
    SERVING_NAMESPACE,
    METRICS_NAMESPACE,
    "amazon-guardduty",
    "aws-observability",
)

# In each team namespace: the service account Metaflow's pods run as (bound to the team's job role through
# IRSA), the one Argo Events' sensors submit workflows with (the name Metaflow's docs use), the event bus
# (Metaflow's default METAFLOW_ARGO_EVENTS_EVENT_BUS) and the webhook event source @trigger publishes to.
TEAM_SERVICE_ACCOUNT = "strata-job"
OPERATE_WORKFLOW_SERVICE_ACCOUNT = "operate-workflow-sa"
TEAM_EVENT_BUS = "default"
TEAM_EVENT_SOURCE = "metaflow-webhook"
# The webhook's event name: Metaflow's sensors depend on <event source>/<METAFLOW_ARGO_EVENTS_EVENT>.
TEAM_EVENT_NAME = "metaflow-event"
WEBHOOK_PORT = 12000
WEBHOOK_ENDPOINT = "/metaflow-event"
# The label and taint key that mark a team's nodes (node groups) and everything it owns in the cluster.
TEAM_LABEL = "strata.io/team"
# The NVIDIA device plugin's extended resource, and the taint on every GPU node (EKS GPU AMI node groups).
GPU_RESOURCE = "nvidia.com/gpu"
# The NodePort range (Kubernetes' default --service-node-port-range) the internal load balancer forwards to.
NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
ARGO_SERVER_PORT = 2746
ARGO_SERVER_NODE_PORT = 32746


def namespace_problem(namespace: str) -> str | None:
    """Why ``namespace`` cannot be a team namespace, or None."""
    if not _DNS1123_LABEL.match(namespace):
        return "Kubernetes namespaces are DNS labels: 1-63 characters of a-z, 0-9 and '-', starting and ending alphanumeric"
    if namespace in SYSTEM_NAMESPACES or namespace.startswith("kube-"):
        return f"{namespace!r} is a system namespace (Kubernetes' own, or where the platform runs Argo or Seldon)"
    return None


def eks_cluster(env: str) -> str:
    return f"strata-{env}"


def eks_log_group(env: str) -> str:
    """The control plane's log group: EKS writes to ``/aws/eks/<cluster>/cluster`` and nowhere else."""
    return f"/aws/eks/{eks_cluster(env)}/cluster"


def serving_metrics_log_group(env: str) -> str:
    """The serving metrics collector's embedded-metric-format logs: the CloudWatch agent's default group for
    Prometheus metrics, ``/aws/containerinsights/<cluster>/prometheus``, pre-created with retention and key."""
    return f"/aws/containerinsights/{eks_cluster(env)}/prometheus"


def eks_role(env: str, part: str) -> str:
    """The cluster's IAM roles: ``part`` is ``cluster``, ``nodes`` or ``autoscaler``."""
    return f"strata-{env}-eks-{part}"


def node_group(env: str, part: str) -> str:
    """A managed node group: ``system``, ``gpu``, or ``<team>`` / ``<team>-gpu`` for a team's own nodes."""
    return f"strata-{env}-{part}"


def webhook_node_port(team: str) -> int:
    """The port of a team's Argo Events webhook on the internal load balancer and the nodes: stable for the
    team whatever other teams come and go (a hash of its name, never 2746's NodePort). Two teams whose
    ports collide are refused by the loader, which names both."""
    span = NODE_PORT_MAX - NODE_PORT_MIN - 1000  # 30000-31767: leaves the top for the platform's own ports
    return NODE_PORT_MIN + zlib.crc32(team.encode()) % span
