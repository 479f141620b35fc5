"""Pure logic of the Kubernetes layer: IAM documents as dicts, the node-group plan and the cluster autoscaler's tags.

No Pulumi import: every function takes plain strings or frozen config objects and returns plain data, so it
is unit-tested without mocks and the component only turns Outputs into JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core import iam, naming
from core.iam import VERSION, PolicyDocument
from core.settings import Team
from modules.kubernetes.settings import KubernetesSettings

# ---------------------------------------------------------------- the control plane

EKS_SERVICE = "eks.amazonaws.com"
EC2_SERVICE = "ec2.amazonaws.com"

# Every control-plane log type EKS has. https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

# AWS-managed policies, by name; managed_policy_arn() adds the partition.
# https://docs.aws.amazon.com/eks/latest/userguide/cluster-iam-role.html
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
# https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html (the CNI policy on the node role: the
# VPC CNI's aws-node runs on the host network, where IMDS answers whatever the hop limit).
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")

# EKS access policies (not IAM policies): what an access entry may do in the cluster.
# https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html
CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"

# The cluster autoscaler's service account (the chart's rbac.serviceAccount.name) and where it runs.
AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"


def managed_policy_arn(partition: str, name: str) -> str:
    """ARN of an AWS-managed IAM policy in ``partition``."""
    return f"arn:{partition}:iam::aws:policy/{name}"


def access_policy_arn(partition: str, name: str) -> str:
    """ARN of an EKS access policy (``AmazonEKSClusterAdminPolicy``...) in ``partition``."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


def cluster_trust_policy() -> PolicyDocument:
    """The cluster role's trust: EKS assumes it, and tags the session (``sts:TagSession``, which EKS needs for
    features such as Auto Mode and that AWS's own role template grants). https://docs.aws.amazon.com/eks/latest/userguide/cluster-iam-role.html"""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": EKS_SERVICE}, "Action": ["sts:AssumeRole", "sts:TagSession"]}],
    }


def cluster_encryption_policy(kms_key_arn: str) -> PolicyDocument:
    """The cluster role's use of the platform key for envelope encryption of Secrets, on that key only (its key
    policy delegates to IAM). https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html"""
    iam.require_arn("kms_key_arn", kms_key_arn)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "SecretsEnvelopeEncryption",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": kms_key_arn,
            }
        ],
    }


def node_trust_policy() -> PolicyDocument:
    """The node role's trust: EC2 (the nodes' instance profile, which EKS creates for managed node groups)."""
    return iam.service_trust_policy(EC2_SERVICE)


# ---------------------------------------------------------------- the cluster autoscaler


def autoscaler_discovery_tags(cluster: str) -> dict[str, str]:
    """The tags the autoscaler discovers its groups by (``--node-group-auto-discovery=asg:tag=...``); EKS puts
    the same two on the Auto Scaling group of every managed node group.
    https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md"""
    iam.concrete("cluster", cluster)
    return {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster}": "owned"}


def autoscaler_trust_policy(provider_arn: str, issuer: str) -> PolicyDocument:
    """IRSA: only the autoscaler's own service account (``kube-system:cluster-autoscaler``) may assume the role."""
    return {
        "Version": VERSION,
        "Statement": [iam.web_identity_statement(provider_arn, issuer, AUTOSCALER_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT)],
    }


def autoscaler_policy(cluster: str, partition: str, region: str, account_id: str) -> PolicyDocument:
    """What the autoscaler does: read groups, instance types and launch templates anywhere (the Describe
    calls take no resource), read this cluster's node groups (labels and taints of a group at zero nodes),
    and resize or shrink only the Auto Scaling groups tagged as this cluster's (``...<cluster>=owned``).
    https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md#iam-policy"""
    iam.concrete("cluster", cluster)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "Describe",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "DescribeOwnNodeGroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster}/*/*",
            },
            {
                "Sid": "ScaleOwnGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}},
            },
        ],
    }


