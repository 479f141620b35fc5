"""Each team's namespace on the Kubernetes layer (:class:`TeamNamespace`): the objects ``manifests.team_objects``
describes, declared through the cluster's one provider as typed resources (``CustomResource`` for Argo Events'
kinds), the team's data scientists' access entry, and what their kubeconfig needs to find the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core.settings import Team
from modules.base import Component, LayerArgs
from modules.base.objects import declare_object
from modules.kubernetes import manifests, policies
from modules.kubernetes.component import Cluster, team_kubernetes


@dataclass
class TeamNamespaceArgs(LayerArgs):
    """Inputs of :class:`TeamNamespace`; ``tags`` go on the team's access entry (with its ``team`` and ``cost-center``)."""

    team: Team
    """The team; its ``kubernetes`` (namespace, quota) must be set."""
    cluster: Cluster
    job_role_arn: pulumi.Input[str]
    """The team's job role: its pods' service account assumes it through IRSA."""
    data_scientist_role_arn: pulumi.Input[str]
    """Mapped to the team's Kubernetes group, which only the team namespace's RoleBinding names."""
    data_scientist_role_name: pulumi.Input[str]
    """Given ``eks:DescribeCluster`` on this cluster: `strata configure` reads its endpoint and CA from EKS."""
    bucket_name: pulumi.Input[str]
    region: str
    vpc_cidr: str


class TeamNamespace(Component):
    """A team's namespace and everything in it (``manifests.team_objects``, through the cluster's provider), and
    its data scientists' access entry: their role maps to the team's group and nothing cluster-wide."""

    namespace: str

    def __init__(self, name: str, args: TeamNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:kubernetes:TeamNamespace", name, None, opts)
        team, cluster = args.team, args.cluster
        k = team_kubernetes(team)
        spec = manifests.TeamSpec(
            environment=args.environment,
            team=team.name,
            namespace=k.namespace,
            cpu=k.cpu,
            memory_gib=k.memory_gib,
            gpus=k.gpus,
            job_role_arn=args.job_role_arn,
            bucket_name=args.bucket_name,
            region=args.region,
            vpc_cidr=args.vpc_cidr,
            load_balancer=cluster.load_balancer,
        )
        objects = manifests.team_objects(spec)
        if not objects or objects[0].get("kind") != "Namespace":
            raise ValueError(f"TeamNamespace {name!r}: manifests.team_objects must start with the Namespace")
        declared: list[pulumi.Resource] = []
        for obj in objects:
            kind, object_name = obj["kind"], obj["metadata"]["name"]
            declared.append(
                declare_object(
                    f"{name}-{kind.lower()}-{object_name}",
                    obj,
                    # Argo Events' CRDs come with its release; every object lands in the namespace (the first).
                    self._child(
                        provider=cluster.provider, depends_on=[*cluster.releases, *cluster.cluster_objects, *declared[:1]]
                    ),
                )
            )
        aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=cluster.cluster_name,
            principal_arn=args.data_scientist_role_arn,
            type="STANDARD",
            # No access policy: the group is named only by the team namespace's RoleBinding.
            kubernetes_groups=[manifests.data_scientist_group(team.name)],
            tags=dict(args.tags),
            opts=self._child(),
        )
        # The profile names the cluster only (its CA would not fit a Standard SSM parameter): the team's data
        # scientists read the endpoint and CA as `aws eks update-kubeconfig` does. Nothing else on the cluster.
        aws.iam.RolePolicy(
            f"{name}-describe-cluster",
            role=args.data_scientist_role_name,
            name="eks-describe-cluster",
            policy=cluster.cluster_arn.apply(lambda arn: json.dumps(policies.describe_cluster_policy(arn))),
            opts=self._child(),
        )
        self.namespace = k.namespace
        self.register_outputs({"namespace": self.namespace})
