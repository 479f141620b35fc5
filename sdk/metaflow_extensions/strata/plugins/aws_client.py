"""The ``strata`` AWS client provider: Metaflow's boto3 clients, with botocore event handlers that make
Metaflow's Batch and Step Functions calls follow the team's rules (``hooks.py``).

Selected by the profile key ``METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER=strata``. Every client Metaflow makes
comes from ``metaflow.plugins.aws.aws_client.get_aws_client``, so these hooks cover ``run --with batch``
(the ``batch step`` launcher) and ``step-functions create`` alike. Without ``METAFLOW_STRATA_TEAM`` the
provider is Metaflow's boto3 provider, unchanged.

The hooks use botocore's public event system
(https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html), not Metaflow's private
signatures: ``before-parameter-build`` handlers change the parameters in place before they are validated
and serialised; an ``after-call`` handler filters a parsed answer.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from metaflow.exception import MetaflowException
from metaflow.plugins.aws.aws_client import Boto3ClientProvider

from . import hooks


class StrataPolicyRefusal(MetaflowException):
    headline = "Refused by the Strata platform"


def _config() -> Any:
    # Read at call time: the config extension (config/mfextinit_strata.py) put these into metaflow_config.
    from metaflow import metaflow_config

    return metaflow_config


def current_policy() -> hooks.TeamPolicy | None:
    """The team's rules from the profile, or None when no Strata team is configured."""
    config = _config()
    team = getattr(config, "STRATA_TEAM", None)
    if not team:
        return None
    return hooks.TeamPolicy(
        team=team,
        job_definition_prefix=getattr(config, "STRATA_JOB_DEFINITION_PREFIX", None) or "",
        log_group=getattr(config, "STRATA_JOB_LOG_GROUP", None) or "",
        api_key_secret=getattr(config, "STRATA_API_KEY_SECRET", None) or None,
    )


def _api_key_values() -> list[str]:
    """The metadata API key(s) this process holds: what must never leave in a job or a state machine."""
    config = _config()
    headers = getattr(config, "SERVICE_HEADERS", None) or {}
    values = [v for k, v in headers.items() if str(k).lower() == hooks.API_KEY_HEADER]
    return [v for v in [getattr(config, "SERVICE_AUTH_KEY", None), *values] if isinstance(v, str) and v]


def _refusing(rule: Callable[..., Any]) -> Callable[..., Any]:
    """A botocore handler that reports a refused call as a Metaflow error (a message, not a traceback)."""

    @functools.wraps(rule)
    def handler(*args: Any, **kwargs: Any) -> Any:
        try:
            return rule(*args, **kwargs)
        except hooks.PolicyViolation as exc:
            raise StrataPolicyRefusal(str(exc)) from None

    return handler


def _unkeyed_forwarded_headers() -> None:
    """Metaflow's Batch launcher forwards ``json.dumps(SERVICE_HEADERS)`` into every job (batch.py, module
    global). Rebinding that module's name to a key-less copy keeps the key out of what ``step-functions create
    --only-json`` prints too, which no AWS call sees. Best effort on a private name: the SubmitJob and state
    machine hooks scrub regardless, and the canary refuses a call that still holds the key."""
    module = sys.modules.get("metaflow.plugins.aws.batch.batch")
    headers = getattr(module, "SERVICE_HEADERS", None)
    if module is not None and isinstance(headers, dict):
        module.SERVICE_HEADERS = hooks.without_api_key(headers)  # type: ignore[attr-defined]


def install(client: Any, policy: hooks.TeamPolicy) -> Any:
    """Register the team's handlers on one client (its own event emitter: other clients are unaffected)."""
    service = client.meta.service_model.service_id.hyphenize()  # "batch", "sfn"
    region = client.meta.region_name
    events = client.meta.events
    if service == "batch":

        def register(params: dict[str, Any], **_: Any) -> None:
            hooks.register_job_definition(params, policy, region)

        def describe(params: dict[str, Any], **_: Any) -> None:
            hooks.describe_job_definitions(params, policy, region)

        def own(parsed: dict[str, Any], **_: Any) -> None:
            hooks.own_job_definitions(parsed, policy.team)

        def submit(params: dict[str, Any], **_: Any) -> None:
            hooks.submit_job(params, policy)
            hooks.refuse_leaks("SubmitJob", params, _api_key_values())

        events.register("before-parameter-build.batch.RegisterJobDefinition", _refusing(register))
        events.register("before-parameter-build.batch.DescribeJobDefinitions", _refusing(describe))
        events.register("after-call.batch.DescribeJobDefinitions", _refusing(own))
        events.register("before-parameter-build.batch.SubmitJob", _refusing(submit))
        _unkeyed_forwarded_headers()
    elif service == "sfn":
        for operation in ("CreateStateMachine", "UpdateStateMachine"):
            events.register(f"before-parameter-build.sfn.{operation}", _refusing(_state_machine_hook(operation, policy)))
    return client


def _state_machine_hook(operation: str, policy: hooks.TeamPolicy) -> Callable[..., None]:
    def machine(params: dict[str, Any], **_: Any) -> None:
        hooks.state_machine(params, policy)
        hooks.refuse_leaks(operation, params, _api_key_values())

    return machine


class StrataClientProvider:
    """Metaflow's boto3 provider, plus the team's rules on Batch and Step Functions clients."""

    name = hooks.PROVIDER_NAME

    @staticmethod
    def get_client(
        module: str,
        with_error: bool = False,
        role_arn: str | None = None,
        session_vars: dict[str, Any] | None = None,
        client_params: dict[str, Any] | None = None,
    ) -> Any:
        made = Boto3ClientProvider.get_client(
            module, with_error, role_arn=role_arn, session_vars=session_vars, client_params=client_params
        )
        if module not in ("batch", "stepfunctions"):
            return made
        policy = current_policy()
        if policy is None:
            return made  # no Strata team configured: exactly Metaflow's boto3 provider
        if problems := policy.problems():
            raise StrataPolicyRefusal(
                f"the profile names team {policy.team!r} but {'; '.join(problems)}: refresh it with "
                "`strata configure --env <env> --team <team> --force`"
            )
        install(made[0] if with_error else made, policy)
        return made
