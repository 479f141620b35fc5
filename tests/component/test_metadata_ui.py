"""Component tests of the optional Metaflow UI (modules/metadata/ui.py) under Pulumi mocks: an internal,
HTTPS-only ALB that logs every request in (Cognito or OIDC) before forwarding, the two Fargate services,
a backend that reads no datastore (no permission, its datastore features off), and no plaintext secret
anywhere."""

from __future__ import annotations

import json

import pytest
from test_metadata import ACCOUNT, OIDC_CLIENT_SECRET, of
from test_metadata import deploy as deploy_metadata

from modules.metadata import ui_spec

CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0b1c2d3e-1111-2222-3333-444455556666"
POOL = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_AbCdEf123"
CLIENT_SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:strata/ui-oidc-AbCd"
EXTRA = {"vpc_cidr": "10.20.0.0/16"}
COGNITO = {
    "enabled": True,
    "domainName": "metaflow.ml.example.com",
    "certificateArn": CERT,
    "auth": "cognito",
    "cognitoUserPoolArn": POOL,
    "cognitoClientId": "client123",
    "cognitoDomain": "acme-ml",
}
OIDC = {
    "enabled": True,
    "domainName": "metaflow.ml.example.com",
    "certificateArn": CERT,
    "auth": "oidc",
    "oidcIssuer": "https://idp.example.com",
    "oidcAuthorizationEndpoint": "https://idp.example.com/authorize",
    "oidcTokenEndpoint": "https://idp.example.com/token",
    "oidcUserInfoEndpoint": "https://idp.example.com/userinfo",
    "oidcClientId": "metaflow-ui",
    "oidcClientSecretArn": CLIENT_SECRET_ARN,
    "allowedCidrs": ["10.8.0.0/16", "192.168.10.0/24"],
}


def urn(r) -> str:
    return r.urn or f"{r.type}::{r.name}"


def one(regs: list, typ: str, name: str):
    found = [r for r in of(regs, typ) if r.name == name]
    assert len(found) == 1, f"expected one {typ} {name}, got {[urn(r) for r in of(regs, typ)]}"
    return found[0]


@pytest.fixture(scope="module")
def cognito():
    return deploy_metadata({"ui": COGNITO}, extra=EXTRA)


@pytest.fixture(scope="module")
def oidc():
    return deploy_metadata({"ui": OIDC}, protect=True, extra=EXTRA)


def test_off_by_default_declares_no_load_balancer():
    regs, out = deploy_metadata({}, extra=EXTRA)
    assert not of(regs, "aws:lb/loadBalancer:LoadBalancer"), [urn(r) for r in of(regs, "aws:lb/loadBalancer:LoadBalancer")]
    assert not [r for r in regs if r.type == "strata:metadata:Ui"], "UI component declared while off"
    assert out["ui_url"] is None


def test_internal_alb_drops_invalid_headers(cognito):
    regs, out = cognito
    alb = one(regs, "aws:lb/loadBalancer:LoadBalancer", "metadata-ui-alb")
    assert alb.inputs["internal"] is True, f"{urn(alb)}: the UI's ALB must never be internet-facing"
    assert alb.inputs["loadBalancerType"] == "application", urn(alb)
    assert alb.inputs["dropInvalidHeaderFields"] is True, urn(alb)
    assert alb.inputs["subnets"] == ["subnet-a", "subnet-b"], urn(alb)
    assert alb.inputs["name"] == "strata-dev-ui", urn(alb)
    assert alb.inputs["enableDeletionProtection"] is False, f"{urn(alb)}: dev is not protected"
    assert out["ui_url"] == "https://metaflow.ml.example.com/"


def test_https_listener_logs_in_with_cognito_before_forwarding(cognito):
    regs, _ = cognito
    https = one(regs, "aws:lb/listener:Listener", "metadata-ui-https")
    assert https.inputs["protocol"] == "HTTPS" and https.inputs["port"] == 443, urn(https)
    assert https.inputs["certificateArn"] == CERT, urn(https)
    assert https.inputs["sslPolicy"] == ui_spec.SSL_POLICY, urn(https)
    login, forward = https.inputs["defaultActions"]
    assert login["type"] == "authenticate-cognito" and login["order"] == 1, f"{urn(https)}: {login}"
    assert login["authenticateCognito"]["userPoolArn"] == POOL, urn(https)
    assert login["authenticateCognito"]["userPoolDomain"] == "acme-ml", urn(https)
    assert login["authenticateCognito"]["onUnauthenticatedRequest"] == "authenticate", urn(https)
    assert login["authenticateCognito"]["sessionTimeout"] == 28800, urn(https)
    assert forward["type"] == "forward" and forward["order"] == 2, f"{urn(https)}: {forward}"
    assert forward["targetGroupArn"].endswith(":metadata-ui-static"), urn(https)


