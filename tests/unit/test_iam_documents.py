"""tools/iam_documents.py: finding every IAM document, the linters' view, the wildcard rule."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tools import iam_documents as iam

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"}],
}


def r(typ: str, name: str, **inputs):
    return SimpleNamespace(urn=f"urn:{typ}::{name}", type=typ, name=name, inputs=inputs)


def test_documents_are_found_by_type_and_attribute():
    resources = [
        r(
            "aws:iam/role:Role",
            "job",
            assumeRolePolicy=json.dumps(TRUST),
            inlinePolicies=[{"name": "x", "policy": json.dumps(KEY_POLICY)}],
        ),
        r("aws:iam/rolePolicy:RolePolicy", "job", policy=json.dumps(KEY_POLICY)),
        r("aws:s3/bucketPolicy:BucketPolicy", "bucket", policy=json.dumps(KEY_POLICY)),
        r("aws:kms/key:Key", "key", policy=json.dumps(KEY_POLICY)),
        r("aws:kms/key:Key", "default-policy-key"),  # no policy input: nothing to lint
        r("aws:s3/bucket:Bucket", "bucket"),
    ]
    found = iam.documents(resources, {"urn:aws:iam/role:Role::job": "arn:aws:iam::1:role/job"})
    assert [(d.id, d.kind) for d in found] == [
        ("job:assumeRolePolicy", iam.TRUST),
        ("job:inlinePolicies[0].policy", iam.IDENTITY),
        ("job:policy", iam.IDENTITY),
        ("bucket:policy", iam.RESOURCE),
        ("key:policy", iam.RESOURCE),
    ]
    assert found[0].holder_arn == "arn:aws:iam::1:role/job"


def test_a_document_that_is_not_json_names_its_resource():
    with pytest.raises(ValueError, match="urn:aws:iam/rolePolicy:RolePolicy::bad: policy is not JSON"):
        iam.documents([r("aws:iam/rolePolicy:RolePolicy", "bad", policy="{not json")])


def test_lint_view_gives_trust_policies_their_role_and_key_policies_their_key():
    role = iam.IamDocument("u", "aws:iam/role:Role", "job", "assumeRolePolicy", iam.TRUST, TRUST, "arn:aws:iam::1:role/job")
    assert iam.lint_view(role)["Statement"][0]["Resource"] == "arn:aws:iam::1:role/job"
    assert "Resource" not in TRUST["Statement"][0]  # the original is untouched
    key = iam.IamDocument("u", "aws:kms/key:Key", "key", "policy", iam.RESOURCE, KEY_POLICY, "arn:aws:kms:r:1:key/k")
    assert iam.lint_view(key)["Statement"][0]["Resource"] == "arn:aws:kms:r:1:key/k"
    bucket = iam.IamDocument("u", "aws:s3/bucketPolicy:BucketPolicy", "b", "policy", iam.RESOURCE, KEY_POLICY, "arn:aws:s3:::b")
    assert iam.lint_view(bucket)["Statement"][0]["Resource"] == "*"  # "*" means "*" outside key policies


@pytest.mark.parametrize(
    ("action", "resource", "bad"),
    [
        ("*", "*", True),
        ("s3:*", "*", True),
        (["s3:GetObject", "iam:*"], ["arn:aws:s3:::b", "*"], True),
        ("s3:*", "arn:aws:s3:::b/*", False),
        ("s3:Get*", "*", False),
        ("batch:DescribeJobs", "*", False),
    ],
)
def test_wildcard_statements(action, resource, bad):
    doc = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    assert bool(iam.wildcard_statements(doc)) is bad


def test_managed_policy_arns_are_listed():
    attached = iam.managed_policy_arns(
        [r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", policyArn="arn:aws:iam::aws:policy/X")]
    )
    assert attached == [("urn:aws:iam/rolePolicyAttachment:RolePolicyAttachment::a", "arn:aws:iam::aws:policy/X")]
