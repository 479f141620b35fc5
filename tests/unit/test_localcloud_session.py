"""The pieces of `strata local up` that need no cloud: the env file's user name (Metaflow refuses to run
without one, and CI shells often have none), and the phases line that benchmarks/local_up.py reads."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud import session, walk

REPO = Path(__file__).resolve().parents[2]
USER_VARIABLES = ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER", "LOGNAME")
LOGIN = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def env_file(tmp_path) -> Path:
    paths = session.paths_for(REPO, tmp_path)
    env = session.cloud_env("http://127.0.0.1:5000", "us-east-1", paths)
    session.write_env_file(env, paths, "fraud", REPO)
    return paths.env_file


def sourced(env_file: Path, shell: str, **variables: str) -> dict[str, str]:
    """The environment after ``source``-ing the file in ``shell``, started with only ``variables`` and PATH."""
    proc = subprocess.run(
        [shell, "-c", f'. "{env_file}" && env'],
        env={"PATH": os.environ["PATH"], **variables},
        text=True,
        capture_output=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


CASES = [
    ({}, LOGIN if LOGIN != "root" else "strata-local"),
    ({"USER": "ann"}, "ann"),
    ({"LOGNAME": "ann"}, "ann"),
    ({"USER": "root"}, LOGIN if LOGIN != "root" else "strata-local"),
    ({"USER": "root", "SUDO_USER": "bob"}, "bob"),
    ({"USER": "ann", "METAFLOW_USER": "bob"}, "bob"),
]


@pytest.mark.parametrize(("variables", "expected"), CASES)
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_the_env_file_names_a_user_only_when_the_shell_has_none(env_file, shell, variables, expected):
    if not shutil.which(shell):
        pytest.skip(f"no {shell} here")
    after = sourced(env_file, shell, **variables)
    assert after["METAFLOW_USER"] == expected
    assert after["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "_strata_user" not in after, "the helper variable is not left behind"


@pytest.mark.parametrize(("variables", "expected"), CASES)
def test_the_walk_runs_flows_as_the_user_the_env_file_names(variables, expected):
    assert walk.local_user(variables) == expected


def test_metaflow_accepts_the_user_the_env_file_names(env_file, tmp_path):
    """Metaflow's own check (metaflow.util.get_username), in a shell without any user variable."""
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv here")
    proc = subprocess.run(
        ["bash", "-c", f'. "{env_file}" && "{python}" -c "from metaflow.util import get_username; print(get_username())"'],
        # The caller's bytecode settings pass through: the test must not write __pycache__ into the venv.
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            **{k: v for k, v in os.environ.items() if k.startswith("PYTHON")},
        },
        text=True,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() not in ("None", "root", ""), proc.stdout


def test_the_phases_line_is_what_the_benchmark_reads():
    spec = importlib.util.spec_from_file_location("local_up_benchmark", REPO / "benchmarks" / "local_up.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    phases = session.Phases(seconds={"start moto": 1.25, "deploy": 6.0, "batch flow": 20.4, "step functions flow": 21.0})
    parsed = benchmark.parse_phases(f"noise\n{phases.summary()}\n")
    assert {k: parsed[k] for k in phases.seconds} == {
        "start moto": 1.2,
        "deploy": 6.0,
        "batch flow": 20.4,
        "step functions flow": 21.0,
    }
    assert "total" in parsed


def test_the_env_files_example_names_an_interpreter_that_runs_from_anywhere(env_file):
    """The file is sourced from any directory: its example command names the interpreter by an absolute path, the
    venv's own (not the base interpreter its link points to, which lacks Metaflow)."""
    example = next(line for line in env_file.read_text().splitlines() if line.startswith("# then: "))
    python = example.split()[3]
    assert python == os.path.abspath(sys.executable) and Path(python).is_absolute() and Path(python).exists(), example
