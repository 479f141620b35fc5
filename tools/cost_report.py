"""`strata cost`: what a stack bills per month while idle, per layer and per team, what one more team adds, and the
usage-priced items apart, each with the assumption used — from what the program declares, with no cloud.

How: the program runs in this process under ``PlainMocks`` (``localcloud.runner.run_program``), for the stack as it
is or, with ``teams=N``, for a temporary copy of the project whose team files for the stack are its first N teams
(file-name order, as ``infra.config`` reads them), extended when N is larger with synthetic copies of the first one
(``extra-1``, ``extra-2``...: its settings for the stack, with a token $1 monthly budget so that the environment's
budget, a setting that costs nothing, does not cap the count; AWS Batch's per-region limits still do). Every declared
resource is priced by ``tools.cost.idle_lines`` from the vendored, dated table ``tools/prices/aws-prices-us-east-1.md``;
each line names the table rows (and sources) of its prices.
A line's layer is its resource's logical-name prefix (``modules/<layer>``; account-level CloudWatch lines are
observability's); its team, the ``team`` tag of that resource or its name (``<layer>-<team>[-...]``), else shared.
The marginal team is measured, not inferred: the same run with one more team (the stack's next team when ``teams`` left
some out, else a synthetic copy), minus this one.
Usage-priced items (requests, GB stored or ingested, NAT data, Batch instances while jobs run...) cost $0 idle and
are listed apart (``usage``), each with its unit price and row, or UNPRICED when the table has no row.

``strata cost --format json`` prints :func:`as_dict`; its keys are stable:

* ``stack``, ``region``; ``teams``: the teams priced (names), ``synthetic_teams``: those of them made up for ``--teams``
  (last), ``template_team``: the team they copy (and the one-more team copies), null for a stack without teams
* ``prices``: ``{table, as_of, region, currency, hours_per_month}`` of the vendored table
* ``total``: $/month idle, to the cent (``tools.cost.total``)
* ``layers``: ``[{layer, resources, monthly}]``: every layer that declares a resource, in the modules' order
* ``per_team``: ``{team: $/month}`` of the lines billed to a team; ``shared``: the rest (``total`` - their sum)
* ``one_more_team``: ``{monthly, note}``: $/month one more synthetic team adds (``monthly`` null, with ``note``
  saying why, when the stack cannot take one more)
* ``lines``: ``[{item, resource, layer, team, monthly, prices}]``, ``team`` null when shared; ``prices``:
  ``[{key, variant, usd, unit, row, source, confirmed, derived}]``, ``derived`` the rule when the price is derived
* ``usage``: ``[{item, layer, resources, row, price, unit, source, confirmed, assumption, driver}]``, not in ``total``;
  ``row`` null (and ``price`` "UNPRICED") when the table has no row for it
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.config import ConfigError, load_from_files
from strata.output import console
from tools import cost
from tools.cli import ReportFormat
from tools.cost_usage import LAYERS, OTHER, UsageItem, layer_of, usage_items

err = console(stderr=True)
out = console()

SYNTHETIC = "extra-{}"
PROJECT_FILES = ("Pulumi.yaml", "infra", "stacks")


class TeamCountError(ValueError):
    """The stack cannot be priced with the team count asked for (the message says why and what to do)."""


# -------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Price:
    key: str
    variant: str | None
    usd: float
    unit: str
    row: str
    source: str
    confirmed: str
    derived: str | None = None  # the rule, when the price is derived from another row


@dataclass(frozen=True)
class ReportLine:
    item: str
    resource: str
    layer: str
    team: str | None
    monthly: float
    prices: tuple[Price, ...]


@dataclass(frozen=True)
class LayerTotal:
    layer: str
    resources: int
    monthly: float


@dataclass(frozen=True)
class CostReport:
    stack: str
    region: str
    teams: tuple[str, ...]
    synthetic_teams: tuple[str, ...]
    template_team: str | None
    lines: tuple[ReportLine, ...]
    layers: tuple[LayerTotal, ...]
    per_team: dict[str, float]
    shared: float
    total: float
    one_more_team: float | None
    one_more_team_note: str
    usage: tuple[UsageItem, ...]


@dataclass(frozen=True)
class Declared:
    """What one program run declared: ``(type, name, inputs)`` of every custom resource, and the teams."""

    stack: str
    region: str
    teams: tuple[str, ...]
    synthetic: tuple[str, ...]
    template: str | None
    resources: tuple[tuple[str, str, Mapping[str, Any]], ...]


def price_info(key: str, variant: str | None) -> Price:
    """The row, unit and source of a price the model uses (a derived price: its base row's, and the rule)."""
    pf = cost.price_file()
    entries = {(e.key, e.variant): e for e in pf.prices}
    derived = next((d for d in pf.derived if (d.key, d.variant) == (key, variant)), None)
    if derived is not None:
        base = entries[(derived.base_key, derived.base_variant)]
        rule = f"{derived.factor:g} x {base.row} ({derived.rule})"
        return Price(key, variant, derived.usd, base.unit, base.row, base.source, base.confirmed, " ".join(rule.split()))
    entry = entries[(key, variant)]
    return Price(key, variant, entry.usd, entry.unit, entry.row, entry.source, entry.confirmed)


def prices_as_of() -> str:
    return max(e.as_of for e in cost.price_file().prices).isoformat()


def _team_of(resource: str, tagged: Mapping[str, str], teams: tuple[str, ...]) -> str | None:
    if resource in tagged:
        return tagged[resource]
    rest = resource.split("-", 1)[1] if "-" in resource else ""
    for team in sorted(teams, key=len, reverse=True):  # "fraud-gpu" before "fraud"
        if rest == team or rest.startswith(team + "-"):
            return team
    return None


def build(declared: Declared, marginal: float | None, marginal_note: str) -> CostReport:
    """The report of one run (``marginal``: what one more team adds, measured by the caller)."""
    resources = declared.resources
    tagged = {}
    for _, name, inputs in resources:
        tags = inputs.get("tags") if isinstance(inputs.get("tags"), Mapping) else {}
        if tags and tags.get("team") in declared.teams:
            tagged[name] = str(tags["team"])
    lines = tuple(
        ReportLine(
            line.item,
            line.resource,
            layer_of(line.resource),
            _team_of(line.resource, tagged, declared.teams),
            line.monthly,
            tuple(price_info(k, v) for k, v in line.prices),
        )
        for line in cost.idle_lines(resources)
    )
    counts: dict[str, int] = {}
    for _, name, _ in resources:
        counts[layer_of(name)] = counts.get(layer_of(name), 0) + 1
    layers = tuple(
        LayerTotal(layer, counts.get(layer, 0), round(sum((x.monthly for x in lines if x.layer == layer), 0.0), 2))
        for layer in (*LAYERS, OTHER)
        if counts.get(layer) or any(x.layer == layer for x in lines)
    )
    per_team = {t: round(sum((x.monthly for x in lines if x.team == t), 0.0), 2) for t in declared.teams}
    total = round(sum((x.monthly for x in lines), 0.0), 2)  # as tools.cost.total adds the lines
    return CostReport(
        stack=declared.stack,
        region=declared.region,
        teams=declared.teams,
        synthetic_teams=declared.synthetic,
        template_team=declared.template,
        lines=lines,
        layers=layers,
        per_team=per_team,
        shared=round(sum((x.monthly for x in lines if x.team is None), 0.0), 2),
        total=total,
        one_more_team=marginal,
        one_more_team_note=marginal_note,
        usage=tuple(usage_items(resources)),
    )


# -------------------------------------------------------------------------------- running the program


@contextmanager
def _project_with_teams(project_dir: Path, stack: str, teams: tuple[str, ...], count: int) -> Iterator[tuple[Path, list[str]]]:
    """A temporary copy of the project whose team files for ``stack`` are its first ``count`` teams, then synthetic
    copies of the first (its other environments dropped, its Kubernetes namespace left to default to its name)."""
    tmp = Path(tempfile.mkdtemp(prefix="strata-cost-"))
    try:
        for item in PROJECT_FILES:
            (shutil.copytree if (project_dir / item).is_dir() else shutil.copy)(project_dir / item, tmp / item)
        teams_dir = tmp / "stacks" / "teams"
        files = {p.stem: p for p in (*teams_dir.glob("*.yaml"), *teams_dir.glob("*.yml"))}
        for name in teams[count:]:
            files[name].unlink()
        template = yaml.safe_load(files[teams[0]].read_text())
        env = {**template["environments"][stack], "monthlyBudgetUsd": 1}
        if isinstance(env.get("kubernetes"), dict):
            env["kubernetes"] = {k: v for k, v in env["kubernetes"].items() if k != "namespace"}
        synthetic: list[str] = []
        n = 0
        while len(teams[:count]) + len(synthetic) < count:
            n += 1
            name = SYNTHETIC.format(n)
            if name in files:
                continue
            (teams_dir / f"{name}.yaml").write_text(yaml.safe_dump({**template, "team": name, "environments": {stack: env}}))
            synthetic.append(name)
        yield tmp, synthetic
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(project_dir: Path, stack: str) -> tuple[tuple[str, str, Mapping[str, Any]], ...]:
    from localcloud.plan import PlainMocks
    from localcloud.runner import run_program

    path = list(sys.path)  # infra/__main__.py puts its project first on sys.path: not left behind
    try:
        run = run_program(project_dir, stack, PlainMocks())
    finally:
        sys.path[:] = path
    return tuple((r.type, r.name, r.inputs) for r in run.custom_resources())


class Declarations:
    """Program runs, once per (stack, team count): ``runs`` may supply the stack's own run (the figures share theirs)."""

    def __init__(self, project_dir: Path, runs: Callable[[str], Any] | None = None) -> None:
        self.project_dir = Path(project_dir).resolve()
        self._runs = runs
        self._cache: dict[tuple[str, int | None], Declared] = {}

    def get(self, stack: str, count: int | None = None) -> Declared:
        platform = load_from_files(self.project_dir, stack)  # ConfigError: the stack itself is invalid
        teams = tuple(t.name for t in platform.teams)
        if count is not None and count < 1:
            raise TeamCountError(f"--teams {count}: a stack is priced with at least 1 team; pass --teams 1 or more")
        if count is None or count == len(teams):
            count = None
        if (stack, count) in self._cache:
            return self._cache[(stack, count)]
        if count is None:
            if self._runs is not None:
                run = self._runs(stack)
                resources = tuple((r.type, r.name, r.inputs) for r in run.custom_resources())
            else:
                resources = _run(self.project_dir, stack)
            declared = Declared(stack, platform.region, teams, (), teams[0] if teams else None, resources)
        else:
            declared = self._with_teams(stack, teams, count)
        self._cache[(stack, count)] = declared
        return declared

    def _with_teams(self, stack: str, teams: tuple[str, ...], count: int) -> Declared:
        if not teams:
            raise TeamCountError(
                f"--teams {count}: stack {stack!r} has no team to copy; give a team file an environments.{stack} "
                "section (stacks/teams/*.yaml)"
            )
        with _project_with_teams(self.project_dir, stack, teams, count) as (tmp, synthetic):
            try:
                platform = load_from_files(tmp, stack)
            except ConfigError as exc:
                problems = exc.render().replace(str(tmp), str(self.project_dir))
                raise TeamCountError(
                    f"--teams {count}: stack {stack!r} cannot take {count} teams as configured "
                    f"(its teams plus copies of {teams[0]!r}):\n{problems}"
                ) from None
            resources = _run(tmp, stack)
        names = tuple(t.name for t in platform.teams if t.name not in synthetic) + tuple(synthetic)
        return Declared(stack, platform.region, names, tuple(synthetic), teams[0], resources)


def report(
    project_dir: Path, stack: str, teams: int | None = None, *, declarations: Declarations | None = None, marginal: bool = True
) -> CostReport:
    """The idle-cost report of ``stack`` (with ``teams`` teams: see the module docstring)."""
    declarations = declarations or Declarations(project_dir)
    declared = declarations.get(stack, teams)
    more, note = None, "not measured"
    if marginal:
        try:
            plus = declarations.get(stack, len(declared.teams) + 1)
            more = round(cost.total(cost.idle_lines(plus.resources)) - cost.total(cost.idle_lines(declared.resources)), 2)
            added = [t for t in plus.teams if t not in declared.teams]
            which = f"a copy of {declared.template!r}" if set(added) <= set(plus.synthetic) else f"its next team, {added[0]!r}"
            note = f"measured: the stack with one more team ({which}) minus this one"
        except TeamCountError as exc:
            problems = " ".join(line.strip() for line in str(exc).splitlines()[2:])
            more, note = None, f"the stack cannot take one more team: {problems or exc}"
    return build(declared, more, note)


# -------------------------------------------------------------------------------- output


def as_dict(r: CostReport) -> dict[str, Any]:
    """The JSON view (``--format json``): the keys of the module docstring."""
    pf = cost.price_file()
    return {
        "stack": r.stack,
        "region": r.region,
        "teams": list(r.teams),
        "synthetic_teams": list(r.synthetic_teams),
        "template_team": r.template_team,
        "prices": {
            "table": pf.table,
            "as_of": prices_as_of(),
            "region": pf.region,
            "currency": pf.currency,
            "hours_per_month": pf.hours_per_month,
        },
        "total": r.total,
        "layers": [{"layer": x.layer, "resources": x.resources, "monthly": x.monthly} for x in r.layers],
        "per_team": dict(r.per_team),
        "shared": r.shared,
        "one_more_team": {"monthly": r.one_more_team, "note": r.one_more_team_note},
        "lines": [
            {
                "item": x.item,
                "resource": x.resource,
                "layer": x.layer,
                "team": x.team,
                "monthly": round(x.monthly, 4),
                "prices": [p.__dict__ for p in x.prices],
            }
            for x in r.lines
        ],
        "usage": [{**u.__dict__, "resources": list(u.resources)} for u in r.usage],
    }


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _row(p: Price) -> str:
    """The table row of a price; for a derived one, the factor too ("8 x EC2 t4g.nano")."""
    return p.derived.split(" (", 1)[0] if p.derived else p.row


def _price(p: Price) -> str:
    return f"${p.usd:g} {p.unit}" + (" (derived)" if p.derived else "")


def print_report(c: Console, r: CostReport) -> None:
    pf = cost.price_file()
    synthetic = f" ({', '.join(r.synthetic_teams)}: synthetic copies of {r.template_team})" if r.synthetic_teams else ""
    c.print(
        f"[bold]stack {r.stack!r}[/bold] ({r.region}): [bold]${_money(r.total)}/month idle[/bold] with "
        f"{len(r.teams)} team(s): {', '.join(r.teams)}{synthetic}",
        highlight=False,
    )
    layers = Table(title="Idle $/month per layer", title_justify="left")
    for col in ("layer", "resources declared", "$/month"):
        layers.add_column(col, justify="left" if col == "layer" else "right")
    for layer in r.layers:
        layers.add_row(layer.layer, str(layer.resources), _money(layer.monthly))
    c.print(layers)
    teams = Table(title="Idle $/month per team (lines billed to the team's own resources)", title_justify="left")
    for col in ("team", "$/month", "what"):
        teams.add_column(col, justify="right" if col == "$/month" else "left")
    for team, monthly in r.per_team.items():
        what = "; ".join(escape(x.item) for x in r.lines if x.team == team and x.monthly) or "-"
        teams.add_row(team, _money(monthly), what)
    teams.add_row("shared", _money(r.shared), "everything not billed to one team")
    more = "-" if r.one_more_team is None else f"+${_money(r.one_more_team)}/month"
    teams.add_row("one more team", more, escape(r.one_more_team_note))
    c.print(teams)
    lines = Table(title="Idle lines", title_justify="left")
    for col in ("layer", "team", "line", "$/month", "price", "table row"):
        lines.add_column(col, justify="right" if col == "$/month" else "left")
    for line in sorted(r.lines, key=lambda x: ((*LAYERS, OTHER).index(x.layer), x.resource, x.item)):
        price = "; ".join(_price(p) for p in line.prices) or "no charge"
        rows = "; ".join(dict.fromkeys(_row(p) for p in line.prices)) or "-"
        lines.add_row(line.layer, line.team or "shared", escape(line.item), _money(line.monthly), escape(price), escape(rows))
    c.print(lines)
    usage = Table(title="Usage-priced items: $0 idle, not in the total", title_justify="left")
    for col in ("layer", "item", "resources", "price", "table row", "assumption"):
        usage.add_column(col, justify="right" if col == "resources" else "left")
    for u in r.usage:
        usage.add_row(
            u.layer, u.item, str(len(u.resources)), escape(f"{u.price} {u.unit}"), escape(u.row or "-"), escape(u.assumption)
        )
    c.print(usage)
    c.print("[bold]sources[/bold] (the rows of the price table the lines use):", highlight=False)
    used = {p.row: p for x in r.lines for p in x.prices}
    for row, p in sorted(used.items()):
        c.print(f"  {escape(row)} (confirmed: {escape(p.confirmed)}): {escape(p.source)}", highlight=False)
    c.print(
        f"[bold]total: ${_money(r.total)}/month idle[/bold]; one more team: {more}. Prices: "
        f"{pf.table} ({pf.region}, {pf.currency}, {pf.hours_per_month} h a month), compiled {prices_as_of()}.",
        highlight=False,
    )


def cost_command(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    teams: int = typer.Option(
        None, "--teams", min=1, help="Price the stack with N teams: its first N, or its own plus copies of the first."
    ),
    fmt: ReportFormat = typer.Option(ReportFormat.TABLE, "--format", help="table (default) or json."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """What the stack bills per month while idle, from what the program declares (no cloud): per layer and per
    team, what one more team adds, and the usage-priced items apart with the assumption used for each."""
    from tools.cli import load_or_exit

    load_or_exit(project_dir, stack)
    try:
        with err.status(f"running the program for stack {stack!r} under mocks (no cloud) and pricing it ..."):
            result = report(project_dir, stack, teams)
    except (ConfigError, ValueError) as exc:  # TeamCountError is a ValueError; so are unpriced resources
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    if fmt is ReportFormat.JSON:
        typer.echo(json.dumps(as_dict(result), indent=2))
        return
    print_report(out, result)
