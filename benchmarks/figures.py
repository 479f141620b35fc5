"""Every figure README.md, the docs site (docs/ and the layers' READMEs) quote, computed from the code — and the markers that hold them.

    .venv/bin/python -m benchmarks.figures                  # list the marked figures and their values
    .venv/bin/python -m benchmarks.figures --check          # exit 1 naming each stale or unknown figure
    .venv/bin/python -m benchmarks.figures --write          # rewrite every marked figure in place
    .venv/bin/python -m benchmarks.figures --write --gates  # also the scanners' counts (.venv-gates, .venv-iam; ~1 min)

Markup (HTML comments: GitHub does not render them):

* ``<!-- fig:NAME -->VALUE<!-- /fig -->`` — a figure, inline or as a block (a generated table: VALUE
  then starts and ends with a newline). ``--write`` replaces VALUE; tests/unit/test_doc_figures.py
  recomputes every ``code`` figure and fails on a stale value or an unknown NAME.
* ``<!-- measured: COMMAND -->`` ... ``<!-- /measured -->`` — figures that depend on the machine
  (seconds) or need a cloud (the end-to-end counts): they cannot be asserted, so they sit inside a
  block naming the command in this repository that reproduces them.

Outside those two, a doc may not quote seconds, "N resources", "N cases" / "N subprocesses", or a dollar
amount that is not a list price of the vendored table (tools/prices/aws-prices-us-east-1.md): see
:func:`unmarked_figures`.

Figures come in two tiers: ``code`` (the program under echo mocks, the price file, the bad-input
corpus; seconds to compute) and ``gates`` (checkov, parliament and cloudsplaining counts; they need the
scanners' venvs, ``bash scripts/bootstrap.sh --gates``, and are only rewritten or checked with ``--gates``).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import idle_cost  # noqa: E402
from infra.config import load_from_files  # noqa: E402
from localcloud.plan import PlainMocks  # noqa: E402
from localcloud.runner import ProgramRun, run_program  # noqa: E402
from modules.network import egress  # noqa: E402
from modules.observability.settings import AlarmThresholds  # noqa: E402
from tools import cost, cost_report, guards, iam_documents, planjson  # noqa: E402
from tools.planexport import run_stack  # noqa: E402

CODE, GATES = "code", "gates"
FIGURE = re.compile(r"<!-- fig:(?P<name>[\w.\-]+) -->(?P<value>.*?)<!-- /fig -->", re.DOTALL)
MEASURED = re.compile(r"<!-- measured: (?P<command>.+?) -->(?P<body>.*?)<!-- /measured -->", re.DOTALL)
# Idle-cost targets: issue 2 (dev, one more team) and issue 12 (the Kubernetes layer, and the reference EKS variant
# of the Terraform blueprint it is compared with, as the issue quotes it): what the figures are held to, not measurements.
TARGETS = {"dev-idle": 25, "team": 1, "kubernetes-idle": 110, "kubernetes-reference": 290}
# The bad-input corpus's kinds, by the first word of a case's directory name (tests/badinput/cases/<kind>-...).
# A kind not listed here is shown by its prefix: the table stays true while cases are added.
BADINPUT_KINDS = {
    "yaml": "YAML syntax",
    "type": "wrong types and out-of-range values",
    "unknown": "unknown keys",
    "injection": "injection-like names and values",
    "cidr": "CIDRs",
    "quota": "quotas",
    "batch": "more compute environments or job queues than AWS Batch allows (generated team files)",
    "region": "missing, unknown or duplicate pieces",
    "stackfile": "missing, unknown or duplicate pieces",
    "environment": "missing, unknown or duplicate pieces",
    "duplicate": "missing, unknown or duplicate pieces",
    "missing": "missing, unknown or duplicate pieces",
    "prod": "a production stack without protection",
    "team": "team files as a whole (empty, comments only, name mismatch)",
    "plain": "errors a validator library words badly, reworded",
    "secret": "secrets in plaintext (the value is never echoed)",
    "ui": "Metaflow UI settings",
    "warehouse": "warehouse settings",
    "many": "many problems at once",
}


# Pages written whole by a generator, each held to the code by its own test: their numbers are the code's.
GENERATED_DOCS = ("docs/reference/stack-keys.md", "docs/reference/team-keys.md", "docs/reference/troubleshooting.md")


def docs(root: Path = ROOT) -> list[Path]:
    """The documents whose figures are kept true: README.md, every page of docs/ except the generated pages,
    and the layers' READMEs (modules/<layer>/README.md), which the docs site can show as pages too."""
    pages = sorted((root / "docs").rglob("*.md"))
    layers = sorted((root / "modules").glob("*/README.md"))
    return [root / "README.md", *(p for p in pages if p.relative_to(root).as_posix() not in GENERATED_DOCS), *layers]


