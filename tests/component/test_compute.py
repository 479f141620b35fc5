"""Component tests of modules/compute under Pulumi mocks: what Compute declares, input by input."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from support import Deployment as BaseDeployment
from support import RecordingMocks

from core import naming
from core.settings import Team
from modules.compute import policies
from modules.compute.component import Compute, ComputeArgs
from modules.compute.settings import ComputeSettings

ENV = "dev"
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG_KEY = "arn:aws:kms:us-east-1:111111111111:key/0000aaaa-12ab-34cd-56ef-1234567890ab"
TAGS = {"cost-center": "ml-platform"}
LATEST_VERSION = 7
RETENTION = 30

CE = "aws:batch/computeEnvironment:ComputeEnvironment"
QUEUE = "aws:batch/jobQueue:JobQueue"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TAGGABLE = {CE, QUEUE, ROLE, PROFILE, LAUNCH_TEMPLATE, LOG_GROUP}


def team(name: str, priority: int, max_vcpus: int = 32, spot: int = 0, gpu: int = 0, fargate: int = 0) -> Team:
    return Team(
        name=name,
        cost_center=f"cc-{name}",
        contacts=(f"{name}@example.com",),
        priority=priority,
        max_vcpus=max_vcpus,
        gpu_max_vcpus=gpu,
        principals=("arn:aws:iam::111111111111:root",),
        spot_vcpus=spot,
        fargate_vcpus=fargate,
    )


# fraud: every kind; research: on-demand only; forecasting: on-demand, Spot and Fargate; spotty: Spot only.
TEAMS = (
    team("fraud", 20, max_vcpus=40, spot=24, gpu=16, fargate=8),
    team("research", 5, max_vcpus=16),
    team("forecasting", 10, max_vcpus=32, spot=16, fargate=4),
    team("spotty", 1, max_vcpus=8, spot=8),
)
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
# What each team's compute environments must be capped at (kind -> maxVcpus), by settings.
EXPECTED_CAPS = {
    "full": {
        "fraud": {"cpu-ondemand": 16, "cpu-spot": 24, "gpu": 16, "fargate": 8},
        "research": {"cpu-ondemand": 16},
        "forecasting": {"cpu-ondemand": 16, "cpu-spot": 16, "fargate": 4},
        "spotty": {"cpu-spot": 8},
    },
    # No Spot, GPU or Fargate pool: every team's maxVcpus is on-demand, nothing else exists.
    "minimal": {
        "fraud": {"cpu-ondemand": 40},
        "research": {"cpu-ondemand": 16},
        "forecasting": {"cpu-ondemand": 32},
        "spotty": {"cpu-ondemand": 8},
    },
}


@dataclass
class Deployment(BaseDeployment):
    component: Any = None

    def arn_owner(self) -> dict[str, str]:
        """Mock ARN of every compute environment -> its logical name."""
        return {f"arn:aws:mock:us-east-1:111111111111:{name}": name for name in self.of(CE)}


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
        log_kms_key_arn=LOG_KEY,
        log_retention_days=RETENTION,
    )


OUTPUTS = (
    "compute_environment_arns",
    "job_queue_arns",
    "job_queue_names",
    "job_role_arns",
    "job_log_group_names",
    "job_log_group_arns",
    "fargate_execution_role_arn",
    "instance_profile_arn",
)


def deploy(settings: ComputeSettings) -> Deployment:
    """Run the component once; every registration has finished when the test function returns."""
    deployment = Deployment()
    start(deployment)

    @pulumi.runtime.test
    def program():
        c = Compute("compute", make_args(settings))
        deployment.component = c
        outputs = {key: getattr(c, key) for key in OUTPUTS}
        return pulumi.Output.from_input(outputs).apply(deployment.outputs.update)

    program()
    return deployment


@pytest.fixture(scope="module")
def full() -> Deployment:
    return deploy(FULL)


@pytest.fixture(scope="module")
def minimal() -> Deployment:
    return deploy(MINIMAL)


def ce_urn(team_name: str, kind: str) -> str:
    return f"compute-{team_name}-ce-{kind}"


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


@pytest.mark.parametrize("which", ["full", "minimal"])
def test_each_team_gets_its_own_compute_environments_capped_at_its_quota(which: str, request) -> None:
    """One compute environment per team and kind with a cap above 0, maxvCpus = the team's cap: Batch
    itself then holds the team to its maxVcpus (on-demand + Spot), gpuMaxVcpus and fargateVcpus."""
    deployment: Deployment = request.getfixturevalue(which)
    ces = deployment.of(CE)
    expected = EXPECTED_CAPS[which]
    assert sorted(ces) == sorted(ce_urn(t, k) for t, kinds in expected.items() for k in kinds)
    for team_name, kinds in expected.items():
        for kind, cap in kinds.items():
            urn = ce_urn(team_name, kind)
            ce = ces[urn].inputs
            assert ce["name"] == naming.compute_environment(ENV, team_name, kind), urn
            assert ce["computeResources"]["maxVcpus"] == cap, urn
        team_obj = next(t for t in TEAMS if t.name == team_name)
        cpu = sum(cap for kind, cap in kinds.items() if kind.startswith("cpu"))
        assert cpu == team_obj.max_vcpus, (
            f"{team_name}: its CPU compute environments hold {cpu}, maxVcpus is {team_obj.max_vcpus}"
        )


def test_every_compute_environment_scales_to_zero(full: Deployment, minimal: Deployment) -> None:
    for deployment in (full, minimal):
        for urn, ce in deployment.of(CE).items():
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
        "cpu-ondemand": ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023", ["c6i", "m6i"]),
        "cpu-spot": ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED", "ECS_AL2023", ["c6i", "m6i", "r6i", "c5", "m5"]),
        "gpu": ("EC2", "BEST_FIT_PROGRESSIVE", "ECS_AL2023_NVIDIA", ["g5", "g4dn"]),
    }
    for kind, (typ, strategy, image, instance_types) in expected.items():
        urn = ce_urn("fraud", kind)
        ce = ces[urn].inputs
        cr = ce["computeResources"]
        assert ce["type"] == "MANAGED", urn
        assert (cr["type"], cr["allocationStrategy"]) == (typ, strategy), urn
        assert cr["ec2Configurations"] == [{"imageType": image}], urn
        assert cr["instanceTypes"] == instance_types, urn
        assert cr["instanceRole"] == "arn:aws:mock:us-east-1:111111111111:compute-ecs-instance", urn
        template = "compute-fraud-launch-template_id"
        assert cr["launchTemplate"] == {"launchTemplateId": template, "version": str(LATEST_VERSION)}, urn
        assert cr["subnets"] == ["subnet-a", "subnet-b"] and cr["securityGroupIds"] == ["sg-batch"], urn
    assert ces[ce_urn("fraud", "cpu-spot")].inputs["computeResources"]["bidPercentage"] == 60
    assert "bidPercentage" not in ces[ce_urn("fraud", "cpu-ondemand")].inputs["computeResources"]
    fargate = ces[ce_urn("fraud", "fargate")].inputs["computeResources"]
    assert fargate == {"type": "FARGATE", "maxVcpus": 8, "subnets": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-batch"]}


def test_each_team_has_its_own_launch_template_and_its_environments_use_it(full: Deployment) -> None:
    templates = full.of(LAUNCH_TEMPLATE)
    assert sorted(templates) == sorted(f"compute-{t.name}-launch-template" for t in TEAMS)
    for urn, ce in full.of(CE).items():
        cr = ce.inputs["computeResources"]
        if cr["type"] == "FARGATE":
            assert "launchTemplate" not in cr, f"{urn}: Batch takes no launch template for Fargate"
            continue
        team_name = urn.removeprefix("compute-").split("-ce-")[0]
        assert cr["launchTemplate"]["launchTemplateId"] == f"compute-{team_name}-launch-template_id", urn


def test_instances_and_volumes_batch_launches_carry_the_team(full: Deployment) -> None:
    """Team budgets filter on the ``team`` tag: the instances and volumes of a team's compute environments
    carry it (launch template tag specifications and computeResources.tags), and so do the environments."""
    for t in TEAMS:
        tags = {**TAGS, "team": t.name, "cost-center": t.cost_center}
        lt = full.of(LAUNCH_TEMPLATE)[f"compute-{t.name}-launch-template"].inputs
        assert {s["resourceType"]: s["tags"] for s in lt["tagSpecifications"]} == {"instance": tags, "volume": tags}, t.name
        assert lt["tags"] == tags, t.name
        for kind in EXPECTED_CAPS["full"][t.name]:
            urn = ce_urn(t.name, kind)
            ce = full.of(CE)[urn].inputs
            assert ce["tags"] == tags, urn
            cr = ce["computeResources"]
            if cr["type"] == "FARGATE":
                assert "tags" not in cr, f"{urn}: Batch rejects computeResources.tags for Fargate"
            else:
                assert cr["tags"] == tags, urn


def test_no_compute_environment_serves_two_teams(full: Deployment, minimal: Deployment) -> None:
    """Every queue of a team orders only that team's compute environments, and every environment is
    behind queues of exactly one team: no team's job lands on another team's instances."""
    for deployment in (full, minimal):
        owner = deployment.arn_owner()
        served: dict[str, set[str]] = {}
        for urn, q in deployment.of(QUEUE).items():
            team_name = urn.removeprefix("compute-").rsplit("-", 1)[0]
            for entry in q.inputs["computeEnvironmentOrders"]:
                ce = owner[entry["computeEnvironment"]]
                assert ce.startswith(f"compute-{team_name}-ce-"), f"{urn} (team {team_name}) orders {ce}"
                served.setdefault(ce, set()).add(team_name)
        assert set(served) == set(deployment.of(CE)), "a compute environment no queue uses"
        assert all(len(teams) == 1 for teams in served.values()), served


def test_launch_template_requires_imdsv2_with_hop_limit_1(full: Deployment, minimal: Deployment) -> None:
    """Hop limit 1: the IMDSv2 token response never reaches a container (one hop behind the instance)."""
    for deployment in (full, minimal):
        for urn, lt in deployment.of(LAUNCH_TEMPLATE).items():
            meta = lt.inputs["metadataOptions"]
            assert meta["httpTokens"] == "required", urn
            assert meta["httpPutResponseHopLimit"] == 1, urn
            assert meta["httpEndpoint"] == "enabled", urn
            (root,) = lt.inputs["blockDeviceMappings"]
            assert root["deviceName"] == "/dev/xvda", urn
            expected_gb = 80 if deployment is full else 50
            ebs = {"volumeSize": expected_gb, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}
            assert root["ebs"] == ebs, urn
            assert "networkInterfaces" not in lt.inputs, f"{urn}: no network interfaces (and so no public IP)"


def test_launch_template_user_data_rejects_container_traffic_to_imds(full: Deployment) -> None:
    """The user data (base64, MIME multi-part as Batch requires) inserts AWS's DOCKER-USER rule for
    containers (docker+ interfaces) with a TCP reset, so probes fail at once rather than time out."""
    for urn, lt in full.of(LAUNCH_TEMPLATE).items():
        text = base64.b64decode(lt.inputs["userData"]).decode()
        assert text == policies.launch_template_user_data(), urn
        assert text.startswith("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="), urn
        assert "Content-Type: text/cloud-boothook" in text, urn
        reject = (
            "iptables --insert DOCKER-USER 1 --in-interface docker+ --destination 169.254.169.254/32 "
            "--protocol tcp --jump REJECT --reject-with tcp-reset"
        )
        assert reject in text, f"{urn}: no REJECT rule in\n{text}"
        assert "169.254.170.2" not in text, f"{urn}: the ECS credential endpoint must stay reachable"


def test_minimal_settings_have_only_on_demand_cpu(minimal: Deployment) -> None:
    assert {urn.split("-ce-")[1] for urn in minimal.of(CE)} == {"cpu-ondemand"}
    assert minimal.outputs["fargate_execution_role_arn"] is None
    assert "compute-fargate-execution" not in minimal.of(ROLE)


# ---------------------------------------------------------------- queues


def test_queues_follow_each_teams_compute_environments(full: Deployment) -> None:
    queues = full.of(QUEUE)
    expected = {f"compute-{t.name}-cpu" for t in TEAMS} | {
        "compute-fraud-gpu",
        "compute-fraud-fargate",
        "compute-forecasting-fargate",
    }
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
        for urn in (u for u in queues if u.rsplit("-", 1)[0] == f"compute-{t.name}"):
            assert queues[urn].inputs["priority"] == t.priority, urn


def test_queue_compute_environment_order(full: Deployment, minimal: Deployment) -> None:
    def ce_arn(team_name: str, kind: str) -> str:
        return f"arn:aws:mock:us-east-1:111111111111:{ce_urn(team_name, kind)}"

    queues = full.of(QUEUE)
    assert queues["compute-fraud-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("fraud", "cpu-ondemand")},
        {"order": 2, "computeEnvironment": ce_arn("fraud", "cpu-spot")},
    ]
    assert queues["compute-fraud-gpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("fraud", "gpu")}
    ]
    assert queues["compute-forecasting-fargate"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("forecasting", "fargate")}
    ]
    # spotVcpus 0: on-demand only; spotVcpus = maxVcpus: Spot only.
    assert queues["compute-research-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("research", "cpu-ondemand")}
    ]
    assert queues["compute-spotty-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("spotty", "cpu-spot")}
    ]
    # Spot, GPUs and Fargate disabled: one cpu queue per team, on-demand only.
    small = minimal.of(QUEUE)
    assert set(small) == {f"compute-{t.name}-cpu" for t in TEAMS}
    assert small["compute-fraud-cpu"].inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": ce_arn("fraud", "cpu-ondemand")}
    ]


def test_outputs_are_keyed_by_team_and_kind() -> None:
    """Outputs asserted inside the program, through a returned Output."""
    deployment = Deployment()
    start(deployment)

    def check(v: list) -> None:
        arns, names, roles, ces, log_names, log_arns = v
        assert {t: sorted(k) for t, k in arns.items()} == {
            "fraud": ["cpu", "fargate", "gpu"],
            "research": ["cpu"],
            "forecasting": ["cpu", "fargate"],
            "spotty": ["cpu"],
        }
        assert names["fraud"]["gpu"] == naming.job_queue(ENV, "fraud", "gpu")
        assert arns["research"]["cpu"] == "arn:aws:mock:us-east-1:111111111111:compute-research-cpu"
        assert roles == {t.name: f"arn:aws:mock:us-east-1:111111111111:compute-job-{t.name}" for t in TEAMS}
        assert {t: sorted(k) for t, k in ces.items()} == {t: sorted(k) for t, k in EXPECTED_CAPS["full"].items()}
        assert ces["spotty"]["cpu-spot"] == f"arn:aws:mock:us-east-1:111111111111:{ce_urn('spotty', 'cpu-spot')}"
        assert log_names == {t.name: naming.job_log_group(ENV, t.name) for t in TEAMS}
        assert log_arns == {t.name: f"arn:aws:mock:us-east-1:111111111111:compute-{t.name}-job-logs" for t in TEAMS}

    @pulumi.runtime.test
    def program():
        c = Compute("compute", make_args(FULL))
        outputs = (c.job_queue_arns, c.job_queue_names, c.job_role_arns, c.compute_environment_arns)
        return pulumi.Output.all(*outputs, c.job_log_group_names, c.job_log_group_arns).apply(check)

    program()


# ---------------------------------------------------------------- job logs


def test_each_team_has_a_job_log_group_with_retention_and_the_log_key(full: Deployment) -> None:
    groups = full.of(LOG_GROUP)
    assert sorted(groups) == sorted(f"compute-{t.name}-job-logs" for t in TEAMS)
    for t in TEAMS:
        urn = f"compute-{t.name}-job-logs"
        g = groups[urn].inputs
        assert g["name"] == naming.job_log_group(ENV, t.name) == f"/strata/{ENV}/batch/{t.name}", urn
        assert g["retentionInDays"] == RETENTION, urn
        assert g["kmsKeyId"] == LOG_KEY, f"{urn}: encrypted with the log key, never the datastore key"
        assert g["tags"] == {**TAGS, "team": t.name, "cost-center": t.cost_center}, urn


def test_a_retention_cloudwatch_does_not_accept_is_refused() -> None:
    start(Deployment())

    @pulumi.runtime.test
    def program():
        args = make_args(MINIMAL)
        args.log_retention_days = 31
        with pytest.raises(ValueError, match="not a CloudWatch retention"):
            Compute("compute", args)

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
            # A team's resources are billed to the team's cost center; the rest to the stack's.
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
