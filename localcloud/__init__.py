"""Strata's local cloud: the Pulumi program deployed into a moto server instead of AWS.

- ``LocalEngine``: Pulumi mocks that create each declared resource in moto (``engine.py``).
- ``RecordingMonitor``: a MockMonitor that also records registrations and their options.
- ``start_moto`` / ``configure_moto``: run and configure the moto server (``server.py``).
"""

from .engine import NOT_EMULATED, LocalEngine, LocalEngineError, RecordingMonitor, Registration, ResourceRecord
from .server import MotoServer, configure_moto, start_moto

__all__ = [
    "NOT_EMULATED",
    "LocalEngine",
    "LocalEngineError",
    "MotoServer",
    "RecordingMonitor",
    "Registration",
    "ResourceRecord",
    "configure_moto",
    "start_moto",
]
