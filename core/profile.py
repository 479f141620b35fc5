"""The per-team Metaflow profile: a pure function of stack outputs.

Metaflow reads ``$METAFLOW_HOME/config_<profile>.json`` when ``METAFLOW_PROFILE=<profile>``; the
keys are Metaflow's own setting names, so a data scientist can read the file and know what it does.
The same dict is stored in SSM (``strata configure`` fetches it) and exported as a stack output.
It holds names and ARNs only, never a secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core import naming

# Anything that looks like an unfilled template value is a bug in the program, not a valid profile.
_PLACEHOLDER = re.compile(r"<[^>]*>|\bTODO\b|\bCHANGEME\b|\bREPLACE|\$\{|^\s*$|^None$|^null$", re.IGNORECASE)


# The name the Strata Metaflow extension registers its AWS client provider under (AWS_CLIENT_PROVIDERS_DESC).
STRATA_CLIENT_PROVIDER = "strata"


class ProfileError(ValueError):
    """A profile would carry a missing or placeholder value."""


@dataclass(frozen=True)
class KubernetesProfile:
    """A team's keys on the Kubernetes layer (modules/kubernetes): Metaflow's ``@kubernetes`` and Argo settings,
    and the cluster ``strata configure`` writes the team's kubeconfig context for."""

    namespace: str
    service_account: str  # the team's pods' account, bound to its job role through IRSA
    container_registry: str
    container_image: str
    event_bus: str
    event_source: str
    events_service_account: str  # the account the team's sensors submit workflows with
    webhook_url: str  # the team's webhook on the internal load balancer (from the VPC)
    internal_webhook_url: str  # the same webhook from inside the cluster
    ui_url: str  # the Argo server, on the internal load balancer
    cluster_name: str
    # Not the cluster's endpoint and CA certificate: the certificate alone is ~1,400 characters and the profile
    # must fit a Standard SSM parameter (4 KB). `strata configure` reads both with eks:DescribeCluster.
    region: str


@dataclass(frozen=True)
class ProfileInputs:
    """What one team's profile is made of; every field comes from a stack output."""

    bucket_name: str
    team_prefix: str  # "teams/<team>/"
    job_queue: str  # the team's default (CPU) queue: name or ARN
    job_role_arn: str
    # What the Strata Metaflow extension (sdk/metaflow_extensions/strata) names, tags and logs the team's job
    # definitions with: naming.job_definition_prefix / naming.job_log_group of the team.
    job_definition_prefix: str
    job_log_group: str
    metadata: str = "local"  # "service" once the metadata layer is deployed
    fargate_execution_role_arn: str | None = None
    # Step Functions (modules/orchestration): all of the first four, or none.
    sfn_iam_role: str | None = None
    sfn_dynamo_db_table: str | None = None
    events_sfn_access_iam_role: str | None = None
    sfn_state_machine_prefix: str | None = None
    sfn_execution_log_group_arn: str | None = None  # for `step-functions create --log-execution-history`
    # Metadata service (modules/metadata): both with metadata="service", neither with "local". The API
    # key is not here: `strata configure` reads it from Secrets Manager into the local profile file only.
    service_url: str | None = None
    service_internal_url: str | None = None
    # The team's API key secret (its ARN, not the key): a Batch job fetches the key with its own role, so the key
    # itself never travels in a job's environment, a state machine or an event.
    api_key_secret_arn: str | None = None
    # Warehouse (modules/warehouse): the STRATA_WAREHOUSE_* keys `strata warehouse query` reads
    # (modules.warehouse.settings.profile_keys). Metaflow ignores keys it does not know.
    warehouse: Mapping[str, str] | None = None
    # Kubernetes (modules/kubernetes): where the environment has the layer.
    kubernetes: KubernetesProfile | None = None


def render_profile(p: ProfileInputs) -> dict[str, str]:
    """The ``METAFLOW_*`` settings for one team. Raises :class:`ProfileError` on any missing value."""
    # Check the parts too: an empty bucket name would still yield a plausible-looking "s3:///..." root.
    check_profile({k: v for k, v in vars(p).items() if v is not None and k not in ("warehouse", "kubernetes")})
    root = f"s3://{p.bucket_name}/{p.team_prefix.strip('/')}"
    team = naming.team_from_prefix(p.team_prefix)
    profile = {
        # The Strata Metaflow extension's AWS client: job definitions named, tagged and logged as the team's, the
        # API key stripped from what Metaflow sends to Batch and Step Functions. Without the extension installed
        # Metaflow refuses the unknown provider (and IAM would refuse the untagged definitions anyway).
        "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": STRATA_CLIENT_PROVIDER,
        "METAFLOW_STRATA_TEAM": team,
        "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": p.job_definition_prefix,
        "METAFLOW_STRATA_JOB_LOG_GROUP": p.job_log_group,
        # Every Batch job carries the team's tag: the team's role may stop only its own jobs (modules/team).
        "METAFLOW_BATCH_EMIT_TAGS": "true",
        "METAFLOW_BATCH_DEFAULT_TAGS": json.dumps({naming.TEAM_TAG: team}),
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"{root}/metaflow",
        "METAFLOW_DATATOOLS_S3ROOT": f"{root}/data",
        "METAFLOW_BATCH_JOB_QUEUE": p.job_queue,
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": p.job_role_arn,
        "METAFLOW_DEFAULT_METADATA": p.metadata,
    }
    if p.fargate_execution_role_arn is not None:
        profile["METAFLOW_ECS_FARGATE_EXECUTION_ROLE"] = p.fargate_execution_role_arn
    profile.update(_step_functions_keys(p))
    profile.update(_metadata_keys(p))
    profile.update(_warehouse_keys(p))
    profile.update(_kubernetes_keys(p.kubernetes, team))
    check_profile(profile)
    return profile


