"""Shared Pulumi helpers of the layers' components. Not a layer: it declares no resource of its own and
knows no layer; it imports only the core, pulumi and pulumi_aws, and every layer may import it."""

from modules.base.args import LayerArgs, LogKeyArgs, ProtectArgs
from modules.base.component import AwsContext, Component

__all__ = ["AwsContext", "Component", "LayerArgs", "LogKeyArgs", "ProtectArgs"]
