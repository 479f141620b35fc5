"""The local cloud's moto server: ``python -m localcloud.motoserver -H HOST -p PORT``.

moto's own server, plus the local-cloud hooks that must live in its process: with
``STRATA_LOCAL_BATCH_JOBS=process`` (what :func:`localcloud.server.start_moto` sets by default), Batch
jobs run as local processes (:mod:`localcloud.jobs`) instead of being marked SUCCEEDED unrun.

Jobs run under ``STRATA_LOCAL_JOB_DIR`` (``start_moto`` sets it; `strata local up` keeps it in .strata/local/).
Without it they get a temporary directory that the server removes when it stops (SIGTERM, Ctrl-C), so a
server started by hand or by scripts/test.sh leaves nothing behind in /tmp.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from moto.server import main as moto_main

from localcloud import jobs, sfn


def _arg(argv: list[str], flag: str, default: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv else default


def _job_dir() -> Path:
    given = os.environ.get("STRATA_LOCAL_JOB_DIR")
    if given:
        return Path(given)
    scratch = Path(tempfile.mkdtemp(prefix="strata-batch-jobs-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    # SIGTERM (how start_moto, `strata local down` and test.sh stop the server) ends the process without
    # running atexit handlers; as SystemExit it unwinds normally and they run.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    return scratch


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if os.environ.get("STRATA_LOCAL_BATCH_JOBS", "process") == "process":
        endpoint = f"http://{_arg(argv, '-H', '127.0.0.1')}:{_arg(argv, '-p', os.environ.get('MOTO_PORT', '5000'))}"
        jobs.install(endpoint, _job_dir())
    sfn.install()  # only used when the server is configured with stepfunctions.execute_state_machine
    moto_main(argv)


if __name__ == "__main__":
    main()
