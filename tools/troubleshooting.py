"""The troubleshooting page: every error message a user can see, with its fix, read out of the code itself.

Two kinds of message reach a user, and both are written at one kind of call site each, so a scan of the source
finds them all (``ast``, no import of the scanned code):

* **Config problems** (``strata validate``, ``pulumi preview`` and ``pulumi up`` stop on them): every
  ``issues.add(file, key, problem, fix)`` in ``core/``, ``modules/`` and ``infra/``. Each has its own fix.
* **Command errors** of the ``strata`` CLI and the SDK: ``raise <X>Problem(...)`` / ``raise <X>Error(...)`` and
  the ``[red]error:[/red]`` / ``problem:`` lines printed in ``sdk/strata/``, ``tools/`` and ``localcloud/``. The
  house rule (docs/architecture.md) is that such a message carries its fix after a colon; the page shows it whole.

Parts computed at run time are shown as ``<name>`` (the expression, shortened). The page is generated; a test
holds the committed page to the code and the bad-input corpus's fixes to the page.

    .venv/bin/python -m tools.troubleshooting           # regenerate docs/reference/troubleshooting.md
    .venv/bin/python -m tools.troubleshooting --check   # exit 1 if the committed page differs
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools import schemas

ROOT = Path(__file__).resolve().parents[1]
PAGE = "docs/reference/troubleshooting.md"
CONFIG_SOURCES = ("core", "modules", "infra")
COMMAND_SOURCES = ("sdk/strata", "tools", "localcloud")
_EXCEPTION = re.compile(r"(Problem|Error|Refused|NotConfigured|Failed|Timeout)$")
_MARKUP = re.compile(r"\[/?(?:red|yellow|green|bold|dim|cyan)\]")
_PRINTED = re.compile(r"^(?:error|problem):\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ConfigProblem:
    source: str
    key: str
    problem: str
    fix: str


@dataclass(frozen=True)
class CommandError:
    source: str
    message: str


def _placeholder(node: ast.expr) -> str:
    text = ast.unparse(node)
    text = re.sub(r"\s+", " ", text)
    return f"<{text if len(text) <= 40 else text[:37] + '...'}>"


def render(node: ast.expr) -> str:
    """The message an expression builds, with what is computed at run time as ``<expression>``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(_placeholder(value.value))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return render(node.left) + render(node.right)
    return _placeholder(node)


