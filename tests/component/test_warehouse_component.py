"""Component tests of modules.warehouse under Pulumi mocks: what each mode declares (not public, encrypted
with the platform key, enhanced VPC routing, managed password, audit logs), the per-team COPY/UNLOAD roles,
the Data API access handed to team roles, and ``protect`` as the engine receives it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor
from support import ACCOUNT, REGION, aws_invoke

from core import naming
from core.settings import Team
from modules.warehouse.component import Warehouse, WarehouseArgs
from modules.warehouse.settings import WarehouseMode, WarehouseSettings

ENV = "dev"
NAME = naming.warehouse_name(ENV)
BUCKET = "arn:aws:s3:::acme-ml-dev-datastore"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/logs-0000"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
TAGS = {"cost-center": "ml-platform", "environment": ENV}
WORKGROUP_ARN = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CLUSTER_ARN = f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:{NAME}"

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SG = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
CLUSTER = "aws:redshift/cluster:Cluster"
SUBNET_GROUP = "aws:redshift/subnetGroup:SubnetGroup"
PARAMETER_GROUP = "aws:redshift/parameterGroup:ParameterGroup"
LOGGING = "aws:redshift/logging:Logging"


def team(name: str, cost_center: str = "cc-1") -> Team:
    return Team(
        name=name,
        cost_center=cost_center,
        contacts=(f"{name}@example.com",),
        priority=10,
        max_vcpus=8,
        gpu_max_vcpus=0,
        principals=(f"arn:aws:iam::{ACCOUNT}:role/{name}-developers",),
        monthly_budget_usd=100,
    )


TEAMS = (team("fraud", "cc-4410"), team("research", "cc-9000"))


def plain(value: Any) -> Any:
    """Unwrap a secret input as the mock monitor sees it ({<secret sig>: ..., "value": v})."""
    if isinstance(value, dict) and "value" in value and any(len(k) == 32 for k in value):
        return value["value"]
    return value


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    urn: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    dependencies: list[str] = field(default_factory=list)


class Mocks(pulumi.runtime.Mocks):
    def __init__(self, workgroup_arn: str | None = WORKGROUP_ARN) -> None:
        self.resources: dict[str, Res] = {}
        self.workgroup_arn = workgroup_arn

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        res = self.resources.setdefault(args.name, Res(args.typ, args.name))
        res.inputs = dict(args.inputs)
        state = dict(args.inputs)
        if args.typ == ROLE:
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.inputs['name']}"
        elif args.typ == WORKGROUP:
            if self.workgroup_arn:  # the local engine leaves Serverless unemulated: no ARN there
                state["arn"] = self.workgroup_arn
                state["endpoints"] = [{"address": f"{NAME}.{ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com", "port": 5439}]
        elif args.typ == NAMESPACE:
            state["adminPasswordSecretArn"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:redshift!{NAME}-admin"
        elif args.typ == CLUSTER:
            state.update(
                arn=CLUSTER_ARN,
                endpoint=f"{NAME}.abc.{REGION}.redshift.amazonaws.com:5439",
                masterPasswordSecretArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:redshift!{NAME}-admin",
            )
        else:
            state["arn"] = f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.name}"
        return [f"{args.name}_id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return aws_invoke(args.token)


class Monitor(MockMonitor):
    """Captures what only the engine sees: URN, protect, retainOnDelete, dependencies."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            res = self.recording.resources.setdefault(request.name, Res(request.type, request.name))
            res.urn = self.make_urn(request.parent, request.type, request.name)
            res.protect = bool(request.protect)
            res.retain_on_delete = bool(request.retainOnDelete)
            res.dependencies = list(request.dependencies)
        return super().RegisterResource(request)


@dataclass
class Deployment:
    resources: dict[str, Res]
    outputs: dict[str, Any]
    component: Warehouse

    def one(self, name: str, typ: str) -> Res:
        assert name in self.resources, f"{name} was not declared; declared: {sorted(self.resources)}"
        res = self.resources[name]
        assert res.typ == typ, f"{res.urn} is a {res.typ}, expected {typ}"
        return res

    def of(self, typ: str) -> dict[str, Res]:
        return {n: r for n, r in self.resources.items() if r.typ == typ}


