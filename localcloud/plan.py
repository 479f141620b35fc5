"""Run the program without any cloud: an echo ``Mocks`` that answers with made-up ids and ARNs.

For planning questions that need only what the program *declares* (stack tests, the idle-cost
benchmark, resource counts); the moto-backed LocalEngine is for questions about what AWS would *do*.
"""

from __future__ import annotations

import pulumi

ACCOUNT = "123456789012"
REGION = "us-east-1"


class PlainMocks(pulumi.runtime.Mocks):
    """Echo inputs back with ``<name>-id`` and a plausible ARN; record every declared type."""

    def __init__(self) -> None:
        self.declared: list[str] = []

    def new_resource(self, args):
        self.declared.append(args.typ)
        if not args.custom or args.typ.startswith("pulumi:providers:"):
            return [None, args.inputs]
        service = args.typ.split(":")[1].split("/")[0]
        physical = args.inputs.get("name") or args.inputs.get("bucket") or args.name
        return [
            f"{args.name}-id",
            {**args.inputs, "id": f"{args.name}-id", "arn": f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}"},
        ]

    def call(self, args):
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:root",
                "userId": "plan",
            },
            "aws:index/getRegion:getRegion": {"name": REGION, "region": REGION, "id": REGION},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{REGION}{z}" for z in "abcdef"],
                "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
                "id": REGION,
            },
            "aws:ec2/getAmi:getAmi": {
                "id": "ami-0plan",
                "arn": f"arn:aws:ec2:{REGION}::image/ami-0plan",
                "name": "al2023-ami-plan",
            },
            # The region's Elastic Load Balancing account (writes ALB access logs); us-east-1's.
            "aws:elb/getServiceAccount:getServiceAccount": {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root"},
            # The OIDC client secret of the Metaflow UI: a plan never holds the real value.
            "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                "arn": args.args.get("secretId", ""),
                "id": args.args.get("secretId", ""),
                "secretString": "[read from Secrets Manager at deploy time]",
                "versionId": "plan",
            },
        }
        if args.token not in answers:
            raise NotImplementedError(f"PlainMocks: no answer for invoke {args.token}; add one in localcloud/plan.py")
        return answers[args.token]
