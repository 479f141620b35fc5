"""Component tests of modules/compute under Pulumi mocks: what Compute declares, input by input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from support import Deployment as BaseDeployment
from support import RecordingMocks

from core import naming
from core.settings import Team
from modules.compute.component import Compute, ComputeArgs
from modules.compute.settings import ComputeSettings

ENV = "dev"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"cost-center": "ml-platform"}
LATEST_VERSION = 7

CE = "aws:batch/computeEnvironment:ComputeEnvironment"
QUEUE = "aws:batch/jobQueue:JobQueue"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TAGGABLE = {CE, QUEUE, ROLE, PROFILE, LAUNCH_TEMPLATE}


def team(name: str, priority: int, gpu_max_vcpus: int = 0) -> Team:
    return Team(
        name=name,
        cost_center=f"cc-{name}",
        contacts=(f"{name}@example.com",),
        priority=priority,
        max_vcpus=32,
        gpu_max_vcpus=gpu_max_vcpus,
        principals=("arn:aws:iam::111111111111:root",),
    )


TEAMS = (team("fraud", 20, gpu_max_vcpus=16), team("research", 5), team("forecasting", 10))
COST_CENTERS = {t.name: t.cost_center for t in TEAMS}
FULL = ComputeSettings.model_validate(
    {
        "cpu": {"maxVcpus": 128, "instanceTypes": ["c6i", "m6i"]},
        "spot": {"maxVcpus": 256, "bidPercentage": 60},
        "gpu": {"enabled": True, "maxVcpus": 32},
        "fargate": {"enabled": True, "maxVcpus": 16},
        "rootVolumeGb": 80,
    }
)
MINIMAL = ComputeSettings.model_validate({"cpu": {"maxVcpus": 64}, "spot": {"enabled": False}})


@dataclass
class Deployment(BaseDeployment):
    component: Any = None


class Mocks(RecordingMocks):
    """The shared echo mocks; a launch template also reports its latest version."""

    def state(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        state = super().state(args)
        if args.typ == LAUNCH_TEMPLATE:
            state["latestVersion"] = LATEST_VERSION
        return state


def start(deployment: Deployment) -> None:
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(Mocks(deployment), project="strata", stack=ENV, preview=False)


def make_args(settings: ComputeSettings) -> ComputeArgs:
    return ComputeArgs(
        environment=ENV,
        settings=settings,
        teams=TEAMS,
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-batch",
        bucket_arn=BUCKET,
        kms_key_arn=KEY,
        tags=TAGS,
    )


def deploy(settings: ComputeSettings) -> Deployment:
    """Run the component once; every registration has finished when the test function returns."""
    deployment = Deployment()
    start(deployment)

    @pulumi.runtime.test
    def program():
        c = Compute("compute", make_args(settings))
        deployment.component = c
        outputs = {
            "compute_environment_arns": c.compute_environment_arns,
            "job_queue_arns": c.job_queue_arns,
            "job_queue_names": c.job_queue_names,
            "job_role_arns": c.job_role_arns,
            "fargate_execution_role_arn": c.fargate_execution_role_arn,
            "instance_profile_arn": c.instance_profile_arn,
        }
        return pulumi.Output.from_input(outputs).apply(deployment.outputs.update)

    program()
    return deployment


@pytest.fixture(scope="module")
def full() -> Deployment:
    return deploy(FULL)


@pytest.fixture(scope="module")
def minimal() -> Deployment:
    return deploy(MINIMAL)


# ---------------------------------------------------------------- compute environments


def test_every_compute_environment_uses_the_batch_service_linked_role(full: Deployment, minimal: Deployment) -> None:
    """No serviceRole: Batch falls back to AWSServiceRoleForBatch, the only role with which it can
    change instance types, AMI, launch template or bid in place instead of replacing the environment."""
    for deployment in (full, minimal):
        ces = deployment.of(CE)
        assert ces, "no compute environment declared"
        for urn, ce in ces.items():
            assert "serviceRole" not in ce.inputs, f"{urn} sets serviceRole={ce.inputs.get('serviceRole')!r}"


def test_no_batch_service_role_is_created(full: Deployment, minimal: Deployment) -> None:
    for deployment in (full, minimal):
        for r in deployment.resources:
            if r.typ in (ROLE, ATTACHMENT):
                assert "batch-service" not in r.name, f"{r.typ}::{r.name}: the explicit Batch service role is gone"
                assert "AWSBatchServiceRole" not in r.inputs.get("policyArn", ""), f"{r.typ}::{r.name}"
                trust = json.loads(r.inputs["assumeRolePolicy"]) if r.typ == ROLE else {"Statement": []}
                principals = [s["Principal"] for s in trust["Statement"]]
                assert {"Service": "batch.amazonaws.com"} not in principals, f"{r.typ}::{r.name} trusts Batch"
    assert not hasattr(full.component, "batch_service_role_arn"), "compute: batch_service_role_arn output was removed"


def test_every_compute_environment_scales_to_zero(full: Deployment, minimal: Deployment) -> None:
    for deployment, settings in ((full, FULL), (minimal, MINIMAL)):
        ces = deployment.of(CE)
        assert sorted(ces) == sorted(f"compute-{k}" for k in settings.compute_environment_kinds())
        for urn, ce in ces.items():
            cr = ce.inputs["computeResources"]
            assert "desiredVcpus" not in cr, f"{urn} pins desired vCPUs"
            if cr["type"] == "FARGATE":
                # Batch rejects minvCpus for Fargate; Fargate holds no idle capacity at all.
                assert "minVcpus" not in cr, f"{urn}: {cr}"
            else:
                assert cr["minVcpus"] == 0, f"{urn} keeps {cr['minVcpus']} vCPUs warm"


def test_compute_environment_settings_per_kind(full: Deployment) -> None:
    ces = full.of(CE)
    expected = {
        "compute-cpu-ondemand": ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023", ["c6i", "m6i"], 128),
        "compute-cpu-spot": ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED", "ECS_AL2023", ["c6i", "m6i", "r6i", "c5", "m5"], 256),
        "compute-gpu": ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023_NVIDIA", ["g5", "g4dn"], 32),
    }
    for urn, (typ, strategy, image, instance_types, max_vcpus) in expected.items():
        ce = ces[urn].inputs
        cr = ce["computeResources"]
        assert ce["type"] == "MANAGED", urn
        assert ce["name"] == naming.compute_environment(ENV, urn.removeprefix("compute-")), urn
        assert (cr["type"], cr["allocationStrategy"]) == (typ, strategy), urn
        assert cr["ec2Configurations"] == [{"imageType": image}], urn
        assert cr["instanceTypes"] == instance_types and cr["maxVcpus"] == max_vcpus, urn
        assert cr["instanceRole"] == "arn:aws:mock:us-east-1:111111111111:compute-ecs-instance", urn
        assert cr["launchTemplate"] == {"launchTemplateId": "compute-launch-template_id", "version": str(LATEST_VERSION)}, urn
        assert cr["subnets"] == ["subnet-a", "subnet-b"] and cr["securityGroupIds"] == ["sg-batch"], urn
    assert ces["compute-cpu-spot"].inputs["computeResources"]["bidPercentage"] == 60
    assert "bidPercentage" not in ces["compute-cpu-ondemand"].inputs["computeResources"]
    fargate = ces["compute-fargate"].inputs["computeResources"]
    assert fargate == {"type": "FARGATE", "maxVcpus": 16, "subnets": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-batch"]}


def test_launch_template_requires_imdsv2_and_encrypts_a_gp3_root_volume(full: Deployment) -> None:
    (lt,) = full.of(LAUNCH_TEMPLATE).values()
    meta = lt.inputs["metadataOptions"]
    assert meta["httpTokens"] == "required", lt.name
    assert meta["httpPutResponseHopLimit"] == 2, lt.name
    assert meta["httpEndpoint"] == "enabled", lt.name
    (root,) = lt.inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda", lt.name
    assert root["ebs"] == {"volumeSize": 80, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}, lt.name
    assert "networkInterfaces" not in lt.inputs, f"{lt.name}: no network interfaces (and so no public IP)"
    assert {t["resourceType"] for t in lt.inputs["tagSpecifications"]} == {"instance", "volume"}
    assert all(t["tags"] == TAGS for t in lt.inputs["tagSpecifications"]), lt.name


def test_minimal_settings_have_only_on_demand_cpu(minimal: Deployment) -> None:
    assert sorted(minimal.of(CE)) == ["compute-cpu-ondemand"]
    assert minimal.of(LAUNCH_TEMPLATE)["compute-launch-template"].inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 50
    assert minimal.outputs["fargate_execution_role_arn"] is None
    assert "compute-fargate-execution" not in minimal.of(ROLE)


# ---------------------------------------------------------------- queues


def test_one_cpu_queue_per_team_and_gpu_queue_only_for_entitled_teams(full: Deployment) -> None:
    queues = full.of(QUEUE)
    expected = {f"compute-{t}-{k}" for t in ("fraud", "research", "forecasting") for k in ("cpu", "fargate")}
    expected.add("compute-fraud-gpu")
    assert set(queues) == expected
    for urn, q in queues.items():
        team_name, kind = urn.removeprefix("compute-").rsplit("-", 1)
        assert q.inputs["name"] == naming.job_queue(ENV, team_name, kind), urn
        assert q.inputs["state"] == "ENABLED", urn
        assert q.inputs["tags"] == {**TAGS, "team": team_name, "cost-center": COST_CENTERS[team_name]}, urn
        assert "schedulingPolicyArn" not in q.inputs, f"{urn}: a fair-share queue rejects Metaflow's jobs"


def test_queue_priorities_come_from_the_team(full: Deployment) -> None:
    queues = full.of(QUEUE)
    for t in TEAMS:
        for urn in (u for u in queues if u.startswith(f"compute-{t.name}-")):
            assert queues[urn].inputs["priority"] == t.priority, urn


def test_queue_compute_environment_order(full: Deployment, minimal: Deployment) -> None:
    def ce_arn(kind: str) -> str:
        return f"arn:aws:mock:us-east-1:111111111111:compute-{kind}"

    queues = full.of(QUEUE)
    assert queues["compute-fraud-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("cpu-ondemand")},
        {"order": 2, "computeEnvironment": ce_arn("cpu-spot")},
    ]
    assert queues["compute-fraud-gpu"].inputs["computeEnvironmentOrders"] == [{"order": 1, "computeEnvironment": ce_arn("gpu")}]
    assert queues["compute-research-fargate"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("fargate")}
    ]
    # Spot disabled: the cpu queue has on-demand only; GPUs disabled: no gpu queue even for fraud.
    small = minimal.of(QUEUE)
    assert set(small) == {"compute-fraud-cpu", "compute-research-cpu", "compute-forecasting-cpu"}
    assert small["compute-fraud-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("cpu-ondemand")}
    ]


def test_queue_outputs_are_keyed_by_team_and_kind() -> None:
    """Outputs asserted inside the program, through a returned Output."""
    deployment = Deployment()
    start(deployment)

    def check(v: list) -> None:
        arns, names, roles = v
        assert {t: sorted(k) for t, k in arns.items()} == {
            "fraud": ["cpu", "fargate", "gpu"],
            "research": ["cpu", "fargate"],
            "forecasting": ["cpu", "fargate"],
        }
        assert names["fraud"]["gpu"] == naming.job_queue(ENV, "fraud", "gpu")
        assert arns["research"]["cpu"] == "arn:aws:mock:us-east-1:111111111111:compute-research-cpu"
        assert roles == {t.name: f"arn:aws:mock:us-east-1:111111111111:compute-job-{t.name}" for t in TEAMS}

    @pulumi.runtime.test
    def program():
        c = Compute("compute", make_args(FULL))
        return pulumi.Output.all(c.job_queue_arns, c.job_queue_names, c.job_role_arns).apply(check)

    program()


# ---------------------------------------------------------------- IAM


def test_instance_and_fargate_execution_roles(full: Deployment) -> None:
    roles, attachments = full.of(ROLE), full.of(ATTACHMENT)
    expected = {
        "compute-ecs-instance": ("ec2.amazonaws.com", "service-role/AmazonEC2ContainerServiceforEC2Role"),
        "compute-fargate-execution": ("ecs-tasks.amazonaws.com", "service-role/AmazonECSTaskExecutionRolePolicy"),
    }
    assert set(attachments) == set(expected)
    for urn, (service, policy) in expected.items():
        trust = json.loads(roles[urn].inputs["assumeRolePolicy"])
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": service}], urn
        assert attachments[urn].inputs["policyArn"] == f"arn:aws:iam::aws:policy/{policy}", urn
    assert full.outputs["instance_profile_arn"] == "arn:aws:mock:us-east-1:111111111111:compute-ecs-instance"
    assert full.outputs["fargate_execution_role_arn"] == "arn:aws:mock:us-east-1:111111111111:compute-fargate-execution"


def test_job_role_per_team_names_only_its_own_prefix(full: Deployment) -> None:
    roles, inline = full.of(ROLE), full.of(ROLE_POLICY)
    names = [t.name for t in TEAMS]
    for name in names:
        urn = f"compute-job-{name}"
        role = roles[urn].inputs
        assert role["name"] == naming.job_role(ENV, name), urn
        assert role["tags"] == {**TAGS, "team": name, "cost-center": COST_CENTERS[name]}, urn
        assert [s["Principal"] for s in json.loads(role["assumeRolePolicy"])["Statement"]] == [
            {"Service": "ecs-tasks.amazonaws.com"}
        ], urn
        text = inline[urn].inputs["policy"]
        doc = json.loads(text)
        for other in names:
            if other != name:
                assert other not in text, f"{urn} names team {other}: {text}"
        objects = {
            r
            for s in doc["Statement"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            if r.startswith(f"{BUCKET}/")
        }
        assert objects == {f"{BUCKET}/{naming.team_prefix(name)}*"}, urn
        assert "*" not in text.replace(f"{naming.team_prefix(name)}*", ""), f"{urn} has another wildcard: {text}"
        kms = next(s for s in doc["Statement"] if s["Resource"] == KEY)
        assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, urn


def test_every_taggable_resource_is_tagged(full: Deployment) -> None:
    for r in full.resources:
        if r.typ in TAGGABLE:
            tags = r.inputs.get("tags", {})
            # A team's job role and queues are billed to the team's cost center; the rest to the stack's.
            expected = COST_CENTERS[tags["team"]] if "team" in tags else "ml-platform"
            assert tags.get("cost-center") == expected, f"{r.typ}::{r.name} has tags {tags}, wants cost-center {expected}"


def test_duplicate_teams_are_refused() -> None:
    start(Deployment())

    @pulumi.runtime.test
    def program():
        args = make_args(MINIMAL)
        args.teams = (TEAMS[0], TEAMS[0])
        with pytest.raises(ValueError, match="duplicate team"):
            Compute("compute", args)

    program()
