"""The network layer: a private VPC (or an adopted one) sized from the capacity config, its egress, and
the always-on pieces every mode gets: S3 gateway endpoint, Batch security group, flow logs."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import capacity
from modules.base import Component, LayerArgs, LogKeyArgs
from modules.network import egress, policies
from modules.network.settings import Egress, NetworkMode, NetworkSettings


@dataclass
class NetworkArgs(LayerArgs, LogKeyArgs):
    """Inputs of :class:`Network`. ``environment`` is used in descriptions; ``log_kms_key_arn`` encrypts the
    flow-log group."""

    settings: NetworkSettings
    """``strata:network``. ``mode`` create|adopt; ``egress`` nat-gateway|nat-instance|endpoints|none
    (create mode only; an adopted VPC keeps its own egress); ``flow_log_retention_days``."""
    subnets: capacity.SubnetPlan | None
    """The subnets to carve (``Platform.subnets``, planned from the compute capacity). Required in
    create mode (``private`` has ``az_count`` entries; ``public`` too when egress is a NAT); None in adopt mode."""


class Network(Component):
    """Private subnets for Batch, egress per ``settings.egress``, S3 gateway endpoint, flow logs."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    private_route_table_ids: pulumi.Output[list[str]]
    batch_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)  # before registering anything
        super().__init__("strata:network:Network", name, None, opts)
        self._name = name
        self._env = args.environment
        self._tags = dict(args.tags)
        s = args.settings
        region = self._aws.region

        vpc_id: pulumi.Output[str]
        subnet_ids: pulumi.Output[list[str]]
        route_table_ids: Sequence[pulumi.Input[str]]
        if s.mode is NetworkMode.CREATE:
            assert args.subnets is not None and s.cidr is not None  # _check
            vpc_id, subnet_ids, route_table_ids = self._create(s, args.subnets, region)
        else:
            # An adopted VPC: we declare nothing of its own (its owners keep subnets, routes, egress
            # and default security group); we only attach what Strata needs to it.
            assert s.vpc_id is not None  # _check
            vpc_id = pulumi.Output.from_input(s.vpc_id)
            subnet_ids = pulumi.Output.from_input(list(s.private_subnet_ids))
            route_table_ids = list(s.private_route_table_ids)

        # Datastore traffic never crosses a NAT: the S3 gateway endpoint is free and routes S3 (also ECR
        # image layers and the Amazon Linux repositories, which live in S3) from the private route tables.
        # Its default policy allows any bucket on purpose: ECR layers and OS packages come from AWS-owned
        # buckets. https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc_id,
            service_name=region.apply(lambda r: egress.endpoint_service_name(r, "s3")),
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            tags=self._tags,
            opts=self._child(),
        )

        # Batch compute: nothing may connect in; out to ECR/S3/ECS/logs (directly, through the NAT or
        # through the endpoints, whichever egress the VPC has).
        batch_sg = aws.ec2.SecurityGroup(
            f"{name}-batch-sg",
            vpc_id=vpc_id,
            description=f"Strata {self._env} Batch compute: no ingress, all egress",
            tags=self._tags,
            opts=self._child(),
        )
        self._egress_anywhere(f"{name}-batch-sg-egress", batch_sg, "Batch instances pull images and reach AWS APIs")

        self._flow_logs(vpc_id, s.flow_log_retention_days, args.log_kms_key_arn)

        self.vpc_id = vpc_id
        self.private_subnet_ids = subnet_ids
        self.private_route_table_ids = pulumi.Output.all(*route_table_ids) if route_table_ids else pulumi.Output.from_input([])
        self.batch_security_group_id = batch_sg.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "private_route_table_ids": self.private_route_table_ids,
                "batch_security_group_id": self.batch_security_group_id,
            }
        )

    # ------------------------------------------------------------------ create mode

    def _create(
        self, s: NetworkSettings, plan: capacity.SubnetPlan, region: pulumi.Output[str]
    ) -> tuple[pulumi.Output[str], pulumi.Output[list[str]], list[pulumi.Output[str]]]:
        name = self._name
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=s.cidr,
            # Both are required for interface endpoints' private DNS and for EC2 hostnames.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags,
            opts=self._child(),
        )
        # Lock the default security group down (no rules): anything launched without an explicit
        # group gets no network access instead of "all traffic between members".
        # https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=self._tags, opts=self._child()
        )

        zones = aws.get_availability_zones_output(state="available", opts=self._invoke_opts()).names
        az_count = s.az_count

        def zone(i: int) -> pulumi.Output[str]:
            return zones.apply(lambda names: egress.pick_zones(names, az_count)[i])

        private_subnets: list[aws.ec2.Subnet] = []
        private_tables: list[aws.ec2.RouteTable] = []
        for i, cidr in enumerate(plan.private):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone(i),
                # No public IPs on compute, ever: egress is NAT, endpoints or nothing.
                map_public_ip_on_launch=False,
                tags=self._tags,
                opts=self._child(),
            )
            # One route table per AZ, so that a NAT per AZ can be added later without re-associating.
            table = aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=vpc.id, tags=self._tags, opts=self._child())
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}", subnet_id=subnet.id, route_table_id=table.id, opts=self._child()
            )
            private_subnets.append(subnet)
            private_tables.append(table)

        if egress.needs_public_subnets(s.egress):
            public_subnets, igw = self._public(vpc, plan, zone)
            if s.egress is Egress.NAT_GATEWAY:
                self._nat_gateway(public_subnets[0], igw, private_tables)
            else:
                self._nat_instance(s, vpc, public_subnets[0], igw, private_tables)
        elif s.egress is Egress.ENDPOINTS:
            self._interface_endpoints(s.cidr or "", vpc, private_subnets, region)
        # Egress.NONE: the S3 gateway endpoint (declared for every mode) is the only way out.

        subnet_ids = pulumi.Output.all(*[sn.id for sn in private_subnets])
        return vpc.id, subnet_ids, [t.id for t in private_tables]

    def _public(
        self, vpc: aws.ec2.Vpc, plan: capacity.SubnetPlan, zone: Callable[[int], pulumi.Output[str]]
    ) -> tuple[list[aws.ec2.Subnet], aws.ec2.InternetGateway]:
        """Public /28s (one per AZ, so that per-AZ NAT can come later), an internet gateway and its route."""
        name = self._name
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags, opts=self._child())
        table = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=self._tags, opts=self._child())
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=table.id,
            destination_cidr_block=egress.ANY_IPV4,
            gateway_id=igw.id,
            opts=self._child(),
        )
        subnets = []
        for i, cidr in enumerate(plan.public):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone(i),
                # The NAT's address is an Elastic IP; nothing here gets an automatic public IP.
                map_public_ip_on_launch=False,
                tags=self._tags,
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{i}", subnet_id=subnet.id, route_table_id=table.id, opts=self._child()
            )
            subnets.append(subnet)
        return subnets, igw

    def _private_default_routes(self, tables: list[aws.ec2.RouteTable], **target: pulumi.Input[str]) -> None:
        for i, table in enumerate(tables):
            aws.ec2.Route(
                f"{self._name}-private-default-{i}",
                route_table_id=table.id,
                destination_cidr_block=egress.ANY_IPV4,
                opts=self._child(),
                **target,
            )

    def _nat_gateway(self, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway, tables: list[aws.ec2.RouteTable]) -> None:
        """One NAT gateway for all AZs: $32.85/month + $3.65 for its IPv4 instead of that per AZ.
        The price is cross-AZ traffic and the first AZ as a single point of egress; add one per AZ
        for production-grade availability."""
        name = self._name
        eip = aws.ec2.Eip(f"{name}-nat-eip", domain="vpc", tags=self._tags, opts=self._child(depends_on=[igw]))
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=eip.allocation_id,
            subnet_id=subnet.id,
            tags=self._tags,
            # A NAT gateway in a VPC without an attached internet gateway never becomes available.
            opts=self._child(depends_on=[igw]),
        )
        self._private_default_routes(tables, nat_gateway_id=nat.id)

    def _nat_instance(
        self,
        s: NetworkSettings,
        vpc: aws.ec2.Vpc,
        subnet: aws.ec2.Subnet,
        igw: aws.ec2.InternetGateway,
        tables: list[aws.ec2.RouteTable],
    ) -> None:
        """One NAT instance (t4g.nano: $3.07/month + $3.65 IPv4). No HA: if it stops, private egress
        stops until it is back; jobs retry. Fine for dev; production uses nat-gateway."""
        name = self._name
        cidr = s.cidr or ""
        sg = aws.ec2.SecurityGroup(
            f"{name}-nat-sg",
            vpc_id=vpc.id,
            description=f"Strata {self._env} NAT instance: in from the VPC only, out to the internet",
            tags=self._tags,
            opts=self._child(),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nat-sg-from-vpc",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4=cidr,
            description="Traffic to translate, from the VPC only",
            tags=self._tags,
            opts=self._child(),
        )
        self._egress_anywhere(f"{name}-nat-sg-egress", sg, "Translated traffic to the internet")
        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=["amazon"],
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[egress.al2023_ami_name_pattern(s.nat_instance_type)]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=[egress.ami_architecture(s.nat_instance_type)]),
            ],
            opts=self._invoke_opts(),
        )
        instance = aws.ec2.Instance(
            f"{name}-nat-instance",
            ami=ami.id,
            instance_type=s.nat_instance_type,
            subnet_id=subnet.id,
            vpc_security_group_ids=[sg.id],
            # It forwards packets that are neither from nor to itself.
            source_dest_check=False,
            # Its public address is the Elastic IP below, which survives a stop/start.
            associate_public_ip_address=False,
            # IMDSv2 only. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            # 8 GB is the AL2023 AMI's snapshot size: stated so its cost is known ($0.64/month in gp3).
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True, volume_type="gp3", volume_size=egress.NAT_ROOT_VOLUME_GB
            ),
            user_data=egress.nat_instance_user_data(cidr),
            user_data_replace_on_change=True,
            tags=self._tags,
            opts=self._child(depends_on=[igw]),
        )
        aws.ec2.Eip(f"{name}-nat-eip", domain="vpc", instance=instance.id, tags=self._tags, opts=self._child(depends_on=[igw]))
        self._private_default_routes(tables, network_interface_id=instance.primary_network_interface_id)

    def _interface_endpoints(
        self, vpc_cidr: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet], region: pulumi.Output[str]
    ) -> None:
        """Interface endpoints for everything Batch on EC2 needs, in every private subnet:
        $7.30 per endpoint per AZ (7 endpoints x 2 AZs = $102.20/month) and no internet route."""
        name = self._name
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description=f"Strata {self._env} interface endpoints: HTTPS from the VPC",
            tags=self._tags,
            opts=self._child(),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-sg-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=vpc_cidr,
            description="AWS API calls from the VPC",
            tags=self._tags,
            opts=self._child(),
        )
        subnet_ids = [sn.id for sn in subnets]
        for service in egress.INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{egress.endpoint_suffix(service)}",
                vpc_id=vpc.id,
                service_name=region.apply(functools.partial(egress.endpoint_service_name, service=service)),
                vpc_endpoint_type="Interface",
                # The public service hostnames resolve to the endpoint inside the VPC: no client changes.
                private_dns_enabled=True,
                subnet_ids=subnet_ids,
                security_group_ids=[sg.id],
                tags=self._tags,
                opts=self._child(),
            )

    # ------------------------------------------------------------------ every mode

    def _flow_logs(self, vpc_id: pulumi.Input[str], retention_days: int, kms_key_arn: pulumi.Input[str] | None) -> None:
        """All traffic (accepted and rejected) to CloudWatch Logs: $0.50/GB ingested + $0.03/GB-month."""
        name = self._name
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=retention_days,
            kms_key_id=kms_key_arn,
            tags=self._tags,
            opts=self._child(),
        )
        account_id = self._aws.account_id
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description=f"Strata {self._env}: VPC Flow Logs writes into its log group",
            assume_role_policy=account_id.apply(lambda a: json.dumps(policies.flow_logs_trust_policy(a))),
            tags=self._tags,
            opts=self._child(),
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=group.arn.apply(lambda arn: json.dumps(policies.flow_logs_role_policy(arn))),
            opts=self._child(),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=egress.FLOW_LOG_AGGREGATION_SECONDS,
            tags=self._tags,
            # The role must be able to write before the service first tries.
            opts=self._child(depends_on=[role_policy]),
        )

    def _egress_anywhere(self, resource_name: str, sg: aws.ec2.SecurityGroup, description: str) -> None:
        """Allow ``sg`` all outbound traffic (any protocol, any IPv4 destination)."""
        aws.vpc.SecurityGroupEgressRule(
            resource_name,
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4=egress.ANY_IPV4,
            description=description,
            tags=self._tags,
            opts=self._child(),
        )


