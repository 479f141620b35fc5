"""README.md, docs/ and the layers' READMEs quote only figures the code reproduces (benchmarks/figures.py).

Every marked figure (``<!-- fig:NAME -->VALUE<!-- /fig -->``) of the ``code`` tier is recomputed here —
the program for every stack under echo mocks, the plan export, the idle cost, the bad-input corpus — and a
stale value fails naming the file, the line, the marker and the value the code gives. Figures that cannot
be asserted (seconds, end-to-end counts) must sit in a ``<!-- measured: COMMAND -->`` block naming the
command that reproduces them; any other timing, resource or case count, or dollar amount that is not a
list price of the vendored table fails. Refresh: ``.venv/bin/python -m benchmarks.figures --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import figures  # noqa: E402

REFRESH = "run `.venv/bin/python -m benchmarks.figures --write` (and review the diff)"


@pytest.fixture(scope="module")
def measurements() -> figures.Measurements:
    return figures.Measurements()


def test_the_documents_carry_marked_figures():
    names = {mark.name for path in figures.docs() for mark in figures.markers(path)}
    for expected in ("resources.plan.table", "idle.dev", "idle.reference", "badinput.cases", "resources.declared.range"):
        assert expected in names, f"no <!-- fig:{expected} --> marker left in README.md or docs/*.md"


def test_marked_figures_are_what_the_code_gives(measurements):
    problems = figures.check(measurements, figures.docs(), {figures.CODE})
    assert not problems, f"stale or unknown figures ({REFRESH}):\n" + "\n".join(map(str, problems))


def test_no_figure_is_quoted_unmarked():
    problems = [p for path in figures.docs() for p in figures.unmarked_figures(path)]
    assert not problems, (
        "figures a command cannot check: mark them <!-- fig:NAME -->, or put machine-dependent ones in a "
        "<!-- measured: COMMAND --> ... <!-- /measured --> block:\n" + "\n".join(map(str, problems))
    )


# ------------------------------------------------------------------------- the checker catches


def test_a_stale_or_unknown_figure_is_named_and_rewritten(measurements, tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Cases: <!-- fig:badinput.cases -->1<!-- /fig -->.\n"
        "Reference: $<!-- fig:idle.reference -->430.65<!-- /fig -->.\n"
        "<!-- fig:no.such.figure -->3<!-- /fig --> and <!-- fig:checkov.nostack.gate.passed -->1<!-- /fig -->\n"
    )
    problems = [str(p) for p in figures.check(measurements, [doc], {figures.CODE})]
    cases = str(len(measurements.badinput_cases()))
    assert problems == [
        f"{doc}:1: fig:badinput.cases reads '1', the code gives '{cases}'",
        f"{doc}:3: unknown figure 'no.such.figure'",
        f"{doc}:3: no stack 'nostack' (stacks: local, dev, staging, prod)",
    ]
    changed, unknown = figures.write(measurements, [doc], {figures.CODE})
    assert changed == [f"{doc}:1: badinput.cases: '1' -> '{cases}'"]
    assert [str(p) for p in unknown] == [f"{doc}:3: unknown figure 'no.such.figure'"]
    assert doc.read_text().startswith(f"Cases: <!-- fig:badinput.cases -->{cases}<!-- /fig -->.\n")
    assert "<!-- fig:no.such.figure -->3<!-- /fig -->" in doc.read_text(), "an unknown figure is left as it is"


def test_unmarked_timings_counts_and_prices_are_caught(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "declares 12 resources in about 0.5 s; 59 `strata validate` subprocesses\n"  # line 1: 3 problems
        "idles at $20.97, an NAT gateway is $32.85 a month, $0.045 an hour\n"  # line 2: $20.97 only
        "<!-- measured: .venv/bin/python benchmarks/deploy_time.py -->deploys in 9 s<!-- /measured -->\n"  # fine
        "<!-- measured: somewhere else -->in 3 s<!-- /measured -->\n"  # line 4: no command of the repo
        "<!-- fig:resources.declared.range -->179–200<!-- /fig --> resources\n"  # fine
    )
    problems = [str(p) for p in figures.unmarked_figures(doc)]
    assert problems == [
        f"{doc}:4: measured block names no script or test of this repository: 'somewhere else'",
        f"{doc}:1: a timing ('0.5 s') outside a measured block naming its command",
        f"{doc}:1: '12 resources' is not a marked figure (<!-- fig:NAME -->)",
        f"{doc}:1: '59 `strata validate` subprocesses' is not a marked figure (<!-- fig:NAME -->)",
        f"{doc}:2: $20.97 is neither a list price of the vendored table nor a marked figure",
    ]


def test_block_figures_keep_their_newlines(measurements):
    table = figures.compute(measurements, "resources.plan.table")
    assert table.startswith("\n|") and table.endswith("|\n"), table
    rows = table.strip().splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == measurements.stacks
