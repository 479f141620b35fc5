"""`strata cost` (tools/cost_report.py) through the CLI on the real stacks: totals per layer, per team and shared that
add up, the marginal team measured, --teams N, the Kubernetes and serving layers priced, every price with its source,
the usage-priced items apart with their assumption, and clear errors. The program runs under echo mocks; the runs
are shared by the whole module (one per stack and team count)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tools import cost, cost_report
from tools.cost_usage import LAYERS

REPO = Path(__file__).resolve().parents[2]
ROWS = cost.price_table()


@pytest.fixture(scope="module")
def strata() -> Callable[..., Any]:
    """``strata(*args)``: the CLI's result; every invocation shares one set of program runs."""
    from strata.cli import app

    shared = cost_report.Declarations(REPO)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cost_report, "Declarations", lambda project_dir, runs=None: shared)

        def invoke(*args: str) -> Any:
            return CliRunner().invoke(app, ["cost", *args, "--project-dir", str(REPO)])

        yield invoke


@pytest.fixture(scope="module")
def report(strata) -> Callable[..., dict[str, Any]]:
    cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def get(*args: str) -> dict[str, Any]:
        if args not in cache:
            result = strata(*args, "--format", "json")
            assert result.exit_code == 0, result.output
            cache[args] = json.loads(result.stdout)  # nothing but the report on stdout
        return cache[args]

    return get


def test_per_layer_per_team_and_shared_totals_add_up_to_the_total(report):
    r = report("--stack", "prod")
    assert r["total"] == 383.42, "prod's idle total (docs/cost.md)"
    assert sum(x["monthly"] for x in r["lines"]) == pytest.approx(r["total"], abs=0.005)
    assert sum(x["monthly"] for x in r["layers"]) == pytest.approx(r["total"], abs=0.01)
    assert sum(r["per_team"].values()) + r["shared"] == pytest.approx(r["total"], abs=0.01)
    assert set(r["per_team"]) == set(r["teams"]) == {"forecasting", "fraud"}
    for team, monthly in r["per_team"].items():
        billed = [x for x in r["lines"] if x["team"] == team]
        assert round(sum(x["monthly"] for x in billed), 2) == monthly
        assert any(x["item"] == f"secret metadata-{team}-key" for x in billed), f"{team}: its API key's secret"
    shared = {x["resource"] for x in r["lines"] if x["team"] is None}
    assert {"metadata-ui-alb", "kubernetes-cluster", "network-nat"} <= shared
    assert [x["layer"] for x in r["layers"]] == [layer for layer in LAYERS if layer in {x["layer"] for x in r["layers"]}]
    assert {x["layer"] for x in r["layers"] if x["resources"]} == set(LAYERS), "prod declares every layer"


def test_one_more_team_is_the_measured_difference(report):
    base, plus = report("--stack", "prod"), report("--stack", "prod", "--teams", "3")
    more = base["one_more_team"]["monthly"]
    assert more > 0 and "measured" in base["one_more_team"]["note"]
    assert more == round(plus["total"] - base["total"], 2)
    # Not the sum of what a team is billed: one more team also moves shared lines (a serving alarm beyond the free 10).
    alarms = [x["monthly"] for r in (base, plus) for x in r["lines"] if x["item"].startswith("CloudWatch alarms")]
    assert alarms[1] > alarms[0]


def test_teams_n_prices_the_stack_with_n_teams(report):
    base, plus, one = (
        report("--stack", "prod"),
        report("--stack", "prod", "--teams", "3"),
        report("--stack", "prod", "--teams", "1"),
    )
    assert plus["teams"] == ["forecasting", "fraud", "extra-1"] and plus["synthetic_teams"] == ["extra-1"]
    assert plus["template_team"] == "forecasting"
    assert plus["per_team"]["extra-1"] == plus["per_team"]["forecasting"], "a synthetic team is a copy of the first"
    assert {x["resource"] for x in plus["lines"] if x["team"] == "extra-1"} >= {
        "metadata-extra-1-key",
        "kubernetes-extra-1",
        "serving-extra-1-server-mlserver",
    }
    assert one["teams"] == ["forecasting"] and one["synthetic_teams"] == [] and list(one["per_team"]) == ["forecasting"]
    # The total moves by what one more team costs, both ways.
    assert round(base["total"] - one["total"], 2) == one["one_more_team"]["monthly"] > 0
    assert round(plus["total"] - base["total"], 2) == base["one_more_team"]["monthly"]