WAREHOUSE_KEY_PREFIX = "STRATA_WAREHOUSE_"


def _warehouse_keys(p: ProfileInputs) -> dict[str, str]:
    """The warehouse keys as given; only ``STRATA_WAREHOUSE_*`` names, so they can never shadow a Metaflow key."""
    keys = dict(p.warehouse or {})
    if wrong := sorted(k for k in keys if not k.startswith(WAREHOUSE_KEY_PREFIX)):
        raise ProfileError(f"warehouse profile keys must start with {WAREHOUSE_KEY_PREFIX}: {', '.join(wrong)}")
    return keys


# Metaflow's setting for each Step Functions field of ProfileInputs (metaflow_config.py, "AWS Step Functions").
_SFN_KEYS = {
    "sfn_iam_role": "METAFLOW_SFN_IAM_ROLE",
    "sfn_dynamo_db_table": "METAFLOW_SFN_DYNAMO_DB_TABLE",
    "events_sfn_access_iam_role": "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE",
    "sfn_state_machine_prefix": "METAFLOW_SFN_STATE_MACHINE_PREFIX",
}


def _step_functions_keys(p: ProfileInputs) -> dict[str, str]:
    """The Step Functions keys: all four (``step-functions create`` needs each) or none at all."""
    given = {field: getattr(p, field) for field in _SFN_KEYS if getattr(p, field) is not None}
    if not given:
        if p.sfn_execution_log_group_arn is not None:
            raise ProfileError("sfn_execution_log_group_arn given without the Step Functions role, table and prefix")
        return {}
    if missing := sorted(set(_SFN_KEYS) - set(given)):
        raise ProfileError(f"Step Functions settings are all-or-nothing; missing: {', '.join(missing)}")
    keys = {_SFN_KEYS[field]: value for field, value in given.items()}
    if p.sfn_execution_log_group_arn is not None:
        keys["METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN"] = p.sfn_execution_log_group_arn
    return keys


def _kubernetes_keys(k: KubernetesProfile | None, team: str) -> dict[str, str]:
    """Metaflow's Kubernetes and Argo settings for the team's namespace, and the cluster for its kubeconfig.
    Metaflow bakes every ``METAFLOW_*`` value into a workflow's pods, so nothing here may be a laptop's."""
    if k is None:
        return {}
    return {
        "METAFLOW_KUBERNETES_NAMESPACE": k.namespace,
        "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": k.service_account,
        "METAFLOW_KUBERNETES_CONTAINER_REGISTRY": k.container_registry,
        "METAFLOW_KUBERNETES_CONTAINER_IMAGE": k.container_image,
        # The team's pods go to the team's own nodes (labelled and tainted with its name: modules/kubernetes).
        "METAFLOW_KUBERNETES_NODE_SELECTOR": f"{naming.TEAM_LABEL}={team}",
        # Its own taint, and the GPU nodes' nvidia.com/gpu taint (a pod that asks for no GPU never lands there:
        # the scheduler also needs the GPU resource, which only @kubernetes(gpu=N) requests).
        "METAFLOW_KUBERNETES_TOLERATIONS": json.dumps(
            [
                {"key": naming.TEAM_LABEL, "operator": "Equal", "value": team, "effect": "NoSchedule"},
                {"key": naming.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
            ]
        ),
        "METAFLOW_ARGO_EVENTS_EVENT_BUS": k.event_bus,
        "METAFLOW_ARGO_EVENTS_EVENT_SOURCE": k.event_source,
        "METAFLOW_ARGO_EVENTS_EVENT": naming.TEAM_EVENT_NAME,
        "METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT": k.events_service_account,
        "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": k.webhook_url,
        "METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL": k.internal_webhook_url,
        "METAFLOW_ARGO_WORKFLOWS_UI_URL": k.ui_url,
        # Read by `strata configure` (the team's kubeconfig context); Metaflow ignores keys it does not know.
        "METAFLOW_STRATA_EKS_CLUSTER": k.cluster_name,
        "METAFLOW_STRATA_EKS_REGION": k.region,
    }


def _metadata_keys(p: ProfileInputs) -> dict[str, str]:
    """``METAFLOW_SERVICE_URL``, ``METAFLOW_SERVICE_INTERNAL_URL`` and the API key's secret exactly when the
    profile uses the service."""
    urls = {
        "METAFLOW_SERVICE_URL": p.service_url,
        "METAFLOW_SERVICE_INTERNAL_URL": p.service_internal_url,
        "METAFLOW_STRATA_API_KEY_SECRET": p.api_key_secret_arn,
    }
    if p.metadata == "service":
        if missing := sorted(k for k, v in urls.items() if v is None):
            raise ProfileError(f"metadata 'service' needs {', '.join(missing)}")
        return {k: v for k, v in urls.items() if v is not None}
    if p.metadata != "local":
        raise ProfileError(f"metadata is 'service' or 'local', not {p.metadata!r}")
    if any(v is not None for v in urls.values()):
        raise ProfileError("service URLs given with metadata 'local': Metaflow would ignore them")
    return {}


def check_profile(profile: dict[str, str]) -> None:
    """Reject empty or placeholder values, so no team ever receives a half-filled profile."""
    bad = {k: v for k, v in profile.items() if not isinstance(v, str) or _PLACEHOLDER.search(v)}
    if bad:
        listing = ", ".join(f"{k}={v!r}" for k, v in sorted(bad.items()))
        raise ProfileError(f"profile has missing or placeholder values: {listing}")
