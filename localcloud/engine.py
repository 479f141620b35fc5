"""The local engine: Pulumi mocks that create every declared AWS resource in a moto server.

``pulumi.runtime.set_mocks(LocalEngine(endpoint), ...)`` runs the same program that ``pulumi up``
runs against AWS. Each custom resource is created in moto through boto3 by the handler registered
for its type token (``localcloud/handlers``), and moto's real ids, ARNs and attributes come back as
the resource's state, so downstream resources are wired with values moto knows about.

``RecordingMonitor`` is a ``MockMonitor`` that also records each registration's options (parent,
protect, retainOnDelete, aliases, ...) and hands the resource's URN to the engine.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pulumi
from botocore.config import Config
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2

from . import default_tags
from .handlers import INVOKE_HANDLERS, RESOURCE_HANDLERS, Ctx
from .kubernetes import HELM_RELEASE, KUBERNETES_NOT_APPLIED, OPAQUE_KUBERNETES, helm_release, kubernetes_manifest
from .server import FAKE_CREDENTIALS

# Types moto cannot emulate, with the reason. The engine returns a synthetic id and the inputs for
# them and lists them in not_emulated_used(), so the CLI can say loudly what was not really created.
NOT_EMULATED: dict[str, str] = {
    "aws:redshiftserverless/namespace:Namespace": "moto has no Redshift Serverless backend",
    "aws:redshiftserverless/workgroup:Workgroup": "moto has no Redshift Serverless backend",
    "aws:eks/addon:Addon": "moto's EKS backend has no add-on API",
    "aws:eks/accessEntry:AccessEntry": "moto's EKS backend has no access-entry API",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "moto's EKS backend has no access-entry API",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "moto's EKS backend has no pod-identity API",
    "aws:autoscaling/attachment:Attachment": (
        "moto's EKS node groups start no instances and create no Auto Scaling group to attach a target group to"
    ),
    "aws:budgets/budgetAction:BudgetAction": "moto's Budgets backend has no budget actions",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": (
        "moto's Cost Explorer backend has no UpdateCostAllocationTagsStatus (and on AWS only the payer account may call it)"
    ),
}

# Services whose resources are global (no region in their ARNs, no region input).
_GLOBAL_MODULES = ("aws:iam/",)
_FAKE_CREDENTIALS = {name.lower(): value for name, value in FAKE_CREDENTIALS.items()}  # boto3's keyword names
# moto never throttles: a retried error is a real error reported late (botocore retries 500s).
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1})
# Pulumi's wire format: a struct whose signature key holds this value is a resource reference.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"

EventCallback = Callable[[str, str, str], None]


class LocalEngineError(Exception):
    """A resource or invoke the local engine cannot create or answer, with the reason."""


@dataclass(frozen=True)
class ResourceRecord:
    """One resource the engine handled (created, previewed, or declared not emulated)."""

    name: str
    type: str
    id: str | None
    urn: str | None = None
    arn: str | None = None
    physical_name: str | None = None
    not_emulated_reason: str | None = None
    validated: str | None = None
    """Kubernetes objects and Helm releases only: what they were validated against (never applied)."""

    def __str__(self) -> str:
        what = self.urn or f"{self.type} {self.name!r}"
        if self.not_emulated_reason:
            return f"{what}: NOT EMULATED ({self.not_emulated_reason})"
        if self.validated:
            return f"{what}: {self.id} (recorded, not applied: {KUBERNETES_NOT_APPLIED}; validated: {self.validated})"
        return f"{what}: {self.id}"


class LocalEngine(Mocks):
    """Pulumi mocks backed by a moto server at ``endpoint_url``.

    ``new_resource`` is called concurrently from the SDK's worker threads: boto3 clients are
    thread-safe once built, and every shared structure here is guarded by ``self._lock``.
    ``on_event(event, type, name)`` is called with ``"create"``, ``"not-emulated"`` or
    ``"preview"``, from those threads too.
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str = "us-east-1",
        preview: bool = False,
        on_event: EventCallback | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.preview = preview
        self._on_event = on_event
        self._session = boto3.session.Session(region_name=region, **_FAKE_CREDENTIALS)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._keyed_locks: dict[str, threading.Lock] = {}
        self._records: list[ResourceRecord] = []
        self._kubernetes: list[ResourceRecord] = []
        self._cluster_versions: set[str] = set()
        self._notes: list[str] = []
        self._provider_regions: dict[str, str] = {}
        self._provider_default_tags: dict[str, dict[str, str]] = {}
        self._account_id: str | None = None

    # --- what the CLI and tests read -----------------------------------------------------------

    @property
    def resources(self) -> list[ResourceRecord]:
        with self._lock:
            return list(self._records)

    @property
    def emulation_notes(self) -> list[str]:
        """Emulation gaps the engine worked around (e.g. conditional Denies kept out of moto), then, when the
        program declared any, what happened to its Kubernetes objects and Helm releases (kubernetes_summary)."""
        with self._lock:
            notes = list(self._notes)
        summary = self.kubernetes_summary()
        return [*notes, summary] if summary else notes

    @property
    def kubernetes_records(self) -> list[ResourceRecord]:
        """The Kubernetes objects and Helm releases the program declared: recorded and validated, not applied.
        They are not in ``resources``: nothing was created anywhere."""
        with self._lock:
            return list(self._kubernetes)

    def kubernetes_summary(self) -> str | None:
        """One line for `strata local up`: how many Kubernetes objects and Helm releases were recorded and
        validated (against what), and that none was applied. None when the program declared none."""
        records = self.kubernetes_records
        if not records:
            return None
        releases = [r for r in records if r.type == HELM_RELEASE]
        objects = [r for r in records if r.type != HELM_RELEASE]
        head = f"{len(objects)} Kubernetes objects and {len(releases)} Helm releases"
        if self.preview:
            return f"{head} declared, not applied: {KUBERNETES_NOT_APPLIED}"
        built_in = [r for r in objects if (r.validated or "").startswith("Kubernetes ")]
        custom = sorted({r.type.rsplit(":", 1)[-1] for r in objects if r not in built_in})
        details = []
        if built_in:
            details.append(
                f"{len(built_in)} objects strict against the Kubernetes {', '.join(self._kubernetes_versions())} schemas"
            )
        if custom:
            details.append(
                f"{len(objects) - len(built_in)} custom resources ({', '.join(custom)}): apiVersion, kind and name here, "
                "their schemas in the manifests gate"
            )
        if releases:
            details.append(f"{len(releases)} releases: chart, repository, version and values")
        return f"{head} recorded and validated, not applied: {KUBERNETES_NOT_APPLIED} ({'; '.join(details)})"

    def not_emulated_used(self) -> list[ResourceRecord]:
        """The declared resources of NOT_EMULATED types: present in the state, absent from moto."""
        return [record for record in self.resources if record.not_emulated_reason]

    # --- what handlers use (handlers.registry.Backend) -----------------------------------------

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG
                )
            return self._clients[key]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            account = self.client("sts", self.region).get_caller_identity()["Account"]
            with self._lock:
                self._account_id = account
        return self._account_id

    def note(self, message: str) -> None:
        with self._lock:
            self._notes.append(message)

    @contextmanager
    def serialized(self, key: str) -> Iterator[None]:
        with self._lock:
            lock = self._keyed_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    # --- Mocks ---------------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        return self.new_resource_with_urn(args, None)

    def new_resource_with_urn(self, args: MockResourceArgs, urn: str | None) -> tuple[str | None, dict]:
        """Create the resource in moto and return ``(id, state)``; ``urn`` only enriches the record."""
        if args.resource_id:
            raise LocalEngineError(
                f"local engine: reading or importing an existing resource ({args.typ} id {args.resource_id!r}) "
                "is not emulated; declare the resource instead"
            )
        if args.typ.startswith("pulumi:providers:"):
            return self._provider(args, urn)
        if args.typ in OPAQUE_KUBERNETES:
            raise LocalEngineError(
                f"local engine: {args.typ} {args.name!r} hides its objects (nothing to record or validate); "
                f"{OPAQUE_KUBERNETES[args.typ]}"
            )
        if args.typ.startswith("kubernetes:") and not _is_component(args):
            return self._kubernetes_object(args, urn)
        if _is_component(args):  # nothing exists in the cloud
            return "", dict(args.inputs)
        if args.typ in NOT_EMULATED:
            return self._not_emulated(args, urn)
        handler = RESOURCE_HANDLERS.get(args.typ)
        if handler is None:
            raise LocalEngineError(
                f"local engine: no handler for {args.typ}; add one in localcloud/handlers "
                "or declare it NOT_EMULATED with a reason"
            )
        if self.preview:  # no cloud calls: every computed output stays unknown
            self._record(ResourceRecord(name=args.name, type=args.typ, id=None, urn=urn), "preview")
            return "", dict(args.inputs)

        inputs = self._plain(args.inputs)
        # The provider's default tags (aws:defaultTags) reach moto as pulumi-aws sends them: merged
        # into the tags of every taggable type (localcloud/default_tags.py).
        tags_all = default_tags.tags_all(args.typ, inputs.get("tags"), self._default_tags_of(args.provider))
        if tags_all is not None:
            inputs = {**inputs, "tags": tags_all}
        ctx = Ctx(self, self._region_of(inputs, args.provider))
        try:
            created = handler(ctx, args.name, inputs)
        except Exception as err:
            raise LocalEngineError(
                f"local engine: creating {args.typ} {args.name!r} failed: {type(err).__name__}: {err}"
            ) from err

        if args.typ == "aws:eks/cluster:Cluster" and created.outputs.get("version"):
            with self._lock:  # the Kubernetes schemas the cluster's objects are validated against
                self._cluster_versions.add(str(created.outputs["version"]))
        state = {**args.inputs, **created.outputs}
        if tags_all is not None:
            state["tagsAll"] = tags_all
        elif "tags" in args.inputs:
            state.setdefault("tagsAll", args.inputs["tags"])
        if not args.typ.startswith(_GLOBAL_MODULES):
            state.setdefault("region", ctx.region)
        record = ResourceRecord(
            name=args.name,
            type=args.typ,
            id=created.id,
            urn=urn,
            arn=created.outputs.get("arn"),
            physical_name=created.physical_name,
        )
        self._record(record, "create")
        return created.id, state

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        """Answer an invoke from moto, in preview too: the calls only read, and answering from
        moto keeps preview and up consistent (same AMIs, zones, account)."""
        handler = INVOKE_HANDLERS.get(args.token)
        if handler is None:
            raise LocalEngineError(f"local engine: no handler for invoke {args.token}; add one in localcloud/handlers")
        call_args = self._plain(args.args)
        ctx = Ctx(self, self._region_of(call_args, args.provider))
        try:
            return handler(ctx, call_args)
        except Exception as err:
            raise LocalEngineError(f"local engine: invoke {args.token} failed: {type(err).__name__}: {err}") from err

    # --- internals -----------------------------------------------------------------------------

    def _record(self, record: ResourceRecord, event: str) -> None:
        with self._lock:
            self._records.append(record)
        if self._on_event:
            self._on_event(event, record.type, record.name)

    def _provider(self, args: MockResourceArgs, urn: str | None) -> tuple[str, dict]:
        """An explicit provider: no cloud call, but remember its region for the resources using it."""
        provider_id = hashlib.sha256((urn or args.name).encode()).hexdigest()[:32]
        plain = self._plain(args.inputs)
        region = plain.get("region")
        if isinstance(region, str) and region:  # unknown (not a str) in a preview
            with self._lock:
                self._provider_regions[provider_id] = region
        if isinstance(plain.get("defaultTags"), (dict, str)):  # an explicit provider's own default tags
            with self._lock:
                self._provider_default_tags[provider_id] = default_tags.parse(plain["defaultTags"])
        return provider_id, dict(args.inputs)

    def _default_tags_of(self, provider_ref: str | None) -> dict[str, str]:
        """An explicit provider's ``defaultTags``; otherwise the default provider's (stack config)."""
        if provider_ref:
            with self._lock:
                tags = self._provider_default_tags.get(provider_ref.rsplit("::", 1)[-1])
            if tags is not None:
                return tags
        return default_tags.from_config()

    def _not_emulated(self, args: MockResourceArgs, urn: str | None) -> tuple[str, dict]:
        synthetic_id = f"{args.name}-not-emulated"
        record = ResourceRecord(
            name=args.name,
            type=args.typ,
            id=None if self.preview else synthetic_id,
            urn=urn,
            not_emulated_reason=NOT_EMULATED[args.typ],
        )
        self._record(record, "not-emulated")
        return ("" if self.preview else synthetic_id), dict(args.inputs)

    def _kubernetes_object(self, args: MockResourceArgs, urn: str | None) -> tuple[str, dict]:
        """A Kubernetes object or Helm release: validated (in an up), recorded, never applied.

        The state is the inputs, with the name pulumi-kubernetes would give an unnamed object; the id is
        pulumi-kubernetes's (``<namespace>/<name>``, or ``<name>`` for a cluster-scoped kind). An invalid object
        fails the deployment, as the API server would refuse it."""
        if self.preview:  # inputs may be unknown: nothing to check yet
            self._record_kubernetes(ResourceRecord(name=args.name, type=args.typ, id=None, urn=urn), "preview")
            return "", dict(args.inputs)
        plain = self._plain(args.inputs)
        try:
            if args.typ == HELM_RELEASE:
                object_id, state, validated = helm_release(args.name, plain)
            else:
                object_id, state, validated = kubernetes_manifest(args.name, plain, self._kubernetes_versions())
        except ValueError as err:
            raise LocalEngineError(f"local engine: {args.typ} {args.name!r} is invalid: {err}") from err
        record = ResourceRecord(name=args.name, type=args.typ, id=object_id, urn=urn, validated=validated)
        self._record_kubernetes(record, "record")
        return object_id, {**args.inputs, **state}

    def _record_kubernetes(self, record: ResourceRecord, event: str) -> None:
        with self._lock:
            self._kubernetes.append(record)
        if self._on_event:
            self._on_event(event, record.type, record.name)

    def _kubernetes_versions(self) -> list[str]:
        """The Kubernetes minors of the EKS clusters this engine created (objects must be valid for each);
        without one (a program with a provider of its own), the newest minor kubernetes-validate knows."""
        with self._lock:
            versions = sorted(self._cluster_versions)
        if versions:
            return versions
        import kubernetes_validate

        return [kubernetes_validate.latest_version()]

    def _region_of(self, inputs: dict[str, Any], provider_ref: str | None) -> str:
        """The resource's own ``region`` input, else its provider's region, else the engine's."""
        if inputs.get("region"):
            return inputs["region"]
        if provider_ref:
            # A provider reference is "<provider urn>::<provider id>".
            with self._lock:
                region = self._provider_regions.get(provider_ref.rsplit("::", 1)[-1])
            if region:
                return region
        return self.region

    def _plain(self, value: Any) -> Any:
        """Inputs as boto3 wants them: secrets unwrapped, references resolved, 30.0 -> 30.

        Pulumi sends every number as a float, and boto3 rejects floats for integer parameters.
        """
        if rpc.is_rpc_secret(value):
            return self._plain(rpc.unwrap_rpc_secret(value))
        if isinstance(value, dict):
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, pulumi.Resource):
            return self._reference_id(value)
        return value

    def _reference_id(self, resource: pulumi.Resource) -> str:
        """The id of a resource passed where the provider expects a string.

        The Pulumi engine turns such a reference into the resource's id before the provider sees
        it. ``RecordingMonitor`` does that from the URN in the request; under a plain MockMonitor the
        reference arrives as an object, resolved here by type and logical name.
        """
        if isinstance(resource, pulumi.CustomResource):
            with self._lock:
                matches = [
                    r.id
                    for r in self._records
                    if r.type == resource.pulumi_resource_type and r.name == resource.pulumi_resource_name
                ]
            if len(matches) == 1 and matches[0]:
                return matches[0]
        raise LocalEngineError(
            f"local engine: cannot resolve a reference to {resource.pulumi_resource_type} "
            f"{resource.pulumi_resource_name!r}; run with RecordingMonitor, which resolves references by URN"
        )


