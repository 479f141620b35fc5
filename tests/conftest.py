"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
