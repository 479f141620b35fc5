"""EC2 launch templates and instances (the NAT instance), and the ``getAmi`` data source."""

from __future__ import annotations

import base64
import re
from typing import Any

from .ec2 import FAST_WAIT, one, tags_of
from .registry import (
    PARTITION,
    Created,
    Ctx,
    compact,
    invoke,
    key_value_tags,
    pascal_keys,
    physical_name,
    resource,
    tag_specifications,
    tf_bool,
)

# --- launch templates and instances ---------------------------------------------------------------

# Terraform-schema names whose EC2 API name is not the plain PascalCase form.
_LAUNCH_TEMPLATE_RENAMES = {
    "vpcSecurityGroupIds": "SecurityGroupIds",
    "securityGroupNames": "SecurityGroups",
    "securityGroups": "Groups",  # inside networkInterfaces
    "enableResourceNameDnsAaaaRecord": "EnableResourceNameDnsAAAARecord",
    "vcpuCount": "VCpuCount",
    "memoryMib": "MemoryMiB",
}
# Launch-template inputs that describe the template itself, not the instances it launches.
_LAUNCH_TEMPLATE_OWN = {"name", "namePrefix", "description", "tags", "region", "updateDefaultVersion", "defaultVersion"}
# Booleans the Terraform schema types as strings ("true"/"false").
_STRING_BOOLEANS = {"Encrypted", "DeleteOnTermination", "EbsOptimized", "AssociatePublicIpAddress", "AssociateCarrierIpAddress"}


