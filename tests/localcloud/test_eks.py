"""The Kubernetes layer in the local cloud: EKS clusters, node groups and the IAM OIDC provider are created in
moto; add-ons, access entries, access policies and target-group attachments are NOT EMULATED; Kubernetes
objects and Helm releases are recorded and validated, never applied (there is no Kubernetes API server).

The programs here are small and of their own (the shared server is not reset: every test uses its own names).
The platform's own Kubernetes layer is deployed by `strata local up` (tests/e2e/test_local_up.py)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from core import iam, naming
from localcloud import NOT_EMULATED, LocalEngine, LocalEngineError, RecordingMonitor
from localcloud.engine import KUBERNETES_NOT_APPLIED
from localcloud.handlers.eks import LOG_TYPES
from localcloud.plan import PlainMocks

VERSION = "1.35"
NVIDIA_AMI = "AL2023_x86_64_NVIDIA"


def service_trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def declare_cluster(prefix: str, cidr: int, *, public: bool = False):
    """Inside a program: a VPC with two private subnets, a KMS key, the cluster role and an EKS cluster declared
    as the layer declares it (secrets encryption, every log type, private endpoint, API authentication).
    Returns ``(cluster, key, subnets)``."""
    vpc = aws.ec2.Vpc(f"{prefix}-vpc", cidr_block=f"10.{cidr}.0.0/16")
    subnets = [
        aws.ec2.Subnet(f"{prefix}-subnet-{z}", vpc_id=vpc.id, cidr_block=f"10.{cidr}.{i}.0/24", availability_zone=f"us-east-1{z}")
        for i, z in enumerate("ab")
    ]
    key = aws.kms.Key(f"{prefix}-key", description="platform")
    role = aws.iam.Role(f"{prefix}-cluster-role", assume_role_policy=service_trust("eks.amazonaws.com"))
    cluster = aws.eks.Cluster(
        f"{prefix}-cluster",
        name=f"strata-{prefix}",
        version=VERSION,
        role_arn=role.arn,
        vpc_config={
            "subnet_ids": [s.id for s in subnets],
            "endpoint_private_access": True,
            "endpoint_public_access": public,
            **({"public_access_cidrs": ["203.0.113.0/24"]} if public else {}),
        },
        encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}},
        enabled_cluster_log_types=list(LOG_TYPES),
        access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
        upgrade_policy={"support_type": "STANDARD"},
    )
    return cluster, key, subnets


def oidc_provider(prefix: str, cluster: aws.eks.Cluster) -> aws.iam.OpenIdConnectProvider:
    return aws.iam.OpenIdConnectProvider(
        f"{prefix}-oidc", url=cluster.identities[0].oidcs[0].issuer, client_id_lists=["sts.amazonaws.com"]
    )


def kubernetes_provider(prefix: str, cluster: aws.eks.Cluster) -> k8s.Provider:
    """The layer's one provider: a kubeconfig built from the cluster's outputs (exec `aws eks get-token`)."""
    kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
        lambda v: json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": v[0], "cluster": {"server": v[1], "certificate-authority-data": v[2]}}],
                "contexts": [{"name": v[0], "context": {"cluster": v[0], "user": v[0]}}],
                "current-context": v[0],
                "users": [
                    {
                        "name": v[0],
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": ["eks", "get-token", "--cluster-name", v[0], "--region", "us-east-1"],
                            }
                        },
                    }
                ],
            }
        )
    )
    return k8s.Provider(f"{prefix}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True)


# ---------------------------------------------------------------- EKS in moto


def test_cluster_node_groups_and_oidc_provider_exist_in_moto(engine, deploy, cloud):
    def program():
        cluster, key, subnets = declare_cluster("eksa", 60)
        provider = oidc_provider("eksa", cluster)
        node_role = aws.iam.Role("eksa-node-role", assume_role_policy=service_trust("ec2.amazonaws.com"))
        template = aws.ec2.LaunchTemplate(
            "eksa-nodes-lt",
            metadata_options={"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"},
            block_device_mappings=[
                {"device_name": "/dev/xvda", "ebs": {"volume_size": 20, "volume_type": "gp3", "encrypted": "true"}}
            ],
        )
        common = {
            "cluster_name": cluster.name,
            "node_role_arn": node_role.arn,
            "subnet_ids": [s.id for s in subnets],
            "launch_template": {"id": template.id, "version": template.latest_version.apply(str)},
        }
        system = aws.eks.NodeGroup(
            "eksa-system",
            node_group_name="strata-eksa-system",
            instance_types=["t4g.medium"],
            ami_type="AL2023_ARM_64_STANDARD",
            scaling_config={"min_size": 1, "desired_size": 1, "max_size": 3},
            labels={"strata.io/pool": "system"},
            **common,
        )
        gpu = aws.eks.NodeGroup(
            "eksa-gpu",
            node_group_name="strata-eksa-alpha-gpu",
            version=VERSION,
            instance_types=["g5.xlarge"],
            ami_type=NVIDIA_AMI,
            scaling_config={"min_size": 0, "desired_size": 0, "max_size": 2},
            labels={naming.TEAM_LABEL: "alpha"},
            taints=[
                {"key": naming.TEAM_LABEL, "value": "alpha", "effect": "NO_SCHEDULE"},
                {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
            ],
            **common,
        )
        return {
            "cluster": cluster.name,
            "arn": cluster.arn,
            "endpoint": cluster.endpoint,
            "ca": cluster.certificate_authority.data,
            "issuer": cluster.identities[0].oidcs[0].issuer,
            "cluster_sg": cluster.vpc_config.cluster_security_group_id,
            "vpc": cluster.vpc_config.vpc_id,
            "version": cluster.version,
            "status": cluster.status,
            "key": key.arn,
            "provider": provider.arn,
            "system_version": system.version,
            "gpu_version": gpu.version,
            "system_asg": system.resources[0].autoscaling_groups[0].name,
            "gpu_id": gpu.id,
        }

    out = deploy(engine, program)
    eks, iam_client, ec2 = cloud("eks"), cloud("iam"), cloud("ec2")

    described = eks.describe_cluster(name="strata-eksa")["cluster"]
    assert out["arn"] == described["arn"] and out["version"] == VERSION == described["version"]
    assert out["status"] == "ACTIVE"
    assert described["encryptionConfig"] == [{"resources": ["secrets"], "provider": {"keyArn": out["key"]}}]
    (enabled,) = [entry for entry in described["logging"]["clusterLogging"] if entry["enabled"]]
    assert sorted(enabled["types"]) == sorted(LOG_TYPES)
    vpc = described["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc
    # What the program reads: moto's endpoint (without its trailing slash) and CA, an issuer of EKS's shape.
    assert out["endpoint"] == described["endpoint"].rstrip("/") and out["endpoint"].startswith("https://")
    assert out["ca"] == described["certificateAuthority"]["data"]
    assert out["issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/") and len(out["issuer"].rsplit("/", 1)[1]) == 32

    # The cluster security group EKS creates (moto does not): in the cluster's VPC, admitting itself.
    (group,) = ec2.describe_security_groups(GroupIds=[out["cluster_sg"]])["SecurityGroups"]
    assert group["VpcId"] == out["vpc"] and group["GroupName"].startswith("eks-cluster-sg-strata-eksa-")
    assert [pair["GroupId"] for rule in group["IpPermissions"] for pair in rule["UserIdGroupPairs"]] == [out["cluster_sg"]]

    # The OIDC provider is the cluster's issuer, for STS.
    provider = iam_client.get_open_id_connect_provider(OpenIDConnectProviderArn=out["provider"])
    assert provider["Url"] == out["issuer"].removeprefix("https://")
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]

    system = eks.describe_nodegroup(clusterName="strata-eksa", nodegroupName="strata-eksa-system")["nodegroup"]
    gpu = eks.describe_nodegroup(clusterName="strata-eksa", nodegroupName="strata-eksa-alpha-gpu")["nodegroup"]
    assert system["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}
    assert system["labels"] == {"strata.io/pool": "system"} and system["instanceTypes"] == ["t4g.medium"]
    assert gpu["amiType"] == NVIDIA_AMI and gpu["scalingConfig"]["minSize"] == 0 and gpu["scalingConfig"]["desiredSize"] == 0
    assert {(t["key"], t["value"], t["effect"]) for t in gpu["taints"]} == {
        (naming.TEAM_LABEL, "alpha", "NO_SCHEDULE"),
        ("nvidia.com/gpu", "true", "NO_SCHEDULE"),
    }
    assert system["launchTemplate"]["id"] == gpu["launchTemplate"]["id"]
    # Node group versions: the declared one, else the cluster's; never moto's "1.19" for a group without one.
    assert system["version"] == "1.19", "moto changed: it now reports the cluster's version (drop the engine's note)"
    assert out["system_version"] == VERSION and out["gpu_version"] == VERSION == gpu["version"]
    assert out["system_asg"] == system["resources"]["autoScalingGroups"][0]["name"]
    assert out["gpu_id"] == "strata-eksa:strata-eksa-alpha-gpu"
    assert any("strata-eksa-system: Kubernetes 1.35, the cluster's (moto reports 1.19)" in n for n in engine.emulation_notes)


def test_two_clusters_get_their_own_issuers_and_oidc_providers(engine, deploy):
    """moto gives every cluster of a server the same issuer; IAM keys OIDC providers by URL, so without a
    per-cluster issuer the second cluster's provider would fail as a duplicate."""

    def program():
        first, _, _ = declare_cluster("eksb1", 61)
        second, _, _ = declare_cluster("eksb2", 62)
        return {
            "issuers": [c.identities[0].oidcs[0].issuer for c in (first, second)],
            "providers": [oidc_provider(p, c).arn for p, c in (("eksb1", first), ("eksb2", second))],
        }

    out = deploy(engine, program)
    assert len(set(out["issuers"])) == 2 and len(set(out["providers"])) == 2


