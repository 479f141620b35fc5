"""Idle cost per stack, and the marginal cost of one more team — from what the program declares.

    .venv/bin/python benchmarks/idle_cost.py

Runs the real program for every stack file with echo mocks (no cloud), prices each declared resource
that bills while idle (tools/cost.py, us-east-1 list prices), then adds one synthetic team to a copy
of the project and prices the difference. Targets (issue 2): dev without EKS <= $25/month idle,
<= $1/month per extra team; compared with the reference Terraform blueprint's idle bill, priced line by
line from the vendored table (tools/prices/aws-prices-us-east-1.md, ``cost.reference_total()``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.plan import PlainMocks  # noqa: E402
from localcloud.runner import run_program  # noqa: E402
from tools.cost import Line, idle_lines, reference_total, total  # noqa: E402

STACKS = ["dev", "staging", "prod"]


def idle(project: Path, stack: str) -> tuple[float, list[Line]]:
    """The stack's idle $/month and its priced lines, from what the program declares (echo mocks)."""
    run = run_program(project, stack, PlainMocks())
    lines = idle_lines((r.type, r.name, r.inputs) for r in run.custom_resources())
    return total(lines), lines


def with_extra_team() -> Path:
    """A copy of the project with one more team (a copy of forecasting named ``extra``)."""
    tmp = Path(tempfile.mkdtemp(prefix="strata-cost-"))
    for item in ("Pulumi.yaml", "infra", "stacks"):
        (shutil.copytree if (ROOT / item).is_dir() else shutil.copy)(ROOT / item, tmp / item)
    extra = yaml.safe_load((ROOT / "stacks/teams/forecasting.yaml").read_text())
    extra["team"] = "extra"
    (tmp / "stacks/teams/extra.yaml").write_text(yaml.safe_dump(extra))
    return tmp


def one_more_team(stack: str, base: float) -> float:
    """What one more team adds to ``stack``'s idle bill ``base`` ($/month)."""
    project = with_extra_team()
    try:
        return round(idle(project, stack)[0] - base, 2)
    finally:
        shutil.rmtree(project)


def main() -> None:
    reference = reference_total()
    print(f"reference blueprint (outerbounds terraform-aws-metaflow defaults) idles at ${reference:.2f}/month")
    print(f"{'stack':8} {'idle $/month':>12} {'x cheaper than reference':>25} {'+1 team $/month':>16}")
    for stack in STACKS:
        cost, lines = idle(ROOT, stack)
        extra = one_more_team(stack, cost)
        print(f"{stack:8} {cost:12.2f} {reference / cost if cost else float('inf'):25.1f} {extra:16.2f}")
        for line in lines:
            print(f"    {line.monthly:8.2f}  {line.item}")


if __name__ == "__main__":
    main()
