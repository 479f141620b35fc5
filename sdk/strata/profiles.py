"""Reading a team's Metaflow profile from SSM and installing it as a Metaflow config file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError


class ProfileProblem(Exception):
    """A problem the data scientist can fix; the message says how."""


def parameter_name(env: str, team: str) -> str:
    # Mirrors core.naming.profile_parameter; the SDK must not import the platform package.
    return f"/strata/{env}/teams/{team}/metaflow-profile"


def api_key_secret_name(env: str, team: str) -> str:
    # Mirrors core.naming.metadata_api_key_secret.
    return f"strata/{env}/teams/{team}/metadata-api-key"


# Metaflow reads METAFLOW_SERVICE_AUTH_KEY and sends it as the x-api-key header (metaflow_config.py).
AUTH_KEY = "METAFLOW_SERVICE_AUTH_KEY"


@contextmanager
def _reading(name: str, team: str, not_found_code: str, not_found: str) -> Iterator[None]:
    """Turn what boto3 raises while reading ``name`` into a ProfileProblem that says what to do;
    ``not_found`` is the message for the service's ``not_found_code``."""
    try:
        yield
    except NoRegionError:
        raise ProfileProblem("no AWS region configured: pass --region or set AWS_DEFAULT_REGION") from None
    except NoCredentialsError:
        raise ProfileProblem("no AWS credentials found: log in (e.g. `aws sso login`) or set AWS_PROFILE") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == not_found_code:
            raise ProfileProblem(not_found) from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise ProfileProblem(
                f"your credentials may not read {name}: assume the {team} team's data-scientist role first"
            ) from None
        raise ProfileProblem(f"AWS refused to return {name}: {code or exc}") from None
    except BotoCoreError as exc:
        raise ProfileProblem(f"could not reach AWS: {exc}") from None


def fetch_api_key(env: str, team: str, region: str | None = None) -> str:
    """The team's metadata API key from Secrets Manager, read with the caller's credentials at configure
    time. It goes into the local profile file only, never into the SSM parameter."""
    name = api_key_secret_name(env, team)
    not_found = f"no metadata API key for team {team!r} in {env!r} ({name}): ask the platform team"
    with _reading(name, team, "ResourceNotFoundException", not_found):
        return boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=name)["SecretString"]


def with_api_key(profile: dict[str, str], env: str, team: str, region: str | None = None) -> dict[str, str]:
    """The profile plus the team's API key when it uses the metadata service; unchanged otherwise."""
    if profile.get("METAFLOW_DEFAULT_METADATA") != "service":
        return profile
    return {**profile, AUTH_KEY: fetch_api_key(env, team, region)}


def profile_name(env: str, team: str) -> str:
    return f"{env}-{team}"