def deploy(settings: WarehouseSettings, *, protect: bool, teams=TEAMS, mocks: Mocks | None = None) -> Deployment:
    mocks = mocks or Mocks()
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="strata", stack=ENV, preview=False, monitor=Monitor(mocks))
    outputs: dict[str, Any] = {}
    holder: list[Warehouse] = []

    @pulumi.runtime.test
    def run():
        w = Warehouse(
            "warehouse",
            WarehouseArgs(
                environment=ENV,
                settings=settings,
                teams=teams,
                vpc_id="vpc-1",
                subnet_ids=SUBNETS,
                bucket_arn=BUCKET,
                kms_key_arn=KEY,
                protect=protect,
                tags=TAGS,
                log_kms_key_arn=LOG_KEY,
            ),
        )
        holder.append(w)
        return pulumi.Output.all(
            arn=w.arn,
            endpoint=w.endpoint,
            admin_secret_arn=w.admin_secret_arn,
            security_group_id=w.security_group_id,
            copy_roles=pulumi.Output.from_input(w.copy_role_arns),
            statements={t: a.statements for t, a in w.team_access.items()},
            bootstrap_sql=w.bootstrap_sql,
        ).apply(outputs.update)

    run()
    return Deployment(mocks.resources, outputs, holder[0])


SERVERLESS = WarehouseSettings(mode=WarehouseMode.SERVERLESS, base_capacity=16, audit_log_retention_days=90)
PROVISIONED = WarehouseSettings(
    mode=WarehouseMode.PROVISIONED,
    node_type="ra3.xlplus",
    node_count=2,
    snapshot_retention_days=14,
    maintenance_window="sat:03:00-sat:04:00",
)


@pytest.fixture(scope="module")
def serverless() -> Deployment:
    return deploy(SERVERLESS, protect=True)


@pytest.fixture(scope="module")
def provisioned() -> Deployment:
    return deploy(PROVISIONED, protect=False)


@pytest.fixture(scope="module")
def provisioned_protected() -> Deployment:
    return deploy(PROVISIONED, protect=True)


# ---------------------------------------------------------------- serverless


def test_serverless_declares_a_namespace_and_a_workgroup_only(serverless):
    assert set(serverless.of(NAMESPACE)) == {"warehouse-namespace"}
    assert set(serverless.of(WORKGROUP)) == {"warehouse-workgroup"}
    for typ in (CLUSTER, SUBNET_GROUP, PARAMETER_GROUP, LOGGING):
        assert not serverless.of(typ), f"serverless declares no {typ}"


def test_serverless_is_private_routed_through_the_vpc_and_sized_by_config(serverless):
    wg = serverless.one("warehouse-workgroup", WORKGROUP)
    assert wg.inputs["workgroupName"] == NAME, wg.urn
    assert wg.inputs["namespaceName"] == NAME, wg.urn
    assert wg.inputs["publiclyAccessible"] is False, wg.urn
    assert wg.inputs["enhancedVpcRouting"] is True, wg.urn
    assert wg.inputs["baseCapacity"] == 16, wg.urn
    assert wg.inputs["subnetIds"] == SUBNETS, wg.urn
    assert wg.inputs["securityGroupIds"] == ["warehouse-sg_id"], wg.urn
    params = {p["parameterKey"]: p["parameterValue"] for p in wg.inputs["configParameters"]}
    assert params == {"require_ssl": "true", "enable_user_activity_logging": "true"}, wg.urn
    assert wg.inputs["tags"] == TAGS, wg.urn


def test_serverless_namespace_is_encrypted_and_its_password_managed(serverless):
    ns = serverless.one("warehouse-namespace", NAMESPACE)
    assert ns.inputs["kmsKeyId"] == KEY, ns.urn
    assert ns.inputs["manageAdminPassword"] is True, ns.urn
    assert ns.inputs["adminPasswordSecretKmsKeyId"] == KEY, f"{ns.urn}: the admin secret uses the platform key"
    for secret in ("adminUserPassword", "adminUserPasswordWo"):
        assert secret not in ns.inputs, f"{ns.urn}: no password in the program"
    assert ns.inputs["dbName"] == naming.WAREHOUSE_DATABASE, ns.urn
    # pulumi-aws marks the admin user name secret; the mock monitor sees it wrapped.
    assert plain(ns.inputs["adminUsername"]) == naming.WAREHOUSE_ADMIN_USER, ns.urn
    assert sorted(ns.inputs["iamRoles"]) == [
        f"arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-warehouse",
        f"arn:aws:iam::{ACCOUNT}:role/strata-dev-research-warehouse",
    ], ns.urn
    assert "defaultIamRoleArn" not in ns.inputs, f"{ns.urn}: a default role would be usable by every database user"
    assert ns.inputs["logExports"] == ["connectionlog", "userlog", "useractivitylog"], ns.urn


