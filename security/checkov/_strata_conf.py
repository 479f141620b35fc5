"""Helpers shared by the custom checks: reading checkov's resource conf.

checkov hands a check the resource's attributes with every value wrapped in a list (a nested block
is a list of such dicts): ``{"compute_resources": [{"type": ["EC2"], "min_vcpus": [0]}]}``.
"""

from __future__ import annotations

from typing import Any

BATCH_EC2_TYPES = ("EC2", "SPOT")


def value(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """The plain value of ``key`` (unwrapped from checkov's one-element list)."""
    raw = conf.get(key)
    if isinstance(raw, list):
        return raw[0] if raw else default
    return default if raw is None else raw


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The nested blocks under ``key`` (each a conf dict); [] when absent."""
    raw = conf.get(key)
    if not isinstance(raw, list):
        return []
    found: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, list):  # some checkov paths double-wrap blocks
            found.extend(i for i in item if isinstance(i, dict))
    return found


def is_true(raw: Any) -> bool:
    return raw is True or (isinstance(raw, str) and raw.lower() == "true")


def is_false_or_absent(raw: Any) -> bool:
    return raw is None or raw is False or (isinstance(raw, str) and raw.lower() == "false")
