"""The Kubernetes layer: one EKS cluster per environment with its nodes, Argo Workflows, Argo Events and the cluster
autoscaler (:class:`Cluster`), and each team's namespace with everything in it (:class:`TeamNamespace`).

Every Kubernetes object goes through the cluster's one ``kubernetes.Provider`` and is a typed resource or a
``CustomResource`` (never ``helm.v4.Chart`` / ``yaml.v2.ConfigGroup``, which arrive as one opaque resource, nor
``helm.v3.Chart``, which needs the helm binary): what the objects are is ``manifests.py``'s, pure and validated.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from core import charts, naming
from core.settings import Team
from modules.base import Component, LayerArgs, LogKeyArgs, ProtectArgs
from modules.base.objects import declare_object
from modules.kubernetes import manifests, policies
from modules.kubernetes.settings import CLUSTER_AUTOSCALER_IMAGES, EKS_VERSIONS, KubernetesSettings

# The IMDSv2 token (PUT) response's IP TTL. A pod on the VPC CNI is one hop further than the node, so at 1 no
# pod gets a token and none can read the node role's credentials: pods get AWS credentials through IRSA only.
# Host-network pods (aws-node, kube-proxy) reach IMDS as the node does.
# https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html#_restrict_access_to_the_instance_profile_assigned_to_the_worker_node
IMDS_HOP_LIMIT = 1
# Root device of the EKS AL2023 AMIs (standard, Arm and NVIDIA).
ROOT_DEVICE = "/dev/xvda"
# The add-ons EKS manages for us (versions: EKS's default for the cluster's Kubernetes version).
ADDONS = ("vpc-cni", "kube-proxy", "coredns")
# The VPC CNI's network policy agent enforces the teams' NetworkPolicies (off unless asked for).
# https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
ADDON_CONFIGURATION = {"vpc-cni": json.dumps({"enableNetworkPolicy": "true"})}
# The client-go exec credential API `aws eks get-token` answers (what `aws eks update-kubeconfig` writes).
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


@dataclass
class ClusterArgs(LayerArgs, ProtectArgs, LogKeyArgs):
    """Inputs of :class:`Cluster`. ``protect`` covers the EKS cluster (its etcd holds every workflow and its
    history: EKS keeps no backup we could restore). ``log_kms_key_arn`` encrypts the control plane's log group."""

    settings: KubernetesSettings
    """``strata:kubernetes``: version, endpoint access, admin principals, node groups, log retention."""
    teams: Sequence[Team]
    """Teams of this environment; each with ``kubernetes`` (its namespace and quota) gets its own node groups,
    a webhook port on the internal load balancer and its URLs."""
    region: str
    """Where the cluster is: the kubeconfig's ``aws eks get-token --region`` and the Helm values."""
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    """The only source the internal load balancer and the nodes' NodePorts admit."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (at least two AZs): the control plane's ENIs, the nodes and the load balancer."""
    kms_key_arn: pulumi.Input[str]
    """The platform (datastore) key: envelope encryption of the cluster's Secrets."""
    bucket_name: pulumi.Input[str]
    """The datastore: Argo's default artifact repository."""


