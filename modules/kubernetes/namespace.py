"""Each team's namespace on the Kubernetes layer (:class:`TeamNamespace`): the objects ``manifests.team_objects``
describes, declared through the cluster's one provider as typed resources (``CustomResource`` for Argo Events'
kinds), the team's data scientists' access entry, and what their kubeconfig needs to find the cluster."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from core.settings import Team
from modules.base import Component, LayerArgs
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
                    self._child(provider=cluster.provider, depends_on=[*cluster.releases, *declared[:1]]),
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


# The typed class of every kind a team namespace holds; Argo Events' kinds are CustomResources.
_TYPED: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}
_CUSTOM = {("argoproj.io/v1alpha1", kind) for kind in ("EventBus", "EventSource", "Sensor")}


def declare_object(resource_name: str, obj: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """``obj`` (a full Kubernetes object) as its typed resource, or a ``CustomResource`` for Argo Events' kinds.
    Top-level fields become the class's arguments (``roleRef`` -> ``role_ref``); nested ones keep the API's names."""
    key = (obj["apiVersion"], obj["kind"])
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if key in _CUSTOM:
        extra = sorted(set(body) - {"metadata", "spec"})
        if extra:
            raise ValueError(f"{resource_name}: a {key[1]} takes metadata and spec only, not {extra}")
        return k8s.apiextensions.CustomResource(
            resource_name, api_version=key[0], kind=key[1], metadata=body.get("metadata"), spec=body.get("spec"), opts=opts
        )
    cls = _TYPED.get(key)
    if cls is None:
        raise ValueError(f"{resource_name}: no typed resource for {key[0]} {key[1]}; add it to _TYPED")
    return cls(resource_name, opts=opts, **{_snake(k): v for k, v in body.items()})


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
