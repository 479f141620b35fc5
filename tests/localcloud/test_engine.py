"""The local engine against a real moto server: what a program declares must exist in moto, with
the declared settings, and the state the program sees must carry moto's ids and ARNs."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime.mocks import MockMonitor

from localcloud import NOT_EMULATED, LocalEngine, LocalEngineError, RecordingMonitor, start_moto
from localcloud.handlers.registry import auto_name
from localcloud.server import is_up

ACCOUNT = "123456789012"  # moto's default account


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "AccountRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                },
            ],
        }
    )


# --- names and server ------------------------------------------------------------------------------


def test_auto_names_are_deterministic_and_fit_service_limits():
    assert auto_name("datastore") == auto_name("datastore")
    assert auto_name("datastore") != auto_name("datastore2")
    assert auto_name("Data", lowercase=True).startswith("data-")
    long_name = auto_name("x" * 100, max_len=64)
    assert len(long_name) == 64 and long_name[-8] == "-"


def test_start_moto_serves_and_stops():
    server = start_moto()
    try:
        assert server.pid and server.endpoint == f"http://127.0.0.1:{server.port}"
        assert is_up(server.endpoint)
    finally:
        server.stop()
    assert not is_up(server.endpoint)


# --- one program per service -----------------------------------------------------------------------


def test_kms_key_rotation_and_alias(engine, deploy, cloud):
    def program():
        key = aws.kms.Key("kms-key", description="datastore", enable_key_rotation=True)
        alias = aws.kms.Alias("kms-alias", name="alias/strata-test-kms", target_key_id=key.key_id)
        return {"arn": key.arn, "key_id": key.key_id, "id": key.id, "alias_arn": alias.arn, "target": alias.target_key_arn}

    out = deploy(engine, program)
    kms = cloud("kms")
    meta = kms.describe_key(KeyId=out["key_id"])["KeyMetadata"]
    assert out["arn"] == meta["Arn"] and out["id"] == meta["KeyId"]
    assert kms.get_key_rotation_status(KeyId=out["key_id"])["KeyRotationEnabled"]
    aliases = {a["AliasName"]: a for a in kms.list_aliases(KeyId=out["key_id"])["Aliases"]}
    assert aliases["alias/strata-test-kms"]["AliasArn"] == out["alias_arn"]
    assert out["target"] == meta["Arn"]


def test_s3_bucket_is_hardened_in_moto(engine, deploy, cloud):
    def program():
        key = aws.kms.Key("s3-key", enable_key_rotation=True)
        logs = aws.s3.Bucket("s3-logs", bucket="strata-test-access-logs", tags={"purpose": "logs"})
        aws.s3.BucketOwnershipControls("s3-logs-owner", bucket=logs.id, rule={"object_ownership": "BucketOwnerEnforced"})
        data = aws.s3.Bucket("s3-datastore", force_destroy=False, tags={"team": "platform"})
        aws.s3.BucketVersioning("s3-versioning", bucket=data.id, versioning_configuration={"status": "Enabled"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            "s3-sse",
            bucket=data.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                    "bucket_key_enabled": True,
                }
            ],
        )
        aws.s3.BucketPublicAccessBlock(
            "s3-pab",
            bucket=data.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3.BucketLifecycleConfiguration(
            "s3-lifecycle",
            bucket=data.id,
            rules=[
                {
                    "id": "abort-uploads",
                    "status": "Enabled",
                    "filter": {},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                },
                {
                    "id": "old-versions",
                    "status": "Enabled",
                    "filter": {"prefix": "teams/"},
                    "noncurrent_version_expiration": {"noncurrent_days": 30},
                },
            ],
        )
        aws.s3.BucketLogging("s3-logging", bucket=data.id, target_bucket=logs.id, target_prefix="datastore/")
        return {
            "bucket": data.bucket,
            "arn": data.arn,
            "id": data.id,
            "key_arn": key.arn,
            "domain": data.bucket_regional_domain_name,
        }

    out = deploy(engine, program)
    s3 = cloud("s3")
    name = out["bucket"]
    assert name == auto_name("s3-datastore", lowercase=True) == out["id"]
    assert out["arn"] == f"arn:aws:s3:::{name}"
    assert out["domain"] == f"{name}.s3.us-east-1.amazonaws.com"
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": out["key_arn"]}
    assert rule["BucketKeyEnabled"] is True
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["abort-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rules["old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert s3.get_bucket_logging(Bucket=name)["LoggingEnabled"] == {
        "TargetBucket": "strata-test-access-logs",
        "TargetPrefix": "datastore/",
    }
    # The logging workaround left no policy behind on the log bucket.
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket="strata-test-access-logs")
    assert s3.get_bucket_ownership_controls(Bucket="strata-test-access-logs")["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    assert {"Key": "team", "Value": "platform"} in s3.get_bucket_tagging(Bucket=name)["TagSet"]


def test_tls_only_deny_is_kept_in_state_but_not_put_into_moto(engine, deploy, cloud):
    def program():
        bucket = aws.s3.Bucket("tls-bucket", bucket="strata-test-tls-only")
        policy = aws.s3.BucketPolicy("tls-policy", bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy))
        return {"policy": policy.policy}

    out = deploy(engine, program)
    s3 = cloud("s3")
    state_sids = [s["Sid"] for s in json.loads(out["policy"])["Statement"]]
    moto_sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket="strata-test-tls-only")["Policy"])["Statement"]]
    assert state_sids == ["DenyInsecureTransport", "AccountRead"]
    assert moto_sids == ["AccountRead"]
    assert any("DenyInsecureTransport" in note for note in engine.emulation_notes)
    s3.put_object(Bucket="strata-test-tls-only", Key="teams/a/x", Body=b"ok")  # object I/O still works
    assert s3.get_object(Bucket="strata-test-tls-only", Key="teams/a/x")["Body"].read() == b"ok"


def test_iam_roles_policies_and_instance_profile(engine, deploy, cloud):
    long_name = "iam-job-role-for-a-team-whose-name-is-long-enough-to-pass-sixty-four"

    def program():
        role = aws.iam.Role(long_name, assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"), tags={"team": "a"})
        policy = aws.iam.Policy(
            "iam-read-policy",
            policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
            ),
        )
        aws.iam.RolePolicyAttachment("iam-attach-own", role=role.name, policy_arn=policy.arn)
        aws.iam.RolePolicyAttachment(
            "iam-attach-managed",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        )
        inline = aws.iam.RolePolicy(
            "iam-inline",
            role=role.name,
            policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
            ),
        )
        profile = aws.iam.InstanceProfile("iam-profile", role=role.name)
        return {
            "role": role.name,
            "role_arn": role.arn,
            "unique_id": role.unique_id,
            "policy_arn": policy.arn,
            "inline": inline.name,
            "profile": profile.name,
            "profile_arn": profile.arn,
        }

    out = deploy(engine, program)
    iam = cloud("iam")
    assert len(out["role"]) <= 64 and out["role"] == auto_name(long_name, max_len=64)
    described = iam.get_role(RoleName=out["role"])["Role"]
    assert (out["role_arn"], out["unique_id"]) == (described["Arn"], described["RoleId"])
    assert {"Key": "team", "Value": "a"} in described["Tags"]
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=out["role"])["AttachedPolicies"]}
    assert attached == {out["policy_arn"], "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}
    assert iam.list_role_policies(RoleName=out["role"])["PolicyNames"] == [out["inline"]]
    profile = iam.get_instance_profile(InstanceProfileName=out["profile"])["InstanceProfile"]
    assert profile["Arn"] == out["profile_arn"] and [r["RoleName"] for r in profile["Roles"]] == [out["role"]]


def test_network_with_nat_instance_endpoints_and_flow_logs(engine, deploy, cloud):
    def program():
        zones = aws.get_availability_zones(state="available")
        ami = aws.ec2.get_ami(
            most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-2023*-arm64"]}]
        )
        vpc = aws.ec2.Vpc("net-vpc", cidr_block="10.20.0.0/16", enable_dns_hostnames=True, tags={"Name": "strata-net"})
        aws.ec2.DefaultSecurityGroup("net-default-sg", vpc_id=vpc.id)
        public = aws.ec2.Subnet(
            "net-public", vpc_id=vpc.id, cidr_block="10.20.0.0/24", availability_zone=zones.names[0], map_public_ip_on_launch=True
        )
        private = aws.ec2.Subnet("net-private", vpc_id=vpc.id, cidr_block="10.20.1.0/24", availability_zone=zones.names[1])
        igw = aws.ec2.InternetGateway("net-igw", vpc_id=vpc.id)
        public_rt = aws.ec2.RouteTable("net-public-rt", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}])
        aws.ec2.RouteTableAssociation("net-public-rta", route_table_id=public_rt.id, subnet_id=public.id)
        eip = aws.ec2.Eip("net-eip", domain="vpc")
        nat_gw = aws.ec2.NatGateway("net-natgw", subnet_id=public.id, allocation_id=eip.id)
        nat_sg = aws.ec2.SecurityGroup("net-nat-sg", vpc_id=vpc.id, description="NAT instance")
        aws.vpc.SecurityGroupIngressRule("net-nat-in", security_group_id=nat_sg.id, ip_protocol="-1", cidr_ipv4="10.20.0.0/16")
        egress = aws.vpc.SecurityGroupEgressRule(
            "net-nat-out", security_group_id=nat_sg.id, ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0"
        )
        nat = aws.ec2.Instance(
            "net-nat-instance",
            ami=ami.id,
            instance_type="t4g.nano",
            subnet_id=public.id,
            vpc_security_group_ids=[nat_sg.id],
            source_dest_check=False,
            associate_public_ip_address=True,
            metadata_options={"http_tokens": "required"},
            tags={"Name": "nat"},
        )
        private_rt = aws.ec2.RouteTable("net-private-rt", vpc_id=vpc.id)
        aws.ec2.Route(
            "net-default-route",
            route_table_id=private_rt.id,
            destination_cidr_block="0.0.0.0/0",
            network_interface_id=nat.primary_network_interface_id,
        )
        aws.ec2.Route(
            "net-natgw-route", route_table_id=private_rt.id, destination_cidr_block="192.168.0.0/16", nat_gateway_id=nat_gw.id
        )
        aws.ec2.RouteTableAssociation("net-private-rta", route_table_id=private_rt.id, subnet_id=private.id)
        batch_sg = aws.ec2.SecurityGroup(
            "net-batch-sg",
            vpc_id=vpc.id,
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
            ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "self": True}],
        )
        s3_endpoint = aws.ec2.VpcEndpoint(
            "net-s3",
            vpc_id=vpc.id,
            service_name="com.amazonaws.us-east-1.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[private_rt.id],
        )
        ecr_endpoint = aws.ec2.VpcEndpoint(
            "net-ecr",
            vpc_id=vpc.id,
            service_name="com.amazonaws.us-east-1.ecr.api",
            vpc_endpoint_type="Interface",
            subnet_ids=[private.id],
            security_group_ids=[batch_sg.id],
            private_dns_enabled=True,
        )
        log_group = aws.cloudwatch.LogGroup("net-flow-logs", retention_in_days=14)
        flow_role = aws.iam.Role("net-flow-role", assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"))
        flow = aws.ec2.FlowLog(
            "net-flow", vpc_id=vpc.id, traffic_type="REJECT", log_destination=log_group.arn, iam_role_arn=flow_role.arn
        )
        template = aws.ec2.LaunchTemplate(
            "net-batch-lt",
            metadata_options={"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": "enabled"},
            block_device_mappings=[
                {"device_name": "/dev/xvda", "ebs": {"volume_size": 100, "volume_type": "gp3", "encrypted": "true"}}
            ],
        )
        return {
            "vpc": vpc.id,
            "vpc_arn": vpc.arn,
            "default_sg": vpc.default_security_group_id,
            "public": public.id,
            "private_rt": private_rt.id,
            "nat": nat.id,
            "nat_eni": nat.primary_network_interface_id,
            "nat_public_ip": nat.public_ip,
            "egress_rule": egress.security_group_rule_id,
            "nat_sg": nat_sg.id,
            "batch_sg": batch_sg.id,
            "prefix_list": s3_endpoint.prefix_list_id,
            "ecr_eni": ecr_endpoint.network_interface_ids,
            "flow": flow.id,
            "template": template.id,
            "template_version": template.latest_version,
            "eip_ip": eip.public_ip,
            "natgw_ip": nat_gw.public_ip,
        }

    out = deploy(engine, program)
    ec2 = cloud("ec2")
    (vpc,) = ec2.describe_vpcs(VpcIds=[out["vpc"]])["Vpcs"]
    assert out["vpc_arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{out['vpc']}"
    assert {"Key": "Name", "Value": "strata-net"} in vpc["Tags"]
    assert ec2.describe_vpc_attribute(VpcId=out["vpc"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    (default_sg,) = ec2.describe_security_groups(GroupIds=[out["default_sg"]])["SecurityGroups"]
    assert default_sg["IpPermissions"] == [] and default_sg["IpPermissionsEgress"] == []  # stripped
    assert ec2.describe_subnets(SubnetIds=[out["public"]])["Subnets"][0]["MapPublicIpOnLaunch"]
    # NAT instance: forwarding enabled, reachable through the private route table.
    check = ec2.describe_instance_attribute(InstanceId=out["nat"], Attribute="sourceDestCheck")["SourceDestCheck"]
    assert check == {"Value": False} and out["nat_public_ip"]
    (private_rt,) = ec2.describe_route_tables(RouteTableIds=[out["private_rt"]])["RouteTables"]
    routes = {r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"): r for r in private_rt["Routes"]}
    assert routes["0.0.0.0/0"]["NetworkInterfaceId"] == out["nat_eni"]
    assert routes["192.168.0.0/16"]["NatGatewayId"].startswith("nat-")
    assert routes[out["prefix_list"]]["GatewayId"].startswith("vpce-")  # the S3 gateway endpoint
    assert out["natgw_ip"] == out["eip_ip"]
    # Security groups: only the declared rules (the default allow-all egress is revoked).
    (nat_sg,) = ec2.describe_security_groups(GroupIds=[out["nat_sg"]])["SecurityGroups"]
    assert [(p["IpProtocol"], p.get("FromPort")) for p in nat_sg["IpPermissionsEgress"]] == [("tcp", 443)]
    assert nat_sg["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "10.20.0.0/16"}]
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[out["egress_rule"]])["SecurityGroupRules"]
    assert rules[0]["GroupId"] == out["nat_sg"] and rules[0]["IsEgress"]
    (batch_sg,) = ec2.describe_security_groups(GroupIds=[out["batch_sg"]])["SecurityGroups"]
    assert batch_sg["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == out["batch_sg"]  # self
    assert len(out["ecr_eni"]) == 1
    (flow,) = ec2.describe_flow_logs(FlowLogIds=[out["flow"]])["FlowLogs"]
    assert flow["DeliverLogsStatus"] == "SUCCESS" and flow["TrafficType"] == "REJECT"
    data = ec2.describe_launch_template_versions(LaunchTemplateId=out["template"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"
    ]
    assert data["MetadataOptions"]["HttpTokens"] == "required" and data["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert data["BlockDeviceMappings"][0]["Ebs"] == {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": True}
    assert out["template_version"] == 1


def test_batch_environments_scale_to_zero_and_queue_orders_them(engine, deploy, cloud):
    def program():
        vpc = aws.ec2.Vpc("batch-vpc", cidr_block="10.30.0.0/16")
        subnet = aws.ec2.Subnet("batch-subnet", vpc_id=vpc.id, cidr_block="10.30.0.0/24")
        sg = aws.ec2.SecurityGroup(
            "batch-sg", vpc_id=vpc.id, egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]
        )
        role = aws.iam.Role("batch-instance-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
        aws.iam.RolePolicyAttachment(
            "batch-instance-ecs",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        )
        profile = aws.iam.InstanceProfile("batch-instance-profile", role=role.name)
        template = aws.ec2.LaunchTemplate("batch-lt", metadata_options={"http_tokens": "required"})
        ec2_resources = {
            "min_vcpus": 0,
            "max_vcpus": 256,
            "subnets": [subnet.id],
            "security_group_ids": [sg.id],
            "instance_role": profile.arn,
            "launch_template": {"launch_template_id": template.id, "version": "$Latest"},
            "ec2_configurations": [{"image_type": "ECS_AL2023"}],
        }
        on_demand = aws.batch.ComputeEnvironment(
            "batch-cpu",
            type="MANAGED",
            compute_resources={
                **ec2_resources,
                "type": "EC2",
                "allocation_strategy": "BEST_FIT_PROGRESSIVE",
                "instance_types": ["optimal"],
            },
            tags={"team": "shared"},
        )
        spot = aws.batch.ComputeEnvironment(
            "batch-spot",
            type="MANAGED",
            compute_resources={
                **ec2_resources,
                "type": "SPOT",
                "allocation_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                "instance_types": ["c5", "m5"],
            },
        )
        fargate = aws.batch.ComputeEnvironment(
            "batch-fargate",
            type="MANAGED",
            compute_resources={"type": "FARGATE", "max_vcpus": 64, "subnets": [subnet.id], "security_group_ids": [sg.id]},
        )
        queue = aws.batch.JobQueue(
            "batch-queue",
            state="ENABLED",
            priority=10,
            compute_environment_orders=[
                {"order": 1, "compute_environment": spot.arn},
                {"order": 2, "compute_environment": on_demand.arn},
            ],
        )
        return {
            "cpu": on_demand.arn,
            "cpu_name": on_demand.name,
            "spot": spot.arn,
            "fargate": fargate.arn,
            "queue": queue.arn,
            "queue_name": queue.name,
            "status": on_demand.status,
            "template": template.id,
        }

    out = deploy(engine, program)
    batch = cloud("batch")
    envs = {
        e["computeEnvironmentArn"]: e
        for e in batch.describe_compute_environments(computeEnvironments=[out["cpu"], out["spot"], out["fargate"]])[
            "computeEnvironments"
        ]
    }
    cpu = envs[out["cpu"]]
    assert cpu["computeEnvironmentName"] == out["cpu_name"] and cpu["status"] == out["status"] == "VALID"
    assert cpu["computeResources"]["minvCpus"] == 0 and cpu["computeResources"]["maxvCpus"] == 256
    assert cpu["computeResources"]["launchTemplate"]["launchTemplateId"] == out["template"]
    assert cpu["computeResources"]["ec2Configuration"] == [{"imageType": "ECS_AL2023"}]
    assert cpu["tags"] == {"team": "shared"}
    assert envs[out["spot"]]["computeResources"]["type"] == "SPOT"
    assert envs[out["fargate"]]["computeResources"]["type"] == "FARGATE"
    (queue,) = batch.describe_job_queues(jobQueues=[out["queue"]])["jobQueues"]
    assert queue["jobQueueName"] == out["queue_name"] and queue["priority"] == 10
    assert [(o["order"], o["computeEnvironment"]) for o in queue["computeEnvironmentOrder"]] == [
        (1, out["spot"]),
        (2, out["cpu"]),
    ]


def test_ssm_parameter_log_group_and_invokes(engine, deploy, cloud):
    def program():
        key = aws.kms.Key("obs-key")
        logs = aws.cloudwatch.LogGroup("obs-logs", name="/strata/test/batch", retention_in_days=30, kms_key_id=key.arn)
        secret = aws.ssm.Parameter("obs-secret", name="/strata/test/secret", type="SecureString", value="s3cret")
        profile = aws.ssm.Parameter("obs-profile", name="/strata/test/profile", type="String", value='{"a": 1}', tier="Standard")
        read_back = aws.ssm.get_parameter_output(name=secret.name)
        identity = aws.get_caller_identity()
        region = aws.get_region()
        partition = aws.get_partition()
        zones = aws.get_availability_zones()
        ami = aws.ec2.get_ami(
            most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-2023*-x86_64"]}]
        )
        return {
            "logs_arn": logs.arn,
            "key_arn": key.arn,
            "secret_arn": secret.arn,
            "secret_version": secret.version,
            "profile_arn": profile.arn,
            "read_back": read_back.value,
            "account": identity.account_id,
            "region": region.region,
            "partition": partition.partition,
            "dns_suffix": partition.dns_suffix,
            "zones": zones.names,
            "zone_ids": zones.zone_ids,
            "ami": ami.id,
            "ami_arn": ami.arn,
            "ami_name": ami.name,
        }

    out = deploy(engine, program)
    (group,) = cloud("logs").describe_log_groups(logGroupNamePrefix="/strata/test/batch")["logGroups"]
    assert group["retentionInDays"] == 30 and group["kmsKeyId"] == out["key_arn"]
    assert out["logs_arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/strata/test/batch"
    ssm = cloud("ssm")
    secret = ssm.get_parameter(Name="/strata/test/secret", WithDecryption=True)["Parameter"]
    assert (secret["Type"], secret["Value"], secret["ARN"]) == ("SecureString", "s3cret", out["secret_arn"])
    assert out["secret_version"] == 1 and out["read_back"] == "s3cret"
    assert out["profile_arn"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/strata/test/profile"
    assert (out["account"], out["region"]) == (ACCOUNT, "us-east-1")
    assert (out["partition"], out["dns_suffix"]) == ("aws", "amazonaws.com")
    zones = cloud("ec2").describe_availability_zones()["AvailabilityZones"]
    assert out["zones"] == sorted(z["ZoneName"] for z in zones) and len(out["zone_ids"]) == len(out["zones"])
    (image,) = cloud("ec2").describe_images(ImageIds=[out["ami"]])["Images"]
    assert image["Name"] == out["ami_name"] and out["ami_arn"] == f"arn:aws:ec2:us-east-1::image/{out['ami']}"


# --- engine behaviour --------------------------------------------------------------------------------


def test_unsupported_type_raises_naming_the_type(engine, deploy):
    def program():
        return {"queue": aws.sqs.Queue("unsupported-queue").arn}

    with pytest.raises(LocalEngineError, match=r"no handler for aws:sqs/queue:Queue; add one in localcloud/handlers"):
        deploy(engine, program)


def test_not_emulated_types_are_listed_loudly(moto_server, deploy):
    events = []
    engine = LocalEngine(moto_server.endpoint, on_event=lambda *event: events.append(event))

    def program():
        namespace = aws.redshiftserverless.Namespace("warehouse-ns", namespace_name="strata-test")
        bucket = aws.s3.Bucket("emulated-bucket", bucket="strata-test-emulated")
        return {"namespace": namespace.id, "bucket": bucket.id}

    out = deploy(engine, program)
    (record,) = engine.not_emulated_used()
    assert record.type == "aws:redshiftserverless/namespace:Namespace"
    assert record.not_emulated_reason == NOT_EMULATED[record.type] and "Redshift Serverless" in record.not_emulated_reason
    assert out["namespace"] == "warehouse-ns-not-emulated"
    assert sorted(events) == [
        ("create", "aws:s3/bucket:Bucket", "emulated-bucket"),
        ("not-emulated", "aws:redshiftserverless/namespace:Namespace", "warehouse-ns"),
    ]


def test_preview_creates_nothing(moto_server, deploy, cloud):
    engine = LocalEngine(moto_server.endpoint, preview=True)
    before = (
        len(cloud("s3").list_buckets()["Buckets"]),
        len(cloud("ec2").describe_vpcs()["Vpcs"]),
        len(cloud("iam").list_roles()["Roles"]),
    )

    def program():
        zones = aws.get_availability_zones()  # invokes still answer in a preview
        bucket = aws.s3.Bucket("preview-bucket", bucket="strata-test-preview")
        aws.s3.BucketPolicy("preview-policy", bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy))
        vpc = aws.ec2.Vpc("preview-vpc", cidr_block="10.40.0.0/16")
        aws.ec2.Subnet("preview-subnet", vpc_id=vpc.id, cidr_block="10.40.0.0/24", availability_zone=zones.names[0])
        aws.iam.Role("preview-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
        return {"zones": zones.names}

    out = deploy(engine, program, preview=True)
    after = (
        len(cloud("s3").list_buckets()["Buckets"]),
        len(cloud("ec2").describe_vpcs()["Vpcs"]),
        len(cloud("iam").list_roles()["Roles"]),
    )
    assert after == before
    assert out["zones"]
    assert {r.type for r in engine.resources} == {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:iam/role:Role",
    }
    assert all(r.id is None for r in engine.resources)


class Team(pulumi.ComponentResource):
    """A tiny component, to check pass-through and parents."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:test:Team", name, None, opts)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, retain_on_delete=True, aliases=[pulumi.Alias(name="old-role")]
            ),
        )
        # A resource object where pulumi-aws expects the role's name: the engine receives its id.
        self.attachment = aws.iam.RolePolicyAttachment(
            f"{name}-s3",
            role=self.role,
            policy_arn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"role": self.role.name})


