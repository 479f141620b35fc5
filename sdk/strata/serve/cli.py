"""``strata serve ...``: deploy a Metaflow run's model to the team's Seldon server, canary it, and serve it here.

Every refusal is a one-line ``error:`` naming the fix, exit code 1, and nothing written (all checks run before the
upload). The cluster, S3 and the Metaflow reader are reached through ``deps`` so that tests can substitute them.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from strata.output import console
from strata.serve import artifact, cluster, deploy, local, store
from strata.serve import team as teams
from strata.serve.manifests import ServeProblem, experiment_versions, model_name, model_settings

app = typer.Typer(
    help="Serve your team's models: Seldon Core v2 in your team's namespace, or MLServer on this machine.",
    no_args_is_help=True,
)
err = console(stderr=True)
out = console()


@dataclass
class Deps:
    """What the commands talk to; tests replace these (there is no API server here)."""

    s3: Any = store.s3_client
    connect: Any = cluster.connect
    fetcher: Any = artifact.fetch


deps = Deps()

ENV_OPTION = typer.Option(None, "--env", "-e", help="Environment (default: from METAFLOW_PROFILE).")
TEAM_OPTION = typer.Option(None, "--team", "-t", help="Your team (default: from METAFLOW_PROFILE).")


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


def _cluster(team: teams.Team) -> cluster.Cluster:
    target = team.target()
    return cluster.Cluster(deps.connect(team), target.namespace)


@app.command("deploy")
def deploy_command(
    name: str = typer.Argument(..., help="The model's name (a Kubernetes name, e.g. iris); versions are NAME-v1, NAME-v2..."),
    run: str = typer.Option(..., "--run", "-r", help="The Metaflow run holding the model: FLOW/RUN_ID."),
    artifact_name: str = typer.Option("model", "--artifact", "-a", help="The run's artifact to serve."),
    canary_weight: int = typer.Option(
        None,
        "--canary-weight",
        "-w",
        help="Canary: percent of requests (1-99) for the new version; the rest stay on the current one.",
    ),
    env: str = ENV_OPTION,
    team: str = TEAM_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Write the manifests to -o DIR instead of applying them."),
    output: Path = typer.Option(None, "--output", "-o", help="With --dry-run: the directory for the manifests (one YAML each)."),
) -> None:
    """Upload the run's model as the next version and deploy it (with --canary-weight: beside the current version).

    --dry-run still uploads the version to S3 (so that applying the written manifests later finds it)."""
    try:
        deploy.check_output_dir(output, dry_run)
        who = teams.load(env, team)
        where = None if dry_run else _cluster(who)
        s3 = deps.s3()
        with tempfile.TemporaryDirectory(prefix="strata-serve-") as work:
            planned = deploy.plan(who, name, run, artifact_name, canary_weight, s3, deps.fetcher, Path(work), where)
            done = deploy.execute(planned, s3, out=output if dry_run else None, cluster=where)
    except ServeProblem as exc:
        raise _fail(exc) from None
    for line in done:
        out.print(line, highlight=False, markup=False)
    if dry_run:
        out.print(f"dry run: nothing applied; apply later with `kubectl apply -n {who.namespace} -f {output}`", highlight=False)


@app.command("status")
def status_command(
    name: str = typer.Argument(..., help="The model's name."), env: str = ENV_OPTION, team: str = TEAM_OPTION
) -> None:
    """The versions of NAME in your team's namespace, their readiness and canary weights."""
    try:
        who = teams.load(env, team)
        where = _cluster(who)
        rows = cluster.status(where, name)
    except ServeProblem as exc:
        raise _fail(exc) from None
    if not rows:
        out.print(f"no version of {name!r} in namespace {where.namespace}", highlight=False)
        return
    table = Table(caption=f"namespace {where.namespace}")
    for column in ("model", "version", "ready", "weight", "storageUri", "message"):
        table.add_column(column)
    for row in rows:
        weight = "-" if row.weight is None else f"{row.weight}%"
        table.add_row(row.model, str(row.version), row.ready, weight, row.storage_uri, row.message)
    out.print(table)


@app.command("promote")
def promote_command(
    name: str = typer.Argument(..., help="The model's name."), env: str = ENV_OPTION, team: str = TEAM_OPTION
) -> None:
    """End the canary: the new version serves everything; the Experiment and the old version's Model are deleted."""
    try:
        done = cluster.promote(_cluster(teams.load(env, team)), name)
    except ServeProblem as exc:
        raise _fail(exc) from None
    for line in done:
        out.print(line, highlight=False, markup=False)


@app.command("rollback")
def rollback_command(
    name: str = typer.Argument(..., help="The model's name."), env: str = ENV_OPTION, team: str = TEAM_OPTION
) -> None:
    """End the canary: delete the Experiment and the candidate's Model; the current version serves everything."""
    try:
        done = cluster.rollback(_cluster(teams.load(env, team)), name)
    except ServeProblem as exc:
        raise _fail(exc) from None
    for line in done:
        out.print(line, highlight=False, markup=False)