def test_unknown_log_type_and_kubernetes_taint_spelling_fail_as_on_eks(engine, deploy):
    def bad_logs():
        vpc = aws.ec2.Vpc("eksc-vpc", cidr_block="10.63.0.0/16")
        subnet = aws.ec2.Subnet("eksc-subnet", vpc_id=vpc.id, cidr_block="10.63.0.0/24")
        role = aws.iam.Role("eksc-role", assume_role_policy=service_trust("eks.amazonaws.com"))
        cluster = aws.eks.Cluster(
            "eksc-cluster", role_arn=role.arn, vpc_config={"subnet_ids": [subnet.id]}, enabled_cluster_log_types=["api", "audits"]
        )
        return {"name": cluster.name}

    with pytest.raises(LocalEngineError, match=r"unknown control-plane log types \['audits'\]"):
        deploy(engine, bad_logs)

    def kubernetes_taint():
        cluster, _, subnets = declare_cluster("eksc2", 69)
        group = aws.eks.NodeGroup(
            "eksc2-nodes",
            cluster_name=cluster.name,
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=[s.id for s in subnets],
            scaling_config={"min_size": 0, "desired_size": 0, "max_size": 1},
            taints=[{"key": naming.TEAM_LABEL, "value": "alpha", "effect": "NoSchedule"}],
        )
        return {"id": group.id}

    with pytest.raises(LocalEngineError, match=r"effect must be one of \['NO_EXECUTE', 'NO_SCHEDULE', 'PREFER_NO_SCHEDULE'\]"):
        deploy(engine, kubernetes_taint)


