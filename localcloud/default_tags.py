"""The AWS provider's default tags, applied by the local engine the way pulumi-aws applies them.

On AWS, the provider — not the program — tags resources: with ``aws:defaultTags: {tags: {...}}`` in
the stack config (or ``default_tags`` on an explicit ``aws.Provider``) it sends the default tags merged
with the resource's own ``tags`` (the resource's value wins on a shared key) to every resource type that
has tags, and reports the merge as ``tagsAll``. Under mocks no provider runs, so the engine does the
same here, before a handler creates the resource in moto:

* which types are taggable is read from pulumi-aws itself: a resource class with a ``tags_all``
  property (e.g. ``aws.sns.Topic``, not ``aws.iam.RolePolicy``);
* the default provider's tags come from the Pulumi runtime config ``aws:defaultTags`` (a JSON
  string, as the CLI passes object config), an explicit provider's from its ``defaultTags`` input.

https://www.pulumi.com/registry/packages/aws/how-to-guides/default-tags/
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Mapping
from typing import Any

CONFIG_KEY = "aws:defaultTags"


@functools.cache
def is_taggable(type_token: str) -> bool:
    """Whether pulumi-aws's class for ``type_token`` (``aws:<module>/<name>:<Class>``) has ``tags_all``."""
    if not type_token.startswith("aws:") or type_token.count(":") != 2:
        return False
    module, _, cls_name = type_token[len("aws:") :].partition(":")
    package = module.split("/", 1)[0]
    try:
        mod = importlib.import_module("pulumi_aws" if package == "index" else f"pulumi_aws.{package}")
    except ImportError:
        return False
    cls = getattr(mod, cls_name, None)
    return cls is not None and isinstance(getattr(cls, "tags_all", None), property)


def from_config() -> dict[str, str]:
    """The default provider's tags: the stack's ``aws:defaultTags.tags`` from the Pulumi runtime config."""
    from pulumi.runtime.config import get_config

    return parse(get_config(CONFIG_KEY))


def parse(value: Any) -> dict[str, str]:
    """``{"tags": {...}}`` as an object or a JSON string (how the CLI hands object config over)."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"{CONFIG_KEY} must be an object with 'tags', got {value!r}")
    tags = value.get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()}


def tags_all(type_token: str, own: Mapping[str, str] | None, default: Mapping[str, str]) -> dict[str, str] | None:
    """What the provider sends and reports as ``tagsAll``; None for a type without tags."""
    if not is_taggable(type_token):
        return None
    return {**default, **(own or {})}