def test_api_rule_also_logs_in_then_forwards_to_the_backend(cognito):
    regs, _ = cognito
    rule = one(regs, "aws:lb/listenerRule:ListenerRule", "metadata-ui-api")
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/api/*"]}}], urn(rule)
    login, forward = rule.inputs["actions"]
    assert login["type"] == "authenticate-cognito", f"{urn(rule)}: /api must not bypass the login"
    assert forward["targetGroupArn"].endswith(":metadata-ui-backend"), urn(rule)


def test_port_80_only_redirects(cognito):
    regs, _ = cognito
    http = one(regs, "aws:lb/listener:Listener", "metadata-ui-http")
    (action,) = http.inputs["defaultActions"]
    assert action["type"] == "redirect", urn(http)
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}, urn(http)


def test_every_listener_action_is_a_login_or_redirect_first():
    """No listener or rule forwards anything without a login first (both auth kinds)."""
    for data in (COGNITO, OIDC):
        regs, _ = deploy_metadata({"ui": data}, extra=EXTRA)
        for r in of(regs, "aws:lb/listener:Listener") + of(regs, "aws:lb/listenerRule:ListenerRule"):
            actions = sorted(r.inputs.get("defaultActions") or r.inputs["actions"], key=lambda a: a.get("order", 0))
            assert actions[0]["type"] in ("authenticate-cognito", "authenticate-oidc", "redirect"), f"{urn(r)}: {actions[0]}"


def test_alb_reachable_from_the_vpc_cidr_by_default_and_from_listed_cidrs(cognito, oidc):
    for (regs, _), expected in ((cognito, {"10.20.0.0/16"}), (oidc, {"10.8.0.0/16", "192.168.10.0/24"})):
        rules = [
            r
            for r in of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r.name.startswith("metadata-ui-alb-")
        ]
        by_port: dict[int, set[str]] = {}
        for r in rules:
            assert r.inputs.get("cidrIpv4"), f"{urn(r)}: the ALB only takes traffic from CIDRs"
            assert r.inputs["cidrIpv4"] != "0.0.0.0/0", f"{urn(r)}: open to the internet"
            by_port.setdefault(int(r.inputs["fromPort"]), set()).add(r.inputs["cidrIpv4"])
        assert by_port == {443: expected, 80: expected}, by_port


def test_tasks_take_traffic_from_the_alb_only_and_backend_reaches_the_database(cognito):
    regs, _ = cognito
    ingress = {r.name: r for r in of(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    for port in (ui_spec.BACKEND_PORT, ui_spec.STATIC_PORT):
        r = ingress[f"metadata-ui-tasks-{port}-from-alb"]
        assert r.inputs["referencedSecurityGroupId"] == "metadata-ui-alb-sg_id", urn(r)
        assert "cidrIpv4" not in r.inputs, urn(r)
    db = ingress["metadata-ui-db-from-ui-backend"]
    assert db.inputs["securityGroupId"] == "metadata-db-sg_id", urn(db)
    assert db.inputs["referencedSecurityGroupId"] == "metadata-ui-tasks-sg_id", urn(db)
    assert int(db.inputs["fromPort"]) == 5432, urn(db)


def test_services_are_private_and_registered_with_their_target_groups(cognito):
    regs, _ = cognito
    for part, port in (("backend", ui_spec.BACKEND_PORT), ("static", ui_spec.STATIC_PORT)):
        svc = one(regs, "aws:ecs/service:Service", f"metadata-ui-{part}")
        assert svc.inputs["networkConfiguration"]["assignPublicIp"] is False, urn(svc)
        (lb,) = svc.inputs["loadBalancers"]
        assert lb["containerPort"] == port and lb["targetGroupArn"].endswith(f":metadata-ui-{part}"), urn(svc)
        assert svc.inputs["cluster"].endswith(":metadata-cluster"), f"{urn(svc)}: runs in the metadata ECS cluster"


def test_backend_gets_db_login_from_secrets_and_a_pinned_image(cognito):
    regs, _ = cognito
    task = one(regs, "aws:ecs/taskDefinition:TaskDefinition", "metadata-ui-backend")
    (c,) = json.loads(task.inputs["containerDefinitions"])
    assert c["image"] == "netflixoss/metaflow_metadata_service:v2.5.0", urn(task)
    assert c["command"][-1] == "services.ui_backend_service.ui_server", urn(task)
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert "MF_METADATA_DB_PSWD" not in env and "MF_METADATA_DB_USER" not in env, f"{urn(task)}: DB login in the environment"
    assert {s["name"] for s in c["secrets"]} == {"MF_METADATA_DB_USER", "MF_METADATA_DB_PSWD"}, urn(task)
    assert env["MF_METADATA_DB_SSL_MODE"] == "require", urn(task)
    assert env["PATH_PREFIX"] == "/api/", urn(task)
    static = one(regs, "aws:ecs/taskDefinition:TaskDefinition", "metadata-ui-static")
    (sc,) = json.loads(static.inputs["containerDefinitions"])
    assert sc["image"] == "public.ecr.aws/outerbounds/metaflow_ui:v1.2.4", urn(static)


def test_ui_task_roles_have_no_permission_at_all(cognito):
    """Neither the backend nor the static app may read any team's prefix, or use the datastore key: their task
    roles carry no policy (the backend could otherwise fetch, and unpickle, any team's artifacts)."""
    regs, _ = cognito
    for part in ("backend", "static"):
        task = one(regs, "aws:ecs/taskDefinition:TaskDefinition", f"metadata-ui-{part}")
        role = one(regs, "aws:iam/role:Role", f"metadata-ui-{part}-task")
        assert task.inputs["taskRoleArn"].endswith(f":{role.name}"), urn(task)
        attached = [
            urn(r)
            for r in of(regs, "aws:iam/rolePolicy:RolePolicy") + of(regs, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r.inputs.get("role") in (role.id, role.name, f"{role.name}_id")
        ]
        assert not attached, f"{urn(role)} is granted {attached}"
        assert not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies"), urn(role)
    every_policy = json.dumps([r.inputs for r in of(regs, "aws:iam/rolePolicy:RolePolicy") if r.name.startswith("metadata-ui")])
    assert "s3:" not in every_policy and "teams/" not in every_policy, "a UI role reaches the datastore"


def test_backend_turns_off_every_feature_that_reads_the_datastore(cognito):
    regs, _ = cognito
    task = one(regs, "aws:ecs/taskDefinition:TaskDefinition", "metadata-ui-backend")
    (c,) = json.loads(task.inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert {k: env.get(k) for k in ui_spec.BACKEND_FEATURES} == ui_spec.BACKEND_FEATURES, urn(task)
    for flag in ("FEATURE_CACHE_DISABLE", "FEATURE_S3_DISABLE", "FEATURE_PREFETCH_DISABLE", "FEATURE_REFINE_DISABLE"):
        assert env[flag] == "1", f"{urn(task)}: {flag}={env[flag]}"
    assert env["FEATURE_ARTIFACT_SEARCH"] == "0", f"{urn(task)}: artifact search offered"
    assert env["MF_LOG_LOAD_POLICY"] == "blurb_only", urn(task)
    assert not [v for v in env.values() if "s3://" in v], f"{urn(task)}: a datastore root in the environment"


def test_oidc_client_secret_stays_a_pulumi_secret(oidc):
    regs, _ = oidc
    https = one(regs, "aws:lb/listener:Listener", "metadata-ui-https")
    assert "defaultActions" in https.secret_inputs, f"{urn(https)}: the OIDC client secret is not marked secret"
    login = https.inputs["defaultActions"][0]
    assert login["type"] == "authenticate-oidc", urn(https)
    assert login["authenticateOidc"]["clientSecret"] == OIDC_CLIENT_SECRET, urn(https)
    assert login["authenticateOidc"]["tokenEndpoint"] == "https://idp.example.com/token", urn(https)
    rule = one(regs, "aws:lb/listenerRule:ListenerRule", "metadata-ui-api")
    assert "actions" in rule.secret_inputs, f"{urn(rule)}: the OIDC client secret is not marked secret"
    for r in regs:
        if r.type.startswith("aws:lb/") or r.type.startswith("strata:"):
            continue
        assert OIDC_CLIENT_SECRET not in json.dumps(r.inputs, default=str), f"{urn(r)} carries the OIDC client secret"


def test_protected_stacks_protect_the_alb(oidc):
    regs, _ = oidc
    alb = one(regs, "aws:lb/loadBalancer:LoadBalancer", "metadata-ui-alb")
    assert alb.inputs["enableDeletionProtection"] is True, urn(alb)


def test_ui_needs_no_datastore_but_someone_who_may_reach_it():
    regs, out = deploy_metadata({"ui": {**COGNITO, "allowedCidrs": ["10.8.0.0/16"]}})
    assert out["ui_url"] == "https://metaflow.ml.example.com/", out
    with pytest.raises(Exception, match="vpc_cidr"):
        deploy_metadata({"ui": COGNITO})
