"""Run the program without any cloud: an echo ``Mocks`` that answers with made-up ids and ARNs.

For planning questions that need only what the program *declares* (stack tests, the idle-cost
benchmark, resource counts); the moto-backed LocalEngine is for questions about what AWS would *do*.
"""

from __future__ import annotations

import hashlib

import pulumi

ACCOUNT = "123456789012"
REGION = "us-east-1"


class PlainMocks(pulumi.runtime.Mocks):
    """Echo inputs back with ``<name>-id`` and a plausible ARN; record every declared type."""

    def __init__(self) -> None:
        self.declared: list[str] = []

    def new_resource(self, args):
        self.declared.append(args.typ)
        if not args.custom or args.typ.startswith("pulumi:providers:"):
            return [None, args.inputs]
        if args.typ.startswith("kubernetes:"):  # a Kubernetes object or Helm release: no ARN, pulumi-kubernetes's id
            return kubernetes_state(args.name, args.typ, args.inputs)
        service = args.typ.split(":")[1].split("/")[0]
        physical = args.inputs.get("name") or args.inputs.get("bucket") or args.name
        state = {**args.inputs, "id": f"{args.name}-id", "arn": f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}"}
        return [f"{args.name}-id", state | computed_outputs(args.typ, args.name, args.inputs)]

    def call(self, args):
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:root",
                "userId": "plan",
            },
            "aws:index/getRegion:getRegion": {"name": REGION, "region": REGION, "id": REGION},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{REGION}{z}" for z in "abcdef"],
                "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
                "id": REGION,
            },
            "aws:ec2/getAmi:getAmi": {
                "id": "ami-0plan",
                "arn": f"arn:aws:ec2:{REGION}::image/ami-0plan",
                "name": "al2023-ami-plan",
            },
            # The region's Elastic Load Balancing account (writes ALB access logs); us-east-1's.
            "aws:elb/getServiceAccount:getServiceAccount": {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root"},
            # The OIDC client secret of the Metaflow UI: a plan never holds the real value.
            "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                "arn": args.args.get("secretId", ""),
                "id": args.args.get("secretId", ""),
                "secretString": "[read from Secrets Manager at deploy time]",
                "versionId": "plan",
            },
        }
        if args.token not in answers:
            raise NotImplementedError(f"PlainMocks: no answer for invoke {args.token}; add one in localcloud/plan.py")
        return answers[args.token]


# Kinds pulumi-kubernetes ids by name alone (cluster-scoped); every other object is ``<namespace>/<name>``.
_CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass"})


def kubernetes_state(name: str, typ: str, inputs: dict) -> list:
    """``[id, state]`` of a Kubernetes object or Helm release: its inputs, named as pulumi-kubernetes names an
    unnamed one (``<logical>-<8 characters>``)."""
    suffix = hashlib.sha256(name.encode()).hexdigest()[:8]
    if typ == "kubernetes:helm.sh/v3:Release":
        release, namespace = inputs.get("name") or f"{name}-{suffix}", inputs.get("namespace") or "default"
        return [f"{namespace}/{release}", {**inputs, "name": release, "namespace": namespace}]
    metadata = {"name": f"{name}-{suffix}", **(inputs.get("metadata") or {})}
    if inputs.get("kind") in _CLUSTER_SCOPED_KINDS:
        return [metadata["name"], {**inputs, "metadata": metadata}]
    metadata.setdefault("namespace", "default")
    return [f"{metadata['namespace']}/{metadata['name']}", {**inputs, "metadata": metadata}]


def computed_outputs(typ: str, name: str, inputs: dict) -> dict:
    """Outputs that AWS computes and the program reads, in the shape AWS reports them.

    The program raises when AWS does not report one of these, so an echo of the inputs is not enough.
    """
    suffix = hashlib.sha256(name.encode()).hexdigest()[:16]
    if typ == "aws:rds/cluster:Cluster" and inputs.get("manageMasterUserPassword"):
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html
        secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-{suffix[:8]}-{suffix[8:14]}"
        return {
            "masterUserSecrets": [
                {"secretArn": secret, "secretStatus": "active", "kmsKeyId": inputs.get("masterUserSecretKmsKeyId")}
            ]
        }
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        lb = (inputs.get("name") or name)[:32]
        # NLBs answer <name>-<id>.elb.<region>.amazonaws.com, ALBs <name>-<id>.<region>.elb.amazonaws.com.
        host = f"{lb}-{suffix}.elb.{REGION}" if inputs.get("loadBalancerType") == "network" else f"{lb}-{suffix}.{REGION}.elb"
        return {"dnsName": f"{host}.amazonaws.com", "zoneId": "Z26RNL4JYFTOTI"}
    if typ == "aws:eks/cluster:Cluster":
        # What the program reads to build its Kubernetes provider and IRSA trust, in EKS's shapes:
        # https://docs.aws.amazon.com/eks/latest/APIReference/API_Cluster.html
        cluster = inputs.get("name") or name
        oidc = hashlib.sha256(f"oidc/{cluster}".encode()).hexdigest()[:32].upper()
        return {
            "name": cluster,
            "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{cluster}",
            "endpoint": f"https://{hashlib.sha256(f'endpoint/{cluster}'.encode()).hexdigest()[:32].upper()}.gr7.{REGION}.eks.amazonaws.com",
            # base64 of a PEM placeholder: a plan holds no real certificate authority.
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnBsYW4KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{REGION}.amazonaws.com/id/{oidc}"}]}],
            "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{suffix[:17]}", "vpcId": "vpc-plan"},
            "status": "ACTIVE",
            "platformVersion": "eks.1",
        }
    if typ == "aws:eks/nodeGroup:NodeGroup":
        group = inputs.get("nodeGroupName") or name
        uuid = f"{suffix[:8]}-{suffix[8:12]}-{suffix[12:16]}-0000-000000000000"
        return {
            "nodeGroupName": group,
            "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{inputs.get('clusterName')}/{group}/{uuid}",
            "status": "ACTIVE",
            # EKS names a managed node group's Auto Scaling group eks-<node group>-<uuid>.
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{uuid}"}], "remoteAccessSecurityGroupId": ""}],
        }
    if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        url = str(inputs.get("url") or "").removeprefix("https://")
        return {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        # The provider reports a log group's ARN in the logs namespace, without DescribeLogGroups' ":*".
        return {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{inputs.get('name') or name}"}
    return {}
