"""The Metaflow profile is a pure function of stack outputs, complete and placeholder-free."""

import dataclasses
import json

import pytest

from core import naming
from core.profile import STRATA_CLIENT_PROVIDER, ProfileError, ProfileInputs, check_profile, render_profile

BASE = ProfileInputs(
    bucket_name="acme-ml-dev-datastore",
    team_prefix="teams/fraud/",
    job_queue="arn:aws:batch:us-east-1:111111111111:job-queue/strata-dev-fraud-cpu",
    job_role_arn="arn:aws:iam::111111111111:role/strata-dev-fraud-job",
    job_definition_prefix=naming.job_definition_prefix("dev", "fraud"),
    job_log_group=naming.job_log_group("dev", "fraud"),
)


def test_profile_keys_and_values():
    p = render_profile(BASE)
    assert p == {
        # the Strata Metaflow extension (sdk/metaflow_extensions/strata): names, tags and logs the team's job
        # definitions as IAM requires, and strips the API key from what goes to Batch and Step Functions
        "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER": "strata",
        "METAFLOW_STRATA_TEAM": "fraud",
        "METAFLOW_STRATA_JOB_DEFINITION_PREFIX": "strata-dev-fraud_",
        "METAFLOW_STRATA_JOB_LOG_GROUP": "/strata/dev/batch/fraud",
        # each Batch job is tagged with the team (its role may stop only jobs with its own tag)
        "METAFLOW_BATCH_EMIT_TAGS": "true",
        "METAFLOW_BATCH_DEFAULT_TAGS": '{"team": "fraud"}',
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://acme-ml-dev-datastore/teams/fraud/metaflow",
        "METAFLOW_DATATOOLS_S3ROOT": "s3://acme-ml-dev-datastore/teams/fraud/data",
        "METAFLOW_BATCH_JOB_QUEUE": BASE.job_queue,
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": BASE.job_role_arn,
        "METAFLOW_DEFAULT_METADATA": "local",
    }


@pytest.mark.parametrize("team", ["fraud", "fraud-x", "research"])
def test_the_extension_keys_name_the_teams_own_prefix_group_and_tag(team):
    """The team in the tag, the extension's team and the datastore root are one team; the prefix and the log group
    are exactly what the team's IAM conditions name (naming.job_definition_prefix / job_log_group)."""
    p = render_profile(
        ProfileInputs(
            **{
                **BASE.__dict__,
                "team_prefix": naming.team_prefix(team),
                "job_definition_prefix": naming.job_definition_prefix("dev", team),
                "job_log_group": naming.job_log_group("dev", team),
            }
        )
    )
    assert p["METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER"] == STRATA_CLIENT_PROVIDER
    assert p["METAFLOW_STRATA_TEAM"] == team
    assert json.loads(p["METAFLOW_BATCH_DEFAULT_TAGS"]) == {naming.TEAM_TAG: team}
    assert p["METAFLOW_STRATA_JOB_DEFINITION_PREFIX"] == f"strata-dev-{team}_"
    assert p["METAFLOW_STRATA_JOB_LOG_GROUP"] == f"/strata/dev/batch/{team}"
    assert p["METAFLOW_DATASTORE_SYSROOT_S3"].endswith(f"/teams/{team}/metaflow")


@pytest.mark.parametrize("field", ["job_definition_prefix", "job_log_group"])
@pytest.mark.parametrize("value", ["", "<prefix>", "None", "TODO"])
def test_the_extension_keys_refuse_missing_or_placeholder_values(field, value):
    with pytest.raises(ProfileError, match="placeholder"):
        render_profile(ProfileInputs(**{**BASE.__dict__, field: value}))


def test_fargate_role_only_where_fargate_is_used():
    role = "arn:aws:iam::111111111111:role/strata-dev-fargate-exec"
    assert "METAFLOW_ECS_FARGATE_EXECUTION_ROLE" not in render_profile(BASE)
    with_fargate = render_profile(ProfileInputs(**{**BASE.__dict__, "fargate_execution_role_arn": role}))
    assert with_fargate["METAFLOW_ECS_FARGATE_EXECUTION_ROLE"] == role


def test_datastore_root_is_under_the_team_prefix():
    p = render_profile(BASE)
    for key in ("METAFLOW_DATASTORE_SYSROOT_S3", "METAFLOW_DATATOOLS_S3ROOT"):
        assert p[key].startswith("s3://acme-ml-dev-datastore/teams/fraud/"), key


@pytest.mark.parametrize(
    "field,value",
    [
        ("bucket_name", ""),
        ("job_queue", "<queue>"),
        ("job_role_arn", "TODO"),
        ("job_role_arn", "None"),
        ("job_queue", "${queue}"),
        ("bucket_name", "CHANGEME"),
    ],
)
def test_placeholders_are_refused(field, value):
    with pytest.raises(ProfileError, match="placeholder"):
        render_profile(ProfileInputs(**{**BASE.__dict__, field: value}))


def test_check_profile_refuses_non_strings():
    with pytest.raises(ProfileError):
        check_profile({"METAFLOW_BATCH_JOB_QUEUE": None})  # type: ignore[dict-item]


# The team's own roles and table (one of each per team: modules/orchestration).
SFN = {
    "sfn_iam_role": f"arn:aws:iam::111111111111:role/{naming.step_functions_role('dev', 'fraud')}",
    "sfn_dynamo_db_table": naming.team_state_table("dev", "fraud"),
    "events_sfn_access_iam_role": f"arn:aws:iam::111111111111:role/{naming.eventbridge_role('dev', 'fraud')}",
    "sfn_state_machine_prefix": "strata-dev-fraud",
}


