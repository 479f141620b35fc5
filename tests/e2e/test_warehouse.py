"""The warehouse end to end: the `local` stack deployed into moto (the pieces `strata local up` uses), the
provisioned cluster there with the settings the program declares, and `strata warehouse query` run as a
team, through moto's Redshift Data API, with the team's assumed data-scientist role.

moto's server runs in this process (``ThreadedMotoServer``) so that the test can move a statement from
STARTED to FINISHED: moto's Data API never finishes one by itself (and answers every query with the same
canned rows). The CLI itself runs as a separate process, exactly as a data scientist runs it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend
from moto.server import ThreadedMotoServer
from rich.console import Console

from core import naming
from infra.config import load_from_files
from localcloud import session
from localcloud.server import configure_moto, free_port

REPO = Path(__file__).resolve().parents[2]
STACK = "local"
ACCOUNT = "123456789012"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """The `local` stack deployed into an in-process moto server; profiles written like `local up` writes them."""
    saved = {k: os.environ.get(k) for k in ("MOTO_IAM_LOAD_MANAGED_POLICIES", "MOTO_PORT")}
    port = free_port()
    os.environ.update(MOTO_IAM_LOAD_MANAGED_POLICIES="true", MOTO_PORT=str(port))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # A clean account, whatever moto state this process held before (backends are process-global).
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        configure_moto(endpoint)
        platform = load_from_files(REPO, STACK)
        run, engine = session.deploy(REPO, endpoint, platform.region, Console(file=io.StringIO()))
        paths = session.paths_for(REPO, tmp_path_factory.mktemp("warehouse-local"))
        paths.root.mkdir(parents=True, exist_ok=True)
        for team, profile in run.outputs["teamProfiles"].items():
            paths.profile(team).write_text(json.dumps(profile, indent=2, sort_keys=True) + "\n")
        env = session.cloud_env(endpoint, platform.region, paths)
        yield SimpleNamespace(run=run, engine=engine, env=env, endpoint=endpoint, platform=platform, home=paths.root)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def client(cloud, service: str, **credentials):
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name=cloud.platform.region,
        aws_access_key_id=credentials.get("AccessKeyId", "testing"),
        aws_secret_access_key=credentials.get("SecretAccessKey", "testing"),
        aws_session_token=credentials.get("SessionToken"),
    )


def as_team(cloud, team: str) -> dict[str, str]:
    """Credentials of the team's data-scientist role, assumed in moto as a data scientist would."""
    role_arn = cloud.run.outputs["teamDataScientistRoles"][team]
    creds = client(cloud, "sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")["Credentials"]
    who = client(cloud, "sts", **creds).get_caller_identity()["Arn"]
    assert who == f"arn:aws:sts::{ACCOUNT}:assumed-role/{naming.data_scientist_role(STACK, team)}/alice"
    return creds


def strata(cloud, creds: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **cloud.env,
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "COLUMNS": "200",
    }
    env.pop("METAFLOW_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "strata.cli", *args], cwd=REPO, env=env, text=True, capture_output=True, timeout=120
    )


# ---------------------------------------------------------------- what the deployment left in moto


def test_the_cluster_exists_with_the_declared_settings(cloud):
    name = naming.warehouse_name(STACK)
    (c,) = client(cloud, "redshift").describe_clusters(ClusterIdentifier=name)["Clusters"]
    outputs = cloud.run.outputs
    assert outputs["warehouseMode"] == "provisioned" and outputs["warehouseName"] == name
    assert c["Encrypted"] is True and c["KmsKeyId"] == outputs["datastoreKmsKeyArn"], "the platform key"
    assert c["PubliclyAccessible"] is False
    assert c["EnhancedVpcRouting"] is True
    assert c["AutomatedSnapshotRetentionPeriod"] == cloud.platform.settings.warehouse.snapshot_retention_days
    assert c["PreferredMaintenanceWindow"] == cloud.platform.settings.warehouse.maintenance_window
    assert sorted(r["IamRoleArn"] for r in c["IamRoles"]) == sorted(outputs["warehouseCopyRoles"].values())
    (group,) = client(cloud, "redshift").describe_cluster_subnet_groups(ClusterSubnetGroupName=c["ClusterSubnetGroupName"])[
        "ClusterSubnetGroups"
    ]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(outputs["privateSubnetIds"])
    assert group["VpcId"] == outputs["vpcId"]
    logging = client(cloud, "redshift").describe_logging_status(ClusterIdentifier=name)
    assert (logging["LoggingEnabled"], logging["LogDestinationType"]) == (True, "cloudwatch")
    assert outputs["warehouseEndpoint"] == f"{c['Endpoint']['Address']}:{c['Endpoint']['Port']}"
    assert (
        "password" not in json.dumps({k: v for k, v in outputs.items() if k.startswith("warehouse") and "Sql" not in k}).lower()
    )


