"""Observability and cost controls: log key and retention, dashboard, alarms, failed-job alerts, budgets."""

from modules.observability.component import Observability, ObservabilityArgs, ObservabilityKey, ObservabilityKeyArgs
from modules.observability.signals import (
    DatabaseKind,
    DatabaseSignals,
    LoadBalancerKind,
    MetadataSignals,
    WarehouseKind,
    WarehouseSignals,
)

__all__ = [
    "DatabaseKind",
    "DatabaseSignals",
    "LoadBalancerKind",
    "MetadataSignals",
    "Observability",
    "ObservabilityArgs",
    "ObservabilityKey",
    "ObservabilityKeyArgs",
    "WarehouseKind",
    "WarehouseSignals",
]
