"""EC2 and VPC networking: VPCs, subnets, routing, gateways, security groups, endpoints, flow
logs, launch templates and instances (the NAT instance)."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

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

# boto3 waiters poll every 15 s by default; moto answers at once, so poll fast.
_FAST_WAIT = {"Delay": 1, "MaxAttempts": 120}

# Route targets: Terraform attribute -> CreateRoute parameter.
_ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "networkInterfaceId": "NetworkInterfaceId",
    "vpcEndpointId": "VpcEndpointId",
    "transitGatewayId": "TransitGatewayId",
    "vpcPeeringConnectionId": "VpcPeeringConnectionId",
    "egressOnlyGatewayId": "EgressOnlyInternetGatewayId",
    "carrierGatewayId": "CarrierGatewayId",
    "localGatewayId": "LocalGatewayId",
    "coreNetworkArn": "CoreNetworkArn",
}


def _tags(inputs: dict[str, Any]) -> dict[str, str] | None:
    return inputs.get("tags") or None


def _one(items: list[Any], what: str) -> Any:
    if not items:
        raise LookupError(f"moto returned no {what}")
    return items[0]


def _public_dns(ctx: Ctx, public_ip: str | None) -> str | None:
    """EC2's public DNS name for an address (us-east-1 has its own domain)."""
    if not public_ip:
        return None
    domain = "compute-1.amazonaws.com" if ctx.region == "us-east-1" else f"{ctx.region}.compute.amazonaws.com"
    return f"ec2-{public_ip.replace('.', '-')}.{domain}"


# --- VPC, subnets ---------------------------------------------------------------------------------