class UnknownFigure(Exception):
    pass


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    tier: str
    compute: Callable[[Measurements, re.Match[str]], str]
    describe: str


def money(value: float) -> str:
    return f"{value:,.2f}"


def per_stack(values: dict[str, int]) -> str:
    """``31 in each stack``, or ``local 31, dev 31, staging 30, prod 33`` when they differ."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return f"{distinct.pop()} in each stack"
    return ", ".join(f"{stack} {n}" for stack, n in values.items())


class Measurements:
    """Runs what the figures need, each thing once (the program per stack, the plan, the scanners)."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.stacks = sorted(
            (p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (root / "stacks").glob("Pulumi.*.yaml")),
            key=lambda s: ["local", "dev", "staging", "prod"].index(s) if s in ("local", "dev", "staging", "prod") else 99,
        )

    def stack(self, name: str) -> str:
        if name not in self.stacks:
            raise UnknownFigure(f"no stack {name!r} (stacks: {', '.join(self.stacks)})")
        return name

    # ---------------------------------------------------------------- the program, echo mocks

    @functools.cache  # noqa: B019 (one short-lived instance per command or test session)
    def run(self, stack: str) -> ProgramRun:
        """What ``benchmarks/deploy_time.py`` and ``benchmarks/idle_cost.py`` run: PlainMocks."""
        return run_program(self.root, stack, PlainMocks())

    def declared(self, stack: str) -> int:
        return len(self.run(stack).custom_resources())

    @functools.cached_property
    def declarations(self) -> cost_report.Declarations:
        return cost_report.Declarations(self.root, runs=self.run)

    @functools.cache  # noqa: B019
    def cost(self, stack: str) -> cost_report.CostReport:
        """What ``strata cost --stack <stack>`` reports (tools/cost_report.py), from the same run."""
        return cost_report.report(self.root, stack, declarations=self.declarations)

    def costs(self) -> dict[str, cost_report.CostReport]:
        """The reports of the stacks the cost page compares (``benchmarks/idle_cost.py`` STACKS)."""
        return {s: self.cost(s) for s in self.stacks if s in idle_cost.STACKS}

    # ---------------------------------------------------------------- the plan export (ArnMocks)

    @functools.cache  # noqa: B019
    def snapshot(self, stack: str) -> tuple[ProgramRun, dict[str, dict[str, Any]]]:
        run, mocks = run_stack(self.root, stack)
        return run, dict(mocks.states)

    @functools.cache  # noqa: B019
    def plan(self, stack: str) -> dict[str, Any]:
        """What ``strata plan-json --stack <stack>`` writes (``tools.planexport.export_plan``, from the same run)."""
        run, states = self.snapshot(stack)
        return planjson.to_terraform_plan(planjson.plan_resources(run.registrations, states))

    def planned(self, stack: str) -> int:
        return len(self.plan(stack)["planned_values"]["root_module"]["resources"])

    def iam_documents(self, stack: str) -> list[iam_documents.IamDocument]:
        run, states = self.snapshot(stack)
        aws = [r for r in run.registrations if r.custom and r.type.startswith("aws:")]
        arns = {urn: state["arn"] for urn, state in states.items() if state.get("arn")}
        return iam_documents.documents(aws, arns)

    # ---------------------------------------------------------------- files

    def teams(self, stack: str) -> int:
        return len(load_from_files(self.root, stack).teams)

    def badinput_cases(self) -> list[Path]:
        cases = self.root / "tests" / "badinput" / "cases"
        return sorted(p for p in cases.iterdir() if (p / "expect.yaml").exists())

    def golden_urns(self, stack: str) -> int:
        lines = (self.root / "tests" / "golden" / f"urns-{stack}.txt").read_text().splitlines()
        return sum(1 for line in lines if line.startswith("urn:"))

    # ---------------------------------------------------------------- the scanners (gates tier)

    @functools.cached_property
    def checkov(self) -> dict[str, dict[str, Any]]:
        """stack -> {"gate": report, "raw": report}: the gate as tests/gates/test_checkov.py runs it, and
        checkov alone (no skips, no custom checks) outside the repository."""
        gates = _gate_tests()
        checkov_test = gates["test_checkov"]
        work = Path(tempfile.mkdtemp(prefix="strata-figures-"))
        try:
            reports = {}
            for stack in self.stacks:
                plan_file = work / f"{stack}.json"
                plan_file.write_text(json.dumps(self.plan(stack)))
                skips = checkov_test.config_skips() + sorted(checkov_test.stack_skips().get(stack, {}))
                gate = checkov_test.run_checkov(checkov_test.checkov_command(plan_file, skips))
                raw_command = [str(self.root / ".venv-gates" / "bin" / "checkov"), "-f", str(plan_file)]
                raw = checkov_test.run_checkov(
                    [*raw_command, "--framework", "terraform_plan", "-o", "json", "--skip-download"], cwd=work
                )
                reports[stack] = {"gate": gate, "raw": raw}
            return reports
        finally:
            shutil.rmtree(work)

    @functools.cached_property
    def iam_findings(self) -> dict[str, list[tuple[dict[str, Any], bool]]]:
        """stack -> [(finding, suppressed)] as tests/gates/test_iam_lint.py lints them."""
        iam_test = _gate_tests()["test_iam_lint"]
        items = [
            {"id": f"{stack}/{doc.id}", "kind": doc.kind, "document": iam_documents.lint_view(doc)}
            for stack in self.stacks
            for doc in self.iam_documents(stack)
        ]
        findings = iam_test.lint(items)["findings"]
        return {s: [(f, bool(iam_test.suppressed_by(f))) for f in findings if f["id"].startswith(f"{s}/")] for s in self.stacks}


