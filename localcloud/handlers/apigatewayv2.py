"""API Gateway v2 (HTTP APIs): APIs, VPC links, integrations, authorizers, routes and stages.

moto creates all of them; invoking a stage in server mode is not emulated (FACTS.md), so the API exists
in moto but answers no request."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, physical_name, resource


@resource("aws:apigatewayv2/api:Api")
def api(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    api_name = physical_name(name, inputs, max_len=128)
    created = ctx.client("apigatewayv2").create_api(
        **compact(
            Name=api_name, ProtocolType=inputs["protocolType"], Description=inputs.get("description"), Tags=inputs.get("tags")
        )
    )
    api_id = created["ApiId"]
    ctx.note(f"API Gateway API {api_name}: created in moto, but a stage cannot be invoked in server mode")
    return Created(
        id=api_id,
        outputs={
            "apiEndpoint": created.get("ApiEndpoint") or f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com",
            "arn": f"arn:aws:apigateway:{ctx.region}::/apis/{api_id}",
            "executionArn": ctx.arn("execute-api", api_id),
            "name": api_name,
        },
        physical_name=api_name,
    )


@resource("aws:apigatewayv2/vpcLink:VpcLink")
def vpc_link(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    link_name = physical_name(name, inputs, max_len=128)
    created = ctx.client("apigatewayv2").create_vpc_link(
        **compact(
            Name=link_name,
            SubnetIds=inputs["subnetIds"],
            SecurityGroupIds=inputs.get("securityGroupIds"),
            Tags=inputs.get("tags"),
        )
    )
    link_id = created["VpcLinkId"]
    return Created(id=link_id, outputs={"arn": f"arn:aws:apigateway:{ctx.region}::/vpclinks/{link_id}", "name": link_name})


@resource("aws:apigatewayv2/integration:Integration")
def integration(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    created = ctx.client("apigatewayv2").create_integration(
        **compact(
            ApiId=inputs["apiId"],
            IntegrationType=inputs["integrationType"],
            IntegrationMethod=inputs.get("integrationMethod"),
            IntegrationUri=inputs.get("integrationUri"),
            ConnectionType=inputs.get("connectionType"),
            ConnectionId=inputs.get("connectionId"),
            PayloadFormatVersion=inputs.get("payloadFormatVersion"),
            TimeoutInMillis=inputs.get("timeoutMilliseconds"),
        )
    )
    return Created(id=created["IntegrationId"])


@resource("aws:apigatewayv2/authorizer:Authorizer")
def authorizer(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    auth_name = physical_name(name, inputs, max_len=128)
    created = ctx.client("apigatewayv2").create_authorizer(
        **compact(
            ApiId=inputs["apiId"],
            Name=auth_name,
            AuthorizerType=inputs["authorizerType"],
            AuthorizerUri=inputs.get("authorizerUri"),
            AuthorizerPayloadFormatVersion=inputs.get("authorizerPayloadFormatVersion"),
            EnableSimpleResponses=inputs.get("enableSimpleResponses"),
            IdentitySource=inputs.get("identitySources"),
            AuthorizerResultTtlInSeconds=inputs.get("authorizerResultTtlInSeconds"),
        )
    )
    return Created(id=created["AuthorizerId"], outputs={"name": auth_name}, physical_name=auth_name)


@resource("aws:apigatewayv2/route:Route")
def route(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    created = ctx.client("apigatewayv2").create_route(
        **compact(
            ApiId=inputs["apiId"],
            RouteKey=inputs["routeKey"],
            Target=inputs.get("target"),
            AuthorizationType=inputs.get("authorizationType"),
            AuthorizerId=inputs.get("authorizerId"),
        )
    )
    return Created(id=created["RouteId"])


@resource("aws:apigatewayv2/stage:Stage")
def stage(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    logs = inputs.get("accessLogSettings")
    route_defaults = inputs.get("defaultRouteSettings")
    stage_name = inputs.get("name") or name
    ctx.client("apigatewayv2").create_stage(
        **compact(
            ApiId=inputs["apiId"],
            StageName=stage_name,
            AutoDeploy=inputs.get("autoDeploy"),
            AccessLogSettings={"DestinationArn": logs["destinationArn"], "Format": logs["format"]} if logs else None,
            DefaultRouteSettings=compact(
                ThrottlingBurstLimit=route_defaults.get("throttlingBurstLimit"),
                ThrottlingRateLimit=route_defaults.get("throttlingRateLimit"),
            )
            if route_defaults
            else None,
            Tags=inputs.get("tags"),
        )
    )
    api_id = inputs["apiId"]
    path = "" if stage_name == "$default" else f"/{stage_name}"
    return Created(
        id=stage_name,
        outputs={
            "arn": f"arn:aws:apigateway:{ctx.region}::/apis/{api_id}/stages/{stage_name}",
            "invokeUrl": f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com{path}",
            "executionArn": ctx.arn("execute-api", f"{api_id}/{stage_name}"),
        },
    )
