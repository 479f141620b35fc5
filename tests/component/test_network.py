"""Component tests of modules.network under Pulumi mocks: every mode (create x each egress, adopt)
declares the right resources with the right values. Also the network's pure helpers (no mocks)."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from core import capacity
from modules.network import egress, policies
from modules.network.component import Network, NetworkArgs
from modules.network.settings import Egress, NetworkMode, NetworkSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
AMI_ID = "ami-0al2023arm64"
TAGS = {"cost-center": "ml-platform", "environment": "dev"}
CIDR = "10.20.0.0/16"
AZ_COUNT = 3
COMPONENT = "strata:network:Network"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Types that take tags (every one of them must carry the stack's tags).
TAGGABLE = {
    VPC,
    SUBNET,
    ROUTE_TABLE,
    IGW,
    NAT,
    EIP,
    INSTANCE,
    SG,
    DEFAULT_SG,
    ENDPOINT,
    FLOW_LOG,
    INGRESS,
    EGRESS,
    LOG_GROUP,
    ROLE,
}


# ---------------------------------------------------------------- mocks


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict[str, Any]
    id: str
    urn: str = ""
    parent: str = ""

    @property
    def arn(self) -> str:
        return _arn(self.typ, self.name)


def _arn(typ: str, name: str) -> str:
    if typ == LOG_GROUP:
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    if typ == ROLE:
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{name}"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, Res] = {}
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        rid = f"{args.name}_id"
        self.resources[args.name] = Res(args.typ, args.name, dict(args.inputs), rid)
        state = {**args.inputs, "arn": _arn(args.typ, args.name)}
        if args.typ == INSTANCE:
            state["primaryNetworkInterfaceId"] = f"eni-{args.name}"
        if args.typ == EIP:
            state["allocationId"] = f"eipalloc-{args.name}"
        return [rid, state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ZONES, "zoneIds": [f"use1-az{i}" for i in range(len(ZONES))], "id": REGION}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "userId": "AIDTEST", "id": ACCOUNT}
        if args.token == "aws:ec2/getAmi:getAmi":
            return {
                "id": AMI_ID,
                "imageId": AMI_ID,
                "architecture": "arm64",
                "name": "al2023-ami-2023.6.20250101.0-kernel-6.1-arm64",
            }
        raise AssertionError(f"unexpected invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """Records each registration's URN and parent (to check that every child is parented)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, tuple[str, str]] = {}

    def RegisterResource(self, request):
        self.registrations[request.name] = (self.make_urn(request.parent, request.type, request.name), request.parent)
        return super().RegisterResource(request)


@dataclass
class Deployment:
    resources: dict[str, Res]
    outputs: dict[str, Any]
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Res]:
        return sorted((r for r in self.resources.values() if r.typ == typ), key=lambda r: r.name)

    def one(self, name: str) -> Res:
        assert name in self.resources, f"{name} was not declared; declared: {sorted(self.resources)}"
        return self.resources[name]


def deploy(settings: NetworkSettings, subnets: capacity.SubnetPlan | None) -> Deployment:
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack="dev", preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        net = Network("net", NetworkArgs(environment="dev", settings=settings, subnets=subnets, tags=TAGS))
        return pulumi.Output.all(
            vpc_id=net.vpc_id,
            private_subnet_ids=net.private_subnet_ids,
            private_route_table_ids=net.private_route_table_ids,
            batch_security_group_id=net.batch_security_group_id,
        ).apply(outputs.update)

    run()  # returns once every registration has completed
    for name, (urn, parent) in monitor.registrations.items():
        if name in mocks.resources:
            mocks.resources[name].urn, mocks.resources[name].parent = urn, parent
    return Deployment(mocks.resources, outputs, mocks.calls)


def create_settings(egress_mode: Egress) -> tuple[NetworkSettings, capacity.SubnetPlan]:
    settings = NetworkSettings(mode=NetworkMode.CREATE, cidr=CIDR, az_count=AZ_COUNT, egress=egress_mode)
    demand = capacity.address_demand(cpu_vcpus=384, gpu_vcpus=64, fargate_vcpus=0)
    plan = capacity.plan_subnets(CIDR, AZ_COUNT, demand, egress.needs_public_subnets(egress_mode))
    return settings, plan


@pytest.fixture(scope="module", params=list(Egress), ids=lambda e: e.value)
def created(request) -> tuple[Egress, capacity.SubnetPlan, Deployment]:
    settings, plan = create_settings(request.param)
    return request.param, plan, deploy(settings, plan)


