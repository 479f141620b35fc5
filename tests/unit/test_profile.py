"""The Metaflow profile is a pure function of stack outputs, complete and placeholder-free."""

import pytest

from infra.profile import ProfileError, ProfileInputs, check_profile, render_profile

BASE = ProfileInputs(
    bucket_name="acme-ml-dev-datastore",
    team_prefix="teams/fraud/",
    job_queue="arn:aws:batch:us-east-1:111111111111:job-queue/strata-dev-fraud-cpu",
    job_role_arn="arn:aws:iam::111111111111:role/strata-dev-fraud-job",
)


def test_profile_keys_and_values():
    p = render_profile(BASE)
    assert p == {
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
