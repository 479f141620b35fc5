"""The locked moto authorises S3 requests with the IAM actions AWS uses — the tenant-isolation suite relies on it.

moto 5.2.6 checks each S3 request against its API operation name instead of the IAM action AWS
documents (``s3:ListObjectsV2`` instead of ``s3:ListBucket``, ``s3:GetObject`` for a request with a
``versionId`` instead of ``s3:GetObjectVersion``). Under IAM enforcement that refuses every listing
and lets a plain ``GetObject`` grant read old versions, so ``tests/e2e/test_tenant_isolation.py``
fails for the wrong reason. This canary pins the behaviour the suite needs, in-process and in under a
second, so a relock (``scripts/update-deps.sh``) that picks up such a moto fails here with the reason
instead of deep inside the isolation suite. Details: localcloud/README.md, "moto versions".

AWS's mapping of operations to actions:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
"""

from __future__ import annotations

import json

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

BUCKET = "canary-bucket"
# Exactly what a team's data-scientist role is granted on its prefix (modules/team/policies.py): the
# plain actions, none of the *Version ones.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    ],
}
# Requests made before enforcement starts (moto counts them): bucket, versioning, two objects, the user,
# its key and its policy.
SETUP_CALLS = 7


@pytest.fixture
def decide(monkeypatch):
    """{operation: "allowed" | "denied"} for the canary requests, made as a user holding POLICY."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "METAFLOW_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    @set_initial_no_auth_action_count(SETUP_CALLS)
    @mock_aws
    def run() -> dict[str, str]:
        root_s3 = boto3.client("s3", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        root_s3.create_bucket(Bucket=BUCKET)
        root_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        kept = root_s3.put_object(Bucket=BUCKET, Key="teams/a/x", Body=b"1")["VersionId"]
        doomed = root_s3.put_object(Bucket=BUCKET, Key="teams/a/y", Body=b"2")["VersionId"]
        iam.create_user(UserName="canary")
        key = iam.create_access_key(UserName="canary")["AccessKey"]
        iam.put_user_policy(UserName="canary", PolicyName="canary", PolicyDocument=json.dumps(POLICY))
        s3 = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )
        requests = {
            "ListObjectsV2": lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="teams/a/"),
            "ListObjects": lambda: s3.list_objects(Bucket=BUCKET),
            "GetObject": lambda: s3.get_object(Bucket=BUCKET, Key="teams/a/x"),
            "HeadObject": lambda: s3.head_object(Bucket=BUCKET, Key="teams/a/x"),
            "GetObject+versionId": lambda: s3.get_object(Bucket=BUCKET, Key="teams/a/x", VersionId=kept),
            "DeleteObject+versionId": lambda: s3.delete_object(Bucket=BUCKET, Key="teams/a/y", VersionId=doomed),
        }
        verdicts = {}
        for name, request in requests.items():
            try:
                request()
                verdicts[name] = "allowed"
            except ClientError as exc:
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403, exc
                verdicts[name] = "denied"
        return verdicts

    return run()


def test_moto_maps_s3_requests_to_the_iam_actions_aws_uses(decide):
    # On AWS: listing needs s3:ListBucket, HEAD needs s3:GetObject, and naming a version needs the
    # *Version action, which the policy does not grant.
    expected = {
        "ListObjectsV2": "allowed",
        "ListObjects": "allowed",
        "GetObject": "allowed",
        "HeadObject": "allowed",
        "GetObject+versionId": "denied",
        "DeleteObject+versionId": "denied",
    }
    assert decide == expected, (
        f"moto {moto.__version__} authorises S3 requests unlike AWS: {decide} (AWS: {expected}). "
        "The tenant-isolation suite cannot trust it; keep the lock on a moto that passes "
        "(localcloud/README.md, 'moto versions')."
    )
