"""The network layer: private VPC sized from the capacity config (or an adopted VPC), egress, S3 gateway endpoint, flow logs."""

from modules.network.component import Network, NetworkArgs

__all__ = ["Network", "NetworkArgs"]
