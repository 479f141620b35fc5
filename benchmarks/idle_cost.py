"""Idle cost per stack, what one more team adds, and Strata beside the reference blueprint — from the report
``strata cost`` prints (tools/cost_report.py), so the figures and the command cannot disagree.

    .venv/bin/python benchmarks/idle_cost.py          # every stack of STACKS, line by line
    .venv/bin/strata cost --stack prod                  # one stack: per layer, per team, usage items, sources

Each report runs the real program with echo mocks (no cloud), prices every declared resource that bills while idle
(tools/cost.py, us-east-1 list prices of the vendored table), and measures one more team by running a copy of the
project with one synthetic team. Targets (issue 2): dev without EKS <= $25/month idle, <= $1/month per extra team;
compared with the reference Terraform blueprint's idle bill, priced line by line from the same table
(``cost.reference_lines()``). The tables below are what ``benchmarks/figures.py`` writes into docs/cost.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import cost  # noqa: E402
from tools.cost_report import CostReport, Declarations, prices_as_of, report  # noqa: E402
from tools.cost_usage import LAYERS, OTHER  # noqa: E402

STACKS = ["dev", "staging", "prod"]
# The reference blueprint's lines by the layer that does the same job in Strata (by the price they use).
REFERENCE_LAYERS = {
    "nat_gateway_hour": "network",
    "public_ipv4_hour": "network",
    "ec2_hour": "compute",  # its Batch compute environment keeps 8 vCPUs (one c4.2xlarge) running
    "ebs_gb_month": "compute",  # that instance's volume
    "rds_multi_az_hour": "metadata",
    "rds_storage_gb_month": "metadata",
    "fargate_vcpu_hour": "metadata",
    "fargate_gb_hour": "metadata",
    "nlb_hour": "metadata",
    "kms_key_month": "datastore",
}


def money(value: float) -> str:
    return f"{value:,.2f}"


def reports(root: Path = ROOT, stacks: list[str] = STACKS) -> dict[str, CostReport]:
    declarations = Declarations(root)
    return {stack: report(root, stack, declarations=declarations) for stack in stacks}


def main() -> None:
    reference = cost.reference_total()
    print(f"reference blueprint (outerbounds terraform-aws-metaflow defaults) idles at ${reference:.2f}/month")
    print(f"{'stack':8} {'idle $/month':>12} {'x cheaper than reference':>25} {'+1 team $/month':>16}")
    for stack, r in reports().items():
        extra = "n/a" if r.one_more_team is None else f"{r.one_more_team:.2f}"
        print(f"{stack:8} {r.total:12.2f} {reference / r.total if r.total else float('inf'):25.1f} {extra:>16}")
        for line in r.lines:
            print(f"    {line.monthly:8.2f}  [{line.layer}/{line.team or 'shared'}] {line.item}")
        for item in r.usage:
            print(f"    {'usage':>8}  [{item.layer}] {item.item}: {item.assumption}")


# -------------------------------------------------------------------------------- docs/cost.md


def _table(head: list[str], align: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|", *("| " + " | ".join(r) + " |" for r in rows)]
    return "\n" + "\n".join(lines) + "\n"


def _order(layer: str) -> int:
    return (*LAYERS, OTHER).index(layer)


def idle_table(rs: Mapping[str, CostReport]) -> str:
    """Every idle line of every stack: layer, team, line, $/month per stack."""
    rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    for stack, r in rs.items():
        for x in r.lines:
            row = rows.setdefault((_order(x.layer), x.resource, x.item), {"line": x})
            row[stack] = row.get(stack, 0.0) + x.monthly
    body = [
        [row["line"].layer, row["line"].team or "shared", row["line"].item] + [money(row[s]) if s in row else "—" for s in rs]
        for _, row in sorted(rows.items(), key=lambda kv: kv[0])
    ]
    body.append(["", "", "**total**", *(f"**{money(r.total)}**" for r in rs.values())])
    return _table(["layer", "team", "line (resource)", *rs], ["---"] * 3 + ["---:"] * len(rs), body)


def _reference_by_layer() -> dict[str, float]:
    by_layer: dict[str, float] = {}
    for line in cost.reference_lines():
        layer = REFERENCE_LAYERS[line.prices[0][0]]
        by_layer[layer] = by_layer.get(layer, 0.0) + round(line.monthly, 2)  # the table adds its lines in cents
    return by_layer


def layers_table(rs: Mapping[str, CostReport]) -> str:
    """Idle $/month per layer, the reference blueprint's lines in the layer that does the same job."""
    reference = _reference_by_layer()
    per = {s: {x.layer: x.monthly for x in r.layers} for s, r in rs.items()}
    layers = sorted({layer for p in per.values() for layer in p} | set(reference), key=_order)
    body = [
        [layer, money(reference[layer]) if layer in reference else "—"]
        + [money(per[s][layer]) if layer in per[s] else "—" for s in rs]
        for layer in layers
    ]
    body.append(["**total**", f"**{money(cost.reference_total())}**", *(f"**{money(r.total)}**" for r in rs.values())])
    return _table(["layer", "reference", *rs], ["---"] + ["---:"] * (len(rs) + 1), body)


