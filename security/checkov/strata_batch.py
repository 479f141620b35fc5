"""AWS Batch checks (checkov has none): scale to zero, launch templates, queues Metaflow can use."""

from __future__ import annotations

from typing import Any

from _strata_conf import BATCH_EC2_TYPES, blocks, value

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
MAX_COMPUTE_ENVIRONMENTS_PER_QUEUE = 3


def _ec2_resources(conf: dict[str, Any]) -> dict[str, Any] | None:
    """The compute_resources block of an EC2/SPOT environment; None for Fargate or unmanaged."""
    for resources in blocks(conf, "compute_resources"):
        if value(resources, "type") in BATCH_EC2_TYPES:
            return resources
    return None


class BatchComputeScalesToZero(BaseResourceCheck):
    """An EC2/SPOT environment with min vCPUs above 0 keeps instances (and their bill) running while
    no job is queued. The provider defaults min_vcpus to 0, so absent passes."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS Batch EC2/SPOT compute environments scale to zero (min vCPUs 0)",
            id="CKV_STRATA_1",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_batch_compute_environment",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["compute_resources/[0]/min_vcpus"]
        resources = _ec2_resources(conf)
        if resources is None:
            return CheckResult.PASSED  # Fargate has no idle capacity at all
        return CheckResult.PASSED if value(resources, "min_vcpus", 0) == 0 else CheckResult.FAILED


class BatchComputeUsesLaunchTemplate(BaseResourceCheck):
    """Without a launch template Batch launches instances with the AMI's defaults: IMDSv1 allowed and
    an unencrypted root volume unless the account enforces EBS encryption."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS Batch EC2/SPOT compute environments launch instances from a launch template",
            id="CKV_STRATA_2",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_batch_compute_environment",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["compute_resources/[0]/launch_template"]
        resources = _ec2_resources(conf)
        if resources is None:
            return CheckResult.PASSED
        for template in blocks(resources, "launch_template"):
            if value(template, "launch_template_id") or value(template, "launch_template_name"):
                return CheckResult.PASSED
        return CheckResult.FAILED


class BatchJobQueueWithoutFairShare(BaseResourceCheck):
    """Metaflow's Batch client submits jobs without a shareIdentifier; a queue with a fair-share
    scheduling policy rejects them. https://docs.aws.amazon.com/batch/latest/userguide/job_scheduling.html"""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS Batch job queues have no fair-share scheduling policy (Metaflow cannot submit to them)",
            id="CKV_STRATA_7",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_batch_job_queue",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["scheduling_policy_arn"]
        return CheckResult.FAILED if value(conf, "scheduling_policy_arn") else CheckResult.PASSED


class BatchJobQueueComputeEnvironments(BaseResourceCheck):
    """A queue orders 1 to 3 compute environments (a fixed AWS Batch quota): more fails at deploy time."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS Batch job queues order between 1 and 3 compute environments (service quota)",
            id="CKV_STRATA_8",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_batch_job_queue",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["compute_environment_order", "compute_environments"]
        count = len(blocks(conf, "compute_environment_order")) or len(value(conf, "compute_environments", []) or [])
        return CheckResult.PASSED if 1 <= count <= MAX_COMPUTE_ENVIRONMENTS_PER_QUEUE else CheckResult.FAILED


scales_to_zero = BatchComputeScalesToZero()
uses_launch_template = BatchComputeUsesLaunchTemplate()
queue_without_fair_share = BatchJobQueueWithoutFairShare()
queue_compute_environments = BatchJobQueueComputeEnvironments()
