"""EKS clusters and managed node groups (the Kubernetes layer) in moto's EKS backend.

moto keeps what the API keeps for a cluster (version, role, subnets, endpoint access, public CIDRs, secrets
encryption with its key, control-plane logging, tags) and answers an endpoint, a certificate authority and an
OIDC issuer, which is what the program reads to build its Kubernetes provider and its IRSA trust. It has no
add-ons, access entries, access policies or Pod Identity (``engine.NOT_EMULATED``), and its node groups start
no instances and create no Auto Scaling group. Where moto answers differently from EKS, the engine answers as
EKS does and says so (``ctx.note``); each case is in the docstrings below.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .ec2 import one
from .registry import Created, Ctx, compact, physical_name, resource

# https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (name: 1-100 characters)
_CLUSTER_NAME_MAX = 100
# https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html (nodegroupName: 1-63)
_NODE_GROUP_NAME_MAX = 63
# Every control-plane log type EKS has (the provider's enabledClusterLogTypes values).
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def issuer_for(ctx: Ctx, cluster_name: str) -> str:
    """The cluster's OIDC issuer as EKS shapes it: ``https://oidc.eks.<region>.amazonaws.com/id/<32 hex>``.

    moto draws one issuer id per server process, so every cluster of a server would share an issuer, and the
    second cluster's IAM OIDC provider would collide with the first's (IAM keys providers by URL). EKS gives
    each cluster its own; the engine derives it from the account, region and cluster name."""
    return f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{_digest(ctx.account_id, ctx.region, cluster_name)[:32].upper()}"


def _vpc_config(inputs: dict[str, Any]) -> dict[str, Any]:
    vpc = inputs.get("vpcConfig") or {}
    return compact(
        subnetIds=list(vpc.get("subnetIds") or []),
        securityGroupIds=list(vpc.get("securityGroupIds") or []) or None,
        # The API's defaults, which the provider applies too: public on, private off.
        endpointPublicAccess=vpc.get("endpointPublicAccess", True),
        endpointPrivateAccess=vpc.get("endpointPrivateAccess", False),
        publicAccessCidrs=list(vpc.get("publicAccessCidrs") or []) or None,
    )


def _encryption_config(inputs: dict[str, Any]) -> list[dict[str, Any]] | None:
    """pulumi-aws 7 takes one ``encryptionConfig`` object; the API a list of them."""
    config = inputs.get("encryptionConfig")
    if not config:
        return None
    configs = config if isinstance(config, list) else [config]
    return [
        {"resources": list(c.get("resources") or []), "provider": {"keyArn": (c.get("provider") or {}).get("keyArn")}}
        for c in configs
    ]


def _logging(inputs: dict[str, Any]) -> dict[str, Any]:
    enabled = list(inputs.get("enabledClusterLogTypes") or [])
    unknown = sorted(set(enabled) - set(LOG_TYPES))
    if unknown:  # EKS refuses these (InvalidParameterException); moto would store them
        raise ValueError(f"unknown control-plane log types {unknown}; EKS has {list(LOG_TYPES)}")
    disabled = [t for t in LOG_TYPES if t not in enabled]
    return {
        "clusterLogging": [
            *([{"types": enabled, "enabled": True}] if enabled else []),
            *([{"types": disabled, "enabled": False}] if disabled else []),
        ]
    }


def _cluster_security_group(ctx: Ctx, cluster_name: str, subnet_ids: list[str]) -> tuple[str, str]:
    """The security group EKS creates for every cluster (control-plane ENIs and managed nodes), which moto
    does not create: ``eks-cluster-sg-<cluster>-<n>`` in the cluster's VPC, admitting itself, all egress open
    (EKS's rules). Returns ``(group id, vpc id)``."""
    ec2 = ctx.client("ec2")
    vpc_id = one(ec2.describe_subnets(SubnetIds=subnet_ids[:1])["Subnets"], f"subnet {subnet_ids[:1]}")["VpcId"]
    group_name = f"eks-cluster-sg-{cluster_name}-{int(_digest(cluster_name)[:8], 16) % 10**10}"
    group_id = ec2.create_security_group(
        GroupName=group_name,
        Description="EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
        "as well as any managed workloads.",
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [
                    {"Key": "Name", "Value": group_name},
                    {"Key": f"kubernetes.io/cluster/{cluster_name}", "Value": "owned"},
                ],
            }
        ],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]}]
    )
    return group_id, vpc_id


