"""Local serving figures: MLServer's start-up time and V2 inference latency, directly and through the experiment router.

    .venv/bin/python benchmarks/serving.py [--requests 1000] [--starts 3]

What `strata serve local` runs, without Metaflow or S3: a LogisticRegression (4 features, 3 classes, like
examples/flows/train_flow.py) dumped with joblib into an MLServer repository (strata.serve.local), `mlserver start`
as a child process (parallel_workers 0, 127.0.0.1). Start-up = from spawning the process until the model answers
ready (the figure a data scientist waits for after the artifact is downloaded), over ``--starts`` starts. Latency =
wall time of one single-row V2 request from a keep-alive httpx client, over ``--requests`` requests, after 20 warm-up
requests; then the same through the weighted router (two versions, 80/20) of `strata serve local --experiment`.
Figures only; nothing is asserted. The machine's load average is printed: on a shared machine the figures follow it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import joblib
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from strata.serve import local
from strata.serve.manifests import model_settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latencies(url: str, body: dict, n: int) -> list[float]:
    out = []
    with httpx.Client() as client:
        for _ in range(20):
            client.post(url, json=body).raise_for_status()
        for _ in range(n):
            start = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
    return out


def summary(label: str, ms: list[float]) -> str:
    return f"{label}: p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms, mean {statistics.mean(ms):.2f} ms (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

    X, y = make_classification(n_samples=500, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=7)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    body = {"inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64", "data": X[0].tolist()}]}
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory(prefix="strata-bench-serving-") as work:
        root = Path(work)
        joblib.dump(model, root / "model.joblib")
        for version in (1, 2):
            local.place_model(root, f"iris-v{version}", root / "model.joblib", model_settings("iris", version))
        (root / "model.joblib").unlink()
        starts = []
        for _ in range(args.starts):
            server = local.MLServer(root, local.free_port(), ["iris-v1", "iris-v2"]).start()
            try:
                starts.append(server.wait_ready())
            finally:
                server.stop()
        print(
            f"MLServer start-up (spawn -> both models ready): {', '.join(f'{s:.2f}' for s in starts)} s; median {statistics.median(starts):.2f} s"
        )

        server = local.MLServer(root, local.free_port(), ["iris-v1", "iris-v2"]).start()
        router = None
        try:
            server.wait_ready()
            direct = latencies(local.infer_url("iris-v1", server.port), body, args.requests)
            print(summary("direct V2 request to MLServer", direct))
            router = local.Router("iris", local.free_port(), server.port, local.Split({"iris-v1": 80, "iris-v2": 20})).start()
            routed = latencies(local.infer_url("iris", router.port), body, args.requests)
            print(summary("through the 80/20 experiment router", routed))
        finally:
            if router is not None:
                router.stop()
            server.stop()
    print(json.dumps({"starts_s": starts}))


if __name__ == "__main__":
    main()
