"""Print, as JSON, where each artifact of a Metaflow run is stored (run in the flow's environment).

Used by `strata local up` after the sample flow. The answer comes from Metaflow's own client API
(artifact sha + datastore root), and every object is then checked to exist in S3 with boto3, so it
shows what is really in the datastore, not what we assume the layout to be.
"""

import json
import os
import sys


def main(flow: str, run_id: str) -> None:
    import boto3
    from metaflow import Run, namespace

    s3 = boto3.client("s3", endpoint_url=os.environ.get("METAFLOW_S3_ENDPOINT_URL"))
    namespace(None)
    rows = []
    for step in Run(f"{flow}/{run_id}"):
        for task in step:
            for artifact in task.artifacts:
                if artifact.id.startswith("_"):
                    continue  # Metaflow's internal bookkeeping artifacts
                root = artifact._object["location"].removeprefix(":root:")
                # Metaflow's content-addressed store: <sysroot>/<flow>/data/<sha[:2]>/<sha>
                url = f"{root}/{flow}/data/{artifact.sha[:2]}/{artifact.sha}"
                bucket, key = url.removeprefix("s3://").split("/", 1)
                size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
                rows.append({"step": f"{step.id}/{task.id}", "name": artifact.id, "location": url, "bytes": size})
    json.dump(sorted(rows, key=lambda r: (r["step"], r["name"])), sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:3])
