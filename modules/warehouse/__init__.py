"""Warehouse layer: Redshift (Serverless or provisioned), per-team COPY/UNLOAD roles and Data API access."""

from modules.warehouse.component import Warehouse, WarehouseAccess, WarehouseArgs

__all__ = ["Warehouse", "WarehouseAccess", "WarehouseArgs"]
