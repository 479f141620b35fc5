"""The cost model's prices come from the vendored, dated and sourced table tools/prices/aws-prices-us-east-1.md:
every entry of tools/prices/aws-prices-us-east-1.yaml (what tools/cost.py reads) must match its row there,
and the reference blueprint's idle bill is recomputed from the table's line items, never typed in."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tools import cost

REPO = Path(__file__).resolve().parents[2]
ROWS = cost.price_table()
ENTRIES = cost.price_file().prices


def entry_id(entry: cost.PriceEntry) -> str:
    return f"{entry.key}[{entry.variant}]" if entry.variant else entry.key


def test_the_vendored_table_is_the_copied_text_unchanged():
    text = cost.PRICE_TABLE.read_text()
    header, body = text.split("-->\n", 1)
    recorded = re.search(r"sha256 of the copied text \(everything after this comment\): ([0-9a-f]{64})", header)
    assert recorded, f"{cost.PRICE_TABLE}: the provenance comment must record the sha256 of the copied text"
    assert hashlib.sha256(body.encode()).hexdigest() == recorded.group(1), (
        f"{cost.PRICE_TABLE} was edited below its provenance comment: paste the new compilation verbatim and "
        "record its sha256 there"
    )
    assert re.search(r"Copied verbatim on \d{4}-\d{2}-\d{2} from `shared/data/aws-prices-us-east-1.md`", header)
    assert body.startswith("# AWS list prices — us-east-1"), "the table's own title and date come right after the comment"


def test_the_table_keeps_a_source_and_a_confirmation_for_every_row():
    assert len(ROWS) > 70, f"only {len(ROWS)} rows parsed from {cost.PRICE_TABLE}"
    for item, row in ROWS.items():
        assert row.source, f"{cost.PRICE_TABLE}: row {item!r} has no source"
        assert row.confirmed in ("yes", "yes (2°)", "UNCONFIRMED"), f"row {item!r}: confirmed? is {row.confirmed!r}"


def compiled_on() -> str:
    found = re.search(r"^Compiled (\d{4}-\d{2}-\d{2})\.", cost.PRICE_TABLE.read_text(), re.MULTILINE)
    assert found, f"{cost.PRICE_TABLE}: no 'Compiled YYYY-MM-DD.' line"
    return found.group(1)


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_each_price_entry_is_its_rows_price_unit_and_source(entry):
    where = f"{cost.PRICE_FILE.name}: {entry_id(entry)}"
    assert entry.row in ROWS, f"{where} names row {entry.row!r}, which is not in {cost.PRICE_TABLE.name}"
    row = ROWS[entry.row]
    assert entry.usd == row.usd(), f"{where}: usd {entry.usd}, but row {entry.row!r} says {row.price!r}"
    assert entry.unit == row.unit, f"{where}: unit {entry.unit!r}, but row {entry.row!r} says {row.unit!r}"
    assert entry.source == row.source, f"{where}: source differs from row {entry.row!r}'s: {row.source!r}"
    assert entry.confirmed == row.confirmed, f"{where}: confirmed {entry.confirmed!r}, row says {row.confirmed!r}"
    assert str(entry.as_of) == compiled_on(), f"{where}: as_of {entry.as_of}, the table was compiled {compiled_on()}"
    if row.monthly and entry.unit.startswith("per ") and entry.unit.endswith("hour"):
        # The table's own monthly column (x 730 h) agrees with the model's hours.
        assert f"${entry.usd * cost.HOURS:,.2f}" == row.monthly, f"{where}: {entry.usd} x {cost.HOURS} h vs {row.monthly}"


def test_entries_are_unique_and_are_what_the_model_reads():
    ids = [(e.key, e.variant) for e in ENTRIES]
    assert len(ids) == len(set(ids)), f"duplicate entries in {cost.PRICE_FILE.name}"
    for entry in ENTRIES:
        value = cost.PRICES[entry.key]
        assert (value[entry.variant] if entry.variant else value) == entry.usd, entry_id(entry)


def test_hours_per_month_are_the_tables():
    assert "Monthly = ×730 h." in cost.PRICE_TABLE.read_text() and cost.HOURS == 730


def test_free_tiers_are_quoted_from_their_rows():
    for tier in cost.price_file().free_tier:
        assert tier.quote in ROWS[tier.row].note, (
            f"{cost.PRICE_FILE.name}: free tier {tier.key}: {tier.quote!r} not in row {tier.row!r}"
        )
        assert str(tier.quantity) in tier.quote, tier.key
    assert (cost.FREE_ALARM_METRICS, cost.FREE_DASHBOARDS) == (10, 3)


def test_multi_az_rows_are_what_the_model_bills_for_a_multi_az_instance():
    for cls, hourly in cost.PRICES["rds_multi_az_hour"].items():
        line = cost.idle_lines(
            [("aws:rds/instance:Instance", "db", {"instanceClass": cls, "multiAz": True, "allocatedStorage": 0})]
        )
        assert round(line[0].monthly, 2) == round(hourly * cost.HOURS, 2), cls
    # The table's Multi-AZ rows are primary + standby (each billed per instance-hour): twice the Single-AZ rows.
    for cls, hourly in cost.PRICES["rds_hour"].items():
        assert cost.PRICES["rds_multi_az_hour"][cls] == pytest.approx(2 * hourly), cls


def test_load_balancers_are_priced_by_kind():
    lines = cost.idle_lines(
        [
            ("aws:lb/loadBalancer:LoadBalancer", "nlb", {"loadBalancerType": "network", "internal": True}),
            ("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application", "internal": True}),
        ]
    )
    assert [(line.item, line.resource) for line in lines] == [("NLB nlb", "nlb"), ("ALB alb", "alb")]
    assert [round(line.monthly, 2) for line in lines] == [16.43, 16.43]  # the NLB and ALB rows' monthly column


def test_reference_bill_is_recomputed_from_the_tables_line_items():
    table = cost.reference_table()
    lines = cost.reference_lines()
    for line in lines:
        assert line.item in table, f"{cost.PRICE_FILE.name}: reference line {line.item!r} is not a line of the table's bill"
        assert round(line.monthly, 2) == table[line.item], (
            f"reference line {line.item!r}: {line.monthly:.2f} vs {table[line.item]}"
        )
    # Every line above the first total is priced (nothing left out), and the total is the table's.
    priced = list(table)[: list(table).index("Total without Extended Support")]
    assert [line.item for line in lines] == priced
    assert cost.reference_total() == table["Total without Extended Support"]


def test_usage_priced_notes_quote_table_prices():
    """The free-at-idle notes quote unit prices: each must be a price of the table."""
    prices = {float(m.replace(",", "")) for row in ROWS.values() for m in cost.DOLLARS.findall(row.price)}
    for typ, note in cost.FREE_AT_IDLE.items():
        for amount in cost.DOLLARS.findall(note):
            assert float(amount) in prices, (
                f"tools/cost.py FREE_AT_IDLE[{typ!r}]: ${amount} is not a price in {cost.PRICE_TABLE.name}"
            )


def test_nothing_reads_prices_from_outside_the_repository():
    for folder in ("infra", "benchmarks", "localcloud", "modules", "sdk"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text()
            assert "shared/data" not in text, f"{path.relative_to(REPO)} refers to shared/data: use tools/prices/ instead"