def _gate_tests() -> dict[str, Any]:
    """The gate tests' own helpers (same commands, skips and suppression matching as the gates)."""
    gates = str(ROOT / "tests" / "gates")
    if gates not in sys.path:
        sys.path.insert(0, gates)
    for venv, tool in ((".venv-gates", "checkov"), (".venv-iam", "python")):
        if not (ROOT / venv / "bin" / tool).exists():
            raise SystemExit(f"{venv}/bin/{tool} is missing: run `bash scripts/bootstrap.sh --gates` first")
    import test_checkov
    import test_iam_lint

    return {"test_checkov": test_checkov, "test_iam_lint": test_iam_lint}


# -------------------------------------------------------------------------------- the figures


def _badinput_kinds(m: Measurements) -> str:
    groups: dict[str, list[str]] = {}
    for case in m.badinput_cases():
        kind = case.name.split("-", 1)[0]
        groups.setdefault(BADINPUT_KINDS.get(kind, f"`{kind}-*`"), []).append(f"`{case.name}`")
    out = ["| kind | cases | which |", "|---|---:|---|"]
    out += [f"| {label} | {len(names)} | {', '.join(names)} |" for label, names in groups.items()]
    return "\n" + "\n".join(out) + "\n"


def _single_mistake(m: Measurements) -> str:
    expects = [yaml.safe_load((case / "expect.yaml").read_text()) for case in m.badinput_cases()]
    return str(sum(1 for e in expects if "min_count" not in e and e.get("count", 1) == 1))


