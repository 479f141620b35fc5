"""Lint IAM policy documents with parliament and cloudsplaining; print the findings as JSON.

Runs in .venv-iam (``bash scripts/bootstrap.sh --gates``), where both linters live, away from the
platform's .venv. Reads on stdin a JSON list of ``{"id": str, "kind": "identity"|"resource"|"trust",
"document": {...}}`` and prints ``{"tools": {...versions}, "findings": [...]}``, each finding
``{"id", "tool", "issue", "detail", "actions"}`` (actions lower-cased, when the tool names them). Exit status 0 whatever it finds: the caller gates on the list
(tests/gates/test_iam_lint.py), as cloudsplaining's own CLI always exits 0.

- parliament: ``analyze_policy_string`` with the community auditors on, for every document.
- cloudsplaining: its ``PolicyDocument`` risk properties (privilege escalation, data exfiltration,
  resource exposure, infrastructure modification, credentials exposure, service wildcards) for
  identity policies — what it is built for. It reads Allow statements only, and a resource or
  trust policy grants to its Principal, not to the holder, so there they would be false positives.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from typing import Any

# cloudsplaining finding -> PolicyDocument property. Resource exposure is "permissions management
# without constraints" in its report.
CLOUDSPLAINING_RISKS = {
    "PrivilegeEscalation": "allows_privilege_escalation",
    "DataExfiltration": "allows_data_exfiltration_actions",
    "ResourceExposure": "permissions_management_without_constraints",
    "InfrastructureModification": "infrastructure_modification",
    "CredentialsExposure": "credentials_exposure",
    "ServiceWildcard": "service_wildcard",
}


def _patch_parliament() -> None:
    """parliament 1.6.4's bundled IAM definitions type some condition keys ``ArrayOfARN`` and
    ``ArrayOfBool``, which its own type translator does not know: it raises "Unknown data format"
    on any statement using such a key. Map them to the element type, as it does for ArrayOfString."""
    from parliament import statement

    original = statement.translate_documentation_types
    if getattr(original, "_strata_patched", False):
        return

    def translate(type_name: str) -> str:
        if type_name in ("ArrayOfARN", "ArrayOfArn"):
            return "Arn"
        if type_name == "ArrayOfBool":
            return "Bool"
        return original(type_name)

    translate._strata_patched = True  # type: ignore[attr-defined]
    statement.translate_documentation_types = translate


def parliament_findings(text: str) -> list[dict[str, Any]]:
    from parliament import analyze_policy_string

    _patch_parliament()
    policy = analyze_policy_string(text, include_community_auditors=True)
    findings = []
    for f in policy.findings:
        # The community auditors put the offending actions in the location, not in the detail.
        location = f.location if isinstance(f.location, dict) else {}
        actions = sorted({str(a).lower() for a in location.get("actions") or []})
        findings.append(
            {
                "tool": "parliament",
                "issue": f.issue,
                "detail": json.dumps(f.detail, default=str, sort_keys=True),
                "actions": actions,
            }
        )
    return findings


def cloudsplaining_findings(document: dict[str, Any]) -> list[dict[str, Any]]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    policy = PolicyDocument(document)
    findings = []
    for issue, prop in CLOUDSPLAINING_RISKS.items():
        found = getattr(policy, prop)
        if found:
            actions = sorted({str(a).lower() for a in found if isinstance(a, str)})
            findings.append(
                {
                    "tool": "cloudsplaining",
                    "issue": issue,
                    "detail": json.dumps(found, default=str, sort_keys=True),
                    "actions": actions,
                }
            )
    return findings


def lint(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    findings = []
    for item in items:
        text = json.dumps(item["document"])
        found = parliament_findings(text)
        if item["kind"] == "identity":
            found += cloudsplaining_findings(item["document"])
        findings += [{"id": item["id"], **f} for f in found]
    return findings


def main() -> int:
    items = json.load(sys.stdin)
    report = {
        "tools": {name: metadata.version(name) for name in ("parliament", "cloudsplaining")},
        "documents": len(items),
        "findings": lint(items),
    }
    json.dump(report, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
