"""Component tests of modules/kubernetes under Pulumi mocks: what Cluster and TeamNamespace declare.

Plain echo mocks that also answer what EKS, EC2 and ELB compute (endpoint, certificate authority, OIDC issuer,
cluster security group, a node group's Auto Scaling group, a launch template's version, an NLB's DNS name);
``localcloud.RecordingMonitor`` records each registration's options (provider, protect, dependencies).
Every assertion names the resource.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from support import ACCOUNT, REGION, RecordingMocks
from support import MonitoredDeployment as Deployment

from core import charts, naming
from core.settings import Team, TeamKubernetes
from localcloud import RecordingMonitor
from modules.kubernetes import manifests, policies
from modules.kubernetes.component import Cluster, ClusterArgs, kubeconfig
from modules.kubernetes.namespace import TeamNamespace, TeamNamespaceArgs
from modules.kubernetes.settings import CLUSTER_AUTOSCALER_IMAGES, KubernetesSettings
from tools.guards import launch_template_problems

ENV = "staging"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000aaaa-12ab-34cd-56ef-1234567890ab"
BUCKET = "acme-ml-staging-datastore"
VPC_CIDR = "10.20.0.0/16"
TAGS = {"cost-center": "ml-platform", "environment": ENV}
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/ml-platform-admins"
ISSUER = f"https://oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
CLUSTER_SG = "sg-0cluster0000000001"
NLB_DNS = f"strata-{ENV}-eks-0123456789abcdef.elb.{REGION}.amazonaws.com"

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ADDON = "aws:eks/addon:Addon"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def team(name: str, namespace: str | None, gpus: int = 0) -> Team:
    return Team(
        name=name,
        cost_center=f"cc-{name}",
        contacts=(f"{name}@example.com",),
        priority=10,
        max_vcpus=32,
        gpu_max_vcpus=16 if gpus else 0,
        principals=(f"arn:aws:iam::{ACCOUNT}:root",),
        kubernetes=TeamKubernetes(namespace=namespace, cpu=16, memory_gib=64, gpus=gpus, container_image="python:3.11-slim")
        if namespace
        else None,
    )


# fraud: GPUs; research: its own namespace name, no GPUs; legacy: no Kubernetes share at all.
TEAMS = (team("fraud", "fraud", gpus=2), team("research", "research-lab"), team("legacy", None))
K8S_TEAMS = [t for t in TEAMS if t.kubernetes is not None]
DEFAULT = KubernetesSettings.model_validate(
    {"enabled": True, "adminPrincipals": [ADMIN], "gpuNodes": {"enabled": True}, "loadBalancer": True}
)
PUBLIC = KubernetesSettings.model_validate(
    {"enabled": True, "endpoint": {"public": True, "publicCidrs": ["203.0.113.0/24"]}, "gpuNodes": {"enabled": False}}
)


def job_role_arn(team_name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role(ENV, team_name)}"


def data_scientist_role_arn(team_name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/strata-{ENV}-{team_name}-data-scientists"


class Mocks(RecordingMocks):
    """The shared echo mocks, plus what AWS computes and the component reads."""

    def state(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        state = super().state(args)
        if args.typ == CLUSTER:
            name = args.inputs["name"]
            state.update(
                arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}",
                endpoint=f"https://0123456789ABCDEF.gr7.{REGION}.eks.amazonaws.com",
                certificateAuthority={"data": "Q0EtREFUQQ=="},
                identities=[{"oidcs": [{"issuer": ISSUER}]}],
                vpcConfig={**args.inputs["vpcConfig"], "clusterSecurityGroupId": CLUSTER_SG},
            )
        elif args.typ == NODE_GROUP:
            state["resources"] = [{"autoscalingGroups": [{"name": f"eks-{args.inputs['nodeGroupName']}-uuid"}]}]
        elif args.typ == LAUNCH_TEMPLATE:
            state["latestVersion"] = 3
        elif args.typ == LB:
            state["dnsName"] = NLB_DNS
        elif args.typ == OIDC:
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{args.inputs['url'].removeprefix('https://')}"
        elif args.typ == ROLE:
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.inputs['name']}"
        return state


def make_args(settings: KubernetesSettings, protect: bool = True) -> ClusterArgs:
    return ClusterArgs(
        environment=ENV,
        settings=settings,
        teams=TEAMS,
        region=REGION,
        vpc_id="vpc-1",
        vpc_cidr=VPC_CIDR,
        subnet_ids=["subnet-a", "subnet-b"],
        kms_key_arn=KEY,
        bucket_name=BUCKET,
        protect=protect,
        tags=TAGS,
        log_kms_key_arn=LOG_KEY,
    )


def deploy(settings: KubernetesSettings, protect: bool = True) -> Deployment:
    """Run the cluster and every team namespace once; every registration has finished when this returns."""
    deployment = Deployment()
    mocks = Mocks(deployment)
    deployment.monitor = RecordingMonitor(mocks)
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack=ENV, preview=False, monitor=deployment.monitor)

    @pulumi.runtime.test
    def program():
        cluster = Cluster("kubernetes", make_args(settings, protect))
        for t in K8S_TEAMS:
            TeamNamespace(
                f"kubernetes-team-{t.name}",
                TeamNamespaceArgs(
                    environment=ENV,
                    team=t,
                    cluster=cluster,
                    job_role_arn=job_role_arn(t.name),
                    data_scientist_role_arn=data_scientist_role_arn(t.name),
                    data_scientist_role_name=f"strata-{ENV}-{t.name}-data-scientists",
                    bucket_name=BUCKET,
                    region=REGION,
                    vpc_cidr=VPC_CIDR,
                    tags={**TAGS, "team": t.name, "cost-center": t.cost_center},
                ),
            )
        outputs = {
            "cluster_name": cluster.cluster_name,
            "endpoint": cluster.endpoint,
            "ca_data": cluster.ca_data,
            "oidc_provider_arn": cluster.oidc_provider_arn,
            "oidc_issuer": cluster.oidc_issuer,
            "ui_url": cluster.ui_url,
            "webhook_urls": cluster.webhook_urls,
            "internal_webhook_urls": cluster.internal_webhook_urls,
        }
        return pulumi.Output.from_input(outputs).apply(deployment.outputs.update)

    program()
    return deployment


@pytest.fixture(scope="module")
def default() -> Deployment:
    return deploy(DEFAULT)


@pytest.fixture(scope="module")
def public() -> Deployment:
    return deploy(PUBLIC, protect=False)


def the_cluster(d: Deployment) -> Any:
    return d.one(CLUSTER, "kubernetes-cluster")


# ---------------------------------------------------------------- control plane


def test_secrets_are_envelope_encrypted_with_the_platform_key(default: Deployment) -> None:
    cluster = the_cluster(default)
    assert cluster.inputs["encryptionConfig"] == {"provider": {"keyArn": KEY}, "resources": ["secrets"]}, cluster.name
    # The cluster role may use that key, and no other.
    (grant,) = [r for r in default.registrations(ROLE_POLICY) if r.name == "kubernetes-cluster-secrets-key"]
    (statement,) = json.loads(grant.inputs["policy"])["Statement"]
    assert statement["Resource"] == KEY and "kms:Decrypt" in statement["Action"], grant.name


def test_every_control_plane_log_type_goes_to_its_log_group_with_retention_and_the_log_key(default: Deployment) -> None:
    cluster = the_cluster(default)
    assert sorted(cluster.inputs["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    ), cluster.name
    log_group = default.one(LOG_GROUP, "kubernetes-control-plane-logs")
    assert log_group.inputs["name"] == naming.eks_log_group(ENV) == f"/aws/eks/{naming.eks_cluster(ENV)}/cluster"
    assert log_group.inputs["retentionInDays"] == DEFAULT.log_retention_days
    assert log_group.inputs["kmsKeyId"] == LOG_KEY
    # Created first: otherwise EKS creates the group itself, without retention or key.
    assert log_group.urn in cluster.dependencies, f"{cluster.name} does not depend on {log_group.name}"


def test_the_endpoint_is_private_by_default(default: Deployment) -> None:
    vpc = the_cluster(default).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc, vpc


def test_a_public_endpoint_admits_only_its_cidrs(public: Deployment) -> None:
    vpc = the_cluster(public).inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_a_public_endpoint_without_cidrs_is_refused() -> None:
    open_to_all = KubernetesSettings.model_validate({"enabled": True, "endpoint": {"public": True}})
    with pytest.raises(ValueError, match="publicCidrs"):
        deploy(open_to_all)


def test_an_unsupported_version_is_refused() -> None:
    with pytest.raises(ValueError, match="1.20"):
        deploy(KubernetesSettings.model_validate({"enabled": True, "version": "1.20"}))


def test_access_entries_only_standard_support_and_protection(default: Deployment, public: Deployment) -> None:
    cluster = the_cluster(default)
    assert cluster.inputs["name"] == naming.eks_cluster(ENV)
    assert cluster.inputs["version"] == DEFAULT.version
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster.protect and cluster.retain_on_delete and cluster.inputs["deletionProtection"] is True
    unprotected = the_cluster(public)
    assert not unprotected.protect and not unprotected.retain_on_delete and unprotected.inputs["deletionProtection"] is False


def test_irsa_provider_trusts_the_cluster_issuer_for_sts(default: Deployment) -> None:
    oidc = default.one(OIDC, "kubernetes-oidc")
    assert oidc.inputs["url"] == ISSUER
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert default.outputs["oidc_issuer"] == ISSUER
    assert default.outputs["oidc_provider_arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER.removeprefix('https://')}"


def test_roles_trust_and_managed_policies(default: Deployment) -> None:
    roles = {r.inputs["name"]: r for r in default.registrations(ROLE)}
    cluster_trust = json.loads(roles[naming.eks_role(ENV, "cluster")].inputs["assumeRolePolicy"])
    assert cluster_trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    node_trust = json.loads(roles[naming.eks_role(ENV, "nodes")].inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in node_trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = {r.inputs["policyArn"] for r in default.registrations(ATTACHMENT)}
    assert attached == {f"arn:aws:iam::aws:policy/{p}" for p in ("AmazonEKSClusterPolicy", *policies.NODE_POLICIES)}, (
        "node and cluster roles carry exactly EKS's managed policies"
    )


# ---------------------------------------------------------------- Kubernetes objects and releases


def test_every_kubernetes_object_and_release_goes_through_the_one_provider(default: Deployment) -> None:
    (provider,) = default.registrations(K8S_PROVIDER)
    kube = [r for r in default.registrations() if r.type.startswith("kubernetes:")]
    assert len(default.registrations(RELEASE)) == 3
    expected = len(manifests.cluster_objects()) + sum(len(manifests.team_objects(spec(t))) for t in K8S_TEAMS)
    assert len([r for r in kube if r.type != RELEASE]) == expected, "every cluster and team object is declared"
    for r in kube:
        assert r.provider.startswith(provider.urn + "::"), f"{r.type}::{r.name} uses provider {r.provider!r}"
    for r in default.registrations():
        if not r.type.startswith(("kubernetes:", "pulumi:providers:")) and r.custom:
            assert K8S_PROVIDER not in (r.provider or ""), f"{r.type}::{r.name} goes through the Kubernetes provider"


def test_team_objects_wait_for_the_admission_policy(default: Deployment) -> None:
    """No team pod can exist before the policy that keeps it on its own team's nodes."""
    policy = default.one(
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
        "kubernetes-validatingadmissionpolicy-strata-team-nodes",
    )
    binding_type = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
    binding = default.one(binding_type, "kubernetes-validatingadmissionpolicybinding-strata-team-nodes")
    for r in default.registrations("kubernetes:core/v1:Namespace"):
        assert {policy.urn, binding.urn} <= set(r.dependencies), r.name


