"""The warehouse in every stack file, through the whole program (plain mocks): the mode the stack asks for,
private and encrypted, protected exactly in protected stacks, one COPY/UNLOAD role and Data API access per
team, the warehouse keys in every team's profile, and no password anywhere in the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import naming
from infra.config import load_from_files
from localcloud.plan import PlainMocks
from localcloud.runner import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[2]
STACKS = ["local", "dev", "staging", "prod"]

NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
CLUSTER = "aws:redshift/cluster:Cluster"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.fixture(scope="module", params=STACKS)
def deployed(request) -> tuple[str, ProgramRun]:
    return request.param, run_program(REPO, request.param, PlainMocks())


def by_type(run: ProgramRun, typ: str) -> list:
    return [r for r in run.registrations if r.type == typ]


def test_the_stacks_mode_is_what_gets_declared(deployed):
    stack, run = deployed
    w = load_from_files(REPO, stack).settings.warehouse
    serverless = w.mode == "serverless"
    assert len(by_type(run, NAMESPACE)) == len(by_type(run, WORKGROUP)) == (1 if serverless else 0), stack
    assert len(by_type(run, CLUSTER)) == (0 if serverless else 1), stack
    assert run.outputs["warehouseMode"] == str(w.mode)
    assert run.outputs["warehouseName"] == naming.warehouse_name(stack)


def test_private_encrypted_and_routed_through_the_vpc(deployed):
    stack, run = deployed
    for r in by_type(run, WORKGROUP) + by_type(run, CLUSTER):
        assert r.inputs["publiclyAccessible"] is False, r.urn
        assert r.inputs["enhancedVpcRouting"] is True, r.urn
    for r in by_type(run, NAMESPACE):
        assert r.inputs["kmsKeyId"] == run.outputs["datastoreKmsKeyArn"], r.urn
        assert r.inputs["manageAdminPassword"] is True, r.urn
    for r in by_type(run, CLUSTER):
        assert r.inputs["encrypted"] == "true" and r.inputs["kmsKeyId"] == run.outputs["datastoreKmsKeyArn"], r.urn
        assert r.inputs["manageMasterPassword"] is True, r.urn


def test_protected_exactly_where_the_stack_protects(deployed):
    stack, run = deployed
    protect = load_from_files(REPO, stack).settings.protect
    stateful = by_type(run, NAMESPACE) + by_type(run, WORKGROUP) + by_type(run, CLUSTER)
    assert stateful, stack
    for r in stateful:
        assert r.protect is protect and r.retain_on_delete is protect, f"{r.urn}: protect={r.protect}, stack says {protect}"


def test_every_team_gets_its_own_copy_unload_role_and_data_api_access(deployed):
    stack, run = deployed
    teams = [t.name for t in load_from_files(REPO, stack).teams]
    roles = {r.inputs.get("name"): r for r in by_type(run, ROLE)}
    policies = {r.name: r for r in by_type(run, ROLE_POLICY)}
    assert set(run.outputs["warehouseCopyRoles"]) == set(teams)
    serverless = run.outputs["warehouseMode"] == "serverless"
    for team in teams:
        role = roles[naming.warehouse_role(stack, team)]
        assert role.inputs["tags"]["team"] == team, role.urn
        ds = roles[naming.data_scientist_role(stack, team)]
        expected_tag = naming.warehouse_db_role(team) if serverless else None
        assert ds.inputs["tags"].get("RedshiftDbRoles") == expected_tag, ds.urn
        doc = json.loads(policies[f"team-{team}-data-scientist"].inputs["policy"])
        sids = {s["Sid"] for s in doc["Statement"] if "Sid" in s}
        assert {"WarehouseRunStatements", "WarehouseOwnStatementsOnly"} <= sids, f"team-{team}-data-scientist"
        for other in teams:
            if other != team:
                assert naming.warehouse_role(stack, other) not in json.dumps(doc), f"{team}'s policy names {other}"


def test_profiles_carry_the_warehouse_keys(deployed):
    stack, run = deployed
    for team, profile in run.outputs["teamProfiles"].items():
        assert profile["STRATA_WAREHOUSE_MODE"] == run.outputs["warehouseMode"], team
        assert profile["STRATA_WAREHOUSE_DATABASE"] == run.outputs["warehouseDatabase"], team
        assert profile["STRATA_WAREHOUSE_COPY_ROLE_ARN"] == run.outputs["warehouseCopyRoles"][team], team
        if run.outputs["warehouseMode"] == "serverless":
            assert profile["STRATA_WAREHOUSE_WORKGROUP"] == naming.warehouse_name(stack), team
        else:
            assert profile["STRATA_WAREHOUSE_CLUSTER"] == naming.warehouse_name(stack), team
            assert profile["STRATA_WAREHOUSE_DB_USER"] == naming.warehouse_db_user(team), team


def test_no_password_in_the_program_or_its_outputs(deployed):
    stack, run = deployed
    for r in by_type(run, NAMESPACE) + by_type(run, CLUSTER):
        for key in ("adminUserPassword", "adminUserPasswordWo", "masterPassword", "masterPasswordWo"):
            assert key not in r.inputs, f"{r.urn} sets {key}"
    warehouse_outputs = {k: v for k, v in run.outputs.items() if k.startswith("warehouse") and k != "warehouseBootstrapSql"}
    assert "password" not in json.dumps(warehouse_outputs).lower(), stack
    # The only mention in the bootstrap SQL: users that cannot log in with a password at all.
    for statement in run.outputs["warehouseBootstrapSql"]:
        assert "PASSWORD" not in statement or statement.endswith(" PASSWORD DISABLE;"), statement
