"""The base settings types every layer's settings (``modules/<layer>/settings.py``) are built from.

* :class:`Model`: a config object — camelCase keys in YAML, no unknown keys, immutable;
* :class:`Invalid`: a field validator's refusal with its fix (``core.issues`` turns it into an issue);
* the value rules several layers share: e-mail addresses, IAM principals, CloudWatch log retention,
  CIDR blocks (:func:`parse_network`, which names the block the user probably meant);
* :class:`Team`: one team as it exists in one environment, as the loader resolves it from its team file.

Pure: the standard library and pydantic only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from core.issues import Issues

# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
PRINCIPAL_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:root|(?:role|user)/[\w+=,.@/-]{1,512})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(ValueError):
    """A field validator's refusal in plain words, with its fix (:func:`core.issues.pydantic_issues` reads both back)."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.fix = fix


def _emails(value: tuple[str, ...]) -> tuple[str, ...]:
    bad = [c for c in value if not EMAIL.match(c)]
    if bad:
        what = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
        raise Invalid(f"{', '.join(map(repr, bad))} {what}", "write one address per entry, e.g. [team@example.com]")
    return value


Emails = Annotated[tuple[str, ...], AfterValidator(_emails)]


def principal_arns(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` if every entry is an IAM account, role or user ARN (no wildcards), else :class:`Invalid`."""
    bad = [p for p in value if not PRINCIPAL_ARN.match(p)]
    if bad:
        raise Invalid(
            f"not an IAM account, role or user ARN: {', '.join(map(repr, bad))}",
            "use arn:aws:iam::<12-digit account>:root, ...:role/<name> or ...:user/<name> (no wildcards)",
        )
    return value


class Model(BaseModel):
    """Base for every config object: camelCase keys in YAML, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def check_log_retention(days: int, path: str, key: str, issues: Issues) -> None:
    """A log group retention must be one CloudWatch accepts (LOG_RETENTION_DAYS)."""
    if days not in LOG_RETENTION_DAYS:
        issues.add(path, key, f"{days} is not a CloudWatch retention", f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")


def parse_network(
    cidr: str, path: str, key: str, issues: Issues, example: str, smallest: int = 28
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``cidr`` as a network, or None and an issue. A block with host bits set (``10.30.5.0/16``) gets the
    network it lies in as its fix (``10.30.0.0/16``), and the block that starts at its address if that is
    at most a /``smallest``, never an unrelated example."""
    try:
        return ipaddress.ip_network(cidr)
    except ValueError as exc:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            issues.add(path, key, f"{cidr!r} is not a network: {exc}", f"write <address>/<prefix length>, e.g. {example}")
            return None
    address = ipaddress.ip_interface(cidr).ip
    # The longest prefix at which the address is itself a network address: its trailing zero bits.
    own = address.max_prefixlen - ((int(address) & -int(address)).bit_length() - 1)
    alternative = f", or {address}/{own} if you meant the block that starts at {address}" if own <= smallest else ""
    issues.add(
        path,
        key,
        f"{cidr} is not where a /{network.prefixlen} block starts (host bits set): the /{network.prefixlen} holding {address} is {network}",
        f"write {network}{alternative}",
    )
    return None


@dataclass(frozen=True)
class TeamKubernetes:
    """A team's share of the Kubernetes cluster, resolved by the loader (modules/kubernetes)."""

    namespace: str
    cpu: int  # ResourceQuota requests.cpu / limits.cpu (cores)
    memory_gib: int  # requests.memory / limits.memory
    gpus: int  # requests.nvidia.com/gpu
    container_image: str  # METAFLOW_KUBERNETES_CONTAINER_IMAGE


@dataclass(frozen=True)
class Team:
    """One team as it exists in one environment (its team file's ``environments.<env>``, resolved by the loader)."""

    name: str
    cost_center: str
    contacts: tuple[str, ...]
    priority: int
    max_vcpus: int
    gpu_max_vcpus: int
    principals: tuple[str, ...]
    monthly_budget_usd: float | None = None  # the team file's environments.<env>.monthlyBudgetUsd
    # Of max_vcpus, how many may run on Spot (the team's Spot compute environment); the rest is its
    # on-demand one. 0 where the stack has no Spot pool. The loader resolves the team file's default.
    spot_vcpus: int = 0
    # The team's Fargate compute environment's cap; 0 = no Fargate queue for the team.
    fargate_vcpus: int = 0
    # The team's namespace, quota and image where strata:kubernetes is enabled; None elsewhere.
    kubernetes: TeamKubernetes | None = None

    @property
    def gpu(self) -> bool:
        return self.gpu_max_vcpus > 0