def test_recording_monitor_records_options_and_passes_urns(engine, deploy, cloud):
    monitor = RecordingMonitor(engine)

    def program():
        team = Team("rec-team")
        eu = aws.Provider("rec-eu", region="eu-west-1")
        bucket = aws.s3.Bucket("rec-eu-bucket", bucket="strata-test-eu", opts=pulumi.ResourceOptions(provider=eu))
        return {"role": team.role.name, "attachment": team.attachment.id, "bucket_region": bucket.region}

    out = deploy(engine, program, monitor=monitor)
    by_name = {r.name: r for r in monitor.registrations}
    component, role, attachment = by_name["rec-team"], by_name["rec-team-role"], by_name["rec-team-s3"]
    assert component.type == "strata:test:Team" and not component.custom
    assert role.parent == component.urn and role.urn.endswith("strata:test:Team$aws:iam/role:Role::rec-team-role")
    assert (role.protect, role.retain_on_delete) == (True, True)
    assert role.aliases and role.aliases[0]["name"] == "old-role"
    assert role.inputs["assumeRolePolicy"].startswith("{") and role.id == out["role"]
    assert attachment.inputs["role"] == out["role"]  # the reference arrived as the role's id
    assert attachment.dependencies == [role.urn]
    assert (
        cloud("iam").list_attached_role_policies(RoleName=out["role"])["AttachedPolicies"][0]["PolicyName"]
        == "AmazonS3ReadOnlyAccess"
    )
    # The engine's records carry the URNs; components and providers are not cloud resources.
    records = {r.name: r for r in engine.resources}
    assert records["rec-team-role"].urn == role.urn and "rec-team" not in records and "rec-eu" not in records
    # The explicit provider's region is honoured.
    assert out["bucket_region"] == "eu-west-1"
    assert cloud("s3", "eu-west-1").get_bucket_location(Bucket="strata-test-eu")["LocationConstraint"] == "eu-west-1"


