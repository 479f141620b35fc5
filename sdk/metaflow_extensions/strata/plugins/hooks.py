"""What the Strata extension changes in Metaflow's AWS Batch and Step Functions calls: pure functions on the
API parameters (dicts), so each rule is tested without AWS, boto3 or Metaflow.

Each function takes the parameters botocore is about to send and changes them in place (it also returns
them, for tests). They are installed as botocore ``before-parameter-build`` handlers by ``aws_client.py``.

The team's IAM policies enforce the same rules on AWS whatever the client does (a name under the team's
prefix, the ``team`` tag, the team's log group, no privileged container). These hooks make Metaflow's own
calls comply, and give a clear error early where a flow option asks for something the platform refuses.

This module imports only the standard library: it runs in every Metaflow process, inside jobs too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

# A job definition name: "Up to 128 letters (uppercase and lowercase), numbers, hyphens, and underscores are
# allowed" (https://docs.aws.amazon.com/batch/latest/APIReference/API_RegisterJobDefinition.html).
BATCH_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
NAME_HASH_LENGTH = 56  # hex digits of a SHA-224

# Bump when a rule below changes what a registered definition holds: the new rule then yields new names, so
# Metaflow's reuse lookup never returns a definition registered under the old rule.
RULES_VERSION = "1"

TEAM_TAG = "team"
API_KEY_HEADER = "x-api-key"
HEADERS_VARIABLE = "METAFLOW_SERVICE_HEADERS"
AUTH_KEY_VARIABLE = "METAFLOW_SERVICE_AUTH_KEY"

# The profile keys the extension reads (Metaflow's from_conf drops the METAFLOW_ prefix for its own name).
TEAM_KEY = "METAFLOW_STRATA_TEAM"
PREFIX_KEY = "METAFLOW_STRATA_JOB_DEFINITION_PREFIX"
LOG_GROUP_KEY = "METAFLOW_STRATA_JOB_LOG_GROUP"
API_KEY_SECRET_KEY = "METAFLOW_STRATA_API_KEY_SECRET"
PROVIDER_KEY = "METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER"
PROVIDER_NAME = "strata"

# Step Functions' Batch integration ("arn:<partition>:states:::batch:submitJob" and ".sync").
SFN_BATCH_RESOURCE = re.compile(r"^arn:[^:]+:states:::batch:submitJob(\.sync)?$")


class PolicyViolation(Exception):
    """A call the platform refuses; the message names the flow option or profile key to change, and why."""


@dataclass(frozen=True)
class TeamPolicy:
    """A team's rules, from its profile (``METAFLOW_STRATA_*``)."""

    team: str
    job_definition_prefix: str
    log_group: str
    api_key_secret: str | None = None

    def problems(self) -> list[str]:
        """Why this policy cannot name job definitions (empty when it can)."""
        out = []
        if not self.job_definition_prefix:
            out.append(f"{PREFIX_KEY} is not set")
        elif not BATCH_NAME.match(self.job_definition_prefix) or len(self.job_definition_prefix) > 128 - NAME_HASH_LENGTH:
            out.append(
                f"{PREFIX_KEY}={self.job_definition_prefix!r} cannot start a job definition name "
                f"(letters, digits, '-' and '_', at most {128 - NAME_HASH_LENGTH} characters)"
            )
        if not self.log_group:
            out.append(f"{LOG_GROUP_KEY} is not set")
        return out

    def job_environment(self) -> dict[str, str]:
        """What a job needs to know its team (and, inside the job, where its API key is): the job side runs
        this extension again with these settings, and fetches the key itself."""
        env = {
            TEAM_KEY: self.team,
            PREFIX_KEY: self.job_definition_prefix,
            LOG_GROUP_KEY: self.log_group,
            PROVIDER_KEY: PROVIDER_NAME,
        }
        if self.api_key_secret:
            env[API_KEY_SECRET_KEY] = self.api_key_secret
        return env


# ---------------------------------------------------------------- job definitions


def log_configuration(policy: TeamPolicy, region: str) -> dict[str, Any]:
    """awslogs into the team's group. No ``awslogs-create-group``: the platform creates the group (with its
    retention and key), and creating one would need ``logs:CreateLogGroup``."""
    return {"logDriver": "awslogs", "options": {"awslogs-group": policy.log_group, "awslogs-region": region}}


def fingerprint(policy: TeamPolicy, region: str) -> str:
    """Everything the register hook adds to a definition: two policies that change definitions differently
    give different names for the same Metaflow definition."""
    added = {"rules": RULES_VERSION, "tags": {TEAM_TAG: policy.team}, "logConfiguration": log_configuration(policy, region)}
    return json.dumps(added, sort_keys=True)


