"""The local stack deployed into a moto server of the test module's own, as `strata local up` deploys it: shared by
the end-to-end modules that need a whole stack (test_step_functions, test_argo_workflows, test_serve)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi.runtime import config as pulumi_config
from rich.console import Console

from localcloud import session
from localcloud.server import configure_moto, start_moto

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@contextmanager
def deployed_local_stack(tmp_path_factory: Any, label: str, teams: Iterable[str]) -> Iterator[dict[str, Any]]:
    """``{"server", "paths", "env", "outputs"}`` of the local stack in a new moto server, with every team's profile
    written; ``teams`` must be among the stack's. The server stops on exit."""
    server = start_moto()
    try:
        configure_moto(server.endpoint)
        paths = session.paths_for(REPO, tmp_path_factory.mktemp(label))
        paths.root.mkdir(parents=True, exist_ok=True)
        before = dict(pulumi_config.CONFIG.get())
        try:
            run, _ = session.deploy(REPO, server.endpoint, REGION, Console(file=io.StringIO()))
        finally:
            # The in-process program run leaves the stack's config (e.g. aws:defaultTags) in Pulumi's runtime,
            # where later tests in this process would read it: put back what was there.
            pulumi_config.CONFIG.set(before)
        written = session.write_profiles(paths, run.outputs)
        assert set(teams) <= set(written), f"the local stack must have teams {sorted(teams)}, has {written}"
        env = session.cloud_env(server.endpoint, REGION, paths)
        yield {"server": server, "paths": paths, "env": env, "outputs": run.outputs}
    finally:
        server.stop()