def _fix_string_booleans(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: tf_bool(v) if k in _STRING_BOOLEANS else _fix_string_booleans(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_string_booleans(v) for v in value]
    return value


def _launch_template_data(inputs: dict[str, Any]) -> dict[str, Any]:
    """The ``LaunchTemplateData`` for the instance settings among a LaunchTemplate's inputs."""
    settings = {k: v for k, v in inputs.items() if k not in _LAUNCH_TEMPLATE_OWN}
    tag_specs = settings.pop("tagSpecifications", None)
    data = _fix_string_booleans(pascal_keys(settings, _LAUNCH_TEMPLATE_RENAMES))
    if tag_specs:
        data["TagSpecifications"] = [
            {"ResourceType": spec["resourceType"], "Tags": key_value_tags(spec.get("tags")) or []} for spec in tag_specs
        ]
    return data


@resource("aws:ec2/launchTemplate:LaunchTemplate")
def launch_template(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    template_name = physical_name(name, inputs, max_len=128)
    created = ctx.client("ec2").create_launch_template(
        **compact(
            LaunchTemplateName=template_name,
            VersionDescription=inputs.get("description"),
            LaunchTemplateData=_launch_template_data(inputs),
            TagSpecifications=tag_specifications("launch-template", tags_of(inputs)),
        )
    )["LaunchTemplate"]
    template_id = created["LaunchTemplateId"]
    return Created(
        id=template_id,
        outputs={
            "arn": ctx.arn("ec2", f"launch-template/{template_id}"),
            "name": template_name,
            "latestVersion": created["LatestVersionNumber"],
            "defaultVersion": created["DefaultVersionNumber"],
        },
        physical_name=template_name,
    )


def _block_device(device: dict[str, Any], device_name: str) -> dict[str, Any]:
    """A Terraform root/EBS block device as an EC2 ``BlockDeviceMapping``."""
    ebs = {k: v for k, v in device.items() if k not in ("deviceName", "tags")}
    return {"DeviceName": device_name, "Ebs": _fix_string_booleans(pascal_keys(ebs))}


def _instance_network(inputs: dict[str, Any]) -> dict[str, Any]:
    """Subnet and groups, or a primary interface when a public address is asked for explicitly."""
    if inputs.get("associatePublicIpAddress") is None:
        return compact(
            SubnetId=inputs.get("subnetId"),
            SecurityGroupIds=inputs.get("vpcSecurityGroupIds") or None,
            SecurityGroups=inputs.get("securityGroups") or None,
            PrivateIpAddress=inputs.get("privateIp"),
        )
    interface = compact(
        DeviceIndex=0,
        SubnetId=inputs.get("subnetId"),
        Groups=inputs.get("vpcSecurityGroupIds") or None,
        AssociatePublicIpAddress=bool(inputs["associatePublicIpAddress"]),
        PrivateIpAddress=inputs.get("privateIp"),
    )
    return {"NetworkInterfaces": [interface]}


def _instance_profile(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    return {"Arn": value} if value.startswith("arn:") else {"Name": value}


@resource("aws:ec2/instance:Instance")
def instance(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    block_devices = []
    if inputs.get("rootBlockDevice"):
        image = one(ec2.describe_images(ImageIds=[inputs["ami"]])["Images"], f"image {inputs['ami']}")
        block_devices.append(_block_device(inputs["rootBlockDevice"], image["RootDeviceName"]))
    block_devices += [_block_device(device, device["deviceName"]) for device in inputs.get("ebsBlockDevices") or []]
    user_data = inputs.get("userData")
    if inputs.get("userDataBase64"):  # boto3 base64-encodes UserData itself
        user_data = base64.b64decode(inputs["userDataBase64"]).decode()
    tag_specs = (tag_specifications("instance", tags_of(inputs)) or []) + (
        tag_specifications("volume", inputs.get("volumeTags")) or []
    )
    launched = ec2.run_instances(
        MinCount=1,
        MaxCount=1,
        **compact(
            ImageId=inputs.get("ami"),
            InstanceType=inputs.get("instanceType"),
            KeyName=inputs.get("keyName"),
            UserData=user_data,
            IamInstanceProfile=_instance_profile(inputs.get("iamInstanceProfile")),
            MetadataOptions=pascal_keys(inputs.get("metadataOptions")),
            Monitoring={"Enabled": bool(inputs["monitoring"])} if "monitoring" in inputs else None,
            EbsOptimized=inputs.get("ebsOptimized"),
            DisableApiTermination=inputs.get("disableApiTermination"),
            InstanceInitiatedShutdownBehavior=inputs.get("instanceInitiatedShutdownBehavior"),
            Placement=compact(AvailabilityZone=inputs.get("availabilityZone"), Tenancy=inputs.get("tenancy")) or None,
            BlockDeviceMappings=block_devices or None,
            LaunchTemplate=pascal_keys(inputs.get("launchTemplate"), {"id": "LaunchTemplateId", "name": "LaunchTemplateName"}),
            TagSpecifications=tag_specs or None,
            **_instance_network(inputs),
        ),
    )["Instances"][0]
    instance_id = launched["InstanceId"]
    source_dest_check = inputs.get("sourceDestCheck", True)
    if not source_dest_check:  # a NAT instance forwards traffic that is not addressed to it
        ec2.modify_instance_attribute(InstanceId=instance_id, SourceDestCheck={"Value": False})
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=FAST_WAIT)
    running = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    primary = next((eni for eni in running.get("NetworkInterfaces", []) if eni["Attachment"]["DeviceIndex"] == 0), {})
    return Created(
        id=instance_id,
        outputs=compact(
            arn=ctx.arn("ec2", f"instance/{instance_id}"),
            instanceState=running["State"]["Name"],
            instanceType=running["InstanceType"],
            availabilityZone=running["Placement"]["AvailabilityZone"],
            subnetId=running.get("SubnetId"),
            primaryNetworkInterfaceId=primary.get("NetworkInterfaceId"),
            privateIp=running.get("PrivateIpAddress"),
            privateDns=running.get("PrivateDnsName"),
            publicIp=running.get("PublicIpAddress"),
            publicDns=running.get("PublicDnsName") or None,
            vpcSecurityGroupIds=[group["GroupId"] for group in primary.get("Groups", [])] or None,
            sourceDestCheck=source_dest_check,
        ),
    )


# --- data sources ---------------------------------------------------------------------------------


@invoke("aws:ec2/getAmi:getAmi")
def get_ami(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """DescribeImages with the data source's owners and filters, then its name regex and selection."""
    images = ctx.client("ec2").describe_images(
        **compact(
            Owners=args.get("owners") or None,
            ExecutableUsers=args.get("executableUsers") or None,
            Filters=[{"Name": f["name"], "Values": f["values"]} for f in args.get("filters") or []] or None,
            IncludeDeprecated=args.get("includeDeprecated"),
        )
    )["Images"]
    if args.get("nameRegex"):
        pattern = re.compile(args["nameRegex"])
        images = [image for image in images if pattern.search(image.get("Name", ""))]
    if not images:
        raise LookupError("Your query returned no results. Please change your search criteria and try again.")
    if len(images) > 1 and not args.get("mostRecent"):
        raise LookupError(
            "Your query returned more than one result. Please try a more specific search criteria, "
            "or set `most_recent` attribute to true."
        )
    image = max(images, key=lambda i: i.get("CreationDate", ""))
    return {
        **{k: args[k] for k in ("owners", "filters", "mostRecent", "nameRegex", "executableUsers") if k in args},
        "id": image["ImageId"],
        "imageId": image["ImageId"],
        "arn": f"arn:{PARTITION}:ec2:{ctx.region}::image/{image['ImageId']}",
        "name": image.get("Name"),
        "description": image.get("Description"),
        "architecture": image.get("Architecture"),
        "creationDate": image.get("CreationDate"),
        "ownerId": image.get("OwnerId"),
        "imageOwnerAlias": image.get("ImageOwnerAlias"),
        "imageLocation": image.get("ImageLocation"),
        "imageType": image.get("ImageType"),
        "platformDetails": image.get("PlatformDetails"),
        "public": image.get("Public"),
        "rootDeviceName": image.get("RootDeviceName"),
        "rootDeviceType": image.get("RootDeviceType"),
        "state": image.get("State"),
        "virtualizationType": image.get("VirtualizationType"),
        "hypervisor": image.get("Hypervisor"),
        "enaSupport": image.get("EnaSupport"),
        "tags": {t["Key"]: t["Value"] for t in image.get("Tags", [])},
    }
