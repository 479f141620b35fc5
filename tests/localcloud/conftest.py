"""Fixtures for the local engine tests: one moto server for the session, and a program runner.

Tests share the server and do not reset it (a reset costs about a second): each test uses its own
logical names, so its resources never collide with another test's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pulumi
import pytest

from core.settings import Team
from localcloud import LocalEngine, configure_moto, start_moto
from localcloud.server import MotoServer
from modules.metadata.settings import MetadataSettings


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """The shared server scripts/test.sh (and so CI) starts, or one of our own when run directly."""
    shared = os.environ.get("STRATA_TEST_MOTO_ENDPOINT")
    if shared:
        configure_moto(shared)
        yield SimpleNamespace(endpoint=shared)
        return
    server: MotoServer = start_moto()
    configure_moto(server.endpoint)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cloud(moto_server: MotoServer) -> Callable[..., Any]:
    """``cloud("s3")``: a boto3 client on the test server, to check what really exists."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    clients: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str = "us-east-1") -> Any:
        if (service, region) not in clients:
            clients[service, region] = session.client(service, region_name=region, endpoint_url=moto_server.endpoint)
        return clients[service, region]

    return client


@pytest.fixture
def engine(moto_server: MotoServer) -> LocalEngine:
    return LocalEngine(moto_server.endpoint)


Program = Callable[[], dict[str, Any]]


def _deploy(
    engine: LocalEngine,
    program: Program,
    *,
    preview: bool = False,
    monitor: pulumi.runtime.mocks.MockMonitor | None = None,
) -> dict[str, Any]:
    """Run ``program`` under the engine and return the outputs it returns, resolved.

    The root stack resource survives ``set_mocks`` within a process, so it is reset first.
    """
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(engine, project="strata", stack="t", preview=preview, monitor=monitor)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output:
        return pulumi.Output.from_input(program()).apply(resolved.update)

    run()
    return resolved


@pytest.fixture
def deploy() -> Callable[..., dict[str, Any]]:
    """``deploy(engine, program, preview=False, monitor=None)`` -> the program's resolved outputs."""
    return _deploy


# ---------------------------------------------------------------- the Metadata component in moto

METADATA_TEAMS = [
    Team(
        name=t,
        cost_center="cc",
        contacts=("a@example.com",),
        priority=1,
        max_vcpus=8,
        gpu_max_vcpus=0,
        principals=("arn:aws:iam::123456789012:root",),
    )
    for t in ("alpha", "beta")
]


def declare_metadata(name: str, env: str, cidr: int, settings: MetadataSettings):
    """Inside a program: the Metadata component on its own VPC (2 AZs), Batch group, KMS key and team job roles.
    Logical names start with ``name`` (the server is shared).
    Returns ``(metadata, vpc)``."""
    import json

    import pulumi_aws as aws

    from core import naming
    from modules.metadata import policies as mp
    from modules.metadata.component import Metadata, MetadataArgs

    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=f"10.{cidr}.0.0/16")
    subnets = [
        aws.ec2.Subnet(f"{name}-subnet-{i}", vpc_id=vpc.id, cidr_block=f"10.{cidr}.{i}.0/24", availability_zone=f"us-east-1{z}")
        for i, z in enumerate("ab")
    ]
    batch_sg = aws.ec2.SecurityGroup(f"{name}-batch-sg", vpc_id=vpc.id, description="batch")
    key = aws.kms.Key(f"{name}-key", description="platform")
    trust = json.dumps(mp.service_trust_policy(mp.ECS_TASKS_SERVICE))
    job_roles = {
        t.name: aws.iam.Role(f"{name}-job-{t.name}", name=naming.job_role(env, t.name), assume_role_policy=trust)
        for t in METADATA_TEAMS
    }
    md = Metadata(
        name,
        MetadataArgs(
            environment=env,
            settings=settings,
            teams=METADATA_TEAMS,
            vpc_id=vpc.id,
            subnet_ids=pulumi.Output.all(*[s.id for s in subnets]),
            client_security_group_id=batch_sg.id,
            kms_key_arn=key.arn,
            job_role_arns={t: r.arn for t, r in job_roles.items()},
            protect=False,
            tags={"environment": env},
            vpc_cidr=vpc.cidr_block,
        ),
    )
    return md, vpc
