"""Pure logic of the orchestration layer: IAM documents as dicts, ARN patterns, the state table's schema.

No Pulumi import: every function takes plain strings and returns plain data, so it is unit-tested
without mocks (``tests/unit/test_orchestration_policies.py``) and the component only turns Outputs
into JSON. The data-scientist statements (:func:`data_scientist_statements`) are what a team's role may do
here: the component computes them per team (``Orchestration.data_scientist_statements``) and the program
hands them to the team's role.

Why every team has its own roles: a state machine may call almost any AWS API through Step Functions' SDK
integrations (``arn:aws:states:::aws-sdk:*``) with its execution role, so whatever a Step Functions role may do,
every team that may pass it may do. One role for the environment gave every team the union of all teams'
rights (issue 11, path 2). Each team's Step Functions and EventBridge roles are passable by that team only,
assumable only on behalf of that team's state machines and rules (``aws:SourceArn``), and reach only that
team's queues, tagged job definitions, jobs and foreach table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.iam import (
    VERSION,
    PolicyDocument,
    Statement,
    batch_jobs_arn,
    concrete,
    log_group_base_arn,
    require_arn,
    team_job_definitions_arn,
    team_resource_condition,
    team_submit_conditions,
    team_tagging_conditions,
    via_service,
)
from core.naming import TEAM_TAG

STATES_SERVICE = "states.amazonaws.com"
EVENTS_SERVICE = "events.amazonaws.com"

# Metaflow's foreach state (metaflow/plugins/aws/step_functions/dynamo_db_client.py): items keyed by
# ``pathspec`` (S), holding ``for_each_cardinality`` and ``parent_task_ids_for_foreach_join``, with an
# epoch-seconds expiry in ``ttl`` (step_functions_decorator._ttl: workflow timeout + 90 days).
STATE_TABLE_HASH_KEY = "pathspec"
STATE_TABLE_TTL_ATTRIBUTE = "ttl"
# Item calls the Batch tasks of a Metaflow state machine make (step_functions_decorator.py,
# set_batch_environment.py). The state machine itself only reads (a dynamodb:getItem task state).
TASK_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
STATE_MACHINE_TABLE_ACTIONS = ("dynamodb:GetItem",)

# The managed rule Step Functions creates to learn when a Batch job of a ``.sync`` task finishes.
# https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html
BATCH_SYNC_RULE = "StepFunctionsGetEventsForBatchJobsRule"

# CloudWatch Logs "vended log" delivery, which Step Functions uses for execution history
# (``step-functions create --log-execution-history``). AWS documents these actions for the state
# machine's role; none of them supports resource-level permissions, so they need "*".
# https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
# ``logs:PutResourcePolicy`` is left out on purpose: it is account-wide (any team could rewrite who may write
# to every log group). CloudWatch Logs needs it only when no resource policy yet lets the log-delivery
# service write to the group; the stack creates that policy at deploy time (:func:`log_delivery_policy`).
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:UpdateLogDelivery",
)
# The service that writes vended logs into the group. https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"

# What a data scientist's Metaflow calls on its team's state machines (step_functions_client.py:
# create or update, describe, start, list executions, delete) and on its executions
# (describe, history, stop: ``step-functions trigger/list-runs/terminate``).
STATE_MACHINE_ACTIONS = (
    "states:CreateStateMachine",
    "states:DeleteStateMachine",
    "states:DescribeStateMachine",
    "states:ListExecutions",
    "states:StartExecution",
    "states:UpdateStateMachine",
)
EXECUTION_ACTIONS = ("states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution")
# The schedule rule of a flow (event_bridge_client.py: put/disable on create, remove/delete on delete);
# Describe/ListTargets so the data scientist can see it. PutTargets is granted separately (conditioned).
RULE_ACTIONS = (
    "events:DeleteRule",
    "events:DescribeRule",
    "events:DisableRule",
    "events:EnableRule",
    "events:ListTargetsByRule",
    "events:RemoveTargets",
)
# PutRule is granted on its own, for schedules only. Metaflow's rules have a ScheduleExpression and no event
# pattern (event_bridge_client.py). A rule with a pattern naming a source or detail type (say, every
# ``aws.batch`` "Batch Job State Change") would hand the team's state machine every team's job events; the
# ``events:source`` and ``events:detail-type`` keys are present only when the pattern names them, so ``Null``
# refuses such patterns. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
SCHEDULE_ONLY = {"Null": {"events:source": "true", "events:detail-type": "true"}}

# ---------------------------------------------------------------- ARN patterns


def state_machine_arn_pattern(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    """Every state machine (and its versions/aliases) whose name starts with ``name_prefix``."""
    concrete("name_prefix", name_prefix)
    return f"arn:{partition}:states:{region}:{account_id}:stateMachine:{name_prefix}*"


def execution_arn_pattern(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    """Every execution of those state machines (``execution:<state machine>:<execution>``)."""
    concrete("name_prefix", name_prefix)
    return f"arn:{partition}:states:{region}:{account_id}:execution:{name_prefix}*:*"


def rule_arn_pattern(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    """Every EventBridge rule on the default bus whose name starts with ``name_prefix``.

    Metaflow names a flow's schedule rule after its state machine (cut to 47 characters + a hash
    beyond 64; ``naming.state_machine_name_prefix`` is at most 45), so a team's rules carry its prefix.
    """
    concrete("name_prefix", name_prefix)
    return f"arn:{partition}:events:{region}:{account_id}:rule/{name_prefix}*"


def batch_sync_rule_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:events:{region}:{account_id}:rule/{BATCH_SYNC_RULE}"


def dynamodb_via_service(region: str, dns_suffix: str = "amazonaws.com") -> str:
    """The ``kms:ViaService`` value of DynamoDB in ``region``."""
    return via_service("dynamodb", region, dns_suffix)


def execution_log_group_arn(log_group_arn: str) -> str:
    """The form Step Functions' ``LoggingConfiguration`` wants (``...:log-group:<name>:*``)."""
    return f"{log_group_base_arn('log_group_arn', log_group_arn)}:*"


