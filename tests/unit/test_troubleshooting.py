"""The troubleshooting page (tools/troubleshooting.py): generated from the code, current, and complete against the
bad-input corpus, with no secret of a case on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import badinput_corpus, troubleshooting

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus() -> list[troubleshooting.Example]:
    return troubleshooting.corpus_examples()


@pytest.fixture(scope="module")
def page(corpus) -> str:
    return troubleshooting.page(examples=corpus)


@pytest.fixture(scope="module")
def examples(corpus) -> dict[str, troubleshooting.Example]:
    return {x.case: x for x in corpus}


def test_the_committed_page_is_what_the_code_generates(page):
    committed = (REPO / troubleshooting.PAGE).read_text()
    assert committed == page, "regenerate: .venv/bin/python -m tools.troubleshooting"


@pytest.mark.parametrize("case", badinput_corpus.CASES)
def test_every_mistake_of_the_corpus_is_on_the_page_with_its_fix(case, examples, page):
    """The case's row names the file and key it must, holds its problem and fix words, and none of the words the
    case must never print (a plaintext secret, pydantic's jargon, a wrong fix)."""
    expect, x = badinput_corpus.expectation(case), examples[case]
    row = f"{x.key} {x.problem} {x.fix}"
    assert x.file == expect["file"], (x.file, expect["file"])
    if expect.get("count", 1) == 1 and "min_count" not in expect:  # many problems: the row shows the first
        assert x.key.startswith(expect["key"]), (x.key, expect["key"])
        for words in [*expect["problem"], *expect["fix"]]:
            assert words in row, f"{case}: {words!r} is not in its row: {row}"
    for never in expect.get("absent", []):
        assert never not in row, f"{case}: {never!r} must never be shown"
    assert f"| {troubleshooting._cell(x.problem)} |" in page


def test_a_new_error_is_found_where_it_is_raised_or_printed(tmp_path):
    sdk = tmp_path / "sdk" / "strata"
    sdk.mkdir(parents=True)
    (sdk / "thing.py").write_text(
        "class ThingProblem(Exception):\n    pass\n\n"
        "def f(name):\n"
        "    raise ThingProblem(f'no thing {name}: run `strata thing --make`')\n\n"
        "def g(err):\n"
        "    err.print('[red]error:[/red] the widget is missing: reinstall it')\n"
        "    raise ValueError('internal, not a message of the command')\n"
    )
    found = {e.message for e in troubleshooting.command_errors(tmp_path)}
    assert found == {"no thing <name>: run `strata thing --make`", "the widget is missing: reinstall it"}


def test_config_checks_are_listed_with_their_fix(page):
    problems = troubleshooting.config_problems()
    assert len(problems) >= 50 and all(p.fix for p in problems)
    assert any("is not a CloudWatch retention" in p.problem for p in problems)
    assert "## Command errors" in page and "weights" in page