def _plan_table(m: Measurements) -> str:
    out = ["| stack | resources exported = scanned by checkov |", "|---|---:|"]
    out += [f"| {stack} | {m.planned(stack)} |" for stack in m.stacks]
    return "\n" + "\n".join(out) + "\n"


def _iam_documents(m: Measurements, stack: str) -> str:
    docs_ = m.iam_documents(m.stack(stack))
    kinds = [sum(1 for d in docs_ if d.kind == k) for k in (iam_documents.IDENTITY, iam_documents.RESOURCE, iam_documents.TRUST)]
    return f"{len(docs_)} ({' / '.join(map(str, kinds))})"


def _checkov(m: Measurements, stack: str, run: str, outcome: str) -> str:
    return str(m.checkov[m.stack(stack)][run]["summary"][outcome])


def _custom_passed(m: Measurements, stack: str) -> str:
    passed = m.checkov[m.stack(stack)]["gate"]["results"]["passed_checks"]
    return str(sum(1 for r in passed if r["check_id"].startswith("CKV_STRATA_")))


def _iam(m: Measurements, stack: str, what: str) -> str:
    found = m.iam_findings[m.stack(stack)]
    return str({"findings": len(found), "suppressed": sum(s for _, s in found), "open": sum(not s for _, s in found)}[what])


def _count_by_type(m: Measurements, typ: str) -> str:
    return per_stack({s: sum(1 for r in m.run(s).custom_resources() if r.type == typ) for s in m.stacks})


