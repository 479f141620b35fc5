"""AWS Batch compute environments and job queues."""

from __future__ import annotations

import time
from typing import Any

from .registry import Created, Ctx, compact, physical_name, resource

# https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateComputeEnvironment.html
_NAME_MAX = 128
_VALID_TIMEOUT_S = 60.0

# Terraform-schema names of computeResources whose Batch API name differs (note the lowercase "v").
_COMPUTE_RESOURCE_RENAMES = {
    "minVcpus": "minvCpus",
    "maxVcpus": "maxvCpus",
    "desiredVcpus": "desiredvCpus",
    "ec2Configurations": "ec2Configuration",
}
_BATCH_SERVICE = "batch.amazonaws.com"


def _service_linked_role(ctx: Ctx) -> str:
    """The ARN of Batch's service-linked role, created on first use.

    On AWS a compute environment without ``serviceRole`` uses the service-linked role
    AWSServiceRoleForBatch, which AWS creates by itself; moto instead rejects the request
    ("ServiceRole is required"). The engine creates the service-linked role in moto and names it.
    """
    iam = ctx.client("iam")
    path = f"/aws-service-role/{_BATCH_SERVICE}/"
    with ctx.serialized("iam:service-linked-role:batch"):
        existing = iam.list_roles(PathPrefix=path)["Roles"]
        if existing:
            return existing[0]["Arn"]
        ctx.note("batch: serviceRole omitted; created Batch's service-linked role in moto (AWS creates it itself)")
        return iam.create_service_linked_role(AWSServiceName=_BATCH_SERVICE)["Role"]["Arn"]


def _compute_resources(resources: dict[str, Any]) -> dict[str, Any]:
    api = {_COMPUTE_RESOURCE_RENAMES.get(k, k): v for k, v in resources.items()}
    if api.get("type") in ("FARGATE", "FARGATE_SPOT"):
        # The Batch API documents minvCpus as "don't specify" for Fargate; a program's 0 means nothing.
        api.pop("minvCpus", None)
    return api


def _wait_until_valid(ctx: Ctx, arn: str) -> dict[str, Any]:
    """Poll until the environment leaves CREATING, as the provider does; fail on INVALID."""
    batch = ctx.client("batch")
    deadline = time.monotonic() + _VALID_TIMEOUT_S
    while True:
        described = batch.describe_compute_environments(computeEnvironments=[arn])["computeEnvironments"][0]
        if described.get("status") == "VALID":
            return described
        if described.get("status") == "INVALID":
            raise RuntimeError(f"compute environment {arn} is INVALID: {described.get('statusReason')}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"compute environment {arn} still {described.get('status')} after {_VALID_TIMEOUT_S} s")
        time.sleep(0.5)


@resource("aws:batch/computeEnvironment:ComputeEnvironment")
def compute_environment(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    env_name = physical_name(name, inputs, max_len=_NAME_MAX)
    env_type = inputs["type"].upper()
    service_role = inputs.get("serviceRole") or _service_linked_role(ctx)
    created = ctx.client("batch").create_compute_environment(
        **compact(
            computeEnvironmentName=env_name,
            type=env_type,
            state=inputs.get("state"),
            serviceRole=service_role,
            computeResources=_compute_resources(inputs["computeResources"]) if inputs.get("computeResources") else None,
            eksConfiguration=inputs.get("eksConfiguration"),
            tags=inputs.get("tags") or None,
        )
    )
    arn = created["computeEnvironmentArn"]
    described = _wait_until_valid(ctx, arn)
    return Created(
        id=env_name,
        outputs=compact(
            name=env_name,
            arn=arn,
            type=env_type,
            serviceRole=service_role,
            ecsClusterArn=described.get("ecsClusterArn"),
            state=described.get("state") or inputs.get("state", "ENABLED"),
            status=described["status"],
            statusReason=described.get("statusReason"),
        ),
        physical_name=env_name,
    )


@resource("aws:batch/jobQueue:JobQueue")
def job_queue(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    queue_name = physical_name(name, inputs, max_len=_NAME_MAX)
    created = ctx.client("batch").create_job_queue(
        **compact(
            jobQueueName=queue_name,
            state=inputs["state"],
            priority=inputs["priority"],
            computeEnvironmentOrder=inputs.get("computeEnvironmentOrders") or None,
            schedulingPolicyArn=inputs.get("schedulingPolicyArn"),
            jobStateTimeLimitActions=inputs.get("jobStateTimeLimitActions") or None,
            tags=inputs.get("tags") or None,
        )
    )
    return Created(
        id=created["jobQueueArn"],
        outputs={"name": queue_name, "arn": created["jobQueueArn"]},
        physical_name=queue_name,
    )
