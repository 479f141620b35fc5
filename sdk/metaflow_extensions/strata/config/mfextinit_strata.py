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
- ``METAFLOW_STRATA_EKS_CLUSTER``: the environment has the Kubernetes layer; every step then gets the team's
  settings in its ``@environment`` (``plugins/kubernetes_env.py``), so that its pods can fetch the API key.

With a team configured, Argo Workflows also leaves ``METAFLOW_SERVICE_HEADERS`` (which holds the key) out of every
container it templates (``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP``, added to whatever the profile lists there).
"""

import os
import sys

from metaflow.metaflow_config_funcs import from_conf

from . import job_api_key

STRATA_TEAM = from_conf("STRATA_TEAM")
STRATA_JOB_DEFINITION_PREFIX = from_conf("STRATA_JOB_DEFINITION_PREFIX")
STRATA_JOB_LOG_GROUP = from_conf("STRATA_JOB_LOG_GROUP")
STRATA_API_KEY_SECRET = from_conf("STRATA_API_KEY_SECRET")

STRATA_EKS_CLUSTER = from_conf("STRATA_EKS_CLUSTER")

DEFAULT_AWS_CLIENT_PROVIDER = from_conf("DEFAULT_AWS_CLIENT_PROVIDER", "strata" if STRATA_TEAM else "boto3")

if STRATA_TEAM:
    # Metaflow's own setting, "e.g. in case we want to pull them from KUBERNETES_SECRETS" (argo_workflows.py): the
    # headers never reach a pod of Argo Workflows; the pod reads the key from its secret (job_api_key.py).
    _skip = [v for v in from_conf("ARGO_WORKFLOWS_ENV_VARS_TO_SKIP", "").split(",") if v]
    ARGO_WORKFLOWS_ENV_VARS_TO_SKIP = ",".join(_skip + [v for v in job_api_key.POD_SKIPPED_VARIABLES if v not in _skip])
    del _skip
if STRATA_TEAM and STRATA_EKS_CLUSTER:
    # Attach the team-settings mutator to every step, like `--with`. Metaflow uses the extensions' toggles only when
    # METAFLOW_DEFAULT_DECOSPECS is empty, so a profile or shell that sets it gets the mutator appended instead.
    _decospecs = from_conf("DEFAULT_DECOSPECS", "")
    if _decospecs:
        DEFAULT_DECOSPECS = f"{_decospecs} {job_api_key.TEAM_ENVIRONMENT_DECOSPEC}"
    else:
        TOGGLE_DECOSPECS = [job_api_key.TEAM_ENVIRONMENT_DECOSPEC]
    del _decospecs

# metaflow_config has built SERVICE_HEADERS already (from METAFLOW_SERVICE_HEADERS and METAFLOW_SERVICE_AUTH_KEY,
# metaflow_config.py "Metadata configuration"); it is still being imported, so it is read from sys.modules. In a
# Batch job or a Kubernetes pod the launcher sent no key: the job's role reads it from the secret and it is added
# to that same dict.
_metaflow_config = sys.modules.get("metaflow.metaflow_config")
_headers = getattr(_metaflow_config, "SERVICE_HEADERS", None)
if _headers is None:
    _headers = from_conf("SERVICE_HEADERS", {})
SERVICE_HEADERS = job_api_key.add_job_api_key(
    _headers, STRATA_API_KEY_SECRET, os.environ, metadata=from_conf("DEFAULT_METADATA", "local")
)
del _metaflow_config, _headers