def test_the_provider_authenticates_with_aws_eks_get_token(default: Deployment) -> None:
    (provider,) = default.registrations(K8S_PROVIDER)
    config = json.loads(provider.inputs["kubeconfig"])
    name = naming.eks_cluster(ENV)
    assert config == kubeconfig(name, default.outputs["endpoint"], "Q0EtREFUQQ==", REGION)
    user = config["users"][0]["user"]
    assert list(user) == ["exec"], "no static token or key in the kubeconfig"
    assert user["exec"]["command"] == "aws" and user["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", name]
    assert json.loads(provider.inputs["enableServerSideApply"]) is True


def test_chart_versions_and_repositories_are_the_pinned_ones(default: Deployment) -> None:
    releases = {r.inputs["chart"]: r for r in default.registrations(RELEASE)}
    assert set(releases) == {c.name for c in charts.KUBERNETES_CHARTS}
    expected_namespace = {
        charts.ARGO_WORKFLOWS.name: naming.ARGO_NAMESPACE,
        charts.ARGO_EVENTS.name: naming.ARGO_EVENTS_NAMESPACE,
        charts.CLUSTER_AUTOSCALER.name: "kube-system",
    }
    for chart in charts.KUBERNETES_CHARTS:
        r = releases[chart.name]
        assert r.inputs["version"] == chart.version, r.name
        assert r.inputs["repositoryOpts"] == {"repo": chart.repository_url}, r.name
        assert r.inputs["namespace"] == expected_namespace[chart.name], r.name


