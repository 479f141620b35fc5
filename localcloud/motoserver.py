"""The local cloud's moto server: ``python -m localcloud.motoserver -H HOST -p PORT``.

moto's own server, plus the local-cloud hooks that must live in its process: with
``STRATA_LOCAL_BATCH_JOBS=process`` (what :func:`localcloud.server.start_moto` sets by default), Batch
jobs run as local processes (:mod:`localcloud.jobs`) instead of being marked SUCCEEDED unrun.
"""

from __future__ import annotations

import logging
import os
import sys

from moto.server import main as moto_main

from localcloud import jobs, sfn


def _arg(argv: list[str], flag: str, default: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv else default


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if os.environ.get("STRATA_LOCAL_BATCH_JOBS", "process") == "process":
        endpoint = f"http://{_arg(argv, '-H', '127.0.0.1')}:{_arg(argv, '-p', os.environ.get('MOTO_PORT', '5000'))}"
        jobs.install(endpoint, os.environ.get("STRATA_LOCAL_JOB_DIR") or None)
    sfn.install()  # only used when the server is configured with stepfunctions.execute_state_machine
    moto_main(argv)


if __name__ == "__main__":
    main()
