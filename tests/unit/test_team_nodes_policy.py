"""The admission policy that keeps each team's pods on its own nodes (manifests.cluster_objects), evaluated.

There is no API server here, so its CEL expressions run in cel-python (the CEL the API server runs, without
Kubernetes' library extensions, which the expressions do not use) against the pods a team could write: its
own profile's, another team's toleration or node selector, a catch-all toleration, a pinned node. Tenancy:
"its spend" -- one team's pods never run on, and bill, another team's nodes.
"""

from __future__ import annotations

import json

import celpy
import pytest

from core import naming
from modules.kubernetes import manifests as m

TEAM = naming.TEAM_LABEL
OWN = {"key": TEAM, "operator": "Equal", "value": "fraud", "effect": "NoSchedule"}
GPU = {"key": naming.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def policy() -> dict:
    (vap,) = [o for o in m.cluster_objects() if o["kind"] == "ValidatingAdmissionPolicy"]
    return vap


def refusals(pod_spec: dict, team: str = "fraud", operation: str = "CREATE") -> list[str]:
    """The messages of every validation the pod fails, as the API server would evaluate them in a namespace
    labelled strata.io/team=<team>."""
    env = celpy.Environment()
    activation = {
        "object": celpy.json_to_cel({"apiVersion": "v1", "kind": "Pod", "spec": pod_spec}),
        "namespaceObject": celpy.json_to_cel({"metadata": {"labels": {TEAM: team}}}),
        "request": celpy.json_to_cel({"operation": operation}),
    }
    failed = []
    for v in policy()["spec"]["validations"]:
        result = env.program(env.compile(v["expression"])).evaluate(activation)
        assert isinstance(result, celpy.celtypes.BoolType), f"{v['expression']} gave {result!r}"
        if not result:
            failed.append(v["message"])
    return failed


def test_the_teams_own_profile_passes():
    """What Metaflow renders from the profile (core.profile: METAFLOW_KUBERNETES_TOLERATIONS / NODE_SELECTOR)."""
    assert refusals({"tolerations": [OWN, GPU], "nodeSelector": {TEAM: "fraud"}}) == []
    assert refusals({}) == [], "a pod that asks for nothing lands on untainted nodes"
    # The tolerations Kubernetes adds to every pod (DefaultTolerationSeconds) have keys: allowed.
    added = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    assert refusals({"tolerations": [OWN, added]}) == []
    assert refusals({"tolerations": [{"key": TEAM, "value": "fraud"}]}) == [], "Equal is the default operator"


@pytest.mark.parametrize(
    ("what", "pod_spec"),
    [
        ("another team's toleration", {"tolerations": [{**OWN, "value": "research"}]}),
        ("any team's toleration", {"tolerations": [{"key": TEAM, "operator": "Exists"}]}),
        ("a catch-all toleration", {"tolerations": [{"operator": "Exists"}]}),
        ("an empty key", {"tolerations": [{"key": "", "operator": "Exists"}]}),
        ("another team's node selector", {"nodeSelector": {TEAM: "research"}}),
        ("a pinned node", {"nodeName": "ip-10-0-1-23.ec2.internal"}),
    ],
)
def test_a_pod_aimed_at_another_teams_nodes_is_refused(what, pod_spec):
    assert refusals(pod_spec), f"{what} was admitted"


def test_research_may_use_what_fraud_may_not():
    """The rules compare with the namespace's own team, not a fixed name."""
    theirs = {"tolerations": [{**OWN, "value": "research"}], "nodeSelector": {TEAM: "research"}}
    assert refusals(theirs, team="research") == []
    assert refusals(theirs, team="fraud")


def test_a_pinned_node_is_checked_on_create_only():
    """The scheduler's binding sets nodeName later (a subresource, not an UPDATE the policy refuses)."""
    assert refusals({"nodeName": "n"}, operation="UPDATE") == []


def test_the_policy_applies_to_pods_in_team_namespaces_and_denies():
    vap = policy()
    spec = vap["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["pods"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
    assert spec["matchConstraints"]["namespaceSelector"] == {"matchExpressions": [{"key": TEAM, "operator": "Exists"}]}
    (binding,) = [o for o in m.cluster_objects() if o["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": vap["metadata"]["name"], "validationActions": ["Deny"]}
    # Every team namespace carries the label the selector needs, with its own team.
    spec_ = m.TeamSpec("staging", "fraud", "fraud-ml", 8, 32, 0, "arn", "bucket", "us-east-1", "10.0.0.0/16", False)
    namespace = m.team_objects(spec_)[0]
    assert namespace["metadata"]["labels"][TEAM] == "fraud", json.dumps(namespace)