def test_releases_wait_for_the_system_nodes_and_the_admin_access(default: Deployment) -> None:
    system = default.one(NODE_GROUP, "kubernetes-system")
    (admin,) = default.registrations(ACCESS_POLICY)
    for r in default.registrations(RELEASE):
        assert system.urn in r.dependencies and admin.urn in r.dependencies, r.name


def test_the_autoscaler_runs_as_its_irsa_role_with_its_image_line(default: Deployment) -> None:
    release = default.one(RELEASE, "kubernetes-cluster-autoscaler")
    values = release.inputs["values"]
    role = next(r for r in default.registrations(ROLE) if r.inputs["name"] == naming.eks_role(ENV, "autoscaler"))
    sa = values["rbac"]["serviceAccount"]
    assert sa["name"] == policies.AUTOSCALER_SERVICE_ACCOUNT
    assert sa["annotations"]["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::{ACCOUNT}:role/{naming.eks_role(ENV, 'autoscaler')}"
    assert values["image"]["tag"] == CLUSTER_AUTOSCALER_IMAGES[DEFAULT.version]
    assert values["autoDiscovery"]["clusterName"] == naming.eks_cluster(ENV)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    host = ISSUER.removeprefix("https://")
    assert trust["Condition"]["StringEquals"][f"{host}:sub"] == "system:serviceaccount:kube-system:cluster-autoscaler"
    policy = json.loads(default.one(ROLE_POLICY, "kubernetes-autoscaler").inputs["policy"])
    (scale,) = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert scale["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{naming.eks_cluster(ENV)}": "owned"}
    }


