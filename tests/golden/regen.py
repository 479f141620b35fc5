"""Regenerate the golden URN files: ``python -m tests.golden.regen [stack ...]`` (default: every stack file).

``tests/golden/urns-<stack>.txt`` lists the URNs of the stack's *stateful* resources
(``tools.guards.is_stateful_type``) as the Pulumi engine names them (``pulumi stack --show-urns``).
``tests/gates/test_no_data_loss.py`` fails when one of them disappears without an ``aliases`` entry
pointing at it: deploying such a change would delete the resource (and its data) and create a new one.

Only stateful resources are listed, on purpose: a renamed security group or policy is recreated
harmlessly, so listing every resource would make every refactor a golden-file update and teach
people to regenerate without reading. Regenerate only after reviewing what disappeared.
(Also: ``UPDATE_GOLDEN=1 pytest tests/gates/test_no_data_loss.py``.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra.config import PROJECT, known_environments
from localcloud.plan import PlainMocks
from localcloud.runner import run_program
from tools import guards

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = Path(__file__).resolve().parent
HEADER = """\
# Stateful resources of stack `{stack}` (tools/guards.py), as `pulumi stack --show-urns` names them.
# tests/gates/test_no_data_loss.py fails when one disappears without an `aliases` entry mapping it.
# Regenerate only after reviewing the change: python -m tests.golden.regen {stack}
"""


def golden_path(stack: str) -> Path:
    return GOLDEN_DIR / f"urns-{stack}.txt"


def read_golden(stack: str) -> list[str]:
    path = golden_path(stack)
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def render(stack: str, urns: list[str]) -> str:
    return HEADER.format(stack=stack) + "".join(f"{u}\n" for u in sorted(urns))


def current_urns(stack: str) -> list[str]:
    run = run_program(REPO, stack, PlainMocks())
    return guards.stateful_urns(run.registrations, stack, PROJECT)


def main(argv: list[str]) -> int:
    stacks = argv or sorted(known_environments(REPO))
    for stack in stacks:
        urns = current_urns(stack)
        before = set(read_golden(stack))
        golden_path(stack).write_text(render(stack, urns))
        gone, new = sorted(before - set(urns)), sorted(set(urns) - before)
        print(f"{golden_path(stack).relative_to(REPO)}: {len(urns)} stateful URNs (+{len(new)} -{len(gone)})")
        for u in gone:
            print(f"  - {u}")
        for u in new:
            print(f"  + {u}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
