"""A flow that runs every day on AWS Step Functions, on a schedule EventBridge keeps.

Deploy it with your team's profile (it is then named ``<your team's prefix>_DailyRefreshFlow``):

    METAFLOW_PROFILE=dev-fraud python scheduled_flow.py step-functions create   # state machine + daily rule
    METAFLOW_PROFILE=dev-fraud python scheduled_flow.py step-functions trigger  # one run now, without waiting
    METAFLOW_PROFILE=dev-fraud python scheduled_flow.py run                     # or run it here, once

``@schedule`` does nothing for a local ``run``; ``step-functions create`` turns it into an EventBridge rule
(``cron(0 0 * * ? *)``, midnight UTC) that starts the state machine with your team's schedule role.
Only the standard library is used, so it runs in the default Batch image unchanged.
"""

import datetime
import statistics

from metaflow import FlowSpec, Parameter, schedule, step


@schedule(daily=True)
class DailyRefreshFlow(FlowSpec):
    """Recomputes a daily summary (a stand-in for a nightly feature or model refresh)."""

    window = Parameter("window", default=7, type=int, help="Days of history the summary covers.")

    @step
    def start(self):
        today = datetime.date.today()
        self.days = [(today - datetime.timedelta(days=d)).isoformat() for d in range(self.window)]
        self.next(self.summarise)

    @step
    def summarise(self):
        # Deterministic stand-in data: one value per day.
        values = [sum(map(int, day.replace("-", ""))) for day in self.days]
        self.summary = {"days": len(values), "mean": round(statistics.fmean(values), 3)}
        self.next(self.end)

    @step
    def end(self):
        print(f"summary over {self.summary['days']} days: mean {self.summary['mean']}")


if __name__ == "__main__":
    DailyRefreshFlow()