def spec(t: Team) -> manifests.TeamSpec:
    assert t.kubernetes is not None
    k = t.kubernetes
    return manifests.TeamSpec(
        environment=ENV,
        team=t.name,
        namespace=k.namespace,
        cpu=k.cpu,
        memory_gib=k.memory_gib,
        gpus=k.gpus,
        job_role_arn=job_role_arn(t.name),
        bucket_name=BUCKET,
        region=REGION,
        vpc_cidr=VPC_CIDR,
        load_balancer=DEFAULT.load_balancer,
    )


def test_team_objects_are_declared_as_typed_or_custom_resources_as_written(default: Deployment) -> None:
    for t in K8S_TEAMS:
        for obj in manifests.team_objects(spec(t)):
            api, kind, name = obj["apiVersion"], obj["kind"], obj["metadata"]["name"]
            group_version = api if "/" in api else f"core/{api}"
            r = default.one(f"kubernetes:{group_version}:{kind}", f"kubernetes-team-{t.name}-{kind.lower()}-{name}")
            assert r.inputs["metadata"]["name"] == name
            for key, value in obj.items():
                if key not in ("apiVersion", "kind", "metadata"):
                    assert r.inputs[key] == value, f"{r.name}: {key} differs from manifests.team_objects"
            namespace = default.one(
                "kubernetes:core/v1:Namespace", f"kubernetes-team-{t.name}-namespace-{t.kubernetes.namespace}"
            )
            if kind != "Namespace":
                assert namespace.urn in r.dependencies, f"{r.name} does not wait for its namespace"
            for release in default.registrations(RELEASE):
                assert release.urn in r.dependencies, f"{r.name} does not wait for {release.name}"


