"""Policy documents of a team's data-scientist role, as plain dicts.

Pure functions of plain strings (no Pulumi import), unit-tested in ``tests/unit/test_team_policies.py``.
Every resource a statement names is the team's own (its prefix, queues, job definitions, jobs, job role, job
log group, profile parameter); the only ``"*"`` resource is on Batch read actions that AWS does not scope by
resource. What the role may do on other layers' resources (state machines, the metadata API key, the
warehouse) those layers compute; it arrives here as ``extra_statements``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.iam import (
    ECS_TASKS_SERVICE,
    VERSION,
    PolicyDocument,
    Statement,
    batch_jobs_arn,
    log_group_base_arn,
    team_data_statements,
    team_job_definitions_arn,
    team_resource_condition,
    team_submit_conditions,
    team_tagging_conditions,
)
from core.naming import JOB_DEFINITION_SEPARATOR, TEAM_TAG, team_from_prefix

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
# Reading the team's job output (the console, `aws logs tail`); Metaflow itself tails task logs from S3.
JOB_LOG_READ_ACTIONS = ("logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents")
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


def job_log_arns(log_group_arn: str) -> list[str]:
    """A team's job log group and its streams (GetLogEvents is authorised on either, by API version)."""
    group = log_group_base_arn("job_log_group_arn", log_group_arn)
    return [group, f"{group}:log-stream:*"]


# What a team's job definitions must be, as RegisterJobDefinition's condition keys express it
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html,
# https://docs.aws.amazon.com/batch/latest/userguide/iam-example-job-def.html):
# * not privileged (a privileged container is root on the host);
# * its output to the team's own log group through the awslogs driver, never another group (the shared
#   /aws/batch/job would let any team read it);
# * not explicitly run as root. Where the definition names no user, the image's default applies; Metaflow's
#   bootstrap writes into the image's working directory, so a non-root user cannot be forced for every image.
#   Containers are confined by the rest: unprivileged, the team's own hosts, no instance credentials.
# Docker's --user takes "user", "uid", "user:group" and "uid:gid": every form that names root is refused.
ROOT_USERS = ("root", "root:*", "0", "0:*")


def register_conditions(team: str, job_log_group: str) -> dict[str, dict[str, object]]:
    """The conditions of ``RegisterJobDefinition`` for ``team`` (tagged, safe, logging to its own group)."""
    return {
        "StringEquals": {
            f"aws:RequestTag/{TEAM_TAG}": team,
            "batch:LogDriver": "awslogs",
            "batch:AWSLogsGroup": job_log_group,
        },
        "Bool": {"batch:Privileged": "false"},
        "StringNotLikeIfExists": {"batch:User": list(ROOT_USERS)},
    }


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
    job_definition_prefix: str,
    job_log_group: str,
    job_log_group_arn: str,
    job_role_arn: str,
    profile_parameter_arn: str,
    fargate_execution_role_arn: str | None = None,
    kms_via_service: str | None = None,
    own_role_arn: str | None = None,
    extra_statements: Sequence[Statement] = (),
) -> PolicyDocument:
    """The inline policy of a team's data-scientist role.

    * the team's datastore prefix and the key, exactly as its Batch job role has them;
    * register job definitions only under its own name prefix, tagged with its team, unprivileged, not as root,
      logging to its own log group; submit only to its own queues with its own (tagged) job definitions, the
      job tagged with its team; stop (terminate, cancel) only jobs tagged with it;
    * read-only Batch calls (not resource-scoped in AWS);
    * pass only the team's job role (and the Fargate execution role), only to Batch/ECS tasks;
    * read only the team's profile parameter and its own job logs;
    * with ``own_role_arn``, ask IAM's policy simulator about the role itself and nothing else (``strata doctor``
      checks that the roles Metaflow passes can be passed; the simulator reveals no more than the role's own
      permissions, which its holder can already exercise);
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
    if not job_definition_prefix.startswith("strata-") or not job_definition_prefix.endswith(
        f"-{team}{JOB_DEFINITION_SEPARATOR}"
    ):
        raise ValueError(f"job_definition_prefix {job_definition_prefix!r} is not team {team!r}'s")
    if job_log_arns(job_log_group_arn)[0].partition(":log-group:")[2] != job_log_group:
        raise ValueError(f"job_log_group_arn {job_log_group_arn!r} is not the log group {job_log_group!r}")
    jobs = batch_jobs_arn(partition, region, account_id)
    definitions = team_job_definitions_arn(partition, region, account_id, job_definition_prefix, revision=False)
    passable = [job_role_arn] + ([fargate_execution_role_arn] if fargate_execution_role_arn else [])
    statements: list[Statement] = [
        *team_data_statements(bucket_arn, team_prefix, kms_key_arn, kms_via_service=kms_via_service),
        {
            # SubmitJob is authorised against the queue and the job definition; both carry the team's tag, and
            # the job must too. A definition is named with its revision (":*"), or its tags are not evaluated.
            # https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-submission-by-tags.html
            "Sid": "SubmitToOwnQueues",
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": [
                *sorted(job_queue_arns),
                team_job_definitions_arn(partition, region, account_id, job_definition_prefix, revision=True),
            ],
            "Condition": team_submit_conditions(team),
        },
        {
            # Tagging on create: SubmitJob and RegisterJobDefinition with tags also need TagResource on the new
            # resource. Only the team's own name; an existing resource tagged for another team is refused (and
            # no team can create an untagged job or definition: the conditions above and below require the tag).
            # https://docs.aws.amazon.com/batch/latest/userguide/tag-resources.html
            "Sid": "TagOwnJobsAndDefinitions",
            "Effect": "Allow",
            "Action": "batch:TagResource",
            "Resource": [jobs, definitions],
            "Condition": team_tagging_conditions(team),
        },
        {
            # Ctrl-C on `run --with batch` terminates the run's jobs; only jobs tagged with the team.
            "Sid": "StopOwnJobs",
            "Effect": "Allow",
            "Action": ["batch:TerminateJob", "batch:CancelJob"],
            "Resource": jobs,
            "Condition": team_resource_condition(team),
        },
        {
            "Sid": "RegisterOwnJobDefinitions",
            "Effect": "Allow",
            "Action": "batch:RegisterJobDefinition",
            "Resource": definitions,
            "Condition": register_conditions(team, job_log_group),
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
            "Sid": "ReadOwnJobLogs",
            "Effect": "Allow",
            "Action": list(JOB_LOG_READ_ACTIONS),
            "Resource": job_log_arns(job_log_group_arn),
        },
    ]
    if own_role_arn is not None:
        if not own_role_arn.startswith("arn:") or "*" in own_role_arn or ":role/" not in own_role_arn:
            raise ValueError(f"own_role_arn must be a concrete role ARN: {own_role_arn!r}")
        statements.append(
            {
                "Sid": "SimulateOwnPermissions",
                "Effect": "Allow",
                "Action": "iam:SimulatePrincipalPolicy",
                "Resource": own_role_arn,
            }
        )
    statements += [dict(s) for s in extra_statements]
    return {"Version": VERSION, "Statement": statements}
