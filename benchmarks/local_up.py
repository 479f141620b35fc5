"""How long `strata local up` takes, phase by phase, run as a user runs it (warm: .venv installed, no server running).

    .venv/bin/python benchmarks/local_up.py [--runs 3] [--cold] [-- <extra `strata local up` arguments>]

Each run starts `.venv/bin/strata local up --state-dir <tmp>` as a subprocess, reads the "phases:" line that
`up` prints last (start moto, deploy, batch flow, step functions flow: the two flows run at the same time),
measures the wall time and the CPU time it cost (the CLI and its Metaflow processes, plus the moto server and
its Batch jobs, read from /proc before `strata local down` stops it), then runs `strata local down`. The load
average is printed too: on a shared machine the wall time follows the other work, the CPU time much less.

Runs share one state directory, so from the second run on the jobs' bytecode cache (jobs/pycache, which
`down` keeps) is warm, as it is for a user's second `up`; ``--cold`` gives each run a fresh directory.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATA = Path(sys.executable).parent / "strata"
PHASE = re.compile(r"([a-z][a-z ]*?) (\d+(?:\.\d+)?) s")


def parse_phases(output: str) -> dict[str, float]:
    """``phases: start moto 0.4 s, deploy 6.1 s, ...; total 30.2 s`` -> ``{"start moto": 0.4, ...}``."""
    line = next((line for line in reversed(output.splitlines()) if line.startswith("phases: ")), None)
    if line is None:
        raise SystemExit(f"`strata local up` printed no phases line:\n{output[-3000:]}")
    return {name: float(seconds) for name, seconds in PHASE.findall(line.removeprefix("phases: "))}


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and of the children it has waited for (the server's Batch jobs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] here is field 3.
    return sum(int(v) for v in fields[11:15]) / ticks


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(state: Path, extra: list[str]) -> dict[str, float]:
    env = {**os.environ, "COLUMNS": "200"}
    cpu_before = children_cpu_seconds()
    start = time.perf_counter()
    proc = subprocess.run(
        [str(STRATA), "local", "up", "--state-dir", str(state), *extra], cwd=ROOT, env=env, text=True, capture_output=True
    )
    wall = time.perf_counter() - start
    cli_cpu = children_cpu_seconds() - cpu_before
    server = json.loads((state / "server.json").read_text()) if (state / "server.json").exists() else None
    server_cpu = process_cpu_seconds(int(server["pid"])) if server else 0.0
    subprocess.run([str(STRATA), "local", "down", "--state-dir", str(state)], cwd=ROOT, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"`strata local up` failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    phases = parse_phases(proc.stdout)
    return {**phases, "wall": wall, "cpu: CLI + Metaflow": cli_cpu, "cpu: moto + jobs": server_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="a fresh state directory (cold bytecode cache) for every run")
    parser.add_argument("extra", nargs="*", help="more `strata local up` arguments (after --)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    results = []
    with tempfile.TemporaryDirectory(prefix="strata-bench-local-up-") as tmp:
        for i in range(args.runs):
            state = Path(tmp) / (f"run-{i}" if args.cold else "state")
            result = one_run(state, args.extra)
            results.append(result)
            shown = ", ".join(f"{k} {v:.1f} s" for k, v in result.items())
            print(f"run {i + 1}: {shown} (load {os.getloadavg()[0]:.2f})", flush=True)
    if len(results) > 1:
        medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print("median: " + ", ".join(f"{k} {v:.1f} s" for k, v in medians.items()))


if __name__ == "__main__":
    main()
