"""Cloud Map: private DNS namespaces and services."""

from __future__ import annotations

from typing import Any

from .registry import Created, Ctx, compact, key_value_tags, physical_name, resource


@resource("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
def private_dns_namespace(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    client = ctx.client("servicediscovery")
    ns_name = physical_name(name, inputs, max_len=253)
    op = client.create_private_dns_namespace(
        **compact(Name=ns_name, Vpc=inputs["vpc"], Description=inputs.get("description"), Tags=key_value_tags(inputs.get("tags")))
    )["OperationId"]
    ns_id = client.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    ns = client.get_namespace(Id=ns_id)["Namespace"]
    zone = ns.get("Properties", {}).get("DnsProperties", {}).get("HostedZoneId")
    return Created(id=ns_id, outputs=compact(arn=ns["Arn"], name=ns_name, hostedZone=zone), physical_name=ns_name)


@resource("aws:servicediscovery/service:Service")
def service(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    svc_name = physical_name(name, inputs, max_len=127)
    dns = inputs.get("dnsConfig")
    custom = inputs.get("healthCheckCustomConfig")
    created = ctx.client("servicediscovery").create_service(
        **compact(
            Name=svc_name,
            NamespaceId=inputs.get("namespaceId") or (dns or {}).get("namespaceId"),
            Description=inputs.get("description"),
            DnsConfig={
                "RoutingPolicy": dns.get("routingPolicy", "MULTIVALUE"),
                "DnsRecords": [{"Type": r["type"], "TTL": r["ttl"]} for r in dns["dnsRecords"]],
            }
            if dns
            else None,
            HealthCheckCustomConfig=compact(FailureThreshold=custom.get("failureThreshold")) if custom is not None else None,
            Tags=key_value_tags(inputs.get("tags")),
        )
    )["Service"]
    return Created(id=created["Id"], outputs={"arn": created["Arn"], "name": svc_name}, physical_name=svc_name)
