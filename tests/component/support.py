"""Scaffolding the component tests share: plain echo mocks that record every resource, and the answers
to the invokes components make for their policy documents (region, partition, caller identity).

Imported explicitly (``from support import ...``: pytest puts this folder on ``sys.path`` for the test
files in it); a test file subclasses ``RecordingMocks`` where a resource needs more state than an ARN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

REGION = "us-east-1"
ACCOUNT = "111111111111"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Deployment:
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of(self, typ: str) -> dict[str, Recorded]:
        return {r.name: r for r in self.resources if r.typ == typ}


@dataclass
class MonitoredDeployment(Deployment):
    """A deployment whose registrations (options included: parent, provider, dependencies, ignoreChanges) were
    recorded by a ``localcloud.engine.RecordingMonitor``."""

    monitor: Any = None

    def registrations(self, typ: str | None = None) -> list[Any]:
        assert self.monitor is not None
        return [r for r in self.monitor.registrations if typ is None or r.type == typ]

    def one(self, typ: str, name: str) -> Any:
        found = [r for r in self.registrations(typ) if r.name == name]
        assert len(found) == 1, f"{typ}::{name}: {len(found)} registrations"
        return found[0]


def aws_invoke(token: str) -> dict[str, Any]:
    """What the mocked account answers to getRegion, getPartition and getCallerIdentity; any other invoke fails."""
    if token == "aws:index/getRegion:getRegion":
        return {"region": REGION, "name": REGION, "id": REGION}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "ci", "id": ACCOUNT}
    raise NotImplementedError(token)


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back as state, with an ARN made from the logical name; record every resource."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def state(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        """The resource's state: its inputs plus an ``arn``. Override to add what a test needs."""
        return {**args.inputs, "arn": f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.name}"}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.deployment.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        return [f"{args.name}_id", self.state(args)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return aws_invoke(args.token)