def job_definition_name(original: str, policy: TeamPolicy, region: str) -> str:
    """``<prefix><sha224(original name + fingerprint)>``: deterministic, so DescribeJobDefinitions (Metaflow's
    reuse lookup) and RegisterJobDefinition agree on the name; under the team's prefix, which IAM requires.

    A name that already starts with the prefix is the team's own and is kept."""
    if problems := policy.problems():
        raise PolicyViolation(f"cannot name job definitions for team {policy.team!r}: {'; '.join(problems)}")
    if original.startswith(policy.job_definition_prefix):
        return original
    digest = hashlib.sha224(f"{original}\n{fingerprint(policy, region)}".encode()).hexdigest()
    return policy.job_definition_prefix + digest


def containers(definition: MutableMapping[str, Any]) -> Iterator[MutableMapping[str, Any]]:
    """Every container of a definition: ``containerProperties``, or each node range's of a multi-node one."""
    if isinstance(definition.get("containerProperties"), MutableMapping):
        yield definition["containerProperties"]
    for node_range in (definition.get("nodeProperties") or {}).get("nodeRangeProperties") or []:
        if isinstance(node_range.get("container"), MutableMapping):
            yield node_range["container"]


def refuse_unsafe(definition: MutableMapping[str, Any]) -> None:
    """Privileged containers and host mounts fail here, before AWS, with the option that asked for them."""
    for container in containers(definition):
        if container.get("privileged"):
            raise PolicyViolation(
                "this step asks for a privileged container (@batch(privileged=True) or `batch step --privileged`). "
                "Strata refuses privileged containers: one controls the instance it runs on, and with it every job "
                "there. Your team's IAM policy denies RegisterJobDefinition with batch:Privileged=true anyway. "
                "Remove privileged=True."
            )
        # A volume whose host names a sourcePath mounts that instance path (an empty host is a Docker volume).
        hosts = [path for v in container.get("volumes") or [] if (path := (v.get("host") or {}).get("sourcePath"))]
        if hosts:
            raise PolicyViolation(
                f"this step mounts instance paths {', '.join(map(str, hosts))} (@batch(host_volumes=...) or "
                "METAFLOW_BATCH_HOST_VOLUMES). Strata refuses host mounts: a mount of / or the Docker socket hands the "
                "container the instance, and no IAM condition key can refuse host volumes, so this check is the "
                "platform's (see docs/metaflow-extension.md). Use @batch(efs_volumes=...), tmpfs or S3 instead."
            )


def tag_team(tags: MutableMapping[str, str] | None, team: str, where: str) -> dict[str, str]:
    """``tags`` with ``team=<team>``; a different team value is an error, not silently replaced."""
    out = dict(tags or {})
    given = out.get(TEAM_TAG)
    if given is not None and given != team:
        raise PolicyViolation(
            f"{where} is tagged {TEAM_TAG}={given!r}, but this profile is team {team!r}. Strata tags every job and job "
            f"definition with its team and IAM refuses any other value: remove the {TEAM_TAG!r} key from "
            "@batch(aws_batch_tags=...), METAFLOW_BATCH_DEFAULT_TAGS or --aws-batch-tag."
        )
    out[TEAM_TAG] = team
    return out


def register_job_definition(params: MutableMapping[str, Any], policy: TeamPolicy, region: str) -> MutableMapping[str, Any]:
    """RegisterJobDefinition: refuse unsafe containers, rename under the team's prefix, tag with the team,
    and send every container's output to the team's log group."""
    refuse_unsafe(params)
    if "jobDefinitionName" in params:
        params["jobDefinitionName"] = job_definition_name(params["jobDefinitionName"], policy, region)
    params["tags"] = tag_team(params.get("tags"), policy.team, "this job definition")
    for container in containers(params):
        # Forced, not merged: IAM requires batch:LogDriver=awslogs and batch:AWSLogsGroup=<team group>, so a
        # @batch(log_driver=..., log_options=...) of its own would only be refused by AWS.
        container["logConfiguration"] = log_configuration(policy, region)
        # Explicit, where Metaflow leaves the key out when false: the IAM condition batch:Privileged=false then
        # always has a value to compare (an absent key would fail it).
        container["privileged"] = False
    return params


def describe_job_definitions(params: MutableMapping[str, Any], policy: TeamPolicy, region: str) -> MutableMapping[str, Any]:
    """DescribeJobDefinitions by name: the same rename as on register, so Metaflow's reuse lookup finds the
    definition it registered."""
    if params.get("jobDefinitionName"):
        params["jobDefinitionName"] = job_definition_name(params["jobDefinitionName"], policy, region)
    return params


def own_job_definitions(parsed: MutableMapping[str, Any], team: str) -> MutableMapping[str, Any]:
    """A DescribeJobDefinitions answer without other teams' definitions (and untagged ones): Metaflow reuses
    the first hit, so a definition of the same name that is not the team's is never reused. IAM's name prefix
    already keeps others out; this is defence in depth."""
    if isinstance(parsed.get("jobDefinitions"), list):
        parsed["jobDefinitions"] = [d for d in parsed["jobDefinitions"] if (d.get("tags") or {}).get(TEAM_TAG) == team]
    return parsed


