"""A data scientist's process environment against the shared moto server: only what Metaflow and boto3 read, with
moto's fake credentials, no instance metadata, and nothing of the caller's own AWS or Metaflow settings. Shared by
the Metaflow-extension tests that run Metaflow as a subprocess (test_mfext_moto, test_mfext_kubernetes)."""

from __future__ import annotations

import os
from pathlib import Path

REGION = "us-east-1"


def user_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "METAFLOW_HOME": str(tmp_path / "mf"),
        "USER": "alice",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "METAFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }
