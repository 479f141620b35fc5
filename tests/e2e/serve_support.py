"""Helpers of tests/e2e/test_serve.py: the Seldon CRD validator (shared with the unit tests) and reading a child's
output until a line appears."""

from __future__ import annotations

import importlib.util
import subprocess
import threading
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("seldon_crds_e2e", Path(__file__).resolve().parents[1] / "unit" / "seldon_crds.py")
assert _spec is not None and _spec.loader is not None
_crds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_crds)
crd_errors = _crds.crd_errors


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float) -> str:
    """The first stdout line of ``proc`` containing ``needle``; fails (and kills ``proc``) after ``timeout`` seconds or
    when the process ends first."""
    found: list[str] = []
    seen: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if needle in line:
                found.append(line.strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not found and time.monotonic() < deadline and (reader.is_alive() or proc.poll() is None):
        reader.join(0.2)
        if not reader.is_alive():
            break
    if not found:
        proc.kill()
        _, stderr = proc.communicate(timeout=30)
        raise AssertionError(f"no {needle!r} line after {timeout} s; stdout:\n{''.join(seen)}\nstderr:\n{stderr[-3000:]}")
    return found[0]
