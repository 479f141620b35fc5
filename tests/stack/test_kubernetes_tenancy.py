"""Tenancy on the Kubernetes layer, on the real stacks: another team's pods and people try the team's identity
and are refused.

* Its job role (what its pods' service account assumes through IRSA) trusts exactly its own namespace's
  ``strata-job`` account: a web-identity token of another team's account, or of another account in its own
  namespace (the sensors' ``operate-workflow-sa``), matches no statement. moto does not evaluate trust policies,
  so the trust documents the program declares are evaluated here, StringEquals as IAM does.
* Its data scientists' access entry maps them to its own Kubernetes group only, which only its namespace binds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import naming
from infra.config import load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import run_program
from modules.kubernetes import manifests

REPO = Path(__file__).resolve().parents[2]
STACKS = ("local", "staging", "prod")  # the stacks with the layer on


@pytest.fixture(scope="module", params=STACKS)
def stack(request) -> dict[str, Any]:
    run = run_program(REPO, request.param, PlainMocks())
    teams = {t.name: t for t in load_from_files(REPO, request.param).teams if t.kubernetes is not None}
    return {"name": request.param, "resources": list(run.custom_resources()), "teams": teams}


def token_claims(namespace: str, service_account: str) -> dict[str, str]:
    return {"sub": f"system:serviceaccount:{namespace}:{service_account}", "aud": "sts.amazonaws.com"}


def may_assume(trust: dict[str, Any], claims: dict[str, str]) -> bool:
    """Whether an OIDC token with ``claims`` may AssumeRoleWithWebIdentity under ``trust`` (Allow statements with
    StringEquals conditions on <issuer>:sub / :aud, the only form the platform writes; anything else fails)."""
    for statement in trust["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] != "Allow" or "sts:AssumeRoleWithWebIdentity" not in actions:
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) == {"StringEquals"}, f"unexpected condition operators {sorted(conditions)}"
        if all(claims.get(key.rsplit(":", 1)[-1]) == value for key, value in conditions["StringEquals"].items()):
            return True
    return False


def job_role_trust(stack: dict[str, Any], team: str) -> dict[str, Any]:
    name = naming.job_role(stack["name"], team)
    (role,) = [r for r in stack["resources"] if r.type == "aws:iam/role:Role" and r.inputs.get("name") == name]
    return json.loads(role.inputs["assumeRolePolicy"])


def test_a_teams_job_role_admits_its_own_pods_only(stack):
    teams = stack["teams"]
    assert len(teams) >= 2, f"{stack['name']}: the tenancy test needs two teams on the layer"
    for team in teams:
        trust = job_role_trust(stack, team)
        own = teams[team].kubernetes.namespace
        assert may_assume(trust, token_claims(own, naming.TEAM_SERVICE_ACCOUNT)), f"{team}'s own pods"
        assert not may_assume(trust, token_claims(own, naming.OPERATE_WORKFLOW_SERVICE_ACCOUNT)), f"{team}'s sensors"
        assert not may_assume(trust, {**token_claims(own, naming.TEAM_SERVICE_ACCOUNT), "aud": "other"}), "audience"
        for other, t in teams.items():
            if other != team:
                claims = token_claims(t.kubernetes.namespace, naming.TEAM_SERVICE_ACCOUNT)
                assert not may_assume(trust, claims), f"{other}'s pods assume {team}'s job role"


def test_the_evaluator_can_say_yes_to_a_wider_trust():
    """Not vacuous: a trust that names a wildcard-free but wrong subject is refused, a matching one admitted."""
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"oidc.example/id/X:sub": "system:serviceaccount:b:strata-job"}},
            }
        ]
    }
    assert may_assume(trust, token_claims("b", "strata-job")) and not may_assume(trust, token_claims("a", "strata-job"))


def test_a_teams_data_scientists_map_to_its_own_group_only(stack):
    entries = [r for r in stack["resources"] if r.type == "aws:eks/accessEntry:AccessEntry"]
    for team in stack["teams"]:
        role = naming.data_scientist_role(stack["name"], team)
        (entry,) = [e for e in entries if e.inputs["principalArn"].endswith((f":role/{role}", f":{role}"))]
        assert entry.inputs["kubernetesGroups"] == [manifests.data_scientist_group(team)], team
    policies = [r for r in stack["resources"] if r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"]
    team_roles = {naming.data_scientist_role(stack["name"], t) for t in stack["teams"]}
    for p in policies:
        assert not any(p.inputs["principalArn"].endswith((f":role/{r}", f":{r}")) for r in team_roles), (
            "a team role has an access policy"
        )