# ---------------------------------------------------------------- trust policies


def step_functions_trust_policy(partition: str, region: str, account_id: str, name_prefix: str) -> PolicyDocument:
    """Step Functions may assume a team's role only on behalf of that team's state machines (confused-deputy
    protection, and what binds the role to one team: Step Functions passes the state machine's ARN as
    ``aws:SourceArn``). https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html"""
    concrete("account_id", account_id)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": STATES_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": state_machine_arn_pattern(partition, region, account_id, name_prefix)},
                },
            }
        ],
    }


def eventbridge_trust_policy(partition: str, region: str, account_id: str, name_prefix: str) -> PolicyDocument:
    """EventBridge may assume a team's role only on behalf of that team's schedule rules (EventBridge passes the
    rule's ARN as ``aws:SourceArn``). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html"""
    concrete("account_id", account_id)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": EVENTS_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": rule_arn_pattern(partition, region, account_id, name_prefix)},
                },
            }
        ],
    }


# ---------------------------------------------------------------- permission policies


def step_functions_role_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    team: str,
    job_queue_arns: Sequence[str],
    job_definition_prefix: str,
    state_table_arn: str,
    kms_key_arn: str,
    dynamodb_via: str,
) -> PolicyDocument:
    """The execution role of one team's Metaflow state machines.

    * ``.sync`` Batch tasks: submit to the team's queues with the team's own job definitions
      (``job_definition_prefix*``, tagged with the team), the job tagged with the team; describe jobs (no
      resource-level permissions); terminate only the team's jobs (when an execution is stopped); the managed
      rule Step Functions uses to follow Batch jobs;
    * read the team's foreach state table, and the key it is encrypted with through DynamoDB only;
    * CloudWatch Logs delivery of execution history (not resource-scoped in AWS), without
      ``logs:PutResourcePolicy`` (:data:`LOG_DELIVERY_ACTIONS`).

    https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html
    """
    if not job_queue_arns:
        raise ValueError("the Step Functions role needs at least one job queue")
    for queue in job_queue_arns:
        require_arn("job_queue_arns", queue)
    require_arn("state_table_arn", state_table_arn)
    require_arn("kms_key_arn", kms_key_arn)
    jobs = batch_jobs_arn(partition, region, account_id)
    return {
        "Version": VERSION,
        "Statement": [
            {
                # SubmitJob is authorised against the queue and the job definition, each tagged with the team.
                # https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-submission-by-tags.html
                "Sid": "SubmitToOwnQueues",
                "Effect": "Allow",
                "Action": "batch:SubmitJob",
                "Resource": [
                    *sorted(set(job_queue_arns)),
                    team_job_definitions_arn(partition, region, account_id, job_definition_prefix, revision=True),
                ],
                "Condition": team_submit_conditions(team),
            },
            {
                # AWS Batch has no resource-level permissions for DescribeJobs: "*" is required.
                "Sid": "DescribeJobs",
                "Effect": "Allow",
                "Action": "batch:DescribeJobs",
                "Resource": "*",
            },
            {
                # Metaflow's state machines submit jobs with the team's tag (METAFLOW_BATCH_DEFAULT_TAGS): SubmitJob
                # with tags needs TagResource on the new job; only the team's own name.
                "Sid": "TagOwnJobsAtSubmit",
                "Effect": "Allow",
                "Action": "batch:TagResource",
                "Resource": jobs,
                "Condition": team_tagging_conditions(team),
            },
            {
                "Sid": "TerminateOwnJobs",
                "Effect": "Allow",
                "Action": "batch:TerminateJob",
                "Resource": jobs,
                "Condition": team_resource_condition(team),
            },
            {
                "Sid": "BatchSyncManagedRule",
                "Effect": "Allow",
                "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                "Resource": batch_sync_rule_arn(partition, region, account_id),
            },
            {
                "Sid": "ReadForeachState",
                "Effect": "Allow",
                "Action": list(STATE_MACHINE_TABLE_ACTIONS),
                "Resource": state_table_arn,
            },
            {
                "Sid": "StateTableKeyThroughDynamoDB",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": dynamodb_via}},
            },
            {
                # CloudWatch Logs supports no resource-level permissions for these: "*" is required.
                "Sid": "ExecutionHistoryLogDelivery",
                "Effect": "Allow",
                "Action": list(LOG_DELIVERY_ACTIONS),
                "Resource": "*",
            },
        ],
    }


