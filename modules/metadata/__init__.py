"""Metadata layer: Aurora PostgreSQL, the Metaflow metadata service on Fargate, its API and per-team keys."""

from modules.metadata.component import Metadata, MetadataArgs

__all__ = ["Metadata", "MetadataArgs"]
