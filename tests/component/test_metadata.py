"""Component tests of modules/metadata under Pulumi mocks: what the Metadata component declares."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from core import naming
from core.settings import Team
from localcloud import RecordingMonitor
from localcloud.plan import computed_outputs
from modules.metadata.component import Metadata, MetadataArgs
from modules.metadata.settings import MetadataSettings

ACCOUNT = "111111111111"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!cluster-1"
# What the mocked Secrets Manager answers for an OIDC client secret (tests check it stays a Pulumi secret).
OIDC_CLIENT_SECRET = "oidc-client-secret-value-123"
TEAMS = [
    Team(
        name=t,
        cost_center=f"cc-{t}",
        contacts=("a@example.com",),
        priority=1,
        max_vcpus=8,
        gpu_max_vcpus=0,
        principals=(f"arn:aws:iam::{ACCOUNT}:root",),
    )
    for t in ("fraud", "research")
]
PROD = {
    "database": {
        "minCapacity": 0.5,
        "instances": 2,
        "backupRetentionDays": 30,
        "deletionProtection": True,
        "finalSnapshot": True,
    },
    "service": {"desiredCount": 2, "maxCount": 4, "cpu": 512, "memory": 1024},
}


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = {**args.inputs, "arn": f"arn:aws:mock:us-east-1:{ACCOUNT}:{args.name}"}
        if args.typ == "aws:rds/cluster:Cluster":
            state |= {"masterUserSecrets": [{"secretArn": SECRET}], "endpoint": "db.cluster.example"}
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state |= computed_outputs(args.typ, args.name, args.inputs)
        if args.typ == "aws:lambda/function:Function":
            state |= {"invokeArn": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{state['arn']}/invocations"}
        if args.typ == "random:index/randomPassword:RandomPassword":
            state |= {"result": f"{args.name}-".ljust(48, "x")}
        return [f"{args.name}_id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {
            "aws:index/getRegion:getRegion": {"region": "us-east-1", "name": "us-east-1", "id": "us-east-1"},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getCallerIdentity:getCallerIdentity": {"accountId": ACCOUNT, "arn": "x", "userId": "x", "id": ACCOUNT},
            "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                "arn": args.args.get("secretId"),
                "id": args.args.get("secretId"),
                "secretString": OIDC_CLIENT_SECRET,
                "versionId": "v1",
            },
        }[args.token]


def deploy(
    data: dict, protect: bool = False, log_kms_key_arn: str | None = None, extra: dict[str, Any] | None = None
) -> tuple[list, dict]:
    """Declare the Metadata component for ``data`` under recording mocks; returns registrations and outputs.
    ``extra``: more MetadataArgs fields (the UI's datastore and VPC CIDR)."""
    pulumi.runtime.settings.set_root_resource(None)
    mocks = Mocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="strata", stack="dev", preview=False, monitor=monitor)
    out: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        md = Metadata(
            "metadata",
            MetadataArgs(
                environment="dev",
                settings=MetadataSettings.model_validate(data),
                teams=TEAMS,
                vpc_id="vpc-1",
                subnet_ids=["subnet-a", "subnet-b"],
                client_security_group_id="sg-batch",
                kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
                job_role_arns={t.name: f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role('dev', t.name)}" for t in TEAMS},
                protect=protect,
                tags={"environment": "dev"},
                log_kms_key_arn=log_kms_key_arn,
                **(extra or {}),
            ),
        )
        return pulumi.Output.all(
            url=md.api_url,
            internal=md.internal_url,
            keys=md.api_keys,
            http_api_id=md.http_api_id,
            database_cluster_identifier=md.database_cluster_identifier,
            ecs_cluster_name=md.ecs_cluster_name,
            service_name=md.service_name,
            rest_api_name=md.rest_api_name,
            lb=md.load_balancer_arn_suffix,
            tg=md.target_group_arn_suffix,
            ui_url=md.ui.url if md.ui else None,
            ui_dns=md.ui.load_balancer_dns_name if md.ui else None,
        ).apply(out.update)

    run()
    return monitor.registrations, out


