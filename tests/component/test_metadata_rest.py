"""Component tests of the ``rest-api-nlb`` metadata front door under Pulumi mocks: REST API + VPC link +
internal NLB, one API key and usage plan per team, PRIVATE through an execute-api endpoint."""

from __future__ import annotations

import json

import pytest
from test_metadata import ACCOUNT, PROD, TEAMS, of
from test_metadata import deploy as deploy_metadata

from localcloud.plan import computed_outputs
from modules.metadata import policies

REST = {"frontDoor": "rest-api-nlb", "usagePlan": {"rateLimit": 10, "burstLimit": 20, "quotaPerDay": 5000}}


def deploy(data: dict) -> tuple[list, dict]:
    return deploy_metadata(data, log_kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs")


def one(regs: list, typ: str, name: str | None = None):
    found = [r for r in of(regs, typ) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {typ} {name or ''}, got {[r.urn or r.name for r in found]}"
    return found[0]


def urn(r) -> str:
    return r.urn or f"{r.type}::{r.name}"


@pytest.fixture(scope="module")
def regional():
    return deploy(REST)


@pytest.fixture(scope="module")
def private():
    return deploy({**PROD, **REST, "endpointType": "PRIVATE"})


def test_no_http_api_or_cloud_map(regional):
    regs, out = regional
    for typ in (
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/authorizer:Authorizer",
        "aws:servicediscovery/service:Service",
    ):
        assert not of(regs, typ), f"rest-api-nlb declares {[urn(r) for r in of(regs, typ)]}"
    assert out["http_api_id"] is None, out


def test_regional_rest_api_with_proxy_method_requiring_a_key(regional):
    regs, _ = regional
    api = one(regs, "aws:apigateway/restApi:RestApi")
    assert api.inputs["name"] == "strata-dev-metadata", urn(api)
    assert api.inputs["endpointConfiguration"] == {"types": "REGIONAL"}, urn(api)
    assert not of(regs, "aws:apigateway/restApiPolicy:RestApiPolicy"), "REGIONAL: no endpoint-only policy"
    assert not of(regs, "aws:ec2/vpcEndpoint:VpcEndpoint"), "REGIONAL: no execute-api endpoint"
    proxy = one(regs, "aws:apigateway/resource:Resource")
    assert proxy.inputs["pathPart"] == "{proxy+}", urn(proxy)
    method = one(regs, "aws:apigateway/method:Method")
    assert method.inputs["httpMethod"] == "ANY", urn(method)
    assert method.inputs["apiKeyRequired"] is True, f"{urn(method)}: the key must be on the team's usage plan"
    assert method.inputs["authorization"] == "CUSTOM", f"{urn(method)}: the authorizer checks run ownership"
    assert method.inputs["authorizerId"] == "metadata-rest-authorizer_id", urn(method)


def test_rest_authorizer_is_the_key_and_ownership_lambda_cached_per_key_method_and_path(regional):
    regs, _ = regional
    authorizer = one(regs, "aws:apigateway/authorizer:Authorizer")
    fn = one(regs, "aws:lambda/function:Function")
    assert authorizer.inputs["type"] == "REQUEST", urn(authorizer)
    assert authorizer.inputs["restApi"] == "metadata-rest-api_id", urn(authorizer)
    assert authorizer.inputs["identitySource"] == "method.request.header.x-api-key,context.httpMethod,context.path", (
        f"{urn(authorizer)}: a decision cached per key alone would serve one run's Allow for another"
    )
    assert authorizer.inputs["authorizerResultTtlInSeconds"] == 300, urn(authorizer)
    invoke = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:mock:us-east-1:{ACCOUNT}:metadata-authorizer/invocations"
    assert authorizer.inputs["authorizerUri"] == invoke, f"{urn(authorizer)} invokes {authorizer.inputs['authorizerUri']}"
    assert fn.inputs["code"].assets["index.py"].text == policies.AUTHORIZER_SOURCE, urn(fn)
    assert fn.inputs["environment"]["variables"]["OWNERS_TABLE"] == "strata-dev-metadata-owners", urn(fn)
    assert "environment" in fn.secret_inputs, f"{urn(fn)}: the key hashes are not a Pulumi secret"
    permission = one(regs, "aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "apigateway.amazonaws.com", urn(permission)
    assert permission.inputs["sourceArn"].endswith("/authorizers/metadata-rest-authorizer_id"), urn(permission)


def test_integration_goes_through_the_vpc_link_to_the_internal_nlb(regional):
    regs, out = regional
    nlb = one(regs, "aws:lb/loadBalancer:LoadBalancer")
    assert nlb.inputs["loadBalancerType"] == "network" and nlb.inputs["internal"] is True, urn(nlb)
    assert nlb.inputs["subnets"] == ["subnet-a", "subnet-b"], urn(nlb)
    link = one(regs, "aws:apigateway/vpcLink:VpcLink")
    assert link.inputs["targetArn"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:metadata-nlb", urn(link)
    integration = one(regs, "aws:apigateway/integration:Integration")
    assert integration.inputs["type"] == "HTTP_PROXY", urn(integration)
    assert integration.inputs["connectionType"] == "VPC_LINK", urn(integration)
    assert integration.inputs["connectionId"] == "metadata-vpc-link_id", urn(integration)
    nlb_dns = computed_outputs(nlb.type, nlb.name, nlb.inputs)["dnsName"]
    assert integration.inputs["uri"] == f"http://{nlb_dns}:8080/{{proxy}}", urn(integration)
    listener = one(regs, "aws:lb/listener:Listener")
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (8080, "TCP"), urn(listener)


def test_target_group_is_ip_with_the_service_health_path_and_the_service_registers(regional, private):
    for (regs, _), path in ((regional, "/ping"), (private, "/healthcheck")):
        tg = one(regs, "aws:lb/targetGroup:TargetGroup")
        assert tg.inputs["targetType"] == "ip", urn(tg)
        assert tg.inputs["healthCheck"]["path"] == path, f"{urn(tg)}: {tg.inputs['healthCheck']}"
        assert tg.inputs["healthCheck"]["protocol"] == "HTTP", urn(tg)
        service = one(regs, "aws:ecs/service:Service")
        assert service.inputs["loadBalancers"] == [
            {
                "targetGroupArn": f"arn:aws:mock:us-east-1:{ACCOUNT}:metadata-targets",
                "containerName": "metadata",
                "containerPort": 8080,
            }
        ], urn(service)
        assert "serviceRegistries" not in service.inputs, urn(service)


def test_stage_access_logs_and_throttle(regional):
    regs, _ = regional
    stage = one(regs, "aws:apigateway/stage:Stage")
    logs = one(regs, "aws:cloudwatch/logGroup:LogGroup", "metadata-api-logs")
    assert logs.inputs["retentionInDays"] == 30, urn(logs)
    assert logs.inputs["kmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs", urn(logs)
    assert stage.inputs["accessLogSettings"]["destinationArn"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:metadata-api-logs", urn(
        stage
    )
    assert "apiKeyId" in json.loads(stage.inputs["accessLogSettings"]["format"]), urn(stage)
    settings = one(regs, "aws:apigateway/methodSettings:MethodSettings")
    assert settings.inputs["methodPath"] == "*/*", urn(settings)
    assert settings.inputs["settings"]["throttlingRateLimit"] == 50, urn(settings)
    assert settings.inputs["settings"]["throttlingBurstLimit"] == 100, urn(settings)
    account = one(regs, "aws:apigateway/account:Account")
    role_policy = one(regs, "aws:iam/rolePolicy:RolePolicy", "metadata-apigw-logs")
    resources = json.loads(role_policy.inputs["policy"])["Statement"][0]["Resource"]
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/strata/*/metadata-api"
    assert resources == [group, f"{group}:log-stream:*"], f"{urn(role_policy)} ({urn(account)}): every env's access-log group"
    assert logs.inputs["name"] == "/strata/dev/metadata-api", urn(logs)


def test_a_stack_that_does_not_own_the_account_logging_role_declares_none():
    regs, _ = deploy({**REST, "api": {"manageAccountLoggingRole": False}})
    assert not of(regs, "aws:apigateway/account:Account"), [urn(r) for r in of(regs, "aws:apigateway/account:Account")]
    assert not [r for r in of(regs, "aws:iam/role:Role") if r.name == "metadata-apigw-logs"], "logging role declared"
    stage = one(regs, "aws:apigateway/stage:Stage")
    assert stage.inputs["accessLogSettings"]["destinationArn"].endswith(":metadata-api-logs"), urn(stage)


def test_one_api_key_and_usage_plan_per_team_with_the_teams_key(regional):
    regs, out = regional
    keys = {r.name: r for r in of(regs, "aws:apigateway/apiKey:ApiKey")}
    plans = {r.name: r for r in of(regs, "aws:apigateway/usagePlan:UsagePlan")}
    links = {r.name: r for r in of(regs, "aws:apigateway/usagePlanKey:UsagePlanKey")}
    assert len(keys) == len(plans) == len(links) == len(TEAMS), (sorted(keys), sorted(plans), sorted(links))
    for team in TEAMS:
        key = keys[f"metadata-{team.name}-api-key"]
        assert key.inputs["value"] == out["keys"][team.name], f"{urn(key)}: the value is the team's secret key"
        assert "value" in key.secret_inputs, f"{urn(key)}: the key must stay a Pulumi secret"
        assert key.inputs["tags"]["team"] == team.name, urn(key)
        plan = plans[f"metadata-{team.name}-usage-plan"]
        assert plan.inputs["throttleSettings"] == {"rateLimit": 10, "burstLimit": 20}, urn(plan)
        assert plan.inputs["quotaSettings"] == {"limit": 5000, "period": "DAY"}, urn(plan)
        assert plan.inputs["apiStages"] == [{"apiId": "metadata-rest-api_id", "stage": "api"}], urn(plan)
        link = links[f"metadata-{team.name}-usage-plan-key"]
        assert (link.inputs["keyId"], link.inputs["usagePlanId"], link.inputs["keyType"]) == (
            f"metadata-{team.name}-api-key_id",
            f"metadata-{team.name}-usage-plan_id",
            "API_KEY",
        ), urn(link)


def test_urls_and_observability_names(regional):
    regs, out = regional
    api = one(regs, "aws:apigateway/restApi:RestApi")
    assert out["url"] == "https://metadata-rest-api_id.execute-api.us-east-1.amazonaws.com/api", f"{urn(api)}: {out['url']}"
    nlb = one(regs, "aws:lb/loadBalancer:LoadBalancer")
    dns = computed_outputs(nlb.type, nlb.name, nlb.inputs)["dnsName"]
    assert dns.startswith("strata-dev-metadata-") and ".elb.us-east-1." in dns, dns
    assert out["internal"] == out["url"], f"jobs use the keyed API, not the NLB: {out['internal']}"
    integration = one(regs, "aws:apigateway/integration:Integration")
    assert integration.inputs["uri"] == f"http://{dns}:8080/{{proxy}}", urn(integration)
    assert out["rest_api_name"] == "strata-dev-metadata", urn(api)
    assert out["lb"] == "metadata-nlb" and out["tg"] == "metadata-targets", out


def test_security_groups_front_door_to_service_only(regional):
    """Only the NLB reaches the service, and nothing reaches the NLB but the VPC link (PrivateLink traffic,
    which its group does not filter): Batch compute is in no rule, so jobs go through the API and its key."""
    regs, _ = regional
    rules = of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    into_service = [r for r in rules if r.inputs["securityGroupId"] == "metadata-service-sg_id"]
    assert [(r.name, r.inputs["referencedSecurityGroupId"]) for r in into_service] == [
        ("metadata-service-from-nlb", "metadata-nlb-sg_id")
    ], [urn(r) for r in into_service]
    into_nlb = [urn(r) for r in rules if r.inputs["securityGroupId"] == "metadata-nlb-sg_id"]
    assert not into_nlb, f"the NLB admits {into_nlb}"
    nlb = one(regs, "aws:lb/loadBalancer:LoadBalancer")
    assert nlb.inputs["enforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off", urn(nlb)
    batch = [urn(r) for r in rules if r.inputs.get("referencedSecurityGroupId") == "sg-batch"]
    assert not batch, f"Batch compute is admitted by {batch}"
    assert not any("cidrIpv4" in r.inputs for r in rules), "no ingress from an address range"
    egress = one(regs, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "metadata-nlb-to-service")
    assert egress.inputs["referencedSecurityGroupId"] == "metadata-service-sg_id", urn(egress)


def test_private_api_admits_batch_on_its_endpoint_only(private):
    """PRIVATE: jobs reach the API through the execute-api endpoint (HTTPS), and nothing else of the front door."""
    regs, _ = private
    rules = of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    batch = [
        (r.name, r.inputs["securityGroupId"], r.inputs["fromPort"])
        for r in rules
        if r.inputs.get("referencedSecurityGroupId") == "sg-batch"
    ]
    assert batch == [("metadata-execute-api-from-batch", "metadata-execute-api-sg_id", 443)], batch


def test_private_api_only_through_its_execute_api_endpoint(private):
    regs, _ = private
    api = one(regs, "aws:apigateway/restApi:RestApi")
    assert api.inputs["endpointConfiguration"] == {"types": "PRIVATE", "vpcEndpointIds": ["metadata-execute-api_id"]}, urn(api)
    endpoint = one(regs, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.execute-api", urn(endpoint)
    assert endpoint.inputs["vpcEndpointType"] == "Interface" and endpoint.inputs["privateDnsEnabled"] is True, urn(endpoint)
    assert endpoint.inputs["subnetIds"] == ["subnet-a", "subnet-b"], urn(endpoint)
    policy = one(regs, "aws:apigateway/restApiPolicy:RestApiPolicy")
    doc = json.loads(policy.inputs["policy"])
    deny = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"StringNotEquals": {"aws:SourceVpce": "metadata-execute-api_id"}}, urn(policy)


def test_private_needs_the_rest_front_door():
    with pytest.raises(ValueError, match="PRIVATE endpoint needs the rest-api-nlb"):
        deploy({"endpointType": "PRIVATE"})


def test_pure_helpers():
    assert policies.elb_arn_suffix("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/a/b") == "net/a/b"
    assert policies.elb_arn_suffix("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/b") == "targetgroup/a/b"
    assert policies.rest_api_url("abc", "us-east-1") == "https://abc.execute-api.us-east-1.amazonaws.com/api"
    assert policies.nlb_url("x.elb.amazonaws.com") == "http://x.elb.amazonaws.com:8080"
    with pytest.raises(ValueError):
        policies.nlb_url("")
