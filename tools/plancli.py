"""`strata plan-json`: the Terraform plan JSON of a stack, for checkov and other Terraform scanners."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from strata.output import console

err = console(stderr=True)
out = console(stderr=True)  # stdout may carry the plan itself


def plan_json(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    out_file: Path = typer.Option(None, "--out", "-o", help="Write the plan here (default: stdout)."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """Run the program with echo mocks (no cloud, no Pulumi CLI) and write a Terraform plan JSON of
    every AWS resource it declares: `checkov -f plan.json --framework terraform_plan`."""
    from tools.cli import require_project

    require_project(project_dir)
    import pulumi  # the program runs in this process: import Pulumi only when asked to

    from infra.config import ConfigError
    from tools import planjson
    from tools.planexport import export_plan

    try:
        plan = export_plan(project_dir, stack)
    except ConfigError as exc:
        err.print(exc.render(), highlight=False, markup=False)
        raise typer.Exit(1) from None
    except pulumi.RunError as exc:  # a config problem, already rendered with file, key and fix
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    text = json.dumps(plan, indent=2, sort_keys=False) + "\n"
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text)
    count = len(plan["planned_values"]["root_module"]["resources"])
    unknown = planjson.unknown_types(plan)
    where = f" to {out_file}" if out_file else ""
    out.print(f"stack {stack!r}: {count} resources{where}")
    if unknown:
        err.print(
            f"[yellow]warning:[/yellow] Terraform types derived, not checked: {', '.join(unknown)} (add them to tools/planjson.py TYPE_TABLE)"
        )
