"""``strata warehouse ...``: SQL on your team's warehouse from the shell (Redshift Data API)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from strata import warehouse
from strata.output import console

app = typer.Typer(help="Your team's Redshift warehouse, through the Data API.", no_args_is_help=True)
err = console(stderr=True)
out = console()


def _params(values: list[str]) -> dict[str, str]:
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise warehouse.WarehouseError(f"--param {item!r}: write name=value (used as :name in the SQL)")
        params[name] = value
    return params


@app.command()
def query(
    sql: str = typer.Argument(..., help="The SQL statement; :name placeholders take --param values."),
    env: str = typer.Option(None, "--env", "-e", help="Environment (default: from METAFLOW_PROFILE)."),
    team: str = typer.Option(None, "--team", "-t", help="Your team (default: from METAFLOW_PROFILE)."),
    param: list[str] = typer.Option([], "--param", "-p", help="name=value for :name in the SQL; repeatable."),
    timeout: float = typer.Option(warehouse.DEFAULT_TIMEOUT, help="Seconds before the statement is cancelled."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON instead of a table."),
) -> None:
    """Run SQL as your team and print the rows."""
    try:
        rows = warehouse.query(sql, env=env, team=team, params=_params(param), timeout=timeout)
    except warehouse.WarehouseError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    if not rows:
        out.print("no rows")
        return
    table = Table(caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row.values()))
    out.print(table)
