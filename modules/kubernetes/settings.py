"""``strata:kubernetes``: the Kubernetes layer's settings (EKS, its node groups, Argo) and their checks.

Pure (the core and pydantic; no Pulumi). The layer is off unless a stack file turns it on: the EKS control
plane alone costs $73/month. A team's share of the cluster (namespace, quota, image) is in its team file
(``environments.<env>.kubernetes``, modules/team/settings.py); :func:`check_team_kubernetes` checks it
against these settings, :func:`check_namespaces` the teams against each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator

from core import naming
from core.issues import Issues
from core.settings import Model, check_log_retention, parse_network, principal_arns

# Kubernetes minors EKS supports, with the end of standard and of extended support (endoflife.date/amazon-eks,
# from the EKS release calendar: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
# Extended support costs $0.60/cluster-hour instead of $0.10: the cluster's upgrade policy is STANDARD, so
# EKS upgrades it at the end of standard support instead of billing extended support (README, "Upgrades").
EKS_VERSIONS: dict[str, tuple[str, str]] = {
    "1.32": ("2026-03-23", "2027-03-23"),
    "1.33": ("2026-07-29", "2027-07-29"),
    "1.34": ("2026-12-02", "2027-12-02"),
    "1.35": ("2027-03-27", "2028-03-27"),
}
# The cluster autoscaler's image per Kubernetes minor (one release line per minor, its README's rule).
CLUSTER_AUTOSCALER_IMAGES = {
    "1.32": "v1.32.1",
    "1.33": "v1.33.0",
    "1.34": "v1.34.0",
    "1.35": "v1.35.0",
}
# A team's default namespace memory quota per CPU core of its quota (the default team nodes' ratio, m6i: 4 GiB).
MEMORY_GIB_PER_VCPU = 4


class EndpointAccess(Model):
    """Who reaches the EKS API. Private (inside the VPC) by default: kubectl, `argo-workflows create` and
    `pulumi up` then run from the VPC or over a VPN (modules/kubernetes/README.md, "Reaching the API")."""

    # Also serve the API on a public endpoint, reachable from ``publicCidrs`` only.
    public: bool = False
    public_cidrs: tuple[str, ...] = ()


class SystemNodes(Model):
    """The node group that runs the platform's own pods (Argo, Argo Events, the autoscaler, CoreDNS)."""

    # Graviton: Argo, Argo Events, NATS and the autoscaler publish arm64 images.
    instance_type: str = "t4g.medium"
    min_size: int = Field(default=1, ge=1)
    max_size: int = Field(default=3, ge=1)
    disk_gib: int = Field(default=20, ge=20)


class TeamNodes(Model):
    """Each team's own CPU node group: labelled and tainted with the team's name, from zero nodes."""

    instance_type: str = "m6i.xlarge"
    max_size: int = Field(default=10, ge=1)
    disk_gib: int = Field(default=50, ge=20)


class GpuNodes(Model):
    """Each GPU-entitled team's GPU node group (the EKS NVIDIA AMI), from zero nodes."""

    enabled: bool = False
    instance_type: str = "g5.xlarge"
    max_size: int = Field(default=2, ge=1)
    disk_gib: int = Field(default=100, ge=20)


class KubernetesSettings(Model):
    """``strata:kubernetes``: EKS, Argo Workflows and Argo Events, and a namespace per team."""

    enabled: bool = False
    # The cluster's Kubernetes minor: one of EKS_VERSIONS.
    version: str = "1.35"
    endpoint: EndpointAccess = EndpointAccess()
    # IAM roles or users given cluster admin (access entries with AmazonEKSClusterAdminPolicy).
    admin_principals: tuple[str, ...] = ()
    system_nodes: SystemNodes = SystemNodes()
    team_nodes: TeamNodes = TeamNodes()
    gpu_nodes: GpuNodes = GpuNodes()
    # An internal network load balancer ($16.43/month) in front of the Argo server and each team's webhook, so that
    # browsers and laptops in the VPC reach them. Off: they answer inside the cluster only, and a data scientist
    # reaches the UI with `kubectl port-forward` through the API (modules/kubernetes/README.md).
    load_balancer: bool = False
    # Retention of the control plane's log group (every log type is on).
    log_retention_days: int = 30
    # The image Metaflow's Kubernetes pods run unless a team file names its own, and its registry
    # (METAFLOW_KUBERNETES_CONTAINER_REGISTRY). ECR Public mirrors Docker's official images without pull limits.
    container_registry: str = "public.ecr.aws/docker/library"
    container_image: str = "python:3.11-slim"

    @field_validator("admin_principals")
    @classmethod
    def _arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return principal_arns(value)


