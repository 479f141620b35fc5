"""``strata serve``: a team's Metaflow model, served by Seldon Core v2 in the team's namespace, or by MLServer here.

The platform's side (modules/serving) gives every team namespace a Seldon ``Server`` named ``mlserver`` and an
rclone storage secret ``strata-s3-storage``; this package is the data scientist's side:

- :mod:`strata.serve.manifests`: pure naming, versioning, weights and rendering (Model, Experiment, model-settings);
- :mod:`strata.serve.team`: the team's profile (bucket, team, namespace, kube context);
- :mod:`strata.serve.artifact`: reading a model from a Metaflow run, as the team, in a child process;
- :mod:`strata.serve.store`: the versions in S3 (``teams/<team>/models/<NAME>/<VERSION>/``);
- :mod:`strata.serve.cluster`: apply, status, promote and rollback with the Kubernetes client;
- :mod:`strata.serve.local`: MLServer on 127.0.0.1 and the weighted router for an Experiment;
- :mod:`strata.serve.cli`: the typer commands.

Only the standard library, boto3, yaml and kubernetes are imported at module level: mlserver, httpx, joblib and
scikit-learn (the ``strata-sdk[serve]`` extra) are imported inside the commands that need them.
"""

SERVE_EXTRA_HINT = "install the serving extra: pip install 'strata-sdk[serve]'"
