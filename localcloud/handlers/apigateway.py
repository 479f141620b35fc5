"""API Gateway v1 (REST APIs): APIs and their policies, resources, authorizers, methods, integrations, VPC
links, deployments, stages and method settings, the account's CloudWatch role, API keys and usage plans.

moto creates all of them. Invoking a stage in server mode is not emulated (as for HTTP APIs), so the
API exists in moto but answers no request. moto keeps no ``connectionId`` on an integration: the engine
checks that the VPC link exists, keeps the id in the state and notes it. Stage canaries, client
certificates and documentation versions are refused (not emulated here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pulumi.runtime import rpc

from .registry import DNS_SUFFIX, PARTITION, Created, Ctx, compact, physical_name, resource


def _api_arn(ctx: Ctx, path: str) -> str:
    """API Gateway's management ARNs (``arn:aws:apigateway:<region>::/restapis/<id>``)."""
    return f"arn:{PARTITION}:apigateway:{ctx.region}::{path}"


def _iso(value: Any) -> str | None:
    """moto's timestamps (datetime via boto3) as the RFC 3339 strings the provider reports."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _refuse(inputs: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    """Fail on inputs moto cannot keep, rather than dropping them silently."""
    given = [k for k in keys if inputs.get(k) not in (None, "", [], {})]
    if given:
        raise ValueError(f"{what}: {', '.join(given)} not emulated by the local engine (moto has no such setting)")


def _secret(value: Any) -> Any:
    """A value the provider reports as a Pulumi secret (an API key's value), kept a secret in the state."""
    return rpc.wrap_rpc_secret(value) if value is not None else None


def _redact(err: Exception, secret: str | None) -> Exception:
    """The error of a call that carried a secret, without the secret (botocore echoes invalid values)."""
    message = f"{type(err).__name__}: {err}"
    if secret:
        message = message.replace(secret, "<secret>")
    return RuntimeError(message)


# --- the API ---------------------------------------------------------------------------------------


def _endpoint_configuration(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """pulumi-aws v7 takes ``types`` as one string; the API takes a list."""
    if not config:
        return None
    types = config.get("types")
    return compact(
        types=[types] if isinstance(types, str) else types,
        vpcEndpointIds=config.get("vpcEndpointIds") or None,
        ipAddressType=config.get("ipAddressType"),
    )


def _minimum_compression_size(value: Any) -> int | None:
    """The provider types it as a string; "" and "-1" mean compression is off (nothing sent)."""
    if value in (None, "", "-1", -1):
        return None
    return int(value)


@resource("aws:apigateway/restApi:RestApi")
def rest_api(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A REST API. ``putRestApiMode`` only matters with an OpenAPI ``body``, which is refused here."""
    _refuse(inputs, ("body", "parameters", "securityPolicy", "endpointAccessMode"), "aws:apigateway/restApi")
    api_name = physical_name(name, inputs, max_len=1024)
    created = ctx.client("apigateway").create_rest_api(
        **compact(
            name=api_name,
            description=inputs.get("description"),
            endpointConfiguration=_endpoint_configuration(inputs.get("endpointConfiguration")),
            apiKeySource=inputs.get("apiKeySource"),
            binaryMediaTypes=inputs.get("binaryMediaTypes") or None,
            minimumCompressionSize=_minimum_compression_size(inputs.get("minimumCompressionSize")),
            disableExecuteApiEndpoint=inputs.get("disableExecuteApiEndpoint"),
            policy=inputs.get("policy"),
            tags=inputs.get("tags") or None,
        )
    )
    api_id = created["id"]
    ctx.note(f"API Gateway REST API {api_name}: created in moto, but a stage cannot be invoked in server mode")
    return Created(
        id=api_id,
        outputs={
            "arn": _api_arn(ctx, f"/restapis/{api_id}"),
            "executionArn": ctx.arn("execute-api", api_id),
            "rootResourceId": created["rootResourceId"],
            "createdDate": _iso(created.get("createdDate")),
            "name": api_name,
            "apiKeySource": created.get("apiKeySource"),
            "disableExecuteApiEndpoint": created.get("disableExecuteApiEndpoint", False),
        },
        physical_name=api_name,
    )


@resource("aws:apigateway/restApiPolicy:RestApiPolicy")
def rest_api_policy(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    api_id = inputs["restApiId"]
    with ctx.serialized(f"apigateway-rest-api:{api_id}"):
        ctx.client("apigateway").update_rest_api(
            restApiId=api_id, patchOperations=[{"op": "replace", "path": "/policy", "value": inputs["policy"]}]
        )
    return Created(id=api_id)


@resource("aws:apigateway/vpcLink:VpcLink")
def vpc_link(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A REST API VPC link (v1): targets one NLB. AWS takes minutes to make it AVAILABLE; moto, none."""
    link_name = physical_name(name, inputs, max_len=255)
    target = inputs["targetArn"]
    created = ctx.client("apigateway").create_vpc_link(
        **compact(
            name=link_name,
            description=inputs.get("description"),
            targetArns=target if isinstance(target, list) else [target],
            tags=inputs.get("tags") or None,
        )
    )
    link_id = created["id"]
    return Created(id=link_id, outputs={"arn": _api_arn(ctx, f"/vpclinks/{link_id}"), "name": link_name}, physical_name=link_name)


@resource("aws:apigateway/resource:Resource")
def api_resource(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    created = ctx.client("apigateway").create_resource(
        restApiId=inputs["restApi"], parentId=inputs["parentId"], pathPart=inputs["pathPart"]
    )
    return Created(id=created["id"], outputs={"path": created["path"]})


@resource("aws:apigateway/authorizer:Authorizer")
def authorizer(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A REST API authorizer (a Lambda TOKEN or REQUEST authorizer, or Cognito user pools). moto keeps it,
    but invokes no authorizer: an API stage answers no request in server mode."""
    _refuse(inputs, ("identityValidationExpression",), "aws:apigateway/authorizer")
    auth_name = physical_name(name, inputs, max_len=128)
    api_id = inputs["restApi"]
    created = ctx.client("apigateway").create_authorizer(
        **compact(
            restApiId=api_id,
            name=auth_name,
            type=inputs.get("type") or "TOKEN",  # the provider's default
            providerARNs=inputs.get("providerArns") or None,
            authorizerUri=inputs.get("authorizerUri"),
            authorizerCredentials=inputs.get("authorizerCredentials"),
            identitySource=inputs.get("identitySource"),
            authorizerResultTtlInSeconds=inputs.get("authorizerResultTtlInSeconds"),
        )
    )
    authorizer_id = created["id"]
    return Created(
        id=authorizer_id,
        outputs={"arn": _api_arn(ctx, f"/restapis/{api_id}/authorizers/{authorizer_id}"), "name": auth_name},
        physical_name=auth_name,
    )


@resource("aws:apigateway/method:Method")
def method(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    api_id, resource_id, http_method = inputs["restApi"], inputs["resourceId"], inputs["httpMethod"]
    ctx.client("apigateway").put_method(
        **compact(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            authorizationType=inputs["authorization"],
            authorizerId=inputs.get("authorizerId"),
            authorizationScopes=inputs.get("authorizationScopes") or None,
            apiKeyRequired=inputs.get("apiKeyRequired"),
            operationName=inputs.get("operationName"),
            requestModels=inputs.get("requestModels") or None,
            requestParameters=inputs.get("requestParameters") or None,
            requestValidatorId=inputs.get("requestValidatorId"),
        )
    )
    # The provider's id shape.
    return Created(id=f"agm-{api_id}-{resource_id}-{http_method}")


@resource("aws:apigateway/integration:Integration")
def integration(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """moto keeps no ``connectionId`` on an integration (its model has no such field). AWS refuses a
    VPC_LINK integration whose link does not exist, so the engine checks that, as AWS would; the id stays
    in the state, where tests read it."""
    _refuse(inputs, ("responseTransferMode", "integrationTarget"), "aws:apigateway/integration")
    apigateway = ctx.client("apigateway")
    api_id, resource_id, http_method = inputs["restApi"], inputs["resourceId"], inputs["httpMethod"]
    connection_id = inputs.get("connectionId")
    if inputs.get("connectionType") == "VPC_LINK":
        if not connection_id:
            raise ValueError("a VPC_LINK integration needs connectionId (the VPC link's id)")
        apigateway.get_vpc_link(vpcLinkId=connection_id)  # raises NotFoundException as AWS would
        ctx.note(
            f"API Gateway integration {name}: moto does not keep connectionId; the VPC link {connection_id} "
            "was checked to exist and the id is in the state only"
        )
    tls = inputs.get("tlsConfig")
    apigateway.put_integration(
        **compact(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            type=inputs["type"],
            integrationHttpMethod=inputs.get("integrationHttpMethod"),
            uri=inputs.get("uri"),
            connectionType=inputs.get("connectionType"),
            connectionId=connection_id,
            credentials=inputs.get("credentials"),
            requestParameters=inputs.get("requestParameters") or None,
            requestTemplates=inputs.get("requestTemplates") or None,
            passthroughBehavior=inputs.get("passthroughBehavior"),
            cacheNamespace=inputs.get("cacheNamespace"),
            cacheKeyParameters=inputs.get("cacheKeyParameters") or None,
            contentHandling=inputs.get("contentHandling"),
            timeoutInMillis=inputs.get("timeoutMilliseconds"),
            tlsConfig=compact(insecureSkipVerification=tls.get("insecureSkipVerification")) if tls else None,
        )
    )
    return Created(id=f"agi-{api_id}-{resource_id}-{http_method}")


@resource("aws:apigateway/deployment:Deployment")
def deployment(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A deployment (a snapshot of the API). ``triggers`` is Pulumi's own: it only decides when the
    provider replaces the deployment, so nothing of it goes to AWS."""
    _refuse(inputs, ("canarySettings",), "aws:apigateway/deployment")
    created = ctx.client("apigateway").create_deployment(
        **compact(
            restApiId=inputs["restApi"],
            description=inputs.get("description"),
            variables=inputs.get("variables") or None,
        )
    )
    return Created(id=created["id"], outputs={"createdDate": _iso(created.get("createdDate"))})


@resource("aws:apigateway/account:Account")
def account(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """The region's account settings: the CloudWatch role that writes REST access and execution logs.

    AWS checks that API Gateway can assume the role; moto does not (nothing to work around)."""
    ops = []
    if inputs.get("cloudwatchRoleArn"):
        ops.append({"op": "replace", "path": "/cloudwatchRoleArn", "value": inputs["cloudwatchRoleArn"]})
    apigateway = ctx.client("apigateway")
    with ctx.serialized("apigateway-account"):
        settings = apigateway.update_account(patchOperations=ops) if ops else apigateway.get_account()
    throttle = settings.get("throttleSettings") or {}
    return Created(
        id="api-gateway-account",  # the provider's fixed id: one per account and region
        outputs={
            "apiKeyVersion": settings.get("apiKeyVersion"),
            "features": settings.get("features") or [],
            "throttleSettings": [compact(burstLimit=throttle.get("burstLimit"), rateLimit=throttle.get("rateLimit"))]
            if throttle
            else [],
        },
    )


# --- stages ----------------------------------------------------------------------------------------


@resource("aws:apigateway/stage:Stage")
def stage(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """CreateStage takes no access-log settings: they are set by UpdateStage patch operations, as the
    provider does."""
    _refuse(inputs, ("canarySettings", "clientCertificateId", "documentationVersion"), "aws:apigateway/stage")
    apigateway = ctx.client("apigateway")
    api_id, stage_name = inputs["restApi"], inputs["stageName"]
    apigateway.create_stage(
        **compact(
            restApiId=api_id,
            stageName=stage_name,
            deploymentId=inputs["deployment"],
            description=inputs.get("description"),
            cacheClusterEnabled=inputs.get("cacheClusterEnabled"),
            cacheClusterSize=inputs.get("cacheClusterSize"),
            variables=inputs.get("variables") or None,
            tracingEnabled=inputs.get("xrayTracingEnabled"),
            tags=inputs.get("tags") or None,
        )
    )
    logs = inputs.get("accessLogSettings")
    if logs:
        with ctx.serialized(f"apigateway-stage:{api_id}/{stage_name}"):
            apigateway.update_stage(
                restApiId=api_id,
                stageName=stage_name,
                patchOperations=[
                    {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": logs["destinationArn"]},
                    {"op": "replace", "path": "/accessLogSettings/format", "value": logs["format"]},
                ],
            )
    return Created(
        id=f"ags-{api_id}-{stage_name}",
        outputs={
            "arn": _api_arn(ctx, f"/restapis/{api_id}/stages/{stage_name}"),
            "executionArn": ctx.arn("execute-api", f"{api_id}/{stage_name}"),
            "invokeUrl": f"https://{api_id}.execute-api.{ctx.region}.{DNS_SUFFIX}/{stage_name}",
            "webAclArn": "",
        },
    )


# MethodSettings fields -> the UpdateStage patch path under /<resource path>/<method>/.
_METHOD_SETTINGS = {
    "metricsEnabled": "metrics/enabled",
    "loggingLevel": "logging/loglevel",
    "dataTraceEnabled": "logging/dataTrace",
    "throttlingBurstLimit": "throttling/burstLimit",
    "throttlingRateLimit": "throttling/rateLimit",
    "cachingEnabled": "caching/enabled",
    "cacheTtlInSeconds": "caching/ttlInSeconds",
    "cacheDataEncrypted": "caching/dataEncrypted",
    "requireAuthorizationForCacheControl": "caching/requireAuthorizationForCacheControl",
    "unauthorizedCacheControlHeaderStrategy": "caching/unauthorizedCacheControlHeaderStrategy",
}


def _patch_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@resource("aws:apigateway/methodSettings:MethodSettings")
def method_settings(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """Method settings are UpdateStage patch operations on ``/<path>/<method>/<setting>``; a resource
    path's own slashes are escaped as ``~1`` (JSON pointer), ``*/*`` means every method."""
    api_id, stage_name, method_path = inputs["restApi"], inputs["stageName"], inputs["methodPath"]
    settings = inputs.get("settings") or {}
    unknown = sorted(set(settings) - set(_METHOD_SETTINGS))
    if unknown:
        raise ValueError(f"aws:apigateway/methodSettings: unknown settings {unknown}")
    resource_path, _, http_method = method_path.rpartition("/")
    if not resource_path or not http_method:
        raise ValueError(f"methodPath {method_path!r}: expected <resource path>/<method> or */*")
    prefix = f"/{resource_path.replace('/', '~1')}/{http_method}"
    ops = [
        {"op": "replace", "path": f"{prefix}/{_METHOD_SETTINGS[key]}", "value": _patch_value(value)}
        for key, value in settings.items()
        if value is not None
    ]
    if ops:
        with ctx.serialized(f"apigateway-stage:{api_id}/{stage_name}"):
            ctx.client("apigateway").update_stage(restApiId=api_id, stageName=stage_name, patchOperations=ops)
    return Created(id=f"{api_id}-{stage_name}-{method_path}")


# --- keys and usage plans --------------------------------------------------------------------------


@resource("aws:apigateway/apiKey:ApiKey")
def api_key(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """An API key. Its ``value`` (a Pulumi secret input, unwrapped by the engine) goes to moto and never
    into a message; the state keeps the input as it came (still a secret)."""
    key_name = physical_name(name, inputs, max_len=1024)
    value = inputs.get("value")
    try:
        created = ctx.client("apigateway").create_api_key(
            **compact(
                name=key_name,
                description=inputs.get("description"),
                enabled=inputs.get("enabled", True),  # the provider's default
                value=value,
                customerId=inputs.get("customerId"),
                tags=inputs.get("tags") or None,
            )
        )
    except Exception as err:
        raise _redact(err, value) from None
    key_id = created["id"]
    outputs: dict[str, Any] = {
        "arn": _api_arn(ctx, f"/apikeys/{key_id}"),
        "name": key_name,
        "createdDate": _iso(created.get("createdDate")),
        "lastUpdatedDate": _iso(created.get("lastUpdatedDate")),
    }
    if value is None:  # AWS generated it: reported, as a secret (the provider marks it so)
        outputs["value"] = _secret(created.get("value"))
    return Created(id=key_id, outputs=outputs, physical_name=key_name)


def _throttle(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if not settings:
        return None
    return compact(burstLimit=settings.get("burstLimit"), rateLimit=settings.get("rateLimit")) or None


@resource("aws:apigateway/usagePlan:UsagePlan")
def usage_plan(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    plan_name = physical_name(name, inputs, max_len=1024)
    stages = []
    for api_stage in inputs.get("apiStages") or []:
        per_method = {t["path"]: _throttle(t) for t in api_stage.get("throttles") or []}
        stages.append(compact(apiId=api_stage["apiId"], stage=api_stage["stage"], throttle=per_method or None))
    quota = inputs.get("quotaSettings")
    created = ctx.client("apigateway").create_usage_plan(
        **compact(
            name=plan_name,
            description=inputs.get("description"),
            apiStages=stages or None,
            throttle=_throttle(inputs.get("throttleSettings")),
            quota=compact(limit=quota["limit"], offset=quota.get("offset"), period=quota["period"]) if quota else None,
            productCode=inputs.get("productCode"),
            tags=inputs.get("tags") or None,
        )
    )
    plan_id = created["id"]
    return Created(
        id=plan_id, outputs={"arn": _api_arn(ctx, f"/usageplans/{plan_id}"), "name": plan_name}, physical_name=plan_name
    )


@resource("aws:apigateway/usagePlanKey:UsagePlanKey")
def usage_plan_key(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    created = ctx.client("apigateway").create_usage_plan_key(
        usagePlanId=inputs["usagePlanId"], keyId=inputs["keyId"], keyType=inputs["keyType"]
    )
    # The provider reports the key's value here too; it is the key itself, so it stays a secret.
    return Created(id=created["id"], outputs={"name": created.get("name"), "value": _secret(created.get("value"))})
