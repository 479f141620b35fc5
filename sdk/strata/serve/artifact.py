"""Reading a model out of a Metaflow run, as the team, into ``model.joblib``.

Metaflow reads its profile once, when it is imported: one process cannot read runs with two profiles. So the run
is read in a child process (``python -m strata.serve.artifact``) started with ``METAFLOW_PROFILE`` set to the team's
profile, in the caller's directory (Metaflow's local metadata is found from there). The child refuses, before it
reads any data:

- a run that does not exist, did not finish successfully, or lacks the artifact;
- a run of another team: the datastore root its tasks recorded (``ds-root``) is not the profile's
  ``METAFLOW_DATASTORE_SYSROOT_S3`` (``s3://<bucket>/teams/<team>/metaflow``). Metaflow records no team tag on runs,
  but every team has its own datastore prefix (and IAM keeps each team's role inside its own);

and, after reading it, an artifact MLServer's scikit-learn runtime cannot serve: no callable ``predict``, an
unfitted scikit-learn estimator, or an object joblib cannot dump. It writes ``model.joblib`` and ``result.json``
into the output directory; nothing is uploaded here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.serve.manifests import ARTIFACT_FILE, ServeProblem
from strata.serve.team import Team

RESULT_FILE = "result.json"
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Fetched:
    path: Path  # model.joblib
    pathspec: str
    artifact: str
    kind: str  # the model's class, e.g. sklearn.linear_model._logistic.LogisticRegression


# (team, FLOW/RUN_ID, artifact name, output directory) -> Fetched; tests inject their own.
Fetcher = Callable[[Team, str, str, Path], Fetched]


def check_pathspec(pathspec: str) -> None:
    flow, sep, run = pathspec.partition("/")
    if not (flow and sep and run) or "/" in run:
        raise ServeProblem(f"--run {pathspec!r}: give FLOW/RUN_ID, e.g. --run TrainFlow/1733492811123456")


def model_problem(obj: Any, artifact: str) -> str | None:
    """Why MLServer's scikit-learn runtime (``mlserver_sklearn.SKLearnModel``: joblib.load, then ``predict``) cannot
    serve ``obj``, or None."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if not callable(getattr(obj, "predict", None)):
        return (
            f"artifact {artifact!r} is a {kind}, not a model: MLServer's scikit-learn runtime calls its predict(); store "
            "the fitted estimator itself (e.g. self.model = LogisticRegression().fit(X, y)) or pass --artifact"
        )
    try:
        from sklearn.base import BaseEstimator  # type: ignore[import-untyped]
        from sklearn.exceptions import NotFittedError  # type: ignore[import-untyped]
        from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]
    except ImportError:  # not a scikit-learn environment: nothing more to check
        return None
    if isinstance(obj, BaseEstimator):
        try:
            check_is_fitted(obj)
        except NotFittedError:
            return f"artifact {artifact!r} is an unfitted {kind}: call fit() in the flow before storing it"
    return None


def dump(obj: Any, artifact: str, out: Path) -> Path:
    """``obj`` as ``out/model.joblib``; a ServeProblem when joblib cannot pickle it (nothing is left behind)."""
    import joblib  # type: ignore[import-untyped]

    path = out / ARTIFACT_FILE
    try:
        joblib.dump(obj, path)
    except Exception as exc:  # pickling runs arbitrary __reduce__ code: any error means "cannot store it"
        path.unlink(missing_ok=True)
        raise ServeProblem(f"artifact {artifact!r} cannot be saved with joblib ({type(exc).__name__}: {exc})") from None
    return path


def kind_of(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


# ---------------------------------------------------------------- the child process


def _read_run(pathspec: str, artifact: str, expected_root: str, out: Path) -> dict[str, Any]:
    from metaflow import Run, namespace
    from metaflow.exception import MetaflowNamespaceMismatch, MetaflowNotFound

    namespace(None)  # any user's run of this team: the datastore check below decides
    try:
        run = Run(pathspec)
    except (MetaflowNotFound, MetaflowNamespaceMismatch):
        return {"problem": f"no run {pathspec} in this profile's metadata: check --run (FLOW/RUN_ID) and METAFLOW_PROFILE"}
    if not run.successful:
        return {"problem": f"run {pathspec} has not finished successfully: deploy a successful run"}
    task = run.end_task
    if task is None:
        return {"problem": f"run {pathspec} has no end step: deploy a successful run"}
    root = (task.metadata_dict.get("ds-root") or "").rstrip("/")
    if root != expected_root.rstrip("/"):
        return {
            "problem": (
                f"run {pathspec} belongs to another team (its datastore is {root or 'unknown'}, yours is {expected_root}): "
                "deploy your own team's runs, or ask that team to deploy it"
            )
        }
    names = {a.id for a in task}
    if artifact not in names:
        shown = ", ".join(sorted(n for n in names if not n.startswith("_"))) or "none"
        return {"problem": f"run {pathspec} has no artifact {artifact!r} (its artifacts: {shown}): pass --artifact NAME"}
    obj = task[artifact].data
    if problem := model_problem(obj, artifact):
        return {"problem": problem}
    try:
        dump(obj, artifact, out)
    except ServeProblem as exc:
        return {"problem": str(exc)}
    return {"kind": kind_of(obj)}


def _child_main(argv: list[str]) -> int:
    pathspec, artifact, expected_root, out = argv
    result = _read_run(pathspec, artifact, expected_root, Path(out))
    (Path(out) / RESULT_FILE).write_text(json.dumps(result))
    return 0


def fetch(team: Team, pathspec: str, artifact: str, out: Path) -> Fetched:
    """Read ``artifact`` of run ``pathspec`` with ``team``'s profile into ``out/model.joblib`` (child process)."""
    check_pathspec(pathspec)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT_FILE).unlink(missing_ok=True)
    env = {**os.environ, "METAFLOW_PROFILE": team.profile}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "strata.serve.artifact", pathspec, artifact, team.datastore_root, str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise ServeProblem(f"reading run {pathspec} took over {TIMEOUT_SECONDS} s: is the datastore reachable?") from None
    result_path = out / RESULT_FILE
    if proc.returncode != 0 or not result_path.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ServeProblem(f"Metaflow could not read run {pathspec} with profile {team.profile}:\n{tail}")
    result = json.loads(result_path.read_text())
    result_path.unlink()
    if "problem" in result:
        raise ServeProblem(result["problem"])
    return Fetched(path=out / ARTIFACT_FILE, pathspec=pathspec, artifact=artifact, kind=result["kind"])


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