def _is_component(args: MockResourceArgs) -> bool:
    """A component resource. MockMonitor always says (``custom``); when a caller builds the args
    without it, a type outside the providers the engine knows (``aws:``) is taken as a component."""
    if args.custom is None:
        return not args.typ.startswith("aws:")
    return not args.custom


# --- the monitor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """One RegisterResource request as the program sent it, with the id the engine returned."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    retain_on_delete: bool
    aliases: list[str | dict[str, Any]]
    dependencies: list[str]
    additional_secret_outputs: list[str]
    ignore_changes: list[str]
    deleted_with: str
    provider: str
    inputs: dict[str, Any]  # secrets unwrapped, so tests can assert on values...
    secret_inputs: list[str]  # ...and the top-level inputs that were (or held) secrets
    id: str


def _downgrade_references(value: struct_pb2.Value) -> None:
    """Replace resource references with the custom resource's id (or a component's URN), in place.

    The Pulumi engine does this for providers that do not accept resource references, which is
    how pulumi-aws receives ``role=some_role``; the mock monitor would instead rehydrate an object.
    """
    kind = value.WhichOneof("kind")
    if kind == "list_value":
        for item in value.list_value.values:
            _downgrade_references(item)
    elif kind == "struct_value":
        fields = value.struct_value.fields
        if _SIG_KEY in fields and fields[_SIG_KEY].string_value == _RESOURCE_SIG:
            if "id" in fields:
                value.string_value = fields["id"].string_value or rpc.UNKNOWN
            else:
                value.string_value = fields["urn"].string_value
            return
        for item in fields.values():
            _downgrade_references(item)