class Cluster(Component):
    """One EKS cluster: control plane (logs, secrets encryption, access entries, IRSA), managed node groups that
    scale from zero, EKS add-ons, the cluster autoscaler, Argo Workflows and Argo Events, and the internal
    network load balancer in front of the Argo server and each team's webhook."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    """The cluster's certificate authority (base64 PEM): public, not a secret."""
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    """The issuer URL as EKS reports it (``https://oidc.eks.<region>.amazonaws.com/id/<id>``)."""
    provider: k8s.Provider
    """The one Kubernetes provider: every Kubernetes object and Helm release of the layer goes through it."""
    releases: list[k8s.helm.v3.Release]
    cluster_objects: list[pulumi.CustomResource]
    """The admission policy (and binding) that keeps each team's pods on its own nodes; team objects wait for it."""
    """argo-workflows, argo-events, cluster-autoscaler: team objects depend on them (Argo Events' CRDs)."""
    ui_url: pulumi.Output[str]
    """``https://<internal nlb>:2746``: the Argo server (client auth: a bearer token from ``aws eks get-token``)."""
    webhook_urls: dict[str, pulumi.Output[str]]
    """team -> ``http://<internal nlb>:<naming.webhook_node_port(team)>/metaflow-event`` (from the VPC)."""
    internal_webhook_urls: dict[str, str]
    load_balancer: bool
    """``strata:kubernetes.loadBalancer``: the Argo server and the webhooks also answer on the internal NLB."""
    """team -> the same webhook from inside the cluster (``manifests.internal_webhook_url``)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:kubernetes:Cluster", name, None, opts)
        s = args.settings
        if s.version not in EKS_VERSIONS:
            raise ValueError(f"Cluster {name!r}: Kubernetes {s.version!r} is not one of {', '.join(EKS_VERSIONS)}")
        if s.endpoint.public and not s.endpoint.public_cidrs:
            raise ValueError(f"Cluster {name!r}: a public endpoint needs publicCidrs")
        team_names = [t.name for t in args.teams]
        if len(set(team_names)) != len(team_names):
            raise ValueError(f"Cluster {name!r}: duplicate team names in {team_names}")
        self._name = name
        self.load_balancer = s.load_balancer
        self._args = args
        self._tags = dict(args.tags)
        self._env = args.environment
        k8s_teams = [t for t in args.teams if t.kubernetes is not None]

        cluster = self._cluster()
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint.apply(lambda v: _required(v, "an endpoint"))
        self.ca_data = cluster.certificate_authority.apply(
            lambda ca: _required(ca.data if ca else None, "a certificate authority")
        )
        self.oidc_issuer = cluster.identities.apply(_issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer,
            # STS is the audience of every IRSA token. No thumbprint: IAM trusts EKS's OIDC issuers through its
            # own root CAs (pulumi-aws 7 makes thumbprint_list optional).
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
            client_id_lists=["sts.amazonaws.com"],
            tags=self._tags,
            opts=self._child(),
        )
        self.oidc_provider_arn = oidc.arn
        cluster_sg = cluster.vpc_config.apply(
            lambda v: _required(v.cluster_security_group_id if v else None, "a cluster security group")
        )
        # The private endpoint's ENIs carry the cluster security group, which admits only itself (the nodes): the
        # VPC's own clients (a VPN, a runner running `pulumi up`) reach the API on 443.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-vpc",
            security_group_id=cluster_sg,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=args.vpc_cidr,
            description="the Kubernetes API (private endpoint) from the VPC",
            tags=self._tags,
            opts=self._child(),
        )

        admins = self._admin_access(cluster)
        node_groups = self._node_groups(cluster, cluster_sg)
        system = node_groups["system"]
        addons = {
            addon: aws.eks.Addon(
                f"{name}-addon-{addon}",
                cluster_name=cluster.name,
                addon_name=addon,
                configuration_values=ADDON_CONFIGURATION.get(addon),
                # Adopt the self-managed copy EKS installs with every cluster; keep local edits on updates.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=self._tags,
                # CoreDNS is a Deployment: it waits for nodes (the system group) to become healthy.
                opts=self._child(depends_on=[system] if addon == "coredns" else []),
            )
            for addon in ADDONS
        }

        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.all(cluster.name, self.endpoint, self.ca_data).apply(
                lambda v: json.dumps(kubeconfig(v[0], v[1], v[2], args.region))
            ),
            # Replace the provider (and so every object) only when the cluster itself is another one,
            # not when its endpoint or certificate authority is rotated.
            cluster_identifier=cluster.name,
            enable_server_side_apply=True,
            opts=self._child(),
        )
        # Releases wait for the nodes and DNS they run on, and for the admin access entries: the deployer reaches
        # the API as one of the admin principals (the cluster creator gets no implicit admin access).
        platform_ready: list[pulumi.Resource] = [system, addons["coredns"], *admins]
        self.releases = self._releases(cluster, oidc, platform_ready)
        # Cluster-wide objects of the platform's own (manifests.cluster_objects): the admission policy that keeps
        # each team's pods on its own nodes. Declared before any team namespace exists.
        self.cluster_objects = [
            declare_object(
                f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}",
                obj,
                self._child(provider=self.provider, depends_on=admins),
            )
            for obj in manifests.cluster_objects()
        ]

        self.internal_webhook_urls = {t.name: manifests.internal_webhook_url(team_kubernetes(t).namespace) for t in k8s_teams}
        if s.load_balancer:
            dns_name = self._load_balancer(cluster_sg, system, k8s_teams)
            self.ui_url = dns_name.apply(lambda d: f"https://{d}:{naming.ARGO_SERVER_PORT}")
            self.webhook_urls = {t.name: dns_name.apply(functools.partial(webhook_url, team=t.name)) for t in k8s_teams}
        else:
            # No load balancer ($16.43/month): the Argo server and the webhooks answer inside the cluster, and from
            # a laptop through `kubectl port-forward` (modules/kubernetes/README.md, "Reaching the API").
            self.ui_url = pulumi.Output.from_input(manifests.internal_ui_url())
            self.webhook_urls = {t.name: pulumi.Output.from_input(self.internal_webhook_urls[t.name]) for t in k8s_teams}

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "ca_data": self.ca_data,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer": self.oidc_issuer,
                "ui_url": self.ui_url,
                "webhook_urls": self.webhook_urls,
                "internal_webhook_urls": self.internal_webhook_urls,
            }
        )

    # ------------------------------------------------------------ control plane

    def _role(
        self, part: str, trust: policies.PolicyDocument, managed: Sequence[str], what: str
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """An IAM role named ``naming.eks_role(env, part)`` with AWS-managed policies attached."""
        role = aws.iam.Role(
            f"{self._name}-{part}",
            name=naming.eks_role(self._env, part),
            assume_role_policy=json.dumps(trust),
            description=f"Strata {self._env} EKS: {what}",
            tags=self._tags,
            opts=self._child(),
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{part}-{policy}",
                role=role.name,
                policy_arn=self._aws.partition.apply(functools.partial(policies.managed_policy_arn, name=policy)),
                opts=self._child(),
            )
            for policy in managed
        ]
        return role, attachments

    def _cluster(self) -> aws.eks.Cluster:
        """The control plane. Its log group exists first (EKS would create it without retention or key)."""
        n, a, s = self._name, self._args, self._args.settings
        log_group = aws.cloudwatch.LogGroup(
            f"{n}-control-plane-logs",
            name=naming.eks_log_group(self._env),
            retention_in_days=s.log_retention_days,
            kms_key_id=a.log_kms_key_arn,
            tags=self._tags,
            opts=self._child(),
        )
        role, attachments = self._role("cluster", policies.cluster_trust_policy(), policies.CLUSTER_POLICIES, "control plane")
        # Envelope encryption of Secrets: the control plane uses the platform key as this role (the key policy
        # delegates to IAM). https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html
        encryption = aws.iam.RolePolicy(
            f"{n}-cluster-secrets-key",
            role=role.id,
            name="secrets-encryption",
            policy=pulumi.Output.from_input(a.kms_key_arn).apply(lambda k: json.dumps(policies.cluster_encryption_policy(k))),
            opts=self._child(),
        )
        public = s.endpoint.public
        vpc_config: aws.eks.ClusterVpcConfigArgsDict = {
            "subnet_ids": a.subnet_ids,
            # Private by default: the API answers inside the VPC only (laptops and `pulumi up` come in over a
            # VPN or run in the VPC: modules/kubernetes/README.md). Public only for the CIDRs the stack names.
            "endpoint_private_access": True,
            "endpoint_public_access": public,
        }
        if public:
            vpc_config["public_access_cidrs"] = list(s.endpoint.public_cidrs)
        return aws.eks.Cluster(
            f"{n}-cluster",
            name=naming.eks_cluster(self._env),
            version=s.version,
            role_arn=role.arn,
            vpc_config=vpc_config,
            encryption_config={"provider": {"key_arn": a.kms_key_arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(policies.CONTROL_PLANE_LOG_TYPES),
            # Access entries only (no aws-auth ConfigMap), and no implicit admin for whoever created the cluster:
            # admins are the stack's adminPrincipals, each an access entry with the cluster admin policy.
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            # At the end of standard support EKS upgrades the cluster instead of billing extended support
            # ($0.60 instead of $0.10 per cluster-hour).
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=a.protect,
            tags=self._tags,
            opts=self._stateful(a.protect, depends_on=[log_group, encryption, *attachments]),
        )

    def _admin_access(self, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
        """Each admin principal: an access entry and the cluster admin access policy, cluster-wide."""
        done: list[pulumi.Resource] = []
        for principal in self._args.settings.admin_principals:
            suffix = _principal_slug(principal)
            entry = aws.eks.AccessEntry(
                f"{self._name}-admin-{suffix}",
                cluster_name=cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=self._tags,
                opts=self._child(),
            )
            done.append(
                aws.eks.AccessPolicyAssociation(
                    f"{self._name}-admin-{suffix}",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=self._aws.partition.apply(
                        lambda p: policies.access_policy_arn(p, policies.CLUSTER_ADMIN_ACCESS_POLICY)
                    ),
                    access_scope={"type": "cluster"},
                    opts=self._child(depends_on=[entry]),
                )
            )
        return done

    # ------------------------------------------------------------ nodes

    def _node_groups(self, cluster: aws.eks.Cluster, cluster_sg: pulumi.Output[str]) -> dict[str, aws.eks.NodeGroup]:
        """The node role and every managed node group
        (``policies.node_group_plans``), each with its own launch template. EKS creates the node role's access
        entry (type EC2_LINUX) for managed node groups itself."""
        n, a = self._name, self._args
        role, attachments = self._role("nodes", policies.node_trust_policy(), policies.NODE_POLICIES, "managed node groups")
        groups = {}
        cluster_name = naming.eks_cluster(self._env)
        for plan in policies.node_group_plans(a.settings, a.teams, manifests.SYSTEM_POOL_LABEL):
            tags = (
                self._tags if plan.team is None else {**self._tags, "team": plan.team.name, "cost-center": plan.team.cost_center}
            )
            template = self._launch_template(plan, cluster_sg, tags)
            groups[plan.part] = aws.eks.NodeGroup(
                f"{n}-{plan.part}",
                cluster_name=cluster.name,
                node_group_name=naming.node_group(self._env, plan.part),
                node_role_arn=role.arn,
                # Nodes follow the control plane's minor: a version bump rolls them (max_unavailable at a time).
                version=a.settings.version,
                subnet_ids=a.subnet_ids,
                instance_types=[plan.instance_type],
                ami_type=plan.ami_type,
                capacity_type="ON_DEMAND",
                scaling_config={"min_size": plan.min_size, "desired_size": plan.desired_size, "max_size": plan.max_size},
                labels=dict(plan.labels),
                taints=[{"key": t.key, "value": t.value, "effect": t.eks_effect} for t in plan.taints],
                launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                update_config={"max_unavailable": 1},
                # The autoscaler's discovery tags (EKS puts them on the group's Auto Scaling group too) and its
                # scale-from-zero hints; the autoscaler also reads a group's labels and taints from EKS.
                tags={**tags, **policies.autoscaler_discovery_tags(cluster_name), **policies.node_template_tags(plan)},
                # The autoscaler owns the desired size: the program must not reset it on every update.
                opts=self._child(depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]),
            )
        return groups

    def _launch_template(
        self, plan: policies.NodeGroupPlan, cluster_sg: pulumi.Output[str], tags: Mapping[str, str]
    ) -> aws.ec2.LaunchTemplate:
        """IMDSv2 only with hop limit 1, no public IP, an encrypted gp3 root volume, the group's tags on its
        instances and volumes. No AMI and no instance type: EKS takes them from the node group."""
        return aws.ec2.LaunchTemplate(
            f"{self._name}-{plan.part}-launch-template",
            description=f"Strata {self._env} EKS nodes {plan.part}: IMDSv2 only (hop limit 1), no public IP, encrypted gp3 root",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": IMDS_HOP_LIMIT,
                "instance_metadata_tags": "disabled",
            },
            # A launch template that names security groups replaces EKS's default (the cluster security group),
            # so it names that group itself. https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html
            network_interfaces=[
                {
                    "device_index": 0,
                    "associate_public_ip_address": "false",
                    "delete_on_termination": "true",
                    "security_groups": [cluster_sg],
                }
            ],
            block_device_mappings=[
                {
                    "device_name": ROOT_DEVICE,
                    "ebs": {
                        "volume_size": plan.disk_gib,
                        "volume_type": "gp3",
                        # The account's EBS key: a customer key would need a grant for the Auto Scaling
                        # service-linked role that launches the nodes.
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": dict(tags)},
                {"resource_type": "volume", "tags": dict(tags)},
            ],
            tags=dict(tags),
            opts=self._child(),
        )

    # ------------------------------------------------------------ Helm releases

    def _releases(
        self, cluster: aws.eks.Cluster, oidc: aws.iam.OpenIdConnectProvider, ready: list[pulumi.Resource]
    ) -> list[k8s.helm.v3.Release]:
        """Argo Workflows, Argo Events and the cluster autoscaler (with its IRSA role): pinned in core/charts.py."""
        n, a, s = self._name, self._args, self._args.settings
        role = aws.iam.Role(
            f"{n}-autoscaler",
            name=naming.eks_role(self._env, "autoscaler"),
            assume_role_policy=pulumi.Output.all(oidc.arn, self.oidc_issuer).apply(
                lambda v: json.dumps(policies.autoscaler_trust_policy(v[0], v[1]))
            ),
            description=f"Strata {self._env} EKS: the cluster autoscaler (IRSA, kube-system:cluster-autoscaler)",
            tags=self._tags,
            opts=self._child(),
        )
        role_policy = aws.iam.RolePolicy(
            f"{n}-autoscaler",
            role=role.id,
            name="cluster-autoscaler",
            policy=pulumi.Output.all(cluster.name, self._aws.where).apply(
                lambda v: json.dumps(policies.autoscaler_policy(v[0], v[1]["partition"], v[1]["region"], v[1]["account_id"]))
            ),
            opts=self._child(),
        )

        def release(
            chart: charts.Chart, namespace: str, values: Mapping[str, Any], depends: Sequence[pulumi.Resource] = ()
        ) -> k8s.helm.v3.Release:
            return k8s.helm.v3.Release(
                f"{n}-{chart.name}",
                name=chart.name,
                chart=chart.name,
                version=chart.version,
                repository_opts={"repo": chart.repository_url},
                namespace=namespace,
                create_namespace=namespace != policies.AUTOSCALER_NAMESPACE,
                values=dict(values),
                opts=self._child(provider=self.provider, depends_on=[*ready, *depends]),
            )

        return [
            release(
                charts.ARGO_WORKFLOWS,
                naming.ARGO_NAMESPACE,
                manifests.argo_workflows_values(
                    environment=self._env, region=a.region, bucket_name=a.bucket_name, load_balancer=s.load_balancer
                ),
            ),
            release(charts.ARGO_EVENTS, naming.ARGO_EVENTS_NAMESPACE, manifests.argo_events_values()),
            release(
                charts.CLUSTER_AUTOSCALER,
                policies.AUTOSCALER_NAMESPACE,
                manifests.cluster_autoscaler_values(
                    cluster_name=cluster.name, region=a.region, role_arn=role.arn, image_tag=CLUSTER_AUTOSCALER_IMAGES[s.version]
                ),
                depends=[role_policy],
            ),
        ]

    # ------------------------------------------------------------ internal load balancer

    def _load_balancer(
        self, cluster_sg: pulumi.Output[str], system: aws.eks.NodeGroup, teams: Sequence[Team]
    ) -> pulumi.Output[str]:
        """An internal NLB in the private subnets, admitting the VPC only: TCP 2746 to the Argo server's NodePort
        and one port per team to the team's webhook NodePort. Targets are the system nodes (a NodePort answers
        on every node, and the system group never scales to zero). Returns the NLB's DNS name."""
        n, a = self._name, self._args
        # The load balancer forwards to NodePorts (and its health checks probe them): from the VPC only.
        aws.vpc.SecurityGroupIngressRule(
            f"{n}-nodeports-from-vpc",
            security_group_id=cluster_sg,
            ip_protocol="tcp",
            from_port=naming.NODE_PORT_MIN,
            to_port=naming.NODE_PORT_MAX,
            cidr_ipv4=a.vpc_cidr,
            description="NodePorts (Argo server, team webhooks) from the VPC: the internal load balancer",
            tags=self._tags,
            opts=self._child(),
        )
        sg = aws.ec2.SecurityGroup(
            f"{n}-nlb-sg",
            vpc_id=a.vpc_id,
            description=f"Strata {self._env} EKS internal load balancer: Argo server and team webhooks, from the VPC only",
            tags=self._tags,
            opts=self._child(),
        )
        ports = {"argo": naming.ARGO_SERVER_PORT, **{t.name: naming.webhook_node_port(t.name) for t in teams}}
        for owner, port in ports.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{n}-nlb-{owner}-from-vpc",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=a.vpc_cidr,
                description="Argo server from the VPC" if owner == "argo" else f"team {owner}'s Argo Events webhook from the VPC",
                tags=self._tags,
                opts=self._child(),
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-nlb-to-nodeports",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=naming.NODE_PORT_MIN,
            to_port=naming.NODE_PORT_MAX,
            cidr_ipv4=a.vpc_cidr,
            description="to the nodes' NodePorts (targets and health checks)",
            tags=self._tags,
            opts=self._child(),
        )
        nlb = aws.lb.LoadBalancer(
            f"{n}-nlb",
            name=load_balancer_name(self._env),
            load_balancer_type="network",
            internal=True,
            subnets=a.subnet_ids,
            security_groups=[sg.id],
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=a.protect,
            tags=self._tags,
            opts=self._child(),
        )
        asg = system.resources.apply(_autoscaling_group)
        for owner, port in ports.items():
            node_port = naming.ARGO_SERVER_NODE_PORT if owner == "argo" else port
            suffix = "argo" if owner == "argo" else f"{owner}-webhook"
            target_group = aws.lb.TargetGroup(
                f"{n}-{suffix}",
                name=target_group_name(self._env, node_port),
                target_type="instance",
                protocol="TCP",
                port=node_port,
                vpc_id=a.vpc_id,
                deregistration_delay=30,
                health_check={
                    "protocol": "TCP",
                    "port": "traffic-port",
                    "interval": 30,
                    "healthy_threshold": 3,
                    "unhealthy_threshold": 3,
                },
                tags=self._tags,
                opts=self._child(),
            )
            aws.lb.Listener(
                f"{n}-{suffix}",
                load_balancer_arn=nlb.arn,
                port=port,
                protocol="TCP",
                default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
                tags=self._tags,
                opts=self._child(),
            )
            aws.autoscaling.Attachment(
                f"{n}-{suffix}",
                autoscaling_group_name=asg,
                lb_target_group_arn=target_group.arn,
                opts=self._child(),
            )
        return nlb.dns_name.apply(lambda d: _required(d, "a load balancer DNS name"))


