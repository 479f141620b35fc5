"""The arguments every layer's component repeats, with one meaning and one docstring each.

A layer's args dataclass derives from :class:`LayerArgs` and, where the layer has stateful resources or
log groups, from :class:`ProtectArgs` and :class:`LogKeyArgs`; what the flag or key covers in that layer is
said in its args' docstring. The fields are keyword-only (``kw_only``), so a layer's own fields keep their
order and their defaults whatever the bases add: every caller names its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(kw_only=True)
class LayerArgs:
    """What every component of a layer takes: the environment and the tags."""

    environment: str
    """Environment (stack) name: part of the physical names of the layer's resources (``core.naming``) and
    of their descriptions."""
    tags: Mapping[str, str]
    """Tags put on every taggable resource; a team's resources add the team's ``team`` and ``cost-center``."""


@dataclass(kw_only=True)
class ProtectArgs:
    """For a layer with stateful resources (data, keys, databases)."""

    protect: bool
    """``strata:protect``: Pulumi ``protect`` + ``retain_on_delete`` on the layer's stateful resources, and the
    service's own deletion protection where it has one (the layer's args docstring names what it covers)."""


@dataclass(kw_only=True)
class LogKeyArgs:
    """For a layer with CloudWatch log groups."""

    log_kms_key_arn: pulumi.Input[str] | None = None
    """``ObservabilityKey.key_arn``: encrypts the layer's log groups (its key policy admits CloudWatch Logs).
    None: CloudWatch Logs' own encryption. Never the datastore key: its default key policy does not admit the
    CloudWatch Logs service principal, so creating a group with it would fail.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