ADOPTED = NetworkSettings(
    mode=NetworkMode.ADOPT,
    vpc_id="vpc-0adopted",
    private_subnet_ids=("subnet-0a", "subnet-0b"),
    private_route_table_ids=("rtb-0a", "rtb-0b"),
    flow_log_retention_days=90,
)


@pytest.fixture(scope="module")
def adopted() -> Deployment:
    return deploy(ADOPTED, None)


# ---------------------------------------------------------------- every created VPC


def test_vpc_has_dns_and_the_configured_cidr(created):
    _, _, d = created
    vpcs = d.of_type(VPC)
    assert [v.name for v in vpcs] == ["net-vpc"], f"expected one VPC, got {[v.urn for v in vpcs]}"
    vpc = vpcs[0]
    assert vpc.inputs["cidrBlock"] == CIDR, vpc.urn
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True, vpc.urn


def test_private_subnets_follow_the_plan_and_the_first_zones(created):
    _, plan, d = created
    private = [d.one(f"net-private-{i}") for i in range(AZ_COUNT)]
    assert [s.inputs["cidrBlock"] for s in private] == list(plan.private), [s.urn for s in private]
    assert [s.inputs["availabilityZone"] for s in private] == ZONES[:AZ_COUNT], [s.urn for s in private]
    assert all(s.inputs["vpcId"] == "net-vpc_id" for s in private), [s.urn for s in private]
    assert d.outputs["private_subnet_ids"] == [f"net-private-{i}_id" for i in range(AZ_COUNT)]
    assert d.outputs["vpc_id"] == "net-vpc_id"


def test_no_public_ip_on_launch_anywhere(created):
    _, _, d = created
    for subnet in d.of_type(SUBNET):
        assert subnet.inputs.get("mapPublicIpOnLaunch") is False, f"{subnet.urn} maps public IPs on launch"
    for instance in d.of_type(INSTANCE):
        assert instance.inputs.get("associatePublicIpAddress") is False, f"{instance.urn} gets an automatic public IP"


def test_one_private_route_table_per_az_associated_with_its_subnet(created):
    _, _, d = created
    tables = [t for t in d.of_type(ROUTE_TABLE) if t.name.startswith("net-private-rt-")]
    assert len(tables) == AZ_COUNT, [t.urn for t in tables]
    for i in range(AZ_COUNT):
        rta = d.one(f"net-private-rta-{i}")
        assert (rta.inputs["subnetId"], rta.inputs["routeTableId"]) == (f"net-private-{i}_id", f"net-private-rt-{i}_id"), rta.urn
    assert d.outputs["private_route_table_ids"] == [f"net-private-rt-{i}_id" for i in range(AZ_COUNT)]


def test_s3_gateway_endpoint_on_every_private_route_table(created):
    _, _, d = created
    gateways = [e for e in d.of_type(ENDPOINT) if e.inputs.get("vpcEndpointType") == "Gateway"]
    assert [g.name for g in gateways] == ["net-s3-endpoint"], [g.urn for g in gateways]
    s3 = gateways[0]
    assert s3.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3", s3.urn
    assert sorted(s3.inputs["routeTableIds"]) == [f"net-private-rt-{i}_id" for i in range(AZ_COUNT)], s3.urn
    assert s3.inputs["vpcId"] == "net-vpc_id", s3.urn


def test_default_security_group_has_no_rules(created):
    _, _, d = created
    default = d.one("net-default-sg")
    assert default.typ == DEFAULT_SG, default.urn
    assert default.inputs["vpcId"] == "net-vpc_id", default.urn
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == [], default.urn


def test_batch_security_group_has_no_ingress_and_egress_everywhere(created):
    _, _, d = created
    _check_batch_sg(d, "net-vpc_id")


def test_flow_logs_all_traffic_through_a_scoped_role(created):
    _, _, d = created
    _check_flow_logs(d, "net-vpc_id", retention=30)


def test_every_child_is_parented_to_the_component_and_tagged(created):
    _, _, d = created
    _check_parented_and_tagged(d)


