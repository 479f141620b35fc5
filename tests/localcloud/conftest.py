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

from localcloud import LocalEngine, configure_moto, start_moto
from localcloud.server import MotoServer


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