def test_each_team_has_its_copy_unload_role_and_data_api_access(cloud):
    iam = client(cloud, "iam")
    teams = [t.name for t in cloud.platform.teams]
    for team in teams:
        role = iam.get_role(RoleName=naming.warehouse_role(STACK, team))["Role"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        user = f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:{naming.warehouse_name(STACK)}/{naming.warehouse_db_user(team)}"
        assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == [user], role["RoleName"]
        prefix_policy = json.dumps(iam.get_role_policy(RoleName=role["RoleName"], PolicyName="team-prefix")["PolicyDocument"])
        assert f"/teams/{team}/*" in prefix_policy and all(f"/teams/{o}/" not in prefix_policy for o in teams if o != team)
        ds = iam.get_role_policy(RoleName=naming.data_scientist_role(STACK, team), PolicyName="team-access")["PolicyDocument"]
        by_sid = {s.get("Sid"): s for s in ds["Statement"]}
        assert by_sid["WarehouseCredentialsOwnUser"]["Resource"][0] == user
        assert by_sid["WarehouseRunStatements"]["Resource"] == f"arn:aws:redshift:us-east-1:{ACCOUNT}:cluster:strata-local"


def test_what_moto_cannot_do_is_reported_not_faked(cloud):
    notes = "\n".join(cloud.engine.emulation_notes)
    assert "moto ignores ManageMasterPassword" in notes
    assert "moto has no ModifyClusterParameterGroup" in notes
    assert not [r for r in cloud.engine.not_emulated_used() if "redshift" in r.type], "the local stack uses provisioned"
    assert cloud.run.outputs["warehouseAdminSecretArn"] is None, "no secret ARN is made up"


# ---------------------------------------------------------------- strata warehouse query, as a team


def test_strata_warehouse_query_runs_as_the_team(cloud, monkeypatch):
    real_describe = RedshiftDataAPIServiceBackend.describe_statement
    polled: set[str] = set()

    def describe_then_finish(self, statement_id: str):
        # moto never finishes a statement: the first poll sees STARTED, the next FINISHED with rows.
        statement = real_describe(self, statement_id)
        if statement_id in polled and statement.status == "STARTED":
            statement.status, statement.has_result_set = "FINISHED", True
        polled.add(statement_id)
        return statement

    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "describe_statement", describe_then_finish)
    creds = as_team(cloud, "fraud")
    sql = "select number, street, city from fraud.stores"
    proc = strata(cloud, creds, "warehouse", "query", sql, "--env", STACK, "--team", "fraud")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for text in ("Number", "Street", "City", "Vancouver", "Gamma av", "3 rows"):
        assert text in proc.stdout, f"{text!r} not in:\n{proc.stdout}"

    data = client(cloud, "redshift-data", **creds)
    (statement,) = [s for s in _statements() if s.query_string == sql]
    described = data.describe_statement(Id=statement.id)
    assert (described["ClusterIdentifier"], described["DbUser"], described["Database"]) == ("strata-local", "fraud", "analytics")
    assert described["Status"] == "FINISHED" and not described.get("SecretArn"), "IAM credentials, never the admin secret"

    as_json = strata(cloud, creds, "warehouse", "query", sql, "--env", STACK, "--team", "fraud", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)[0] == {"Number": 10, "Street": "Alpha st", "City": "Vancouver"}


def test_a_query_that_never_finishes_is_cancelled(cloud):
    creds = as_team(cloud, "research")
    proc = strata(
        cloud, creds, "warehouse", "query", "select pg_sleep(600)", "--env", STACK, "--team", "research", "--timeout", "1"
    )
    assert proc.returncode == 1
    assert "still STARTED after 1 s; it has been cancelled" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    (statement,) = [s for s in _statements() if s.query_string == "select pg_sleep(600)"]
    assert (statement.db_user, statement.status) == ("research", "ABORTED")


def _statements() -> list:
    from moto.redshiftdata.models import redshiftdata_backends

    return list(redshiftdata_backends[ACCOUNT]["us-east-1"].statements.values())