def reference_table() -> str:
    """The reference blueprint's idle bill, item by item, with the row and source of each price."""
    entries = {(e.key, e.variant): e for e in cost.price_file().prices}
    body = []
    for ref, line in zip(cost.price_file().reference.lines, cost.reference_lines(), strict=True):
        entry = entries[(ref.key, ref.variant)]
        calc = f"{ref.quantity:g} x {entry.usd:g}" + (f" x {cost.HOURS}" if ref.hourly else "")
        body.append([line.item, REFERENCE_LAYERS[ref.key], f"{entry.row}: {calc}", entry.source, money(line.monthly)])
    body.append(["**total**", "", "", "", f"**{money(cost.reference_total())}**"])
    return _table(["item", "Strata layer", "table row: calculation", "source", "$/month"], ["---"] * 4 + ["---:"], body)


def teams_table(rs: Mapping[str, CostReport]) -> str:
    """Per stack: its teams and what each is billed, the shared part, and what one more team adds (measured)."""
    body = []
    for stack, r in rs.items():
        teams = ", ".join(f"{t} {money(v)}" for t, v in r.per_team.items()) or "none"
        more = "—" if r.one_more_team is None else money(r.one_more_team)
        body.append([stack, str(len(r.teams)), teams, money(r.shared), more, money(r.total)])
    return _table(["stack", "teams", "billed to each team", "shared", "one more team", "total"], ["---"] * 3 + ["---:"] * 3, body)


def usage_table(rs: Mapping[str, CostReport]) -> str:
    """Every usage-priced item of the stacks ($0 idle, not in the totals): its layers, how many resources bring it
    per stack, its price and row, and what drives it."""
    items: dict[str, dict[str, Any]] = {}
    for stack, r in rs.items():
        for u in r.usage:
            entry = items.setdefault(u.item, {"item": u, "layers": {}, "stacks": {}})
            entry["layers"][u.layer] = None
            entry["stacks"][stack] = entry["stacks"].get(stack, 0) + len(u.resources)
    body = []
    for entry in sorted(items.values(), key=lambda e: (min(map(_order, e["layers"])), e["item"].item)):
        u = entry["item"]
        counts = ", ".join(f"{s} {n}" for s, n in entry["stacks"].items())
        price = "UNPRICED" if u.row is None else f"{u.price} {u.unit}".replace(" —", "")
        body.append([u.item, ", ".join(sorted(entry["layers"], key=_order)), counts, price, u.row or "—", u.driver])
    head = ["item", "layers", "resources per stack", "price", "table row", "what drives it (not estimated)"]
    return _table(head, ["---"] * 6, body)


def layer_prefix(r: CostReport, prefix: str) -> float:
    """Idle $/month of the lines billing resources named ``prefix`` or ``prefix-*``."""
    lines = [x for x in r.lines if x.resource == prefix or x.resource.startswith(prefix + "-")]
    if not lines:
        raise ValueError(f"no idle line of {r.stack} bills a resource named {prefix}[-*]")
    return sum(x.monthly for x in lines)


def resource_lines(r: CostReport, resource: str, price: str | None = None) -> float:
    """Idle $/month of the lines billing exactly the resource named ``resource`` (only those multiplying the
    price ``price`` of the price file, when given: a service's Fargate line without its Cloud Map line)."""
    lines = [x for x in r.lines if x.resource == resource and (price is None or price in {p.key for p in x.prices})]
    if not lines:
        raise ValueError(f"no idle line of {r.stack} bills the resource {resource}" + (f" with {price}" if price else ""))
    return sum(x.monthly for x in lines)


