"""The serving signals on the dashboard and in the alarms (modules/observability with ServingSignals)."""

from __future__ import annotations

import json

from core import naming
from modules.observability import alarms, dashboard
from modules.observability.settings import AlarmThresholds
from modules.observability.signals import (
    SERVING_ERRORS,
    SERVING_METRICS_NAMESPACE,
    ServingSignals,
    Signals,
    TeamSignals,
)

SERVING = ServingSignals(cluster="strata-staging", namespaces=(("fraud", "fraud-ml"), ("recs", "recs")), error_threshold=7)


def signals(serving: ServingSignals | None = SERVING) -> Signals[str]:
    teams = tuple(TeamSignals(team=t, queues=(), failed_jobs_rule=f"rule-{t}") for t in ("fraud", "recs"))
    return Signals(environment="staging", region="us-east-1", teams=teams, serving=serving)


def test_each_team_gets_an_errors_alarm_on_its_own_namespace():
    specs = {s.key: s for s in alarms.alarm_specs(signals(), AlarmThresholds())}
    fraud = specs["fraud-serving-errors"]
    assert fraud.name == naming.alarm("staging", "fraud-serving-errors") and fraud.team == "fraud"
    assert (fraud.namespace, fraud.metric) == (SERVING_METRICS_NAMESPACE, SERVING_ERRORS)
    assert fraud.dimensions == {"ClusterName": "strata-staging", "Namespace": "fraud-ml"}
    assert (fraud.threshold, fraud.period, fraud.treat_missing_data) == (7, 300, "notBreaching")
    assert specs["recs-serving-errors"].dimensions["Namespace"] == "recs"
    assert not [k for k in (s.key for s in alarms.alarm_specs(signals(None), AlarmThresholds())) if "serving" in k]


def test_the_dashboard_shows_requests_errors_and_latency_per_team_and_model():
    body = dashboard.dashboard_body(signals())
    titles = [w["properties"].get("title", "") for w in body["widgets"] if w["type"] == "metric"]
    for team in ("fraud", "recs"):
        for what in (
            "requests per model",
            "failed requests (5xx) per model",
            "seconds in inference per model",
            "mean latency (s)",
        ):
            assert f"{team}: {what}" in titles, titles
    text = json.dumps(body)
    assert 'Namespace=\\"fraud-ml\\"' in text and SERVING_ERRORS in text
    assert "not deployed" in json.dumps(dashboard.dashboard_body(signals(None)))