def describe_cluster_policy(cluster_arn: str) -> PolicyDocument:
    """A team's data scientists may read this one cluster's endpoint and CA certificate (their kubeconfig)."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "ReadClusterEndpoint", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn}
        ],
    }


# ---------------------------------------------------------------- node groups

# EKS AMI types (https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html#AmazonEKS-Type-Nodegroup-amiType).
AMI_X86 = "AL2023_x86_64_STANDARD"
AMI_ARM = "AL2023_ARM_64_STANDARD"
AMI_GPU = "AL2023_x86_64_NVIDIA"
# Graviton families: a "g" right after the generation (t4g, m7g, c7gn, r8gd); g5 (a GPU family) is not one.
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")
GPU_TAINT_KEY = naming.GPU_RESOURCE


def ami_type(instance_type: str) -> str:
    """The EKS AL2023 AMI for a CPU instance type: Arm for Graviton, x86 otherwise."""
    return AMI_ARM if _GRAVITON.match(instance_type) else AMI_X86


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str = "NoSchedule"  # Kubernetes' spelling; eks_effect() gives the EKS API's

    @property
    def eks_effect(self) -> str:
        """``NoSchedule`` -> ``NO_SCHEDULE`` (the EKS API's enum)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.effect).upper()


@dataclass(frozen=True)
class NodeGroupPlan:
    """One managed node group before networking and roles are attached."""

    part: str  # naming.node_group(env, part): system, <team>, <team>-gpu
    instance_type: str
    ami_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_gib: int
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[Taint] = ()
    team: Team | None = None  # the team whose nodes these are; None for the system group

    @property
    def gpu(self) -> bool:
        return self.ami_type == AMI_GPU


def node_group_plans(
    settings: KubernetesSettings, teams: Sequence[Team], system_labels: Mapping[str, str]
) -> list[NodeGroupPlan]:
    """The system group (untainted: the platform's pods select it by ``system_labels``), then per team with a
    namespace a CPU group and, where the team has a GPU quota and the stack GPU nodes, a GPU group; every team
    group starts at zero nodes, labelled and tainted with the team, so only the team's pods land there."""
    s = settings.system_nodes
    plans = [
        NodeGroupPlan(
            part="system",
            instance_type=s.instance_type,
            ami_type=ami_type(s.instance_type),
            min_size=s.min_size,
            desired_size=s.min_size,
            max_size=s.max_size,
            disk_gib=s.disk_gib,
            labels=dict(system_labels),
        )
    ]
    for team in teams:
        if team.kubernetes is None:
            continue
        team_label = {naming.TEAM_LABEL: team.name}
        team_taint = Taint(naming.TEAM_LABEL, team.name)
        t = settings.team_nodes
        plans.append(
            NodeGroupPlan(
                part=team.name,
                instance_type=t.instance_type,
                ami_type=ami_type(t.instance_type),
                min_size=0,
                desired_size=0,
                max_size=t.max_size,
                disk_gib=t.disk_gib,
                labels=team_label,
                taints=(team_taint,),
                team=team,
            )
        )
        g = settings.gpu_nodes
        if team.kubernetes.gpus > 0 and g.enabled:
            if ami_type(g.instance_type) != AMI_X86:
                raise ValueError(f"GPU node instance type {g.instance_type!r} is Arm: the EKS NVIDIA AMI is x86_64 only")
            plans.append(
                NodeGroupPlan(
                    part=f"{team.name}-gpu",
                    instance_type=g.instance_type,
                    ami_type=AMI_GPU,
                    min_size=0,
                    desired_size=0,
                    max_size=g.max_size,
                    disk_gib=g.disk_gib,
                    labels=team_label,
                    taints=(team_taint, Taint(GPU_TAINT_KEY, "true")),
                    team=team,
                )
            )
    return plans


def node_template_tags(plan: NodeGroupPlan) -> dict[str, str]:
    """The autoscaler's scale-from-zero hints: the labels and taints a group's nodes will have.
    https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md#auto-discovery-setup"""
    tags = {f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in plan.labels.items()}
    for t in plan.taints:
        tags[f"k8s.io/cluster-autoscaler/node-template/taint/{t.key}"] = f"{t.value}:{t.effect}"
    return tags
