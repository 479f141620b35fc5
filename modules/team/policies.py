"""Policy documents of a team's data-scientist role, as plain dicts.

Pure functions of plain strings (no Pulumi import), unit-tested in ``tests/unit/test_team_policies.py``.
Every resource a statement names is the team's own (its prefix, queues, job role, profile parameter)
or an AWS-wide pattern that names no team (job definitions, the Batch log group); the only ``"*"``
resource is on Batch read actions that AWS does not scope by resource. What the role may do on other
layers' resources (state machines, the metadata API key, the warehouse) those layers compute; it arrives
here as ``extra_statements``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.iam import (
    ECS_TASKS_SERVICE,
    VERSION,
    PolicyDocument,
    Statement,
    batch_job_definitions_arn,
    batch_jobs_arn,
    team_data_statements,
)
from core.naming import BATCH_LOG_GROUP, TEAM_TAG, team_from_prefix

# Standard SSM parameters are free and hold up to 4 KB; Advanced ones cost $0.05/month each.
# https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
STANDARD_PARAMETER_MAX_BYTES = 4096

# Read-only Batch calls Metaflow makes while it submits and watches jobs (job status, the queue's
# compute environment to tell EC2 from Fargate, existing job definitions to reuse). AWS Batch supports
# no resource-level permissions for these, so the statement must use "*".
# https://docs.aws.amazon.com/batch/latest/userguide/batch-supported-iam-actions-resources.html
BATCH_READ_ACTIONS = (
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "batch:DescribeJobs",
    "batch:ListJobs",
)
# Services a job role may be handed to. Metaflow passes the job role (and the Fargate execution role)
# in batch:RegisterJobDefinition, i.e. to the Batch API, and Batch users' guides condition that on
# batch.amazonaws.com; ECS's own APIs report ecs-tasks.amazonaws.com. Allowing only the latter would
# make RegisterJobDefinition fail on AWS (moto does not evaluate conditions, so the local cloud would
# not notice). Either way the role ends up in ECS tasks only: its trust policy admits nothing else.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService
PASS_ROLE_SERVICES = ("batch.amazonaws.com", ECS_TASKS_SERVICE)


def trust_policy(principals: Sequence[str]) -> PolicyDocument:
    """Trust policy: ``sts:AssumeRole`` for exactly ``principals`` (IAM account, role or user ARNs)."""
    if not principals:
        raise ValueError("a data-scientist role needs at least one principal")
    bad = [p for p in principals if not p.startswith("arn:") or "*" in p or "?" in p]
    if bad:
        raise ValueError(f"principals must be concrete IAM ARNs without wildcards: {bad}")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "TeamPrincipals",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(set(principals))},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def batch_log_arns(partition: str, region: str, account_id: str) -> list[str]:
    """The Batch job log group and its streams (GetLogEvents is authorised on either, by API version).

    The group is the one AWS Batch writes job output to when a job definition names none (Metaflow's don't).
    https://docs.aws.amazon.com/batch/latest/userguide/using_awslogs.html
    """
    group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{BATCH_LOG_GROUP}"
    return [group, f"{group}:log-stream:*"]


def profile_size_problem(value: str) -> str | None:
    """Why ``value`` does not fit a Standard (free) SSM parameter, or None."""
    size = len(value.encode("utf-8"))
    if size > STANDARD_PARAMETER_MAX_BYTES:
        return f"the Metaflow profile is {size} bytes; a Standard SSM parameter holds at most {STANDARD_PARAMETER_MAX_BYTES}"
    return None


def data_scientist_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    bucket_arn: str,
    team_prefix: str,
    kms_key_arn: str,
    job_queue_arns: Sequence[str],
    job_role_arn: str,
    profile_parameter_arn: str,
    fargate_execution_role_arn: str | None = None,
    kms_via_service: str | None = None,
    extra_statements: Sequence[Statement] = (),
) -> PolicyDocument:
    """The inline policy of a team's data-scientist role.

    * the team's datastore prefix and the key, exactly as its Batch job role has them;
    * submit jobs to the team's own queues; register job definitions;
    * tag its jobs with its own team at submission, and stop (terminate, cancel) only jobs tagged with it;
    * read-only Batch calls (not resource-scoped in AWS);
    * pass only the team's job role (and the Fargate execution role), only to Batch/ECS tasks;
    * read only the team's profile parameter;
    * read Batch job logs;
    * then ``extra_statements``, as given: what other layers grant the team on their resources (its own state
      machines and schedules, its metadata API key, the warehouse as its own database user), each computed
      by the layer that owns the resource and handed in by the program.
    """
    if not job_queue_arns:
        raise ValueError("a team has at least its cpu queue")
    for what, arn in [
        ("job_role_arn", job_role_arn),
        ("profile_parameter_arn", profile_parameter_arn),
        *[("job_queue_arns", q) for q in job_queue_arns],
    ]:
        if not arn.startswith("arn:") or "*" in arn or "?" in arn:
            raise ValueError(f"{what} must be a concrete ARN: {arn!r}")
    team = team_from_prefix(team_prefix)
    job_definitions = batch_job_definitions_arn(partition, region, account_id)
    passable = [job_role_arn] + ([fargate_execution_role_arn] if fargate_execution_role_arn else [])
    statements: list[Statement] = [
        *team_data_statements(bucket_arn, team_prefix, kms_key_arn, kms_via_service=kms_via_service),
        {
            # SubmitJob is authorised against both the queue and the job definition.
            # https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-submission.html
            "Sid": "SubmitToOwnQueues",
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": [*sorted(job_queue_arns), job_definitions],
        },
        {
            # Metaflow tags each job at submission (METAFLOW_BATCH_DEFAULT_TAGS {"team": <team>}); SubmitJob
            # with tags needs TagResource on the new job. Only the team's own name, never over another
            # team's tag (an existing job tagged for another team is refused).
            # https://docs.aws.amazon.com/batch/latest/userguide/supported-iam-actions-resources.html
            "Sid": "TagOwnJobs",
            "Effect": "Allow",
            "Action": "batch:TagResource",
            "Resource": batch_jobs_arn(partition, region, account_id),
            "Condition": {
                "StringEquals": {f"aws:RequestTag/{TEAM_TAG}": team},
                "StringEqualsIfExists": {f"aws:ResourceTag/{TEAM_TAG}": team},
            },
        },
        {
            # Ctrl-C on `run --with batch` terminates the run's jobs; only jobs tagged with the team.
            "Sid": "StopOwnJobs",
            "Effect": "Allow",
            "Action": ["batch:TerminateJob", "batch:CancelJob"],
            "Resource": batch_jobs_arn(partition, region, account_id),
            "Condition": {"StringEquals": {f"aws:ResourceTag/{TEAM_TAG}": team}},
        },
        {
            "Sid": "RegisterJobDefinitions",
            "Effect": "Allow",
            "Action": "batch:RegisterJobDefinition",
            "Resource": job_definitions,
        },
        {
            # AWS Batch has no resource-level permissions for these read actions: "*" is required.
            "Sid": "ReadBatch",
            "Effect": "Allow",
            "Action": list(BATCH_READ_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "PassOwnJobRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": passable,
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASS_ROLE_SERVICES)}},
        },
        {
            "Sid": "ReadOwnProfile",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": profile_parameter_arn,
        },
        {
            "Sid": "ReadBatchJobLogs",
            "Effect": "Allow",
            "Action": "logs:GetLogEvents",
            "Resource": batch_log_arns(partition, region, account_id),
        },
    ]
    statements += [dict(s) for s in extra_statements]
    return {"Version": VERSION, "Statement": statements}