def test_plain_mock_monitor_works_and_resolves_references(engine, deploy, cloud):
    def program():
        team = Team("plain-team")
        return {"role": team.role.name, "attachment": team.attachment.id}

    out = deploy(engine, program, monitor=MockMonitor(engine))
    assert out["attachment"].startswith(out["role"] + "/")
    assert cloud("iam").list_attached_role_policies(RoleName=out["role"])["AttachedPolicies"]
    assert all(r.urn is None for r in engine.resources)


def test_recording_monitor_works_with_any_mocks(deploy):
    class EchoMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return {}

    mocks = EchoMocks()
    monitor = RecordingMonitor(mocks)

    def program():
        team = Team("echo-team")
        return {"attachment_role": team.attachment.role}

    out = deploy(mocks, program, monitor=monitor)
    assert out["attachment_role"] == "echo-team-role-id"  # the reference arrived as the role's id
    assert {r.name: r.id for r in monitor.registrations}["echo-team-role"] == "echo-team-role-id"


def test_direct_calls_without_a_program(engine, cloud):
    """The Mocks interface on its own: args built by hand (``custom`` unset) and invokes."""
    from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

    inputs = {"name": "/strata/test/direct", "type": "String", "value": "v", "tags": {"a": "b"}}
    param_id, state = engine.new_resource(MockResourceArgs(typ="aws:ssm/parameter:Parameter", name="direct", inputs=inputs))
    assert param_id == "/strata/test/direct" and state["version"] == 1 and state["tagsAll"] == {"a": "b"}
    assert cloud("ssm").get_parameter(Name="/strata/test/direct")["Parameter"]["Value"] == "v"
    assert engine.new_resource(MockResourceArgs(typ="strata:test:Thing", name="thing", inputs={"x": 1})) == ("", {"x": 1})
    with pytest.raises(LocalEngineError, match="aws:foo/bar:Bar"):
        engine.call(MockCallArgs(token="aws:foo/bar:Bar", args={}, provider=""))
