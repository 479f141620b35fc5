"""The registry that service modules add their handlers to, and the small toolbox they share.

A resource handler turns the inputs of one Pulumi resource (camelCase engine names, plain Python
values) into boto3 calls against moto and returns what AWS would have computed, under the output
names pulumi-aws uses. An invoke handler answers one data-source function.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

PARTITION = "aws"
DNS_SUFFIX = "amazonaws.com"


@dataclass(frozen=True)
class Created:
    """What a resource handler returns: the provider id and the attributes AWS computed."""

    id: str
    outputs: dict[str, Any] = field(default_factory=dict)
    physical_name: str | None = None


class Backend(Protocol):
    """The part of the engine handlers may use (kept narrow so handlers stay testable)."""

    def client(self, service: str, region: str) -> Any: ...

    @property
    def account_id(self) -> str: ...

    def note(self, message: str) -> None: ...

    def serialized(self, key: str) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class Ctx:
    """One resource creation (or invoke): the engine plus the region this resource lives in."""

    backend: Backend
    region: str

    def client(self, service: str) -> Any:
        return self.backend.client(service, self.region)

    @property
    def account_id(self) -> str:
        return self.backend.account_id

    def note(self, message: str) -> None:
        """Record an emulation gap the engine worked around, for the CLI to report."""
        self.backend.note(message)

    def serialized(self, key: str) -> AbstractContextManager[None]:
        """A lock shared by every handler that touches the same piece of cloud state."""
        return self.backend.serialized(key)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{PARTITION}:{service}:{region}:{self.account_id}:{resource}"


ResourceHandler = Callable[[Ctx, str, dict[str, Any]], Created]
InvokeHandler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]

RESOURCE_HANDLERS: dict[str, ResourceHandler] = {}
INVOKE_HANDLERS: dict[str, InvokeHandler] = {}


def resource(token: str) -> Callable[[ResourceHandler], ResourceHandler]:
    """Register the decorated function as the handler of the resource type ``token``."""

    def register(fn: ResourceHandler) -> ResourceHandler:
        if token in RESOURCE_HANDLERS:
            raise ValueError(f"two handlers for {token}")
        RESOURCE_HANDLERS[token] = fn
        return fn

    return register


def invoke(token: str) -> Callable[[InvokeHandler], InvokeHandler]:
    """Register the decorated function as the handler of the invoke (data source) ``token``."""

    def register(fn: InvokeHandler) -> InvokeHandler:
        if token in INVOKE_HANDLERS:
            raise ValueError(f"two handlers for {token}")
        INVOKE_HANDLERS[token] = fn
        return fn

    return register


# --- names ---------------------------------------------------------------------------------------


def _digest(logical: str) -> str:
    return hashlib.sha256(logical.encode()).hexdigest()


def auto_name(logical: str, *, max_len: int = 255, lowercase: bool = False) -> str:
    """Pulumi's auto-name shape ``<logical>-<7 hex>``.

    Pulumi draws the suffix at random; here it is a hash of the logical name so that running the
    same program twice against a fresh moto gives the same physical names (reproducible tests and
    profiles). The logical part is cut so the whole name fits ``max_len``.
    """
    suffix = _digest(logical)[:7]
    base = logical.lower() if lowercase else logical
    return f"{base[: max_len - len(suffix) - 1]}-{suffix}"


def physical_name(
    logical: str,
    inputs: Mapping[str, Any],
    *,
    key: str = "name",
    prefix_key: str = "namePrefix",
    max_len: int = 255,
    lowercase: bool = False,
) -> str:
    """The name given in ``inputs[key]``; else ``namePrefix`` + a unique part; else an auto-name."""
    if inputs.get(key):
        return inputs[key]
    prefix = inputs.get(prefix_key)
    if prefix:
        # Terraform appends a 26-character unique id to a name prefix.
        return prefix + _digest(logical)[: max(0, min(26, max_len - len(prefix)))]
    return auto_name(logical, max_len=max_len, lowercase=lowercase)


# --- value shapes --------------------------------------------------------------------------------


def compact(**params: Any) -> dict[str, Any]:
    """Keyword arguments for a boto3 call, without the ones that are None (boto3 rejects None)."""
    return {k: v for k, v in params.items() if v is not None}


def tf_bool(value: Any) -> bool | None:
    """A boolean from a Terraform-schema field that pulumi-aws types as a string ("true"/"false")."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def key_value_tags(tags: Mapping[str, str] | None, key: str = "Key", value: str = "Value") -> list[dict] | None:
    """``{"k": "v"}`` -> ``[{"Key": "k", "Value": "v"}]`` (None when there are no tags)."""
    if not tags:
        return None
    return [{key: k, value: v} for k, v in tags.items()]


def tag_specifications(resource_type: str, tags: Mapping[str, str] | None) -> list[dict] | None:
    """EC2's ``TagSpecifications`` for a create call, so tags land atomically with the resource."""
    tag_list = key_value_tags(tags)
    return [{"ResourceType": resource_type, "Tags": tag_list}] if tag_list else None


def pascal_keys(value: Any, renames: Mapping[str, str] | None = None) -> Any:
    """Recursively turn camelCase keys into the PascalCase the EC2/S3 APIs use.

    ``renames`` maps camelCase names whose API name is not the plain PascalCase form
    (``id`` -> ``ID``, ``vpcSecurityGroupIds`` -> ``SecurityGroupIds``).
    """
    renames = renames or {}
    if isinstance(value, dict):
        return {renames.get(k, k[:1].upper() + k[1:]): pascal_keys(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal_keys(v, renames) for v in value]
    return value