def test_prod_prices_the_kubernetes_and_serving_layers(report):
    r = report("--stack", "prod")
    by_item = {x["item"]: x for x in r["lines"]}
    plane = by_item["EKS control plane kubernetes-cluster"]
    assert (plane["layer"], round(plane["monthly"], 2), plane["prices"][0]["row"]) == (
        "kubernetes",
        73.00,
        "EKS control plane (standard)",
    )
    nlb = by_item["NLB kubernetes-nlb"]
    assert (nlb["layer"], round(nlb["monthly"], 2), nlb["prices"][0]["row"]) == ("kubernetes", 16.43, "NLB")
    nodes = [x for x in r["lines"] if x["resource"] == "kubernetes-system"]
    assert len(nodes) == 2 and all(x["monthly"] > 0 for x in nodes), "the system nodes and their root volumes"
    derived = [p for x in nodes for p in x["prices"] if p["derived"]]
    assert [p["variant"] for p in derived] == ["t4g.medium"] and "EC2 t4g.nano" in derived[0]["derived"]
    layers = {x["layer"]: x for x in r["layers"]}
    assert layers["kubernetes"]["monthly"] == 141.68 and layers["serving"]["resources"] > 0
    servers = [x for x in r["lines"] if x["layer"] == "serving" and x["item"].startswith("Seldon Server")]
    assert {x["team"] for x in servers} == {"forecasting", "fraud"}
    assert any(x["team"] == "fraud" and x["resource"] == "kubernetes-fraud-gpu" for x in r["lines"])


def test_every_priced_line_names_its_row_and_source(report):
    r = report("--stack", "prod")
    assert r["prices"] == {
        "table": cost.PRICE_TABLE.name,
        "as_of": cost_report.prices_as_of(),
        "region": "us-east-1",
        "currency": "USD",
        "hours_per_month": 730,
    }
    priced = [x for x in r["lines"] if x["monthly"]]
    assert priced
    for line in priced:
        assert line["prices"], f"{line['item']}: no price named"
        for p in line["prices"]:
            row = ROWS[p["row"]]
            assert p["source"] == row.source and p["source"], f"{line['item']}: {p}"
            assert p["unit"] == row.unit and p["confirmed"] == row.confirmed
            assert p["derived"] or p["usd"] == row.usd(), f"{line['item']}: {p['usd']} is not the row's {row.price}"
    for line in r["lines"]:
        if not line["monthly"] and not line["prices"]:
            assert any(w in line["item"] for w in ("scales from zero", "0 replicas", "fit the", "UNPRICED")), line


def test_usage_items_are_apart_and_carry_their_assumption(report):
    r = report("--stack", "prod")
    assert not [x["item"] for x in r["lines"] if "usage:" in x["item"]], "usage lines belong to the usage section"
    items = {(u["layer"], u["item"]): u for u in r["usage"]}
    for key in [
        ("network", "NAT gateway data processed"),
        ("datastore", "S3 storage"),
        ("metadata", "REST API requests"),
        ("kubernetes", "EKS control-plane logs"),
        ("serving", "serving metrics EMF logs"),
        ("compute", "Batch instances while jobs run"),
    ]:
        assert key in items, f"no usage item {key}"
    for u in r["usage"]:
        assert u["assumption"].startswith("not estimated") and u["driver"] in u["assumption"], u
        assert u["resources"], u
        if u["row"] is None:
            assert u["price"] == "UNPRICED" and "UNPRICED" in u["assumption"], u
        else:
            assert (u["price"], u["source"]) == (ROWS[u["row"]].price, ROWS[u["row"]].source), u
            assert u["price"] in u["assumption"], u
    assert items[("serving", "serving custom metrics")]["row"] is None, "not in the table: never a guessed price"
    nat = items[("network", "NAT gateway data processed")]
    assert nat["assumption"].startswith("not estimated: $0.045 per GB")


def test_the_table_names_layers_teams_the_marginal_team_usage_and_the_price_date(strata, report):
    result = strata("--stack", "prod")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in (
        "Idle $/month per layer",
        "kubernetes",
        "serving",
        "one more team",
        f"+${report('--stack', 'prod')['one_more_team']['monthly']:.2f}/month",
        "Usage-priced items",
        "EKS control plane (standard)",
        "total: $383.42/month idle",
        f"compiled {cost_report.prices_as_of()}",
    ):
        assert expected in text, expected
    assert "running the program" not in text, "progress goes to stderr"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--stack", "prod", "--teams", "0"], 2, "--teams"),
        (["--stack", "prod", "--teams", "-1"], 2, "--teams"),
        (["--stack", "nope"], 1, "no stack file for stack 'nope'"),
        (["--stack", "dev", "--teams", "30"], 1, "cannot take 30 teams"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(strata, args, code, message):
    result = strata(*args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    if "30" in args:
        assert "AWS Batch allows" in result.output, "the limit that binds, and its fix"


def test_the_layers_are_the_modules():
    modules = {p.name for p in (REPO / "modules").iterdir() if (p / "__init__.py").exists() and p.name != "base"}
    assert set(LAYERS) == modules
