"""The metadata layer's types in the local engine: the whole Metadata component deployed into moto, then
checked with boto3 (database, ECS, Cloud Map, HTTP API, authorizer, per-team key secrets)."""

from __future__ import annotations

import json

import pytest

from core import naming
from localcloud import RecordingMonitor
from localcloud.handlers import RESOURCE_HANDLERS
from modules.metadata import policies as mp
from modules.metadata.settings import MetadataSettings
from tests.localcloud.conftest import METADATA_TEAMS, declare_metadata

ENV = "mdtest"
TEAMS = METADATA_TEAMS
METADATA_TYPES = [
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecs/service:Service",
    "aws:appautoscaling/target:Target",
    "aws:appautoscaling/policy:Policy",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:servicediscovery/service:Service",
    "aws:apigatewayv2/api:Api",
    "aws:apigatewayv2/vpcLink:VpcLink",
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/authorizer:Authorizer",
    "aws:apigatewayv2/route:Route",
    "aws:apigatewayv2/stage:Stage",
    "aws:lambda/function:Function",
    "aws:lambda/permission:Permission",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    "random:index/randomPassword:RandomPassword",
]


def test_every_metadata_type_has_a_handler():
    missing = [t for t in METADATA_TYPES if t not in RESOURCE_HANDLERS]
    assert not missing, f"no local-engine handler for {missing}"


@pytest.fixture(scope="module")
def deployed(moto_server):
    from localcloud import LocalEngine
    from tests.localcloud.conftest import _deploy

    engine = LocalEngine(moto_server.endpoint)
    settings = MetadataSettings.model_validate({"service": {"desiredCount": 1, "maxCount": 3}, "database": {"minCapacity": 0}})

    def program():
        md, _ = declare_metadata("md", ENV, 77, settings)
        return {
            "api_url": md.api_url,
            "internal_url": md.internal_url,
            "secrets": md.api_key_secret_arns,
            "keys": md.api_keys,
            "cluster_arn": md.cluster_arn,
            "db_secret": md.database_secret_arn,
            "ecs_cluster": md.ecs_cluster_name,
            "service": md.service_name,
        }

    monitor = RecordingMonitor(engine)
    out = _deploy(engine, program, monitor=monitor)
    return {"out": out, "engine": engine, "monitor": monitor}


def test_database_is_aurora_serverless_encrypted_tls_only(deployed, cloud):
    rds = cloud("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=naming.metadata_name(ENV))["DBClusters"][0]
    assert cluster["Engine"] == "aurora-postgresql" and cluster["StorageEncrypted"], cluster
    assert cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0, cluster["ServerlessV2ScalingConfiguration"]
    assert cluster["BackupRetentionPeriod"] == 7
    assert cluster["MasterUserSecret"]["SecretArn"] == deployed["out"]["db_secret"]
    params = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=cluster["DBClusterParameterGroup"])["Parameters"]
    values = {p["ParameterName"]: p.get("ParameterValue") for p in params}
    assert values.get("rds.force_ssl") == "1", values
    instance = rds.describe_db_instances(DBInstanceIdentifier=f"{naming.metadata_name(ENV)}-0")["DBInstances"][0]
    assert instance["DBInstanceClass"] == "db.serverless" and not instance["PubliclyAccessible"]


def test_service_task_definition_uses_secrets_not_environment(deployed, cloud):
    ecs = cloud("ecs")
    svc = ecs.describe_services(cluster=deployed["out"]["ecs_cluster"], services=[deployed["out"]["service"]])["services"][0]
    assert svc["desiredCount"] == 1 and svc["launchType"] == "FARGATE"
    assert svc["serviceRegistries"][0]["containerPort"] == mp.SERVICE_PORT
    task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    containers = {c["name"]: c for c in task["containerDefinitions"]}
    for c in containers.values():
        names = {e["name"] for e in c.get("environment", [])}
        assert "MF_METADATA_DB_PSWD" not in names, c["name"]
        assert {s["name"] for s in c["secrets"]} == {"MF_METADATA_DB_USER", "MF_METADATA_DB_PSWD"}, c["name"]
    assert containers["metadata"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert containers["metadata"]["image"].endswith(":v2.5.0")
    targets = cloud("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    mine = [t for t in targets if t["ResourceId"].endswith(deployed["out"]["service"])]
    assert mine and mine[0]["MaxCapacity"] == 3, targets


def test_api_authorizer_and_stage(deployed, cloud):
    apis = cloud("apigatewayv2")
    api = next(a for a in apis.get_apis()["Items"] if a["Name"] == naming.metadata_name(ENV))
    assert deployed["out"]["api_url"] == f"https://{api['ApiId']}.execute-api.us-east-1.amazonaws.com"
    routes = apis.get_routes(ApiId=api["ApiId"])["Items"]
    assert routes[0]["RouteKey"] == "$default" and routes[0]["AuthorizationType"] == "CUSTOM", routes
    # (moto answers GetAuthorizers with a 500; GetAuthorizer works)
    auth = apis.get_authorizer(ApiId=api["ApiId"], AuthorizerId=routes[0]["AuthorizerId"])
    assert auth["AuthorizerType"] == "REQUEST" and auth["IdentitySource"] == ["$request.header.x-api-key"], auth
    stage = apis.get_stages(ApiId=api["ApiId"])["Items"][0]
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(":log-group:/strata/mdtest/metadata-api")
    fn = cloud("lambda").get_function(FunctionName=naming.metadata_name(ENV, "authorizer"))["Configuration"]
    hashes = json.loads(fn["Environment"]["Variables"]["KEY_HASHES"])
    assert sorted(hashes.values()) == ["alpha", "beta"]
    assert not set(hashes) & set(deployed["out"]["keys"].values()), "the authorizer must hold hashes, not keys"
    assert deployed["out"]["internal_url"] == "http://metadata.strata-mdtest.internal:8080"


def test_team_keys_are_in_their_own_secrets(deployed, cloud):
    sm = cloud("secretsmanager")
    for team in ("alpha", "beta"):
        name = naming.metadata_api_key_secret(ENV, team)
        value = sm.get_secret_value(SecretId=name)["SecretString"]
        assert value == deployed["out"]["keys"][team] and len(value) == 48, team
        policy = json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"])
        readers = policy["Statement"][0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        assert any(r.endswith(f"role/{naming.job_role(ENV, team)}") for r in readers), (team, readers)
    notes = "\n".join(deployed["engine"].emulation_notes)
    assert "starts no tasks" in notes and "cannot be invoked" in notes and "computed locally" in notes, notes


def test_keys_are_pulumi_secrets(deployed):
    versions = [r for r in deployed["monitor"].registrations if r.type == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert len(versions) == 2
    for r in versions:
        assert "secretString" in r.secret_inputs, f"{r.urn}: the key is not a Pulumi secret"
