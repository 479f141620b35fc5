"""Launch template checks: checkov checks IMDS and volumes on instances and launch configurations,
but not every launch-template setting the Batch capacity depends on."""

from __future__ import annotations

from typing import Any

from _strata_conf import blocks, is_false_or_absent, is_true, value

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Containers on an instance are one hop further from IMDS than the instance: at 1 the IMDSv2 token never
# reaches a container, so no job can take the instance role (jobs get their own role from the ECS agent's
# endpoint, not IMDS). Anything above hands the instance's credentials to every container on it.
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html
MAX_HOP_LIMIT = 1


def _metadata(conf: dict[str, Any]) -> dict[str, Any]:
    found = blocks(conf, "metadata_options")
    return found[0] if found else {}


class LaunchTemplateRequiresIMDSv2(BaseResourceCheck):
    """http_tokens must be "required" (IMDSv2 only); the EC2 default "optional" keeps IMDSv1 open to
    SSRF credential theft. The endpoint may be disabled altogether."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch templates require IMDSv2 (metadata_options.http_tokens = required)",
            id="CKV_STRATA_9",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_launch_template",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["metadata_options/[0]/http_tokens", "metadata_options/[0]/http_endpoint"]
        options = _metadata(conf)
        if value(options, "http_endpoint") == "disabled":
            return CheckResult.PASSED
        return CheckResult.PASSED if value(options, "http_tokens") == "required" else CheckResult.FAILED


class LaunchTemplateVolumesEncrypted(BaseResourceCheck):
    """Every EBS block device mapping of a launch template is encrypted (root and data volumes)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch template EBS block devices are encrypted",
            id="CKV_STRATA_4",
            categories=(CheckCategories.ENCRYPTION,),
            supported_resources=("aws_launch_template",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["block_device_mappings/[0]/ebs/[0]/encrypted"]
        for mapping in blocks(conf, "block_device_mappings"):
            if value(mapping, "no_device") or value(mapping, "virtual_name"):
                continue  # suppressed mapping or instance store: no EBS volume
            ebs = blocks(mapping, "ebs")
            if not ebs or not is_true(value(ebs[0], "encrypted")):
                return CheckResult.FAILED
        return CheckResult.PASSED


class LaunchTemplateNoPublicIp(BaseResourceCheck):
    """No network interface of a launch template asks for a public IPv4 (billed, and reachable)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch template network interfaces do not associate a public IP address",
            id="CKV_STRATA_5",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=("aws_launch_template",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["network_interfaces/[0]/associate_public_ip_address"]
        for nic in blocks(conf, "network_interfaces"):
            if not is_false_or_absent(value(nic, "associate_public_ip_address")):
                return CheckResult.FAILED
        return CheckResult.PASSED


class LaunchTemplateHopLimit(BaseResourceCheck):
    """IMDS response hop limit 1, set explicitly: containers on the instance get no instance credentials."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch templates set the IMDS response hop limit to 1",
            id="CKV_STRATA_6",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_launch_template",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["metadata_options/[0]/http_put_response_hop_limit"]
        limit = value(_metadata(conf), "http_put_response_hop_limit")
        if limit is None:
            return CheckResult.FAILED  # the AMI decides then: 2 on the AL2023 AMIs

        return CheckResult.PASSED if int(limit) <= MAX_HOP_LIMIT else CheckResult.FAILED


requires_imdsv2 = LaunchTemplateRequiresIMDSv2()
volumes_encrypted = LaunchTemplateVolumesEncrypted()
no_public_ip = LaunchTemplateNoPublicIp()
hop_limit = LaunchTemplateHopLimit()