@resource("aws:eks/cluster:Cluster")
def cluster(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """The cluster, with moto's endpoint and certificate authority, and the state the program reads.

    moto keeps no access config and no upgrade policy (it ignores both parameters): they are sent, kept in the
    state, and noted. The cluster security group and the per-cluster OIDC issuer are EKS's (see above)."""
    eks = ctx.client("eks")
    cluster_name = physical_name(name, inputs, max_len=_CLUSTER_NAME_MAX)
    vpc_config = _vpc_config(inputs)
    if not vpc_config["subnetIds"]:
        raise ValueError("vpcConfig.subnetIds is required (EKS needs subnets in at least two AZs)")
    network = inputs.get("kubernetesNetworkConfig") or {}
    created = eks.create_cluster(
        **compact(
            name=cluster_name,
            version=inputs.get("version"),
            roleArn=inputs["roleArn"],
            resourcesVpcConfig=vpc_config,
            kubernetesNetworkConfig=compact(serviceIpv4Cidr=network.get("serviceIpv4Cidr"), ipFamily=network.get("ipFamily"))
            or None,
            logging=_logging(inputs),
            encryptionConfig=_encryption_config(inputs),
            accessConfig=compact(
                authenticationMode=(inputs.get("accessConfig") or {}).get("authenticationMode"),
                bootstrapClusterCreatorAdminPermissions=(inputs.get("accessConfig") or {}).get(
                    "bootstrapClusterCreatorAdminPermissions"
                ),
            )
            or None,
            upgradePolicy=compact(supportType=(inputs.get("upgradePolicy") or {}).get("supportType")) or None,
            tags=inputs.get("tags") or None,
        )
    )["cluster"]
    if inputs.get("accessConfig") or inputs.get("upgradePolicy"):
        ctx.note(
            f"EKS cluster {cluster_name}: moto keeps no access config (authentication mode) and no upgrade policy; "
            "both are in the state only"
        )
    group_id, vpc_id = _cluster_security_group(ctx, cluster_name, vpc_config["subnetIds"])
    issuer = issuer_for(ctx, cluster_name)
    ctx.note(
        f"EKS cluster {cluster_name}: OIDC issuer derived per cluster, as EKS does (moto's describe-cluster shows one "
        "issuer for every cluster of a server); the endpoint it reports has no Kubernetes API server behind it"
    )
    return Created(
        id=cluster_name,
        outputs={
            "name": cluster_name,
            "arn": created["arn"],
            "endpoint": created["endpoint"].rstrip("/"),  # EKS's endpoint has no trailing slash; moto's does
            "certificateAuthority": {"data": created["certificateAuthority"]["data"]},
            "identities": [{"oidcs": [{"issuer": issuer}]}],
            "version": created["version"],
            "platformVersion": created["platformVersion"],
            "status": created["status"],
            "createdAt": created["createdAt"].isoformat()
            if hasattr(created["createdAt"], "isoformat")
            else str(created["createdAt"]),
            "kubernetesNetworkConfig": {
                "serviceIpv4Cidr": created["kubernetesNetworkConfig"].get("serviceIpv4Cidr"),
                "ipFamily": network.get("ipFamily", "ipv4"),
            },
            "vpcConfig": {
                **{k: v for k, v in (inputs.get("vpcConfig") or {}).items()},
                "endpointPublicAccess": vpc_config["endpointPublicAccess"],
                "endpointPrivateAccess": vpc_config["endpointPrivateAccess"],
                # EKS reports 0.0.0.0/0 when a public endpoint names no CIDRs.
                "publicAccessCidrs": vpc_config.get("publicAccessCidrs")
                or (["0.0.0.0/0"] if vpc_config["endpointPublicAccess"] else []),
                "clusterSecurityGroupId": group_id,
                "vpcId": vpc_id,
            },
        },
        physical_name=cluster_name,
    )


_TAINT_EFFECTS = {"NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"}


def _taints(inputs: dict[str, Any]) -> list[dict[str, Any]] | None:
    taints = []
    for taint in inputs.get("taints") or []:
        if taint.get("effect") not in _TAINT_EFFECTS:  # EKS refuses Kubernetes' spelling (NoSchedule)
            raise ValueError(f"taint {taint}: effect must be one of {sorted(_TAINT_EFFECTS)}")
        taints.append(compact(key=taint["key"], value=taint.get("value"), effect=taint["effect"]))
    return taints or None


@resource("aws:eks/nodeGroup:NodeGroup")
def node_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A managed node group. moto starts no instances and creates no Auto Scaling group: the group's
    ``resources[0].autoscalingGroups[0].name`` is moto's (``eks-<uuid>``) and exists nowhere else, which is
    why target-group attachments to it are NOT EMULATED.

    A node group created without a version gets the cluster's on EKS; moto reports Kubernetes 1.19 for it.
    The engine sends the declared version, or else answers the cluster's (noted), never moto's 1.19."""
    eks = ctx.client("eks")
    group_name = physical_name(name, inputs, key="nodeGroupName", prefix_key="nodeGroupNamePrefix", max_len=_NODE_GROUP_NAME_MAX)
    scaling = inputs.get("scalingConfig") or {}
    for key in ("minSize", "maxSize", "desiredSize"):
        if key not in scaling:
            raise ValueError(f"scalingConfig.{key} is required")
    if not 0 <= scaling["minSize"] <= scaling["desiredSize"] <= scaling["maxSize"] or scaling["maxSize"] < 1:
        raise ValueError(f"scalingConfig {scaling}: EKS needs 0 <= minSize <= desiredSize <= maxSize and maxSize >= 1")
    template = inputs.get("launchTemplate")
    update = inputs.get("updateConfig") or {}
    created = eks.create_nodegroup(
        **compact(
            clusterName=inputs["clusterName"],
            nodegroupName=group_name,
            nodeRole=inputs["nodeRoleArn"],
            subnets=list(inputs["subnetIds"]),
            scalingConfig={k: scaling[k] for k in ("minSize", "maxSize", "desiredSize")},
            instanceTypes=list(inputs.get("instanceTypes") or []) or None,
            amiType=inputs.get("amiType"),
            capacityType=inputs.get("capacityType"),
            diskSize=inputs.get("diskSize"),
            labels=inputs.get("labels") or None,
            taints=_taints(inputs),
            launchTemplate=compact(id=template.get("id"), name=template.get("name"), version=template.get("version"))
            if template
            else None,
            updateConfig=compact(
                maxUnavailable=update.get("maxUnavailable"), maxUnavailablePercentage=update.get("maxUnavailablePercentage")
            )
            or None,
            version=inputs.get("version"),
            releaseVersion=inputs.get("releaseVersion"),
            tags=inputs.get("tags") or None,
        )
    )["nodegroup"]
    version = inputs.get("version")
    if not version:
        version = eks.describe_cluster(name=inputs["clusterName"])["cluster"]["version"]
        ctx.note(f"EKS node group {group_name}: Kubernetes {version}, the cluster's (moto reports {created['version']})")
    return Created(
        id=f"{inputs['clusterName']}:{group_name}",  # the provider's id: <cluster>:<node group>
        outputs={
            "nodeGroupName": group_name,
            "arn": created["nodegroupArn"],
            "status": created["status"],
            "version": version,
            "amiType": created["amiType"],
            "capacityType": created["capacityType"],
            "instanceTypes": created["instanceTypes"],
            "resources": [
                {
                    "autoscalingGroups": [{"name": g["name"]} for g in created["resources"]["autoScalingGroups"]],
                    "remoteAccessSecurityGroupId": "",
                }
            ],
        },
        physical_name=group_name,
    )