def _prepare_local(
    who: teams.Team, name: str, run: str | None, artifact_name: str, version: int | None, experiment: Path | None, root: Path
) -> tuple[list[str], dict[str, int] | None]:
    """Fill MLServer's repository ``root``; (the models it serves, the experiment's weights by model or None)."""
    given = [x for x in (run, version, experiment) if x is not None]
    if len(given) != 1:
        raise ServeProblem("say what to serve: exactly one of --run FLOW/RUN_ID, --version N or --experiment DIR")
    if run is not None:
        fetched = deps.fetcher(who, run, artifact_name, root / "_fetched")
        local.place_model(root, name, fetched.path, model_settings(name, 1))
        return [name], None
    s3 = deps.s3()
    if version is not None:
        settings = store.download(s3, who.bucket, who.team, name, version, root / "_download")
        local.place_model(root, name, root / "_download" / "model.joblib", settings)
        return [name], None
    assert experiment is not None
    docs = [d for d in deploy.read_manifests(experiment) if d["kind"] == "Experiment" and d["metadata"]["name"] == name]
    if not docs:
        raise ServeProblem(
            f"no Experiment {name!r} in {experiment}: write one with `strata serve deploy {name} --canary-weight W --dry-run -o DIR`"
        )
    _, _, weights = experiment_versions(name, docs[0])
    models = {}
    for v, weight in weights.items():
        model = model_name(name, v)
        settings = store.download(s3, who.bucket, who.team, name, v, root / "_download" / str(v))
        local.place_model(root, model, root / "_download" / str(v) / "model.joblib", settings)
        models[model] = weight
    return list(models), models


@app.command("local")
def local_command(
    name: str = typer.Argument(..., help="The model's name: served at /v2/models/NAME/infer."),
    run: str = typer.Option(None, "--run", "-r", help="Serve the model of this Metaflow run (FLOW/RUN_ID)."),
    artifact_name: str = typer.Option("model", "--artifact", "-a", help="The run's artifact to serve."),
    version: int = typer.Option(None, "--version", "-v", help="Serve this deployed version from S3 instead."),
    experiment: Path = typer.Option(
        None,
        "--experiment",
        help="Serve both versions of the Experiment in DIR (from deploy --dry-run -o DIR) behind its weights.",
    ),
    port: int = typer.Option(local.DEFAULT_PORT, "--port", "-p", help="The port on 127.0.0.1."),
    env: str = ENV_OPTION,
    team: str = TEAM_OPTION,
) -> None:
    """Serve the model with MLServer on 127.0.0.1 until Ctrl-C (V2 protocol)."""
    try:
        local.require_serve_extra()
        local.check_port_free(port)
        who = teams.load(env, team)
        # MLServer is stopped inside the block: its repository (the temporary directory) outlives it.
        with tempfile.TemporaryDirectory(prefix="strata-serve-local-") as work, local.sigterm_as_interrupt():
            _serve_until_stopped(who, name, run, artifact_name, version, experiment, port, Path(work))
    except KeyboardInterrupt:
        err.print("stopped MLServer", highlight=False)
    except ServeProblem as exc:
        raise _fail(exc) from None


def _serve_until_stopped(
    who: teams.Team,
    name: str,
    run: str | None,
    artifact_name: str,
    version: int | None,
    experiment: Path | None,
    port: int,
    root: Path,
) -> None:
    server: local.MLServer | None = None
    router: local.Router | None = None
    try:
        models, weights = _prepare_local(who, name, run, artifact_name, version, experiment, root)
        mlserver_port = local.free_port() if weights else port
        server = local.MLServer(root, mlserver_port, models).start()
        err.print(f"starting MLServer for {', '.join(models)} (log: {root / local.LOG_FILE})", highlight=False, markup=False)
        ready = server.wait_ready()
        if weights:
            router = local.Router(name, port, mlserver_port, local.Split(weights)).start()
            shares = ", ".join(f"{m} {w}%" for m, w in weights.items())
            err.print(f"experiment router on port {port}: {shares}", highlight=False)
        out.print(f"ready in {ready:.1f} s: {local.infer_url(name, port)}", highlight=False)
        out.print("stop with Ctrl-C", highlight=False)
        assert server.process is not None
        code = server.process.wait()
        raise ServeProblem(f"MLServer stopped by itself (exit {code}):\n{server.log_tail()}")
    finally:
        if router is not None:
            router.stop()
        if server is not None:
            server.stop()


@app.command("predict")
def predict_command(
    name: str = typer.Argument(..., help="The model's name."),
    data: Path = typer.Option(
        ..., "--data", "-d", help="A JSON file: a V2 request body ({'inputs': [...]}) or a list of rows of numbers."
    ),
    url: str = typer.Option(
        None, "--url", "-u", help=f"The V2 infer URL (default: {local.infer_url('NAME', local.DEFAULT_PORT)})."
    ),
) -> None:
    """Send a V2 inference request and print the outputs (as JSON: name -> rows)."""
    try:
        try:
            payload = json.loads(data.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ServeProblem(f"cannot read {data} as JSON: {exc}") from None
        body = local.v2_request(payload)
        response = local.infer(url or local.infer_url(name, local.DEFAULT_PORT), body)
    except ServeProblem as exc:
        raise _fail(exc) from None
    out.print_json(json.dumps({"model_name": response.get("model_name"), "outputs": local.outputs(response)}))
