"""`argo-workflows create --only-json` of the sample foreach flow as two teams, after the local stack is deployed into
a moto server (`strata local up`'s deployment, through `localcloud.session`).

Metaflow prints the WorkflowTemplate it would submit and deploys nothing: it needs the team's S3 datastore (moto; it
uploads the code package) and no cluster. Each template is validated offline against hera 5.27's models with extra
fields forbidden and against the argo-workflows 0.47.5 full CRD (tests/e2e/argo_support.py), and must run as its
own team only: its namespace, service account, image, nodes and datastore prefix, and nothing of the other team's.
The metadata API key (configured as `strata configure` configures it) is in neither template.

The foreach flow has no @trigger, so there is no Sensor to render here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from argo_support import clean_env, crd_errors, crd_path, environment, hera_errors, only_json, pod_templates, strip_nulls, values
from local_stack import deployed_local_stack

from core import naming
from localcloud import session, walk

REPO = Path(__file__).resolve().parents[2]
FOREACH_FLOW = REPO / session.SAMPLE_FLOW
TEAMS = ("fraud", "forecasting")  # two teams of the local stack, both with a namespace
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> Any:
    with deployed_local_stack(tmp_path_factory, "argo-cloud", TEAMS) as deployed:
        yield deployed


def profile(cloud, team: str) -> dict[str, str]:
    return json.loads(cloud["paths"].profile(team).read_text())


def api_key(cloud, team: str) -> str:
    """The team's metadata API key: the local stack deploys the metadata layer and its per-team key secrets, even
    though its profiles use Metaflow's local metadata (ECS starts no tasks in moto)."""
    secrets = walk.client(cloud["env"], "secretsmanager")
    return secrets.get_secret_value(SecretId=naming.metadata_api_key_secret(session.STACK, team))["SecretString"]


def team_env(cloud, team: str) -> dict[str, str]:
    """A data scientist of ``team``: the local env file's settings, the team's profile, and its API key configured
    as `strata configure` configures it. Metaflow turns METAFLOW_SERVICE_AUTH_KEY into the x-api-key header whatever
    the metadata mode, and, unaided, bakes the headers into every pod of the template."""
    return {
        **clean_env(),
        **cloud["env"],
        "METAFLOW_PROFILE": naming.profile_name(session.STACK, team),
        "METAFLOW_USER": "e2e",
        "METAFLOW_SERVICE_AUTH_KEY": api_key(cloud, team),
    }


@pytest.fixture(scope="module")
def templates(cloud) -> dict[str, dict[str, Any]]:
    out = {}
    for team in TEAMS:
        doc, proc = only_json(FOREACH_FLOW, team_env(cloud, team), cloud["paths"].work / f"argo-{team}")
        out[team] = {"doc": doc, "output": proc.stdout + proc.stderr}
    return out


def test_each_profile_targets_the_teams_own_namespace_and_identity(cloud):
    seen = {}
    for team in TEAMS:
        p = profile(cloud, team)
        assert p["METAFLOW_KUBERNETES_NAMESPACE"] and naming.namespace_problem(p["METAFLOW_KUBERNETES_NAMESPACE"]) is None
        assert p["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"] == naming.TEAM_SERVICE_ACCOUNT
        assert p["METAFLOW_STRATA_EKS_CLUSTER"] == naming.eks_cluster(session.STACK)
        seen[team] = p["METAFLOW_KUBERNETES_NAMESPACE"]
    assert len(set(seen.values())) == len(TEAMS), f"two teams share a namespace: {seen}"


def test_templates_validate_against_hera_with_extra_fields_forbidden(templates):
    for team, t in templates.items():
        assert hera_errors(strip_nulls(t["doc"])) == [], team


def test_the_hera_validator_rejects_unknown_keys_and_explicit_nulls(templates):
    """The validator can fail: a misspelt key anywhere is refused, and so is Metaflow's JSON before its nulls
    are stripped (hence the stripping)."""
    doc = strip_nulls(templates[TEAMS[0]]["doc"])
    name, _ = next(iter(pod_templates(doc).items()))
    wrong = json.loads(json.dumps(doc))
    for template in wrong["spec"]["templates"]:
        if template["name"] == name:
            template["container"]["imagePullPolicyy"] = "Always"
    errors = hera_errors(wrong)
    assert any("imagePullPolicyy" in e and "extra fields not permitted" in e for e in errors), errors
    assert hera_errors(templates[TEAMS[0]]["doc"]), "Metaflow's raw JSON (explicit nulls) is refused as such"