S = r"(?P<stack>[a-z0-9-]+)"
RULES = [
    Rule(
        re.compile(r"teams\.per-stack"),
        CODE,
        lambda m, x: per_stack({s: m.teams(s) for s in m.stacks}),
        "teams (and so team profiles in SSM)",
    ),
    Rule(re.compile(r"teams\." + S), CODE, lambda m, x: str(m.teams(m.stack(x["stack"]))), "teams in the stack"),
    Rule(
        re.compile(r"resources\.declared\." + S),
        CODE,
        lambda m, x: str(m.declared(m.stack(x["stack"]))),
        "resources the program declares (echo mocks; benchmarks/deploy_time.py)",
    ),
    Rule(
        re.compile(r"resources\.declared\.range"),
        CODE,
        lambda m, x: f"{min(map(m.declared, m.stacks))}–{max(map(m.declared, m.stacks))}",
        "fewest–most resources declared by a stack",
    ),
    Rule(
        re.compile(r"resources\.plan\." + S),
        CODE,
        lambda m, x: str(m.planned(m.stack(x["stack"]))),
        "resources in `strata plan-json --stack <stack>`",
    ),
    Rule(re.compile(r"resources\.plan\.table"), CODE, lambda m, x: _plan_table(m), "table: plan-json resources per stack"),
    *(Rule(pattern, CODE, compute, what) for pattern, compute, what in idle_cost.figure_rules(S)),
    Rule(re.compile(r"target\.(?P<t>[a-z-]+)"), CODE, lambda m, x: str(TARGETS[x["t"]]), "an idle-cost target (issues 2 and 12)"),
    Rule(
        re.compile(r"network\.interface-endpoints"),
        CODE,
        lambda m, x: str(len(egress.INTERFACE_ENDPOINT_SERVICES)),
        "interface endpoints of egress: endpoints",
    ),
    Rule(
        re.compile(r"network\." + S + r"\.azs"),
        CODE,
        lambda m, x: str(load_from_files(m.root, m.stack(x["stack"])).settings.network.az_count),
        "AZs of the stack's network",
    ),
    Rule(
        re.compile(r"network\." + S + r"\.interface-endpoints-monthly"),
        CODE,
        lambda m, x: money(
            len(egress.INTERFACE_ENDPOINT_SERVICES)
            * load_from_files(m.root, m.stack(x["stack"])).settings.network.az_count
            * cost.PRICES["interface_endpoint_az_hour"]
            * cost.HOURS
        ),
        "$/month of the interface endpoints in every AZ of the stack",
    ),
    Rule(
        re.compile(r"warehouse\." + S + r"\.base-capacity"),
        CODE,
        lambda m, x: str(load_from_files(m.root, m.stack(x["stack"])).settings.warehouse.base_capacity),
        "Redshift Serverless base capacity (RPU)",
    ),
    Rule(
        re.compile(r"warehouse\." + S + r"\.query-hour"),
        CODE,
        lambda m, x: money(
            load_from_files(m.root, m.stack(x["stack"])).settings.warehouse.base_capacity
            * cost.PRICES["redshift_serverless_rpu_hour"]
        ),
        "$ per hour of queries at the base capacity (Redshift Serverless)",
    ),
    Rule(
        re.compile(r"alarm\.default\.(?P<field>[a-z-]+)"),
        CODE,
        lambda m, x: str(AlarmThresholds.model_fields[x["field"].replace("-", "_")].default),
        "an alarm threshold's default (modules/observability/settings.py AlarmThresholds)",
    ),
    Rule(
        re.compile(r"alarm\." + S + r"\.(?P<field>[a-z-]+)"),
        CODE,
        lambda m, x: str(
            getattr(load_from_files(m.root, m.stack(x["stack"])).settings.observability.alarms, x["field"].replace("-", "_"))
        ),
        "an alarm threshold of the stack (strata:observability.alarms)",
    ),
    Rule(
        re.compile(r"free-tier\.(?P<key>[a-z-]+)"),
        CODE,
        lambda m, x: str({t.key: t.quantity for t in cost.price_file().free_tier}[x["key"].replace("-", "_")]),
        "a free allowance of the price file (alarm-metrics, dashboards)",
    ),
    Rule(
        re.compile(r"prices\.unconfirmed"),
        CODE,
        lambda m, x: (
            "; ".join(
                sorted(
                    {
                        f"{e.row} ({cost.price_table()[e.row].price})"
                        for e in cost.price_file().prices
                        if e.confirmed == "UNCONFIRMED"
                    }
                )
            )
            or "none"
        ),
        "the prices the model uses that the table marks UNCONFIRMED",
    ),
    Rule(re.compile(r"badinput\.cases"), CODE, lambda m, x: str(len(m.badinput_cases())), "bad-input cases"),
    Rule(re.compile(r"badinput\.single-mistake"), CODE, lambda m, x: _single_mistake(m), "cases with exactly one mistake"),
    Rule(re.compile(r"badinput\.kinds"), CODE, lambda m, x: _badinput_kinds(m), "table: bad-input cases by kind"),
    Rule(
        re.compile(r"checkov\.custom-checks"),
        CODE,
        lambda m, x: str(
            len(
                set(
                    re.findall(
                        r"CKV_STRATA_\d+", "".join(p.read_text() for p in (m.root / "security/checkov").iterdir() if p.is_file())
                    )
                )
            )
        ),
        "custom checkov checks (security/checkov)",
    ),
    Rule(
        re.compile(r"iam\." + S + r"\.documents"),
        CODE,
        lambda m, x: _iam_documents(m, x["stack"]),
        "IAM documents (identity / resource / trust)",
    ),
    Rule(
        re.compile(r"iam\.suppressions"),
        CODE,
        lambda m, x: str(len(yaml.safe_load((m.root / "security/iam-suppressions.yaml").read_text()) or [])),
        "suppressions in security/iam-suppressions.yaml",
    ),
    Rule(
        re.compile(r"stateful\." + S),
        CODE,
        lambda m, x: str(len(guards.stateful_resources(m.run(m.stack(x["stack"])).registrations))),
        "stateful resources (tools/guards.py)",
    ),
    Rule(
        re.compile(r"golden\.per-stack"),
        CODE,
        lambda m, x: per_stack({s: m.golden_urns(s) for s in m.stacks}),
        "stateful URNs in tests/golden/urns-<stack>.txt",
    ),
    Rule(
        re.compile(r"outputs\.per-stack"),
        CODE,
        lambda m, x: per_stack({s: len(m.run(s).outputs) for s in m.stacks}),
        "stack outputs",
    ),
    Rule(
        re.compile(r"task-definitions\.per-stack"),
        CODE,
        lambda m, x: _count_by_type(m, "aws:ecs/taskDefinition:TaskDefinition"),
        "ECS task definitions",
    ),
    Rule(
        re.compile(r"checkov\." + S + r"\.(?P<run>gate|raw)\.(?P<outcome>passed|failed)"),
        GATES,
        lambda m, x: _checkov(m, x["stack"], x["run"], x["outcome"]),
        "checkov checks passed/failed, gate or raw",
    ),
    Rule(
        re.compile(r"checkov\." + S + r"\.custom-passed"),
        GATES,
        lambda m, x: _custom_passed(m, x["stack"]),
        "custom checks passed",
    ),
    Rule(
        re.compile(r"iam\." + S + r"\.(?P<what>findings|suppressed|open)"),
        GATES,
        lambda m, x: _iam(m, x["stack"], x["what"]),
        "IAM linter findings",
    ),
]


