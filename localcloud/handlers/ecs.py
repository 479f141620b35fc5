"""ECS: clusters, task definitions and services (moto records services but never starts their tasks)."""

from __future__ import annotations

import json
from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]] | None:
    return key_value_tags(tags, key="key", value="value")


@resource("aws:ecs/cluster:Cluster")
def cluster(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    cluster_name = physical_name(name, inputs, max_len=255)
    created = ctx.client("ecs").create_cluster(
        **compact(
            clusterName=cluster_name,
            settings=[{"name": s["name"], "value": s["value"]} for s in inputs.get("settings") or []] or None,
            tags=_tags(inputs.get("tags")),
        )
    )["cluster"]
    return Created(
        id=created["clusterArn"], outputs={"arn": created["clusterArn"], "name": cluster_name}, physical_name=cluster_name
    )


@resource("aws:ecs/taskDefinition:TaskDefinition")
def task_definition(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    platform = inputs.get("runtimePlatform")
    created = ctx.client("ecs").register_task_definition(
        **compact(
            family=inputs["family"],
            containerDefinitions=json.loads(inputs["containerDefinitions"]),
            taskRoleArn=inputs.get("taskRoleArn"),
            executionRoleArn=inputs.get("executionRoleArn"),
            networkMode=inputs.get("networkMode"),
            requiresCompatibilities=inputs.get("requiresCompatibilities"),
            cpu=inputs.get("cpu"),
            memory=inputs.get("memory"),
            runtimePlatform=platform,  # already the API's camelCase shape
            tags=_tags(inputs.get("tags")),
        )
    )["taskDefinition"]
    arn = created["taskDefinitionArn"]
    return Created(
        id=inputs["family"],
        outputs={"arn": arn, "revision": created["revision"], "arnWithoutRevision": arn.rsplit(":", 1)[0]},
        physical_name=inputs["family"],
    )


@resource("aws:ecs/service:Service")
def service(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """Created in moto with its network, registry and deployment settings; moto starts no task for it."""
    service_name = physical_name(name, inputs, max_len=255)
    network = inputs.get("networkConfiguration")
    registry = inputs.get("serviceRegistries")
    breaker = inputs.get("deploymentCircuitBreaker")
    created = ctx.client("ecs").create_service(
        **compact(
            cluster=inputs.get("cluster"),
            serviceName=service_name,
            taskDefinition=inputs.get("taskDefinition"),
            desiredCount=inputs.get("desiredCount"),
            launchType=inputs.get("launchType"),
            platformVersion=inputs.get("platformVersion"),
            networkConfiguration={
                "awsvpcConfiguration": compact(
                    subnets=network["subnets"],
                    securityGroups=network.get("securityGroups"),
                    assignPublicIp="ENABLED" if network.get("assignPublicIp") else "DISABLED",
                )
            }
            if network
            else None,
            serviceRegistries=[
                compact(
                    registryArn=registry["registryArn"],
                    containerName=registry.get("containerName"),
                    containerPort=registry.get("containerPort"),
                )
            ]
            if registry
            else None,
            deploymentConfiguration=compact(
                deploymentCircuitBreaker={"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))}
                if breaker
                else None,
                minimumHealthyPercent=inputs.get("deploymentMinimumHealthyPercent"),
                maximumPercent=inputs.get("deploymentMaximumPercent"),
            )
            or None,
            # Tasks register with these target groups (rest-api-nlb, the UI); moto keeps the mapping.
            loadBalancers=[
                compact(
                    targetGroupArn=lb["targetGroupArn"],
                    containerName=lb.get("containerName"),
                    containerPort=lb.get("containerPort"),
                )
                for lb in inputs.get("loadBalancers") or []
            ]
            or None,
            healthCheckGracePeriodSeconds=inputs.get("healthCheckGracePeriodSeconds"),
            enableExecuteCommand=inputs.get("enableExecuteCommand"),
            propagateTags=inputs.get("propagateTags"),
            tags=_tags(inputs.get("tags")),
        )
    )["service"]
    ctx.note(f"ECS service {service_name}: created in moto, which starts no tasks (no container runs locally)")
    return Created(
        id=created["serviceArn"], outputs={"arn": created["serviceArn"], "name": service_name}, physical_name=service_name
    )