def test_egress_specific_resources(created):
    mode, plan, d = created
    public = [s for s in d.of_type(SUBNET) if s.name.startswith("net-public-")]
    private_routes = [r for r in d.of_type(ROUTE) if r.name.startswith("net-private-default-")]
    interface = [e for e in d.of_type(ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"]
    if egress.needs_public_subnets(mode):
        assert [s.inputs["cidrBlock"] for s in public] == list(plan.public), [s.urn for s in public]
        assert [g.name for g in d.of_type(IGW)] == ["net-igw"]
        route = d.one("net-public-default")
        assert (route.inputs["destinationCidrBlock"], route.inputs["gatewayId"]) == ("0.0.0.0/0", "net-igw_id"), route.urn
        assert sorted(r.inputs["routeTableId"] for r in private_routes) == [f"net-private-rt-{i}_id" for i in range(AZ_COUNT)]
        assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in private_routes), [r.urn for r in private_routes]
        assert interface == [], [e.urn for e in interface]
    else:
        assert public == [] and d.of_type(IGW) == [] and d.of_type(EIP) == [], f"{mode.value}: no public side expected"
        assert d.of_type(ROUTE) == [], (
            f"{mode.value}: no routes to the internet expected, got {[r.urn for r in d.of_type(ROUTE)]}"
        )

    if mode is Egress.NAT_GATEWAY:
        nats = d.of_type(NAT)
        assert [n.name for n in nats] == ["net-nat"], "one NAT gateway for all AZs"
        assert nats[0].inputs["subnetId"] == "net-public-0_id", nats[0].urn
        assert nats[0].inputs["allocationId"] == "eipalloc-net-nat-eip", nats[0].urn
        assert all(r.inputs.get("natGatewayId") == "net-nat_id" for r in private_routes), [r.urn for r in private_routes]
        assert d.of_type(INSTANCE) == []
    elif mode is Egress.NAT_INSTANCE:
        _check_nat_instance(d, private_routes)
    elif mode is Egress.ENDPOINTS:
        _check_interface_endpoints(d, interface)
    else:
        assert interface == [] and d.of_type(NAT) == [] and d.of_type(INSTANCE) == [], "egress none declares nothing extra"
        assert [e.name for e in d.of_type(ENDPOINT)] == ["net-s3-endpoint"]


def _check_nat_instance(d: Deployment, private_routes: list[Res]) -> None:
    assert d.of_type(NAT) == [], "nat-instance declares no NAT gateway"
    instance = d.one("net-nat-instance")
    i = instance.inputs
    assert i["instanceType"] == "t4g.nano", instance.urn
    assert i["ami"] == AMI_ID, instance.urn
    assert i["subnetId"] == "net-public-0_id", instance.urn
    assert i["sourceDestCheck"] is False, instance.urn
    assert i["metadataOptions"]["httpTokens"] == "required", instance.urn
    assert i["rootBlockDevice"]["encrypted"] is True and i["rootBlockDevice"]["volumeType"] == "gp3", instance.urn
    assert "net.ipv4.ip_forward = 1" in i["userData"] and f"-s {CIDR} -j MASQUERADE" in i["userData"], instance.urn
    ami_calls = [args for token, args in d.calls if token == "aws:ec2/getAmi:getAmi"]
    assert len(ami_calls) == 1, ami_calls
    assert ami_calls[0]["mostRecent"] is True and ami_calls[0]["owners"] == ["amazon"], ami_calls
    assert {"name": "name", "values": ["al2023-ami-2023.*-arm64"]} in ami_calls[0]["filters"], ami_calls
    eip = d.one("net-nat-eip")
    assert eip.inputs["instance"] == "net-nat-instance_id" and eip.inputs["domain"] == "vpc", eip.urn
    assert all(r.inputs.get("networkInterfaceId") == "eni-net-nat-instance" for r in private_routes), [
        r.urn for r in private_routes
    ]
    assert i["vpcSecurityGroupIds"] == ["net-nat-sg_id"], instance.urn
    nat_ingress = [r for r in d.of_type(INGRESS) if r.inputs["securityGroupId"] == "net-nat-sg_id"]
    assert nat_ingress and all(r.inputs["cidrIpv4"] == CIDR for r in nat_ingress), [r.urn for r in nat_ingress]


def _check_interface_endpoints(d: Deployment, interface: list[Res]) -> None:
    expected = {f"com.amazonaws.{REGION}.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "sts", "ecs", "ecs-agent", "ecs-telemetry")}
    assert {e.inputs["serviceName"] for e in interface} == expected, [e.urn for e in interface]
    assert len(interface) == 7
    for e in interface:
        assert e.inputs["privateDnsEnabled"] is True, e.urn
        assert e.inputs["subnetIds"] == [f"net-private-{i}_id" for i in range(AZ_COUNT)], e.urn
        assert e.inputs["securityGroupIds"] == ["net-endpoints-sg_id"], e.urn
    rules = [r for r in d.of_type(INGRESS) if r.inputs["securityGroupId"] == "net-endpoints-sg_id"]
    assert [(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in rules] == [
        ("tcp", 443, 443, CIDR)
    ], [r.urn for r in rules]
    assert d.of_type(NAT) == [] and d.of_type(INSTANCE) == []


# ---------------------------------------------------------------- adopt mode


def test_adopt_declares_no_vpc_of_its_own(adopted):
    for typ in (VPC, SUBNET, ROUTE_TABLE, RTA, IGW, NAT, INSTANCE, DEFAULT_SG, ROUTE):
        assert adopted.of_type(typ) == [], f"adopt mode declared {[r.urn for r in adopted.of_type(typ)]}"


def test_adopt_outputs_are_the_configured_ids(adopted):
    assert adopted.outputs == {
        "vpc_id": "vpc-0adopted",
        "private_subnet_ids": ["subnet-0a", "subnet-0b"],
        "private_route_table_ids": ["rtb-0a", "rtb-0b"],
        "batch_security_group_id": "net-batch-sg_id",
    }


def test_adopt_attaches_s3_endpoint_batch_sg_and_flow_logs(adopted):
    s3 = adopted.one("net-s3-endpoint")
    assert s3.inputs["vpcId"] == "vpc-0adopted" and sorted(s3.inputs["routeTableIds"]) == ["rtb-0a", "rtb-0b"], s3.urn
    assert [e.name for e in adopted.of_type(ENDPOINT)] == ["net-s3-endpoint"]
    _check_batch_sg(adopted, "vpc-0adopted")
    _check_flow_logs(adopted, "vpc-0adopted", retention=90)
    _check_parented_and_tagged(adopted)


# ---------------------------------------------------------------- contradictory inputs


def test_subnet_plan_must_match_az_count():
    settings, plan = create_settings(Egress.NONE)
    short = capacity.SubnetPlan(private=plan.private[:2], public=(), usable_private_ips=0)
    with pytest.raises(ValueError, match="2 private subnets for azCount 3"):
        Network("bad", NetworkArgs(environment="dev", settings=settings, subnets=short, tags=TAGS))


def test_nat_egress_needs_public_subnets():
    settings, plan = create_settings(Egress.NONE)
    nat = settings.model_copy(update={"egress": Egress.NAT_GATEWAY})
    with pytest.raises(ValueError, match="needs 3 public subnets, got 0"):
        Network("bad", NetworkArgs(environment="dev", settings=nat, subnets=plan, tags=TAGS))


def test_adopt_takes_no_plan_and_needs_ids():
    _, plan = create_settings(Egress.NONE)
    with pytest.raises(ValueError, match="adopt mode takes no SubnetPlan"):
        Network("bad", NetworkArgs(environment="dev", settings=ADOPTED, subnets=plan, tags=TAGS))
    empty = NetworkSettings(mode=NetworkMode.ADOPT)
    with pytest.raises(ValueError, match="vpcId.*privateSubnetIds.*privateRouteTableIds"):
        Network("bad", NetworkArgs(environment="dev", settings=empty, subnets=None, tags=TAGS))


# ---------------------------------------------------------------- shared checks


def _check_batch_sg(d: Deployment, vpc_id: str) -> None:
    sg = d.one("net-batch-sg")
    assert sg.typ == SG and sg.inputs["vpcId"] == vpc_id, sg.urn
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), f"{sg.urn}: rules belong in rule resources"
    ingress = [r for r in d.of_type(INGRESS) if r.inputs["securityGroupId"] == "net-batch-sg_id"]
    assert ingress == [], f"Batch SG must have no ingress: {[r.urn for r in ingress]}"
    egress_rules = [r for r in d.of_type(EGRESS) if r.inputs["securityGroupId"] == "net-batch-sg_id"]
    assert [(r.inputs["ipProtocol"], r.inputs["cidrIpv4"]) for r in egress_rules] == [("-1", "0.0.0.0/0")], [
        r.urn for r in egress_rules
    ]
    assert d.outputs["batch_security_group_id"] == "net-batch-sg_id"


def _check_flow_logs(d: Deployment, vpc_id: str, retention: int) -> None:
    group = d.one("net-flow-logs")
    assert group.typ == LOG_GROUP and group.inputs["retentionInDays"] == retention, group.urn
    role = d.one("net-flow-logs-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "vpc-flow-logs.amazonaws.com"}], role.urn
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, role.urn
    policy = d.one("net-flow-logs-policy")
    assert policy.inputs["role"] == "net-flow-logs-role_id", policy.urn
    doc = json.loads(policy.inputs["policy"])
    resources = [r for s in doc["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert resources == [group.arn, f"{group.arn}:log-stream:*"], policy.urn
    flows = d.of_type(FLOW_LOG)
    assert [f.name for f in flows] == ["net-flow-log"], [f.urn for f in flows]
    f = flows[0].inputs
    assert f["vpcId"] == vpc_id and f["trafficType"] == "ALL", flows[0].urn
    assert f["logDestinationType"] == "cloud-watch-logs" and f["logDestination"] == group.arn, flows[0].urn
    assert f["iamRoleArn"] == role.arn, flows[0].urn


def _check_parented_and_tagged(d: Deployment) -> None:
    children = [r for r in d.resources.values() if r.typ != COMPONENT]
    assert children
    for r in children:
        assert r.parent.endswith(f"{COMPONENT}::net"), f"{r.urn} is not parented to the Network component"
        assert r.name.startswith("net-"), f"{r.urn} is not named after the component"
        if r.typ in TAGGABLE:
            assert r.inputs.get("tags") == TAGS, f"{r.urn} lacks the stack tags"


# ---------------------------------------------------------------- pure helpers (no mocks)


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("t4g.nano", "arm64"),
        ("c7gn.large", "arm64"),
        ("m6gd.xlarge", "arm64"),
        ("t3.nano", "x86_64"),
        ("c6i.large", "x86_64"),
        ("g5.xlarge", "x86_64"),
    ],
)
def test_ami_architecture_follows_the_instance_family(instance_type, arch):
    assert egress.ami_architecture(instance_type) == arch
    assert egress.al2023_ami_name_pattern(instance_type) == f"al2023-ami-2023.*-{arch}"


def test_al2023_pattern_excludes_minimal_and_other_architecture():
    pattern = egress.al2023_ami_name_pattern("t4g.nano")
    assert fnmatch.fnmatch("al2023-ami-2023.6.20250115.0-kernel-6.1-arm64", pattern)
    assert not fnmatch.fnmatch("al2023-ami-minimal-2023.6.20250115.0-kernel-6.1-arm64", pattern)
    assert not fnmatch.fnmatch("al2023-ami-2023.6.20250115.0-kernel-6.1-x86_64", pattern)


def test_only_nat_modes_need_public_subnets():
    assert {e for e in Egress if egress.needs_public_subnets(e)} == {Egress.NAT_GATEWAY, Egress.NAT_INSTANCE}


def test_nat_user_data_forwards_and_masquerades_persistently():
    script = egress.nat_instance_user_data("10.42.0.0/16")
    assert script.startswith("#!/bin/bash\n")
    assert "/etc/sysctl.d/" in script and "net.ipv4.ip_forward = 1" in script
    assert "-s 10.42.0.0/16 -j MASQUERADE" in script
    assert "iptables-save > /etc/sysconfig/iptables" in script and "systemctl enable --now iptables" in script


def test_flow_log_role_policy_is_scoped_to_one_group():
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:flow"
    doc = policies.flow_logs_role_policy(arn)
    for statement in doc["Statement"]:
        assert statement["Resource"] == [arn, f"{arn}:log-stream:*"], statement
        assert "logs:CreateLogGroup" not in statement["Action"] and "*" not in statement["Action"], statement
    with pytest.raises(ValueError):
        policies.flow_logs_role_policy("*")


def test_pick_zones_takes_the_first_n_or_names_the_key_to_fix():
    assert egress.pick_zones(ZONES, 3) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    with pytest.raises(ValueError, match=r"azCount is 6 but the region has only 4 available AZs"):
        egress.pick_zones(ZONES, 6)


def test_endpoint_names():
    assert egress.endpoint_service_name("eu-west-1", "ecr.dkr") == "com.amazonaws.eu-west-1.ecr.dkr"
    assert [egress.endpoint_suffix(s) for s in egress.INTERFACE_ENDPOINT_SERVICES] == [
        "ecr-api",
        "ecr-dkr",
        "logs",
        "sts",
        "ecs",
        "ecs-agent",
        "ecs-telemetry",
    ]