def rule_for(name: str) -> tuple[Rule, re.Match[str]]:
    # Names without a stack first: `resources.declared.range` is not the stack "range".
    for rule in sorted(RULES, key=lambda r: "(?P<stack>" in r.pattern.pattern):
        if match := rule.pattern.fullmatch(name):
            return rule, match
    raise UnknownFigure(f"unknown figure {name!r}")


def compute(m: Measurements, name: str) -> str:
    rule, match = rule_for(name)
    try:
        return rule.compute(m, match)
    except (KeyError, AttributeError) as e:
        raise UnknownFigure(f"unknown figure {name!r}: {e}") from None


# -------------------------------------------------------------------------------- the documents


@dataclass(frozen=True)
class Marker:
    path: Path
    line: int
    name: str
    value: str
    span: tuple[int, int]  # of the value in the file's text


def markers(path: Path) -> Iterator[Marker]:
    text = path.read_text()
    for found in FIGURE.finditer(text):
        yield Marker(path, text.count("\n", 0, found.start()) + 1, found["name"], found["value"], found.span("value"))


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check(m: Measurements, paths: list[Path], tiers: set[str]) -> list[Problem]:
    """Every stale or unknown marked figure of ``paths`` (figures of other tiers: names only)."""
    problems = []
    for path in paths:
        for mark in markers(path):
            where = f"{_rel(path, m.root)}:{mark.line}"
            try:
                rule, match = rule_for(mark.name)
                if rule.tier not in tiers:
                    if "stack" in rule.pattern.groupindex:
                        m.stack(match["stack"])  # at least the name must be right
                    continue
                expected = compute(m, mark.name)
            except (UnknownFigure, ValueError) as e:
                problems.append(Problem(where, str(e)))
                continue
            if mark.value != expected:
                problems.append(
                    Problem(where, f"fig:{mark.name} reads {mark.value.strip()!r}, the code gives {expected.strip()!r}")
                )
    return problems


def write(m: Measurements, paths: list[Path], tiers: set[str]) -> tuple[list[str], list[Problem]]:
    """Rewrite every marked figure of ``tiers`` in place; returns what changed, and the markers it could
    not compute (unknown names), which it leaves as they are."""
    changed, problems = [], []
    for path in paths:
        text = original = path.read_text()
        for mark in sorted(markers(path), key=lambda k: -k.span[0]):
            where = f"{_rel(path, m.root)}:{mark.line}"
            try:
                rule, _ = rule_for(mark.name)
                if rule.tier not in tiers:
                    continue
                value = compute(m, mark.name)
            except (UnknownFigure, ValueError) as e:
                problems.append(Problem(where, str(e)))
                continue
            if value != mark.value:
                changed.append(f"{where}: {mark.name}: {mark.value.strip()!r} -> {value.strip()!r}")
                text = text[: mark.span[0]] + value + text[mark.span[1] :]
        if text != original:  # never rewrite a document that did not change
            path.write_text(text)
    return changed, problems