def _python_files(root: Path, folders: tuple[str, ...]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((root / folder).rglob("*.py"))


def config_problems(root: Path = ROOT) -> list[ConfigProblem]:
    """Every ``<issues>.add(file, key, problem, fix)`` call of the program's checks."""
    found = []
    for path in _python_files(root, CONFIG_SOURCES):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"):
                continue
            args = list(node.args) + [k.value for k in node.keywords]
            if len(args) != 4:
                continue
            _, key, problem, fix = args
            found.append(ConfigProblem(str(path.relative_to(root)), render(key), render(problem), render(fix)))
    return found


def user_exceptions(root: Path = ROOT) -> set[str]:
    """The exception classes the commands define for their users (``ServeProblem``, ``WarehouseError``...), and
    their subclasses. Python's own (``ValueError``...) are left out: raised as such, they are programming errors a
    command does not show as a message of its own."""
    classes: dict[str, list[str]] = {}
    for path in _python_files(root, COMMAND_SOURCES):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
    found = {
        name for name in classes if _EXCEPTION.search(name) and any(b.endswith(("Exception", "Error")) for b in classes[name])
    }
    while True:
        more = {name for name, bases in classes.items() if set(bases) & found} - found
        if not more:
            return found
        found |= more


def _raised_name(node: ast.Raise, exceptions: set[str]) -> str | None:
    call = node.exc
    if isinstance(call, ast.Call):
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in exceptions and call.args:
            return name
    return None


def _printed_error(node: ast.Call) -> ast.expr | None:
    """The message of ``err.print("[red]error:[/red] ...")`` or of a ``problems.append(...)``."""
    func = node.func
    if not isinstance(func, ast.Attribute) or not node.args:
        return None
    if func.attr == "print" and isinstance(node.args[0], ast.JoinedStr | ast.Constant):
        text = render(node.args[0])
        return node.args[0] if text.startswith(("[red]error", "[red]problem")) else None
    if func.attr == "append" and isinstance(func.value, ast.Name) and func.value.id == "problems":
        return node.args[0]
    return None


def command_errors(root: Path = ROOT) -> list[CommandError]:
    """Every error a command raises or prints for its user, in source order."""
    found = []
    exceptions = user_exceptions(root)
    for path in _python_files(root, COMMAND_SOURCES):
        if path.name in {"troubleshooting.py", "guards.py", "import_graph.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            message: ast.expr | None = None
            if isinstance(node, ast.Raise) and _raised_name(node, exceptions) and isinstance(node.exc, ast.Call):
                message = node.exc.args[0]
            elif isinstance(node, ast.Call):
                message = _printed_error(node)
            if message is None:
                continue
            text = _PRINTED.sub("", _MARKUP.sub("", render(message))).strip()
            # A message that is only a value passed along (``str(exc)``) says nothing here: its origin is listed.
            if text and not re.fullmatch(r"<[^>]*>", text):
                found.append(CommandError(str(path.relative_to(root)), text))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Example:
    case: str
    about: str
    file: str
    key: str
    problem: str
    fix: str


def corpus_examples() -> list[Example]:
    """What ``strata validate`` reports for each case of the bad-input corpus, as it prints it (real values)."""
    from infra.config import ConfigError, load_from_files
    from tools import badinput_corpus

    examples = []
    with tempfile.TemporaryDirectory(prefix="strata-troubleshooting-") as tmp:
        for case in badinput_corpus.CASES:
            expect = badinput_corpus.expectation(case)
            (Path(tmp) / case).mkdir()
            root = badinput_corpus.build_overlay(case, Path(tmp) / case)
            try:
                load_from_files(root, expect["stack"])
            except ConfigError as exc:
                first = exc.issues[0]
                about = expect.get("about", case) + (f" ({len(exc.issues)} problems; the first)" if len(exc.issues) > 1 else "")
                file = first.file.replace(str(root) + "/", "")
                examples.append(Example(case, about, file, first.key, first.problem, first.fix))
    return examples


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").split())


def page(root: Path = ROOT, examples: list[Example] | None = None) -> str:
    """The page; ``examples`` are :func:`corpus_examples` when the caller has them already."""
    examples = corpus_examples() if examples is None else examples
    problems = config_problems(root)
    errors = command_errors(root)
    out = [
        "# Troubleshooting",
        "",
        "<!-- Generated by `.venv/bin/python -m tools.troubleshooting` from the code; do not edit by hand. -->",
        "",
        "Every error message Strata can show, read out of the code that prints it, each with its fix. Text in "
        "`<angle brackets>` is filled in when the message is shown (a key, a value, a name). Search this page for "
        "the words of your message.",
        "",
        "First steps for a data scientist: `strata doctor --env <env> --team <team>` checks the whole set-up and "
        "prints a fix per failed check ([Doctor](../doctor.md)). For a platform engineer: "
        "`strata validate --stack <env>` checks a stack and its team files offline.",
        "",
        f"## Config problems ({len(problems)})",
        "",
        "Shown by `strata validate`, `pulumi preview` and `pulumi up` as `<file>: <key>: <problem>` and `fix: <fix>`; "
        "every problem of a stack and its team files is reported at once, and nothing is deployed until all are fixed.",
        "",
        "| key | problem | fix | checked in |",
        "|---|---|---|---|",
    ]
    for p in sorted(problems, key=lambda p: (p.source, p.key, p.problem)):
        out.append(f"| {_cell(p.key)} | {_cell(p.problem)} | {_cell(p.fix)} | `{p.source}` |")
    out += [
        "",
        f"### As printed: the bad-input corpus ({len(examples)} mistakes)",
        "",
        "What `strata validate` prints for each mistake of `tests/badinput/cases/` (the corpus the tests hold "
        "every check to), with the real values. Type and shape mistakes (a string where a number goes, an unknown "
        "or missing key) are translated from the settings models, so they appear here rather than above.",
        "",
        "| mistake | file: key | problem | fix |",
        "|---|---|---|---|",
    ]
    for x in examples:
        out.append(f"| {_cell(x.about)} | `{x.file}`: {_cell(x.key)} | {_cell(x.problem)} | {_cell(x.fix)} |")
    out += [
        "",
        f"## Command errors ({len(errors)})",
        "",
        "Printed by the `strata` commands as `error: <message>` (exit code 1 or 2, no traceback); each message "
        "ends with what to do.",
        "",
        "| message | from |",
        "|---|---|",
    ]
    for e in sorted(errors, key=lambda e: (e.source, e.message)):
        out.append(f"| {_cell(e.message)} | `{e.source}` |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.troubleshooting", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed page differs from the code")
    args = parser.parse_args(argv)
    return schemas.sync_generated({PAGE: page()}, ROOT, args.check, "tools.troubleshooting")


if __name__ == "__main__":
    sys.exit(main())
