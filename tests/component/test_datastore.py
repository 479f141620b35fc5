"""Component tests of modules.datastore under Pulumi mocks: the key, both buckets and every hardening
resource carry the right values, and ``protect`` really reaches the engine for the stateful ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from core import naming
from modules.datastore import policies
from modules.datastore.component import Datastore, DatastoreArgs
from modules.datastore.settings import DatastoreSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "acme-ml"
ENV = "dev"
TEAMS = ("fraud", "research")
TAGS = {"cost-center": "ml-platform"}
COMPONENT = "strata:datastore:Datastore"
BUCKET_NAME = naming.datastore_bucket(PREFIX, ENV)
LOG_BUCKET_NAME = naming.log_bucket(PREFIX, ENV)
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
LOG_BUCKET_ARN = f"arn:aws:s3:::{LOG_BUCKET_NAME}"

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"


# ---------------------------------------------------------------- mocks


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str = ""
    parent: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    dependencies: list[str] = field(default_factory=list)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, Res] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.setdefault(args.name, Res(args.typ, args.name, {}))
        self.resources[args.name].inputs = dict(args.inputs)
        state = dict(args.inputs)
        if args.typ == BUCKET:
            state["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
            return [args.inputs["bucket"], state]  # a bucket's id is its name
        if args.typ == KEY:
            state.update(arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{args.name}-uuid", keyId=f"{args.name}-uuid")
            return [f"{args.name}-uuid", state]
        state["arn"] = f"arn:aws:mock:::{args.name}"
        return [f"{args.name}_id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "userId": "AIDTEST", "id": ACCOUNT}
        if args.token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root"}
        raise AssertionError(f"unexpected invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """Captures what only the engine sees: protect, retainOnDelete, parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        res = self.recording.resources.setdefault(request.name, Res(request.type, request.name, {}))
        res.urn = self.make_urn(request.parent, request.type, request.name)
        res.parent = request.parent
        res.protect = bool(request.protect)
        res.retain_on_delete = bool(request.retainOnDelete)
        res.dependencies = list(request.dependencies)
        return super().RegisterResource(request)


@dataclass
class Deployment:
    resources: dict[str, Res]
    outputs: dict[str, Any]
    team_prefixes: dict[str, str]

    def one(self, name: str, typ: str) -> Res:
        assert name in self.resources, f"{name} was not declared; declared: {sorted(self.resources)}"
        res = self.resources[name]
        assert res.typ == typ, f"{res.urn} is a {res.typ}, expected {typ}"
        return res

    def of_type(self, typ: str) -> list[Res]:
        return sorted((r for r in self.resources.values() if r.typ == typ), key=lambda r: r.name)


def deploy(*, protect: bool, settings: DatastoreSettings | None = None, elb_log_prefix: str | None = None) -> Deployment:
    mocks = RecordingMocks()
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack=ENV, preview=False, monitor=RecordingMonitor(mocks))
    outputs: dict[str, Any] = {}
    prefixes: dict[str, str] = {}

    @pulumi.runtime.test
    def run():
        ds = Datastore(
            "data",
            DatastoreArgs(
                environment=ENV,
                name_prefix=PREFIX,
                settings=settings or DatastoreSettings(),
                teams=TEAMS,
                protect=protect,
                tags=TAGS,
                elb_log_prefix=elb_log_prefix,
            ),
        )
        prefixes.update(ds.team_prefixes)
        return pulumi.Output.all(
            bucket_name=ds.bucket_name,
            bucket_arn=ds.bucket_arn,
            kms_key_arn=ds.kms_key_arn,
            kms_key_id=ds.kms_key_id,
            log_bucket_name=ds.log_bucket_name,
            elb_log_bucket=ds.elb_log_bucket,
        ).apply(outputs.update)

    run()  # returns once every registration has completed
    return Deployment(mocks.resources, outputs, prefixes)


@pytest.fixture(scope="module")
def protected() -> Deployment:
    return deploy(protect=True)


@pytest.fixture(scope="module")
def unprotected() -> Deployment:
    return deploy(protect=False, settings=DatastoreSettings(tiering_after_days=None, noncurrent_version_expiration_days=30))


# ---------------------------------------------------------------- key


def test_key_rotates_and_waits_30_days_before_deletion(protected):
    key = protected.one("data-key", KEY)
    assert key.inputs["enableKeyRotation"] is True, key.urn
    assert key.inputs["deletionWindowInDays"] == 30, key.urn
    assert key.inputs["description"], key.urn
    assert "policy" not in key.inputs, f"{key.urn}: the default key policy is intended"
    alias = protected.one("data-key-alias", ALIAS)
    assert alias.inputs["name"] == "alias/strata-dev-datastore", alias.urn
    assert alias.inputs["targetKeyId"] == "data-key-uuid", alias.urn


