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

LOG_GROUP = naming.serving_metrics_log_group("staging")
SERVING = ServingSignals(
    cluster="strata-staging", namespaces=(("fraud", "fraud-ml"), ("recs", "recs")), error_threshold=7, log_group=LOG_GROUP
)


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


def test_each_team_sees_latency_per_model_from_its_own_namespace_only():
    body = dashboard.dashboard_body(signals())
    tables = {w["properties"]["title"]: w for w in body["widgets"] if w["type"] == "log"}
    assert set(tables) == {"fraud: latency per model", "recs: latency per model"}, tables
    fraud = tables["fraud: latency per model"]["properties"]
    assert fraud["query"].startswith(f"SOURCE '{LOG_GROUP}' | ")
    assert "filter Namespace = 'fraud-ml'" in fraud["query"] and "'recs'" not in fraud["query"]
    assert "mean_latency_ms by model" in fraud["query"] and fraud["view"] == "table"
    assert tables["fraud: latency per model"]["width"] == 24


def test_the_latency_query_reads_the_fields_the_collector_writes():
    """The query's fields are the metric names and the model label the collector's EMF declarations emit into the
    log group the serving layer creates: a rename on either side fails here."""
    from modules.serving import metrics

    query = dashboard.per_model_latency_query("fraud-ml")
    emitted = {m.strip("^$") for d in metrics.metric_declarations() for m in d["metric_selectors"]}
    for field in (metrics.REQUESTS, metrics.ERRORS, metrics.SECONDS):
        assert field in emitted and f"sum({field})" in query
    assert all(metrics.MODEL_DIMENSION in d["dimensions"][0] for d in metrics.metric_declarations())
    assert f"by {metrics.MODEL_DIMENSION}" in query
    assert naming.serving_metrics_log_group("staging") == LOG_GROUP
