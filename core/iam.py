"""IAM building blocks more than one layer uses: document types, argument checks, service principals,
``kms:ViaService`` values, ARN patterns of AWS Batch, and a team's slice of the datastore.

Pure (standard library only) and with no layer's knowledge: each layer keeps its own documents in its
``policies.py`` and builds them from these pieces, so a fact such as "a team's prefix is exactly these four
statements" has one home however many roles carry it (the team's job role, its data-scientist role, its
warehouse COPY/UNLOAD role). Unit-tested in ``tests/unit/test_core_iam.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from core.naming import TEAM_TAG

Statement = dict[str, Any]
PolicyDocument = dict[str, Any]

VERSION = "2012-10-17"

# The service principal of ECS tasks: trusts of task and task-execution roles (Batch on Fargate, the
# metadata service), and what a job role is passed to. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"

# Object actions a team principal gets under its own prefix. DeleteObject on a versioned bucket only
# adds a delete marker: permanent deletion (DeleteObjectVersion) stays with the platform, so a leaked
# team credential cannot destroy history. AbortMultipartUpload lets clients clean up failed uploads.
TEAM_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
# SSE-KMS needs GenerateDataKey to write and Decrypt to read and to complete multipart uploads.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
# (Encrypt is not used by S3 itself; it lets tools encrypt small payloads with the same key.)
TEAM_KMS_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

_WILDCARDS = ("*", "?")


# ---------------------------------------------------------------- argument checks


def concrete(what: str, value: str | None) -> str:
    """``value`` itself if it is non-empty and has no IAM wildcard (``*``, ``?``); else ValueError naming ``what``."""
    if not value or any(w in value for w in _WILDCARDS):
        raise ValueError(f"{what} must be a concrete, non-empty value without '*' or '?': {value!r}")
    return value


def require_arn(what: str, value: str | None) -> str:
    """``value`` itself if it is a concrete ARN (see :func:`concrete`); else ValueError naming ``what``."""
    concrete(what, value)
    if not str(value).startswith("arn:"):
        raise ValueError(f"{what} must be an ARN: {value!r}")
    return str(value)


def check_prefix(prefix: str) -> str:
    """A key prefix must end with '/' so that ``teams/fraud/*`` cannot match ``teams/fraud-detection/...``."""
    concrete("prefix", prefix)
    if prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"prefix must not start with '/' and must end with '/': {prefix!r}")
    return prefix


# ---------------------------------------------------------------- services


def via_service(service: str, region: str, dns_suffix: str = "amazonaws.com") -> str:
    """The ``kms:ViaService`` value of ``service`` in ``region`` (``s3.us-east-1.amazonaws.com``).

    ``dns_suffix`` comes from ``aws.get_partition()`` so China (``amazonaws.com.cn``) works too.
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
    """
    if not service or not region or not dns_suffix:
        raise ValueError("service, region and dns_suffix must be non-empty")
    return f"{service}.{region}.{dns_suffix}"


def s3_via_service(region: str, dns_suffix: str = "amazonaws.com") -> str:
    """The ``kms:ViaService`` value of S3 in ``region``: the datastore key is used through S3 only."""
    return via_service("s3", region, dns_suffix)


def service_trust_policy(service: str) -> PolicyDocument:
    """A trust policy letting one AWS service principal assume the role."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"},
        ],
    }


def web_identity_statement(provider_arn: str, issuer: str, namespace: str, service_account: str) -> Statement:
    """IRSA: the pods of one Kubernetes service account (``system:serviceaccount:<namespace>:<name>``) may
    assume the role through the cluster's OIDC provider, and no other account of the cluster. ``issuer`` is the
    provider's URL without ``https://`` (``oidc.eks.<region>.amazonaws.com/id/<id>``)."""
    host = issuer.removeprefix("https://")
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{host}:aud": "sts.amazonaws.com",
            }
        },
    }


# ---------------------------------------------------------------- AWS Batch ARN patterns


def batch_jobs_arn(partition: str, region: str, account_id: str) -> str:
    """Every Batch job of the account and region: job ids exist only at run time, so no narrower pattern.
    (TerminateJob is authorised on the ``job`` resource type: Service Authorization Reference, AWS Batch.)"""
    return f"arn:{partition}:batch:{region}:{account_id}:job/*"


def team_job_definitions_arn(partition: str, region: str, account_id: str, name_prefix: str, *, revision: bool) -> str:
    """A team's job definitions: named ``name_prefix*`` (``naming.job_definition_prefix``; the Strata Metaflow
    extension renames Metaflow's ``metaflow_<hash>``).

    ``revision=True`` gives the pattern SubmitJob is authorised on: ``<name>:<revision>``. AWS evaluates a job
    definition's tags at SubmitJob only when the job names a revision; the ``:*`` makes a submission without
    one match nothing, so a tag condition cannot be bypassed.
    https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-submission-by-tags.html
    """
    concrete("name_prefix", name_prefix)
    return f"arn:{partition}:batch:{region}:{account_id}:job-definition/{name_prefix}*" + (":*" if revision else "")


def log_group_base_arn(what: str, log_group_arn: str) -> str:
    """A concrete log group's ARN without DescribeLogGroups' ``:*``; ValueError naming ``what`` for anything
    else: not an ARN, no group name, a wildcard (checked before the suffix is stripped, so ``...:log-group:*``
    cannot pass as a group) or a stream ARN."""
    base = log_group_arn.removesuffix(":*")
    name = base.partition(":log-group:")[2]
    if not base.startswith("arn:") or not name or ":" in name or any(w in base for w in _WILDCARDS):
        raise ValueError(f"{what} must be a concrete log-group ARN naming one group: {log_group_arn!r}")
    return base


def team_tagging_conditions(team: str) -> dict[str, dict[str, str]]:
    """TagResource as ``team`` (tagging on create): only with the team's own tag, never over another team's."""
    concrete("team", team)
    return {"StringEquals": {f"aws:RequestTag/{TEAM_TAG}": team}, "StringEqualsIfExists": {f"aws:ResourceTag/{TEAM_TAG}": team}}


def team_resource_condition(team: str) -> dict[str, dict[str, str]]:
    """Acting on an existing resource (stop a job): only one tagged with the team."""
    concrete("team", team)
    return {"StringEquals": {f"aws:ResourceTag/{TEAM_TAG}": team}}


def team_submit_conditions(team: str) -> dict[str, dict[str, str]]:
    """SubmitJob as ``team``: the job is tagged with the team (``aws:RequestTag``), and every resource it names
    (queue, job definition) carries the team's tag (``aws:ResourceTag``)."""
    concrete("team", team)
    return {"StringEquals": {f"aws:RequestTag/{TEAM_TAG}": team, f"aws:ResourceTag/{TEAM_TAG}": team}}


# ---------------------------------------------------------------- a team's slice of the datastore


def team_prefix_statements(bucket_arn: str, prefix: str, kms_key_arn: str) -> list[Statement]:
    """IAM statements giving one principal read/write/delete under ``prefix`` of the datastore, and nothing else.

    * objects: ``TEAM_OBJECT_ACTIONS`` on ``<bucket>/<prefix>*`` only;
    * listing: ``s3:ListBucket`` on the bucket, only for ``s3:prefix`` values inside ``prefix``;
    * ``s3:GetBucketLocation`` (SDKs call it to find the bucket's region);
    * the datastore key: ``TEAM_KMS_ACTIONS`` on that one key.

    Attach to a role's policy; the statements carry no Principal.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
    """
    concrete("bucket_arn", bucket_arn)
    concrete("kms_key_arn", kms_key_arn)
    check_prefix(prefix)
    return [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        },
        {
            "Sid": "BucketLocation",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": list(TEAM_OBJECT_ACTIONS),
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            "Sid": "UseDatastoreKey",
            "Effect": "Allow",
            "Action": list(TEAM_KMS_ACTIONS),
            "Resource": kms_key_arn,
        },
    ]


def team_data_statements(
    bucket_arn: str, prefix: str, kms_key_arn: str, *, kms_via_service: str | None = None
) -> list[Statement]:
    """A team's slice of the datastore: its prefix only, plus the datastore key.

    The statements are :func:`team_prefix_statements` (one definition of "a team's prefix" for every role).
    With ``kms_via_service`` the KMS statement additionally requires ``kms:ViaService``: the key can then
    only be used through S3, not called directly, so a team credential cannot decrypt arbitrary ciphertext
    made with the shared key. (No ``kms:EncryptionContext`` condition: with S3 Bucket Keys the context is
    the bucket ARN, not the object's, so it cannot narrow the key to a prefix.)
    """
    statements = copy.deepcopy(team_prefix_statements(bucket_arn, prefix, kms_key_arn))
    if kms_via_service is not None:
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if all(a.startswith("kms:") for a in actions):
                condition = statement.setdefault("Condition", {})
                condition.setdefault("StringEquals", {})["kms:ViaService"] = kms_via_service
    return statements
