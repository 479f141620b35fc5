"""The model versions in the team's bucket: ``s3://<bucket>/teams/<team>/models/<NAME>/<VERSION>/``.

boto3 with the caller's credentials (the team's data-scientist role may write under its own ``teams/<team>/``);
``AWS_ENDPOINT_URL`` reaches the local cloud. Versions are never overwritten: a deployment writes the next one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from strata.serve.manifests import ARTIFACT_FILE, SETTINGS_FILE, ServeProblem, models_prefix, version_prefix


def s3_client() -> Any:
    import boto3

    return boto3.client("s3")


@contextmanager
def _calling(what: str) -> Iterator[None]:
    """boto3's errors while doing ``what`` as ServeProblems that say what to do."""
    try:
        yield
    except NoCredentialsError:
        raise ServeProblem("no AWS credentials found: log in (e.g. `aws sso login`) or set AWS_PROFILE") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "403"):
            raise ServeProblem(f"AWS refused to {what}: use your team's data-scientist role") from None
        raise ServeProblem(f"AWS refused to {what}: {code or exc}") from None
    except BotoCoreError as exc:
        raise ServeProblem(f"could not reach S3 to {what}: {exc}") from None


def versions(s3: Any, bucket: str, team: str, name: str) -> list[int]:
    """The versions of model ``name`` in the bucket, ascending (a version is a folder holding model-settings.json)."""
    prefix = f"{models_prefix(team)}{name}/"
    found: set[int] = set()
    with _calling(f"list s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                folder, _, leaf = item["Key"][len(prefix) :].partition("/")
                if leaf == SETTINGS_FILE and folder.isdigit() and not folder.startswith("0"):
                    found.add(int(folder))
    return sorted(found)


def upload(s3: Any, bucket: str, team: str, name: str, version: int, artifact: Path, settings: dict[str, Any]) -> str:
    """Write version ``version``: the artifact first, model-settings.json last (a version counts once its settings
    exist, so an interrupted upload is not taken for a version)."""
    prefix = version_prefix(team, name, version)
    with _calling(f"write s3://{bucket}/{prefix}"):
        s3.upload_file(str(artifact), bucket, prefix + ARTIFACT_FILE)
        s3.put_object(Bucket=bucket, Key=prefix + SETTINGS_FILE, Body=json.dumps(settings, indent=2).encode())
    return f"s3://{bucket}/{prefix}"


def download(s3: Any, bucket: str, team: str, name: str, version: int, out: Path) -> dict[str, Any]:
    """Version ``version`` into ``out`` (model.joblib, model-settings.json); returns the settings."""
    prefix = version_prefix(team, name, version)
    out.mkdir(parents=True, exist_ok=True)
    with _calling(f"read s3://{bucket}/{prefix}"):
        if version not in versions(s3, bucket, team, name):
            raise ServeProblem(f"no version {version} of model {name!r} at s3://{bucket}/{prefix}: check the name and version")
        s3.download_file(bucket, prefix + ARTIFACT_FILE, str(out / ARTIFACT_FILE))
        body = s3.get_object(Bucket=bucket, Key=prefix + SETTINGS_FILE)["Body"].read()
    return json.loads(body)
