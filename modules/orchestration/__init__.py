"""Orchestration layer: Step Functions role, foreach state table, EventBridge schedule role, per-team prefixes."""

from modules.orchestration.component import Orchestration, OrchestrationArgs

__all__ = ["Orchestration", "OrchestrationArgs"]
