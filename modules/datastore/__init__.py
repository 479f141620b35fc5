"""The data layer: KMS key, hardened S3 datastore with per-team prefixes, access-log bucket."""

from modules.datastore.component import Datastore, DatastoreArgs

__all__ = ["Datastore", "DatastoreArgs"]