# ---------------------------------------------------------------- pure helpers


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    """The provider's kubeconfig: the caller's own AWS identity through ``aws eks get-token`` (what
    ``aws eks update-kubeconfig`` writes); no token or key is stored."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                    }
                },
            }
        ],
    }


def webhook_url(dns_name: str, team: str) -> str:
    """A team's webhook on the internal load balancer: its own port, Metaflow's endpoint."""
    return f"http://{dns_name}:{naming.webhook_node_port(team)}{naming.WEBHOOK_ENDPOINT}"


def load_balancer_name(env: str) -> str:
    """The internal NLB (at most 32 characters: ``strata-`` + an environment of at most 12 + ``-eks``)."""
    return f"strata-{env}-eks"


def target_group_name(env: str, node_port: int) -> str:
    """A target group, named by the NodePort it forwards to (unique per cluster; 32 characters at most)."""
    return f"strata-{env}-eks-{node_port}"


def team_kubernetes(team: Team) -> Any:
    if team.kubernetes is None:
        raise ValueError(f"team {team.name!r} has no Kubernetes settings (environments.<env>.kubernetes)")
    return team.kubernetes


def _principal_slug(arn: str) -> str:
    """A stable logical-name part for an IAM principal: its name and a short hash of the whole ARN."""
    tail = re.sub(r"[^A-Za-z0-9-]", "-", arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1])
    return f"{tail}-{hashlib.sha256(arn.encode()).hexdigest()[:8]}"


def _required(value: str | None, what: str) -> str:
    """A value AWS always reports once the resource exists."""
    if value:
        return value
    raise ValueError(f"the EKS layer: AWS reported no {what}")


def _issuer(identities: Sequence[Any] | None) -> str:
    for identity in identities or []:
        for oidc in identity.oidcs or []:
            if oidc.issuer:
                return str(oidc.issuer)
    raise ValueError("the EKS layer: the cluster reported no OIDC issuer")


def _autoscaling_group(resources: Sequence[Any] | None) -> str:
    for resource in resources or []:
        for group in resource.autoscaling_groups or []:
            if group.name:
                return str(group.name)
    raise ValueError("the EKS layer: the system node group reported no Auto Scaling group")