def of(regs: list, typ: str) -> list:
    return [r for r in regs if r.type == typ]


@pytest.fixture(scope="module")
def dev():
    return deploy({})


@pytest.fixture(scope="module")
def prod():
    return deploy(PROD, protect=True)


def test_tls_only_and_encrypted_with_the_platform_key(dev):
    regs, _ = dev
    (group,) = of(regs, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    params = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert params["rds.force_ssl"] == "1", f"{group.urn}: rds.force_ssl is {params.get('rds.force_ssl')}"
    assert group.inputs["family"] == "aurora-postgresql17", group.urn
    (cluster,) = of(regs, "aws:rds/cluster:Cluster")
    assert cluster.inputs["storageEncrypted"] and cluster.inputs["kmsKeyId"].endswith(":key/k"), cluster.urn
    assert cluster.inputs["manageMasterUserPassword"] is True and "masterPassword" not in cluster.inputs, cluster.urn
    for inst in of(regs, "aws:rds/clusterInstance:ClusterInstance"):
        assert inst.inputs["performanceInsightsEnabled"] and inst.inputs["performanceInsightsKmsKeyId"].endswith(":key/k"), (
            inst.urn
        )
        assert inst.inputs["publiclyAccessible"] is False, inst.urn


def test_backups_and_dev_is_single_instance_pausing(dev):
    regs, _ = dev
    (cluster,) = of(regs, "aws:rds/cluster:Cluster")
    assert cluster.inputs["backupRetentionPeriod"] == 7, cluster.urn
    assert cluster.inputs["serverlessv2ScalingConfiguration"]["minCapacity"] == 0, cluster.urn
    assert cluster.inputs["skipFinalSnapshot"] is True and not cluster.inputs["deletionProtection"], cluster.urn
    assert len(of(regs, "aws:rds/clusterInstance:ClusterInstance")) == 1, cluster.urn
    assert not of(regs, "aws:appautoscaling/target:Target"), "dev runs one task without autoscaling"


def test_prod_is_multi_az_protected_and_autoscaled(prod):
    regs, _ = prod
    (cluster,) = of(regs, "aws:rds/cluster:Cluster")
    assert cluster.inputs["backupRetentionPeriod"] == 30, cluster.urn
    assert cluster.inputs["deletionProtection"] is True, cluster.urn
    assert cluster.inputs["skipFinalSnapshot"] is False and cluster.inputs["finalSnapshotIdentifier"], cluster.urn
    assert cluster.protect and cluster.retain_on_delete, f"{cluster.urn}: not protected"
    instances = of(regs, "aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) == 2 and all(i.protect for i in instances), [i.urn for i in instances]
    (service,) = of(regs, "aws:ecs/service:Service")
    assert service.inputs["desiredCount"] == 2, service.urn
    (target,) = of(regs, "aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 4), target.urn
    (policy,) = of(regs, "aws:appautoscaling/policy:Policy")
    assert policy.inputs["policyType"] == "TargetTrackingScaling", policy.urn


def test_no_plaintext_secrets_in_the_task_definition(dev):
    regs, out = dev
    (task,) = of(regs, "aws:ecs/taskDefinition:TaskDefinition")
    text = task.inputs["containerDefinitions"]
    for key in out["keys"].values():
        assert key not in text, f"{task.urn}: a team key is in the task definition"
    for c in json.loads(text):
        env = {e["name"] for e in c["environment"]}
        assert not env & {"MF_METADATA_DB_PSWD", "MF_METADATA_DB_USER"}, f"{task.urn}/{c['name']}: DB login in environment"
        assert {s["valueFrom"] for s in c["secrets"]} == {f"{SECRET}:username::", f"{SECRET}:password::"}, (
            f"{task.urn}/{c['name']}"
        )
    for version in of(regs, "aws:secretsmanager/secretVersion:SecretVersion"):
        assert "secretString" in version.secret_inputs, f"{version.urn}: key not a Pulumi secret"
    (fn,) = of(regs, "aws:lambda/function:Function")
    assert "environment" in fn.secret_inputs, f"{fn.urn}: the key hashes are not a Pulumi secret"
    assert not any(k in json.dumps(fn.inputs["environment"]) for k in out["keys"].values()), (
        f"{fn.urn}: a key (not its hash) is in the authorizer"
    )


def test_pinned_image_health_check_and_architecture(dev, prod):
    for regs, path in ((dev[0], "/ping"), (prod[0], "/healthcheck")):
        (task,) = of(regs, "aws:ecs/taskDefinition:TaskDefinition")
        service = next(c for c in json.loads(task.inputs["containerDefinitions"]) if c["name"] == "metadata")
        assert service["image"] == "netflixoss/metaflow_metadata_service:v2.5.0", task.urn
        assert path in service["healthCheck"]["command"][-1], f"{task.urn}: health check {service['healthCheck']}"
        assert task.inputs["runtimePlatform"]["cpuArchitecture"] == "X86_64", task.urn


def test_each_team_key_is_scoped_to_the_team(dev):
    regs, _ = dev
    secrets = {r.name: r for r in of(regs, "aws:secretsmanager/secret:Secret")}
    assert {r.inputs["name"] for r in secrets.values()} == {naming.metadata_api_key_secret("dev", t.name) for t in TEAMS}
    for team in TEAMS:
        (job_policy,) = [r for r in of(regs, "aws:iam/rolePolicy:RolePolicy") if r.name == f"metadata-{team.name}-job-key"]
        assert job_policy.inputs["role"] == naming.job_role("dev", team.name), job_policy.urn
        doc = json.loads(job_policy.inputs["policy"])
        assert [s["Resource"] for s in doc["Statement"]] == [f"arn:aws:mock:us-east-1:{ACCOUNT}:metadata-{team.name}-key"], (
            job_policy.urn
        )
        (policy,) = [r for r in of(regs, "aws:secretsmanager/secretPolicy:SecretPolicy") if r.name == f"metadata-{team.name}-key"]
        cond = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]
        assert cond["ArnNotEquals"]["aws:PrincipalArn"] == sorted(
            [
                f"arn:aws:iam::{ACCOUNT}:role/{naming.data_scientist_role('dev', team.name)}",
                f"arn:aws:iam::{ACCOUNT}:role/{naming.job_role('dev', team.name)}",
            ]
        ), policy.urn


def test_team_key_secrets_carry_the_teams_tag_and_cost_center(dev):
    regs, _ = dev
    secrets = {r.inputs["name"]: r for r in of(regs, "aws:secretsmanager/secret:Secret")}
    for team in TEAMS:
        secret = secrets[naming.metadata_api_key_secret("dev", team.name)]
        assert secret.inputs["tags"] == {"environment": "dev", "team": team.name, "cost-center": team.cost_center}, (
            f"{secret.urn}: billed to team {team.name}'s cost center"
        )


def test_outputs_name_what_observability_watches(dev):
    """MetadataSignals / DatabaseSignals take these: the HTTP API's id, the ECS names, the Aurora identifier."""
    regs, out = dev
    (api,) = of(regs, "aws:apigatewayv2/api:Api")
    (cluster,) = of(regs, "aws:rds/cluster:Cluster")
    (ecs,) = of(regs, "aws:ecs/cluster:Cluster")
    (service,) = of(regs, "aws:ecs/service:Service")
    assert out["http_api_id"] == "metadata-api_id", f"{api.urn}: http_api_id is {out['http_api_id']}"
    assert out["database_cluster_identifier"] == cluster.inputs["clusterIdentifier"] == "strata-dev-metadata", cluster.urn
    assert out["ecs_cluster_name"] == ecs.inputs["name"] == "strata-dev-metadata", ecs.urn
    assert out["service_name"] == service.inputs["name"] == "strata-dev-metadata", service.urn


def test_network_is_private_and_db_only_from_the_service(dev):
    regs, _ = dev
    (service,) = of(regs, "aws:ecs/service:Service")
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is False, service.urn
    rules = {r.name: r for r in of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    db_rules = [r for n, r in rules.items() if n.startswith("metadata-db-")]
    assert len(db_rules) == 1 and db_rules[0].inputs["fromPort"] == 5432, [r.urn for r in db_rules]
    assert db_rules[0].inputs["referencedSecurityGroupId"] == "metadata-service-sg_id", db_rules[0].urn
    assert not any("cidrIpv4" in r.inputs for r in rules.values()), "no ingress from an address range"


def test_only_the_vpc_link_reaches_the_service_and_batch_nothing(dev):
    """No direct path: the service admits the HTTP API's VPC link and nothing else; Batch compute's group is in
    no rule at all, so a job reaches the service only through the API, with its team's key."""
    regs, _ = dev
    rules = of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    into_service = [r for r in rules if r.inputs["securityGroupId"] == "metadata-service-sg_id"]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in into_service] == [
        ("metadata-link-sg_id", 8080)
    ], [r.urn for r in into_service]
    batch = [r.urn for r in rules if r.inputs.get("referencedSecurityGroupId") == "sg-batch"]
    assert not batch, f"Batch compute is admitted by {batch}"


def test_urls(dev):
    """Jobs use the keyed API too: METAFLOW_SERVICE_INTERNAL_URL is the API's URL, not the Cloud Map name."""
    _, out = dev
    assert out["url"] == "https://metadata-api_id.execute-api.us-east-1.amazonaws.com", out["url"]
    assert out["internal"] == out["url"], out["internal"]


def test_run_owners_table_is_on_demand_encrypted_and_recoverable(dev, prod):
    for (regs, _), protect in ((dev, False), (prod, True)):
        (table,) = of(regs, "aws:dynamodb/table:Table")
        assert table.name == "metadata-owners" and table.inputs["name"] == "strata-dev-metadata-owners", table.urn
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST", f"{table.urn}: $0 while idle"
        assert table.inputs["hashKey"] == "run" and table.inputs["attributes"] == [{"name": "run", "type": "S"}], table.urn
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn
        assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"}
        assert table.inputs["deletionProtectionEnabled"] is protect, table.urn
        assert (table.protect, table.retain_on_delete) == (protect, protect), f"{table.urn}: stateful"
        assert "strata:metadata:Metadata" in table.parent and "FrontDoor" not in table.parent, (
            f"{table.urn}: under Metadata, so that changing frontDoor keeps it"
        )


def test_authorizer_checks_run_ownership_with_least_privilege(dev):
    regs, _ = dev
    (fn,) = of(regs, "aws:lambda/function:Function")
    assert fn.inputs["environment"]["variables"]["OWNERS_TABLE"] == "strata-dev-metadata-owners", fn.urn
    (authorizer,) = of(regs, "aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer.inputs["identitySources"] == ["$request.header.x-api-key", "$context.httpMethod", "$context.path"], (
        f"{authorizer.urn}: a decision cached per key alone would serve one run's Allow for another"
    )
    role_policies = {
        r.inputs["name"]: json.loads(r.inputs["policy"])
        for r in of(regs, "aws:iam/rolePolicy:RolePolicy")
        if r.name.startswith("metadata-authorizer")
    }
    assert set(role_policies) == {"own-logs", "run-owners"}, sorted(role_policies)
    owners = role_policies["run-owners"]["Statement"]
    table_arn = f"arn:aws:mock:us-east-1:{ACCOUNT}:metadata-owners"
    assert owners[0]["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"] and owners[0]["Resource"] == table_arn, owners
    assert owners[1]["Resource"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", owners
    assert owners[1]["Condition"] == {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}}, owners


def test_contradictory_inputs_fail_at_construction():
    with pytest.raises(ValueError, match="disabled"):
        deploy({"enabled": False, "metadataMode": "local"})