@resource("aws:ec2/vpc:Vpc")
def vpc(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    created = ec2.create_vpc(
        **compact(
            CidrBlock=inputs.get("cidrBlock"),
            InstanceTenancy=inputs.get("instanceTenancy"),
            AmazonProvidedIpv6CidrBlock=inputs.get("assignGeneratedIpv6CidrBlock"),
            TagSpecifications=tag_specifications("vpc", _tags(inputs)),
        )
    )["Vpc"]
    vpc_id = created["VpcId"]
    dns_support = inputs.get("enableDnsSupport", True)
    dns_hostnames = inputs.get("enableDnsHostnames", False)
    if not dns_support:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
    if dns_hostnames:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    in_vpc = {"Name": "vpc-id", "Values": [vpc_id]}
    main_route_table = _one(
        ec2.describe_route_tables(Filters=[in_vpc, {"Name": "association.main", "Values": ["true"]}])["RouteTables"],
        f"main route table for {vpc_id}",
    )["RouteTableId"]
    default_sg = _one(
        ec2.describe_security_groups(Filters=[in_vpc, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"],
        f"default security group for {vpc_id}",
    )["GroupId"]
    default_acl = _one(
        ec2.describe_network_acls(Filters=[in_vpc, {"Name": "default", "Values": ["true"]}])["NetworkAcls"],
        f"default network ACL for {vpc_id}",
    )["NetworkAclId"]
    ipv6 = next(iter(created.get("Ipv6CidrBlockAssociationSet") or []), {})
    return Created(
        id=vpc_id,
        outputs=compact(
            arn=ctx.arn("ec2", f"vpc/{vpc_id}"),
            cidrBlock=created["CidrBlock"],
            instanceTenancy=created.get("InstanceTenancy", "default"),
            enableDnsSupport=dns_support,
            enableDnsHostnames=dns_hostnames,
            mainRouteTableId=main_route_table,
            defaultRouteTableId=main_route_table,
            defaultSecurityGroupId=default_sg,
            defaultNetworkAclId=default_acl,
            dhcpOptionsId=created.get("DhcpOptionsId"),
            ownerId=created["OwnerId"],
            ipv6CidrBlock=ipv6.get("Ipv6CidrBlock"),
            ipv6AssociationId=ipv6.get("AssociationId"),
        ),
    )


@resource("aws:ec2/subnet:Subnet")
def subnet(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    created = ec2.create_subnet(
        **compact(
            VpcId=inputs["vpcId"],
            CidrBlock=inputs.get("cidrBlock"),
            Ipv6CidrBlock=inputs.get("ipv6CidrBlock"),
            AvailabilityZone=inputs.get("availabilityZone"),
            AvailabilityZoneId=inputs.get("availabilityZoneId"),
            TagSpecifications=tag_specifications("subnet", _tags(inputs)),
        )
    )["Subnet"]
    subnet_id = created["SubnetId"]
    public_ip = bool(inputs.get("mapPublicIpOnLaunch", False))
    if public_ip:
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    return Created(
        id=subnet_id,
        outputs={
            "arn": created["SubnetArn"],
            "availabilityZone": created["AvailabilityZone"],
            "availabilityZoneId": created["AvailabilityZoneId"],
            "cidrBlock": created["CidrBlock"],
            "mapPublicIpOnLaunch": public_ip,
            "assignIpv6AddressOnCreation": created.get("AssignIpv6AddressOnCreation", False),
            "ipv6Native": created.get("Ipv6Native", False),
            "ownerId": created["OwnerId"],
        },
    )


# --- routing --------------------------------------------------------------------------------------


def _create_route(ctx: Ctx, route_table_id: str, route: dict[str, Any], destinations: dict[str, str]) -> str:
    """Create one route; ``destinations`` maps this shape's destination attributes to API names.

    Returns the destination, which the provider's route id is derived from.
    """
    params = {"RouteTableId": route_table_id}
    for attr, param in {**destinations, **_ROUTE_TARGETS}.items():
        if route.get(attr):
            params[param] = route[attr]
    ctx.client("ec2").create_route(**params)
    return next(route[attr] for attr in destinations if route.get(attr))


@resource("aws:ec2/routeTable:RouteTable")
def route_table(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    created = ctx.client("ec2").create_route_table(
        **compact(VpcId=inputs["vpcId"], TagSpecifications=tag_specifications("route-table", _tags(inputs)))
    )["RouteTable"]
    table_id = created["RouteTableId"]
    # Inline routes use cidrBlock/ipv6CidrBlock where the Route resource says destinationCidrBlock.
    inline = {
        "cidrBlock": "DestinationCidrBlock",
        "ipv6CidrBlock": "DestinationIpv6CidrBlock",
        "destinationPrefixListId": "DestinationPrefixListId",
    }
    for route in inputs.get("routes") or []:
        _create_route(ctx, table_id, route, inline)
    return Created(
        id=table_id,
        outputs={"arn": ctx.arn("ec2", f"route-table/{table_id}"), "ownerId": created["OwnerId"]},
    )


@resource("aws:ec2/route:Route")
def route(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    table_id = inputs["routeTableId"]
    destination = _create_route(
        ctx,
        table_id,
        inputs,
        {
            "destinationCidrBlock": "DestinationCidrBlock",
            "destinationIpv6CidrBlock": "DestinationIpv6CidrBlock",
            "destinationPrefixListId": "DestinationPrefixListId",
        },
    )
    # The provider's id: "r-" + route table id + a CRC32 hash code of the destination.
    return Created(
        id=f"r-{table_id}{zlib.crc32(destination.encode())}",
        outputs={"origin": "CreateRoute", "state": "active"},
    )


@resource("aws:ec2/routeTableAssociation:RouteTableAssociation")
def route_table_association(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    association = ctx.client("ec2").associate_route_table(
        **compact(RouteTableId=inputs["routeTableId"], SubnetId=inputs.get("subnetId"), GatewayId=inputs.get("gatewayId"))
    )
    return Created(id=association["AssociationId"])


# --- gateways and addresses -----------------------------------------------------------------------


@resource("aws:ec2/internetGateway:InternetGateway")
def internet_gateway(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    created = ec2.create_internet_gateway(**compact(TagSpecifications=tag_specifications("internet-gateway", _tags(inputs))))[
        "InternetGateway"
    ]
    gateway_id = created["InternetGatewayId"]
    if inputs.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=inputs["vpcId"])
    return Created(
        id=gateway_id,
        outputs={"arn": ctx.arn("ec2", f"internet-gateway/{gateway_id}"), "ownerId": created["OwnerId"]},
    )


@resource("aws:ec2/eip:Eip")
def eip(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    allocated = ec2.allocate_address(
        **compact(
            Domain=inputs.get("domain", "vpc"),
            Address=inputs.get("address"),
            PublicIpv4Pool=inputs.get("publicIpv4Pool"),
            NetworkBorderGroup=inputs.get("networkBorderGroup"),
            TagSpecifications=tag_specifications("elastic-ip", _tags(inputs)),
        )
    )
    allocation_id = allocated["AllocationId"]
    association_id = None
    if inputs.get("instance") or inputs.get("networkInterface"):
        association_id = ec2.associate_address(
            **compact(
                AllocationId=allocation_id,
                InstanceId=inputs.get("instance"),
                NetworkInterfaceId=inputs.get("networkInterface"),
                PrivateIpAddress=inputs.get("associateWithPrivateIp"),
            )
        )["AssociationId"]
    return Created(
        id=allocation_id,
        outputs=compact(
            arn=ctx.arn("ec2", f"elastic-ip/{allocation_id}"),
            allocationId=allocation_id,
            associationId=association_id,
            publicIp=allocated["PublicIp"],
            publicDns=_public_dns(ctx, allocated["PublicIp"]),
            domain=allocated.get("Domain", "vpc"),
        ),
    )


@resource("aws:ec2/natGateway:NatGateway")
def nat_gateway(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    created = ec2.create_nat_gateway(
        **compact(
            SubnetId=inputs["subnetId"],
            AllocationId=inputs.get("allocationId"),
            ConnectivityType=inputs.get("connectivityType"),
            PrivateIpAddress=inputs.get("privateIp"),
            TagSpecifications=tag_specifications("natgateway", _tags(inputs)),
        )
    )["NatGateway"]
    gateway_id = created["NatGatewayId"]
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[gateway_id], WaiterConfig=_FAST_WAIT)
    address = next(iter(created.get("NatGatewayAddresses") or []), {})
    return Created(
        id=gateway_id,
        outputs=compact(
            vpcId=created.get("VpcId"),
            connectivityType=inputs.get("connectivityType", "public"),
            networkInterfaceId=address.get("NetworkInterfaceId"),
            privateIp=address.get("PrivateIp"),
            publicIp=address.get("PublicIp"),
            associationId=address.get("AssociationId"),
        ),
    )


# --- security groups ------------------------------------------------------------------------------


def _protocol(protocol: Any) -> str:
    """Terraform accepts "all" and numbers for "every protocol"; the API wants "-1"."""
    return "-1" if str(protocol).lower() in ("all", "-1") else str(protocol)


def _inline_permission(rule: dict[str, Any], group_id: str) -> dict[str, Any]:
    """A Terraform inline ingress/egress block as an EC2 ``IpPermission``."""
    protocol = _protocol(rule["protocol"])
    description = compact(Description=rule.get("description"))
    groups = list(rule.get("securityGroups") or []) + ([group_id] if rule.get("self") else [])
    permission = compact(
        IpProtocol=protocol,
        IpRanges=[{"CidrIp": cidr, **description} for cidr in rule.get("cidrBlocks") or []] or None,
        Ipv6Ranges=[{"CidrIpv6": cidr, **description} for cidr in rule.get("ipv6CidrBlocks") or []] or None,
        PrefixListIds=[{"PrefixListId": pl, **description} for pl in rule.get("prefixListIds") or []] or None,
        UserIdGroupPairs=[{"GroupId": group, **description} for group in groups] or None,
    )
    if protocol != "-1":
        permission.update(FromPort=rule["fromPort"], ToPort=rule["toPort"])
    return permission


def _set_inline_rules(ctx: Ctx, group_id: str, inputs: dict[str, Any]) -> None:
    """Make the group's rules exactly the declared ones, as the provider does on create.

    AWS gives a new VPC security group an allow-all egress rule; the provider revokes it so that
    only declared rules exist (a group declared without egress has none).
    """
    ec2 = ctx.client("ec2")
    current = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if current.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=current["IpPermissions"])
    if current.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=current["IpPermissionsEgress"])
    ingress = [_inline_permission(rule, group_id) for rule in inputs.get("ingress") or []]
    egress = [_inline_permission(rule, group_id) for rule in inputs.get("egress") or []]
    if ingress:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
    if egress:
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=egress)


@resource("aws:ec2/securityGroup:SecurityGroup")
def security_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    group_name = physical_name(name, inputs, max_len=255)
    description = inputs.get("description", "Managed by Pulumi")
    created = ctx.client("ec2").create_security_group(
        **compact(
            GroupName=group_name,
            Description=description,
            VpcId=inputs.get("vpcId"),
            TagSpecifications=tag_specifications("security-group", _tags(inputs)),
        )
    )
    group_id = created["GroupId"]
    _set_inline_rules(ctx, group_id, inputs)
    group = ctx.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return Created(
        id=group_id,
        outputs={
            "arn": ctx.arn("ec2", f"security-group/{group_id}"),
            "name": group_name,
            "description": description,
            "vpcId": group["VpcId"],
            "ownerId": group["OwnerId"],
        },
        physical_name=group_name,
    )


@resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def default_security_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """Adopt the VPC's default group and strip it to the declared rules (usually none)."""
    ec2 = ctx.client("ec2")
    filters = [{"Name": "group-name", "Values": ["default"]}]
    if inputs.get("vpcId"):
        filters.append({"Name": "vpc-id", "Values": [inputs["vpcId"]]})
    group = _one(ec2.describe_security_groups(Filters=filters)["SecurityGroups"], "default security group")
    group_id = group["GroupId"]
    _set_inline_rules(ctx, group_id, inputs)
    tags = key_value_tags(_tags(inputs))
    if tags:
        ec2.create_tags(Resources=[group_id], Tags=tags)
    return Created(
        id=group_id,
        outputs={
            "arn": ctx.arn("ec2", f"security-group/{group_id}"),
            "name": group["GroupName"],
            "description": group["Description"],
            "vpcId": group["VpcId"],
            "ownerId": group["OwnerId"],
        },
        physical_name=group["GroupName"],
    )


def _security_group_rule(ctx: Ctx, inputs: dict[str, Any], *, egress: bool) -> Created:
    """One ``aws:vpc`` rule resource: exactly one of the four peer kinds is set."""
    protocol = _protocol(inputs["ipProtocol"])
    description = compact(Description=inputs.get("description"))
    permission = compact(
        IpProtocol=protocol,
        IpRanges=[{"CidrIp": inputs["cidrIpv4"], **description}] if inputs.get("cidrIpv4") else None,
        Ipv6Ranges=[{"CidrIpv6": inputs["cidrIpv6"], **description}] if inputs.get("cidrIpv6") else None,
        PrefixListIds=[{"PrefixListId": inputs["prefixListId"], **description}] if inputs.get("prefixListId") else None,
        UserIdGroupPairs=(
            [{"GroupId": inputs["referencedSecurityGroupId"], **description}] if inputs.get("referencedSecurityGroupId") else None
        ),
    )
    if protocol != "-1":
        permission.update(FromPort=inputs["fromPort"], ToPort=inputs["toPort"])
    ec2 = ctx.client("ec2")
    authorize = ec2.authorize_security_group_egress if egress else ec2.authorize_security_group_ingress
    response = authorize(
        **compact(
            GroupId=inputs["securityGroupId"],
            IpPermissions=[permission],
            TagSpecifications=tag_specifications("security-group-rule", _tags(inputs)),
        )
    )
    rule_id = _one(response.get("SecurityGroupRules", []), "security group rule")["SecurityGroupRuleId"]
    return Created(
        id=rule_id,
        outputs={"arn": ctx.arn("ec2", f"security-group-rule/{rule_id}"), "securityGroupRuleId": rule_id},
    )


@resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
def security_group_ingress_rule(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    return _security_group_rule(ctx, inputs, egress=False)


@resource("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
def security_group_egress_rule(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    return _security_group_rule(ctx, inputs, egress=True)


# --- endpoints and flow logs ----------------------------------------------------------------------


@resource("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ec2 = ctx.client("ec2")
    endpoint_type = inputs.get("vpcEndpointType", "Gateway")
    created = ec2.create_vpc_endpoint(
        **compact(
            VpcEndpointType=endpoint_type,
            VpcId=inputs["vpcId"],
            ServiceName=inputs["serviceName"],
            PolicyDocument=inputs.get("policy"),
            RouteTableIds=inputs.get("routeTableIds") or None,
            SubnetIds=inputs.get("subnetIds") or None,
            SecurityGroupIds=inputs.get("securityGroupIds") or None,
            # The provider sends PrivateDnsEnabled only for interface endpoints (default false).
            PrivateDnsEnabled=inputs.get("privateDnsEnabled", False) if endpoint_type == "Interface" else None,
            IpAddressType=inputs.get("ipAddressType"),
            TagSpecifications=tag_specifications("vpc-endpoint", _tags(inputs)),
        )
    )["VpcEndpoint"]
    endpoint_id = created["VpcEndpointId"]
    outputs = {
        "arn": ctx.arn("ec2", f"vpc-endpoint/{endpoint_id}"),
        "vpcEndpointType": endpoint_type,
        "state": created["State"],
        "policy": created.get("PolicyDocument"),
        "networkInterfaceIds": created.get("NetworkInterfaceIds", []),
        "dnsEntries": [
            {"dnsName": entry["DnsName"], "hostedZoneId": entry["HostedZoneId"]} for entry in created.get("DnsEntries", [])
        ],
        "ownerId": created["OwnerId"],
        "requesterManaged": created.get("RequesterManaged", False),
    }
    if endpoint_type == "Gateway":
        # Gateway endpoints are routed to through the service's managed prefix list.
        prefix_lists = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [inputs["serviceName"]]}])[
            "PrefixLists"
        ]
        if prefix_lists:
            outputs.update(prefixListId=prefix_lists[0]["PrefixListId"], cidrBlocks=prefix_lists[0].get("Cidrs", []))
    return Created(id=endpoint_id, outputs=outputs)


def _flow_log_target(inputs: dict[str, Any]) -> tuple[str, str]:
    for attr, resource_type in (
        ("vpcId", "VPC"),
        ("subnetId", "Subnet"),
        ("eniId", "NetworkInterface"),
        ("transitGatewayId", "TransitGateway"),
        ("transitGatewayAttachmentId", "TransitGatewayAttachment"),
    ):
        if inputs.get(attr):
            return inputs[attr], resource_type
    raise ValueError("a flow log needs one of vpcId, subnetId, eniId, transitGatewayId, transitGatewayAttachmentId")


@resource("aws:ec2/flowLog:FlowLog")
def flow_log(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """Create the flow log; for a CloudWatch destination also pass the log group's name.

    moto checks that a CloudWatch Logs destination exists only through ``LogGroupName`` and marks a
    flow log given just the group's ARN (what the provider sends) as failing delivery. AWS treats
    the two as the same destination, so the engine passes both.
    """
    resource_id, resource_type = _flow_log_target(inputs)
    destination_type = inputs.get("logDestinationType", "cloud-watch-logs")
    destination = inputs.get("logDestination")
    group_name = None
    if destination_type == "cloud-watch-logs" and destination:
        group_name = destination.split(":log-group:", 1)[1].removesuffix(":*")
    response = ctx.client("ec2").create_flow_logs(
        **compact(
            ResourceIds=[resource_id],
            ResourceType=resource_type,
            TrafficType=inputs.get("trafficType"),
            LogDestinationType=destination_type,
            LogDestination=destination,
            LogGroupName=group_name,
            DeliverLogsPermissionArn=inputs.get("iamRoleArn"),
            DeliverCrossAccountRole=inputs.get("deliverCrossAccountRole"),
            LogFormat=inputs.get("logFormat"),
            MaxAggregationInterval=inputs.get("maxAggregationInterval"),
            DestinationOptions=pascal_keys(inputs.get("destinationOptions")),
            TagSpecifications=tag_specifications("vpc-flow-log", _tags(inputs)),
        )
    )
    if response.get("Unsuccessful"):
        raise RuntimeError(f"CreateFlowLogs failed: {response['Unsuccessful']}")
    flow_log_id = response["FlowLogIds"][0]
    described = ctx.client("ec2").describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0]
    return Created(
        id=flow_log_id,
        outputs={
            "arn": ctx.arn("ec2", f"vpc-flow-log/{flow_log_id}"),
            "logDestinationType": destination_type,
            "logFormat": described["LogFormat"],
            "maxAggregationInterval": described.get("MaxAggregationInterval", 600),
        },
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
            TagSpecifications=tag_specifications("launch-template", _tags(inputs)),
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
        image = _one(ec2.describe_images(ImageIds=[inputs["ami"]])["Images"], f"image {inputs['ami']}")
        block_devices.append(_block_device(inputs["rootBlockDevice"], image["RootDeviceName"]))
    block_devices += [_block_device(device, device["deviceName"]) for device in inputs.get("ebsBlockDevices") or []]
    user_data = inputs.get("userData")
    if inputs.get("userDataBase64"):  # boto3 base64-encodes UserData itself
        user_data = base64.b64decode(inputs["userDataBase64"]).decode()
    tag_specs = (tag_specifications("instance", _tags(inputs)) or []) + (
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
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=_FAST_WAIT)
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
