"""Elastic Load Balancing v2 (``aws:lb/*``): network and application load balancers, target groups,
listeners (TCP, HTTP, HTTPS; forward, redirect, fixed-response, authenticate-cognito/-oidc actions) and
listener rules.

moto creates all of them. Gaps, each noted where it changes what lands in moto:

* moto names every load balancer ``loadbalancer/app/<name>/<id>`` in its ARN, a network one too. The ARN
  moto gave stays the id (every later call needs it); ``arnSuffix`` is AWS's form (``net/<name>/<id>``
  for a network load balancer), the CloudWatch dimension AWS would report.
* moto keeps no ``EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic``: the call is made, the value
  stays in the state only.
* An HTTPS listener's certificate must exist in moto's ACM (moto checks, as AWS does): create it there
  first (``acm.request_certificate`` / ``import_certificate``).
* moto answers DescribeListeners/DescribeRules with an OIDC action's ``ClientSecret``; AWS never returns it.
"""

from __future__ import annotations

import re
from typing import Any

from .registry import Created, Ctx, compact, invoke, key_value_tags, physical_name, resource

# The Elastic Load Balancing account that writes access logs, per region (regions opened before August
# 2022; newer ones use the service principal logdelivery.elasticloadbalancing.amazonaws.com).
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
# moto has no API for it; these are the ones the local cloud's regions need.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-central-1": "054676820928",
}


