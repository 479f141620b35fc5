"""The Metaflow UI through the whole program (plain mocks): on in prod, off elsewhere; its ALB logs into the
access-log bucket, created only after that bucket admits Elastic Load Balancing under the UI's prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import naming
from infra.config import load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]
ALB = "aws:lb/loadBalancer:LoadBalancer"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_program(REPO, "prod", PlainMocks())


def one(run: ProgramRun, typ: str, name: str):
    found = [r for r in run.registrations if r.type == typ and r.name == name]
    assert len(found) == 1, f"{run.stack}: expected one {typ} {name}, got {[r.urn for r in found]}"
    return found[0]


def test_prod_exports_the_ui_url_and_the_albs_name(prod):
    ui = load_from_files(REPO, "prod").settings.metadata.ui
    assert ui.enabled, "prod runs the UI (stacks/Pulumi.prod.yaml)"
    assert prod.outputs["metadataUiUrl"] == f"https://{ui.domain_name}/", prod.outputs.get("metadataUiUrl")
    assert "metadataUiLoadBalancerDns" in prod.outputs, "no ALB DNS name exported (plain mocks compute no value)"


def test_prod_alb_logs_into_the_access_log_bucket_after_elb_is_admitted(prod):
    alb = one(prod, ALB, "metadata-ui-alb")
    log_bucket = naming.log_bucket("acme-ml", "prod")
    assert alb.inputs["accessLogs"] == {"bucket": log_bucket, "prefix": "metadata-ui", "enabled": True}, alb.urn
    policy = one(prod, BUCKET_POLICY, "datastore-logs-policy")
    assert policy.urn in alb.dependencies, f"{alb.urn} must wait for {policy.urn} (ELB checks it can write at creation)"
    statements = {st.get("Sid"): st for st in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["ElbAccessLogs"]["Resource"].endswith(f"{log_bucket}/metadata-ui/AWSLogs/123456789012/*"), policy.urn


@pytest.mark.parametrize("stack", ["local", "dev", "staging"])
def test_other_stacks_have_no_ui_and_no_elb_log_grant(stack):
    assert not load_from_files(REPO, stack).settings.metadata.ui.enabled
    run = run_program(REPO, stack, PlainMocks())
    assert "metadataUiUrl" not in run.outputs, stack
    albs = [r.urn for r in run.registrations if r.type == ALB and "ui" in r.name]
    assert not albs, albs
    policy = one(run, BUCKET_POLICY, "datastore-logs-policy")
    assert "ElbAccessLogs" not in policy.inputs["policy"], f"{policy.urn}: ELB admitted without a UI"


def test_prod_alarms_watch_the_ui_by_its_load_balancer_and_target_groups(prod):
    alarms = {r.inputs["name"]: r for r in prod.registrations if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    alb = one(prod, ALB, "metadata-ui-alb")
    for part in ("backend", "static"):
        alarm = alarms[f"strata-prod-ui-{part}-unhealthy"]
        group = one(prod, "aws:lb/targetGroup:TargetGroup", f"metadata-ui-{part}")
        dims = alarm.inputs["dimensions"]
        assert alarm.inputs["namespace"] == "AWS/ApplicationELB" and alarm.inputs["metricName"] == "HealthyHostCount", alarm.urn
        # The ARN suffix (app/<name>/<id>, targetgroup/<name>/<id>) carries the name.
        assert group.inputs["name"] == f"strata-prod-ui-{part}" and group.inputs["name"] in dims["TargetGroup"], (alarm.urn, dims)
        assert alb.inputs["name"] == "strata-prod-ui" and alb.inputs["name"] in dims["LoadBalancer"], (alarm.urn, dims)
    assert "strata-prod-ui-5xx" in alarms, sorted(alarms)