def test_the_team_service_account_is_bound_to_the_teams_job_role(default: Deployment) -> None:
    for t in K8S_TEAMS:
        assert t.kubernetes is not None
        (sa,) = [
            r
            for r in default.registrations(SERVICE_ACCOUNT)
            if r.inputs["metadata"]["name"] == naming.TEAM_SERVICE_ACCOUNT
            and r.inputs["metadata"]["namespace"] == t.kubernetes.namespace
        ]
        assert sa.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == job_role_arn(t.name), sa.name


# ---------------------------------------------------------------- access


def test_team_access_entries_map_to_the_team_group_with_no_access_policy(default: Deployment) -> None:
    entries = {r.inputs["principalArn"]: r for r in default.registrations(ACCESS_ENTRY)}
    for t in K8S_TEAMS:
        entry = entries[data_scientist_role_arn(t.name)]
        assert entry.inputs["kubernetesGroups"] == [f"strata:team:{t.name}"], entry.name
        assert entry.inputs["type"] == "STANDARD"
        assert entry.inputs["tags"]["team"] == t.name
    associated = {r.inputs["principalArn"] for r in default.registrations(ACCESS_POLICY)}
    assert associated == {ADMIN}, f"only the admins have an access policy, not {associated - {ADMIN}}"


def test_admin_principals_get_cluster_admin_cluster_wide(default: Deployment) -> None:
    entry = next(r for r in default.registrations(ACCESS_ENTRY) if r.inputs["principalArn"] == ADMIN)
    assert "kubernetesGroups" not in entry.inputs
    (association,) = default.registrations(ACCESS_POLICY)
    assert association.inputs["principalArn"] == ADMIN
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert entry.urn in association.dependencies


# ---------------------------------------------------------------- nodes


def node_groups(d: Deployment) -> dict[str, Any]:
    return {r.inputs["nodeGroupName"]: r for r in d.registrations(NODE_GROUP)}


def template_of(d: Deployment, group: Any) -> Any:
    template_id = group.inputs["launchTemplate"]["id"]
    (template,) = [r for r in d.registrations(LAUNCH_TEMPLATE) if r.id == template_id]
    return template


def test_the_node_groups_are_system_then_per_team_cpu_and_gpu(default: Deployment, public: Deployment) -> None:
    expected = {"system", "fraud", "fraud-gpu", "research"}  # research has no GPU quota, legacy no Kubernetes
    assert set(node_groups(default)) == {naming.node_group(ENV, p) for p in expected}
    # No GPU node group where the stack has none.
    assert set(node_groups(public)) == {naming.node_group(ENV, p) for p in ("system", "fraud", "research")}


