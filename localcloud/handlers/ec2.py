"""EC2 and VPC networking: VPCs, subnets, routing, gateways and addresses, endpoints and flow logs.

Security groups and their rules are in ``ec2_security_groups``; launch templates, instances and AMI
look-ups in ``ec2_instances``. Both use the small helpers here (``tags_of``, ``one``, ``FAST_WAIT``).
"""

from __future__ import annotations

import zlib
from typing import Any

from .registry import (
    Created,
    Ctx,
    compact,
    pascal_keys,
    resource,
    tag_specifications,
)

# boto3 waiters poll every 15 s by default; moto answers at once, so poll fast.
FAST_WAIT = {"Delay": 1, "MaxAttempts": 120}

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


def tags_of(inputs: dict[str, Any]) -> dict[str, str] | None:
    return inputs.get("tags") or None


def one(items: list[Any], what: str) -> Any:
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
            TagSpecifications=tag_specifications("vpc", tags_of(inputs)),
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
    main_route_table = one(
        ec2.describe_route_tables(Filters=[in_vpc, {"Name": "association.main", "Values": ["true"]}])["RouteTables"],
        f"main route table for {vpc_id}",
    )["RouteTableId"]
    default_sg = one(
        ec2.describe_security_groups(Filters=[in_vpc, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"],
        f"default security group for {vpc_id}",
    )["GroupId"]
    default_acl = one(
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
            TagSpecifications=tag_specifications("subnet", tags_of(inputs)),
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
        **compact(VpcId=inputs["vpcId"], TagSpecifications=tag_specifications("route-table", tags_of(inputs)))
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
    created = ec2.create_internet_gateway(**compact(TagSpecifications=tag_specifications("internet-gateway", tags_of(inputs))))[
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
            TagSpecifications=tag_specifications("elastic-ip", tags_of(inputs)),
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
            TagSpecifications=tag_specifications("natgateway", tags_of(inputs)),
        )
    )["NatGateway"]
    gateway_id = created["NatGatewayId"]
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[gateway_id], WaiterConfig=FAST_WAIT)
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
            TagSpecifications=tag_specifications("vpc-endpoint", tags_of(inputs)),
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
            TagSpecifications=tag_specifications("vpc-flow-log", tags_of(inputs)),
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