def log_delivery_policy(partition: str, region: str, account_id: str, log_group_arn: str) -> PolicyDocument:
    """The log group's resource policy, created at deploy time: the log-delivery service may write execution
    history into the group, for deliveries of this account only. With it in place, creating a state machine
    with logging needs no ``logs:PutResourcePolicy``.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html"""
    concrete("account_id", account_id)
    base = log_group_base_arn("log_group_arn", log_group_arn)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "StepFunctionsExecutionHistory",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_SERVICE},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{base}:log-stream:*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
                },
            }
        ],
    }


def eventbridge_role_policy(*, partition: str, region: str, account_id: str, name_prefix: str) -> PolicyDocument:
    """A team's schedules' role: start executions of the team's state machines, nothing else."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "StartOwnStateMachines",
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": state_machine_arn_pattern(partition, region, account_id, name_prefix),
            }
        ],
    }


def job_role_state_table_policy(*, state_table_arn: str, kms_key_arn: str, dynamodb_via: str) -> PolicyDocument:
    """What a team's Batch job role needs for Metaflow's foreach on Step Functions: three item calls on
    the team's own state table, and the table's key through DynamoDB only.

    The table's keys are Batch job ids (no team in them), so ``dynamodb:LeadingKeys`` could not confine a team to
    its items in a shared table: each team has its own table instead.
    """
    require_arn("state_table_arn", state_table_arn)
    require_arn("kms_key_arn", kms_key_arn)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ForeachState",
                "Effect": "Allow",
                "Action": list(TASK_TABLE_ACTIONS),
                "Resource": state_table_arn,
            },
            {
                # DynamoDB encrypts with the key on the caller's behalf; AWS's key-policy example for
                # customer managed keys grants the table's users these actions through DynamoDB.
                # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
                "Sid": "StateTableKeyThroughDynamoDB",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": dynamodb_via}},
            },
        ],
    }


def data_scientist_statements(
    *,
    partition: str,
    region: str,
    account_id: str,
    team: str,
    name_prefix: str,
    step_functions_role_arn: str,
    eventbridge_role_arn: str,
) -> list[Statement]:
    """A team's rights on Step Functions and EventBridge, for its data-scientist role.

    * create/update/describe/start/delete only state machines named ``name_prefix*``, and watch or stop
      only their executions; list state machines (not resource-scoped in AWS);
    * manage only schedule rules named ``name_prefix*``, pointing them only at its own state machines
      (``events:TargetArn``);
    * pass the team's own Step Functions role only to Step Functions and its own EventBridge role only to
      EventBridge (no other team's: each team has its own two roles). (The team's job role is passed to Batch by the existing ``PassOwnJobRoles`` statement.)

    No DynamoDB right: Metaflow's client never touches the state table, only the Batch tasks do.
    """
    concrete("name_prefix", name_prefix)
    concrete("team", team)
    require_arn("step_functions_role_arn", step_functions_role_arn)
    require_arn("eventbridge_role_arn", eventbridge_role_arn)
    machines = state_machine_arn_pattern(partition, region, account_id, name_prefix)
    rules = rule_arn_pattern(partition, region, account_id, name_prefix)
    return [
        {
            "Sid": "OwnStateMachines",
            "Effect": "Allow",
            "Action": list(STATE_MACHINE_ACTIONS),
            "Resource": machines,
        },
        {
            # The Strata Metaflow extension creates state machines tagged with the team; tagging on create needs
            # TagResource too. Only the team's own name, only on its own machines.
            # https://docs.aws.amazon.com/step-functions/latest/dg/tag-based-policies.html
            "Sid": "TagOwnStateMachines",
            "Effect": "Allow",
            "Action": "states:TagResource",
            "Resource": machines,
            "Condition": {"StringEquals": {f"aws:RequestTag/{TEAM_TAG}": team}},
        },
        {
            "Sid": "OwnExecutions",
            "Effect": "Allow",
            "Action": list(EXECUTION_ACTIONS),
            "Resource": execution_arn_pattern(partition, region, account_id, name_prefix),
        },
        {
            # Metaflow finds a state machine by name through ListStateMachines, which AWS does not
            # scope by resource: "*" is required (it lists names and ARNs only).
            "Sid": "ListStateMachines",
            "Effect": "Allow",
            "Action": "states:ListStateMachines",
            "Resource": "*",
        },
        {
            "Sid": "OwnScheduleRules",
            "Effect": "Allow",
            "Action": list(RULE_ACTIONS),
            "Resource": rules,
        },
        {
            "Sid": "OwnSchedulesOnly",
            "Effect": "Allow",
            "Action": "events:PutRule",
            "Resource": rules,
            "Condition": SCHEDULE_ONLY,
        },
        {
            # A team's rule may only target the team's own state machines (its own EventBridge role could not
            # start another team's anyway: defence in depth).
            "Sid": "OwnScheduleTargets",
            "Effect": "Allow",
            "Action": "events:PutTargets",
            "Resource": rules,
            # events:TargetArn holds every target of the request (PutTargets takes several): all must be the
            # team's, and at least one must be given. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
            "Condition": {"ForAllValues:ArnLike": {"events:TargetArn": machines}, "Null": {"events:TargetArn": "false"}},
        },
        {
            "Sid": "PassStepFunctionsRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": step_functions_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": STATES_SERVICE}},
        },
        {
            "Sid": "PassEventBridgeRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": eventbridge_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": EVENTS_SERVICE}},
        },
    ]


def team_name_prefixes(prefixes: Mapping[str, str]) -> list[str]:
    """The per-team prefixes, checked to be pairwise non-overlapping (none starts another)."""
    values = sorted(prefixes.values())
    for a in values:
        concrete("state-machine prefix", a)
        for b in values:
            if a != b and b.startswith(a):
                raise ValueError(f"state-machine prefix {a!r} is the start of {b!r}: teams would reach each other's machines")
    return values
