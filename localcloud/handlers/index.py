"""The provider-level data sources (``aws:index/...``): account, region, partition, zones."""

from __future__ import annotations

from typing import Any

from .registry import DNS_SUFFIX, PARTITION, Ctx, invoke


@invoke("aws:index/getCallerIdentity:getCallerIdentity")
def get_caller_identity(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    identity = ctx.client("sts").get_caller_identity()
    return {
        "id": identity["Account"],
        "accountId": identity["Account"],
        "arn": identity["Arn"],
        "userId": identity["UserId"],
    }


@invoke("aws:index/getRegion:getRegion")
def get_region(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    region = args.get("region") or args.get("name") or ctx.region
    return {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.{DNS_SUFFIX}",
        "description": region,
    }


@invoke("aws:index/getPartition:getPartition")
def get_partition(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": DNS_SUFFIX, "reverseDnsPrefix": "com.amazonaws"}


@invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def get_availability_zones(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    filters = [{"Name": f["name"], "Values": f["values"]} for f in args.get("filters") or []]
    if args.get("state"):
        filters.append({"Name": "state", "Values": [args["state"]]})
    zones = ctx.client("ec2").describe_availability_zones(
        AllAvailabilityZones=bool(args.get("allAvailabilityZones")), Filters=filters
    )["AvailabilityZones"]
    excluded_names = set(args.get("excludeNames") or [])
    excluded_ids = set(args.get("excludeZoneIds") or [])
    zones = sorted(
        (z for z in zones if z["ZoneName"] not in excluded_names and z["ZoneId"] not in excluded_ids),
        key=lambda z: z["ZoneName"],
    )
    return {
        "id": ctx.region,
        "names": [z["ZoneName"] for z in zones],
        "zoneIds": [z["ZoneId"] for z in zones],
        "groupNames": sorted({z.get("GroupName", ctx.region) for z in zones}),
        **{k: args[k] for k in ("state", "excludeNames", "excludeZoneIds", "filters") if k in args},
    }
