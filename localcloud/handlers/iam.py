"""IAM roles, policies, attachments and instance profiles (IAM is global: no region in ARNs)."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (name lengths)
_ROLE_NAME_MAX = 64
_POLICY_NAME_MAX = 128
_PROFILE_NAME_MAX = 128


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@resource("aws:iam/role:Role")
def role(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    iam = ctx.client("iam")
    role_name = physical_name(name, inputs, max_len=_ROLE_NAME_MAX)
    created = iam.create_role(
        **compact(
            RoleName=role_name,
            Path=inputs.get("path"),
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            Description=inputs.get("description"),
            MaxSessionDuration=inputs.get("maxSessionDuration"),
            PermissionsBoundary=inputs.get("permissionsBoundary"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["Role"]
    # The deprecated inline forms still exist in pulumi-aws 7; honour them rather than drop them.
    for inline in inputs.get("inlinePolicies") or []:
        if inline.get("name") and inline.get("policy"):
            iam.put_role_policy(RoleName=role_name, PolicyName=inline["name"], PolicyDocument=inline["policy"])
    for policy_arn in inputs.get("managedPolicyArns") or []:
        iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return Created(
        id=role_name,
        outputs={
            "name": role_name,
            "arn": created["Arn"],
            "uniqueId": created["RoleId"],
            "createDate": _iso(created["CreateDate"]),
            "path": created["Path"],
            "maxSessionDuration": created.get("MaxSessionDuration", 3600),
        },
        physical_name=role_name,
    )


@resource("aws:iam/rolePolicy:RolePolicy")
def role_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    policy_name = physical_name(name, inputs, max_len=_POLICY_NAME_MAX)
    ctx.client("iam").put_role_policy(RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
    # The provider's id for an inline policy is "<role>:<policy name>".
    return Created(id=f"{inputs['role']}:{policy_name}", outputs={"name": policy_name}, physical_name=policy_name)


@resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def role_policy_attachment(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    ctx.client("iam").attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
    return Created(id=f"{inputs['role']}/{inputs['policyArn']}")


@resource("aws:iam/policy:Policy")
def policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    policy_name = physical_name(name, inputs, max_len=_POLICY_NAME_MAX)
    created = ctx.client("iam").create_policy(
        **compact(
            PolicyName=policy_name,
            Path=inputs.get("path"),
            PolicyDocument=inputs["policy"],
            Description=inputs.get("description"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["Policy"]
    return Created(
        id=created["Arn"],
        outputs={
            "name": policy_name,
            "arn": created["Arn"],
            "policyId": created["PolicyId"],
            "path": created["Path"],
            "attachmentCount": created.get("AttachmentCount", 0),
        },
        physical_name=policy_name,
    )


@resource("aws:iam/instanceProfile:InstanceProfile")
def instance_profile(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    iam = ctx.client("iam")
    profile_name = physical_name(name, inputs, max_len=_PROFILE_NAME_MAX)
    created = iam.create_instance_profile(
        **compact(
            InstanceProfileName=profile_name,
            Path=inputs.get("path"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["InstanceProfile"]
    if inputs.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=profile_name, RoleName=inputs["role"])
    return Created(
        id=profile_name,
        outputs={
            "name": profile_name,
            "arn": created["Arn"],
            "uniqueId": created["InstanceProfileId"],
            "createDate": _iso(created["CreateDate"]),
            "path": created["Path"],
        },
        physical_name=profile_name,
    )


@resource("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def open_id_connect_provider(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """An IAM OIDC identity provider (IRSA: an EKS cluster's issuer). Its ARN is
    ``arn:aws:iam::<account>:oidc-provider/<url without https://>``; IAM keys providers by URL, so a second
    provider for the same issuer fails, as on AWS. Thumbprints are optional: IAM trusts the root CAs of
    well-known issuers (EKS's among them) without one."""
    url = inputs["url"]
    if not url.startswith("https://"):
        raise ValueError(f"url {url!r}: IAM accepts only https:// issuer URLs")
    created = ctx.client("iam").create_open_id_connect_provider(
        **compact(
            Url=url,
            ClientIDList=list(inputs.get("clientIdLists") or []) or None,
            ThumbprintList=list(inputs.get("thumbprintLists") or []) or None,
            Tags=key_value_tags(inputs.get("tags")),
        )
    )
    arn = created["OpenIDConnectProviderArn"]
    return Created(id=arn, outputs={"arn": arn}, physical_name=url.removeprefix("https://"))