# Figures a document may not quote outside a marker or a measured block: (what, pattern).
TIMING = re.compile(r"(?<![\w.$])~?\d+(?:\.\d+)?(?:\s?[–-]\s?\d+(?:\.\d+)?)?\s?(?:s|ms)\b")
COUNTS = re.compile(r"\b\d+ (?:`[^`]*` )?(?:resources|cases|subprocesses)\b")


def list_prices() -> set[float]:
    """Every amount in the vendored table's price and monthly columns."""
    amounts = set()
    for row in cost.price_table().values():
        for cell in (row.price, row.monthly):
            amounts |= {float(a.replace(",", "")) for a in cost.DOLLARS.findall(cell)}
    return amounts


def unmarked_figures(path: Path, root: Path = ROOT) -> list[Problem]:
    """Figures quoted outside a ``fig`` marker or a ``measured`` block: seconds, resource / case /
    subprocess counts, and dollar amounts that are not list prices of the vendored table. A measured
    block must name a command whose script or test path exists in the repository."""
    text = path.read_text()
    problems = []
    rel = _rel(path, root)

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    for block in MEASURED.finditer(text):
        paths = [t for t in block["command"].split() if "/" in t and (root / t.strip("`")).exists()]
        if not paths:
            problems.append(
                Problem(
                    f"{rel}:{line_of(block.start())}",
                    f"measured block names no script or test of this repository: {block['command']!r}",
                )
            )
    # Blank out markers and measured blocks (keeping line numbers), then look at what is left.
    blank = text
    for pattern in (FIGURE, MEASURED):
        blank = pattern.sub(lambda k: re.sub(r"[^\n]", " ", k.group(0)), blank)
    prices = list_prices()
    for number, line in enumerate(blank.splitlines(), start=1):
        for found in TIMING.finditer(line):
            problems.append(
                Problem(f"{rel}:{number}", f"a timing ({found.group(0).strip()!r}) outside a measured block naming its command")
            )
        for found in COUNTS.finditer(line):
            problems.append(Problem(f"{rel}:{number}", f"{found.group(0)!r} is not a marked figure (<!-- fig:NAME -->)"))
        for found in cost.DOLLARS.finditer(line):
            if float(found.group(1).replace(",", "")) not in prices:
                problems.append(
                    Problem(
                        f"{rel}:{number}", f"${found.group(1)} is neither a list price of the vendored table nor a marked figure"
                    )
                )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="exit 1 naming each stale or unknown figure")
    action.add_argument("--write", action="store_true", help="rewrite the marked figures in place")
    parser.add_argument("--gates", action="store_true", help="also the scanners' counts (needs .venv-gates and .venv-iam)")
    args = parser.parse_args()
    m, paths = Measurements(), docs()
    tiers = {CODE, GATES} if args.gates else {CODE}
    if args.write:
        changed, problems = write(m, paths, tiers)
        for change in changed:
            print(change)
        problems += [p for path in paths for p in unmarked_figures(path)]
        for problem in problems:
            print(f"problem: {problem}")
        raise SystemExit(1 if problems else 0)
    problems = check(m, paths, tiers) + [p for path in paths for p in unmarked_figures(path)]
    if args.check:
        for problem in problems:
            print(problem)
        raise SystemExit(1 if problems else 0)
    for path in paths:
        for mark in markers(path):
            rule, _ = rule_for(mark.name)
            value = compute(m, mark.name) if rule.tier in tiers else "(--gates)"
            print(f"{_rel(path, ROOT)}:{mark.line}  {mark.name} = {value.strip()}  ({rule.describe})")
    for problem in problems:
        print(f"problem: {problem}")


if __name__ == "__main__":
    main()