def metaflow_home() -> Path:
    return Path(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()


# The local cloud's profiles (`strata local up`) are named local-<team>; they live in .strata/local, which
# its env file makes METAFLOW_HOME.
LOCAL_ENV = "local"
LOCAL_ENV_FILE = ".strata/local/env"


def configure_hint(name: str) -> str:
    """What to run to get profile ``name`` (``<env>-<team>``) where Metaflow looks for it."""
    env, sep, team = name.partition("-")
    if env == LOCAL_ENV and team:
        return f"`source {LOCAL_ENV_FILE}` first (in the Strata repository, after `strata local up`: it sets METAFLOW_HOME)"
    if sep and env and team:
        return f"run `strata configure --env {env} --team {team}`"
    return "run `strata configure --env <env> --team <team>` and use the profile it names"


def refresh_hint(name: str) -> str:
    """What to run to replace an outdated or broken profile ``name``."""
    env, sep, team = name.partition("-")
    if env == LOCAL_ENV and team:
        return "rewrite it with `strata local down` and `strata local up` (in the Strata repository)"
    if sep and env and team:
        return f"refresh it with `strata configure --env {env} --team {team} --force`"
    return "refresh it with `strata configure --env <env> --team <team> --force`"


def profile_path(name: str, home: Path | None = None) -> Path:
    """Where Metaflow reads profile ``name`` from: ``$METAFLOW_HOME/config_<name>.json``."""
    return (home or metaflow_home()) / f"config_{name}.json"


def missing_profile(name: str, home: Path | None = None) -> str | None:
    """Why profile ``name`` is unusable and what to run instead, or None when Metaflow can read it.

    Metaflow itself stops at import with a traceback (``Unable to locate METAFLOW_PROFILE``) when the
    file is missing; the ``strata`` commands check first and say this instead."""
    path = profile_path(name, home)
    if not path.exists():
        return f"no profile {name!r} at {path}: {configure_hint(name)}"
    try:
        json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return f"cannot read the profile {path}: {exc}; {refresh_hint(name)}"
    return None


# Metaflow's user name (metaflow.util.get_username): METAFLOW_USER, then these, never "root"; without
# one, every flow command stops with "Unknown user". CI shells and containers often set none.
USER_VARIABLES = ("SUDO_USER", "USERNAME", "USER")


def metaflow_user(environ: Mapping[str, str] = os.environ) -> str | None:
    """The user name Metaflow will record for runs started with ``environ``, or None (Metaflow refuses to run)."""
    for name in ("METAFLOW_USER", *USER_VARIABLES):
        value = environ.get(name)
        if value and value != "root":
            return value
    return None


def no_user_hint() -> str:
    return (
        "Metaflow will stop with `Unknown user`: this shell sets none of METAFLOW_USER, USERNAME or USER (or only "
        "`root`, which Metaflow refuses). Name yourself once per shell: export METAFLOW_USER=<your name>"
    )


def fetch_profile(env: str, team: str, region: str | None = None) -> dict[str, str]:
    """The profile stored by the platform, read with the caller's own AWS credentials.

    boto3 honours ``AWS_ENDPOINT_URL``, which is how the local cloud is reached."""
    name = parameter_name(env, team)
    not_found = (
        f"no profile for team {team!r} in environment {env!r} (SSM parameter {name} does not exist): "
        "check --env and --team, or ask the platform team whether the team is deployed there"
    )
    with _reading(name, team, "ParameterNotFound", not_found):
        ssm = boto3.client("ssm", region_name=region)
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    return parse_published(name, value)


def parse_published(name: str, value: str) -> dict[str, str]:
    """The profile the SSM parameter ``name`` holds (its ``value``), or a ProfileProblem saying what is wrong."""
    try:
        profile = json.loads(value)
    except json.JSONDecodeError:
        raise ProfileProblem(f"{name} does not hold JSON; ask the platform team to redeploy") from None
    if not isinstance(profile, dict) or not all(isinstance(v, str) for v in profile.values()):
        raise ProfileProblem(f"{name} is not a Metaflow profile (a JSON object of strings)")
    return profile


@dataclass(frozen=True)
class Installed:
    path: Path
    changed: bool


def install_profile(profile: dict[str, str], env: str, team: str, home: Path | None = None, force: bool = False) -> Installed:
    """Write ``config_<env>-<team>.json``; never replace a different file unless ``force``."""
    home = home or metaflow_home()
    path = profile_path(profile_name(env, team), home)
    text = json.dumps(profile, indent=2, sort_keys=True) + "\n"
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            current = None
        if current == profile:
            return Installed(path, changed=False)
        if not force:
            differing = sorted(k for k in set(profile) | set(current or {}) if (current or {}).get(k) != profile.get(k))
            raise ProfileProblem(
                f"{path} exists and differs ({', '.join(differing) or 'unreadable'}); "
                "re-run with --force to replace it (your edits to that file will be lost)"
            )
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    if AUTH_KEY in profile:  # the file holds the team's API key: the owner only
        tmp.chmod(0o600)
    tmp.replace(path)  # atomic: a reader never sees half a profile
    return Installed(path, changed=True)