# ---------------------------------------------------------------- buckets


def test_buckets_have_their_stable_names_and_never_force_destroy(protected):
    bucket = protected.one("data-bucket", BUCKET)
    logs = protected.one("data-logs", BUCKET)
    assert bucket.inputs["bucket"] == BUCKET_NAME == "acme-ml-dev-datastore", bucket.urn
    assert logs.inputs["bucket"] == LOG_BUCKET_NAME == "acme-ml-dev-access-logs", logs.urn
    for b in (bucket, logs):
        assert not b.inputs.get("forceDestroy"), f"{b.urn} must never force_destroy"
        assert b.inputs["tags"] == TAGS, b.urn


def test_datastore_is_sse_kms_with_bucket_key(protected):
    sse = protected.one("data-bucket-encryption", SSE)
    assert sse.inputs["bucket"] == BUCKET_NAME, sse.urn
    [rule] = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/data-key-uuid",
    }, sse.urn
    assert rule["bucketKeyEnabled"] is True, sse.urn


def test_log_bucket_is_sse_s3(protected):
    sse = protected.one("data-logs-encryption", SSE)
    assert sse.inputs["bucket"] == LOG_BUCKET_NAME, sse.urn
    [rule] = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}, sse.urn


@pytest.mark.parametrize("which", ["bucket", "logs"])
def test_versioning_public_access_block_and_ownership(protected, which):
    bucket_name = BUCKET_NAME if which == "bucket" else LOG_BUCKET_NAME
    versioning = protected.one(f"data-{which}-versioning", VERSIONING)
    assert versioning.inputs["bucket"] == bucket_name, versioning.urn
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", versioning.urn
    pab = protected.one(f"data-{which}-public-access", PAB)
    assert pab.inputs["bucket"] == bucket_name, pab.urn
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert pab.inputs[flag] is True, f"{pab.urn}: {flag}"
    ownership = protected.one(f"data-{which}-ownership", OWNERSHIP)
    assert ownership.inputs["bucket"] == bucket_name, ownership.urn
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, ownership.urn


def test_datastore_policy_is_tls_only(protected):
    policy = protected.one("data-bucket-policy", POLICY)
    assert policy.inputs["bucket"] == BUCKET_NAME, policy.urn
    doc = json.loads(policy.inputs["policy"])
    assert doc == policies.datastore_bucket_policy(BUCKET_ARN), policy.urn
    [statement] = doc["Statement"]
    assert statement["Sid"] == "DenyInsecureTransport" and statement["Effect"] == "Deny", policy.urn
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn
    assert statement["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"], policy.urn
    assert protected.one("data-bucket-public-access", PAB).urn in policy.dependencies, f"{policy.urn} must wait for the PAB"


def test_log_bucket_policy_admits_only_the_datastores_log_delivery(protected):
    policy = protected.one("data-logs-policy", POLICY)
    assert policy.inputs["bucket"] == LOG_BUCKET_NAME, policy.urn
    doc = json.loads(policy.inputs["policy"])
    allow, deny = doc["Statement"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}, policy.urn
    assert allow["Action"] == "s3:PutObject" and allow["Resource"] == f"{LOG_BUCKET_ARN}/datastore/*", policy.urn
    assert allow["Condition"] == {"ArnLike": {"aws:SourceArn": BUCKET_ARN}, "StringEquals": {"aws:SourceAccount": ACCOUNT}}, (
        policy.urn
    )
    assert deny["Sid"] == "DenyInsecureTransport" and deny["Resource"] == [LOG_BUCKET_ARN, f"{LOG_BUCKET_ARN}/*"], policy.urn


def test_access_logging_goes_to_the_log_bucket_after_its_policy(protected):
    logging = protected.one("data-bucket-logging", LOGGING)
    assert logging.inputs["bucket"] == BUCKET_NAME, logging.urn
    assert logging.inputs["targetBucket"] == LOG_BUCKET_NAME, logging.urn
    assert logging.inputs["targetPrefix"] == "datastore/", logging.urn
    assert protected.one("data-logs-policy", POLICY).urn in logging.dependencies, (
        f"{logging.urn} must wait for the log bucket policy"
    )
    assert [r.name for r in protected.of_type(LOGGING)] == ["data-bucket-logging"], "the log bucket does not log itself"


def _rules(d: Deployment, name: str) -> dict[str, dict]:
    lifecycle = d.one(name, LIFECYCLE)
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    for rid, rule in rules.items():
        assert rule["status"] == "Enabled", f"{lifecycle.urn}: {rid}"
    return rules