def _check(args: NetworkArgs) -> None:
    """Contradictory inputs fail at construction with the key to fix (config validation normally
    catches them first; this guards direct use of the component)."""
    s = args.settings
    problems = []
    if s.mode is NetworkMode.CREATE:
        if s.cidr is None:
            problems.append("create mode needs strata:network.cidr")
        if args.subnets is None:
            problems.append("create mode needs a SubnetPlan (infra.config.build_platform plans it)")
        else:
            if len(args.subnets.private) != s.az_count:
                problems.append(f"{len(args.subnets.private)} private subnets for azCount {s.az_count}")
            if egress.needs_public_subnets(s.egress) and len(args.subnets.public) != s.az_count:
                problems.append(f"egress {s.egress.value} needs {s.az_count} public subnets, got {len(args.subnets.public)}")
    else:
        if not s.vpc_id:
            problems.append("adopt mode needs strata:network.vpcId")
        if not s.private_subnet_ids:
            problems.append("adopt mode needs strata:network.privateSubnetIds")
        if not s.private_route_table_ids:
            problems.append("adopt mode needs strata:network.privateRouteTableIds (for the S3 gateway endpoint)")
        if args.subnets is not None:
            problems.append("adopt mode takes no SubnetPlan (subnets=None)")
    if problems:
        raise ValueError("Network: " + "; ".join(problems))
