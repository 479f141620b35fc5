"""A data scientist's first flow on Strata: fan out over regions, fit a tiny model per region, join.

Run it against your team's profile:

    METAFLOW_PROFILE=dev-fraud python foreach_flow.py run              # local compute, S3 datastore
    METAFLOW_PROFILE=dev-fraud python foreach_flow.py run --with batch # on your team's Batch queue

Only the standard library is used, so it runs in the default Batch image unchanged.
"""

import random
import statistics

from metaflow import FlowSpec, Parameter, step


class RegionForecastFlow(FlowSpec):
    """Fits a least-squares trend per region (a stand-in for "one model per country")."""

    regions = Parameter("regions", default="emea,apac,amer", help="Comma-separated regions to model.")
    points = Parameter("points", default=50, type=int, help="Synthetic observations per region.")

    @step
    def start(self):
        self.region_list = [r.strip() for r in self.regions.split(",") if r.strip()]
        self.next(self.fit, foreach="region_list")

    @step
    def fit(self):
        self.region = self.input
        rng = random.Random(self.region)
        xs = list(range(self.points))
        ys = [3.0 * x + 10 + rng.gauss(0, 5) for x in xs]
        slope, intercept = statistics.linear_regression(xs, ys)
        self.model = {"region": self.region, "slope": round(slope, 3), "intercept": round(intercept, 3)}
        self.next(self.join)

    @step
    def join(self, inputs):
        self.models = {i.model["region"]: i.model for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        for region, model in sorted(self.models.items()):
            print(f"{region}: y = {model['slope']} x + {model['intercept']}")


if __name__ == "__main__":
    RegionForecastFlow()