def test_serverless_audit_logs_go_to_precreated_groups(serverless):
    groups = serverless.of(LOG_GROUP)
    assert {g.inputs["name"] for g in groups.values()} == {
        f"/aws/redshift/{NAME}/connectionlog",
        f"/aws/redshift/{NAME}/userlog",
        f"/aws/redshift/{NAME}/useractivitylog",
    }
    ns = serverless.one("warehouse-namespace", NAMESPACE)
    for g in groups.values():
        assert g.inputs["retentionInDays"] == 90, g.urn
        assert g.inputs["kmsKeyId"] == LOG_KEY, g.urn
        assert g.urn in ns.dependencies, f"{ns.urn} must wait for {g.urn} (else Redshift creates a never-expiring group)"


def test_serverless_is_protected_when_protect(serverless):
    for name, typ in (("warehouse-namespace", NAMESPACE), ("warehouse-workgroup", WORKGROUP)):
        res = serverless.one(name, typ)
        assert res.protect is True and res.retain_on_delete is True, f"{res.urn}: protect/retainOnDelete"
    role = serverless.one("warehouse-fraud-copy-unload", ROLE)
    assert role.protect is False, f"{role.urn}: roles are not stateful"


def test_serverless_outputs(serverless):
    out = serverless.outputs
    assert out["arn"] == WORKGROUP_ARN
    assert out["endpoint"] == f"{NAME}.{ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com"
    assert out["admin_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert serverless.component.mode == "serverless" and serverless.component.name == NAME


# ---------------------------------------------------------------- provisioned


def test_provisioned_cluster_is_private_encrypted_and_password_managed(provisioned):
    c = provisioned.one("warehouse-cluster", CLUSTER)
    expected = {
        "clusterIdentifier": NAME,
        "nodeType": "ra3.xlplus",
        "clusterType": "multi-node",
        "numberOfNodes": 2,
        "publiclyAccessible": False,
        "encrypted": "true",
        "kmsKeyId": KEY,
        "enhancedVpcRouting": True,
        "manageMasterPassword": True,
        "masterPasswordSecretKmsKeyId": KEY,
        "automatedSnapshotRetentionPeriod": 14,
        "preferredMaintenanceWindow": "sat:03:00-sat:04:00",
        "clusterSubnetGroupName": NAME,
        "clusterParameterGroupName": NAME,
        "vpcSecurityGroupIds": ["warehouse-sg_id"],
        "databaseName": naming.WAREHOUSE_DATABASE,
        "masterUsername": naming.WAREHOUSE_ADMIN_USER,
    }
    for key, value in expected.items():
        assert c.inputs.get(key) == value, f"{c.urn}: {key} = {c.inputs.get(key)!r}, expected {value!r}"
    for secret in ("masterPassword", "masterPasswordWo"):
        assert secret not in c.inputs, f"{c.urn}: no password in the program"
    assert "defaultIamRoleArn" not in c.inputs, c.urn
    assert len(c.inputs["iamRoles"]) == 2, c.urn


def test_provisioned_subnets_parameters_and_audit_logging(provisioned):
    sn = provisioned.one("warehouse-subnets", SUBNET_GROUP)
    assert (sn.inputs["name"], sn.inputs["subnetIds"]) == (NAME, SUBNETS), sn.urn
    pg = provisioned.one("warehouse-parameters", PARAMETER_GROUP)
    assert pg.inputs["family"] == "redshift-1.0", pg.urn
    assert {p["name"]: p["value"] for p in pg.inputs["parameters"]} == {
        "require_ssl": "true",
        "enable_user_activity_logging": "true",
    }, pg.urn
    log = provisioned.one("warehouse-audit-logging", LOGGING)
    assert log.inputs["logDestinationType"] == "cloudwatch", log.urn
    assert log.inputs["logExports"] == ["connectionlog", "userlog", "useractivitylog"], log.urn
    groups = provisioned.of(LOG_GROUP)
    assert {g.inputs["name"] for g in groups.values()} == {
        f"/aws/redshift/cluster/{NAME}/{k}" for k in ("connectionlog", "userlog", "useractivitylog")
    }
    for g in groups.values():
        assert g.urn in log.dependencies, f"{log.urn} must wait for {g.urn}"
        assert g.inputs["retentionInDays"] == 365, g.urn


def test_unprotected_cluster_takes_no_final_snapshot(provisioned):
    c = provisioned.one("warehouse-cluster", CLUSTER)
    assert c.protect is False and c.retain_on_delete is False, c.urn
    assert c.inputs["skipFinalSnapshot"] is True, c.urn
    assert "finalSnapshotIdentifier" not in c.inputs, c.urn


def test_protected_cluster_is_protected_and_snapshots_on_delete(provisioned_protected):
    c = provisioned_protected.one("warehouse-cluster", CLUSTER)
    assert c.protect is True and c.retain_on_delete is True, f"{c.urn}: protect/retainOnDelete"
    assert c.inputs["skipFinalSnapshot"] is False, c.urn
    assert c.inputs["finalSnapshotIdentifier"] == f"{NAME}-final", c.urn


def test_security_group_has_no_ingress_and_https_egress(provisioned):
    sg = provisioned.one("warehouse-sg", SG)
    assert sg.inputs["vpcId"] == "vpc-1", sg.urn
    assert "ingress" not in sg.inputs and not provisioned.of(INGRESS), f"{sg.urn}: nothing connects in"
    (egress,) = provisioned.of(EGRESS).values()
    assert (egress.inputs["ipProtocol"], egress.inputs["fromPort"], egress.inputs["toPort"]) == ("tcp", 443, 443), egress.urn
    assert egress.inputs["securityGroupId"] == "warehouse-sg_id", egress.urn


# ---------------------------------------------------------------- per team


@pytest.mark.parametrize(("deployment", "user"), [("serverless", "IAMR:strata-dev-{team}-ds"), ("provisioned", "{team}")])
def test_each_team_role_is_assumable_by_redshift_for_that_team_only(request, deployment: str, user: str):
    d: Deployment = request.getfixturevalue(deployment)
    for t in TEAMS:
        role = d.one(f"warehouse-{t.name}-copy-unload", ROLE)
        assert role.inputs["name"] == naming.warehouse_role(ENV, t.name), role.urn
        assert role.inputs["tags"] == {**TAGS, "team": t.name, "cost-center": t.cost_center}, role.urn
        (s,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        expected = f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbuser:{NAME}/{user.format(team=t.name)}"
        assert s["Condition"] == {"StringEquals": {"sts:ExternalId": [expected]}}, role.urn
        assert set(s["Principal"]["Service"]) == {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}, role.urn


def test_each_team_role_reaches_its_prefix_only(provisioned):
    for t in TEAMS:
        policy = provisioned.one(f"warehouse-{t.name}-copy-unload-prefix", ROLE_POLICY)
        assert policy.inputs["role"] == f"warehouse-{t.name}-copy-unload_id", policy.urn
        text = policy.inputs["policy"]
        for other in TEAMS:
            if other.name != t.name:
                assert other.name not in text, f"{policy.urn} names team {other.name}"
        objects = {
            r
            for s in json.loads(text)["Statement"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            if r.startswith(f"{BUCKET}/")
        }
        assert objects == {f"{BUCKET}/teams/{t.name}/*"}, policy.urn


def test_team_access_is_the_data_api_as_the_team(provisioned, serverless):
    p = {s["Sid"]: s for s in provisioned.outputs["statements"]["fraud"]}
    assert p["WarehouseCredentialsOwnUser"]["Resource"][0] == f"arn:aws:redshift:{REGION}:{ACCOUNT}:dbuser:{NAME}/fraud"
    assert p["WarehouseRunStatements"]["Resource"] == CLUSTER_ARN
    s = {x["Sid"]: x for x in serverless.outputs["statements"]["research"]}
    assert s["WarehouseCredentialsOwnIdentity"]["Resource"] == WORKGROUP_ARN
    assert serverless.component.team_access["research"].role_tags == {"RedshiftDbRoles": "team_research"}
    assert provisioned.component.team_access["research"].role_tags == {}


def test_bootstrap_sql_and_profile_keys(provisioned):
    sql = provisioned.outputs["bootstrap_sql"]
    assert sql[0] == "REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL;"
    assert (
        f"GRANT ASSUMEROLE ON 'arn:aws:iam::{ACCOUNT}:role/strata-dev-fraud-warehouse' TO ROLE team_fraud FOR COPY, UNLOAD;"
        in sql
    )
    keys = provisioned.component.profile_keys("fraud", "arn:aws:iam::1:role/x", REGION)
    assert keys["STRATA_WAREHOUSE_CLUSTER"] == NAME and keys["STRATA_WAREHOUSE_DB_USER"] == "fraud"


# ---------------------------------------------------------------- refusals


def test_serverless_without_an_arn_fails_loudly():
    """Under the local engine Serverless is not emulated: no ARN, so team access must fail with the reason."""
    with pytest.raises(Exception, match="NOT EMULATED"):
        deploy(SERVERLESS, protect=False, mocks=Mocks(workgroup_arn=None))


def test_disabled_or_too_many_teams_are_refused():
    with pytest.raises(ValueError, match="enabled is false"):
        deploy(WarehouseSettings(enabled=False), protect=False)
    with pytest.raises(ValueError, match="at most 50"):
        deploy(SERVERLESS, protect=False, teams=tuple(team(f"t{i:02d}") for i in range(51)))
