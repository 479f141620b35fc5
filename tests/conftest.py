"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The moto server the tests share (scripts/test.sh starts one: STRATA_TEST_MOTO_ENDPOINT), or one of this
    session's own."""
    shared = os.environ.get("STRATA_TEST_MOTO_ENDPOINT")
    if shared:
        yield shared
        return
    from localcloud.server import start_moto

    server = start_moto()
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="session")
def moto_client(moto_endpoint: str) -> Callable[[str], Any]:
    """``moto_client("s3")``: a boto3 client of the shared moto server (its fake credentials, us-east-1)."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=moto_endpoint)
