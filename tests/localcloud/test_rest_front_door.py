"""The ``rest-api-nlb`` metadata front door in the local engine: the whole Metadata component deployed
into moto (REGIONAL, and PRIVATE through an execute-api endpoint), then checked with boto3: REST API,
``{proxy+}`` ANY method behind the key authorizer, VPC link to the internal NLB (which admits nothing
else), TCP listener and ip target group, one API key and usage plan per team, the stage. Plus bare Application Load Balancers with HTTPS listeners whose actions
log the user in (Cognito, OIDC) before forwarding."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from core import naming
from localcloud import LocalEngine, LocalEngineError, RecordingMonitor
from localcloud.handlers import INVOKE_HANDLERS, RESOURCE_HANDLERS
from modules.metadata import policies as mp
from modules.metadata.settings import MetadataSettings
from tests.localcloud.conftest import METADATA_TEAMS, _deploy, declare_metadata

TEAMS = METADATA_TEAMS
USAGE_PLAN = {"rateLimit": 10, "burstLimit": 20, "quotaPerDay": 5000}
REST_TYPES = [
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/restApiPolicy:RestApiPolicy",
    "aws:apigateway/vpcLink:VpcLink",
    "aws:apigateway/resource:Resource",
    "aws:apigateway/authorizer:Authorizer",
    "aws:apigateway/method:Method",
    "aws:apigateway/integration:Integration",
    "aws:apigateway/deployment:Deployment",
    "aws:apigateway/account:Account",
    "aws:apigateway/stage:Stage",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:apigateway/apiKey:ApiKey",
    "aws:apigateway/usagePlan:UsagePlan",
    "aws:apigateway/usagePlanKey:UsagePlanKey",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
]


def test_every_front_door_type_has_a_handler():
    missing = [t for t in REST_TYPES if t not in RESOURCE_HANDLERS]
    assert not missing, f"no local-engine handler for {missing}"
    assert "aws:secretsmanager/getSecretVersion:getSecretVersion" in INVOKE_HANDLERS, "no getSecretVersion invoke handler"


def _deploy_metadata(moto_server, *, name: str, env: str, cidr: int, endpoint_type: str, ui: dict | None = None) -> dict:
    """The Metadata component with the rest-api-nlb front door, on its own VPC, names and logical names
    (the moto server is shared by the session). ``ui``: ``strata:metadata.ui`` settings (with a datastore)."""
    engine = LocalEngine(moto_server.endpoint)
    settings = MetadataSettings.model_validate(
        {
            "frontDoor": "rest-api-nlb",
            "endpointType": endpoint_type,
            "usagePlan": USAGE_PLAN,
            "service": {"desiredCount": 1, "maxCount": 1},
            "database": {"minCapacity": 0},
            **({"ui": ui} if ui else {}),
        }
    )

    def program():
        md, vpc = declare_metadata(name, env, cidr, settings)
        return {
            "ui_url": md.ui.url if md.ui else None,
            "ui_dns": md.ui.load_balancer_dns_name if md.ui else None,
            "vpc_id": vpc.id,
            "api_url": md.api_url,
            "internal_url": md.internal_url,
            "keys": md.api_keys,
            "rest_api_name": md.rest_api_name,
        }

    monitor = RecordingMonitor(engine)
    out = _deploy(engine, program, monitor=monitor)
    return {"out": out, "engine": engine, "monitor": monitor, "env": env, "settings": settings, "name": name}


@pytest.fixture(scope="module")
def regional(moto_server):
    return _deploy_metadata(moto_server, name="rfr", env="rfreg", cidr=81, endpoint_type="REGIONAL")


@pytest.fixture(scope="module")
def private(moto_server):
    return _deploy_metadata(moto_server, name="rfp", env="rfpriv", cidr=82, endpoint_type="PRIVATE")


def _registration(deployed: dict, typ: str, suffix: str):
    found = [r for r in deployed["monitor"].registrations if r.type == typ and r.name == f"{deployed['name']}-{suffix}"]
    assert len(found) == 1, f"expected one {typ} {deployed['name']}-{suffix}, got {[r.urn for r in found]}"
    return found[0]


def _rest_api(cloud, deployed: dict) -> dict:
    name = naming.metadata_name(deployed["env"])
    apis = [a for a in cloud("apigateway").get_rest_apis()["items"] if a["name"] == name]
    assert len(apis) == 1, f"REST API {name}: expected one in moto, got {len(apis)}"
    return apis[0]


def _nlb(cloud, deployed: dict) -> dict:
    name = naming.metadata_name(deployed["env"])
    return cloud("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]


@pytest.mark.parametrize("which, endpoint_type", [("regional", "REGIONAL"), ("private", "PRIVATE")])
def test_rest_api_endpoint_type_and_url(which, endpoint_type, request, cloud):
    deployed = request.getfixturevalue(which)
    api = _rest_api(cloud, deployed)
    name = api["name"]
    assert api["endpointConfiguration"]["types"] == [endpoint_type], f"REST API {name}: {api['endpointConfiguration']}"
    assert deployed["out"]["api_url"] == f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/{mp.REST_STAGE}", (
        f"REST API {name}: api_url {deployed['out']['api_url']}"
    )
    assert deployed["out"]["rest_api_name"] == name, f"REST API {name}: output rest_api_name"
    if endpoint_type == "REGIONAL":
        assert not api["endpointConfiguration"].get("vpcEndpointIds"), f"REST API {name}: REGIONAL has no endpoint ids"
        assert not api.get("policy"), f"REST API {name}: REGIONAL has no resource policy"
        return
    # PRIVATE: reachable through the VPC's execute-api interface endpoint only.
    endpoints = cloud("ec2").describe_vpc_endpoints(
        Filters=[
            {"Name": "vpc-id", "Values": [deployed["out"]["vpc_id"]]},
            {"Name": "service-name", "Values": ["com.amazonaws.us-east-1.execute-api"]},
        ]
    )["VpcEndpoints"]
    assert len(endpoints) == 1, f"REST API {name}: expected one execute-api endpoint, got {len(endpoints)}"
    endpoint = endpoints[0]
    assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"], f"endpoint {endpoint['VpcEndpointId']}"
    assert api["endpointConfiguration"]["vpcEndpointIds"] == [endpoint["VpcEndpointId"]], (
        f"REST API {name}: {api['endpointConfiguration']}"
    )
    policy = json.loads(api["policy"])
    conditions = json.dumps([s.get("Condition") for s in policy["Statement"]])
    assert endpoint["VpcEndpointId"] in conditions, f"REST API {name}: policy does not name the endpoint: {policy}"
    assert all(
        s["Resource"].startswith(f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}/") for s in policy["Statement"]
    ), f"REST API {name}: policy resources {policy}"


def test_proxy_method_requires_a_key_and_goes_through_the_vpc_link_to_the_nlb(regional, cloud):
    apigw = cloud("apigateway")
    api = _rest_api(cloud, regional)
    resources = [r for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/{proxy+}"]
    assert len(resources) == 1, f"REST API {api['name']}: no /{{proxy+}} resource"
    proxy = resources[0]
    method = apigw.get_method(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY")
    assert method["apiKeyRequired"] is True and method["authorizationType"] == "CUSTOM", (
        f"{api['name']} ANY /{{proxy+}}: {method}"
    )
    authorizer = apigw.get_authorizer(restApiId=api["id"], authorizerId=method["authorizerId"])
    assert authorizer["type"] == "REQUEST", f"{api['name']} authorizer: {authorizer}"
    assert authorizer["identitySource"] == mp.REST_IDENTITY_SOURCE, f"{api['name']} authorizer: {authorizer['identitySource']}"
    fn = cloud("lambda").get_function(FunctionName=naming.metadata_name(regional["env"], "authorizer"))["Configuration"]
    assert authorizer["authorizerUri"].endswith(f"/functions/{fn['FunctionArn']}/invocations"), f"{api['name']} authorizer"
    assert fn["Environment"]["Variables"]["OWNERS_TABLE"] == naming.metadata_name(regional["env"], "owners"), fn["FunctionName"]
    assert method["requestParameters"] == {"method.request.path.proxy": True}, f"{api['name']} ANY /{{proxy+}}"

    nlb = _nlb(cloud, regional)
    integ = apigw.get_integration(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY")
    assert integ["type"] == "HTTP_PROXY" and integ["connectionType"] == "VPC_LINK", f"{api['name']} integration: {integ}"
    assert integ["uri"] == f"http://{nlb['DNSName']}:{mp.SERVICE_PORT}/{{proxy}}", f"{api['name']} integration uri"
    assert integ["timeoutInMillis"] == 29000, f"{api['name']} integration timeout"
    assert integ["requestParameters"] == {"integration.request.path.proxy": "method.request.path.proxy"}, (
        f"{api['name']} integration"
    )
    # moto keeps no connectionId: the program's integration names the link, and the link targets the NLB.
    link_id = _registration(regional, "aws:apigateway/integration:Integration", "proxy-integration").inputs["connectionId"]
    link = apigw.get_vpc_link(vpcLinkId=link_id)
    assert link["name"] == naming.metadata_name(regional["env"]), f"VPC link {link_id}: {link['name']}"
    assert link["targetArns"] == [nlb["LoadBalancerArn"]], f"VPC link {link_id} targets {link['targetArns']}"
    notes = "\n".join(regional["engine"].emulation_notes)
    assert f"VPC link {link_id} was checked to exist" in notes and "cannot be invoked" in notes, notes


def test_nlb_is_internal_with_a_tcp_listener_to_an_ip_target_group(regional, cloud):
    elbv2 = cloud("elbv2")
    nlb = _nlb(cloud, regional)
    name = nlb["LoadBalancerName"]
    assert nlb["Type"] == "network" and nlb["Scheme"] == "internal", f"NLB {name}: {nlb['Type']} {nlb['Scheme']}"
    assert len(nlb["AvailabilityZones"]) == 2, f"NLB {name}: {nlb['AvailabilityZones']}"
    groups = cloud("ec2").describe_security_groups(GroupIds=nlb["SecurityGroups"])["SecurityGroups"]
    assert [g["Description"] for g in groups] == [
        "Strata rfreg metadata internal NLB: from the REST API's VPC link and Batch, to the service only"
    ], f"NLB {name}: security groups {groups}"
    # The description predates issue 11 (changing it would replace the group): no rule admits Batch, or anyone.
    inbound = [
        r
        for r in cloud("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": nlb["SecurityGroups"]}])[
            "SecurityGroupRules"
        ]
        if not r["IsEgress"]
    ]
    assert not inbound, f"NLB {name}: its group admits {inbound}; only the VPC link (PrivateLink) may reach it"
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=nlb["LoadBalancerArn"])["Attributes"]
    }
    assert attrs["load_balancing.cross_zone.enabled"] == "true", f"NLB {name}: {attrs}"
    assert attrs["deletion_protection.enabled"] == "false", f"NLB {name}: {attrs}"

    listeners = elbv2.describe_listeners(LoadBalancerArn=nlb["LoadBalancerArn"])["Listeners"]
    assert len(listeners) == 1, f"NLB {name}: listeners {listeners}"
    listener = listeners[0]
    assert listener["Protocol"] == "TCP" and listener["Port"] == mp.SERVICE_PORT, f"NLB {name} listener: {listener}"
    tg = elbv2.describe_target_groups(Names=[naming.metadata_name(regional["env"])])["TargetGroups"][0]
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"], "Order": 1}], (
        f"NLB {name} listener actions: {listener['DefaultActions']}"
    )
    assert (tg["TargetType"], tg["Protocol"], tg["Port"]) == ("ip", "TCP", mp.SERVICE_PORT), (
        f"target group {tg['TargetGroupName']}"
    )
    assert tg["VpcId"] == regional["out"]["vpc_id"], f"target group {tg['TargetGroupName']}: VPC"
    expected_health = {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": mp.health_check_path(regional["settings"]),
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": 30,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 3,
        "Matcher": {"HttpCode": "200"},
    }
    assert {k: tg[k] for k in expected_health} == expected_health, f"target group {tg['TargetGroupName']}: health check"
    tg_attrs = {
        a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    }
    assert tg_attrs["deregistration_delay.timeout_seconds"] == "30", f"target group {tg['TargetGroupName']}: {tg_attrs}"
    assert regional["out"]["internal_url"] == regional["out"]["api_url"], f"NLB {name}: jobs must use the keyed API"


@pytest.mark.parametrize("which", ["regional", "private"])
def test_one_api_key_and_usage_plan_per_team(which, request, cloud):
    deployed = request.getfixturevalue(which)
    apigw, env = cloud("apigateway"), deployed["env"]
    api = _rest_api(cloud, deployed)
    key_ids = {}
    for team in ("alpha", "beta"):
        key_name = naming.metadata_name(env, team)
        keys = [k for k in apigw.get_api_keys(nameQuery=key_name, includeValues=True)["items"] if k["name"] == key_name]
        assert len(keys) == 1, f"API key {key_name}: expected one, got {len(keys)}"
        key = keys[0]
        secret = cloud("secretsmanager").get_secret_value(SecretId=naming.metadata_api_key_secret(env, team))["SecretString"]
        same = key["value"] == secret and len(secret) == 48
        assert same, f"API key {key_name}: value differs from the team's Secrets Manager key (values not shown)"
        assert key["enabled"] and key["tags"] == {"environment": env, "team": team}, f"API key {key_name}: {key['tags']}"
        key_ids[team] = key["id"]

    plans = {p["name"]: p for p in apigw.get_usage_plans()["items"]}
    for team in ("alpha", "beta"):
        plan_name = naming.metadata_name(env, team)
        assert plan_name in plans, f"usage plan {plan_name}: missing"
        plan = plans[plan_name]
        assert plan["apiStages"] == [{"apiId": api["id"], "stage": mp.REST_STAGE}], f"usage plan {plan_name}: {plan['apiStages']}"
        assert plan["throttle"] == {"rateLimit": 10.0, "burstLimit": 20}, f"usage plan {plan_name}: {plan['throttle']}"
        assert plan["quota"] == {"limit": 5000, "period": "DAY"}, f"usage plan {plan_name}: {plan['quota']}"
        attached = [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]]
        assert attached == [key_ids[team]], f"usage plan {plan_name}: keys {attached}, expected only {team}'s {key_ids[team]}"


def test_keys_stay_pulumi_secrets(regional):
    for team in ("alpha", "beta"):
        key = _registration(regional, "aws:apigateway/apiKey:ApiKey", f"{team}-api-key")
        assert "value" in key.secret_inputs, f"{key.urn}: the key's value is not a Pulumi secret"


def test_stage_access_logs_throttle_and_account_role(regional, cloud):
    apigw, env = cloud("apigateway"), regional["env"]
    api = _rest_api(cloud, regional)
    stage = apigw.get_stage(restApiId=api["id"], stageName=mp.REST_STAGE)
    where = f"stage {api['name']}/{mp.REST_STAGE}"
    deployments = apigw.get_deployments(restApiId=api["id"])["items"]
    assert [d["id"] for d in deployments] == [stage["deploymentId"]], f"{where}: deployment {deployments}"
    logs = stage["accessLogSettings"]
    assert logs["destinationArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:/strata/{env}/metadata-api", (
        f"{where}: {logs}"
    )
    assert logs["format"] == mp.rest_access_log_format(), f"{where}: access log format"
    assert stage["tracingEnabled"] is False, f"{where}: X-Ray"
    every = stage["methodSettings"]["*/*"]
    assert (every["throttlingRateLimit"], every["throttlingBurstLimit"], every["metricsEnabled"]) == (50.0, 100, True), (
        f"{where}: method settings {every}"
    )
    role_arn = apigw.get_account()["cloudwatchRoleArn"]
    role_name = role_arn.rsplit("/", 1)[-1]
    assert role_name.startswith(("rfr-apigw-logs-", "rfp-apigw-logs-")), f"API Gateway account: CloudWatch role {role_arn}"
    trust = cloud("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}, f"role {role_name}: {trust}"


# --- bare load balancers -------------------------------------------------------------------------------


def _network(prefix: str, cidr: int):
    vpc = aws.ec2.Vpc(f"{prefix}-vpc", cidr_block=f"10.{cidr}.0.0/16")
    subnets = [
        aws.ec2.Subnet(f"{prefix}-subnet-{i}", vpc_id=vpc.id, cidr_block=f"10.{cidr}.{i}.0/24", availability_zone=f"us-east-1{z}")
        for i, z in enumerate("ab")
    ]
    sg = aws.ec2.SecurityGroup(f"{prefix}-alb-sg", vpc_id=vpc.id, description="ui alb")
    return vpc, subnets, sg


def _alb_with_login(prefix: str, cidr: int, certificate_arn: str, login: pulumi.Input[dict]) -> dict:
    """An internal ALB as the Metaflow UI declares it: HTTPS default action login -> static app,
    rule /api/* login -> backend, HTTP only redirects."""
    vpc, subnets, sg = _network(prefix, cidr)
    alb = aws.lb.LoadBalancer(
        f"{prefix}-alb",
        name=f"{prefix}-alb",
        load_balancer_type="application",
        internal=True,
        subnets=[s.id for s in subnets],
        security_groups=[sg.id],
        drop_invalid_header_fields=True,
        enable_deletion_protection=False,
        idle_timeout=60,
    )

    def tg(suffix: str, port: int, path: str) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            f"{prefix}-{suffix}",
            name=f"{prefix}-{suffix}",
            target_type="ip",
            protocol="HTTP",
            port=port,
            vpc_id=vpc.id,
            deregistration_delay="30",
            health_check={"protocol": "HTTP", "path": path, "matcher": "200", "interval": 30, "healthy_threshold": 3},
        )

    static, backend = tg("static", 3000, "/"), tg("backend", 8083, "/api/ping")
    https = aws.lb.Listener(
        f"{prefix}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificate_arn=certificate_arn,
        default_actions=pulumi.Output.all(login, static.arn).apply(
            lambda v: [v[0], {"type": "forward", "order": 2, "target_group_arn": v[1]}]
        ),
    )
    aws.lb.ListenerRule(
        f"{prefix}-api",
        listener_arn=https.arn,
        priority=10,
        conditions=[{"path_pattern": {"values": ["/api/*"]}}],
        actions=pulumi.Output.all(login, backend.arn).apply(
            lambda v: [v[0], {"type": "forward", "order": 2, "target_group_arn": v[1]}]
        ),
    )
    http = aws.lb.Listener(
        f"{prefix}-http",
        load_balancer_arn=alb.arn,
        port=80,
        protocol="HTTP",
        default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
    )
    return {
        "alb": alb.arn,
        "arn_suffix": alb.arn_suffix,
        "https": https.arn,
        "http": http.arn,
        "static": static.arn,
        "backend": backend.arn,
        "static_suffix": static.arn_suffix,
    }


COGNITO = {
    "type": "authenticate-cognito",
    "order": 1,
    "authenticate_cognito": {
        "user_pool_arn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_rfTest",
        "user_pool_client_id": "rf-client",
        "user_pool_domain": "rf-login",
        "on_unauthenticated_request": "authenticate",
        "scope": "openid email profile",
        "session_timeout": 28800,
        "session_cookie_name": "strata-metaflow-ui",
    },
}
COGNITO_API = {
    "UserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_rfTest",
    "UserPoolClientId": "rf-client",
    "UserPoolDomain": "rf-login",
    "OnUnauthenticatedRequest": "authenticate",
    "Scope": "openid email profile",
    "SessionTimeout": 28800,
    "SessionCookieName": "strata-metaflow-ui",
}


def _certificate(cloud, domain: str) -> str:
    """The HTTPS listener's certificate must exist in ACM (moto checks, as AWS does)."""
    return cloud("acm").request_certificate(DomainName=domain)["CertificateArn"]


def test_alb_https_listener_logs_in_with_cognito_then_forwards(moto_server, cloud):
    engine = LocalEngine(moto_server.endpoint)
    certificate = _certificate(cloud, "ui.rfc.example.com")
    out = _deploy(engine, lambda: _alb_with_login("rfc", 83, certificate, COGNITO))
    elbv2 = cloud("elbv2")

    alb = elbv2.describe_load_balancers(LoadBalancerArns=[out["alb"]])["LoadBalancers"][0]
    assert (alb["Type"], alb["Scheme"]) == ("application", "internal"), f"ALB rfc-alb: {alb['Type']} {alb['Scheme']}"
    assert out["arn_suffix"] == out["alb"].split(":loadbalancer/", 1)[1] and out["arn_suffix"].startswith("app/rfc-alb/"), (
        f"ALB rfc-alb: arnSuffix {out['arn_suffix']}"
    )
    assert out["static_suffix"].startswith("targetgroup/rfc-static/"), (
        f"target group rfc-static: arnSuffix {out['static_suffix']}"
    )
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=out["alb"])["Attributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true", f"ALB rfc-alb: {attrs}"
    assert attrs["idle_timeout.timeout_seconds"] == "60", f"ALB rfc-alb: {attrs}"

    https = elbv2.describe_listeners(ListenerArns=[out["https"]])["Listeners"][0]
    assert (https["Protocol"], https["Port"], https["SslPolicy"]) == ("HTTPS", 443, "ELBSecurityPolicy-TLS13-1-2-2021-06"), (
        f"listener rfc-https: {https['Protocol']} {https['Port']} {https['SslPolicy']}"
    )
    assert https["Certificates"] == [{"CertificateArn": certificate}], f"listener rfc-https: {https['Certificates']}"
    assert https["DefaultActions"] == [
        {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": COGNITO_API},
        {"Type": "forward", "Order": 2, "TargetGroupArn": out["static"]},
    ], f"listener rfc-https: default actions {https['DefaultActions']}"

    rules = [r for r in elbv2.describe_rules(ListenerArn=out["https"])["Rules"] if not r["IsDefault"]]
    assert len(rules) == 1, f"listener rfc-https: rules {rules}"
    rule = rules[0]
    assert rule["Priority"] == "10", f"rule rfc-api: priority {rule['Priority']}"
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}], (
        f"rule rfc-api: {rule['Conditions']}"
    )
    assert rule["Actions"] == [
        {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": COGNITO_API},
        {"Type": "forward", "Order": 2, "TargetGroupArn": out["backend"]},
    ], f"rule rfc-api: actions {rule['Actions']}"

    http = elbv2.describe_listeners(ListenerArns=[out["http"]])["Listeners"][0]
    assert (http["Protocol"], http["Port"]) == ("HTTP", 80), f"listener rfc-http: {http['Protocol']} {http['Port']}"
    assert http["DefaultActions"] == [
        {"Type": "redirect", "Order": 1, "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    ], f"listener rfc-http: {http['DefaultActions']}"
    backend = elbv2.describe_target_groups(TargetGroupArns=[out["backend"]])["TargetGroups"][0]
    assert (backend["Protocol"], backend["Port"], backend["HealthCheckPath"]) == ("HTTP", 8083, "/api/ping"), (
        f"target group rfc-backend: {backend}"
    )


def test_alb_oidc_login_reads_the_client_secret_and_keeps_it_secret(moto_server, cloud):
    sm = cloud("secretsmanager")
    client_secret = "rf-oidc-client-secret-for-tests"
    secret_arn = sm.create_secret(Name="strata/rfo/ui-oidc-client-secret", SecretString=client_secret)["ARN"]
    certificate = _certificate(cloud, "ui.rfo.example.com")
    engine = LocalEngine(moto_server.endpoint)
    monitor = RecordingMonitor(engine)

    def program():
        # As the UI does: read the secret at deploy time, keep the action a Pulumi secret.
        read = aws.secretsmanager.get_secret_version_output(secret_id=secret_arn)
        login = pulumi.Output.secret(
            read.secret_string.apply(
                lambda s: {
                    "type": "authenticate-oidc",
                    "order": 1,
                    "authenticate_oidc": {
                        "issuer": "https://idp.example.com",
                        "authorization_endpoint": "https://idp.example.com/authorize",
                        "token_endpoint": "https://idp.example.com/token",
                        "user_info_endpoint": "https://idp.example.com/userinfo",
                        "client_id": "rf-ui",
                        "client_secret": s,
                        "on_unauthenticated_request": "authenticate",
                        "scope": "openid email profile",
                        "authentication_request_extra_params": {"prompt": "login"},
                    },
                }
            )
        )
        return {**_alb_with_login("rfo", 84, certificate, login), "read_arn": read.secret_arn}

    out = _deploy(engine, program, monitor=monitor)
    assert out["read_arn"] == secret_arn, f"getSecretVersion {secret_arn}: arn {out['read_arn']}"
    elbv2 = cloud("elbv2")
    actions = elbv2.describe_listeners(ListenerArns=[out["https"]])["Listeners"][0]["DefaultActions"]
    assert [(a["Type"], a["Order"]) for a in actions] == [("authenticate-oidc", 1), ("forward", 2)], (
        f"listener rfo-https: action order {[(a['Type'], a['Order']) for a in actions]}"
    )
    oidc = dict(actions[0]["AuthenticateOidcConfig"])
    same_secret = oidc.pop("ClientSecret", None) == client_secret  # moto echoes it (AWS never does); not printed
    assert same_secret, "listener rfo-https: the OIDC client secret is not the one read from Secrets Manager"
    assert oidc == {
        "Issuer": "https://idp.example.com",
        "AuthorizationEndpoint": "https://idp.example.com/authorize",
        "TokenEndpoint": "https://idp.example.com/token",
        "UserInfoEndpoint": "https://idp.example.com/userinfo",
        "ClientId": "rf-ui",
        "OnUnauthenticatedRequest": "authenticate",
        "Scope": "openid email profile",
        "AuthenticationRequestExtraParams": {"prompt": "login"},
    }, f"listener rfo-https: OIDC config {oidc}"
    assert actions[1]["TargetGroupArn"] == out["static"], "listener rfo-https: forward target"
    rule = next(r for r in elbv2.describe_rules(ListenerArn=out["https"])["Rules"] if not r["IsDefault"])
    assert [(a["Type"], a["Order"]) for a in rule["Actions"]] == [("authenticate-oidc", 1), ("forward", 2)], "rule rfo-api: order"
    assert rule["Actions"][1]["TargetGroupArn"] == out["backend"], "rule rfo-api: forward target"
    for reg in monitor.registrations:
        if reg.type in ("aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule") and reg.name in ("rfo-https", "rfo-api"):
            field = "defaultActions" if reg.type.endswith("Listener") else "actions"
            assert field in reg.secret_inputs, f"{reg.urn}: the actions holding the client secret are not a Pulumi secret"


def test_https_listener_needs_a_certificate_moto_knows(moto_server):
    engine = LocalEngine(moto_server.endpoint)
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    with pytest.raises(LocalEngineError, match=r"aws:lb/listener:Listener 'rfx-https'.*Certificate"):
        _deploy(engine, lambda: _alb_with_login("rfx", 85, missing, COGNITO))


def test_network_load_balancer_arn_suffix_is_awss_form(moto_server, cloud):
    engine = LocalEngine(moto_server.endpoint)

    def program():
        _, subnets, sg = _network("rfn", 86)
        nlb = aws.lb.LoadBalancer(
            "rfn-nlb", load_balancer_type="network", internal=True, subnets=[s.id for s in subnets], security_groups=[sg.id]
        )
        return {"arn": nlb.arn, "suffix": nlb.arn_suffix, "name": nlb.name, "dns": nlb.dns_name}

    out = _deploy(engine, program)
    assert len(out["name"]) <= 32 and out["name"].startswith("rfn-nlb-"), f"NLB rfn-nlb: auto-name {out['name']}"
    lb_id = out["arn"].rsplit("/", 1)[-1]
    assert out["suffix"] == f"net/{out['name']}/{lb_id}", f"NLB rfn-nlb: arnSuffix {out['suffix']} (arn {out['arn']})"
    found = cloud("elbv2").describe_load_balancers(LoadBalancerArns=[out["arn"]])["LoadBalancers"][0]
    assert found["Type"] == "network" and found["DNSName"] == out["dns"], f"NLB rfn-nlb: {found}"
    assert any("arnSuffix is AWS's net/" in n for n in engine.emulation_notes), engine.emulation_notes


# ---------------------------------------------------------------- the Metaflow UI, deployed whole


@pytest.fixture(scope="module")
def with_ui(moto_server, cloud):
    certificate = _certificate(cloud, "metaflow.rfu.example.com")
    ui = {
        "enabled": True,
        "domainName": "metaflow.rfu.example.com",
        "certificateArn": certificate,
        "auth": "cognito",
        "cognitoUserPoolArn": COGNITO["authenticate_cognito"]["user_pool_arn"],
        "cognitoClientId": COGNITO["authenticate_cognito"]["user_pool_client_id"],
        "cognitoDomain": COGNITO["authenticate_cognito"]["user_pool_domain"],
    }
    deployed = _deploy_metadata(moto_server, name="rfu", env="rfui", cidr=84, endpoint_type="REGIONAL", ui=ui)
    return deployed | {"certificate": certificate}


def test_ui_alb_in_moto_logs_in_on_every_path_before_forwarding(with_ui, cloud):
    elbv2 = cloud("elbv2")
    (alb,) = elbv2.describe_load_balancers(Names=["strata-rfui-ui"])["LoadBalancers"]
    assert alb["Scheme"] == "internal" and alb["Type"] == "application", alb["LoadBalancerName"]
    assert with_ui["out"]["ui_dns"] == alb["DNSName"], "metadataUiLoadBalancerDns is the ALB's DNS name"
    assert with_ui["out"]["ui_url"] == "https://metaflow.rfu.example.com/"
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"]
    }
    assert attrs.get("routing.http.drop_invalid_header_fields.enabled") == "true", f"{alb['LoadBalancerName']}: {attrs}"
    listeners = {item["Port"]: item for item in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]}
    assert set(listeners) == {80, 443}, f"{alb['LoadBalancerName']}: listeners on {sorted(listeners)}"
    https = listeners[443]
    assert https["Protocol"] == "HTTPS" and https["Certificates"][0]["CertificateArn"] == with_ui["certificate"]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06", https["ListenerArn"]
    assert [a["Type"] for a in sorted(https["DefaultActions"], key=lambda a: a["Order"])] == ["authenticate-cognito", "forward"]
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect", "port 80 must only redirect"
    rules = [r for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if not r["IsDefault"]]
    (api,) = rules
    assert api["Conditions"][0]["PathPatternConfig"]["Values"] == ["/api/*"], api
    kinds = [a["Type"] for a in sorted(api["Actions"], key=lambda a: a["Order"])]
    assert kinds == ["authenticate-cognito", "forward"], f"/api/* rule: {kinds}"


def test_ui_task_roles_have_no_permission_in_moto(with_ui, cloud):
    """The UI backend reads no team's prefix and no key: its task role (and the static app's) has no policy."""
    ecs, iam = cloud("ecs"), cloud("iam")
    for part in ("backend", "static"):
        family = f"strata-rfui-metadata-ui-{part}"
        task = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        role = task["taskRoleArn"].rsplit("/", 1)[-1]
        inline = iam.list_role_policies(RoleName=role)["PolicyNames"]
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert not inline and not attached, f"{family}: task role {role} has {inline} {attached}"
    backend = ecs.describe_task_definition(taskDefinition="strata-rfui-metadata-ui-backend")["taskDefinition"]
    env = {e["name"]: e["value"] for e in backend["containerDefinitions"][0]["environment"]}
    assert env["FEATURE_CACHE_DISABLE"] == env["FEATURE_S3_DISABLE"] == "1" and env["FEATURE_ARTIFACT_SEARCH"] == "0", env


def test_ui_services_register_with_their_target_groups_in_moto(with_ui, cloud):
    ecs, elbv2 = cloud("ecs"), cloud("elbv2")
    groups = {
        g["TargetGroupName"]: g
        for g in elbv2.describe_target_groups(Names=["strata-rfui-ui-backend", "strata-rfui-ui-static"])["TargetGroups"]
    }
    assert groups["strata-rfui-ui-backend"]["HealthCheckPath"] == "/api/ping", groups["strata-rfui-ui-backend"]
    assert groups["strata-rfui-ui-static"]["Port"] == 3000
    services = ecs.describe_services(
        cluster="strata-rfui-metadata", services=["strata-rfui-metadata-ui-backend", "strata-rfui-metadata-ui-static"]
    )["services"]
    assert len(services) == 2, [s["serviceName"] for s in services]
    for svc in services:
        part = svc["serviceName"].rsplit("-", 1)[-1]
        (lb,) = svc["loadBalancers"]
        assert lb["targetGroupArn"] == groups[f"strata-rfui-ui-{part}"]["TargetGroupArn"], svc["serviceName"]
        assert svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED", svc["serviceName"]


def test_metadata_service_registers_with_the_nlb_target_group_in_moto(regional, cloud):
    ecs, elbv2 = cloud("ecs"), cloud("elbv2")
    (svc,) = ecs.describe_services(cluster="strata-rfreg-metadata", services=["strata-rfreg-metadata"])["services"]
    (group,) = elbv2.describe_target_groups(Names=["strata-rfreg-metadata"])["TargetGroups"]
    assert [lb["targetGroupArn"] for lb in svc["loadBalancers"]] == [group["TargetGroupArn"]], svc["serviceName"]