# ---------------------------------------------------------------- job environments


def without_api_key(headers: Any) -> dict[str, Any]:
    """Service headers without the API key (HTTP header names are case-insensitive)."""
    return {k: v for k, v in dict(headers).items() if str(k).lower() != API_KEY_HEADER}


def scrub_environment(
    entries: Iterable[MutableMapping[str, Any]], policy: TeamPolicy, *, pascal: bool = False
) -> list[dict[str, Any]]:
    """A job's environment list without the API key, plus the team's settings.

    ``pascal``: Step Functions' spelling (``Name``/``Value``) instead of Batch's (``name``/``value``)."""
    name_key, value_key = ("Name", "Value") if pascal else ("name", "value")
    added = policy.job_environment()
    out: list[dict[str, Any]] = []
    for entry in entries:
        name = entry.get(name_key)
        if name == AUTH_KEY_VARIABLE or name in added:
            continue  # the key itself never travels; ours are set below, once
        entry = dict(entry)
        if name == HEADERS_VARIABLE and value_key in entry:
            try:
                headers = json.loads(entry[value_key])
            except (TypeError, ValueError):
                continue  # unreadable: it cannot be shown key-free, so it is dropped
            if not isinstance(headers, dict):
                continue
            entry[value_key] = json.dumps(without_api_key(headers))
        out.append(entry)
    out.extend({name_key: k, value_key: v} for k, v in added.items())
    return out


def submit_job(params: MutableMapping[str, Any], policy: TeamPolicy) -> MutableMapping[str, Any]:
    """SubmitJob: tag the job with the team, and scrub every container override's environment."""
    params["tags"] = tag_team(params.get("tags"), policy.team, "this job")
    node_overrides = (params.get("nodeOverrides") or {}).get("nodePropertyOverrides") or []
    overrides = [n.setdefault("containerOverrides", {}) for n in node_overrides]
    if not overrides:
        overrides = [params.setdefault("containerOverrides", {})]
    for override in overrides:
        override["environment"] = scrub_environment(override.get("environment") or [], policy)
    return params


# ---------------------------------------------------------------- Step Functions


def _walk(node: Any) -> Iterator[MutableMapping[str, Any]]:
    if isinstance(node, MutableMapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _scrub_batch_state(parameters: MutableMapping[str, Any], policy: TeamPolicy) -> None:
    parameters["Tags"] = tag_team(parameters.get("Tags"), policy.team, "this step's Batch job")
    node_overrides = (parameters.get("NodeOverrides") or {}).get("NodePropertyOverrides") or []
    overrides = [n.setdefault("ContainerOverrides", {}) for n in node_overrides]
    if not overrides:
        overrides = [parameters.setdefault("ContainerOverrides", {})]
    for override in overrides:
        override["Environment"] = scrub_environment(override.get("Environment") or [], policy, pascal=True)


def state_machine_definition(definition: str, policy: TeamPolicy) -> str:
    """A state-machine definition (JSON) whose Batch tasks carry the team tag and key-free environments.
    Every ``Environment`` list anywhere (Map iterators, Parallel branches) is scrubbed too."""
    doc = json.loads(definition)
    for node in _walk(doc):
        if isinstance(node.get("Resource"), str) and SFN_BATCH_RESOURCE.match(node["Resource"]):
            _scrub_batch_state(node.setdefault("Parameters", {}), policy)
        elif isinstance(node.get("Environment"), list):
            node["Environment"] = scrub_environment(node["Environment"], policy, pascal=True)
    return json.dumps(doc)


def state_machine(params: MutableMapping[str, Any], policy: TeamPolicy) -> MutableMapping[str, Any]:
    """CreateStateMachine / UpdateStateMachine: scrub the definition; tag a new machine with the team."""
    if isinstance(params.get("definition"), str):
        params["definition"] = state_machine_definition(params["definition"], policy)
    if "name" in params:  # CreateStateMachine (UpdateStateMachine takes no tags)
        tags = {t["key"]: t["value"] for t in params.get("tags") or []}
        tags = tag_team(tags, policy.team, "this state machine")
        params["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    return params


# ---------------------------------------------------------------- the canary


def refuse_leaks(operation: str, params: Any, secrets: Iterable[str | None]) -> None:
    """Stop a call whose parameters still hold a secret value (the API key), wherever it hid. The message
    never contains the value."""
    text = json.dumps(params, default=str)
    for secret in secrets:
        if secret and len(secret) >= 8 and secret in text:
            raise PolicyViolation(
                f"{operation} would carry your metadata API key (found in its parameters after scrubbing, e.g. in an "
                "@environment variable). Strata keeps the key out of job environments and state machines: jobs fetch "
                "it themselves. Remove it from the flow's environment."
            )
