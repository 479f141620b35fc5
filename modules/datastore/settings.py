"""``strata:datastore``: the datastore layer's settings (the S3 datastore's lifecycle).

Pure (the core and pydantic; no Pulumi). Every field is checked by the model itself: no cross-field rules.
"""

from __future__ import annotations

from pydantic import Field

from core.settings import Model


class DatastoreSettings(Model):
    noncurrent_version_expiration_days: int = Field(default=90, gt=0)
    abort_incomplete_upload_days: int = Field(default=7, gt=0)
    # Move objects to S3 Intelligent-Tiering after this many days; null turns tiering off.
    tiering_after_days: int | None = Field(default=30, ge=0)
    access_log_expiration_days: int = Field(default=365, gt=0)
