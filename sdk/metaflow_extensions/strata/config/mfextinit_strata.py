"""Metaflow configuration of the Strata extension (config/mfextinit_*.py).

Metaflow runs this at the end of ``metaflow_config`` and copies every global defined here over its own
(metaflow_config.py, "Check if there are extensions to Metaflow to load"), so each name below is a Metaflow
setting. Helper modules are imported as modules (Metaflow skips those) and temporary names are deleted.

Profile keys read (environment first, then the profile, as for every Metaflow setting):
- ``METAFLOW_STRATA_TEAM``: the team; without it the extension changes nothing.
- ``METAFLOW_STRATA_JOB_DEFINITION_PREFIX``: what the team's job definitions are named with.
- ``METAFLOW_STRATA_JOB_LOG_GROUP``: the team's awslogs group for job output.
- ``METAFLOW_STRATA_API_KEY_SECRET``: the Secrets Manager secret holding the team's metadata API key (set
  when the metadata service is used); a Batch job reads the key from it.
- ``METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER``: ``strata`` selects the extension's client provider; it is the
  default only when a team is configured.
"""

import os
import sys

from metaflow.metaflow_config_funcs import from_conf

from . import job_api_key

STRATA_TEAM = from_conf("STRATA_TEAM")
STRATA_JOB_DEFINITION_PREFIX = from_conf("STRATA_JOB_DEFINITION_PREFIX")
STRATA_JOB_LOG_GROUP = from_conf("STRATA_JOB_LOG_GROUP")
STRATA_API_KEY_SECRET = from_conf("STRATA_API_KEY_SECRET")

DEFAULT_AWS_CLIENT_PROVIDER = from_conf("DEFAULT_AWS_CLIENT_PROVIDER", "strata" if STRATA_TEAM else "boto3")

# metaflow_config has built SERVICE_HEADERS already (from METAFLOW_SERVICE_HEADERS and METAFLOW_SERVICE_AUTH_KEY,
# metaflow_config.py "Metadata configuration"); it is still being imported, so it is read from sys.modules. In a
# Batch job the launcher sent no key: the job's role reads it from the secret and it is added to that same dict.
_metaflow_config = sys.modules.get("metaflow.metaflow_config")
_headers = getattr(_metaflow_config, "SERVICE_HEADERS", None)
if _headers is None:
    _headers = from_conf("SERVICE_HEADERS", {})
SERVICE_HEADERS = job_api_key.add_job_api_key(_headers, STRATA_API_KEY_SECRET, os.environ)
del _metaflow_config, _headers