def test_templates_validate_against_the_argo_workflows_crd(templates):
    assert crd_path() is not None, "the argo-workflows 0.47.5 full CRD is vendored in tests/data/k8s"
    for team, t in templates.items():
        assert crd_errors(strip_nulls(t["doc"])) == [], team
    wrong = strip_nulls(templates[TEAMS[0]]["doc"])
    wrong["spec"]["parallelism"] = "ten"
    assert any("parallelism" in e for e in crd_errors(wrong)), "the CRD catches a wrong type"


def test_each_template_runs_in_its_teams_namespace_as_its_service_account_with_its_image(cloud, templates):
    for team, t in templates.items():
        p, doc = profile(cloud, team), t["doc"]
        namespace = p["METAFLOW_KUBERNETES_NAMESPACE"]
        assert doc["kind"] == "WorkflowTemplate" and doc["metadata"]["namespace"] == namespace, team
        steps = {n: s for n, s in pod_templates(doc).items() if environment(s).get("METAFLOW_STEP_NAME")}
        assert set(steps) == {"start", "fit", "join", "end"}, f"{team}: {sorted(steps)}"
        registry, image = p["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"].rstrip("/"), p["METAFLOW_KUBERNETES_CONTAINER_IMAGE"]
        for name, step in steps.items():
            where = f"{team}/{name}"
            assert step["serviceAccountName"] == p["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"], where
            assert step["container"]["image"] in (image, f"{registry}/{image}"), where
            assert step["nodeSelector"] == {naming.TEAM_LABEL: team}, where
            assert {"key": naming.TEAM_LABEL, "operator": "Equal", "value": team, "effect": "NoSchedule"} in step["tolerations"]
            variables = environment(step)
            assert variables["METAFLOW_DATASTORE_SYSROOT_S3"] == p["METAFLOW_DATASTORE_SYSROOT_S3"], where
            assert variables["ARGO_WORKFLOW_NAMESPACE"] == namespace, where
            assert variables["METAFLOW_STRATA_TEAM"] == team, where
            if "METAFLOW_STRATA_API_KEY_SECRET" in p:
                assert variables["METAFLOW_STRATA_API_KEY_SECRET"] == p["METAFLOW_STRATA_API_KEY_SECRET"], where
        assert set(values(doc, "namespace")) <= {namespace}, f"{team}: every namespace field is the team's"


def test_no_template_names_anything_of_the_other_team(cloud, templates):
    for team, t in templates.items():
        text = json.dumps(t["doc"])
        for other in (o for o in TEAMS if o != team):
            p = profile(cloud, other)
            foreign = {
                "namespace": f'"{p["METAFLOW_KUBERNETES_NAMESPACE"]}"',
                "datastore prefix": naming.team_prefix(other),
                "job role": p["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"],
                "data-scientist role": naming.data_scientist_role(session.STACK, other),
                "team": f'"{other}"',
            }
            if "METAFLOW_STRATA_API_KEY_SECRET" in p:
                foreign["API key secret"] = p["METAFLOW_STRATA_API_KEY_SECRET"]
            leaked = {what: value for what, value in foreign.items() if value in text}
            assert not leaked, f"{team}'s template names {other}'s {leaked}"


def test_no_template_holds_an_api_key(cloud, templates):
    keys = {team: api_key(cloud, team) for team in TEAMS}
    assert all(len(k) >= 16 for k in keys.values()) and len(set(keys.values())) == len(TEAMS)
    for team, t in templates.items():
        for owner, key in keys.items():
            assert key not in json.dumps(t["doc"]) and key not in t["output"], f"{owner}'s key is in {team}'s output"
        for name, template in pod_templates(t["doc"]).items():
            assert "METAFLOW_SERVICE_HEADERS" not in environment(template), f"{team}/{name}"