def list_price_monthly(key: str, variant: str | None, quantity: float) -> float:
    """``quantity`` x a price of the vendored table (an entry of the price file, not a derived price), over a
    month: x 730 for a price per hour (per ACU-hour, per endpoint-AZ-hour, ...), as is for a price per month."""
    entries = [e for e in cost.price_file().prices if e.key == key and e.variant == variant]
    if not entries:
        raise ValueError(f"no price {key}" + (f" ({variant})" if variant else "") + f" in {cost.PRICE_FILE.name}")
    entry = entries[0]
    if entry.unit.endswith("hour"):
        return quantity * entry.usd * cost.HOURS
    if entry.unit.endswith("month"):
        return quantity * entry.usd
    raise ValueError(f"price {key} is {entry.unit}: not a price per hour or per month")


def _same_everywhere(values: dict[str, str], what: str) -> str:
    if len(set(values.values())) != 1:
        raise ValueError(f"{what} differs between stacks ({values}): quote it per stack")
    return next(iter(values.values()))


def _team(r: CostReport) -> str:
    if r.one_more_team is None:
        raise ValueError(f"{r.stack}: {r.one_more_team_note}")
    return money(r.one_more_team)


Figure = tuple[re.Pattern[str], Callable[[Any, re.Match[str]], str], str]


def figure_rules(stack: str) -> list[Figure]:
    """The cost figures of benchmarks/figures.py: ``(name pattern, compute(m, match), what)``; ``m`` is its
    ``Measurements`` (``m.cost(stack)``, ``m.costs()``: the reports of STACKS; ``m.stack(name)`` checks a name)."""

    def one(m: Any, x: re.Match[str]) -> CostReport:
        return m.cost(m.stack(x["stack"]))

    return [
        (re.compile(r"idle\.reference"), lambda m, x: money(cost.reference_total()), "reference blueprint idle $/month"),
        (re.compile(r"idle\.table"), lambda m, x: idle_table(m.costs()), "table: idle lines per stack (strata cost)"),
        (
            re.compile(r"idle\.team"),
            lambda m, x: _same_everywhere({s: _team(r) for s, r in m.costs().items()}, "one more team's cost"),
            "$/month one more team adds (the same in every stack)",
        ),
        (re.compile(r"idle\." + stack), lambda m, x: money(one(m, x).total), "idle $/month"),
        (
            re.compile(r"idle\." + stack + r"\.vs-reference"),
            lambda m, x: f"{cost.reference_total() / one(m, x).total:.1f}",
            "how many times cheaper than the reference",
        ),
        (re.compile(r"idle\." + stack + r"\.team"), lambda m, x: _team(one(m, x)), "$/month one more team adds"),
        (
            re.compile(r"idle\." + stack + r"\.layer\.(?P<prefix>[a-z0-9-]+)"),
            lambda m, x: money(layer_prefix(one(m, x), x["prefix"])),
            "idle $/month of the resources named <prefix> or <prefix>-*",
        ),
        (
            re.compile(r"idle\." + stack + r"\.line\.(?P<resource>[a-z0-9-]+)(?:\.(?P<price>[a-z0-9_]+))?"),
            lambda m, x: money(resource_lines(one(m, x), x["resource"], x["price"])),
            "idle $/month of the lines billing exactly the resource <resource> (those with the price <price>, if named)",
        ),
        (
            re.compile(r"price\.(?P<key>[a-z0-9_]+)(?:\.(?P<variant>[\w.-]+?))?\.monthly(?:\.x(?P<n>\d+(?:\.\d+)?))?"),
            lambda m, x: money(list_price_monthly(x["key"], x["variant"], float(x["n"] or 1))),
            "$/month of N (default 1) x the vendored price <key>[.<variant>] (x 730 if per hour)",
        ),
        (re.compile(r"cost\.layers\.table"), lambda m, x: layers_table(m.costs()), "table: idle $/month per layer"),
        (re.compile(r"cost\.reference\.table"), lambda m, x: reference_table(), "table: the reference's idle bill"),
        (re.compile(r"cost\.teams\.table"), lambda m, x: teams_table(m.costs()), "table: per team, shared, one more"),
        (re.compile(r"cost\.usage\.table"), lambda m, x: usage_table(m.costs()), "table: usage-priced items"),
        (re.compile(r"cost\.prices\.as-of"), lambda m, x: prices_as_of(), "the date the vendored price table was compiled"),
    ]


if __name__ == "__main__":
    main()