def test_every_node_has_imdsv2_with_hop_limit_1_no_public_ip_and_an_encrypted_gp3_root(default: Deployment) -> None:
    for name, group in node_groups(default).items():
        template = template_of(default, group)
        assert launch_template_problems(template.inputs) == [], name
        options = template.inputs["metadataOptions"]
        assert options["httpTokens"] == "required" and options["httpPutResponseHopLimit"] == 1, name
        (nic,) = template.inputs["networkInterfaces"]
        assert nic["associatePublicIpAddress"] == "false", name
        assert nic["securityGroups"] == [CLUSTER_SG], name
        (root,) = template.inputs["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3", name
        assert group.inputs["launchTemplate"]["version"] == "3", name
        assert "diskSize" not in group.inputs and "remoteAccess" not in group.inputs, name


def test_gpu_groups_scale_from_zero_on_the_nvidia_ami(default: Deployment) -> None:
    gpu = node_groups(default)[naming.node_group(ENV, "fraud-gpu")]
    assert gpu.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu.inputs["scalingConfig"]["minSize"] == 0 and gpu.inputs["scalingConfig"]["desiredSize"] == 0
    assert gpu.inputs["instanceTypes"] == [DEFAULT.gpu_nodes.instance_type]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in gpu.inputs["taints"]
    assert gpu.inputs["tags"]["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    for name, group in node_groups(default).items():
        if group.inputs["amiType"] == "AL2023_x86_64_NVIDIA":
            assert name.endswith("-gpu"), name


def test_team_groups_are_labelled_and_tainted_with_their_team_and_scale_from_zero(default: Deployment) -> None:
    cluster_name = naming.eks_cluster(ENV)
    for t in K8S_TEAMS:
        for part in (t.name, f"{t.name}-gpu"):
            group = node_groups(default).get(naming.node_group(ENV, part))
            if group is None:
                continue
            assert group.inputs["labels"] == {naming.TEAM_LABEL: t.name}, group.name
            assert {"key": naming.TEAM_LABEL, "value": t.name, "effect": "NO_SCHEDULE"} in group.inputs["taints"], group.name
            assert group.inputs["scalingConfig"]["minSize"] == 0, group.name
            tags = group.inputs["tags"]
            assert tags["team"] == t.name and tags["cost-center"] == t.cost_center, group.name
            assert (
                tags["k8s.io/cluster-autoscaler/enabled"] == "true"
                and tags[f"k8s.io/cluster-autoscaler/{cluster_name}"] == "owned"
            )
            assert tags[f"k8s.io/cluster-autoscaler/node-template/label/{naming.TEAM_LABEL}"] == t.name
            assert tags[f"k8s.io/cluster-autoscaler/node-template/taint/{naming.TEAM_LABEL}"] == f"{t.name}:NoSchedule"
            specs = template_of(default, group).inputs["tagSpecifications"]
            assert all(s["tags"]["team"] == t.name for s in specs), f"{group.name}: instances and volumes carry the team"
            assert "scalingConfig.desiredSize" in group.ignore_changes, "the autoscaler owns the desired size"


def test_the_system_group_is_untainted_with_the_pool_label(default: Deployment) -> None:
    system = node_groups(default)[naming.node_group(ENV, "system")]
    assert system.inputs["labels"] == manifests.SYSTEM_POOL_LABEL
    assert not system.inputs.get("taints")
    assert system.inputs["scalingConfig"]["minSize"] == DEFAULT.system_nodes.min_size >= 1
    assert system.inputs["amiType"] == "AL2023_ARM_64_STANDARD", "t4g is Graviton"
    assert "team" not in system.inputs["tags"]


def test_addons_and_network_policy_enforcement(default: Deployment) -> None:
    addons = {r.inputs["addonName"]: r for r in default.registrations(ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns"}
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert "addonVersion" not in addons["coredns"].inputs
    assert default.one(NODE_GROUP, "kubernetes-system").urn in addons["coredns"].dependencies


# ---------------------------------------------------------------- internal load balancer


def test_the_load_balancer_is_internal_and_admits_the_vpc_only(default: Deployment) -> None:
    (nlb,) = default.registrations(LB)
    assert nlb.inputs["internal"] is True and nlb.inputs["loadBalancerType"] == "network"
    assert nlb.inputs["subnets"] == ["subnet-a", "subnet-b"]
    (sg,) = default.registrations(SG)
    assert nlb.inputs["securityGroups"] == [sg.id]
    ports = {naming.ARGO_SERVER_PORT, *(naming.webhook_node_port(t.name) for t in K8S_TEAMS)}
    rules = [r for r in default.registrations(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert {r.inputs["fromPort"] for r in rules} == ports
    for r in [*rules, *default.registrations(EGRESS)]:
        assert r.inputs["cidrIpv4"] == VPC_CIDR, f"{r.name} admits {r.inputs.get('cidrIpv4')}"
    nodeports = default.one(INGRESS, "kubernetes-nodeports-from-vpc").inputs
    assert nodeports["securityGroupId"] == CLUSTER_SG and nodeports["cidrIpv4"] == VPC_CIDR
    assert (nodeports["fromPort"], nodeports["toPort"]) == (naming.NODE_PORT_MIN, naming.NODE_PORT_MAX)


def test_listeners_forward_to_nodeports_on_the_system_nodes(default: Deployment) -> None:
    groups = {r.id: r for r in default.registrations(TARGET_GROUP)}
    forwards = {}
    for listener in default.registrations(LISTENER):
        assert listener.inputs["protocol"] == "TCP"
        ((action),) = listener.inputs["defaultActions"]
        arn = action["targetGroupArn"]
        (group,) = [g for g in groups.values() if arn.endswith(g.name)]
        forwards[listener.inputs["port"]] = group.inputs["port"]
        assert group.inputs["targetType"] == "instance" and group.inputs["protocol"] == "TCP"
    expected = {naming.ARGO_SERVER_PORT: naming.ARGO_SERVER_NODE_PORT}
    expected |= {naming.webhook_node_port(t.name): naming.webhook_node_port(t.name) for t in K8S_TEAMS}
    assert forwards == expected
    system_asg = f"eks-{naming.node_group(ENV, 'system')}-uuid"
    attachments = default.registrations(ASG_ATTACHMENT)
    assert len(attachments) == len(groups)
    assert {a.inputs["autoscalingGroupName"] for a in attachments} == {system_asg}


def test_urls(default: Deployment) -> None:
    assert default.outputs["ui_url"] == f"https://{NLB_DNS}:2746"
    for t in K8S_TEAMS:
        assert t.kubernetes is not None
        assert default.outputs["webhook_urls"][t.name] == f"http://{NLB_DNS}:{naming.webhook_node_port(t.name)}/metaflow-event"
        assert default.outputs["internal_webhook_urls"][t.name] == manifests.internal_webhook_url(t.kubernetes.namespace)
        assert (
            f".{t.kubernetes.namespace}.svc.cluster.local:12000/metaflow-event"
            in default.outputs["internal_webhook_urls"][t.name]
        )
    assert set(default.outputs["webhook_urls"]) == {t.name for t in K8S_TEAMS}, "a team without Kubernetes gets no webhook"


def test_without_a_load_balancer_the_urls_are_the_clusters_own(public: Deployment) -> None:
    """loadBalancer off (the default): no NLB, no NodePort rule, and the profile's URLs are the in-cluster ones."""
    assert not PUBLIC.load_balancer
    assert public.registrations(LB) == [] and public.registrations(TARGET_GROUP) == []
    assert public.registrations(ASG_ATTACHMENT) == []
    assert [r.name for r in public.registrations(INGRESS)] == ["kubernetes-api-from-vpc"]
    assert public.outputs["ui_url"] == "https://argo-workflows-server.argo.svc.cluster.local:2746"
    assert public.outputs["webhook_urls"] == public.outputs["internal_webhook_urls"]


def test_the_private_api_admits_the_vpc_on_443(default: Deployment) -> None:
    rule = default.one(INGRESS, "kubernetes-api-from-vpc").inputs
    assert rule["securityGroupId"] == CLUSTER_SG and rule["cidrIpv4"] == VPC_CIDR
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)


def test_node_groups_follow_the_control_planes_version(default: Deployment) -> None:
    groups = default.registrations("aws:eks/nodeGroup:NodeGroup")
    assert groups and {g.inputs["version"] for g in groups} == {DEFAULT.version}


def test_data_scientists_may_describe_this_cluster_only(default: Deployment) -> None:
    for t in K8S_TEAMS:
        policy = default.one("aws:iam/rolePolicy:RolePolicy", f"kubernetes-team-{t.name}-describe-cluster").inputs
        assert policy["role"] == f"strata-{ENV}-{t.name}-data-scientists"
        (statement,) = json.loads(policy["policy"])["Statement"]
        assert statement["Action"] == "eks:DescribeCluster"
        assert statement["Resource"].startswith(f"arn:aws:eks:{REGION}:") and statement["Resource"].endswith(
            f":cluster/{naming.eks_cluster(ENV)}"
        )


# ---------------------------------------------------------------- pure parts


def test_the_autoscaler_may_resize_only_this_clusters_groups() -> None:
    doc = policies.autoscaler_policy("strata-prod", "aws", REGION, ACCOUNT)
    writes = [
        s
        for s in doc["Statement"]
        if any(not a.startswith(("autoscaling:Describe", "ec2:Describe", "ec2:Get", "eks:Describe")) for a in _actions(s))
    ]
    assert writes and all(
        s["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/strata-prod": "owned"}} for s in writes
    )
    (nodegroups,) = [s for s in doc["Statement"] if "eks:DescribeNodegroup" in _actions(s)]
    assert nodegroups["Resource"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/strata-prod/*/*"
    with pytest.raises(ValueError):
        policies.autoscaler_policy("*", "aws", REGION, ACCOUNT)


def test_graviton_types_get_the_arm_ami() -> None:
    assert policies.ami_type("t4g.medium") == policies.ami_type("c7gn.large") == "AL2023_ARM_64_STANDARD"
    assert policies.ami_type("m6i.xlarge") == policies.ami_type("g5.xlarge") == "AL2023_x86_64_STANDARD"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
