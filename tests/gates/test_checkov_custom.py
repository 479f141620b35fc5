"""The custom checkov checks (security/checkov), each fed a passing and a failing resource.

The plan is built with the same converter as the stacks' export (tools.planjson), so the checks see
exactly the shape they see in the gate. One checkov run for all of them (--check CKV_STRATA_*).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from gate_support import REPO, scanner

from tools import planjson
from tools.planjson import PlanResource

CHECKS = [f"CKV_STRATA_{n}" for n in range(1, 10)]
LT = "aws:ec2/launchTemplate:LaunchTemplate"
CE = "aws:batch/computeEnvironment:ComputeEnvironment"
QUEUE = "aws:batch/jobQueue:JobQueue"

SECURE_TEMPLATE = {
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1.0},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 50.0}}],
    "networkInterfaces": [{"associatePublicIpAddress": "false"}],
}


def resource(typ: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = ()) -> PlanResource:
    return PlanResource(
        urn=f"urn:{typ}::{name}", type=typ, name=name, inputs=inputs, dependencies=deps, outputs={"id": f"{name}-id"}
    )


def environment(name: str, template: PlanResource | None, **resources: Any) -> PlanResource:
    compute = {"type": "EC2", "maxVcpus": 16.0, "minVcpus": 0.0, "subnets": ["subnet-1"], **resources}
    if template is not None:
        compute["launchTemplate"] = {"launchTemplateId": f"{template.name}-id", "version": "1"}
    deps = (template.urn,) if template is not None else ()
    return resource(CE, name, {"type": "MANAGED", "computeResources": compute}, deps)


def queue(name: str, environments: int, **inputs: Any) -> PlanResource:
    orders = [
        {"order": float(i + 1), "computeEnvironment": f"arn:aws:batch:r:1:compute-environment/ce{i}"} for i in range(environments)
    ]
    return resource(QUEUE, name, {"priority": 1.0, "state": "ENABLED", "computeEnvironmentOrders": orders, **inputs})


def fixtures() -> list[PlanResource]:
    good_lt = resource(LT, "good_lt", SECURE_TEMPLATE)
    imdsv1_lt = resource(LT, "imdsv1_lt", {**SECURE_TEMPLATE, "metadataOptions": {"httpTokens": "optional"}})
    return [
        good_lt,
        imdsv1_lt,
        resource(
            LT,
            "plain_volume_lt",
            {**SECURE_TEMPLATE, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50.0}}]},
        ),
        resource(LT, "public_ip_lt", {**SECURE_TEMPLATE, "networkInterfaces": [{"associatePublicIpAddress": "true"}]}),
        resource(
            LT, "hop2_lt", {**SECURE_TEMPLATE, "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2.0}}
        ),
        environment("good_ce", good_lt),
        environment("warm_ce", good_lt, minVcpus=4.0),
        environment("no_template_ce", None),
        environment("imdsv1_ce", imdsv1_lt),
        resource(
            CE, "fargate_ce", {"type": "MANAGED", "computeResources": {"type": "FARGATE", "maxVcpus": 16.0, "subnets": ["s"]}}
        ),
        queue("good_queue", 2),
        queue("fair_share_queue", 1, schedulingPolicyArn="arn:aws:batch:r:1:scheduling-policy/fair"),
        queue("four_ce_queue", 4),
    ]


# (check, resource address) -> expected result; every check has at least one of each.
EXPECTED = {
    ("CKV_STRATA_1", "aws_batch_compute_environment.good_ce"): "passed",
    ("CKV_STRATA_1", "aws_batch_compute_environment.fargate_ce"): "passed",
    ("CKV_STRATA_1", "aws_batch_compute_environment.warm_ce"): "failed",
    ("CKV_STRATA_2", "aws_batch_compute_environment.good_ce"): "passed",
    ("CKV_STRATA_2", "aws_batch_compute_environment.fargate_ce"): "passed",
    ("CKV_STRATA_2", "aws_batch_compute_environment.no_template_ce"): "failed",
    ("CKV_STRATA_3", "aws_batch_compute_environment.good_ce"): "passed",
    ("CKV_STRATA_3", "aws_batch_compute_environment.fargate_ce"): "passed",
    ("CKV_STRATA_3", "aws_batch_compute_environment.imdsv1_ce"): "failed",
    ("CKV_STRATA_3", "aws_batch_compute_environment.no_template_ce"): "failed",
    ("CKV_STRATA_4", "aws_launch_template.good_lt"): "passed",
    ("CKV_STRATA_4", "aws_launch_template.plain_volume_lt"): "failed",
    ("CKV_STRATA_5", "aws_launch_template.good_lt"): "passed",
    ("CKV_STRATA_5", "aws_launch_template.public_ip_lt"): "failed",
    ("CKV_STRATA_6", "aws_launch_template.good_lt"): "passed",
    ("CKV_STRATA_6", "aws_launch_template.hop2_lt"): "failed",
    ("CKV_STRATA_7", "aws_batch_job_queue.good_queue"): "passed",
    ("CKV_STRATA_7", "aws_batch_job_queue.fair_share_queue"): "failed",
    ("CKV_STRATA_8", "aws_batch_job_queue.good_queue"): "passed",
    ("CKV_STRATA_8", "aws_batch_job_queue.four_ce_queue"): "failed",
    ("CKV_STRATA_9", "aws_launch_template.good_lt"): "passed",
    ("CKV_STRATA_9", "aws_launch_template.imdsv1_lt"): "failed",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[tuple[str, str], str]:
    checkov = scanner(".venv-gates", "checkov")
    plan_file = tmp_path_factory.mktemp("custom") / "plan.json"
    plan_file.write_text(json.dumps(planjson.to_terraform_plan(fixtures())))
    command = [
        str(checkov), "-f", str(plan_file), "--framework", "terraform_plan", "--skip-download", "-o", "json",
        "--external-checks-dir", str(REPO / "security" / "checkov"), "--check", ",".join(CHECKS),
    ]  # fmt: skip
    # Outside the repository, so that ./.checkov.yaml (the stacks' skips) is not read.
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=plan_file.parent)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    found = {}
    for outcome in ("passed", "failed"):
        for r in report["results"][f"{outcome}_checks"]:
            found[(r["check_id"], r["resource"])] = outcome
    return found


@pytest.mark.parametrize(("check", "address"), sorted(EXPECTED))
def test_custom_check(results, check, address):
    assert results.get((check, address)) == EXPECTED[(check, address)], (
        f"{check} on {address}: got {results.get((check, address))}"
    )


def test_every_custom_check_has_a_passing_and_a_failing_case():
    for check in CHECKS:
        outcomes = {outcome for (c, _), outcome in EXPECTED.items() if c == check}
        assert outcomes == {"passed", "failed"}, check


def test_custom_checks_have_ids_and_names():
    """Each check file declares CKV_STRATA_<n> ids with a name; no id twice."""
    text = "\n".join(p.read_text() for p in (REPO / "security" / "checkov").glob("strata_*"))
    for check in CHECKS:
        assert text.count(f'"{check}"') == 1, check
