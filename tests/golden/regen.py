"""Regenerate the golden URN files: ``python -m tests.golden.regen [--all] [stack ...]`` (default: every stack file).

``tests/golden/urns-<stack>.txt`` lists the URNs of the stack's *stateful* resources
(``tools.guards.is_stateful_type``) as the Pulumi engine names them (``pulumi stack --show-urns``).
``tests/gates/test_no_data_loss.py`` fails when one of them disappears without an ``aliases`` entry
pointing at it: deploying such a change would delete the resource (and its data) and create a new one.

Only stateful resources are listed, on purpose: a renamed security group or policy is recreated
harmlessly, so listing every resource would make every refactor a golden-file update and teach
people to regenerate without reading. Regenerate only after reviewing what disappeared.
(Also: ``UPDATE_GOLDEN=1 pytest tests/gates/test_no_data_loss.py``.)

``--all`` writes ``tests/golden/all-urns-<stack>.txt`` instead: the URN of *every* resource the stack
declares (components too). ``tests/gates/test_urn_aliases.py`` holds a refactor that moves resources
(a new child component, a new parent) to it: each listed URN still exists, or exactly one resource
claims it through ``aliases``, so ``pulumi up`` updates in place rather than replacing. A resource
added later needs no update of the list; regenerate it only after reviewing what disappeared.
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

ALL_HEADER = """\
# Every resource of stack `{stack}` (components too), as `pulumi stack --show-urns` names them.
# tests/gates/test_urn_aliases.py fails when one disappears and no single resource claims it through `aliases`.
# Regenerate only after reviewing the change: python -m tests.golden.regen --all {stack}
"""


def golden_path(stack: str) -> Path:
    return GOLDEN_DIR / f"urns-{stack}.txt"


def all_urns_path(stack: str) -> Path:
    return GOLDEN_DIR / f"all-urns-{stack}.txt"


def read_golden(stack: str, path: Path | None = None) -> list[str]:
    """The URNs of a golden file (default: the stack's stateful ``urns-<stack>.txt``); [] when it is missing."""
    path = path or golden_path(stack)
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def render(stack: str, urns: list[str], header: str = HEADER) -> str:
    return header.format(stack=stack) + "".join(f"{u}\n" for u in sorted(urns))


def current_urns(stack: str) -> list[str]:
    run = run_program(REPO, stack, PlainMocks())
    return guards.stateful_urns(run.registrations, stack, PROJECT)


def current_all_urns(stack: str) -> list[str]:
    run = run_program(REPO, stack, PlainMocks())
    return sorted(guards.canonical_urns(run.registrations, stack, PROJECT).values())


def main(argv: list[str]) -> int:
    every = "--all" in argv
    stacks = [a for a in argv if a != "--all"] or sorted(known_environments(REPO))
    for stack in stacks:
        path = all_urns_path(stack) if every else golden_path(stack)
        urns = current_all_urns(stack) if every else current_urns(stack)
        before = set(read_golden(stack, path))
        path.write_text(render(stack, urns, ALL_HEADER if every else HEADER))
        gone, new = sorted(before - set(urns)), sorted(set(urns) - before)
        print(f"{path.relative_to(REPO)}: {len(urns)} {'' if every else 'stateful '}URNs (+{len(new)} -{len(gone)})")
        for u in gone:
            print(f"  - {u}")
        for u in new:
            print(f"  + {u}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