def test_eks_types_moto_lacks_are_listed_not_emulated(engine, deploy, cloud):
    def program():
        cluster, _, _ = declare_cluster("eksd", 64)
        role = aws.iam.Role("eksd-ds", assume_role_policy=service_trust("ec2.amazonaws.com"))
        entry = aws.eks.AccessEntry(
            "eksd-entry", cluster_name=cluster.name, principal_arn=role.arn, kubernetes_groups=["strata:team:alpha"]
        )
        admin = aws.eks.AccessPolicyAssociation(
            "eksd-admin",
            cluster_name=cluster.name,
            principal_arn=role.arn,
            policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            access_scope={"type": "cluster"},
        )
        addon = aws.eks.Addon("eksd-vpc-cni", cluster_name=cluster.name, addon_name="vpc-cni")
        attach = aws.autoscaling.Attachment(
            "eksd-attach", autoscaling_group_name="eks-nodes", lb_target_group_arn="arn:aws:elasticloadbalancing:tg"
        )
        return {"ids": [entry.id, admin.id, addon.id, attach.id]}

    out = deploy(engine, program)
    listed = {r.type: r for r in engine.not_emulated_used()}
    expected = {
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/addon:Addon",
        "aws:autoscaling/attachment:Attachment",
    }
    assert set(listed) == expected
    for typ in expected:
        assert listed[typ].not_emulated_reason == NOT_EMULATED[typ] and "moto" in NOT_EMULATED[typ]
    assert out["ids"] == [
        "eksd-entry-not-emulated",
        "eksd-admin-not-emulated",
        "eksd-vpc-cni-not-emulated",
        "eksd-attach-not-emulated",
    ]
    # moto has no add-on route at all: what the engine says is what moto does.
    with pytest.raises(Exception, match="404|Not ?Found|not found"):
        cloud("eks").list_addons(clusterName="strata-eksd")


