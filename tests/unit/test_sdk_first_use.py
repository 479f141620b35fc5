"""A data scientist's first minutes with `strata` (issue 9): versions, what to run when only the SDK is
installed, a missing profile or user name explained instead of Metaflow's traceback, output that is never
hard-wrapped off a terminal, and hints that print commands which run as printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strata import output, profiles
from strata.cli import app

REPO = Path(__file__).resolve().parents[2]
USER_VARIABLES = ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER", "LOGNAME")


def run_cli(args: list[str], *, blocked: tuple[str, ...] = (), env: dict | None = None, cwd: Path = REPO):
    """``strata <args>`` in a fresh interpreter whose imports of ``blocked`` top-level packages fail, as in an
    install without them (no sitecustomize: a meta path finder installed before strata.cli is imported)."""
    script = textwrap.dedent(
        f"""
        import sys

        class Blocked:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Blocked())
        sys.argv = ["strata", *{args!r}]
        from strata.cli import main
        main()
        """
    )
    base = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env={**base, **(env or {})}, text=True, capture_output=True, timeout=120
    )


# ---------------------------------------------------------------- strata --version


def test_version_names_the_sdk_the_platform_and_metaflow():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert f"strata-sdk {metadata.version('strata-sdk')}" in result.output
    assert f"strata-platform {metadata.version('strata-platform')}" in result.output
    assert f"metaflow {metadata.version('metaflow')}" in result.output


def test_version_without_the_platform_says_so():
    proc = run_cli(["--version"], blocked=("infra", "localcloud"))
    assert proc.returncode == 0, proc.stderr
    assert "strata-sdk " in proc.stdout and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- only the SDK installed


@pytest.mark.parametrize(
    "blocked", [("infra", "localcloud", "moto", "pulumi"), ("moto",)], ids=["sdk-only", "platform-without-dev-extras"]
)
def test_local_up_without_the_platform_says_what_to_run(blocked):
    proc = run_cli(["local", "up", "--state-dir", "/nonexistent"], blocked=blocked)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr, proc.stderr
    assert "bash scripts/local-up.sh" in proc.stderr, proc.stderr
    assert "bash scripts/bootstrap.sh" in proc.stderr and ".venv/bin/strata local up" in proc.stderr
    assert "pip install -e" not in proc.stderr, "the old hint installed the platform without moto"


def test_validate_without_the_platform_says_what_to_run():
    proc = run_cli(["validate", "--stack", "dev"], blocked=("infra", "localcloud"))
    assert proc.returncode == 2
    assert "bash scripts/bootstrap.sh" in proc.stderr and ".venv/bin/strata validate" in proc.stderr, proc.stderr


# ---------------------------------------------------------------- no hard wrap off a terminal


def test_long_lines_and_tables_are_not_wrapped_when_piped():
    script = textwrap.dedent(
        """
        from rich.table import Table
        from strata.output import console
        out = console()
        out.print("METAFLOW_PROFILE=local-fraud .venv/bin/python examples/flows/foreach_flow.py run --with batch " + "x" * 120)
        table = Table()
        table.add_column("object")
        table.add_row("arn:aws:batch:us-east-1:123456789012:job-queue/" + "q" * 150)
        out.print(table)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("METAFLOW_PROFILE=local-fraud") and line.endswith("x" * 120) for line in lines), proc.stdout
    assert any("job-queue/" + "q" * 150 in line for line in lines), proc.stdout


def test_an_error_message_stays_on_one_line_when_piped(tmp_path):
    home = tmp_path / ("a-rather-long-directory-name-" * 4)
    proc = run_cli(["doctor", "--profile", "dev-fraud"], env={"METAFLOW_HOME": str(home), "USER": "ann"})
    assert proc.returncode == 1
    (line,) = [line for line in proc.stdout.splitlines() if "no profile" in line]
    assert str(home / "config_dev-fraud.json") in line and line.endswith("`strata configure --env dev --team fraud`"), line


# ---------------------------------------------------------------- hints that run as printed


def test_the_python_hint_is_this_interpreter_unless_python_on_path_is_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `python` on PATH at all
    assert output.python_command() == output.shown_path(Path(sys.executable))
    assert output.python_command() != "python"
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert output.python_command() == "python", "a bare `python` when that is the interpreter with Metaflow"
    assert output.python_command(explicit=True) == output.shown_path(Path(sys.executable))


def test_shown_path_is_relative_inside_cwd_and_never_resolves_links(tmp_path):
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(sys.executable)
    assert output.shown_path(link, cwd=tmp_path) == "venv/bin/python"
    assert output.shown_path(link, cwd=tmp_path / "elsewhere") == str(link)


# ---------------------------------------------------------------- configure and doctor


@pytest.fixture
def shell(monkeypatch, tmp_path):
    """A shell with a profile home and no user name at all (a CI container)."""
    for name in USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return tmp_path


def test_metaflow_user_follows_metaflows_order_and_refuses_root():
    assert profiles.metaflow_user({}) is None
    assert profiles.metaflow_user({"USER": "root"}) is None
    assert profiles.metaflow_user({"USER": "root", "USERNAME": "ann"}) == "ann"
    assert profiles.metaflow_user({"USER": "bob", "METAFLOW_USER": "ann"}) == "ann"
    assert profiles.metaflow_user({"LOGNAME": "ann"}) is None, "Metaflow does not read LOGNAME"


def test_doctor_explains_a_missing_profile_and_a_missing_user(shell):
    result = CliRunner().invoke(app, ["doctor", "--profile", "dev-fraud"])
    assert result.exit_code == 1
    assert "strata configure --env dev --team fraud" in result.output
    assert "export METAFLOW_USER=" in result.output
    assert "Traceback" not in result.output


def test_doctor_sends_local_profiles_to_the_env_file(shell):
    result = CliRunner().invoke(app, ["doctor"], env={"METAFLOW_PROFILE": "local-fraud"})
    assert result.exit_code == 1
    assert "source .strata/local/env" in result.output


def test_doctor_passes_when_metaflow_can_start(shell, monkeypatch):
    """The shell's checks only (the AWS ones: tests/unit/test_doctor_checks.py and tests/e2e/test_doctor.py)."""
    from strata import doctor

    (shell / "config_dev-fraud.json").write_text(json.dumps({"METAFLOW_DEFAULT_DATASTORE": "s3"}))
    monkeypatch.setenv("USER", "ann")
    shell_checks = [c for c in doctor.CHECKS if c.name in ("profile", "metaflow-user", "aws-config")]
    monkeypatch.setattr(doctor, "diagnose", lambda name, env, team: doctor.run(doctor.Doctor(name, env, team), shell_checks))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    result = CliRunner().invoke(app, ["doctor", "--profile", "dev-fraud"])
    assert result.exit_code == 0, result.output
    assert "PASS metaflow-user: Metaflow records runs as ann" in result.output and "ok:" in result.output


def test_configure_warns_a_shell_without_a_user_and_keeps_the_profile_user_free(shell, monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    with mock_aws():
        boto3.client("ssm").put_parameter(
            Name=profiles.parameter_name("dev", "fraud"), Type="String", Value=json.dumps({"METAFLOW_DEFAULT_DATASTORE": "s3"})
        )
        result = CliRunner().invoke(app, ["configure", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 0, result.output
    assert "Unknown user" in result.output and "export METAFLOW_USER=" in result.output
    assert "METAFLOW_USER" not in json.loads((shell / "config_dev-fraud.json").read_text()), "the team's profile names nobody"