def check_kubernetes(k: KubernetesSettings, path: str, issues: Issues) -> None:
    """``strata:kubernetes`` rules the model cannot express."""
    key = "strata:kubernetes"
    if not k.enabled:
        return
    if k.version not in EKS_VERSIONS:
        issues.add(
            path,
            f"{key}.version",
            f"Kubernetes {k.version!r} is not a version EKS supports",
            f"use one of {', '.join(EKS_VERSIONS)} (their support dates are in modules/kubernetes/settings.py)",
        )
    if k.endpoint.public and not k.endpoint.public_cidrs:
        issues.add(
            path,
            f"{key}.endpoint.publicCidrs",
            "a public API endpoint without CIDRs would be open to the whole internet",
            "list the CIDRs that may reach it (e.g. your VPN's egress, 203.0.113.0/24), or set endpoint.public: false",
        )
    if k.endpoint.public_cidrs and not k.endpoint.public:
        issues.add(
            path,
            f"{key}.endpoint.publicCidrs",
            "CIDRs given but the endpoint is private: they would be ignored",
            "set endpoint.public: true, or remove publicCidrs",
        )
    for i, cidr in enumerate(k.endpoint.public_cidrs):
        net = parse_network(cidr, path, f"{key}.endpoint.publicCidrs[{i}]", issues, "203.0.113.0/24")
        if net is not None and net.prefixlen == 0:
            issues.add(path, f"{key}.endpoint.publicCidrs[{i}]", f"{cidr} is the whole internet", "list narrower CIDRs")
    if not k.admin_principals:
        issues.add(
            path,
            f"{key}.adminPrincipals",
            "no cluster admin: EKS gives the cluster's creator no implicit access (access entries, mode API), so "
            "`pulumi up` could not install the Helm releases or the team namespaces (Unauthorized)",
            "list the IAM role that runs `pulumi up` (and your platform admins), e.g. "
            '["arn:aws:iam::111111111111:role/ml-platform-admins"]',
        )
    if k.system_nodes.min_size > k.system_nodes.max_size:
        issues.add(path, f"{key}.systemNodes.minSize", "minSize is above maxSize", "make minSize <= maxSize")
    check_log_retention(k.log_retention_days, path, f"{key}.logRetentionDays", issues)


def check_team_kubernetes(
    k: KubernetesSettings, *, team: str, namespace: str, gpus: int, stack: str, path: str, key: str, issues: Issues
) -> None:
    """A team's share of the cluster (its team file's ``key``: ``environments.<stack>.kubernetes``)."""
    if why := naming.namespace_problem(namespace):
        fix = (
            f"set {key}.namespace to another name (e.g. {team}-ml)"
            if namespace == team
            else f"choose another {key}.namespace (e.g. {team}-ml)"
        )
        issues.add(path, f"{key}.namespace", f"team {team!r} would get namespace {namespace!r}: {why}", fix)
    if gpus > 0 and not k.gpu_nodes.enabled:
        issues.add(
            path,
            f"{key}.gpus",
            f"a GPU quota of {gpus}, but stack {stack!r} has no GPU node group",
            f"set gpus: 0 (or remove it), or set strata:kubernetes.gpuNodes.enabled: true in stacks/Pulumi.{stack}.yaml",
        )


def check_namespaces(namespaces: Mapping[str, str], paths: Mapping[str, str], issues: Issues) -> None:
    """No two teams share a namespace or a webhook port. ``namespaces``: team -> namespace; ``paths``: team -> file."""
    by_namespace: dict[str, str] = {}
    for team, ns in sorted(namespaces.items()):
        if ns in by_namespace:
            other = by_namespace[ns]
            issues.add(
                paths[team],
                "kubernetes.namespace",
                f"namespace {ns!r} is already team {other!r}'s ({paths[other]})",
                "give each team a namespace of its own",
            )
        by_namespace.setdefault(ns, team)
    by_port: dict[int, str] = {}
    for team in sorted(namespaces):
        port = naming.webhook_node_port(team)
        if port in by_port:
            issues.add(
                paths[team],
                "team",
                f"team {team!r}'s webhook port {port} collides with team {by_port[port]!r}'s",
                "this is a hash collision of the two names: rename one of the teams, or tell the platform team",
            )
        by_port.setdefault(port, team)


def default_quota(max_vcpus: int, cpu: int | None, memory_gib: int | None) -> tuple[int, int]:
    """A team's namespace quota (CPU cores, memory GiB) where its team file names none: its Batch cap."""
    c = cpu if cpu is not None else max_vcpus
    return c, memory_gib if memory_gib is not None else c * MEMORY_GIB_PER_VCPU
