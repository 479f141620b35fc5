"""What every ``strata`` command prints through: consoles that never hard-wrap, and commands that run as printed.

Rich lays text out for an 80-column terminal when its output is not a terminal (a pipe, a CI log, a file),
which cuts printed commands and ARNs in two. Here text is never wrapped (``soft_wrap``) and, off a terminal,
tables get as many columns as they need. ``COLUMNS`` still wins when it is set.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from rich.console import Console

# Off a terminal: wide enough for any row we print (ARNs, S3 keys, commands), so nothing is cut or folded.
UNWRAPPED_WIDTH = 1000


def console(stderr: bool = False) -> Console:
    """A console for command output (``stderr`` for errors and progress)."""
    out = Console(stderr=stderr, soft_wrap=True)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = UNWRAPPED_WIDTH
    return out


def shown_path(path: Path, cwd: Path | None = None) -> str:
    """``path`` as the user can type it here: relative to ``cwd`` when inside it, else absolute.

    Symlinks are not resolved: ``.venv/bin/python`` is a link to the base interpreter, which has
    none of the venv's packages."""
    path = Path(os.path.abspath(path))
    cwd = Path(os.path.abspath(cwd or Path.cwd()))
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def python_command(explicit: bool = False, cwd: Path | None = None) -> str:
    """How to start the Python that runs ``strata`` (and so has Metaflow): ``python`` when that name on
    ``PATH`` is this interpreter and not ``explicit``, otherwise its path (``.venv/bin/python``)."""
    executable = os.path.abspath(sys.executable)
    if not explicit and (found := shutil.which("python")) and os.path.abspath(found) == executable:
        return "python"
    return shown_path(Path(executable), cwd)


def strata_command(explicit: bool = False, cwd: Path | None = None) -> str:
    """How to run this ``strata``: the script beside this interpreter (``.venv/bin/strata``), ``strata`` when
    that is what ``PATH`` finds and not ``explicit``, else ``python -m strata.cli``."""
    script = Path(os.path.abspath(sys.executable)).parent / "strata"
    if not script.exists():
        return f"{python_command(explicit, cwd)} -m strata.cli"
    if not explicit and (found := shutil.which("strata")) and os.path.abspath(found) == str(script):
        return "strata"
    return shown_path(script, cwd)


def platform_hint(command: str) -> str:
    """What to run when ``strata <command>`` needs the platform (a checkout of the Strata repository) and
    only the SDK is installed, or the platform without its development dependencies."""
    if command == "local":
        return (
            "the local cloud needs the Strata platform and its development dependencies (moto, Pulumi), not just the "
            "SDK. From a checkout of the Strata repository run `bash scripts/local-up.sh` (it creates .venv, installs "
            "everything and starts the local cloud), or `bash scripts/bootstrap.sh` and then `.venv/bin/strata local up`."
        )
    return (
        f"`strata {command}` is a platform command: it needs the Strata platform, not just the SDK. From a checkout "
        f"of the Strata repository run `bash scripts/bootstrap.sh`, then `.venv/bin/strata {command} ...`."
    )
