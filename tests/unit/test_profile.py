"""The Metaflow profile is a pure function of stack outputs, complete and placeholder-free."""

import pytest

from core.profile import ProfileError, ProfileInputs, check_profile, render_profile

BASE = ProfileInputs(
    bucket_name="acme-ml-dev-datastore",
    team_prefix="teams/fraud/",
    job_queue="arn:aws:batch:us-east-1:111111111111:job-queue/strata-dev-fraud-cpu",
    job_role_arn="arn:aws:iam::111111111111:role/strata-dev-fraud-job",
)


def test_profile_keys_and_values():
    p = render_profile(BASE)
    assert p == {
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


SFN = {
    "sfn_iam_role": "arn:aws:iam::111111111111:role/orchestration-step-functions-1a2b3c4",
    "sfn_dynamo_db_table": "strata-dev-sfn-state",
    "events_sfn_access_iam_role": "arn:aws:iam::111111111111:role/orchestration-eventbridge-5d6e7f8",
    "sfn_state_machine_prefix": "strata-dev-fraud",
}


def test_step_functions_keys():
    p = render_profile(ProfileInputs(**{**BASE.__dict__, **SFN}))
    assert {k: v for k, v in p.items() if "SFN" in k} == {
        "METAFLOW_SFN_IAM_ROLE": SFN["sfn_iam_role"],
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "strata-dev-sfn-state",
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


def test_service_profile_has_both_urls_and_no_key():
    p = render_profile(
        ProfileInputs(
            **{**BASE.__dict__, "metadata": "service", "service_url": SERVICE_URL, "service_internal_url": INTERNAL_URL}
        )
    )
    assert p["METAFLOW_DEFAULT_METADATA"] == "service"
    assert p["METAFLOW_SERVICE_URL"] == SERVICE_URL and p["METAFLOW_SERVICE_INTERNAL_URL"] == INTERNAL_URL
    assert not any(k in p for k in ("METAFLOW_SERVICE_AUTH_KEY", "METAFLOW_SERVICE_HEADERS")), "the API key never goes to SSM"


def test_local_profile_has_no_service_urls():
    p = render_profile(BASE)
    assert p["METAFLOW_DEFAULT_METADATA"] == "local" and "METAFLOW_SERVICE_URL" not in p


@pytest.mark.parametrize(
    "fields",
    [
        {"metadata": "service"},
        {"metadata": "service", "service_url": SERVICE_URL},
        {"metadata": "local", "service_url": SERVICE_URL},
        {"metadata": "remote"},
    ],
)
def test_inconsistent_metadata_settings_are_refused(fields):
    with pytest.raises(ProfileError):
        render_profile(ProfileInputs(**{**BASE.__dict__, **fields}))
