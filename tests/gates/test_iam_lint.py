"""The IAM gate: every policy document of every stack, linted by parliament (community auditors on)
and cloudsplaining, 0 findings; a suppression only in security/iam-suppressions.yaml, with a reason.
And no statement anywhere has Action "*" or "<service>:*" on Resource "*".

The linters run in .venv-iam through security/iam_lint.py (one process for every stack's documents).
By hand: see docs/security.md, "IAM linting".
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from typing import Any

import pytest
import yaml
from gate_support import REPO, STACKS, scanner, snapshot

from tools import iam_documents

SUPPRESSIONS = REPO / "security" / "iam-suppressions.yaml"
LINT = REPO / "security" / "iam_lint.py"


def lint(items: list[dict[str, Any]]) -> dict[str, Any]:
    python = scanner(".venv-iam", "python")
    done = subprocess.run([str(python), str(LINT)], input=json.dumps(items), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def documents(stack: str) -> list[iam_documents.IamDocument]:
    snap = snapshot(stack)
    return iam_documents.documents(snap.custom(), snap.arns())


def suppressions() -> list[dict[str, str]]:
    return yaml.safe_load(SUPPRESSIONS.read_text()) or []


def suppressed_by(finding: dict[str, Any]) -> list[int]:
    """Indexes of the suppressions that cover ``finding`` (its id is ``<stack>/<document id>``): same
    tool and issue, document id matching the ``documents`` glob, ``detail`` (if given) a substring of
    the finding's detail, and every action the finding names listed in ``actions`` (if given)."""
    document = finding["id"].split("/", 1)[1]
    return [
        i
        for i, s in enumerate(suppressions())
        if s["tool"] == finding["tool"]
        and s["issue"] == finding["issue"]
        and fnmatch.fnmatchcase(document, s["documents"])
        and s.get("detail", "") in finding["detail"]
        and set(finding.get("actions") or []) <= {a.lower() for a in s.get("actions", finding.get("actions") or [])}
    ]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    scanner(".venv-iam", "python")
    items = [
        {"id": f"{stack}/{doc.id}", "kind": doc.kind, "document": iam_documents.lint_view(doc)}
        for stack in STACKS
        for doc in documents(stack)
    ]
    return lint(items)


def test_every_stack_has_documents_to_lint():
    for stack in STACKS:
        kinds = {d.kind for d in documents(stack)}
        assert kinds >= {iam_documents.IDENTITY, iam_documents.TRUST, iam_documents.RESOURCE}, f"{stack}: {kinds}"


@pytest.mark.parametrize("stack", STACKS)
def test_no_unsuppressed_findings(report, stack):
    open_findings = [
        f"{f['id']} {f['tool']} {f['issue']}: {f['detail'][:300]}"
        for f in report["findings"]
        if f["id"].startswith(f"{stack}/") and not suppressed_by(f)
    ]
    assert not open_findings, (
        f"{stack}: {len(open_findings)} IAM findings (fix the policy, or suppress with a reason):\n" + "\n".join(open_findings)
    )


def test_every_suppression_has_a_reason_and_is_used(report):
    used = {i for f in report["findings"] for i in suppressed_by(f)}
    for i, s in enumerate(suppressions()):
        assert {"tool", "issue", "documents", "reason"} <= set(s), s
        assert len(s["reason"].split()) >= 8, f"suppression {i} ({s['issue']} on {s['documents']}): give a real reason"
        assert i in used, f"suppression {i} ({s['tool']} {s['issue']} on {s['documents']}) matches no finding: remove it"


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_action_on_wildcard_resource(stack):
    for doc in documents(stack):
        bad = iam_documents.wildcard_statements(iam_documents.lint_view(doc))
        assert not bad, f"{stack}: {doc.urn} {doc.attribute}: {bad}"


def test_the_linters_do_find_problems():
    """The pipe is live: an admin-like identity policy must come back with findings from both tools."""
    items = [
        {
            "id": "probe/admin:policy",
            "kind": "identity",
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}],
            },
        }
    ]
    found = lint(items)
    tools = {f["tool"] for f in found["findings"]}
    assert tools == {"parliament", "cloudsplaining"}, found
    assert {"PrivilegeEscalation", "DataExfiltration"} <= {f["issue"] for f in found["findings"]}, found