@invoke("aws:elb/getServiceAccount:getServiceAccount")
def get_service_account(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    region = args.get("region") or ctx.region
    if region not in ELB_LOG_ACCOUNTS:
        raise ValueError(
            f"no Elastic Load Balancing log account known for {region} in the local engine ({sorted(ELB_LOG_ACCOUNTS)})"
        )
    account = ELB_LOG_ACCOUNTS[region]
    return {"id": account, "arn": f"arn:aws:iam::{account}:root", "region": region}


# Load balancer and target group names: at most 32 characters.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
ELB_NAME_MAX = 32
# The ARN-suffix (CloudWatch dimension) prefix of each load balancer type.
_ARN_TYPE = {"application": "app", "network": "net", "gateway": "gwy"}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _get(block: dict[str, Any] | None, key: str, default: Any = None) -> Any:
    """A field of a nested block under its camelCase wire name or the snake_case name a program used."""
    if not block:
        return default
    if key in block:
        return block[key]
    return block.get(_snake(key), default)


def _str(value: Any) -> str | None:
    """An attribute value as ELBv2 wants it: strings, booleans as "true"/"false"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _refuse(inputs: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    """Fail on inputs moto cannot keep, rather than dropping them silently."""
    given = [k for k in keys if inputs.get(k) not in (None, "", [], {})]
    if given:
        raise ValueError(f"{what}: {', '.join(given)} not emulated by the local engine")


def _redact(err: Exception, secrets: list[str]) -> Exception:
    """The error of a call that carried secrets, without them (botocore echoes invalid values)."""
    message = f"{type(err).__name__}: {err}"
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<secret>")
    return RuntimeError(message)


def _arn_resource(arn: str) -> str:
    """``...:loadbalancer/app/n/id`` -> ``loadbalancer/app/n/id``."""
    return arn.split(":", 5)[-1]


# --- load balancers --------------------------------------------------------------------------------

# Inputs that are plain load balancer attributes, as the provider maps them.
_LB_ATTRIBUTES = {
    "enableDeletionProtection": "deletion_protection.enabled",
    "idleTimeout": "idle_timeout.timeout_seconds",
    "enableHttp2": "routing.http2.enabled",
    "dropInvalidHeaderFields": "routing.http.drop_invalid_header_fields.enabled",
    "preserveHostHeader": "routing.http.preserve_host_header.enabled",
    "desyncMitigationMode": "routing.http.desync_mitigation_mode",
    "enableTlsVersionAndCipherSuiteHeaders": "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
    "enableXffClientPort": "routing.http.xff_client_port.enabled",
    "xffHeaderProcessingMode": "routing.http.xff_header_processing.mode",
    "enableWafFailOpen": "waf.fail_open.enabled",
    "enableZonalShift": "zonal_shift.config.enabled",
    "dnsRecordClientRoutingPolicy": "dns_record.client_routing_policy",
    "clientKeepAlive": "client_keep_alive.seconds",
    "secondaryIpsAutoAssignedPerSubnet": "secondary_ips.auto_assigned.per_subnet",
}
# Application-only attributes: a network load balancer refuses them.
_APPLICATION_ONLY = {
    "idleTimeout",
    "enableHttp2",
    "dropInvalidHeaderFields",
    "preserveHostHeader",
    "desyncMitigationMode",
    "enableTlsVersionAndCipherSuiteHeaders",
    "enableXffClientPort",
    "xffHeaderProcessingMode",
    "enableWafFailOpen",
    "clientKeepAlive",
    "connectionLogs",
    "healthCheckLogs",
}


def _log_attributes(prefix: str, block: dict[str, Any] | None) -> dict[str, str]:
    """``accessLogs``/``connectionLogs``/``healthCheckLogs`` -> ``<prefix>.s3.{enabled,bucket,prefix}``."""
    if not block:
        return {}
    enabled = _get(block, "enabled", True)  # the provider's default once the block is given
    attrs = {f"{prefix}.s3.enabled": _str(bool(enabled))}
    if enabled:
        attrs[f"{prefix}.s3.bucket"] = _get(block, "bucket") or ""
        attrs[f"{prefix}.s3.prefix"] = _get(block, "prefix") or ""
    return attrs


def _lb_attributes(lb_type: str, inputs: dict[str, Any]) -> dict[str, str]:
    if lb_type != "application":
        misplaced = sorted(k for k in _APPLICATION_ONLY if inputs.get(k) is not None)
        if misplaced:
            raise ValueError(f"{misplaced}: application load balancer settings on a {lb_type} load balancer")
    attrs = {attr: _str(inputs[key]) for key, attr in _LB_ATTRIBUTES.items() if inputs.get(key) is not None}
    cross_zone = inputs.get("enableCrossZoneLoadBalancing")
    if cross_zone is not None:
        if lb_type == "application":
            # Always on for an ALB; the provider sends it only for network and gateway load balancers.
            if not cross_zone:
                raise ValueError("cross-zone load balancing cannot be turned off on an application load balancer")
        else:
            attrs["load_balancing.cross_zone.enabled"] = _str(cross_zone)
    attrs.update(_log_attributes("access_logs", inputs.get("accessLogs")))
    attrs.update(_log_attributes("connection_logs", inputs.get("connectionLogs")))
    attrs.update(_log_attributes("health_check_logs", inputs.get("healthCheckLogs")))
    return attrs


@resource("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A load balancer; its attributes go to ModifyLoadBalancerAttributes (moto refuses unknown keys,
    as AWS does)."""
    _refuse(
        inputs,
        ("customerOwnedIpv4Pool", "ipamPools", "minimumLoadBalancerCapacity", "enablePrefixForIpv6SourceNat"),
        "aws:lb/loadBalancer",
    )
    elbv2 = ctx.client("elbv2")
    lb_type = inputs.get("loadBalancerType") or "application"
    lb_name = physical_name(name, inputs, max_len=ELB_NAME_MAX)
    if lb_name.startswith("internal-"):
        raise ValueError(f"load balancer name {lb_name!r} may not begin with 'internal-'")
    mappings = [
        compact(
            SubnetId=_get(m, "subnetId"),
            AllocationId=_get(m, "allocationId"),
            PrivateIPv4Address=_get(m, "privateIpv4Address"),
            IPv6Address=_get(m, "ipv6Address"),
        )
        for m in inputs.get("subnetMappings") or []
    ]
    created = elbv2.create_load_balancer(
        **compact(
            Name=lb_name,
            Subnets=inputs.get("subnets") or None,
            SubnetMappings=mappings or None,
            SecurityGroups=inputs.get("securityGroups") or None,
            Scheme="internal" if inputs.get("internal") else "internet-facing",
            Type=lb_type,
            IpAddressType=inputs.get("ipAddressType"),
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["LoadBalancers"][0]
    arn = created["LoadBalancerArn"]
    attributes = _lb_attributes(lb_type, inputs)
    if attributes:
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()]
        )
    enforce = inputs.get("enforceSecurityGroupInboundRulesOnPrivateLinkTraffic")
    if enforce is not None:
        if not inputs.get("securityGroups"):
            raise ValueError("enforceSecurityGroupInboundRulesOnPrivateLinkTraffic needs securityGroups")
        elbv2.set_security_groups(
            LoadBalancerArn=arn,
            SecurityGroups=inputs["securityGroups"],
            EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic=enforce,
        )
        ctx.note(
            f"load balancer {lb_name}: moto keeps no EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic "
            f"({enforce!r} is in the state only)"
        )
    resource_part = _arn_resource(arn).removeprefix("loadbalancer/")  # moto: app/<name>/<id> for every type
    _, lb_name_part, lb_id = resource_part.split("/", 2)
    arn_suffix = f"{_ARN_TYPE.get(lb_type, 'app')}/{lb_name_part}/{lb_id}"
    if lb_type != "application":
        ctx.note(f"load balancer {lb_name}: moto's ARN says app/ for a {lb_type} load balancer; arnSuffix is AWS's {arn_suffix}")
    return Created(
        id=arn,
        outputs={
            "arn": arn,
            "arnSuffix": arn_suffix,
            "dnsName": created["DNSName"],
            "zoneId": created.get("CanonicalHostedZoneId"),
            "name": lb_name,
            "vpcId": created.get("VpcId"),
            "internal": created.get("Scheme") == "internal",
            "loadBalancerType": lb_type,
            "ipAddressType": created.get("IpAddressType"),
        },
        physical_name=lb_name,
    )


# --- target groups ---------------------------------------------------------------------------------

_TG_ATTRIBUTES = {
    "deregistrationDelay": "deregistration_delay.timeout_seconds",
    "slowStart": "slow_start.duration_seconds",
    "proxyProtocolV2": "proxy_protocol_v2.enabled",
    "preserveClientIp": "preserve_client_ip.enabled",
    "connectionTermination": "deregistration_delay.connection_termination.enabled",
    "loadBalancingAlgorithmType": "load_balancing.algorithm.type",
    "loadBalancingCrossZoneEnabled": "load_balancing.cross_zone.enabled",
    "lambdaMultiValueHeadersEnabled": "lambda.multi_value_headers.enabled",
}


def _stickiness(block: dict[str, Any] | None) -> dict[str, str]:
    if not block:
        return {}
    kind = _get(block, "type")
    attrs = {"stickiness.enabled": _str(bool(_get(block, "enabled", True))), "stickiness.type": kind}
    if _get(block, "cookieDuration") is not None:
        if kind == "lb_cookie":
            attrs["stickiness.lb_cookie.duration_seconds"] = _str(_get(block, "cookieDuration"))
        elif kind == "app_cookie":
            attrs["stickiness.app_cookie.duration_seconds"] = _str(_get(block, "cookieDuration"))
    if kind == "app_cookie" and _get(block, "cookieName"):
        attrs["stickiness.app_cookie.cookie_name"] = _get(block, "cookieName")
    return attrs


@resource("aws:lb/targetGroup:TargetGroup")
def target_group(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    _refuse(
        inputs,
        ("targetFailovers", "targetHealthStates", "targetGroupHealth", "loadBalancingAnomalyMitigation", "targetControlPort"),
        "aws:lb/targetGroup",
    )
    elbv2 = ctx.client("elbv2")
    tg_name = physical_name(name, inputs, max_len=ELB_NAME_MAX)
    health = inputs.get("healthCheck") or {}
    matcher = _get(health, "matcher")
    grpc = inputs.get("protocolVersion") == "GRPC"
    created = elbv2.create_target_group(
        **compact(
            Name=tg_name,
            Protocol=inputs.get("protocol"),
            ProtocolVersion=inputs.get("protocolVersion"),
            Port=inputs.get("port"),
            VpcId=inputs.get("vpcId"),
            TargetType=inputs.get("targetType") or "instance",
            IpAddressType=inputs.get("ipAddressType"),
            HealthCheckEnabled=_get(health, "enabled"),
            HealthCheckProtocol=_get(health, "protocol"),
            HealthCheckPort=_str(_get(health, "port")),
            HealthCheckPath=_get(health, "path"),
            HealthCheckIntervalSeconds=_get(health, "interval"),
            HealthCheckTimeoutSeconds=_get(health, "timeout"),
            HealthyThresholdCount=_get(health, "healthyThreshold"),
            UnhealthyThresholdCount=_get(health, "unhealthyThreshold"),
            Matcher=({"GrpcCode": matcher} if grpc else {"HttpCode": matcher}) if matcher else None,
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["TargetGroups"][0]
    arn = created["TargetGroupArn"]
    attributes = {attr: _str(inputs[key]) for key, attr in _TG_ATTRIBUTES.items() if inputs.get(key) is not None}
    attributes.update(_stickiness(inputs.get("stickiness")))
    if attributes:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()]
        )
    return Created(
        id=arn,
        outputs={"arn": arn, "arnSuffix": _arn_resource(arn), "name": tg_name, "targetType": created.get("TargetType")},
        physical_name=tg_name,
    )


# --- actions and listeners -------------------------------------------------------------------------

# camelCase field of an authenticate block -> the API's name.
_COGNITO = {
    "userPoolArn": "UserPoolArn",
    "userPoolClientId": "UserPoolClientId",
    "userPoolDomain": "UserPoolDomain",
    "authenticationRequestExtraParams": "AuthenticationRequestExtraParams",
    "onUnauthenticatedRequest": "OnUnauthenticatedRequest",
    "scope": "Scope",
    "sessionCookieName": "SessionCookieName",
    "sessionTimeout": "SessionTimeout",
}
_OIDC = {
    "issuer": "Issuer",
    "authorizationEndpoint": "AuthorizationEndpoint",
    "tokenEndpoint": "TokenEndpoint",
    "userInfoEndpoint": "UserInfoEndpoint",
    "clientId": "ClientId",
    "clientSecret": "ClientSecret",
    "authenticationRequestExtraParams": "AuthenticationRequestExtraParams",
    "onUnauthenticatedRequest": "OnUnauthenticatedRequest",
    "scope": "Scope",
    "sessionCookieName": "SessionCookieName",
    "sessionTimeout": "SessionTimeout",
}


def _fields(block: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    unknown = sorted({_snake(k) for k in block} - {_snake(k) for k in names})
    if unknown:
        raise ValueError(f"unknown action fields {unknown}")
    # authenticationRequestExtraParams is a map of the IdP's own parameter names: passed untouched.
    return compact(**{api: _get(block, key) for key, api in names.items()})


def _action(action: dict[str, Any], index: int) -> dict[str, Any]:
    """One ``defaultActions``/``actions`` element (camelCase from the engine, or snake_case as a program
    wrote it inside an Output) in the ELBv2 API's shape. ``order`` defaults to the position in the list
    (1-based), as the provider does."""
    kind = _get(action, "type")
    if _get(action, "jwtValidation"):
        raise ValueError("jwt-validation actions are not emulated by the local engine (moto has none)")
    out: dict[str, Any] = {"Type": kind, "Order": _get(action, "order") or index + 1}
    if _get(action, "targetGroupArn"):
        out["TargetGroupArn"] = _get(action, "targetGroupArn")
    forward = _get(action, "forward")
    if forward:
        sticky = _get(forward, "stickiness")
        out["ForwardConfig"] = compact(
            TargetGroups=[
                compact(TargetGroupArn=_get(tg, "arn"), Weight=_get(tg, "weight")) for tg in _get(forward, "targetGroups") or []
            ],
            TargetGroupStickinessConfig=compact(Enabled=_get(sticky, "enabled"), DurationSeconds=_get(sticky, "duration"))
            if sticky
            else None,
        )
    redirect = _get(action, "redirect")
    if redirect:
        out["RedirectConfig"] = compact(
            Protocol=_get(redirect, "protocol"),
            Port=_str(_get(redirect, "port")),
            Host=_get(redirect, "host"),
            Path=_get(redirect, "path"),
            Query=_get(redirect, "query"),
            StatusCode=_get(redirect, "statusCode"),
        )
    fixed = _get(action, "fixedResponse")
    if fixed:
        out["FixedResponseConfig"] = compact(
            ContentType=_get(fixed, "contentType"),
            MessageBody=_get(fixed, "messageBody"),
            StatusCode=_str(_get(fixed, "statusCode")),
        )
    cognito = _get(action, "authenticateCognito")
    if cognito:
        out["AuthenticateCognitoConfig"] = _fields(cognito, _COGNITO)
    oidc = _get(action, "authenticateOidc")
    if oidc:
        out["AuthenticateOidcConfig"] = _fields(oidc, _OIDC)
    expected = {
        "forward": ("TargetGroupArn", "ForwardConfig"),
        "redirect": ("RedirectConfig",),
        "fixed-response": ("FixedResponseConfig",),
        "authenticate-cognito": ("AuthenticateCognitoConfig",),
        "authenticate-oidc": ("AuthenticateOidcConfig",),
    }.get(kind)
    if expected is None:
        raise ValueError(f"action type {kind!r} is not emulated by the local engine")
    if not any(k in out for k in expected):
        raise ValueError(f"a {kind} action needs its {' or '.join(expected)} block")
    return out


def _actions(actions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [_action(a, i) for i, a in enumerate(actions or [])]


def _secrets_of(actions: list[dict[str, Any]]) -> list[str]:
    return [a["AuthenticateOidcConfig"].get("ClientSecret") for a in actions if "AuthenticateOidcConfig" in a]


# Listener inputs that are listener attributes: routingHttp<Request|Response><Name><HeaderName|HeaderValue|Enabled>
# -> routing.http.<request|response>.<name>.<header_name|header_value|enabled>.
_ROUTING_INPUT = re.compile(r"^routingHttp(Request|Response)(\w+?)(HeaderName|HeaderValue|Enabled)$")


def _listener_attributes(inputs: dict[str, Any]) -> dict[str, str]:
    attrs = {}
    if inputs.get("tcpIdleTimeoutSeconds") is not None:
        attrs["tcp.idle_timeout.seconds"] = _str(inputs["tcpIdleTimeoutSeconds"])
    for key, value in inputs.items():
        match = _ROUTING_INPUT.match(key)
        if match and value is not None:
            direction, what, field = match.groups()
            attrs[f"routing.http.{direction.lower()}.{_snake(what)}.{_snake(field)}"] = _str(value)
    return attrs


@resource("aws:lb/listener:Listener")
def listener(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A listener. An OIDC action's client secret (a Pulumi secret input, unwrapped by the engine) goes
    to moto and never into a message or the outputs."""
    _refuse(inputs, ("mutualAuthentication",), "aws:lb/listener")
    elbv2 = ctx.client("elbv2")
    actions = _actions(inputs.get("defaultActions"))
    certificate = inputs.get("certificateArn")
    alpn = inputs.get("alpnPolicy")
    try:
        created = elbv2.create_listener(
            **compact(
                LoadBalancerArn=inputs["loadBalancerArn"],
                Port=inputs.get("port"),
                Protocol=inputs.get("protocol"),
                SslPolicy=inputs.get("sslPolicy"),
                Certificates=[{"CertificateArn": certificate}] if certificate else None,
                AlpnPolicy=[alpn] if isinstance(alpn, str) else alpn,
                DefaultActions=actions,
                Tags=key_value_tags(inputs.get("tags")),
            )
        )["Listeners"][0]
    except Exception as err:
        raise _redact(err, _secrets_of(actions)) from None
    arn = created["ListenerArn"]
    attributes = _listener_attributes(inputs)
    if attributes:
        elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    return Created(id=arn, outputs={"arn": arn})


# --- listener rules --------------------------------------------------------------------------------

# condition block -> (Field, the API's config key); each takes {values}.
_VALUE_CONDITIONS = {
    "hostHeader": ("host-header", "HostHeaderConfig"),
    "pathPattern": ("path-pattern", "PathPatternConfig"),
    "httpRequestMethod": ("http-request-method", "HttpRequestMethodConfig"),
    "sourceIp": ("source-ip", "SourceIpConfig"),
}


def _condition(condition: dict[str, Any]) -> dict[str, Any]:
    """One ``conditions`` element: exactly one of its blocks is set (the provider's rule)."""
    found = []
    for key, (field, config) in _VALUE_CONDITIONS.items():
        block = _get(condition, key)
        if block:
            if _get(block, "regexValues"):
                raise ValueError(f"{key}.regexValues is not emulated by the local engine")
            found.append({"Field": field, config: {"Values": list(_get(block, "values") or [])}})
    header = _get(condition, "httpHeader")
    if header:
        if _get(header, "regexValues"):
            raise ValueError("httpHeader.regexValues is not emulated by the local engine")
        found.append(
            {
                "Field": "http-header",
                "HttpHeaderConfig": {"HttpHeaderName": _get(header, "httpHeaderName"), "Values": list(_get(header, "values"))},
            }
        )
    queries = _get(condition, "queryStrings")
    if queries:
        found.append(
            {
                "Field": "query-string",
                "QueryStringConfig": {"Values": [compact(Key=_get(q, "key"), Value=_get(q, "value")) for q in queries]},
            }
        )
    if len(found) != 1:
        raise ValueError(f"a listener rule condition needs exactly one block, got {len(found)}")
    return found[0]


@resource("aws:lb/listenerRule:ListenerRule")
def listener_rule(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A rule. Without ``priority`` the provider takes the listener's highest priority + 1; the engine
    does the same, serialized per listener."""
    _refuse(inputs, ("transforms",), "aws:lb/listenerRule")
    elbv2 = ctx.client("elbv2")
    listener_arn = inputs["listenerArn"]
    actions = _actions(inputs.get("actions"))
    conditions = [_condition(c) for c in inputs.get("conditions") or []]
    with ctx.serialized(f"elbv2-listener-rules:{listener_arn}"):
        priority = inputs.get("priority")
        if priority is None:
            rules = elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
            priority = max((int(r["Priority"]) for r in rules if r["Priority"] != "default"), default=0) + 1
        try:
            created = elbv2.create_rule(
                **compact(
                    ListenerArn=listener_arn,
                    Priority=priority,
                    Conditions=conditions,
                    Actions=actions,
                    Tags=key_value_tags(inputs.get("tags")),
                )
            )["Rules"][0]
        except Exception as err:
            raise _redact(err, _secrets_of(actions)) from None
    arn = created["RuleArn"]
    return Created(id=arn, outputs={"arn": arn, "priority": priority})
