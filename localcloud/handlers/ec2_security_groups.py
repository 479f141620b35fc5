"""EC2 security groups (with inline rules), the default security group, and the ``aws:vpc`` rule resources."""

from __future__ import annotations

from typing import Any

from .ec2 import one, tags_of
from .registry import (
    Created,
    Ctx,
    compact,
    key_value_tags,
    physical_name,
    resource,
    tag_specifications,
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
            TagSpecifications=tag_specifications("security-group", tags_of(inputs)),
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
    group = one(ec2.describe_security_groups(Filters=filters)["SecurityGroups"], "default security group")
    group_id = group["GroupId"]
    _set_inline_rules(ctx, group_id, inputs)
    tags = key_value_tags(tags_of(inputs))
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
            TagSpecifications=tag_specifications("security-group-rule", tags_of(inputs)),
        )
    )
    rule_id = one(response.get("SecurityGroupRules", []), "security group rule")["SecurityGroupRuleId"]
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
