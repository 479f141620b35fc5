"""docs/observability.md says who is alerted and what each team may spend: those tables must be exactly
what the stack and team files say."""

from __future__ import annotations

from pathlib import Path

from infra.config import known_environments, load_from_files

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "observability.md"
ENVS = ["local", "dev", "staging", "prod"]


def platforms():
    assert set(ENVS) == known_environments(REPO), "a new environment: add it to docs/observability.md and here"
    return {env: load_from_files(REPO, env) for env in ENVS}


def environment_table() -> str:
    rows = [
        "| environment | alarms and environment-budget alerts go to | environment budget (USD/month) | log retention (days) |",
        "|---|---|---|---|",
    ]
    for env, p in platforms().items():
        o = p.settings.observability
        rows.append(f"| {env} | {', '.join(o.alert_emails)} | {o.monthly_budget_usd:g} | {o.log_retention_days} |")
    return "\n".join(rows)


def team_table() -> str:
    ps = platforms()
    rows = ["| team | failed jobs and budget alerts go to | " + " | ".join(ENVS) + " |", "|---|---|" + "---|" * len(ENVS)]
    for name in sorted({t.name for p in ps.values() for t in p.teams}):
        contacts = next(t.contacts for p in ps.values() for t in p.teams if t.name == name)
        cells = []
        for env in ENVS:
            team = next((t for t in ps[env].teams if t.name == name), None)
            cells.append(f"{team.monthly_budget_usd:g}" if team else "—")
        rows.append(f"| {name} | {', '.join(contacts)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def test_who_gets_alerted_matches_the_stack_files():
    expected = environment_table()
    assert expected in DOC.read_text(), f"docs/observability.md is out of date; the table should read:\n{expected}"


def test_what_each_team_may_spend_matches_the_team_files():
    expected = team_table()
    assert expected in DOC.read_text(), f"docs/observability.md is out of date; the table should read:\n{expected}"