# ---------------------------------------------------------------- IRSA


def test_a_team_pod_identity_assumes_its_job_role_through_the_oidc_provider(engine, deploy, cloud):
    """IRSA can be exercised in moto: the job role trusts the cluster's OIDC provider for the team's service
    account, and AssumeRoleWithWebIdentity answers with that role's credentials.

    moto checks neither the token nor the trust policy (it would hand out any role), so the call proves only
    that the wiring is complete (provider, role, the role's ARN as a pod sees it); the trust itself — which
    provider, which service account in which namespace, which audience — is asserted on the policy in moto."""
    namespace = "alpha-ml"

    def program():
        cluster, _, _ = declare_cluster("irsa", 65)
        provider = oidc_provider("irsa", cluster)
        trust = pulumi.Output.all(provider.arn, cluster.identities[0].oidcs[0].issuer).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [iam.web_identity_statement(v[0], v[1], namespace, naming.TEAM_SERVICE_ACCOUNT)],
                }
            )
        )
        role = aws.iam.Role("irsa-job", name=naming.job_role("irsa", "alpha"), assume_role_policy=trust)
        return {"role": role.arn, "provider": provider.arn, "issuer": cluster.identities[0].oidcs[0].issuer}

    out = deploy(engine, program)
    host = out["issuer"].removeprefix("https://")
    document = cloud("iam").get_role(RoleName=naming.job_role("irsa", "alpha"))["Role"]["AssumeRolePolicyDocument"]
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Federated": out["provider"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{host}:sub": f"system:serviceaccount:{namespace}:{naming.TEAM_SERVICE_ACCOUNT}",
            f"{host}:aud": "sts.amazonaws.com",
        }
    }
    cloud("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=out["provider"])  # exists in moto

    # What the pod's AWS SDK does with the projected token (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE).
    assumed = cloud("sts").assume_role_with_web_identity(
        RoleArn=out["role"], RoleSessionName="strata-job-pod", WebIdentityToken="a-projected-service-account-token"
    )
    assert assumed["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{naming.job_role('irsa', 'alpha')}/strata-job-pod")
    assert assumed["Credentials"]["AccessKeyId"]


# ---------------------------------------------------------------- Kubernetes objects: recorded, not applied


def declare_team_objects(prefix: str, provider: k8s.Provider, *, config_data: dict | None = None) -> dict:
    opts = pulumi.ResourceOptions(provider=provider)
    ns = k8s.core.v1.Namespace(
        f"{prefix}-ns", metadata={"name": f"{prefix}-ml", "labels": {naming.TEAM_LABEL: prefix}}, opts=opts
    )
    sa = k8s.core.v1.ServiceAccount(
        f"{prefix}-sa",
        metadata={
            "name": naming.TEAM_SERVICE_ACCOUNT,
            "namespace": f"{prefix}-ml",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/job"},
        },
        opts=opts,
    )
    cm = k8s.core.v1.ConfigMap(
        f"{prefix}-cm", metadata={"namespace": f"{prefix}-ml"}, **(config_data or {"data": {"a": "b"}}), opts=opts
    )
    bus = k8s.apiextensions.CustomResource(
        f"{prefix}-bus",
        api_version="argoproj.io/v1alpha1",
        kind="EventBus",
        metadata={"name": naming.TEAM_EVENT_BUS, "namespace": f"{prefix}-ml"},
        spec={"jetstream": {"version": "latest"}},
        opts=opts,
    )
    release = k8s.helm.v3.Release(
        f"{prefix}-argo",
        name="argo-workflows",
        chart="argo-workflows",
        version="0.47.5",
        namespace=naming.ARGO_NAMESPACE,
        create_namespace=True,
        repository_opts={"repo": "https://argoproj.github.io/argo-helm"},
        values={"server": {"authModes": ["client"]}},
        opts=opts,
    )
    return {"ns": ns.id, "sa": sa.id, "cm": cm.id, "cm_name": cm.metadata.name, "bus": bus.id, "release": release.id}


def test_kubernetes_objects_and_releases_are_recorded_and_validated_never_applied(moto_server, deploy):
    events = []
    engine = LocalEngine(moto_server.endpoint, on_event=lambda *event: events.append(event))

    def program():
        cluster, _, _ = declare_cluster("k8sa", 66)
        return declare_team_objects("k8sa", kubernetes_provider("k8sa", cluster))

    out = deploy(engine, program)
    # pulumi-kubernetes's ids: <namespace>/<name>, a cluster-scoped kind by name; an unnamed object auto-named.
    assert out["ns"] == "k8sa-ml" and out["sa"] == f"k8sa-ml/{naming.TEAM_SERVICE_ACCOUNT}"
    assert out["cm_name"].startswith("k8sa-cm-") and out["cm"] == f"k8sa-ml/{out['cm_name']}"
    assert out["bus"] == "k8sa-ml/default" and out["release"] == "argo/argo-workflows"

    records = {r.name: r for r in engine.kubernetes_records}
    assert set(records) == {"k8sa-ns", "k8sa-sa", "k8sa-cm", "k8sa-bus", "k8sa-argo"}
    assert records["k8sa-cm"].validated == f"Kubernetes {VERSION} schemas, strict"  # the cluster's version
    assert records["k8sa-bus"].validated.startswith("custom resource")
    assert not [r for r in engine.resources if r.type.startswith("kubernetes:")], "nothing Kubernetes was created"
    assert ("record", "kubernetes:helm.sh/v3:Release", "k8sa-argo") in events
    summary = engine.kubernetes_summary()
    assert summary == (
        f"4 Kubernetes objects and 1 Helm releases recorded and validated, not applied: {KUBERNETES_NOT_APPLIED} "
        f"(3 objects strict against the Kubernetes {VERSION} schemas; 1 custom resources (EventBus): apiVersion, kind "
        "and name here, their schemas in the manifests gate; 1 releases: chart, repository, version and values)"
    )
    assert engine.emulation_notes[-1] == summary, "`strata local up` prints it with the emulation notes"


def test_an_invalid_kubernetes_object_fails_the_deployment_as_the_api_server_would(engine, deploy):
    def program():
        cluster, _, _ = declare_cluster("k8sb", 67)
        return declare_team_objects("k8sb", kubernetes_provider("k8sb", cluster), config_data={"data": {"a": 1}})

    with pytest.raises(
        LocalEngineError, match=r"ConfigMap k8sb-cm-\w+: data/a: 1 is not of type 'string', 'null'.*1\.35, strict"
    ):
        deploy(engine, program)


def test_opaque_kubernetes_components_are_refused_naming_the_typed_alternative(engine, deploy):
    def program():
        provider = k8s.Provider("k8sc-k8s", kubeconfig="{}")
        chart = k8s.helm.v4.Chart("k8sc-chart", chart="argo-workflows", opts=pulumi.ResourceOptions(provider=provider))
        return {"chart": chart.urn}

    with pytest.raises(LocalEngineError, match=r"kubernetes:helm.sh/v4:Chart 'k8sc-chart' hides its objects.*helm.v3.Release"):
        deploy(engine, program)


def test_an_unpinned_chart_from_a_repository_is_refused(engine, deploy):
    def program():
        provider = k8s.Provider("k8sd-k8s", kubeconfig="{}")
        release = k8s.helm.v3.Release(
            "k8sd-release",
            chart="argo-events",
            repository_opts={"repo": "https://argoproj.github.io/argo-helm"},
            opts=pulumi.ResourceOptions(provider=provider),
        )
        return {"id": release.id}

    with pytest.raises(LocalEngineError, match="has no version: helm would install whatever is latest"):
        deploy(engine, program)


def test_preview_records_kubernetes_objects_without_checking_them(moto_server, deploy):
    engine = LocalEngine(moto_server.endpoint, preview=True)

    def program():
        provider = k8s.Provider("k8se-k8s", kubeconfig="{}")
        ns = k8s.core.v1.Namespace("k8se-ns", metadata={"name": "k8se"}, opts=pulumi.ResourceOptions(provider=provider))
        return {"ns": ns.id}

    deploy(engine, program, preview=True)
    (record,) = engine.kubernetes_records
    assert record.id is None and record.validated is None
    assert (
        engine.kubernetes_summary() == f"1 Kubernetes objects and 0 Helm releases declared, not applied: {KUBERNETES_NOT_APPLIED}"
    )


# ---------------------------------------------------------------- the echo mocks


def test_plain_mocks_answer_what_the_program_reads_from_eks(deploy):
    """`strata plan-json`, `strata manifests` and the component tests run on PlainMocks: they must answer the
    cluster's endpoint, CA, OIDC issuer and security group, the provider's ARN and a node group's ASG name."""
    monitor = RecordingMonitor(PlainMocks())

    def program():
        cluster, _, subnets = declare_cluster("plan", 68)
        provider = oidc_provider("plan", cluster)
        group = aws.eks.NodeGroup(
            "plan-system",
            cluster_name=cluster.name,
            node_group_name="strata-plan-system",
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=[s.id for s in subnets],
            scaling_config={"min_size": 1, "desired_size": 1, "max_size": 2},
        )
        k8s_provider = kubernetes_provider("plan", cluster)
        ns = k8s.core.v1.Namespace("plan-ns", metadata={"name": "plan-ml"}, opts=pulumi.ResourceOptions(provider=k8s_provider))
        return {
            "endpoint": cluster.endpoint,
            "ca": cluster.certificate_authority.data,
            "issuer": cluster.identities[0].oidcs[0].issuer,
            "sg": cluster.vpc_config.cluster_security_group_id,
            "subnets": cluster.vpc_config.subnet_ids,
            "provider": provider.arn,
            "asg": group.resources[0].autoscaling_groups[0].name,
            "ns": ns.id,
        }

    out = deploy(monitor.target_mocks, program, monitor=monitor)
    assert out["endpoint"].startswith("https://") and out["endpoint"].endswith(".gr7.us-east-1.eks.amazonaws.com")
    assert out["ca"] and out["sg"].startswith("sg-") and len(out["subnets"]) == 2
    host = out["issuer"].removeprefix("https://")
    assert host.startswith("oidc.eks.us-east-1.amazonaws.com/id/")
    assert out["provider"] == f"arn:aws:iam::123456789012:oidc-provider/{host}"
    assert out["asg"].startswith("eks-strata-plan-system-")
    assert out["ns"] == "plan-ml"