def test_step_functions_keys():
    p = render_profile(ProfileInputs(**{**BASE.__dict__, **SFN}))
    assert {k: v for k, v in p.items() if "SFN" in k} == {
        "METAFLOW_SFN_IAM_ROLE": SFN["sfn_iam_role"],
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "strata-dev-fraud-sfn-state",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": SFN["events_sfn_access_iam_role"],
        "METAFLOW_SFN_STATE_MACHINE_PREFIX": "strata-dev-fraud",
    }
    logs = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/vendedlogs/states/strata-dev:*"
    with_logs = render_profile(ProfileInputs(**{**BASE.__dict__, **SFN, "sfn_execution_log_group_arn": logs}))
    assert with_logs["METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN"] == logs
    assert not any("SFN" in k for k in render_profile(BASE))


@pytest.mark.parametrize("missing", sorted(SFN))
def test_step_functions_keys_are_all_or_nothing(missing):
    partial = {k: v for k, v in SFN.items() if k != missing}
    with pytest.raises(ProfileError, match=missing):
        render_profile(ProfileInputs(**{**BASE.__dict__, **partial}))


def test_step_functions_placeholders_are_refused():
    with pytest.raises(ProfileError, match="placeholder"):
        render_profile(ProfileInputs(**{**BASE.__dict__, **SFN, "sfn_dynamo_db_table": "<table>"}))


# --- metadata service keys (modules/metadata) -----------------------------------------------------

SERVICE_URL = "https://abc123.execute-api.us-east-1.amazonaws.com"
INTERNAL_URL = "http://metadata.strata-dev.internal:8080"
SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:strata/dev/teams/fraud/metadata-api-key-AbCdEf"
SERVICE = {"metadata": "service", "service_url": SERVICE_URL, "service_internal_url": INTERNAL_URL, "api_key_secret_arn": SECRET}


def test_service_profile_has_both_urls_the_keys_secret_and_no_key():
    p = render_profile(ProfileInputs(**{**BASE.__dict__, **SERVICE}))
    assert p["METAFLOW_DEFAULT_METADATA"] == "service"
    assert p["METAFLOW_SERVICE_URL"] == SERVICE_URL and p["METAFLOW_SERVICE_INTERNAL_URL"] == INTERNAL_URL
    # The secret's ARN, not the key: a Batch job fetches the key with its own role (the extension strips it from
    # what Metaflow sends to Batch and Step Functions).
    assert p["METAFLOW_STRATA_API_KEY_SECRET"] == SECRET
    assert not any(k in p for k in ("METAFLOW_SERVICE_AUTH_KEY", "METAFLOW_SERVICE_HEADERS")), "the API key never goes to SSM"


def test_local_profile_has_no_service_urls_and_no_secret():
    p = render_profile(BASE)
    assert p["METAFLOW_DEFAULT_METADATA"] == "local" and "METAFLOW_SERVICE_URL" not in p
    assert "METAFLOW_STRATA_API_KEY_SECRET" not in p


@pytest.mark.parametrize(
    "fields",
    [
        {"metadata": "service"},
        {"metadata": "service", "service_url": SERVICE_URL},
        {"metadata": "service", "service_url": SERVICE_URL, "service_internal_url": INTERNAL_URL},
        {"metadata": "local", "service_url": SERVICE_URL},
        {"metadata": "local", "api_key_secret_arn": SECRET},
        {"metadata": "remote"},
    ],
)
def test_inconsistent_metadata_settings_are_refused(fields):
    with pytest.raises(ProfileError):
        render_profile(ProfileInputs(**{**BASE.__dict__, **fields}))


def test_service_without_the_keys_secret_names_the_missing_key():
    partial = {k: v for k, v in SERVICE.items() if k != "api_key_secret_arn"}
    with pytest.raises(ProfileError, match="METAFLOW_STRATA_API_KEY_SECRET"):
        render_profile(ProfileInputs(**{**BASE.__dict__, **partial}))


def test_kubernetes_keys_send_the_teams_pods_to_its_own_nodes_and_leave_the_ca_out():
    from core.profile import KubernetesProfile

    k = KubernetesProfile(
        namespace="team-fraud",
        service_account=naming.TEAM_SERVICE_ACCOUNT,
        container_registry="public.ecr.aws/docker/library",
        container_image="python:3.12-slim",
        event_bus=naming.TEAM_EVENT_BUS,
        event_source=naming.TEAM_EVENT_SOURCE,
        events_service_account=naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT,
        webhook_url="http://internal-nlb.elb.us-east-1.amazonaws.com:30001/metaflow-event",
        internal_webhook_url="http://metaflow-webhook-eventsource-svc.team-fraud.svc.cluster.local:12000/metaflow-event",
        ui_url="https://internal-nlb.elb.us-east-1.amazonaws.com:2746",
        cluster_name="strata-staging",
        region="us-east-1",
    )
    p = render_profile(dataclasses.replace(BASE, kubernetes=k))
    assert p["METAFLOW_KUBERNETES_NAMESPACE"] == "team-fraud"
    assert p["METAFLOW_KUBERNETES_NODE_SELECTOR"] == f"{naming.TEAM_LABEL}=fraud"
    tolerations = json.loads(p["METAFLOW_KUBERNETES_TOLERATIONS"])
    assert {"key": naming.TEAM_LABEL, "operator": "Equal", "value": "fraud", "effect": "NoSchedule"} in tolerations
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations, "GPU nodes are tainted"
    assert not {k for k in p if "CA_DATA" in k or k.endswith("EKS_ENDPOINT")}, "the CA overflows a Standard parameter"