class _UrnPassingMocks(Mocks):
    """Gives the wrapped mocks the URN of the registration being served.

    MockMonitor computes the URN and calls ``mocks.new_resource`` on the thread that serves the
    RegisterResource request, so a thread-local carries the URN there (and the inputs back) safely
    while several registrations run at once. Mocks without ``new_resource_with_urn`` (any plain
    ``pulumi.runtime.Mocks``) get ``new_resource`` as usual.
    """

    def __init__(self, target: Mocks, local: threading.local) -> None:
        self._target = target
        self._local = local

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        self._local.inputs = args.inputs
        with_urn = getattr(self._target, "new_resource_with_urn", None)
        if with_urn is None:
            return self._target.new_resource(args)
        return with_urn(args, getattr(self._local, "urn", None))

    def call(self, args: MockCallArgs) -> Any:
        return self._target.call(args)

    def register_transform(self, transform: Any) -> None:
        self._target.register_transform(transform)

    def register_invoke_transform(self, transform: Any) -> None:
        self._target.register_invoke_transform(transform)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that records every registration and passes URNs to the mocks that want them.

    Works with any ``Mocks``; with a ``LocalEngine`` its records carry URNs. Behaviour is
    MockMonitor's own (its RegisterResource runs unchanged), except that resource references in
    the inputs are first downgraded to ids, as the real engine does for pulumi-aws.
    """

    def __init__(self, mocks: Mocks) -> None:
        self.target_mocks = mocks
        self._local = threading.local()
        self._registrations_lock = threading.Lock()
        self._registrations: list[Registration] = []
        super().__init__(_UrnPassingMocks(mocks, self._local))

    @property
    def registrations(self) -> list[Registration]:
        with self._registrations_lock:
            return list(self._registrations)

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        downgraded = resource_pb2.RegisterResourceRequest()
        downgraded.CopyFrom(request)
        for field_value in downgraded.object.fields.values():
            _downgrade_references(field_value)
        self._local.urn = self.make_urn(request.parent, request.type, request.name)
        self._local.inputs = {}
        try:
            response = super().RegisterResource(downgraded)
            inputs = self._local.inputs
        finally:
            self._local.urn = None
            self._local.inputs = {}
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            protect=request.protect,
            retain_on_delete=request.retainOnDelete,
            aliases=[*request.aliasURNs, *(_alias(alias) for alias in request.aliases)],
            dependencies=list(request.dependencies),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            ignore_changes=list(request.ignoreChanges),
            deleted_with=request.deletedWith,
            provider=request.provider,
            inputs={key: _unwrap_secrets(value) for key, value in inputs.items()},
            secret_inputs=sorted(key for key, value in inputs.items() if _holds_secret(value)),
            id=response.id,
        )
        with self._registrations_lock:
            self._registrations.append(registration)
        return response


def _holds_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _unwrap_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _alias(alias: Any) -> str | dict[str, Any]:
    """An alias as its URN, or its spec as a dict (name, type, parentUrn, noParent, ...)."""
    if alias.WhichOneof("alias") == "urn":
        return alias.urn
    return json_format.MessageToDict(alias.spec)
