"""The metadata layer's types in the local engine: the whole Metadata component deployed into moto, then
checked with boto3 (database, ECS, Cloud Map, HTTP API, authorizer, run-owners table, security groups,
per-team key secrets). The deployed authorizer's code then runs against the deployed table in moto."""

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
    "aws:dynamodb/table:Table",
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
    assert auth["AuthorizerType"] == "REQUEST", auth
    assert auth["IdentitySource"] == ["$request.header.x-api-key", "$context.httpMethod", "$context.path"], auth
    stage = apis.get_stages(ApiId=api["ApiId"])["Items"][0]
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(":log-group:/strata/mdtest/metadata-api")
    fn = cloud("lambda").get_function(FunctionName=naming.metadata_name(ENV, "authorizer"))["Configuration"]
    hashes = json.loads(fn["Environment"]["Variables"]["KEY_HASHES"])
    assert sorted(hashes.values()) == ["alpha", "beta"]
    assert not set(hashes) & set(deployed["out"]["keys"].values()), "the authorizer must hold hashes, not keys"
    assert fn["Environment"]["Variables"]["OWNERS_TABLE"] == naming.metadata_name(ENV, "owners"), fn["Environment"]
    assert deployed["out"]["internal_url"] == deployed["out"]["api_url"], "jobs call the keyed API, not the service"


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


def test_run_owners_table_is_on_demand_encrypted_and_recoverable(deployed, cloud):
    dynamodb = cloud("dynamodb")
    name = naming.metadata_name(ENV, "owners")
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST", f"table {name}: {table.get('BillingModeSummary')}"
    assert table["KeySchema"] == [{"AttributeName": "run", "KeyType": "HASH"}], f"table {name}"
    assert table["SSEDescription"]["SSEType"] == "KMS", f"table {name}: {table.get('SSEDescription')}"
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", f"table {name}: {backups}"


def test_authorizer_role_reaches_the_owners_table_only(deployed, cloud):
    iam = cloud("iam")
    fn = cloud("lambda").get_function(FunctionName=naming.metadata_name(ENV, "authorizer"))["Configuration"]
    role = fn["Role"].rsplit("/", 1)[-1]
    names = sorted(iam.list_role_policies(RoleName=role)["PolicyNames"])
    assert names == ["own-logs", "run-owners"], f"role {role}: {names}"
    assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], f"role {role}: managed policies"
    doc = iam.get_role_policy(RoleName=role, PolicyName="run-owners")["PolicyDocument"]
    table_arn = cloud("dynamodb").describe_table(TableName=naming.metadata_name(ENV, "owners"))["Table"]["TableArn"]
    assert doc["Statement"][0]["Resource"] == table_arn and doc["Statement"][0]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ], doc


def test_only_the_vpc_link_is_admitted_to_the_service(deployed, cloud):
    ec2 = cloud("ec2")
    groups = {
        g["Description"]: g
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["Description"].startswith(f"Strata {ENV} metadata")
    }
    service = groups[f"Strata {ENV} metadata service: HTTP from the API's VPC link and Batch"]
    link = groups[f"Strata {ENV} metadata API VPC link: to the service only"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [service["GroupId"]]}])[
        "SecurityGroupRules"
    ]
    inbound = [
        (r["FromPort"], r.get("ReferencedGroupInfo", {}).get("GroupId"), r.get("CidrIpv4")) for r in rules if not r["IsEgress"]
    ]
    assert inbound == [(mp.SERVICE_PORT, link["GroupId"], None)], f"group {service['GroupId']} admits {inbound}"


def test_deployed_authorizer_claims_runs_in_the_deployed_table(deployed, moto_server, monkeypatch):
    """The code and configuration moto holds, run as Lambda would (moto runs no function without Docker):
    alpha's first write claims its run in the deployed table, beta may read it but not write to it."""
    import boto3

    fn = boto3.client(
        "lambda",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_function(FunctionName=naming.metadata_name(ENV, "authorizer"))["Configuration"]
    for name, value in {
        **fn["Environment"]["Variables"],
        "AWS_ENDPOINT_URL": moto_server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    namespace: dict = {}
    exec(compile(mp.AUTHORIZER_SOURCE, "index.py", "exec"), namespace)
    keys = deployed["out"]["keys"]

    def call(team: str, method: str, path: str) -> bool:
        event = {
            "version": "2.0",
            "rawPath": path,
            "headers": {"x-api-key": keys[team]},
            "requestContext": {"http": {"method": method}},
        }
        return namespace["handler"](event, None)["isAuthorized"]

    run = "/flows/EngineFlow/runs/5"
    assert call("alpha", "POST", "/flows/EngineFlow/run") is True
    assert call("alpha", "POST", f"{run}/steps/start/step") is True
    assert call("beta", "POST", f"{run}/steps/start/task") is False
    assert call("beta", "GET", f"{run}/steps") is True
    item = boto3.client(
        "dynamodb",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_item(TableName=fn["Environment"]["Variables"]["OWNERS_TABLE"], Key={"run": {"S": "EngineFlow/5"}})["Item"]
    assert item["team"] == {"S": "alpha"}, item
