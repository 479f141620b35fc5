"""How long the program takes to declare each stack, and to deploy the local stack into moto.

    .venv/bin/python benchmarks/deploy_time.py [--repeat 3]

Prints, per stack, the resources declared and the wall time with echo mocks (the program's own
cost), then the same for a real deployment of `local` into a fresh moto server (program + boto3 +
moto). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.engine import LocalEngine  # noqa: E402
from localcloud.plan import PlainMocks  # noqa: E402
from localcloud.runner import run_program  # noqa: E402
from localcloud.server import configure_moto, start_moto  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    print(f"{'run':28} {'resources':>9} {'median s':>9} {'ms/resource':>12}")
    for stack in ("local", "dev", "staging", "prod"):
        seconds, run = timed(lambda stack=stack: run_program(ROOT, stack, PlainMocks()), repeat)
        n = len(run.custom_resources())
        print(f"{'declare ' + stack + ' (echo mocks)':28} {n:9d} {seconds:9.2f} {1000 * seconds / n:12.1f}")
    seconds_list, n = [], 0
    for _ in range(repeat):
        server = start_moto()
        try:
            configure_moto(server.endpoint)
            start = time.perf_counter()
            run = run_program(ROOT, "local", LocalEngine(server.endpoint))
            seconds_list.append(time.perf_counter() - start)
            n = len(run.custom_resources())
        finally:
            server.stop()
    seconds = statistics.median(seconds_list)
    print(f"{'deploy local into moto':28} {n:9d} {seconds:9.2f} {1000 * seconds / n:12.1f}")


if __name__ == "__main__":
    main()
