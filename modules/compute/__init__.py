"""Compute layer: AWS Batch capacity that scales to zero, with per-team job queues and job roles."""

from modules.compute.component import Compute, ComputeArgs

__all__ = ["Compute", "ComputeArgs"]