def test_datastore_lifecycle_with_defaults(protected):
    lifecycle = protected.one("data-bucket-lifecycle", LIFECYCLE)
    assert lifecycle.inputs["bucket"] == BUCKET_NAME, lifecycle.urn
    assert protected.one("data-bucket-versioning", VERSIONING).urn in lifecycle.dependencies, lifecycle.urn
    rules = _rules(protected, "data-bucket-lifecycle")
    assert set(rules) == {"abort-incomplete-multipart-uploads", "expire-noncurrent-versions", "intelligent-tiering"}, (
        lifecycle.urn
    )
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rules["expire-noncurrent-versions"]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules["intelligent-tiering"]["transitions"] == [{"days": 30, "storageClass": "INTELLIGENT_TIERING"}]
    for rule in rules.values():
        assert rule.get("filter", {}) == {}, f"{lifecycle.urn}: {rule['id']} must cover the whole bucket"


def test_datastore_lifecycle_follows_settings(unprotected):
    rules = _rules(unprotected, "data-bucket-lifecycle")
    assert "intelligent-tiering" not in rules, "tieringAfterDays: null turns tiering off"
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_log_lifecycle_expires_logs_and_their_versions(protected):
    rules = _rules(protected, "data-logs-lifecycle")
    assert protected.one("data-logs-lifecycle", LIFECYCLE).inputs["bucket"] == LOG_BUCKET_NAME
    assert rules["expire-access-logs"]["expiration"] == {"days": 365}
    assert rules["expire-access-logs"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


# ---------------------------------------------------------------- protect


STATEFUL = ("data-key", "data-bucket", "data-logs")


def test_protect_true_reaches_the_engine_for_buckets_and_key(protected):
    for name in STATEFUL:
        res = protected.resources[name]
        assert res.protect is True, f"{res.urn} is not protected"
        assert res.retain_on_delete is True, f"{res.urn} is not retained on delete"


def test_protect_false_leaves_them_deletable(unprotected):
    for name in STATEFUL:
        res = unprotected.resources[name]
        assert (res.protect, res.retain_on_delete) == (False, False), res.urn


def test_stateful_logical_names_are_stable(protected):
    """URNs of stateful resources must never change (renames need aliases)."""
    assert {protected.resources[n].urn for n in STATEFUL} == {
        f"urn:pulumi:{ENV}::strata::{COMPONENT}$aws:kms/key:Key::data-key",
        f"urn:pulumi:{ENV}::strata::{COMPONENT}$aws:s3/bucket:Bucket::data-bucket",
        f"urn:pulumi:{ENV}::strata::{COMPONENT}$aws:s3/bucket:Bucket::data-logs",
    }


# ---------------------------------------------------------------- outputs and shape


def test_outputs(protected):
    assert protected.outputs == {
        "bucket_name": BUCKET_NAME,
        "bucket_arn": BUCKET_ARN,
        "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/data-key-uuid",
        "kms_key_id": "data-key-uuid",
        "log_bucket_name": LOG_BUCKET_NAME,
        "elb_log_bucket": None,
    }
    assert protected.team_prefixes == {"fraud": "teams/fraud/", "research": "teams/research/"}


def test_every_child_is_parented_named_and_tagged(protected):
    children = [r for r in protected.resources.values() if r.typ != COMPONENT]
    # key + alias, 2 x (bucket, encryption, versioning, public access, ownership, policy, lifecycle), logging
    assert len(children) == 17, sorted(r.name for r in children)
    for r in children:
        assert r.parent.endswith(f"{COMPONENT}::data"), f"{r.urn} is not parented to the Datastore"
        assert r.name.startswith("data-"), r.urn
        if r.typ in (KEY, BUCKET):
            assert r.inputs.get("tags") == TAGS, f"{r.urn} lacks the stack tags"


def test_elb_may_write_the_ui_access_logs_under_its_prefix_only():
    d = deploy(protect=False, elb_log_prefix="metadata-ui/")
    policy = d.one("data-logs-policy", "aws:s3/bucketPolicy:BucketPolicy")
    statements = {st.get("Sid"): st for st in json.loads(policy.inputs["policy"])["Statement"]}
    elb = statements["ElbAccessLogs"]
    assert elb["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}, policy.urn
    assert elb["Action"] == "s3:PutObject", policy.urn
    assert elb["Resource"] == f"arn:aws:s3:::{LOG_BUCKET_NAME}/metadata-ui/AWSLogs/{ACCOUNT}/*", policy.urn
    assert "S3ServerAccessLogsPolicy" in statements, policy.urn
    assert d.outputs["elb_log_bucket"] == LOG_BUCKET_NAME


def test_no_elb_statement_without_a_ui(protected):
    policy = protected.one("data-logs-policy", "aws:s3/bucketPolicy:BucketPolicy")
    sids = [st.get("Sid") for st in json.loads(policy.inputs["policy"])["Statement"]]
    assert "ElbAccessLogs" not in sids, f"{policy.urn}: {sids}"
    assert protected.outputs["elb_log_bucket"] is None
