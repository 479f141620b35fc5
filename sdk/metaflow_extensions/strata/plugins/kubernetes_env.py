"""The team's settings in every Kubernetes pod Metaflow starts (``@kubernetes`` and Argo Workflows), without the
metadata API key.

Metaflow builds a pod's environment itself (``plugins/kubernetes/kubernetes.py``, ``plugins/argo/argo_workflows.py``)
from a fixed list of settings plus the step's ``@environment`` variables; it forwards no ``METAFLOW_STRATA_*``
setting, and it copies ``json.dumps(SERVICE_HEADERS)`` (the key included) into every pod. No botocore call carries a
pod spec, so the Batch hooks (``aws_client.py``) cannot see it. Two public Metaflow mechanisms do the work instead:

- ``METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP`` (set in ``config/mfextinit_strata.py``): Argo Workflows leaves
  ``METAFLOW_SERVICE_HEADERS`` out of every container it templates (steps, exit hooks, the heartbeat daemon);
- this step mutator, attached to every step through the extension's ``TOGGLE_DECOSPECS`` (like ``--with``): on a
  step that runs in a pod (it has ``@kubernetes``; Argo Workflows attaches one to every step) it merges the team's
  settings (``hooks.TeamPolicy.job_environment``: the team and ``METAFLOW_STRATA_API_KEY_SECRET``)
  and the key-less headers into the step's ``@environment``. ``@kubernetes`` applies ``@environment`` after its own
  variables, so the key-less headers replace the keyed ones there; Argo applies its own after, and skips them.

Inside the pod the config extension reads the key from the secret with the pod's own role (IRSA: the team's
service account is bound to the team's job role), as in a Batch job (``config/job_api_key.py``).

The mutator also refuses a step whose ``@environment`` holds the key (the canary of the Batch path): nothing later
in Metaflow's Kubernetes path can be checked before the pod spec leaves.
"""

from __future__ import annotations

import json
from typing import Any

from metaflow.exception import MetaflowException
from metaflow.user_decorators.mutable_step import MutableStep
from metaflow.user_decorators.user_step_decorator import StepMutator

from . import hooks

# How the extension attaches the mutator to every step (a Metaflow decospec: an import path).
DECOSPEC = f"{__name__}.StrataTeamEnvironment"
ENVIRONMENT = "environment"
KUBERNETES = "kubernetes"


class StrataKeyInEnvironment(MetaflowException):
    headline = "Refused by the Strata platform"


def _config() -> Any:
    from metaflow import metaflow_config

    return metaflow_config


def team_variables(config: Any) -> dict[str, str]:
    """What every pod of the team gets: the team's settings and the service headers without the key."""
    policy = hooks.TeamPolicy(
        team=getattr(config, "STRATA_TEAM", None) or "",
        job_definition_prefix=getattr(config, "STRATA_JOB_DEFINITION_PREFIX", None) or "",
        log_group=getattr(config, "STRATA_JOB_LOG_GROUP", None) or "",
        api_key_secret=getattr(config, "STRATA_API_KEY_SECRET", None) or None,
    )
    variables = {k: v for k, v in policy.job_environment().items() if v}
    variables[hooks.HEADERS_VARIABLE] = json.dumps(hooks.without_api_key(getattr(config, "SERVICE_HEADERS", None) or {}))
    return variables


def api_key_values(config: Any) -> list[str]:
    headers = getattr(config, "SERVICE_HEADERS", None) or {}
    values = [v for k, v in headers.items() if str(k).lower() == hooks.API_KEY_HEADER]
    return [v for v in [getattr(config, "SERVICE_AUTH_KEY", None), *values] if isinstance(v, str) and len(v) >= 8]


def merged_variables(existing: dict[str, Any], team: dict[str, str], step: str, keys: list[str]) -> dict[str, Any]:
    """The step's own ``@environment`` variables with the team's over them; the API key anywhere in them is refused."""
    text = json.dumps(existing, default=str)
    if any(key in text for key in keys):
        raise StrataKeyInEnvironment(
            f"step {step!r} has your metadata API key in its @environment variables. Metaflow copies them into the pods "
            "of @kubernetes and Argo Workflows, where the team's Kubernetes users could read it. Remove it: pods fetch "
            "the key themselves with the team's job role."
        )
    return {**existing, **team}


class StrataTeamEnvironment(StepMutator):
    """Adds the team's settings to the step's ``@environment`` (keeping the step's own variables)."""

    # The step's own @environment variables, as first seen (one mutator instance per step). Metaflow re-runs a
    # mutator after Argo Workflows late-attaches @kubernetes, having removed what it added the first time (which
    # had replaced the step's own @environment): what the step declared is known from the first run only.
    _own: dict[str, Any] | None = None

    def mutate(self, mutable_step: MutableStep) -> None:
        config = _config()
        if not getattr(config, "STRATA_TEAM", None):
            return
        specs = list(mutable_step.decorator_specs)
        if not any(name == KUBERNETES for name, *_ in specs):
            # Not (yet) a pod: a local or Batch step is left as it is. `argo-workflows create` attaches @kubernetes
            # late, and Metaflow then runs the mutator again.
            return
        own: dict[str, Any] = {}
        for name, _, _, kwargs in specs:
            if name == ENVIRONMENT:
                own.update(kwargs.get("vars") or {})
        if self._own is None:
            self._own = dict(own)
        own = {**self._own, **own}
        team = team_variables(config)
        own = {k: v for k, v in own.items() if k not in team}
        # MutableStep names no step publicly; the name only makes the refusal clearer.
        step = getattr(getattr(mutable_step, "_my_step", None), "name", "this step")
        variables = merged_variables(own, team, step, api_key_values(config))
        mutable_step.add_decorator(ENVIRONMENT, deco_kwargs={"vars": variables}, duplicates=MutableStep.OVERRIDE)
